/// The `${NAME}` syntax of command arguments. `$${` is an escaped literal
/// `${`; any other `$` is literal. Shared by validation (which rejects unknown
/// names and unterminated references up front) and by substitution (which can
/// then assume a well-formed template).
enum ArgumentTemplate {
    /// Variables that may be referenced: the assigned port, the replica index and the running procmgr binary.
    static let knownVariables: Set<String> = ["PORT", "REPLICA", "PROCMGR"]

    enum Piece: Equatable {
        case literal(String)
        case variable(String)
    }

    enum Failure: Error, Equatable {
        case unterminated
        case emptyName
    }

    static func parse(_ text: String) -> Result<[Piece], Failure> {
        var pieces: [Piece] = []
        var literal = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            literal += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("${") {
                literal += "${"  // "$${" → literal "${"
                rest = after.dropFirst(2)
            } else if after.hasPrefix("{") {
                guard let close = after.firstIndex(of: "}") else { return .failure(.unterminated) }
                let name = after[after.index(after: after.startIndex)..<close]
                guard !name.isEmpty else { return .failure(.emptyName) }
                if !literal.isEmpty { pieces.append(.literal(literal)) }
                literal = ""
                pieces.append(.variable(String(name)))
                rest = after[after.index(after: close)...]
            } else {
                literal += "$"
                rest = after
            }
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return .success(pieces)
    }

    /// `text` with `${name}` replaced by `value` and everything else kept as
    /// template text (other variables, and `$${` still escaped), so the
    /// result can be rendered again later. Malformed templates are returned unchanged.
    static func substitute(_ name: String, with value: String, in text: String) -> String {
        guard case .success(let pieces) = parse(text) else { return text }
        return pieces.map { piece in
            switch piece {
            case .literal(let literal): literal.replacingOccurrences(of: "${", with: "$${")
            case .variable(name): value.replacingOccurrences(of: "${", with: "$${")
            case .variable(let other): "${\(other)}"
            }
        }.joined()
    }

    /// `text` with each variable replaced by `values[name]` (empty if absent).
    /// Malformed templates — which validation never lets through — are
    /// returned unchanged.
    static func render(_ text: String, values: [String: String]) -> String {
        guard case .success(let pieces) = parse(text) else { return text }
        return pieces.map { piece in
            switch piece {
            case .literal(let literal): literal
            case .variable(let name): values[name] ?? ""
            }
        }.joined()
    }
}
