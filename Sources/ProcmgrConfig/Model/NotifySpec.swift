/// Who may write to a process's `NOTIFY_SOCKET`, as systemd's `NotifyAccess=`.
public enum NotifyAccess: String, Sendable, Hashable, CaseIterable {
    /// Only the process procmgr spawned.
    case main
    /// Any member of its process group (a shell wrapper's children included).
    case all
}

/// The `notify:` block: sd_notify readiness, status and watchdog.
public struct NotifySpec: Sendable, Hashable {
    /// `WATCHDOG=1` must arrive at least this often; `nil` = no watchdog.
    public var watchdog: Duration?
    public var access: NotifyAccess

    public init(watchdog: Duration? = nil, access: NotifyAccess = ConfigDefaults.notifyAccess) {
        self.watchdog = watchdog
        self.access = access
    }
}
