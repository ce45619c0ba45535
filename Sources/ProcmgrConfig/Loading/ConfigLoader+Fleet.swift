extension ConfigLoader {
    /// Merges etcd's desired-state entries (SPEC §3.6) with `config`'s local overrides.
    ///
    /// A node entry replaces the `all` entry of the same id. A value that is not one JSON
    /// object (read with the same bounds as an admin response), whose `id` differs from the
    /// key's id (a missing `id` is the key's), or that fails validation alone, is rejected
    /// alone; the rest is merged with the local overrides exactly like `mergeAdmin` and
    /// validated as a whole; entries a whole-set problem points at are rejected and the rest
    /// validated again. Problems in an entry carry its key as document label
    /// (`/procmgr/all/processes/web:port`). Specs come back sorted by id.
    ///
    /// Throws only when the local overrides themselves make the set invalid (a problem in no
    /// entry, such as an incomplete local-only process).
    public static func mergeFleet(_ entries: [FleetEntry], into config: AgentConfig,
                                  scope: ValidationScope = .schema) throws(ConfigError) -> FleetMerge {
        try FleetMerger.merge(entries, into: config, scope: scope)
    }
}
