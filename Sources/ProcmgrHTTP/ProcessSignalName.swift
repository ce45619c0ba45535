import Glibc

/// The signals `POST /api/v1/processes/{id}/signal?name=` may send: the ones operators send to
/// services (reload, log reopen, dump, pause/continue, stop), a closed set so a request can never
/// name a signal number the agent does not mean to forward.
public enum ProcessSignalName: String, Sendable, CaseIterable, Codable {
    case HUP, INT, QUIT, USR1, USR2, TERM, KILL, WINCH, CONT, STOP, ALRM

    /// `HUP`, `SIGHUP`, `hup` and `sighup` all name SIGHUP; anything else is nil.
    public init?(parsing text: String) {
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        self.init(rawValue: name)
    }

    public var number: Int32 {
        switch self {
        case .HUP: SIGHUP
        case .INT: SIGINT
        case .QUIT: SIGQUIT
        case .USR1: SIGUSR1
        case .USR2: SIGUSR2
        case .TERM: SIGTERM
        case .KILL: SIGKILL
        case .WINCH: SIGWINCH
        case .CONT: SIGCONT
        case .STOP: SIGSTOP
        case .ALRM: SIGALRM
        }
    }
}
