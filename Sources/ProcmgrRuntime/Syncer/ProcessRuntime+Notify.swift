import ProcmgrEngine

/// sd_notify (`notify:`): the NOTIFY_SOCKET made before each spawn, read from the moment the
/// child runs, closed with its group. `READY=1` and `STOPPING=1` set ``RuntimeInstance/notifyReady``
/// of that child only; a watchdog failure restarts like a failed heartbeat (reason `watchdog`).
extension ProcessRuntime {
    /// A socket for the next child of `id`, when its config asks for one.
    func makeNotifySocket(_ id: ProcessID, config: ManagedProcess) throws(SystemError) -> NotifySocket? {
        guard let settings = config.notify else { return nil }
        let counters = Dictionary(uniqueKeysWithValues: NotifyMessageResult.allCases.map { ($0, metrics.notifyMessages.labels([id, $0.rawValue])) })
        return try NotifySocket(reactor: services.reactor, process: id, settings: settings, logger: logger) { result in
            counters[result]?.increment()
        }
    }

    /// The child runs: read its socket from now on, checked against its pid and group.
    func startNotify(_ id: ProcessID, child: RunningChild) throws(SystemError) {
        guard let notify = child.notify else { return }
        let pid = child.spawned.pid
        try notify.childStarted(pid: pid, pgid: child.spawned.pgid) { [weak self] event in
            switch event {
            case .readyChanged(let ready):
                self?.setNotifyReady(id, pid: pid, ready)
            case .watchdogFailed(let failure):
                self?.watchdogFailed(id, pid: pid, failure)
            }
        }
    }

    private func watchdogFailed(_ id: ProcessID, pid: Int32, _ failure: NotifyProtocol.WatchdogFailure) {
        let restart = instances.withLock { instances -> Bool in
            guard let child = instances[id]?.child, child.spawned.pid == pid else { return false }
            _ = instances[id]?.policy.handle(.checkFailed(.watchdog), rules: Policy.Rules(child.config), now: .now, random: random())
            return true
        }
        guard restart else { return }
        let why = switch failure {
        case .missed(let interval): "no WATCHDOG=1 within \(Duration.nanoseconds(Int64(clamping: interval)))"
        case .triggered: "WATCHDOG=trigger"
        }
        logger.warning("watchdog failed; stopping the program (restart: decides whether it starts again)", metadata: ["process": "\(id)", "why": "\(why)"])
        hooks.withLock { $0 }?.requestSync(id)
    }
}
