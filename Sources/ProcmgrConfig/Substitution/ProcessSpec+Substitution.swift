/// Turning a spec into what is actually exec'd, once the port is known.
extension ProcessSpec {
    /// `command` with `${PROCMGR}` replaced by `executable`, the running procmgr binary: a config
    /// can run `procmgr demo-worker` (or another subcommand) without procmgr on `PATH`, as
    /// `examples/stack.yaml` does. `${PORT}` and `$${` are left for ``resolvedCommand(port:)``.
    public func substitutingAgentExecutable(_ executable: String) -> ProcessSpec {
        var copy = self
        copy.command = command.map { ArgumentTemplate.substitute("PROCMGR", with: executable, in: $0) }
        return copy
    }

    /// `command` with `${PORT}` replaced by `port` and `$${` unescaped to a
    /// literal `${`. Validation guarantees `${PORT}` appears only when the
    /// process has a port; passing `nil` replaces it with an empty string.
    public func resolvedCommand(port: UInt16?) -> [String] {
        let values = port.map { ["PORT": String($0)] } ?? [:]
        return command.map { ArgumentTemplate.render($0, values: values) }
    }

    /// `base` (usually the agent's environment) overlaid with `env`, then
    /// `PORT` set to `port` when one is assigned — the assigned port wins over
    /// any `PORT` in `env` so the process always listens where the agent
    /// expects. `env` values are taken literally (no `${...}` substitution).
    public func resolvedEnvironment(base: [String: String], port: UInt16?) -> [String: String] {
        var environment = base
        environment.merge(env) { _, configured in configured }
        if let port { environment["PORT"] = String(port) }
        return environment
    }
}
