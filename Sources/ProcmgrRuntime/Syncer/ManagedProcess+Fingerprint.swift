import ProcmgrSupport

extension ManagedProcess {
    /// A digest of the whole config that is stable across agent runs (FNV-1a 64 over a canonical
    /// text), stored with each child in the state file.
    ///
    /// Why not `hashValue`: Swift seeds it per process, so a restarted agent would never match.
    /// Why the whole config: "equal config, nothing to restart" is the runtime's rule for a live
    /// agent, and adoption follows the same rule; a different fingerprint adopts the child only
    /// to restart it with reason `config`.
    public var fingerprint: String {
        var canonical = self
        canonical.environment = [:]
        var text = String(reflecting: canonical)
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) {
            text += "\u{0}\(key)=\(value)"
        }
        return StableHash.fnv1a64Hex(text)
    }
}
