public import Logging

/// The OS-facing parts one agent process shares between all its programs: one spawn thread (so
/// PDEATHSIG stays tied to a thread that lives as long as the agent), one exit watcher, one
/// stopper, one capture, one port range, and the orphan guard — all on one reactor thread.
public struct RuntimeServices: Sendable {
    public let watcher: ExitWatcher
    public let spawner: SpawnThread
    public let stopper: GroupStopper
    public let capture: OutputCapture
    public let ports: PortAllocator
    /// Kills every registered group if the agent dies (`orphans: kill`); `nil` when adopting.
    public let guardian: Guardian?
    /// pid/pgid/start time of every live child, for the sweep or re-adoption after a restart.
    public let stateFile: ChildStateFile?
    /// PDEATHSIG on children: true for `orphans: kill`.
    public let killWithAgent: Bool
    /// `orphans: adopt`: the directory of the children's output FIFOs (see ``AdoptableOutput``).
    /// Set, together with a state file and without PDEATHSIG, children outlive the agent and a
    /// new one adopts them (``ProcessRuntime/loadAdoptable()``).
    public let adoptableOutputDirectory: String?
    /// The agent's cgroup subtree: a cgroup per process (membership, limits, accounting, OOM
    /// kills). `nil` on the process-group fallback (``cgroupFallbackReason`` says why).
    public let cgroups: CgroupTree?
    /// Why processes run without cgroups (not root, no writable cgroupfs, …); `nil` when they
    /// have them or when cgroups were not asked for.
    public let cgroupFallbackReason: String?

    /// The agent's one reactor (``EpollThread``): exits, output, stops, heartbeats and the config
    /// watcher all register with it.
    public var reactor: EpollThread { capture.reactor }

    /// The FIFO directory when children are started to survive the agent and be re-adopted.
    var adoptionOutputDirectory: String? { killWithAgent || stateFile == nil ? nil : adoptableOutputDirectory }

    public init(
        watcher: ExitWatcher, spawner: SpawnThread, stopper: GroupStopper, capture: OutputCapture,
        ports: PortAllocator, guardian: Guardian?, stateFile: ChildStateFile?, killWithAgent: Bool,
        adoptableOutputDirectory: String? = nil, cgroups: CgroupTree? = nil, cgroupFallbackReason: String? = nil
    ) {
        self.watcher = watcher
        self.spawner = spawner
        self.stopper = stopper
        self.capture = capture
        self.ports = ports
        self.guardian = guardian
        self.stateFile = stateFile
        self.killWithAgent = killWithAgent
        self.adoptableOutputDirectory = adoptableOutputDirectory
        self.cgroups = cgroups
        self.cgroupFallbackReason = cgroupFallbackReason
    }

    /// Sets up everything for an agent: subreaper, exit watcher, guardian (when `killOrphans`),
    /// spawn thread, stopper, capture. Without `killOrphans` and with a state file, children are
    /// adoptable: their output FIFOs live in `<state file>.output/`.
    ///
    /// `cgroupName`: the name of the agent's cgroup subtree (stable across restarts of one agent,
    /// so leftovers can be swept and children re-adopted); `nil` runs without cgroups. When the
    /// machine does not allow them the runtime falls back to process groups and logs why, once.
    public static func start(
        portRange: ClosedRange<Int>, stateFilePath: String?, killOrphans: Bool, cgroupName: String? = nil,
        logger: Logger = Logger(label: "procmgr.runtime")
    ) throws -> RuntimeServices {
        try Subreaper.enable()
        let reactor = try EpollThread(name: "procmgr-reactor")
        let watcher = try ExitWatcher(reactor: reactor, logger: logger)
        if !killOrphans { Guardian.discardPreforked() }
        let guardian = killOrphans ? try Guardian.start(watcher: watcher, logger: logger) : nil
        let (cgroups, fallbackReason) = openCgroups(name: cgroupName, guardian: guardian, logger: logger)
        return RuntimeServices(
            watcher: watcher,
            spawner: try SpawnThread(
                watcher: watcher, guardian: guardian, stderrSink: try StderrSink(reactor: reactor), logger: logger),
            stopper: GroupStopper(reactor: reactor),
            capture: OutputCapture(reactor: reactor, logger: logger),
            ports: PortAllocator(range: portRange),
            guardian: guardian,
            stateFile: stateFilePath.map { ChildStateFile(path: $0) },
            killWithAgent: killOrphans,
            adoptableOutputDirectory: killOrphans ? nil : stateFilePath.map { $0 + ".output" },
            cgroups: cgroups, cgroupFallbackReason: fallbackReason)
    }

    /// The cgroup subtree, or why there is none (logged here, once). With a guardian, the
    /// guardian learns the subtree's `cgroup.kill`, so an agent that dies takes every member of
    /// every process cgroup with it, whatever process group or session they moved to.
    private static func openCgroups(name: String?, guardian: Guardian?, logger: Logger) -> (CgroupTree?, String?) {
        guard let name else { return (nil, nil) }
        let tree: CgroupTree
        do {
            tree = try CgroupTree.open(name: name, logger: logger)
        } catch {
            logger.warning("processes run without cgroups (process groups only: no limits.memory/cpu/pids, no OOM detection)",
                           metadata: ["reason": "\(error.reason)"])
            return (nil, error.reason)
        }
        logger.info("a cgroup per process", metadata: ["cgroups": "\(tree.summary)"])
        if let guardian, let path = tree.guardianKillPath {
            do {
                try guardian.setKillCgroup(path)
            } catch {
                logger.error("the guardian cannot learn the cgroup subtree; it kills process groups only", metadata: ["error": "\(error)"])
            }
        }
        return (tree, nil)
    }
}
