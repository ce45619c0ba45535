import Foundation

extension Problems {
    /// An `http`/`https` URL with a host (the admin service, etcd endpoints, `api_url`).
    mutating func httpURL(_ node: ConfigNode) -> URL? {
        guard let text = string(node) else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else {
            add(node, "\(node) is not an http(s) URL")
            return nil
        }
        return url
    }
}
