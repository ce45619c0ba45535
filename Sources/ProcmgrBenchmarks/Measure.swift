#if canImport(Glibc)
import Glibc
#endif

/// Timing helpers: every figure is the median of several repetitions, with min and max beside it,
/// because the machines are small and noisy.
struct Sample: CustomStringConvertible {
    var values: [Double]

    var sorted: [Double] { values.sorted() }
    var min: Double { sorted.first ?? .nan }
    var median: Double { sorted[sorted.count / 2] }
    var max: Double { sorted.last ?? .nan }

    var description: String { "\(format(min))/\(format(median))/\(format(max))" }
}

func format(_ value: Double, decimals: Int = 2) -> String {
    guard value.isFinite else { return "n/a" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return "\(rounded)"
}

/// Runs `body` `repetitions` times and returns each run's duration in seconds.
func measure(repetitions: Int, _ body: () async -> Void) async -> Sample {
    let clock = ContinuousClock()
    var values: [Double] = []
    for _ in 0..<repetitions {
        let start = clock.now
        await body()
        values.append((clock.now - start).benchmarkSeconds)
    }
    return Sample(values: values)
}

extension Duration {
    var benchmarkSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

/// Returns free heap pages to the kernel (glibc `malloc_trim`, looked up at run time because the
/// Glibc module does not export `malloc.h`), so RSS then counts memory in use, not holes left by
/// freed allocations.
func trimHeap() {
    typealias Trim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: Trim.self)(0)
}

/// Resident set size of this process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var size = 0, resident = 0
    _ = withUnsafeMutablePointer(to: &size) { sizePointer in
        withUnsafeMutablePointer(to: &resident) { residentPointer in
            withVaList([sizePointer, residentPointer]) { vfscanf(file, "%ld %ld", $0) }
        }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Keeps a value alive and opaque to the optimizer.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

func printTable(_ title: String, header: [String], rows: [[String]]) {
    print("\n### \(title)\n")
    print("| " + header.joined(separator: " | ") + " |")
    print("|" + header.map { _ in "---" }.joined(separator: "|") + "|")
    for row in rows { print("| " + row.joined(separator: " | ") + " |") }
}
