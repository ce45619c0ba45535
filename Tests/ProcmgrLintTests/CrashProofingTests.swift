import Foundation
import Testing

/// The crash-proofing rule (README, "Contributor notes"): nothing from outside — a config, an API
/// request, a child's output, a file on disk — may crash the agent, and the agent's death would
/// take every managed process with it. So the shipped modules contain no `try!`, no `as!`, no
/// force unwrap or implicitly unwrapped optional, and no `fatalError`; a `precondition` or
/// `preconditionFailure` is allowed only for an internal invariant, with a `// invariant:` comment
/// on its line or the line above saying why no input can reach it.
///
/// The scan is textual (string literals and comments are blanked first), so it is conservative:
/// a false positive is fixed by rewriting the line, never by widening an allow-list.
@Suite("crash-proofing rule")
struct CrashProofingTests {
    /// Modules that run only under a developer's hand (benchmarks, test hosts, test kit) may trap.
    static let exemptModules: Set<String> = ["ProcmgrBenchmarks", "http-bench", "runtime-testhost", "ProcmgrTestKit"]

    @Test("no try!, as!, force unwrap or fatalError in shipped modules; preconditions say why")
    func shippedModulesCannotTrapOnInput() throws {
        var violations: [String] = []
        var filesScanned = 0
        for file in try Self.shippedSwiftFiles() {
            filesScanned += 1
            let text = try String(contentsOf: file, encoding: .utf8)
            violations += Self.violations(in: text, file: file.path.replacingOccurrences(of: Self.repository.path + "/", with: ""))
        }
        #expect(filesScanned > 50, "the scan found only \(filesScanned) files: is the repository layout different?")
        if !violations.isEmpty {
            Issue.record("crash-proofing rule broken (README, Contributor notes):\n\(violations.joined(separator: "\n"))")
        }
    }

    @Test("the scanner finds each forbidden form and ignores strings, comments and !=")
    func scannerDetectsEachForm() {
        let bad = """
        let a = try! decode()
        let b = value as! Int
        let c = dictionary[key]!.count
        let d = optional!
        var e: String!
        fatalError("boom")
        precondition(x > 0)
        """
        #expect(Self.violations(in: bad, file: "t").count == 7)
        let good = """
        let a = try decode() // try! in a comment
        let b = "try! and x! and fatalError( in a string"
        if a != b, !flag { }
        // invariant: the width is a compile-time constant
        precondition(width > 0)
        precondition(width > 0) // invariant: checked by the caller
        let s = \"\"\"
            word! inside a multi-line string
            \"\"\"
        """
        #expect(Self.violations(in: good, file: "t").isEmpty, "\(Self.violations(in: good, file: "t"))")
    }

    // MARK: - scanning

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func shippedSwiftFiles() throws -> [URL] {
        let sources = repository.appendingPathComponent("Sources")
        var files: [URL] = []
        for module in try FileManager.default.contentsOfDirectory(atPath: sources.path).sorted()
        where !exemptModules.contains(module) {
            guard let walker = FileManager.default.enumerator(atPath: sources.appendingPathComponent(module).path) else { continue }
            for case let relative as String in walker where relative.hasSuffix(".swift") {
                files.append(sources.appendingPathComponent(module).appendingPathComponent(relative))
            }
        }
        return files
    }

    static func violations(in text: String, file: String) -> [String] {
        var found: [String] = []
        var inMultilineString = false
        var previousLine = ""
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(rawLine)
            defer { previousLine = line }
            let quotes = line.components(separatedBy: "\"\"\"").count - 1
            if inMultilineString {
                if quotes % 2 == 1 { inMultilineString = false }
                continue
            }
            if quotes % 2 == 1 { inMultilineString = true }
            let code = codeOnly(line)
            let where_ = "\(file):\(index + 1): \(line.trimmingCharacters(in: .whitespaces))"
            if code.contains("try!") { found.append(where_ + "  [try!]") }
            if code.contains(" as! ") { found.append(where_ + "  [as!]") }
            if code.contains("fatalError(") { found.append(where_ + "  [fatalError]") }
            let withoutKeywords = code.replacingOccurrences(of: "try!", with: "").replacingOccurrences(of: " as! ", with: " ")
            if withoutKeywords.firstMatch(of: forceUnwrap) != nil { found.append(where_ + "  [force unwrap]") }
            if code.contains("precondition(") || code.contains("preconditionFailure(") {
                if !line.contains("// invariant:") && !previousLine.contains("// invariant:") {
                    found.append(where_ + "  [precondition without an // invariant: comment]")
                }
            }
        }
        return found
    }

    /// A `!` right after an identifier, `)` or `]` that is not the start of `!=`.
    nonisolated(unsafe) static let forceUnwrap = /[A-Za-z0-9_\)\]>]!(?!=)/

    /// The line with string literals emptied and a trailing `//` comment removed.
    static func codeOnly(_ line: String) -> String {
        var result = ""
        var inString = false
        var escaped = false
        var previous: Character = " "
        for character in line {
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false; result.append("\"") }
                continue
            }
            if character == "\"" { inString = true; result.append("\""); continue }
            if character == "/" && previous == "/" { result.removeLast(); break }
            result.append(character)
            previous = character
        }
        return result
    }
}
