import FuzzSupport
import ProcmgrEtcd

/// The watch stream decoder (`EtcdWatchStreamDecoder`), which reads whatever an etcd endpoint —
/// or anything listening where one should be — streams back to a watch. Any bytes must decode
/// to messages or end in an `EtcdError`, never crash. Beyond that, chunking must not matter: the
/// same bytes fed whole, byte by byte, or cut at a point the input chooses end the same way and
/// give the same messages — except that a chunk which ends the stream with an error may take
/// down messages completed earlier in that chunk (fewer, never different: the watch resumes
/// after the last message it did deliver, so none is lost).
func fuzzEtcdWatch(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzBytes(data, count)
    guard let cutByte = input.first else { return 0 }
    let body = Array(input.dropFirst())
    let cut = body.isEmpty ? 0 : Int(cutByte) % (body.count + 1)
    let whole = decode([body])
    let split = decode([Array(body[..<cut]), Array(body[cut...])])
    let bytewise = decode(body.map { [$0] })
    fuzzCheck(whole.agrees(with: split), "chunking at \(cut) changed the result:\n\(whole)\n→\n\(split)")
    fuzzCheck(split.agrees(with: bytewise), "byte-by-byte feeding changed the result:\n\(split)\n→\n\(bytewise)")
    return 0
}

/// The messages decoded from `chunks` and how the stream ended (the error's code, or "open").
private func decode(_ chunks: [[UInt8]]) -> Outcome {
    var decoder = EtcdWatchStreamDecoder(limit: 1 << 12, what: "fuzz")
    var messages: [EtcdWatchStreamDecoder.Decoded] = []
    for chunk in chunks {
        do {
            messages += try decoder.feed(chunk)
        } catch {
            return Outcome(messages: messages, end: error.code.rawValue)
        }
    }
    return Outcome(messages: messages, end: "open")
}

private struct Outcome: Equatable, CustomStringConvertible {
    var messages: [EtcdWatchStreamDecoder.Decoded]
    var end: String
    var description: String { "\(messages) then \(end)" }

    /// Same end (open, or an error: which code a malformed `{"error": …}` object maps to is
    /// etcd-text heuristics, not compared); same messages, or — after an error — a prefix of
    /// those the finer chunking (`finer`) delivered.
    func agrees(with finer: Outcome) -> Bool {
        let mine = watchMessages, theirs = finer.watchMessages
        // A refused token restarts the watch like an error does: either ends the stream.
        let ended = end != "open" || messages.count != mine.count
        let finerEnded = finer.end != "open" || finer.messages.count != theirs.count
        guard ended == finerEnded else { return false }
        if !ended { return mine == theirs }
        return mine.count <= theirs.count && Array(theirs.prefix(mine.count)) == mine
    }

    /// The watch messages, without the refused-token notices.
    private var watchMessages: [EtcdWatchMessage] {
        messages.compactMap { if case .message(let message) = $0 { message } else { nil } }
    }
}
