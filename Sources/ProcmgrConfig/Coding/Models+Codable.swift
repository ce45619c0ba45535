/// `Codable` in the config schema itself. Encoding writes `configNode`;
/// decoding reads a node tree and runs the same validation as the loader, so
/// a decoded value is exactly as trustworthy as a loaded one and a failure
/// lists every problem. Paths in decoded values are taken as written (there is
/// no config file to resolve them against), and a lone spec's `depends_on` is
/// not checked against other processes (they are not in the value).
extension ProcessSpec: Codable {
    public init(from decoder: any Decoder) throws {
        let node = try ConfigNode(from: decoder).rebased(at: ConfigPath())
        do {
            let specs = try DocumentValidator.validateComplete([node], listen: nil, portRange: nil, baseDirectory: nil,
                                                                 wholeDocument: false)
            self = specs[0]
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try configNode.encode(to: encoder)
    }
}

extension AgentConfig: Codable {
    public init(from decoder: any Decoder) throws {
        let node = try ConfigNode(from: decoder).rebased(at: ConfigPath())
        do {
            self = try DocumentValidator.validateLocal(node, baseDirectory: nil)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try configNode.encode(to: encoder)
    }
}
