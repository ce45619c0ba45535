public import ProcmgrEngine
import ProcmgrSupport

/// The programs' CPU and memory: sampled in the background by ``ResourceSampler`` (paced by
/// ``ResourceSamplingPacing``), or on demand by the status API, into each process's
/// ``RuntimeInstance/resourceSample``; a scrape only copies those samples into the series.
///
/// Why not at scrape time: the scrape used to sample every program, from one walk of all of
/// `/proc` — ~19 ms of CPU per scrape at 1,000 programs, ~170 ms at 10,000, most of what
/// `/metrics` cost. A program with a cgroup is read from its cgroup (a few small files, whatever
/// its descendants did: setsid, double forks); one without, from its known pids
/// (``ProcessTreeResources``). CPU is kept monotonic across restarts: a cgroup outlives the
/// process's programs (its count is cumulative), and without one the last sample of an ended
/// program is carried into the total (`release`).
extension ProcessRuntime {
    /// CPU seconds (carried across restarts, as `procmgr_child_cpu_seconds_total`) and resident
    /// bytes of each process in `ids` that has a running program, sampled now: the status API's
    /// `cpu_seconds`/`memory_bytes`. The samples also refresh what the next scrape serves.
    public func resourceUsage(of ids: Set<ProcessID>) -> [ProcessID: ProgramResourceUsage] {
        let running = runningPrograms(only: ids)
        guard !running.isEmpty else { return [:] }
        let orphans = ProcessTreeResources.orphans(excluding: Set(running.map(\.child.spawned.pid)))
        return store(running.map { ($0.id, $0.child, Self.measure($0.child, orphans: orphans)) }, at: .now)
    }

    /// One background round over every running program, in batches with a yield between them.
    /// Returns the programs sampled and the CPU the sampling cost (thread CPU time, batch by
    /// batch: the task may move between threads at a yield).
    func sampleResourceRound() async -> (programs: Int, cost: Duration) {
        let running = runningPrograms(only: nil)
        guard !running.isEmpty else { return (0, .zero) }
        let batchSize = resourceSampler.pacing.batchSize
        var cost = Duration.zero
        let start = ResourceSampler.threadCPUTime()
        let orphans = ProcessTreeResources.orphans(excluding: Set(running.map(\.child.spawned.pid)))
        cost += ResourceSampler.threadCPUTime() - start
        for first in stride(from: 0, to: running.count, by: batchSize) {
            if Task.isCancelled { break }
            let begin = ResourceSampler.threadCPUTime()
            let batch = running[first..<min(first + batchSize, running.count)]
            _ = store(batch.map { ($0.id, $0.child, Self.measure($0.child, orphans: orphans)) }, at: .now)
            cost += ResourceSampler.threadCPUTime() - begin
            await Task.yield()
        }
        logger.debug("resource sampling round", metadata: [
            "programs": "\(running.count)", "cpu": "\(cost)",
            "next_round_in": "\(resourceSampler.pacing.period(afterRoundCosting: cost))"])
        return (running.count, cost)
    }

    /// Copies the cached samples of the running programs into the series (the cgroup's memory
    /// limit and CPU throttling where the program has a cgroup), sets the age of the oldest, and
    /// tells the sampler someone scrapes. Reads no file.
    static func collectResources(instances: LockedState<[ProcessID: RuntimeInstance]>, metrics: RuntimeMetrics, sampler: ResourceSampler) {
        let now = ContinuousClock.now
        sampler.scraped(at: now)
        let (served, oldest) = instances.withLock { instances -> ([(ProcessID, ProgramResourceUsage)], ContinuousClock.Instant?) in
            var served: [(ProcessID, ProgramResourceUsage)] = []
            var oldest: ContinuousClock.Instant?
            for (id, instance) in instances {
                guard let child = instance.child else { continue }
                // A program never sampled has been unmeasured since it started.
                let takenAt = instance.resourceSample?.takenAt ?? child.startedAt
                oldest = min(oldest ?? takenAt, takenAt)
                if let sample = instance.resourceSample { served.append((id, sample.usage)) }
            }
            return (served, oldest)
        }
        for (id, usage) in served {
            let counter = metrics.childCPU.labels([id])
            counter.setTotal(max(counter.value, usage.cpuSeconds))
            metrics.childMemory.labels([id]).set(Double(usage.memoryBytes))
            if let limit = usage.memoryLimitBytes { metrics.childMemoryLimit.labels([id]).set(Double(limit)) }
            if let throttled = usage.throttledSeconds {
                let counter = metrics.childCPUThrottled.labels([id])
                counter.setTotal(max(counter.value, throttled))
            }
        }
        let age = oldest.map { max(Duration.zero, $0.duration(to: now)) } ?? .zero
        metrics.childResourceSampleAge.set(Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18)
    }

    /// The processes (all, or those in `only`) that have a running program.
    private func runningPrograms(only: Set<ProcessID>?) -> [(id: ProcessID, child: RunningChild)] {
        instances.withLock { instances in
            instances.compactMap { id, instance -> (id: ProcessID, child: RunningChild)? in
                guard only?.contains(id) ?? true, let child = instance.child else { return nil }
                return (id, child)
            }
        }
    }

    /// Reads one program: its cgroup's files, or (without a cgroup, or one that cannot tell) its
    /// process group from its leader and `orphans` (the group's members the agent inherited).
    private static func measure(_ child: RunningChild, orphans: [Int32: [Int32]]) -> ResourceMeasurement {
        if let cgroup = child.cgroup {
            // The limit is the one this runtime wrote at the start: not read back at every sample.
            let usage = cgroup.usage(readingLimit: false)
            if let cpu = usage.cpuSeconds, let memory = usage.memoryBytes {
                return .cgroup(ProgramResourceUsage(
                    cpuSeconds: cpu, memoryBytes: memory, memoryLimitBytes: child.config.execution.cgroupLimits.memoryBytes,
                    throttledSeconds: usage.throttledSeconds))
            }
        }
        let pgid = child.spawned.pgid
        return .group(ProcessTreeResources.sample(pgid: pgid, roots: [child.spawned.pid] + (orphans[pgid] ?? [])))
    }

    /// Records the measurements of programs that are still their process's current one (a
    /// program released meanwhile has had its CPU carried into the total already).
    private func store(
        _ measured: [(id: ProcessID, child: RunningChild, measurement: ResourceMeasurement)], at now: ContinuousClock.Instant
    ) -> [ProcessID: ProgramResourceUsage] {
        instances.withLock { instances in
            var recorded: [ProcessID: ProgramResourceUsage] = [:]
            for (id, child, measurement) in measured where instances[id]?.child === child {
                recorded[id] = instances[id]?.record(measurement, at: now)
            }
            return recorded
        }
    }
}

/// What one read of a program found.
enum ResourceMeasurement: Sendable {
    /// From its cgroup: CPU already cumulative across the process's programs.
    case cgroup(ProgramResourceUsage)
    /// From its process group: CPU of this program only.
    case group(GroupResourceUsage)
}

extension RuntimeInstance {
    /// Stores a measurement of the current program as the served sample; a group's CPU is added
    /// to what earlier programs used, and never goes down (members that exit unreaped take
    /// theirs with them).
    mutating func record(_ measurement: ResourceMeasurement, at now: ContinuousClock.Instant) -> ProgramResourceUsage {
        let usage: ProgramResourceUsage
        switch measurement {
        case .cgroup(let cgroup):
            usage = cgroup
        case .group(let group):
            lastCPUSample = max(lastCPUSample, group.totalCPUSeconds)
            usage = ProgramResourceUsage(cpuSeconds: accumulatedCPUSeconds + lastCPUSample, memoryBytes: group.rssBytes)
        }
        resourceSample = ResourceSample(usage: usage, takenAt: now)
        return usage
    }
}

/// What ``ProcessRuntime/resourceUsage(of:)`` reports for one process.
public struct ProgramResourceUsage: Sendable, Hashable {
    /// CPU seconds of its programs, across restarts.
    public var cpuSeconds: Double
    /// Resident bytes of the current program (its cgroup, or its process group).
    public var memoryBytes: UInt64
    /// The cgroup's memory limit (`limits.memory`); `nil` without one.
    public var memoryLimitBytes: UInt64? = nil
    /// Time the cgroup was throttled by its CPU quota; `nil` without a cgroup.
    public var throttledSeconds: Double? = nil
}
