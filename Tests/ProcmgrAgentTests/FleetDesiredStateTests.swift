import Foundation
import ProcmgrConfig
@testable import ProcmgrAgent
import Testing

/// The desired-state value the etcd source keeps: what counts as a change, and its cache form.
@Suite struct FleetDesiredStateTests {
    static func entry(_ id: String, _ scope: FleetEntry.Scope = .node, value: String = #"{"command": ["sleep", "1"]}"#) -> FleetEntry {
        let key = scope == .node ? "/p/nodes/n1/processes/\(id)" : "/p/all/processes/\(id)"
        return FleetEntry(key: key, id: id, scope: scope, value: Array(value.utf8))
    }

    @Test("a put of the same bytes is no change; a delete of an unknown key neither")
    func changes() {
        var state = FleetDesiredState()
        state.replaceAll([Self.entry("a"), Self.entry("b", .all)])
        let samePut = state.put(Self.entry("a"))
        let changedPut = state.put(Self.entry("a", value: #"{"command": ["sleep", "2"]}"#))
        let unknownDelete = state.delete(key: "/p/nodes/n1/processes/zzz")
        let knownDelete = state.delete(key: "/p/all/processes/b")
        #expect(!samePut)
        #expect(changedPut)
        #expect(!unknownDelete)
        #expect(knownDelete)
        #expect(state.sortedEntries.map(\.id) == ["a"])
    }

    @Test("the cache round-trips the exact bytes; a damaged cache says what is wrong")
    func cache() throws {
        var state = FleetDesiredState()
        state.replaceAll([Self.entry("a"), Self.entry("b", .all, value: "not even json \u{0}")])
        let decoded = try FleetDesiredState.fromCache(state.cacheData()).get()
        #expect(decoded == state)
        guard case .failure(let failure) = FleetDesiredState.fromCache(Data("{\"revision\": 1}".utf8)) else {
            Issue.record("a document without entries was accepted")
            return
        }
        #expect(failure.description.contains("not a fleet cache document"))
        let bad = #"{"revision": 1, "entries": [{"key": "/k", "id": "k", "scope": "elsewhere", "value": ""}]}"#
        guard case .failure(let scopeFailure) = FleetDesiredState.fromCache(Data(bad.utf8)) else {
            Issue.record("an unknown scope was accepted")
            return
        }
        #expect(scopeFailure.description.contains("/k"))
    }

    @Test("key layout: a process id is exactly one segment under its collection")
    func keys() {
        let keys = FleetKeys(prefix: "/procmgr", node: "web-1")
        #expect(keys.nodeProcesses == "/procmgr/nodes/web-1/processes/")
        #expect(keys.agent == "/procmgr/agents/web-1")
        #expect(keys.status(of: "api") == "/procmgr/status/web-1/api")
        #expect(FleetKeys.id(of: "/procmgr/all/processes/api", under: keys.allProcesses) == "api")
        #expect(FleetKeys.id(of: "/procmgr/all/processes/api/extra", under: keys.allProcesses) == nil)
        #expect(FleetKeys.id(of: "/procmgr/all/processes/", under: keys.allProcesses) == nil)
    }
}
