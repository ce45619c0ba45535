import Foundation
@testable import ProcmgrConfig

/// Shared helpers: parse inline documents and get either the model or the
/// rendered problem lines.
enum Support {
    /// Parses `text` (YAML unless told otherwise) with no base directory.
    static func load(_ text: String, format: ConfigFormat = .yaml, base: String? = nil) throws(ConfigError) -> AgentConfig {
        try ConfigLoader.parse(data: Data(text.utf8), format: format, baseDirectory: base)
    }

    /// The problem lines for `text`; empty when it is valid.
    static func problems(_ text: String, format: ConfigFormat = .yaml) -> [String] {
        do {
            _ = try load(text, format: format)
            return []
        } catch {
            return error.lines
        }
    }

    /// A one-process document whose process has `id: p`, `command: [run]`
    /// plus the given extra YAML lines (already indented by the caller or
    /// not — each line gets four spaces).
    static func process(_ extra: String...) -> String {
        (["processes:", "  - id: p", "    command: [run]"] + extra.map { "    " + $0 }).joined(separator: "\n")
    }

    /// The single process of a valid one-process document.
    static func spec(_ extra: String...) throws -> ProcessSpec {
        let text = (["processes:", "  - id: p", "    command: [run]"] + extra.map { "    " + $0 }).joined(separator: "\n")
        return try load(text).processes[0]
    }

    /// A temporary directory removed when `body` returns.
    static func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("procmgr-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}
