/// One sd_notify datagram: newline-separated `KEY=VALUE` assignments (sd_notify(3)).
struct NotifyMessage: Sendable {
    var assignments: [(key: Substring, value: Substring)]

    /// Parses `bytes`; nil when the datagram is not valid UTF-8, holds a NUL, or has a non-empty
    /// line without `=` (systemd ignores such datagrams whole). Empty lines — a trailing newline —
    /// are skipped, as systemd does.
    init?(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.contains(0) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        var assignments: [(key: Substring, value: Substring)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let equals = line.firstIndex(of: "="), equals != line.startIndex else { return nil }
            assignments.append((line[..<equals], line[line.index(after: equals)...]))
        }
        self.assignments = assignments
    }
}
