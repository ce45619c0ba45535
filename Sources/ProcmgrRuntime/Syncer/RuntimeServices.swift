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

    /// The agent's one reactor (``EpollThread``): exits, output, stops, heartbeats and the config
    /// watcher all register with it.
    public var reactor: EpollThread { capture.reactor }

    /// The FIFO directory when children are started to survive the agent and be re-adopted.
    var adoptionOutputDirectory: String? { killWithAgent || stateFile == nil ? nil : adoptableOutputDirectory }

    public init(
        watcher: ExitWatcher, spawner: SpawnThread, stopper: GroupStopper, capture: OutputCapture,
        ports: PortAllocator, guardian: Guardian?, stateFile: ChildStateFile?, killWithAgent: Bool,
        adoptableOutputDirectory: String? = nil
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
    }

    /// Sets up everything for an agent: subreaper, exit watcher, guardian (when `killOrphans`),
    /// spawn thread, stopper, capture. Without `killOrphans` and with a state file, children are
    /// adoptable: their output FIFOs live in `<state file>.output/`.
    public static func start(
        portRange: ClosedRange<Int>, stateFilePath: String?, killOrphans: Bool,
        logger: Logger = Logger(label: "procmgr.runtime")
    ) throws -> RuntimeServices {
        try Subreaper.enable()
        let reactor = try EpollThread(name: "procmgr-reactor")
        let watcher = try ExitWatcher(reactor: reactor, logger: logger)
        if !killOrphans { Guardian.discardPreforked() }
        let guardian = killOrphans ? try Guardian.start(watcher: watcher, logger: logger) : nil
        return RuntimeServices(
            watcher: watcher,
            spawner: try SpawnThread(watcher: watcher, guardian: guardian, logger: logger),
            stopper: GroupStopper(reactor: reactor),
            capture: OutputCapture(reactor: reactor, logger: logger),
            ports: PortAllocator(range: portRange),
            guardian: guardian,
            stateFile: stateFilePath.map { ChildStateFile(path: $0) },
            killWithAgent: killOrphans,
            adoptableOutputDirectory: killOrphans ? nil : stateFilePath.map { $0 + ".output" })
    }
}
