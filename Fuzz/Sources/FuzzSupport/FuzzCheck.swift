#if canImport(Glibc)
import Glibc
#endif

/// An invariant a harness checks beyond "does not crash". A violation prints what was
/// expected and aborts, which libFuzzer reports as a crash and saves the input for
/// (`crash-<sha1>`), exactly like a trap in the code under test.
public func fuzzCheck(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    guard !condition() else { return }
    let text = "fuzz invariant violated at \(file):\(line): \(message())\n"
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    abort()
}

/// Cuts one fuzz input into several fields at every 0x00 byte, so one byte string can drive a
/// harness that needs a name, a help text and several label values. Fields are decoded as
/// UTF-8 with replacement: the code under test takes `String`, which is always valid.
public func fuzzFields(_ bytes: UnsafeRawBufferPointer, count: Int) -> [String] {
    var fields = bytes.split(separator: 0, maxSplits: count - 1, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    while fields.count < count { fields.append("") }
    return fields
}

/// The input as a `String` (invalid UTF-8 replaced), for parsers that take text.
public func fuzzText(_ bytes: UnsafeRawBufferPointer) -> String {
    String(decoding: bytes, as: UTF8.self)
}
