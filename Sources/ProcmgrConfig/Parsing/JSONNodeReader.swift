/// A small strict JSON (RFC 8259) reader producing `ConfigNode`s.
///
/// Hand-written instead of `JSONSerialization` because the schema needs what
/// that API hides: booleans told apart from numbers, integers from floats,
/// the line/column of every value and of syntax errors, and duplicate keys
/// (which `JSONSerialization` silently collapses) reported as problems.
///
/// It recurses once per nesting level, but checks `ReadLimits.maxDepth` and
/// `maxNodes` before each descent, so no document can take it deeper than
/// 64 frames.
struct JSONNodeReader {
    private let bytes: [UInt8]
    private let document: String?
    private var index = 0
    private var line = 1
    private var column = 1
    private var nodeCount = 0
    private var duplicateKeys: [ConfigProblem] = []

    private struct SyntaxError: Error {
        var message: String
        var location: SourceLocation
    }

    private init(bytes: [UInt8], document: String?) {
        self.bytes = bytes
        self.document = document
    }

    /// The document's root node, or `nil` when the text is only whitespace.
    static func read(_ text: String, document: String?) throws(ConfigError) -> ConfigNode? {
        var reader = JSONNodeReader(bytes: Array(text.utf8), document: document)
        let root = ConfigPath(document: document)
        do {
            reader.skipWhitespace()
            if reader.index == reader.bytes.count { return nil }
            let node = try reader.parseValue(path: root, depth: 0)
            reader.skipWhitespace()
            if reader.index != reader.bytes.count {
                throw reader.error("unexpected \(reader.describeCurrent()) after the document")
            }
            if !reader.duplicateKeys.isEmpty {
                throw ConfigError(code: .syntax, problems: reader.duplicateKeys)
            }
            return node
        } catch let error as SyntaxError {
            throw ConfigError(code: .syntax, problems: [
                ConfigProblem(path: root, message: "JSON syntax error at \(error.location): \(error.message)",
                              location: error.location),
            ])
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(code: .syntax, problems: [ConfigProblem(path: root, message: "JSON syntax error: \(error)")])
        }
    }

    // MARK: Values

    private mutating func parseValue(path: ConfigPath, depth: Int) throws -> ConfigNode {
        skipWhitespace()
        let location = here
        nodeCount += 1
        if depth >= ReadLimits.maxDepth { throw limit("nested deeper than \(ReadLimits.maxDepth) levels", path, location) }
        if nodeCount > ReadLimits.maxNodes { throw limit("document has more than \(ReadLimits.maxNodes) values", path, location) }
        guard let byte = current else { throw error("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(path: path, depth: depth)
        case UInt8(ascii: "["): return try parseArray(path: path, depth: depth)
        case UInt8(ascii: "\""): return ConfigNode(.string(try parseString()), path: path, location: location)
        case UInt8(ascii: "t"): try expectWord("true"); return ConfigNode(.bool(true), path: path, location: location, rawText: "true")
        case UInt8(ascii: "f"): try expectWord("false"); return ConfigNode(.bool(false), path: path, location: location, rawText: "false")
        case UInt8(ascii: "n"): try expectWord("null"); return ConfigNode(.null, path: path, location: location)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber(path: path)
        default: throw error("unexpected \(describeCurrent()), expected a value")
        }
    }

    private mutating func parseObject(path: ConfigPath, depth: Int) throws -> ConfigNode {
        let location = here
        advance()  // {
        var entries: [ConfigNode.Entry] = []
        var seen: [String: SourceLocation] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            advance()
            return ConfigNode(.mapping([]), path: path, location: location)
        }
        while true {
            skipWhitespace()
            let keyLocation = here
            guard current == UInt8(ascii: "\"") else { throw error("unexpected \(describeCurrent()), expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("unexpected \(describeCurrent()), expected ':' after key") }
            advance()
            let value = try parseValue(path: path.appending(key: key), depth: depth + 1)
            if let first = seen[key] {
                duplicateKeys.append(ConfigProblem(path: path.appending(key: key),
                                                   message: "duplicate key (first at \(first))", location: keyLocation))
            } else {
                seen[key] = keyLocation
                entries.append(.init(key: key, value: value))
            }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): advance()
            case UInt8(ascii: "}"): advance(); return ConfigNode(.mapping(entries), path: path, location: location)
            default: throw error("unexpected \(describeCurrent()), expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(path: ConfigPath, depth: Int) throws -> ConfigNode {
        let location = here
        advance()  // [
        var elements: [ConfigNode] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            advance()
            return ConfigNode(.sequence([]), path: path, location: location)
        }
        while true {
            elements.append(try parseValue(path: path.appending(index: elements.count), depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): advance()
            case UInt8(ascii: "]"): advance(); return ConfigNode(.sequence(elements), path: path, location: location)
            default: throw error("unexpected \(describeCurrent()), expected ',' or ']'")
            }
        }
    }

    private mutating func parseNumber(path: ConfigPath) throws -> ConfigNode {
        let location = here
        let start = index
        var isInteger = true
        if current == UInt8(ascii: "-") { advance() }
        if current == UInt8(ascii: "0") {
            advance()
        } else if let byte = current, isDigit(byte) {
            while let byte = current, isDigit(byte) { advance() }
        } else {
            throw error("invalid number, expected a digit")
        }
        if current == UInt8(ascii: ".") {
            isInteger = false
            advance()
            guard let byte = current, isDigit(byte) else { throw error("invalid number, expected a digit after '.'") }
            while let byte = current, isDigit(byte) { advance() }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            advance()
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { advance() }
            guard let byte = current, isDigit(byte) else { throw error("invalid number, expected a digit in the exponent") }
            while let byte = current, isDigit(byte) { advance() }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let int = Int(text) {
            return ConfigNode(.integer(int), path: path, location: location, rawText: text)
        }
        guard let double = Double(text) else { throw SyntaxError(message: "invalid number \(text)", location: location) }
        return ConfigNode(.float(double), path: path, location: location, rawText: text)
    }

    private mutating func parseString() throws -> String {
        advance()  // opening quote
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
            run.removeAll(keepingCapacity: true)
        }
        while true {
            guard let byte = current else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                advance()
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                flush()
                advance()
                scalars.append(try parseEscape())
            case 0x00..<0x20:
                throw error("control character in string (escape it)")
            default:
                run.append(byte)
                advance()
            }
        }
    }

    private mutating func parseEscape() throws -> Unicode.Scalar {
        guard let byte = current else { throw error("unterminated string") }
        advance()
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try parseHex4()
            if (0xD800..<0xDC00).contains(high) {
                guard current == UInt8(ascii: "\\") else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                advance()
                guard current == UInt8(ascii: "u") else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                advance()
                let low = try parseHex4()
                guard (0xDC00..<0xE000).contains(low),
                      let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                return scalar
            }
            guard let scalar = Unicode.Scalar(high) else { throw error("unpaired UTF-16 surrogate in \\u escape") }
            return scalar
        default:
            throw error("invalid escape \\\(Character(Unicode.Scalar(byte)))")
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current, let digit = hexValue(byte) else { throw error("expected 4 hex digits in \\u escape") }
            value = value * 16 + digit
            advance()
        }
        return value
    }

    private mutating func expectWord(_ word: String) throws {
        let start = here
        for expected in word.utf8 {
            guard current == expected else {
                throw SyntaxError(message: "invalid literal, expected \(word)", location: start)
            }
            advance()
        }
    }

    // MARK: Cursor

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }
    private var here: SourceLocation { SourceLocation(line: line, column: column) }

    private mutating func advance() {
        guard index < bytes.count else { return }
        let byte = bytes[index]
        index += 1
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {  // count Unicode scalars, not UTF-8 continuation bytes
            column += 1
        }
    }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { advance() }
    }

    private func error(_ message: String) -> SyntaxError { SyntaxError(message: message, location: here) }

    /// A broken `ReadLimits` bound, at the path of the value that broke it.
    private func limit(_ message: String, _ path: ConfigPath, _ location: SourceLocation) -> ConfigError {
        ConfigError(code: .limit, problems: [ConfigProblem(path: path, message: "\(message) (at \(location))", location: location)])
    }

    private func describeCurrent() -> String {
        guard let byte = current else { return "end of input" }
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
