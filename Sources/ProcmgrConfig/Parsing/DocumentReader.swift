import Foundation

/// Turns raw bytes into a `ConfigNode` tree: decodes UTF-8, picks the reader
/// for the format, and turns "nothing there" into a problem rather than a
/// silently empty configuration (an empty file is far more often a truncated
/// write than an intent to run nothing).
enum DocumentReader {
    /// - Parameters:
    ///   - format: the known format, or `nil` to guess from the content.
    ///   - document: label prefixed to every path (`"admin"`), `nil` for the
    ///     local file.
    static func read(_ data: Data, format: ConfigFormat?, document: String?) throws(ConfigError) -> ConfigNode {
        let root = ConfigPath(document: document)
        // Files are capped before they are read (`ConfigFileReader`); this
        // holds for bodies from anywhere else too.
        guard data.count <= ReadLimits.maxDocumentBytes else {
            throw ConfigError(code: .limit, problems: [ConfigProblem(
                path: root,
                message: "the document is \(data.count) bytes, over the limit of \(ReadLimits.describe(bytes: ReadLimits.maxDocumentBytes))")])
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw ConfigError(code: .unreadable, problems: [ConfigProblem(path: root, message: "is not valid UTF-8 text")])
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }

        let node: ConfigNode?
        switch format {
        case .json?:
            node = try JSONNodeReader.read(text, document: document)
        case .yaml?:
            node = try YAMLNodeReader.read(text, document: document)
        case nil where ConfigFormat.sniff(data) == .json:
            // Looks like JSON; a YAML flow mapping also starts with `{`, so
            // fall back to YAML before reporting the JSON error.
            do {
                node = try JSONNodeReader.read(text, document: document)
            } catch {
                // A document over a limit as JSON is over it as YAML too.
                if error.code == .limit { throw error }
                guard let yaml = try? YAMLNodeReader.read(text, document: document) else { throw error }
                node = yaml
            }
        case nil:
            node = try YAMLNodeReader.read(text, document: document)
        }
        guard let node else {
            throw ConfigError(code: .invalid, problems: [
                ConfigProblem(path: root, message: "the document is empty"),
            ])
        }
        return node
    }
}
