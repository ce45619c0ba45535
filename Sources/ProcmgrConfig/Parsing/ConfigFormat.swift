public import Foundation

/// The two syntaxes a configuration document may use. They share one schema;
/// only the reader differs.
public enum ConfigFormat: String, Sendable, Hashable, CaseIterable {
    case yaml
    case json

    /// The format named by a file's extension (`.json`, `.yaml`, `.yml`,
    /// case-insensitive), or `nil` when the extension says nothing.
    public static func fromExtension(of path: String) -> ConfigFormat? {
        switch (path as NSString).pathExtension.lowercased() {
        case "json": .json
        case "yaml", "yml": .yaml
        default: nil
        }
    }

    /// Guesses from content: text whose first significant character opens a
    /// JSON object or array is JSON, anything else YAML. Used only when the
    /// extension is unknown; a `{`-led text that is not valid JSON is retried
    /// as YAML by the document reader.
    public static func sniff(_ data: Data) -> ConfigFormat {
        for byte in data {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF: continue  // whitespace, UTF-8 BOM
            case UInt8(ascii: "{"), UInt8(ascii: "["): return .json
            default: return .yaml
            }
        }
        return .yaml
    }
}
