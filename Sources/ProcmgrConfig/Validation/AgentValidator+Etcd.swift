import Foundation

/// `agent.etcd`: the fleet's desired-state source (SPEC §3.6). Every rule here guards a key
/// name or a connection setting that would otherwise fail only once the agent talks to etcd,
/// far from the line that caused it.
extension AgentValidator {
    static let etcdKeys = ["endpoints", "prefix", "node", "lease_ttl", "username", "password_file", "tls", "cache_file", "api_url"]
    /// More endpoints than any cluster has members: each is tried in turn on every failure.
    static let maxEtcdEndpoints = 32
    static let maxPrefixBytes = 256
    static let leaseTTLRange: ClosedRange<Duration> = .seconds(2) ... .seconds(3600)

    func etcd(_ node: ConfigNode, stateDir: String, problems: inout Problems) -> EtcdSourceSpec? {
        guard let fields = Fields(node, allowed: Self.etcdKeys, problems: &problems) else { return nil }
        let before = problems.count
        let tls = fields["tls"].flatMap { tlsFiles($0, problems: &problems) }
        let endpoints = fields.required("endpoints", enforce: true, problems: &problems)
            .flatMap { self.endpoints($0, tls: fields["tls"] != nil, problems: &problems) }
        let prefix: String? = if let node = fields["prefix"] { self.prefix(node, problems: &problems) } else { ConfigDefaults.etcdPrefix }
        let nodeName = self.nodeName(fields["node"], path: fields.path(of: "node"), problems: &problems)
        let leaseTTL: Duration? = if let node = fields["lease_ttl"] {
            self.leaseTTL(node, problems: &problems)
        } else {
            ConfigDefaults.etcdLeaseTTL
        }
        let username = fields["username"].flatMap { nonEmptyString($0, problems: &problems) }
        let passwordFile = fields["password_file"].flatMap { problems.pathString($0) }.map(resolve)
        if let usernameNode = fields["username"], fields["password_file"] == nil {
            problems.add(usernameNode, "requires agent.etcd.password_file (the file holding the user's password)")
        }
        if let passwordNode = fields["password_file"], fields["username"] == nil {
            problems.add(passwordNode, "requires agent.etcd.username")
        }
        let cacheFile = fields["cache_file"].flatMap { problems.pathString($0) }.map(resolve)
            ?? PathResolver.normalize(stateDir + "/" + ConfigDefaults.fleetCacheFileName)
        let advertiseURL = fields["api_url"].flatMap { problems.httpURL($0) }

        guard problems.count == before, let endpoints, let prefix, let nodeName, let leaseTTL else { return nil }
        return EtcdSourceSpec(endpoints: endpoints, prefix: prefix, node: nodeName, leaseTTL: leaseTTL, username: username,
                              passwordFile: passwordFile, tls: tls, cacheFile: cacheFile, advertiseURL: advertiseURL)
    }

    /// A non-empty list of `scheme://host:port` URLs; `https` only when TLS is configured.
    private func endpoints(_ node: ConfigNode, tls: Bool, problems: inout Problems) -> [URL]? {
        guard let elements = node.elements else {
            problems.add(node, "expected a list of etcd URLs (e.g. [\"http://127.0.0.1:2379\"]), got \(node.kindDescription)")
            return nil
        }
        guard !elements.isEmpty else {
            problems.add(node, "must list at least one etcd URL (e.g. [\"http://127.0.0.1:2379\"])")
            return nil
        }
        guard elements.count <= Self.maxEtcdEndpoints else {
            problems.add(node, "lists \(elements.count) endpoints, over the limit of \(Self.maxEtcdEndpoints)")
            return nil
        }
        let before = problems.count
        let urls = elements.compactMap { element -> URL? in
            guard let url = problems.httpURL(element) else { return nil }
            guard url.port != nil else {
                problems.add(element, "\(element) has no port (etcd's client port is usually 2379)")
                return nil
            }
            guard url.user == nil, url.password == nil, url.query == nil, url.fragment == nil, url.path.isEmpty || url.path == "/" else {
                problems.add(element, "\(element) must be scheme://host:port only (credentials go in username and password_file)")
                return nil
            }
            if tls, url.scheme?.lowercased() != "https" {
                problems.add(element, "\(element) is not https, but agent.etcd.tls is set (use https:// or remove tls)")
                return nil
            }
            // `http://a:2379/` means `http://a:2379`: the client appends `/v3/...` to it.
            return url.path == "/" ? URL(string: String(url.absoluteString.dropLast())) ?? url : url
        }
        return problems.count == before ? urls : nil
    }

    /// The key prefix: `/procmgr`, `/prod/procmgr`; printable ASCII, no empty segment.
    private func prefix(_ node: ConfigNode, problems: inout Problems) -> String? {
        guard let prefix = problems.string(node) else { return nil }
        let message: String? = if !prefix.hasPrefix("/") {
            "\(node) must start with \"/\" (e.g. \(ConfigDefaults.etcdPrefix))"
        } else if prefix.hasSuffix("/") {
            "\(node) must not end with \"/\" (the keys below it add their own)"
        } else if prefix.contains("//") {
            "\(node) contains \"//\" (an empty key segment)"
        } else if !prefix.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
            "\(node) must be printable ASCII without spaces"
        } else if prefix.utf8.count > Self.maxPrefixBytes {
            "is \(prefix.utf8.count) bytes, over the limit of \(Self.maxPrefixBytes)"
        } else {
            nil
        }
        if let message { problems.add(node, message) }
        return message == nil ? prefix : nil
    }

    /// `node`, else the host name; either must be usable as one etcd key segment.
    private func nodeName(_ node: ConfigNode?, path: ConfigPath, problems: inout Problems) -> String? {
        if let node {
            guard let name = problems.string(node) else { return nil }
            guard Self.isNodeName(name) else {
                problems.add(node, "\(node) is not a node name (1-253 characters of A-Z a-z 0-9 . _ -)")
                return nil
            }
            return name
        }
        guard let name = hostName() else {
            problems.add(path, "the host name cannot be read; set agent.etcd.node")
            return nil
        }
        guard Self.isNodeName(name) else {
            problems.add(path, "the host name \(ConfigNode.quoted(name)) is not a node name (1-253 characters of A-Z a-z 0-9 . _ -); "
                         + "set agent.etcd.node")
            return nil
        }
        return name
    }

    static func isNodeName(_ name: String) -> Bool {
        (1...253).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }

    private func leaseTTL(_ node: ConfigNode, problems: inout Problems) -> Duration? {
        guard let ttl = problems.duration(node) else { return nil }
        guard Self.leaseTTLRange.contains(ttl) else {
            problems.add(node, "\(node) is not between \(DurationText.format(Self.leaseTTLRange.lowerBound)) "
                         + "and \(DurationText.format(Self.leaseTTLRange.upperBound))")
            return nil
        }
        return ttl
    }

    private func tlsFiles(_ node: ConfigNode, problems: inout Problems) -> EtcdTLSSpec? {
        guard let fields = Fields(node, allowed: ["ca_file", "cert_file", "key_file"], problems: &problems) else { return nil }
        let before = problems.count
        let spec = EtcdTLSSpec(caFile: fields["ca_file"].flatMap { problems.pathString($0) }.map(resolve),
                               certFile: fields["cert_file"].flatMap { problems.pathString($0) }.map(resolve),
                               keyFile: fields["key_file"].flatMap { problems.pathString($0) }.map(resolve))
        if let cert = fields["cert_file"], fields["key_file"] == nil {
            problems.add(cert, "requires agent.etcd.tls.key_file (a client certificate needs its key)")
        }
        if let key = fields["key_file"], fields["cert_file"] == nil {
            problems.add(key, "requires agent.etcd.tls.cert_file (a client key needs its certificate)")
        }
        return problems.count == before ? spec : nil
    }

    private func nonEmptyString(_ node: ConfigNode, problems: inout Problems) -> String? {
        guard let text = problems.string(node) else { return nil }
        if text.isEmpty {
            problems.add(node, "must not be empty")
            return nil
        }
        return text
    }
}
