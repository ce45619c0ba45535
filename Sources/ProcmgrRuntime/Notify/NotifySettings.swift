/// Who may write to a process's NOTIFY_SOCKET: systemd's `NotifyAccess=`.
public enum NotifyAccess: String, Sendable, Hashable, CaseIterable {
    /// Only the program procmgr started (its pid).
    case main
    /// Any member of the program's process group — a shell wrapper's `systemd-notify` child
    /// included. The default, because `sh -c '…; exec daemon'` and forking daemons are common.
    case all
}

/// sd_notify for one process (the config's `notify:` block): a NOTIFY_SOCKET in the child's
/// environment, `READY=1` → ready, `STATUS=` shown, and an optional watchdog.
public struct NotifySettings: Sendable, Hashable {
    /// `WATCHDOG_USEC` exported to the child; no `WATCHDOG=1` within it (counted from the spawn,
    /// then from each one) restarts the program with reason `watchdog`. `nil`: no watchdog
    /// (the child may still turn one on with `WATCHDOG_USEC=`, as under systemd).
    public var watchdog: Duration?
    public var access: NotifyAccess

    public init(watchdog: Duration? = nil, access: NotifyAccess = .all) {
        self.watchdog = watchdog
        self.access = access
    }
}

/// What became of one datagram: the `result` label of `procmgr_notify_messages_total`.
public enum NotifyMessageResult: String, Sendable, Hashable, CaseIterable {
    /// From a permitted sender, parsed and applied.
    case accepted
    /// From a pid the access rule does not permit (or without credentials): dropped.
    case foreign
    /// Longer than 4096 bytes (systemd's limit): dropped.
    case oversized
    /// Not UTF-8, a NUL byte, or a line without `=`: dropped.
    case malformed
}
