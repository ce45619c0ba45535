import CProcmgrShims
import Glibc

/// `PR_SET_CHILD_SUBREAPER` for the agent.
///
/// Why: when a child dies before its own children (a shell that started `server &`), those
/// grandchildren are re-parented. Without this they would go to init and escape the agent;
/// as a subreaper the agent gets them back, can see them, and ``ExitWatcher`` reaps them.
public enum Subreaper {
    /// Marks this process as a child subreaper. Call once at startup.
    public static func enable() throws(SystemError) {
        guard procmgr_set_child_subreaper(1) == 0 else { throw .current("prctl(PR_SET_CHILD_SUBREAPER)") }
    }

    /// Whether this process is a child subreaper.
    public static var isEnabled: Bool { procmgr_is_child_subreaper() == 1 }
}
