import Glibc
public import Logging

/// Deals with children a previous agent left behind, using the ``ChildStateFile``.
///
/// Why: the guardian normally kills everything when the agent dies, but it can itself be
/// killed (OOM killer, `kill -9` of the whole session) or be disarmed for `orphans: adopt`.
/// At startup the new agent reads the state file and either kills the leftover groups
/// (``sweep(stateFile:waitFor:)``) or takes them over (``adopt(stateFile:)``).
///
/// Identity: an entry matches only if the pid still exists *with the recorded start time*, so
/// a recycled pid is never touched. If the leader is gone but members of its group remain,
/// they are matched by process group, session and "started after the leader".
public enum OrphanSweeper {
    public struct SweepReport: Sendable, Hashable {
        /// Entries whose group was found and SIGKILLed.
        public var killed: [ChildRecord] = []
        /// Entries with nothing left (or a recycled pid): untouched.
        public var stale: [ChildRecord] = []
        /// Entries whose group still had members when the wait ended.
        public var survivors: [ChildRecord] = []
    }

    /// A leftover child that is still running.
    public struct AdoptedProcess: Sendable {
        public let record: ChildRecord
        public let pidfd: PIDFD

        /// Starts watching its exit and returns a handle for ``GroupStopper`` and friends.
        /// Its exit status will be ``ProcessExitStatus/unknown``: it is not our child.
        public func handle(watcher: ExitWatcher) -> ProcessHandle {
            ProcessHandle(pid: record.pid, pgid: record.pgid, leader: .pidfd(pidfd), startTime: record.startTime, exit: watcher.watch(pid: record.pid, pidfd: pidfd))
        }
    }

    /// SIGKILLs the process groups of every still-running entry and waits (up to `waitFor`)
    /// until they are gone. The leftovers are not our children (they were re-parented when the
    /// old agent died), so there is no exit event to wait on: this polls with a short backoff.
    /// A corrupt state file is moved aside and swept as empty (``ChildStateFile/loadRecovering(path:logger:)``).
    public static func sweep(
        stateFile path: String, waitFor: Duration = .seconds(2),
        logger: Logger = Logger(label: "procmgr.runtime.orphans")
    ) async throws(SystemError) -> SweepReport {
        let records = try ChildStateFile.loadRecovering(path: path, logger: logger)
        var report = SweepReport()
        var pending: [ChildRecord] = []
        for record in records {
            // A corrupt or foreign entry must never make us signal ourselves, init or "all".
            guard isSafeTarget(record) else {
                report.stale.append(record)
                continue
            }
            let leader = liveLeader(record)
            let members = leftoverMembers(of: record)
            if leader == nil && members.isEmpty {
                report.stale.append(record)
                continue
            }
            leader?.sendSignal(SIGKILL)
            if leader != nil || !members.isEmpty { _ = kill(-record.pgid, SIGKILL) }
            for member in members { member.sendSignal(SIGKILL) }
            pending.append(record)
        }
        let deadline = ContinuousClock.now.advanced(by: waitFor)
        var delay = Duration.microseconds(200)
        while !pending.isEmpty {
            var stillThere: [ChildRecord] = []
            for record in pending {
                if liveLeader(record) == nil && leftoverMembers(of: record).isEmpty {
                    report.killed.append(record)
                } else {
                    stillThere.append(record)
                }
            }
            pending = stillThere
            if pending.isEmpty || ContinuousClock.now >= deadline { break }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(20))
        }
        report.survivors = pending
        return report
    }

    /// Opens a pidfd for every entry whose leader still runs with the recorded start time.
    /// Entries that are gone (or whose pid was recycled) are returned as `stale`. A corrupt state
    /// file is moved aside and adopts nothing.
    public static func adopt(
        stateFile path: String, logger: Logger = Logger(label: "procmgr.runtime.orphans")
    ) throws(SystemError) -> (adopted: [AdoptedProcess], stale: [ChildRecord]) {
        let records = try ChildStateFile.loadRecovering(path: path, logger: logger)
        var adopted: [AdoptedProcess] = []
        var stale: [ChildRecord] = []
        for record in records {
            if isSafeTarget(record), let pidfd = liveLeader(record) {
                adopted.append(AdoptedProcess(record: record, pidfd: pidfd))
            } else {
                stale.append(record)
            }
        }
        return (adopted, stale)
    }

    /// False for entries that would aim at init, "every process", or this agent itself.
    static func isSafeTarget(_ record: ChildRecord) -> Bool {
        record.pid > 1 && record.pgid > 1 && record.pid != getpid() && record.pgid != getpgrp()
    }

    /// A pidfd for the leader if it runs with the recorded start time (checked *after*
    /// opening the pidfd, so the pidfd cannot refer to a recycled pid).
    static func liveLeader(_ record: ChildRecord) -> PIDFD? {
        guard record.pid > 1, let pidfd = try? PIDFD.open(pid: record.pid) else { return nil }
        guard let stat = ProcStat.read(pid: record.pid), stat.startTime == record.startTime, !stat.isZombie else { return nil }
        return pidfd
    }

    /// Live members of the record's group that can only be its leftovers.
    static func leftoverMembers(of record: ChildRecord) -> [PIDFD] {
        guard record.pgid > 1 else { return [] }
        var result: [PIDFD] = []
        for stat in ProcFS.allStats() where stat.processGroup == record.pgid && !stat.isZombie && stat.pid != record.pid {
            guard stat.startTime >= record.startTime else { continue }
            if let session = record.session, stat.session != session { continue }
            guard let pidfd = try? PIDFD.open(pid: stat.pid), ProcStat.read(pid: stat.pid)?.startTime == stat.startTime else { continue }
            result.append(pidfd)
        }
        return result
    }
}
