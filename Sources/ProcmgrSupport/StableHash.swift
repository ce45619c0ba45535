/// FNV-1a 64 of a text as 16 hex digits: a digest that is the same in every run of the agent,
/// unlike `hashValue`, which Swift seeds per process. For names and fingerprints that must match
/// across agent restarts (a config fingerprint in the state file, a cgroup subtree's name).
public enum StableHash {
    public static func fnv1a64Hex(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
