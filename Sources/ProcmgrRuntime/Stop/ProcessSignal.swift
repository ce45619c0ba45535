import Glibc

/// Signal numbers for the public API, so callers need no `Glibc` import for defaults such as
/// `signal: Int32 = ProcessSignal.term`.
public enum ProcessSignal {
    public static let hup: Int32 = SIGHUP
    public static let int: Int32 = SIGINT
    public static let quit: Int32 = SIGQUIT
    public static let kill: Int32 = SIGKILL
    public static let usr1: Int32 = SIGUSR1
    public static let usr2: Int32 = SIGUSR2
    public static let term: Int32 = SIGTERM
    public static let cont: Int32 = SIGCONT
    public static let stop: Int32 = SIGSTOP

    /// `"SIGTERM"` for 15; `"signal 40"` for numbers without a classic name.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGUSR1: "SIGUSR1"
        case SIGSEGV: "SIGSEGV"
        case SIGUSR2: "SIGUSR2"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        case SIGTERM: "SIGTERM"
        case SIGCHLD: "SIGCHLD"
        case SIGCONT: "SIGCONT"
        case SIGSTOP: "SIGSTOP"
        case SIGTSTP: "SIGTSTP"
        case SIGTTIN: "SIGTTIN"
        case SIGTTOU: "SIGTTOU"
        case SIGXCPU: "SIGXCPU"
        case SIGXFSZ: "SIGXFSZ"
        case SIGSYS: "SIGSYS"
        default: "signal \(signal)"
        }
    }
}
