import Foundation
import Glibc

/// One chaos run: a real `procmgr run` managing real children, and a seeded random schedule of
/// faults against it. After every fault the invariants are polled until they hold or a
/// deadline passes; a violation is recorded with what was seen, and the system is then healed
/// (every process of the agent's tree killed, a fresh `orphans: kill` agent started) so one
/// violation does not cascade into every later step.
final class ChaosRun {
    struct Options {
        var duration: Duration
        var seed: UInt64
        var faults: [ChaosFault]
        var procmgr: String
    }

    struct Violation {
        var step: Int
        var fault: String
        var invariant: ChaosInvariant
        var detail: String
    }

    private let options: Options
    private var random: ChaosRandom
    private let marker: (String, String)
    private var markerText: String { "\(marker.0)=\(marker.1)" }
    private let directory: String
    private let stateDirectory: String
    private let configPath: String
    let logFile: String
    private var agent: ChaosAgent?
    private var config = ChaosConfig()
    private(set) var tmpfsMounted = false
    private(set) var skipped: [ChaosFault: String] = [:]

    private(set) var faultCounts: [ChaosFault: Int] = [:]
    private(set) var held: [ChaosInvariant: Int] = [:]
    private(set) var violations: [Violation] = []
    private(set) var heals = 0
    private var reportedDescriptors = false
    private var step = 0

    init(options: Options) {
        self.options = options
        random = ChaosRandom(seed: options.seed)
        marker = ("PROCMGR_CHAOS_RUN", "\(getpid())-\(options.seed)")
        directory = NSTemporaryDirectory() + "procmgr-chaos-\(getpid())"
        stateDirectory = directory + "/state"
        configPath = directory + "/procmgr.yaml"
        logFile = directory + "/agent.log"
    }

    // MARK: Setup and teardown

    func setUp() throws {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        // A small tmpfs as the state directory, so it can be filled up without filling the disk.
        if geteuid() == 0, mount("procmgr-chaos", stateDirectory, "tmpfs", 0, "size=1m,mode=0755") == 0 {
            tmpfsMounted = true
        } else if options.faults.contains(.stateDirFull) {
            skipped[.stateDirFull] = "cannot mount a tmpfs on the state directory (\(geteuid() == 0 ? String(cString: strerror(errno)) : "not root")); fault skipped"
        }
        writeConfig()
        agent = try startAgent()
        settle(after: "start")
    }

    func tearDown() {
        if let agent, agent.isRunning {
            agent.signal(SIGTERM)
            if !agent.waitForExit(timeout: .seconds(30)) { agent.signal(SIGKILL); _ = agent.waitForExit(timeout: .seconds(10)) }
        }
        killMarked()
        if tmpfsMounted { _ = umount2(stateDirectory, Int32(MNT_DETACH)) }
        try? FileManager.default.removeItem(atPath: stateDirectory)
        try? FileManager.default.removeItem(atPath: configPath)
    }

    // MARK: The schedule

    func run() {
        let runnable = options.faults.filter { skipped[$0] == nil }
        guard !runnable.isEmpty else { return }
        let deadline = ContinuousClock.now.advanced(by: options.duration)
        while ContinuousClock.now < deadline {
            guard let fault = runnable.randomElement(using: &random) else { return }
            step += 1
            faultCounts[fault, default: 0] += 1
            inject(fault)
        }
    }

    private func inject(_ fault: ChaosFault) {
        switch fault {
        case .killChild: signalChild(SIGKILL, fault: fault)
        case .stopChild: signalChild(SIGSTOP, fault: fault)
        case .killGrandchild: signalGrandchild(SIGKILL, fault: fault)
        case .stopGrandchild: signalGrandchild(SIGSTOP, fault: fault)
        case .killGuardian: killGuardian()
        case .agentKill: agentKill()
        case .agentAdopt: agentAdopt()
        case .reloadStorm: reloadStorm()
        case .fdExhaustion: fdExhaustion()
        case .stateDirFull: stateDirFull()
        }
    }

    // MARK: Faults

    private func signalChild(_ signal: Int32, fault: ChaosFault) {
        guard let agent else { return }
        let seen = ChaosInvariants.look(agent: agent, desired: config.desiredIDs, killMode: killMode, marker: markerText)
        let pids = seen.api.values.compactMap { $0.state == "running" ? $0.pid : nil }.sorted()
        guard let pid = pids.randomElement(using: &random) else { settle(after: fault.rawValue); return }
        deliver(signal, to: pid)
        settle(after: fault.rawValue)
    }

    private func signalGrandchild(_ signal: Int32, fault: ChaosFault) {
        guard let agent else { return }
        let seen = ChaosInvariants.look(agent: agent, desired: config.desiredIDs, killMode: killMode, marker: markerText)
        let children = Set(seen.api.values.compactMap { $0.state == "running" ? $0.pid : nil })
        let grandchildren = seen.proc.liveMarked.filter { children.contains($0.ppid) }.map(\.pid).sorted()
        guard let pid = grandchildren.randomElement(using: &random) else { settle(after: fault.rawValue); return }
        deliver(signal, to: pid)
        settle(after: fault.rawValue)
    }

    /// SIGKILL, or SIGSTOP held for 0.1–1 s (the fault's length, chosen by the seed) and SIGCONT.
    private func deliver(_ signal: Int32, to pid: Int32) {
        kill(pid, signal)
        if signal == SIGSTOP {
            usleep(UInt32.random(in: 100_000...1_000_000, using: &random))
            kill(pid, SIGCONT)
        }
    }

    private func killGuardian() {
        guard let agent else { return }
        let guardians = ChaosProcTable.read(marker: markerText).children(of: agent.pid).filter { $0.comm == "procmgr-guard" }
        for guardian in guardians { kill(guardian.pid, SIGKILL) }
        // Not healed on a violation here: the agent's SIGKILL below must meet the state the
        // guardian's death left.
        settle(after: "kill-guardian", heal: false)
        // What the guardian is for: the agent's SIGKILL must still leave nothing behind.
        killAgentAndCheckSurvivors(fault: "kill-guardian")
        restartAgent()
    }

    private func agentKill() {
        killAgentAndCheckSurvivors(fault: "agent-kill")
        restartAgent()
    }

    private func agentAdopt() {
        // 1. Into adopt mode (an `agent:` change takes a restart): a graceful stop in kill mode.
        stopAgentGracefully()
        checkNoSurvivors(fault: "agent-adopt", after: "a kill-mode agent's graceful stop")
        config.orphans = "adopt"
        writeConfig()
        restartAgent()
        guard let agent, settle(after: "agent-adopt (adopt-mode start)") else { return leaveAdoptMode() }
        let before = ChaosInvariants.look(agent: agent, desired: config.desiredIDs, killMode: false, marker: markerText)
        let pids = before.api.compactMapValues { $0.pid }
        // 2. SIGKILL: the children must live on, and the next agent must adopt the same pids.
        agent.signal(SIGKILL)
        _ = agent.waitForExit(timeout: .seconds(10))
        let afterKill = ChaosProcTable.read(marker: markerText)
        let dead = pids.filter { !afterKill.isAlive($0.value) }
        restartAgent()
        if let next = self.agent {
            let seen = ChaosInvariants.settle(agent: next, desired: config.desiredIDs, killMode: false, marker: markerText)
            record(seen, after: "agent-adopt (re-adopt)", checked: ChaosInvariant.everyStep)
            let changed = pids.filter { seen.api[$0.key]?.pid != $0.value }
            if dead.isEmpty && changed.isEmpty {
                held[.adopted, default: 0] += 1
            } else {
                violate(.adopted, fault: "agent-adopt", "died with the agent: \(dead.keys.sorted()); not adopted (new pid): \(changed.keys.sorted())")
            }
        }
        leaveAdoptMode()
    }

    /// Back to kill mode: the adopt-mode agent stops (leaving its children running, as adopt
    /// mode does) and a kill-mode agent must sweep them; `settle` checks nothing survived.
    private func leaveAdoptMode() {
        stopAgentGracefully()
        config.orphans = "kill"
        writeConfig()
        restartAgent()
        settle(after: "agent-adopt (back to kill mode)")
    }

    private func reloadStorm() {
        guard let agent else { return }
        var applied = config
        for _ in 0..<Int.random(in: 3...8, using: &random) {
            if Int.random(in: 0..<10, using: &random) < 3 {
                let document = ChaosConfig.invalidDocuments.randomElement(using: &random) ?? ""
                reload(agent, document: document, valid: false)
            } else {
                var next = applied
                if let extra = ChaosConfig.extraIDs.randomElement(using: &random) {
                    if next.extras.contains(extra) { next.extras.remove(extra) } else { next.extras.insert(extra) }
                }
                if Bool.random(using: &random) { next.generation += 1 }
                reload(agent, document: next.yaml(stateDirectory: stateDirectory, procmgr: options.procmgr), valid: true)
                applied = next
            }
        }
        // The storm ends with the applied config on disk, so a later agent restart starts from it.
        config = applied
        reload(agent, document: config.yaml(stateDirectory: stateDirectory, procmgr: options.procmgr), valid: true)
        settle(after: "reload-storm")
    }

    private func reload(_ agent: ChaosAgent, document: String, valid: Bool) {
        write(document, to: configPath)
        let expected = valid ? 200 : 422
        do {
            let reply = try ChaosHTTP.request(port: agent.port, method: "POST", path: "/-/reload", timeout: 10)
            if reply.status == expected {
                held[.reloadAnswer, default: 0] += 1
            } else {
                violate(.reloadAnswer, fault: "reload-storm", "expected \(expected), got \(reply.status) \(reply.body.prefix(300)) for:\n\(document)")
            }
        } catch {
            violate(.reloadAnswer, fault: "reload-storm", "POST /-/reload: \(error)")
        }
    }

    private func fdExhaustion() {
        guard let agent else { return }
        let before = ChaosInvariants.look(agent: agent, desired: config.desiredIDs, killMode: killMode, marker: markerText)
        guard let victim = before.api.values.compactMap({ $0.state == "running" ? $0.pid : nil }).sorted().randomElement(using: &random) else {
            settle(after: "fd-exhaustion")
            return
        }
        let idle = ChaosHTTP.openIdle(port: agent.port, count: 3000)
        defer { for fd in idle { close(fd) } }
        waitForDescriptorsToSettle(pid: agent.pid)
        if !reportedDescriptors {
            reportedDescriptors = true
            let held = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(agent.pid)/fd").count) ?? -1
            let limits = (try? String(contentsOfFile: "/proc/\(agent.pid)/limits", encoding: .utf8))?
                .split(separator: "\n").first { $0.hasPrefix("Max open files") }.map { String($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).prefix(2).joined(separator: "/")) } ?? "?"
            print("  fd-exhaustion: \(idle.count) idle connections open, the agent holds \(held) descriptors (limit soft/hard \(limits))")
        }
        // With the connections held, a crashed child must still be restarted. Seen in /proc,
        // since the API itself may be what is starved.
        kill(victim, SIGKILL)
        let deadline = ContinuousClock.now.advanced(by: .seconds(15))
        var leaders = 0
        repeat {
            let proc = ChaosProcTable.read(marker: markerText)
            leaders = proc.liveMarked.filter { $0.pid == $0.pgid && $0.pid != agent.pid && $0.comm != "procmgr-guard" }.count
            if !proc.isAlive(victim) && leaders == config.desiredIDs.count { break }
            usleep(50_000)
        } while ContinuousClock.now < deadline
        if leaders == config.desiredIDs.count {
            held[.supervisedUnderLoad, default: 0] += 1
        } else {
            violate(.supervisedUnderLoad, fault: "fd-exhaustion", "\(leaders) of \(config.desiredIDs.count) processes running 15 s after pid \(victim) was killed, \(idle.count) idle connections held")
        }
        settle(after: "fd-exhaustion")
    }

    /// Until the agent stops taking more descriptors (the same count for 2 s) or 15 s passed:
    /// it accepts the idle connections at its own pace.
    private func waitForDescriptorsToSettle(pid: Int32) {
        let deadline = ContinuousClock.now.advanced(by: .seconds(15))
        var last = -1
        var since = ContinuousClock.now
        while ContinuousClock.now < deadline {
            let count = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
            if count != last { last = count; since = ContinuousClock.now }
            if ContinuousClock.now - since >= .seconds(2) { return }
            usleep(100_000)
        }
    }

    private func stateDirFull() {
        guard tmpfsMounted, let agent else { return }
        let filler = stateDirectory + "/filler"
        fill(filler)
        signalChild(SIGKILL, fault: .stateDirFull)
        var next = config
        next.generation += 1
        reload(agent, document: next.yaml(stateDirectory: stateDirectory, procmgr: options.procmgr), valid: true)
        config = next
        settle(after: "state-dir-full (full)")
        unlink(filler)
        checkStateFile()
    }

    /// `children.json` must catch up with the running pids once there is room again.
    private func checkStateFile() {
        guard let agent else { return }
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        var last = ""
        while ContinuousClock.now < deadline {
            let seen = ChaosInvariants.look(agent: agent, desired: config.desiredIDs, killMode: killMode, marker: markerText)
            let running = Set(seen.api.values.compactMap { $0.state == "running" ? $0.pid : nil })
            let recorded = recordedPIDs()
            if recorded == running { held[.stateFileCurrent, default: 0] += 1; return }
            last = "children.json pids \(recorded.sorted()), running \(running.sorted())"
            usleep(50_000)
        }
        violate(.stateFileCurrent, fault: "state-dir-full", last)
    }

    private func recordedPIDs() -> Set<Int32> {
        guard let data = FileManager.default.contents(atPath: stateDirectory + "/children.json"),
              let document = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let children = document["children"] as? [[String: Any]]
        else { return [] }
        return Set(children.compactMap { ($0["pid"] as? Int).map(Int32.init) })
    }

    private func fill(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x2E, count: 16384)
        while chunk.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    // MARK: The agent

    private var killMode: Bool { config.orphans == "kill" }

    private func startAgent() throws -> ChaosAgent {
        try ChaosAgent.start(procmgr: options.procmgr, config: configPath, logFile: logFile, marker: marker)
    }

    private func restartAgent() {
        do {
            agent = try startAgent()
        } catch {
            violate(.agentAlive, fault: "restart", "\(error)")
            heal()
        }
    }

    private func stopAgentGracefully() {
        guard let agent, agent.isRunning else { return }
        agent.signal(SIGTERM)
        if !agent.waitForExit(timeout: .seconds(30)) {
            violate(.agentAlive, fault: "graceful stop", "procmgr run did not exit within 30 s of SIGTERM")
            agent.signal(SIGKILL)
            _ = agent.waitForExit(timeout: .seconds(10))
        }
    }

    /// SIGKILLs the agent and checks that, in kill mode, its whole tree dies with it.
    private func killAgentAndCheckSurvivors(fault: String) {
        guard let agent else { return }
        agent.signal(SIGKILL)
        _ = agent.waitForExit(timeout: .seconds(10))
        checkNoSurvivors(fault: fault, after: "the agent's SIGKILL")
    }

    /// Polls until nothing from the agent's tree is alive (5 s at most); survivors are a
    /// violation, and are then killed so the next step starts clean.
    private func checkNoSurvivors(fault: String, after event: String) {
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        var survivors: [ChaosProcTable.Entry] = []
        repeat {
            survivors = ChaosProcTable.read(marker: markerText).liveMarked
            if survivors.isEmpty { held[.noSurvivor, default: 0] += 1; return }
            usleep(20_000)
        } while ContinuousClock.now < deadline
        violate(.noSurvivor, fault: fault, "\(survivors.count) alive 5 s after \(event): " +
                survivors.prefix(10).map { "\($0.pid) (\($0.comm), ppid \($0.ppid))" }.joined(separator: ", "))
        killMarked()
    }

    // MARK: Checking and healing

    @discardableResult
    private func settle(after fault: String, heal: Bool = true) -> Bool {
        guard let agent else { return false }
        let seen = ChaosInvariants.settle(agent: agent, desired: config.desiredIDs, killMode: killMode, marker: markerText)
        return record(seen, after: fault, checked: ChaosInvariant.everyStep.filter { killMode || $0 != .guardianAlive }, heal: heal)
    }

    @discardableResult
    private func record(_ seen: ChaosObservation, after fault: String, checked: Set<ChaosInvariant>, heal shouldHeal: Bool = true) -> Bool {
        for invariant in checked where seen.failures[invariant] == nil { held[invariant, default: 0] += 1 }
        let failures = seen.failures.filter { checked.contains($0.key) }
        guard !failures.isEmpty else { return true }
        for (invariant, detail) in failures.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            violate(invariant, fault: fault, detail)
        }
        if shouldHeal { heal() }
        return false
    }

    private func violate(_ invariant: ChaosInvariant, fault: String, _ detail: String) {
        violations.append(Violation(step: step, fault: fault, invariant: invariant, detail: detail))
        print("  step \(step) \(fault): VIOLATED \(invariant.rawValue): \(detail.prefix(600))")
    }

    /// Back to a known state: the agent and every process of its tree SIGKILLed, a fresh
    /// `orphans: kill` agent with the current config.
    private func heal() {
        heals += 1
        if let agent, agent.isRunning {
            agent.signal(SIGKILL)
            _ = agent.waitForExit(timeout: .seconds(10))
        }
        killMarked()
        config.orphans = "kill"
        writeConfig()
        do {
            agent = try startAgent()
        } catch {
            print("  heal: cannot start the agent again: \(error)")
            agent = nil
            return
        }
        if let agent {
            let seen = ChaosInvariants.settle(agent: agent, desired: config.desiredIDs, killMode: true, marker: markerText)
            if !seen.failures.isEmpty { print("  heal: still failing after a fresh start: \(seen.failures)") }
        }
    }

    /// SIGKILLs every live process carrying the run's marker, until none is left (5 s at most).
    private func killMarked() {
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while ContinuousClock.now < deadline {
            let live = ChaosProcTable.read(marker: markerText).liveMarked.filter { $0.pid != getpid() }
            if live.isEmpty { return }
            for entry in live { kill(entry.pid, SIGKILL) }
            usleep(20_000)
        }
    }

    private func writeConfig() {
        write(config.yaml(stateDirectory: stateDirectory, procmgr: options.procmgr), to: configPath)
    }

    private func write(_ text: String, to path: String) {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            print("  cannot write \(path): \(error)")
        }
    }
}
