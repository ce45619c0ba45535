/// A strict reader of the Prometheus text format 0.0.4, only as much as the fuzz harness
/// needs to prove the registry's output is well formed: it returns the HELP text and the
/// label values of every sample per family, unescaped, or the first thing that is wrong.
struct ExpositionChecker {
    var help: [String: String] = [:]
    /// Family (a sample's name without `_bucket`/`_sum`/`_count`) → label values of each
    /// sample, in label order, without `le`.
    var labelValues: [String: [[String]]] = [:]

    static func parse(_ text: String) -> Result<ExpositionChecker, Problem> {
        var checker = ExpositionChecker()
        guard text.isEmpty || text.hasSuffix("\n") else { return .failure(Problem("no final newline")) }
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
            let bytes = Array(line)
            do {
                try checker.read(line: bytes)
            } catch {
                return .failure(Problem("\(error.reason) in line \(String(decoding: bytes, as: UTF8.self).debugDescription)"))
            }
        }
        return .success(checker)
    }

    struct Problem: Error, CustomStringConvertible {
        var reason: String
        init(_ reason: String) { self.reason = reason }
        var description: String { reason }
    }

    private mutating func read(line: [UInt8]) throws(Problem) {
        if line.starts(with: Array("# HELP ".utf8)) {
            var rest = line.dropFirst(7)
            let name = try Self.metricName(&rest)
            guard rest.first == UInt8(ascii: " ") else { throw Problem("HELP without text") }
            help[name] = try Self.unescape(rest.dropFirst(), quotes: false)
        } else if line.starts(with: Array("# TYPE ".utf8)) {
            var rest = line.dropFirst(7)
            _ = try Self.metricName(&rest)
            let type = String(decoding: rest, as: UTF8.self)
            guard [" counter", " gauge", " histogram", " summary", " untyped"].contains(type) else {
                throw Problem("bad TYPE \(type)")
            }
        } else {
            var rest = line[...]
            var name = try Self.metricName(&rest)
            var values: [String] = []
            if rest.first == UInt8(ascii: "{") {
                rest = rest.dropFirst()
                while rest.first != UInt8(ascii: "}") {
                    let label = try Self.metricName(&rest)
                    guard rest.first == UInt8(ascii: "=") else { throw Problem("label without =") }
                    rest = rest.dropFirst()
                    let value = try Self.quoted(&rest)
                    if label != "le" { values.append(value) }
                    if rest.first == UInt8(ascii: ",") { rest = rest.dropFirst() }
                    guard !rest.isEmpty else { throw Problem("unterminated label block") }
                }
                rest = rest.dropFirst()
            }
            guard rest.first == UInt8(ascii: " "), rest.count > 1 else { throw Problem("sample without value") }
            let value = String(decoding: rest.dropFirst(), as: UTF8.self)
            guard Double(value) != nil || ["+Inf", "-Inf", "NaN"].contains(value) else {
                throw Problem("bad sample value \(value)")
            }
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) && help[name] == nil {
                name.removeLast(suffix.count)
            }
            guard help[name] != nil else { throw Problem("sample of \(name) before its HELP") }
            if labelValues[name, default: []].last != values { labelValues[name, default: []].append(values) }
        }
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, consumed from the front.
    private static func metricName(_ rest: inout ArraySlice<UInt8>) throws(Problem) -> String {
        func isStart(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == UInt8(ascii: "_") || b == UInt8(ascii: ":")
        }
        guard let first = rest.first, isStart(first) else { throw Problem("bad name start") }
        let end = rest.firstIndex { !(isStart($0) || ($0 >= 0x30 && $0 <= 0x39)) } ?? rest.endIndex
        let name = String(decoding: rest[..<end], as: UTF8.self)
        rest = rest[end...]
        return name
    }

    /// A `"…"` label value, consumed from the front, unescaped.
    private static func quoted(_ rest: inout ArraySlice<UInt8>) throws(Problem) -> String {
        guard rest.first == UInt8(ascii: "\"") else { throw Problem("label value not quoted") }
        var index = rest.index(after: rest.startIndex)
        while index < rest.endIndex, rest[index] != UInt8(ascii: "\"") {
            index += rest[index] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard index < rest.endIndex else { throw Problem("unterminated label value") }
        let value = try unescape(rest[(rest.startIndex + 1)..<index], quotes: true)
        rest = rest[(index + 1)...]
        return value
    }

    /// Only `\\`, `\n` (and in label values `\"`) are escapes; a lone backslash is an error.
    private static func unescape(_ bytes: ArraySlice<UInt8>, quotes: Bool) throws(Problem) -> String {
        var out: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                let next = index + 1
                guard next < bytes.endIndex else { throw Problem("trailing backslash") }
                switch bytes[next] {
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "\"") where quotes: out.append(UInt8(ascii: "\""))
                default: throw Problem("unknown escape \\\(Character(Unicode.Scalar(bytes[next])))")
                }
                index += 2
            } else {
                guard byte != 0x0A else { throw Problem("raw newline") }
                if quotes { guard byte != UInt8(ascii: "\"") else { throw Problem("raw quote") } }
                out.append(byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
