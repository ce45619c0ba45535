import Foundation

/// The signal sent to ask a process to stop before the grace period runs out
/// and it is killed. Written `TERM` or `SIGTERM` (any case).
public enum StopSignal: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case term = "TERM"
    case int = "INT"
    case quit = "QUIT"
    case hup = "HUP"
    case kill = "KILL"
    case usr1 = "USR1"
    case usr2 = "USR2"

    /// Accepts `TERM`, `SIGTERM`, `term`, `sigterm`.
    public init?(name: String) {
        var upper = name.uppercased()
        if upper.hasPrefix("SIG") { upper.removeFirst(3) }
        self.init(rawValue: upper)
    }

    /// The platform's signal number, for `kill(2)`.
    public var signalNumber: Int32 {
        switch self {
        case .term: SIGTERM
        case .int: SIGINT
        case .quit: SIGQUIT
        case .hup: SIGHUP
        case .kill: SIGKILL
        case .usr1: SIGUSR1
        case .usr2: SIGUSR2
        }
    }

    /// `SIGTERM` etc.
    public var signalName: String { "SIG" + rawValue }

    /// The name without prefix, as in the config (`TERM`).
    public var description: String { rawValue }
}
