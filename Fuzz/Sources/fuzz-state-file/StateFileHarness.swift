import Foundation
import FuzzSupport
import ProcmgrRuntime

/// The state file decoder (`ChildStateFile.load`), which a starting agent runs on whatever a
/// crashed one left in `state_dir/children.json`. Any content must load or throw, never
/// crash. Beyond that, what loads must survive the agent's own writer: the records written
/// back through `replaceAll` (the hand-rolled encoder) load again as the same records.
func fuzzStateFile(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzBytes(data, count)
    let contents = Data(input)
    guard FileManager.default.createFile(atPath: scratch.input, contents: contents) else {
        fuzzCheck(false, "cannot write \(scratch.input)")
        return 0
    }
    guard let records = try? ChildStateFile.load(path: scratch.input) else { return 0 }
    let file = ChildStateFile(path: scratch.output, durable: false)
    do {
        try file.replaceAll(records)
    } catch {
        fuzzCheck(false, "writing back \(records.count) loaded records failed: \(error)")
    }
    let reloaded = try? ChildStateFile.load(path: scratch.output)
    let byPID = Dictionary(records.map { ($0.pid, $0) }, uniquingKeysWith: { _, last in last })
    let expected = Set(byPID.values)
    fuzzCheck(reloaded.map { Set($0) } == expected && reloaded?.count == expected.count, "records did not round-trip:\n\(expected)\n→\n\(String(describing: reloaded))")
    return 0
}

/// Per-process scratch files on tmpfs when there is one (every execution writes two files).
private let scratch: (input: String, output: String) = {
    let directory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let base = "\(directory)/procmgr-fuzz-state-\(getpid())"
    return (base + ".in.json", base + ".out.json")
}()
