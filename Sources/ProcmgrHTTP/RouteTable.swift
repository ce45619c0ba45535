import Hummingbird

/// The API's routes as data: template and methods.
///
/// Hummingbird's router answers an unknown method with 404; the contract wants
/// 405 with `Allow`. So the responder first matches the path against this
/// table itself: no template → 404, template but not this method → 405, and
/// the template becomes the `handler` metrics label. The same table feeds the
/// router, so the two cannot disagree about which routes exist.
struct RouteTable: Sendable {
    struct Route: Sendable {
        let method: HTTPRequest.Method
        /// Hummingbird path syntax; `{name}` captures one segment.
        let template: String
    }

    enum Match: Equatable {
        case handled(template: String)
        case methodNotAllowed(template: String, allowed: [HTTPRequest.Method])
        case unknownPath
    }

    let routes: [Route]
    private let patterns: [(template: String, segments: [Segment])]

    private enum Segment: Equatable {
        case literal(Substring)
        case capture
    }

    init(_ routes: [Route]) {
        self.routes = routes
        var patterns: [(String, [Segment])] = []
        for route in routes where !patterns.contains(where: { $0.0 == route.template }) {
            let segments = Self.segments(route.template).map { part -> Segment in
                part.hasPrefix("{") && part.hasSuffix("}") ? .capture : .literal(part)
            }
            patterns.append((route.template, segments))
        }
        self.patterns = patterns
    }

    func match(method: HTTPRequest.Method, path: String) -> Match {
        let parts = Self.segments(path)
        guard let pattern = patterns.first(where: { Self.matches(parts, $0.segments) }) else {
            return .unknownPath
        }
        var allowed = routes.filter { $0.template == pattern.template }.map(\.method)
        // Every GET route answers HEAD too (RFC 9110 §9.3.2): the responder runs it as a GET and
        // sends the head alone.
        if allowed.contains(.get) { allowed.append(.head) }
        guard allowed.contains(method) else {
            return .methodNotAllowed(template: pattern.template, allowed: allowed)
        }
        return .handled(template: pattern.template)
    }

    /// Path segments without empty ones, the way Hummingbird's trie splits
    /// (so `/healthz/` and `//healthz` match `/healthz` in both).
    private static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/")
    }

    private static func matches(_ parts: [Substring], _ pattern: [Segment]) -> Bool {
        guard parts.count == pattern.count else { return false }
        return zip(parts, pattern).allSatisfy { part, segment in
            switch segment {
            case .capture: return true
            case .literal(let literal): return part == literal
            }
        }
    }
}
