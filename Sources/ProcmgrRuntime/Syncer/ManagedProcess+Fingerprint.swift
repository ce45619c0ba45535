extension ManagedProcess {
    /// A digest of the whole config that is stable across agent runs (FNV-1a 64 over a canonical
    /// text), stored with each child in the state file.
    ///
    /// Why not `hashValue`: Swift seeds it per process, so a restarted agent would never match.
    /// Why the whole config: "equal config, nothing to restart" is the runtime's rule for a live
    /// agent, and adoption follows the same rule; a different fingerprint adopts the child only
    /// to restart it with reason `config`.
    public var fingerprint: String {
        var canonical = self
        canonical.environment = [:]
        var text = String(reflecting: canonical)
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) {
            text += "\u{0}\(key)=\(value)"
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
