@testable import ProcmgrHTTP
import Hummingbird
import Testing

@Suite("Route matching")
struct RouteTableTests {
    let table = RouteTable([
        .init(method: .get, template: "/metrics"),
        .init(method: .get, template: "/api/v1/processes/{id}"),
        .init(method: .get, template: "/api/v1/processes/{id}/logs"),
        .init(method: .post, template: "/api/v1/processes/{id}/restart"),
    ])

    @Test func matchesTemplates() {
        #expect(table.match(method: .get, path: "/metrics") == .handled(template: "/metrics"))
        #expect(table.match(method: .get, path: "/metrics/") == .handled(template: "/metrics"))
        #expect(table.match(method: .get, path: "/api/v1/processes/api-1") == .handled(template: "/api/v1/processes/{id}"))
        #expect(table.match(method: .get, path: "/api/v1/processes/api-1/logs") == .handled(template: "/api/v1/processes/{id}/logs"))
    }

    @Test func wrongMethodNamesTheAllowedOnes() {
        #expect(table.match(method: .delete, path: "/metrics") == .methodNotAllowed(template: "/metrics", allowed: [.get, .head]))
        #expect(table.match(method: .get, path: "/api/v1/processes/x/restart")
            == .methodNotAllowed(template: "/api/v1/processes/{id}/restart", allowed: [.post]))
    }

    @Test("HEAD matches every GET route and no other")
    func headMatchesGetRoutes() {
        #expect(table.match(method: .head, path: "/metrics") == .handled(template: "/metrics"))
        #expect(table.match(method: .head, path: "/api/v1/processes/api-1/logs") == .handled(template: "/api/v1/processes/{id}/logs"))
        #expect(table.match(method: .head, path: "/api/v1/processes/x/restart")
            == .methodNotAllowed(template: "/api/v1/processes/{id}/restart", allowed: [.post]))
    }

    @Test func unknownPaths() {
        #expect(table.match(method: .get, path: "/") == .unknownPath)
        #expect(table.match(method: .get, path: "/metricsx") == .unknownPath)
        #expect(table.match(method: .get, path: "/api/v1/processes/a/b/c") == .unknownPath)
        #expect(table.match(method: .get, path: "/api/v1/processes") == .unknownPath)
    }
}
