import Testing
@testable import ProcmgrConfig

@Suite("Replica expansion")
struct ReplicaTests {
    @Test("a replica gets its id, ${REPLICA} in command, env and working_dir, and keeps ${PORT} and escapes")
    func expansion() throws {
        let spec = try Support.load("""
        processes:
          - id: web
            command: [serve, "--index=${REPLICA}", "--port=${PORT}", "$${REPLICA}", "a$${b"]
            env: { SHARD: "s${REPLICA}", LITERAL: "$${REPLICA}", OTHER: "${HOME}" }
            working_dir: /srv/web-${REPLICA}
            port: auto
            replicas: 3
        """).processes[0]
        let replica = spec.replica(2)
        #expect(replica.id == "web.2")
        #expect(replica.replicaOf == "web" && replica.replicaIndex == 2 && replica.replicas == nil)
        #expect(replica.command == ["serve", "--index=2", "--port=${PORT}", "$${REPLICA}", "a$${b"])
        #expect(replica.resolvedCommand(port: 30001) == ["serve", "--index=2", "--port=30001", "${REPLICA}", "a${b"])
        #expect(replica.env == ["SHARD": "s2", "LITERAL": "${REPLICA}", "OTHER": "${HOME}"])
        #expect(replica.workingDir == "/srv/web-2")
        #expect(spec.replicaOf == nil && spec.replicaIndex == nil)
    }

    @Test("replicas of one spec differ only in what makes them replicas")
    func replicasDiffer() throws {
        let spec = try Support.spec("replicas: 2", "port: auto")
        #expect(spec.replica(0) != spec.replica(1))
        #expect(spec.replica(0) == spec.replica(0))
        var unrelated = spec.replica(1)
        unrelated.id = "p.0"
        unrelated.replicaIndex = 0
        #expect(unrelated == spec.replica(0))
    }
}
