import ProcmgrAgent
import Testing

/// The rolling-restart policy alone: which replicas are released when, given what is observed.
struct RollingUpdateTests {
    typealias Observation = RollingUpdate.Observation

    static func ready(_ ids: [String]) -> [Observation] {
        ids.map { Observation(id: $0, onNewConfig: false, ready: true) }
    }

    @Test("one at a time: the next replica is released only when the previous runs the new config and is ready")
    func oneAtATime() {
        var rollout = RollingUpdate(replicas: Self.ready(["w.0", "w.1", "w.2"]), maxUnavailable: 1)
        #expect(rollout.next() == ["w.0"])
        #expect(rollout.next() == [])
        // Stopped, then running the new config but not ready yet: still unavailable.
        rollout.observe(Observation(id: "w.0", onNewConfig: false, ready: false))
        #expect(rollout.next() == [])
        rollout.observe(Observation(id: "w.0", onNewConfig: true, ready: false))
        #expect(rollout.next() == [])
        rollout.observe(Observation(id: "w.0", onNewConfig: true, ready: true))
        #expect(rollout.next() == ["w.1"])
        rollout.observe(Observation(id: "w.1", onNewConfig: true, ready: true))
        #expect(rollout.next() == ["w.2"])
        #expect(!rollout.isComplete)
        rollout.observe(Observation(id: "w.2", onNewConfig: true, ready: true))
        #expect(rollout.next() == [])
        #expect(rollout.isComplete)
        #expect(rollout.updatedCount == 3)
    }

    @Test("a replica observed ready on the old config after its release still counts as unavailable")
    func releasedButStillOldIsUnavailable() {
        var rollout = RollingUpdate(replicas: Self.ready(["w.0", "w.1"]), maxUnavailable: 1)
        #expect(rollout.next() == ["w.0"])
        rollout.observe(Observation(id: "w.0", onNewConfig: false, ready: true))
        #expect(rollout.next() == [])
    }

    @Test("max_unavailable 2 releases two at once")
    func maxUnavailableTwo() {
        var rollout = RollingUpdate(replicas: Self.ready(["w.0", "w.1", "w.2", "w.3"]), maxUnavailable: 2)
        #expect(rollout.next() == ["w.0", "w.1"])
        rollout.observe(Observation(id: "w.1", onNewConfig: true, ready: true))
        #expect(rollout.next() == ["w.2"])
    }

    @Test("a replica down on the old config is updated at once; one down for its own reasons uses the budget")
    func unreadyReplicas() {
        var rollout = RollingUpdate(replicas: [
            Observation(id: "w.0", onNewConfig: false, ready: true),
            Observation(id: "w.1", onNewConfig: false, ready: false),
            Observation(id: "w.2", onNewConfig: false, ready: true),
        ], maxUnavailable: 1)
        #expect(rollout.next() == ["w.1"])
        rollout.observe(Observation(id: "w.1", onNewConfig: true, ready: true))
        #expect(rollout.next() == ["w.0"])
        // w.2 crashes (not part of the rollout's doing) while w.0 is updating: only w.2 may go.
        rollout.observe(Observation(id: "w.2", onNewConfig: false, ready: false))
        #expect(rollout.next() == ["w.2"])
        rollout.observe(Observation(id: "w.0", onNewConfig: true, ready: true))
        rollout.observe(Observation(id: "w.2", onNewConfig: true, ready: true))
        #expect(rollout.isComplete)
    }

    @Test("a replica on the new config that becomes unready holds the rollout back")
    func updatedReplicaUnreadyHoldsBack() {
        var rollout = RollingUpdate(replicas: [
            Observation(id: "w.0", onNewConfig: true, ready: false),
            Observation(id: "w.1", onNewConfig: false, ready: true),
        ], maxUnavailable: 1)
        #expect(rollout.next() == [])
        rollout.observe(Observation(id: "w.0", onNewConfig: true, ready: true))
        #expect(rollout.next() == ["w.1"])
    }

    @Test("a newer config mid-rollout: replicas already on it are not restarted again")
    func restartedRollout() {
        var rollout = RollingUpdate(replicas: [
            Observation(id: "w.0", onNewConfig: true, ready: true),
            Observation(id: "w.1", onNewConfig: false, ready: true),
            Observation(id: "w.2", onNewConfig: false, ready: true),
        ], maxUnavailable: 1)
        #expect(rollout.next() == ["w.1"])
    }

    @Test("a replica scaled away mid-rollout is dropped from it and frees its place")
    func removedMidRollout() {
        var rollout = RollingUpdate(replicas: Self.ready(["w.0", "w.1", "w.2"]), maxUnavailable: 1)
        #expect(rollout.next() == ["w.0"])
        rollout.remove("w.0")
        #expect(rollout.next() == ["w.1"])
        rollout.remove("w.2")
        rollout.observe(Observation(id: "w.1", onNewConfig: true, ready: true))
        #expect(rollout.isComplete)
        #expect(rollout.replicaCount == 1)
    }

    @Test("max_unavailable below 1 counts as 1; unknown ids are ignored")
    func clampsAndIgnores() {
        var rollout = RollingUpdate(replicas: Self.ready(["w.0", "w.1"]), maxUnavailable: 0)
        #expect(rollout.maxUnavailable == 1)
        rollout.observe(Observation(id: "other", onNewConfig: true, ready: true))
        #expect(rollout.next() == ["w.0"])
        #expect(!rollout.contains("other"))
    }

    @Test("never fewer than count - max_unavailable ready replicas, over every release order")
    func availabilityInvariant() {
        for count in 2...5 {
            for maxUnavailable in 1..<count {
                var rollout = RollingUpdate(replicas: Self.ready((0..<count).map { "w.\($0)" }), maxUnavailable: maxUnavailable)
                var readyCount = count
                var inFlight: [String] = []
                var steps = 0
                while !rollout.isComplete, steps < 100 {
                    steps += 1
                    let released = rollout.next()
                    readyCount -= released.count
                    #expect(readyCount >= count - maxUnavailable)
                    inFlight += released
                    guard let done = inFlight.popLast() else { break }
                    rollout.observe(Observation(id: done, onNewConfig: true, ready: true))
                    readyCount += 1
                }
                #expect(rollout.isComplete)
            }
        }
    }
}
