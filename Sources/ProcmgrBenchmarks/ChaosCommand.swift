import Foundation
import Glibc

/// `procmgr-bench chaos [--minutes N | --seconds N] [--seed S] [--faults a,b,…] [--procmgr PATH]`:
/// runs the chaos suite (issue 10, item 10) against the `procmgr` built next to this binary and
/// prints the faults injected per kind and every invariant held or violated. Exits 1 on any
/// violation, 2 on a usage error.
enum ChaosCommand {
    static func run(arguments: [String]) -> Never {
        guard let options = parse(arguments) else {
            print("""
                usage: procmgr-bench chaos [--minutes N | --seconds N] [--seed S] [--faults a,b,...] [--procmgr PATH]
                faults: \(ChaosFault.allCases.map(\.rawValue).joined(separator: ", "))
                  (ci: the ones that hold today: \(ChaosFault.passingToday.map(\.rawValue).joined(separator: ",")))
                """)
            exit(2)
        }
        print("chaos: seed \(options.seed), \(options.duration), faults \(options.faults.map(\.rawValue).joined(separator: ",")), procmgr \(options.procmgr)")
        let run = ChaosRun(options: options)
        let start = ContinuousClock.now
        do {
            try run.setUp()
        } catch {
            print("chaos: cannot start: \(error)")
            run.tearDown()
            exit(1)
        }
        run.run()
        run.tearDown()
        report(run, elapsed: ContinuousClock.now - start)
        exit(run.violations.isEmpty ? 0 : 1)
    }

    private static func report(_ run: ChaosRun, elapsed: Duration) {
        let total = run.faultCounts.values.reduce(0, +)
        print("chaos: \(total) faults in \(String(format: "%.0f", elapsed.benchmarkSeconds)) s; agent log \(run.logFile)")
        for fault in ChaosFault.allCases {
            if let reason = run.skipped[fault] {
                print("  \(fault.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) skipped: \(reason)")
            } else if let count = run.faultCounts[fault] {
                print("  \(fault.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) \(count)")
            }
        }
        print("invariants (checks held / violated):")
        for invariant in ChaosInvariant.allCases {
            let violated = run.violations.filter { $0.invariant == invariant }.count
            let held = run.held[invariant, default: 0]
            guard held + violated > 0 else { continue }
            print("  \(invariant.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0)) \(held) / \(violated)")
        }
        if run.violations.isEmpty {
            print("chaos: no invariant violated")
        } else {
            let kinds = Dictionary(grouping: run.violations, by: { "\($0.fault) → \($0.invariant.rawValue)" })
            print("chaos: \(run.violations.count) violations (\(run.heals) heals):")
            for (kind, list) in kinds.sorted(by: { $0.key < $1.key }) {
                print("  \(list.count)× \(kind), first at step \(list[0].step): \(list[0].detail.prefix(400))")
            }
        }
    }

    private static func parse(_ arguments: [String]) -> ChaosRun.Options? {
        var duration = Duration.seconds(60)
        var seed: UInt64 = 3
        var faults = ChaosFault.allCases
        var procmgr: String? = nil
        var index = 0
        while index < arguments.count {
            let name = arguments[index]
            guard index + 1 < arguments.count else { return nil }
            let value = arguments[index + 1]
            switch name {
            case "--minutes": guard let minutes = Double(value), minutes > 0 else { return nil }; duration = .seconds(minutes * 60)
            case "--seconds": guard let seconds = Double(value), seconds > 0 else { return nil }; duration = .seconds(seconds)
            case "--seed": guard let number = UInt64(value) else { return nil }; seed = number
            case "--faults":
                let names = value.split(separator: ",").map(String.init)
                let parsed = names.compactMap(ChaosFault.init(rawValue:))
                guard parsed.count == names.count, !parsed.isEmpty else { return nil }
                faults = parsed
            case "--procmgr": procmgr = value
            default: return nil
            }
            index += 2
        }
        guard let executable = procmgr ?? siblingProcmgr(), access(executable, X_OK) == 0 else {
            print("chaos: no procmgr binary next to procmgr-bench; build it (swift build -c release --product procmgr) or pass --procmgr")
            return nil
        }
        return ChaosRun.Options(duration: duration, seed: seed, faults: faults, procmgr: executable)
    }

    /// `procmgr` in the same build directory as this binary.
    static func siblingProcmgr() -> String? {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return (executable as NSString).deletingLastPathComponent + "/procmgr"
    }
}
