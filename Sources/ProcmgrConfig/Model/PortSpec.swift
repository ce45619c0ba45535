/// How a process gets its port: allocated by the agent from `agent.ports`,
/// a fixed number, or no port at all. Written `auto`, `8080` or `none`.
public enum PortSpec: Sendable, Hashable, CustomStringConvertible {
    case auto
    case fixed(UInt16)
    case none

    /// The fixed port, if any.
    public var fixedPort: UInt16? {
        if case .fixed(let port) = self { return port }
        return nil
    }

    /// Whether the process is given a port (and `PORT` / `${PORT}`) at all.
    public var hasPort: Bool {
        if case .none = self { return false }
        return true
    }

    /// `auto`, `8080` or `none`, as written in the config.
    public var description: String {
        switch self {
        case .auto: "auto"
        case .fixed(let port): String(port)
        case .none: "none"
        }
    }
}
