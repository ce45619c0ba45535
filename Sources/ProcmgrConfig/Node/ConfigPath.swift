/// The location of a value inside a configuration document, rendered the way
/// problems are reported: `processes[3].port`, `agent.admin.url`, or — for a
/// value that came from the admin service — `admin:processes[3].port`.
///
/// Every `ConfigNode` carries the path it had in the document it was read
/// from. That is what keeps error paths meaningful after the admin service's
/// processes and the local overrides are merged into one tree: each field still
/// points at the document that actually supplied it.
public struct ConfigPath: Sendable, Hashable, CustomStringConvertible {
    /// One step from a container to one of its children.
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// Label of the document the value came from; `nil` for the local config
    /// file, `"admin"` for admin-service responses.
    public var document: String?
    /// Steps from the document root to the value.
    public var components: [Component]

    public init(document: String? = nil, components: [Component] = []) {
        self.document = document
        self.components = components
    }

    /// `true` for the document root itself.
    public var isRoot: Bool { components.isEmpty }

    public func appending(key: String) -> ConfigPath {
        ConfigPath(document: document, components: components + [.key(key)])
    }

    public func appending(index: Int) -> ConfigPath {
        ConfigPath(document: document, components: components + [.index(index)])
    }

    /// `processes[0].env.DEBUG`; keys that are not plain identifiers are quoted
    /// (`env["A B"]`) so the path stays unambiguous. The root renders as the
    /// document label alone (`admin`) or as an empty string for the local file.
    public var description: String {
        var text = ""
        for component in components {
            switch component {
            case .index(let index):
                text += "[\(index)]"
            case .key(let key) where ConfigPath.isPlainKey(key):
                text += text.isEmpty ? key : ".\(key)"
            case .key(let key):
                text += "[\(ConfigNode.quoted(key))]"
            }
        }
        guard let document else { return text }
        return text.isEmpty ? document : "\(document):\(text)"
    }

    private static func isPlainKey(_ key: String) -> Bool {
        !key.isEmpty && key.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", "-": true
            default: false
            }
        }
    }
}
