internal import CYaml

/// The limit check every YAML document passes before `Yams.compose` sees it.
///
/// Yams' composer recurses once per nesting level and copies alias targets
/// into place, so a 10 KB document of nested `[` overflows the stack (a
/// segfault: nothing can catch it) and a few lines of aliases expand into
/// billions of nodes. This pass walks libyaml's event stream instead, which is
/// flat: libyaml keeps its own nesting on the heap. It tracks the open
/// collections on an explicit stack, the expanded size and height of every
/// anchor, and stops at the first event that takes the document over
/// `ReadLimits.maxDepth` or `ReadLimits.maxNodes`, having looked at nothing
/// beyond it.
///
/// Depth counts like `YAMLNodeReader`: the root is at depth 0 and a node at
/// depth `maxDepth` is refused. Nodes count keys and values alike. Syntax
/// errors are left to the composer, which reports them with more context.
struct YAMLLimitScan {
    /// Why a document was refused: the problem's message, and where.
    struct Violation: Error {
        var message: String
        var path: [ConfigPath.Component]
        var location: SourceLocation
    }

    /// An anchored node, as an alias to it expands: how many nodes and how many levels.
    private struct Expansion {
        var nodes: Int
        var height: Int
    }

    /// An open sequence or mapping.
    private struct Frame {
        var isMapping: Bool
        /// This collection's place in its parent, `nil` for the root (or inside a complex key).
        var component: ConfigPath.Component?
        var anchor: String?
        /// `nodes` when the collection started, itself included.
        var nodesAtStart: Int
        /// Children seen so far (keys and values for a mapping).
        var children = 0
        /// The last scalar key of a mapping, naming the value that follows it.
        var key: String?
        var tallestChild = 0
    }

    private var stack: [Frame] = []
    private var anchors: [String: Expansion] = [:]
    private var nodes = 0

    /// Throws the first limit the document breaks.
    static func check(_ text: String) throws(Violation) {
        var text = text
        var scan = YAMLLimitScan()
        let result = text.withUTF8 { buffer -> Result<Void, Violation> in
            guard let base = buffer.baseAddress, !buffer.isEmpty else { return .success(()) }
            do throws(Violation) {
                try scan.run(base, count: buffer.count)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    private mutating func run(_ input: UnsafePointer<UInt8>, count: Int) throws(Violation) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw Violation(message: "YAML parser could not be initialised (out of memory)", path: [],
                            location: SourceLocation(line: 1, column: 1))
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, input, count)
        var event = yaml_event_t()
        while true {
            // A syntax error: the composer finds it again and reports it with its context.
            guard yaml_parser_parse(&parser, &event) == 1 else { return }
            defer { yaml_event_delete(&event) }
            let location = SourceLocation(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return
            case YAML_DOCUMENT_START_EVENT:
                anchors = [:]  // anchors are scoped to their document
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let key = isAtKey ? Self.string(scalar.value, length: scalar.length) : nil
                // A scalar key adds no level: the value after it is where depth is counted, as
                // `YAMLNodeReader` counts it.
                try enter(height: key == nil ? 1 : 0, added: 1, location: location, key: key)
                if let anchor = Self.string(event.data.scalar.anchor) {
                    anchors[anchor] = Expansion(nodes: 1, height: 1)
                }
            case YAML_ALIAS_EVENT:
                // Unknown aliases (and aliases to a collection still open) are the composer's
                // error to report; they expand to nothing here.
                let name = Self.string(event.data.alias.anchor)
                let expansion = name.flatMap { anchors[$0] } ?? Expansion(nodes: 0, height: 0)
                try enter(height: expansion.height, added: expansion.nodes, location: location)
            case YAML_SEQUENCE_START_EVENT:
                try open(isMapping: false, anchor: Self.string(event.data.sequence_start.anchor), location: location)
            case YAML_MAPPING_START_EVENT:
                try open(isMapping: true, anchor: Self.string(event.data.mapping_start.anchor), location: location)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                close()
            default:
                break
            }
        }
    }

    /// Accounts for a node arriving in the innermost open collection: `height` levels of it
    /// (1 for a scalar, an anchor's height for an alias) and `added` nodes. Returns its place.
    /// `key` is the text of a scalar in key position, naming the value that follows.
    @discardableResult
    private mutating func enter(height: Int, added: Int, location: SourceLocation, key: String? = nil)
        throws(Violation) -> ConfigPath.Component? {
        let component = place(key: key)
        let depth = stack.count
        if height > 0, depth + height - 1 >= ReadLimits.maxDepth {
            throw violation("nested deeper than \(ReadLimits.maxDepth) levels"
                            + (height > 1 ? " after expanding an alias" : ""), component, location)
        }
        let (total, overflow) = nodes.addingReportingOverflow(added)
        if overflow || total > ReadLimits.maxNodes {
            throw violation("document has more than \(ReadLimits.maxNodes) nodes (keys and values, after expanding aliases)",
                            component, location)
        }
        nodes = total
        if let last = stack.indices.last { stack[last].tallestChild = max(stack[last].tallestChild, height) }
        return component
    }

    private mutating func open(isMapping: Bool, anchor: String?, location: SourceLocation) throws(Violation) {
        let component = try enter(height: 1, added: 1, location: location)
        stack.append(Frame(isMapping: isMapping, component: component, anchor: anchor, nodesAtStart: nodes))
    }

    private mutating func close() {
        guard let frame = stack.popLast() else { return }
        let height = 1 + frame.tallestChild
        if let last = stack.indices.last { stack[last].tallestChild = max(stack[last].tallestChild, height) }
        if let anchor = frame.anchor {
            // `nodesAtStart` already counted the collection itself.
            anchors[anchor] = Expansion(nodes: nodes - frame.nodesAtStart + 1, height: height)
        }
    }

    /// Whether the next node is a mapping key.
    private var isAtKey: Bool {
        guard let frame = stack.last else { return false }
        return frame.isMapping && frame.children % 2 == 0
    }

    /// The place of the next node in the innermost open collection (`nil` for a key, which
    /// sits at its mapping's path), recording a key's text for the value that follows.
    private mutating func place(key: String?) -> ConfigPath.Component? {
        guard let last = stack.indices.last else { return nil }
        defer { stack[last].children += 1 }
        guard stack[last].isMapping else { return .index(stack[last].children) }
        if stack[last].children % 2 == 0 {
            stack[last].key = key
            return nil
        }
        return .key(stack[last].key ?? "?")
    }

    private func violation(_ message: String, _ component: ConfigPath.Component?, _ location: SourceLocation) -> Violation {
        var path = stack.compactMap(\.component)
        if let component { path.append(component) }
        return Violation(message: message, path: path, location: location)
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?, length: Int) -> String? {
        guard let pointer else { return nil }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}
