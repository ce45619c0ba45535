import FuzzSupport
import ProcmgrConfig

/// The duration (`1m30s`, `1.5ms`) and byte-size (`10MiB`) value parsers. Beyond "no crash":
/// whatever parses must re-render (`format`) into text that parses back to the same value —
/// the promise `DurationText.format` documents and that `procmgr validate` and the API rely
/// on when they print a value. (There is no cron parser yet, so none is fuzzed.)
func fuzzValues(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzBytes(data, count)
    let text = fuzzText(input)
    if let duration = DurationText.parse(text) {
        fuzzCheck(duration >= .zero, "negative duration from \(text.debugDescription)")
        let rendered = DurationText.format(duration)
        let reparsed = DurationText.parse(rendered)
        fuzzCheck(reparsed == duration,
                  "duration \(text.debugDescription) → \(duration) → \(rendered.debugDescription) → \(String(describing: reparsed))")
    }
    if let bytes = ByteSize.parse(text) {
        fuzzCheck(bytes >= 0, "negative size from \(text.debugDescription)")
        let rendered = ByteSize.format(bytes)
        let reparsed = ByteSize.parse(rendered)
        fuzzCheck(reparsed == bytes,
                  "size \(text.debugDescription) → \(bytes) → \(rendered.debugDescription) → \(String(describing: reparsed))")
    }
    return 0
}
