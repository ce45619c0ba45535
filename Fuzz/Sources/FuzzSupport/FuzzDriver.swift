import CFuzzerDriver
#if canImport(Glibc)
import Glibc
#endif

/// A harness: called by libFuzzer with one input, returns 0.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer on `target` with this process's command line (corpus directories, `-runs=`,
/// `-max_total_time=`, …) and exits with its status. Each harness's `main.swift` calls it:
/// SwiftPM gives every executable a Swift `main`, which would otherwise shadow libFuzzer's
/// (the program would start, do nothing and exit 0).
public func runFuzzer(_ target: FuzzTarget) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
}

/// The input as a buffer (libFuzzer may pass a null pointer for the empty input).
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ count: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: count == 0 ? nil : data, count: count)
}
