/// Parses an `env_file:` — the `KEY=VALUE` format of systemd's `EnvironmentFile=`, Docker's
/// `--env-file` and dotenv, restricted to what all of them read the same way:
///
/// - blank lines and lines whose first non-blank character is `#` are skipped;
/// - `export ` before the key is accepted (so the file can also be `source`d by a shell);
/// - the key is `[A-Za-z_][A-Za-z0-9_]*`; blanks around `=` are allowed;
/// - `'single quoted'` values are literal; `"double quoted"` ones understand `\"`, `\\` and
///   `\n` (any other backslash is kept as written); after the closing quote only blanks or a
///   `# comment` may follow;
/// - an unquoted value is the rest of the line with surrounding blanks trimmed, `#` included
///   (a password may contain one);
/// - a later line for the same key wins.
///
/// Quoted values cannot span lines: an unterminated quote is an error at its line rather than a
/// value that silently swallows the rest of the file.
///
/// Bounded: the reader caps the file at `maxBytes`, and the parser stops at `maxLines`, so a
/// wrong path (a log file, a device) costs little. Every bad line is reported (up to
/// `maxProblems`), each with its 1-based line number.
public enum EnvFileParser {
    /// The largest env file read.
    public static let maxBytes = 1 << 20
    /// The most lines parsed.
    public static let maxLines = 100_000
    /// The most bad lines reported per file; one more problem says that more were left out.
    public static let maxProblems = 10

    /// One bad line: `line` is 1-based; 0 for a problem with the whole file.
    public struct Failure: Sendable, Hashable {
        public var line: Int
        public var message: String
    }

    public struct Variable: Sendable, Hashable {
        public var key: String
        public var value: String
        public var line: Int
    }

    /// The variables in file order and every bad line; the file is usable when `failures` is empty.
    public static func parse(_ bytes: some Collection<UInt8>) -> (variables: [Variable], failures: [Failure]) {
        var variables: [Variable] = []
        var failures: [Failure] = []
        var number = 0
        for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            if number > maxLines, !rawLine.isEmpty {
                failures.append(Failure(line: number, message: "more than \(maxLines) lines"))
                break
            }
            var lineBytes = Array(rawLine)
            if lineBytes.last == UInt8(ascii: "\r") { lineBytes.removeLast() }
            switch parseLine(lineBytes) {
            case .skip: continue
            case .variable(let key, let value): variables.append(Variable(key: key, value: value, line: number))
            case .failure(let message):
                if failures.count == maxProblems {
                    failures.append(Failure(line: number, message: "more bad lines not shown"))
                    return (variables, failures)
                }
                failures.append(Failure(line: number, message: message))
            }
        }
        return (variables, failures)
    }

    private enum Line: Equatable {
        case skip
        case variable(String, String)
        case failure(String)
    }

    private static func parseLine(_ bytes: [UInt8]) -> Line {
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure("is not UTF-8 text") }
        if text.contains("\0") { return .failure("contains a NUL byte") }
        var rest = Substring(text).drop { $0 == " " || $0 == "\t" }
        if rest.isEmpty || rest.first == "#" { return .skip }
        if rest.hasPrefix("export ") || rest.hasPrefix("export\t"), rest.contains("=") {
            rest = rest.dropFirst("export".count).drop { $0 == " " || $0 == "\t" }
        }
        guard let equals = rest.firstIndex(of: "=") else { return .failure("expected KEY=VALUE") }
        let key = String(rest[..<equals].reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        guard isValidKey(key) else {
            return .failure("\(quoted(key)) is not a variable name ([A-Za-z_][A-Za-z0-9_]*)")
        }
        let raw = rest[rest.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
        switch raw.first {
        case "'": return quotedValue(raw.dropFirst(), quote: "'", key: key)
        case "\"": return quotedValue(raw.dropFirst(), quote: "\"", key: key)
        default: return .variable(key, String(raw.reversed().drop { $0 == " " || $0 == "\t" }.reversed()))
        }
    }

    /// The value after an opening quote: single quotes literal, double quotes with escapes.
    private static func quotedValue(_ text: Substring, quote: Character, key: String) -> Line {
        var value = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == quote {
                let after = text[text.index(after: index)...].drop { $0 == " " || $0 == "\t" }
                guard after.isEmpty || after.first == "#" else {
                    return .failure("unexpected \(quoted(String(after))) after the closing quote of \(key)")
                }
                return .variable(key, value)
            }
            if quote == "\"", character == "\\", text.index(after: index) < text.endIndex {
                let next = text[text.index(after: index)]
                switch next {
                case "\"", "\\": value.append(next)
                case "n": value.append("\n")
                default: value.append(contentsOf: [character, next])
                }
                index = text.index(index, offsetBy: 2)
                continue
            }
            value.append(character)
            index = text.index(after: index)
        }
        let name = quote == "'" ? "single" : "double"
        return .failure("unterminated \(name) quote in the value of \(key) (quoted values end on their line)")
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`: what a shell can export.
    public static func isValidKey(_ key: String) -> Bool {
        guard let first = key.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return key.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"): true
            default: false
            }
        }
    }

    private static func quoted(_ text: String) -> String { ConfigNode.quoted(text) }
}
