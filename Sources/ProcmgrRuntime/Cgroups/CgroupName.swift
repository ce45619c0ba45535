/// Turns a process name into a cgroup directory name and back.
///
/// Why escape: a cgroup directory sits beside the kernel's interface files (`memory.max`,
/// v1 `tasks`), and a name could contain `/`. Every byte outside `[A-Za-z0-9_@:+-]` becomes
/// `%XX` — including `.`, so no directory can look like an interface file — and the three v1
/// file names without a dot get their first letter escaped.
enum CgroupName {
    private static let reserved: Set<String> = ["tasks", "notify_on_release", "release_agent"]

    /// nil for an empty name or one longer than a directory name may be.
    static func directory(for name: String) -> String? {
        guard !name.isEmpty else { return nil }
        var escaped = ""
        for byte in name.utf8 {
            if isPlain(byte) {
                escaped.append(Character(Unicode.Scalar(byte)))
            } else {
                escaped += percent(byte)
            }
        }
        if reserved.contains(escaped), let first = escaped.utf8.first {
            escaped = percent(first) + escaped.dropFirst()
        }
        return escaped.utf8.count <= 255 ? escaped : nil
    }

    /// The process name of a directory made by ``directory(for:)``; nil for any other name.
    static func processName(ofDirectory directory: String) -> String? {
        var bytes: [UInt8] = []
        var source = directory.utf8[...]
        while let byte = source.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard source.count >= 2, let value = UInt8(String(decoding: source.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
                source = source.dropFirst(2)
            } else {
                guard isPlain(byte) else { return nil }
                bytes.append(byte)
            }
        }
        let name = String(decoding: bytes, as: UTF8.self)
        return Self.directory(for: name) == directory ? name : nil
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "_"), UInt8(ascii: "@"), UInt8(ascii: ":"), UInt8(ascii: "+"), UInt8(ascii: "-"): true
        default: false
        }
    }

    private static func percent(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
    }
}
