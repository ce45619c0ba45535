import Foundation

/// The configs the chaos agent runs: five base processes (two shells that each fork two
/// grandchildren, two plain `sleep`s, one `procmgr demo-worker` on an auto port) plus up to
/// four optional extras that reload storms add and remove. Backoff is short (100 ms, at most
/// 1 s) so "running again within its backoff" can be checked with a deadline of seconds.
struct ChaosConfig: Equatable {
    static let extraIDs = ["x0", "x1", "x2", "x3"]

    var orphans: String = "kill"
    var extras: Set<String> = []
    /// Changing it restarts `sleep-0` (its effective config changes).
    var generation: Int = 0

    var desiredIDs: Set<String> {
        Set(["sh-0", "sh-1", "sleep-0", "sleep-1", "demo"]).union(extras)
    }

    func yaml(stateDirectory: String, procmgr: String) -> String {
        var text = """
            agent:
              state_dir: \(stateDirectory)
              orphans: \(orphans)
              shutdown_grace_period: 2s
              ports: { range: "41000-41200" }
            processes:

            """
        let backoff = "backoff: { initial: 100ms, max: 1s, reset_after: 5s }, grace_period: 1s"
        let shell = #"["/bin/sh", "-c", "sleep 100000 & sleep 100000 & wait"]"#
        text += "  - { id: sh-0, command: \(shell), \(backoff) }\n"
        text += "  - { id: sh-1, command: \(shell), \(backoff) }\n"
        text += "  - { id: sleep-0, command: [\"sleep\", \"100000\"], env: { GENERATION: \"\(generation)\" }, \(backoff) }\n"
        text += "  - { id: sleep-1, command: [\"sleep\", \"100000\"], \(backoff) }\n"
        text += "  - { id: demo, command: [\"\(procmgr)\", \"demo-worker\"], port: auto, \(backoff) }\n"
        for id in Self.extraIDs where extras.contains(id) {
            text += "  - { id: \(id), command: [\"sleep\", \"100000\"], \(backoff) }\n"
        }
        return text
    }

    /// Configs the agent must refuse (422 on reload) without touching anything.
    static let invalidDocuments = [
        "agent: [unclosed\nprocesses:\n  - { id: a\n",
        "processes:\n  - { id: a, command: [\"sleep\", \"1\"], restrat: always }\n",
        "processes:\n  - { id: a, command: [\"sleep\", \"1\"], grace_period: 10x }\n",
        "processes:\n  - { id: \"bad id!\", command: [] }\n",
    ]
}
