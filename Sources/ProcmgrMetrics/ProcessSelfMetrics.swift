#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics of client_golang's process collector,
/// same names and HELP, refreshed at scrape time from /proc (Linux only; on
/// other systems the families are registered but stay 0).
public enum ProcessSelfMetrics {
    /// Registers the families and a collector that refreshes them on every
    /// exposition. Calling it again on the same registry does nothing more.
    public static func register(in registry: MetricsRegistry) throws(MetricsRegistryError) {
        let alreadyRegistered = registry.isRegistered(name: "process_cpu_seconds_total")
        let cpu = try registry.counter(
            name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.")
        let resident = try registry.gauge(
            name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
        let virtual = try registry.gauge(
            name: "process_virtual_memory_bytes", help: "Virtual memory size in bytes.")
        let openFDs = try registry.gauge(name: "process_open_fds", help: "Number of open file descriptors.")
        let maxFDs = try registry.gauge(name: "process_max_fds", help: "Maximum number of open file descriptors.")
        let startTime = try registry.gauge(
            name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.")
        guard !alreadyRegistered else { return }

        #if os(Linux)
        let ticksPerSecond = Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        let pageSize = Double(max(sysconf(Int32(_SC_PAGESIZE)), 1))
        // Boot time and our start tick never change: compute the start time once.
        if let stat = ProcStat.read(), let bootTime = ProcStat.bootTime() {
            startTime.set(bootTime + stat.startTicks / ticksPerSecond)
        }
        registry.addCollector {
            if let stat = ProcStat.read() {
                cpu.setTotal((stat.userTicks + stat.systemTicks) / ticksPerSecond)
                virtual.set(stat.virtualBytes)
                resident.set(stat.residentPages * pageSize)
            }
            if let count = ProcStat.openFileDescriptorCount() {
                openFDs.set(Double(count))
            }
            var limit = rlimit()
            if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
                // Same number as "Max open files" (soft) in /proc/self/limits; RLIM_INFINITY (all ones on Linux) → +Inf.
                maxFDs.set(limit.rlim_cur == rlim_t.max ? .infinity : Double(limit.rlim_cur))
            }
        }
        #endif
    }
}

#if os(Linux)
/// The fields we need from /proc/self/stat, plus the other /proc reads.
struct ProcStat {
    var userTicks: Double
    var systemTicks: Double
    var startTicks: Double
    var virtualBytes: Double
    var residentPages: Double

    /// Parses /proc/self/stat. The command name (field 2) is parenthesised and
    /// may itself contain spaces or parentheses, so fields are counted from
    /// the last `)`.
    static func read() -> ProcStat? {
        guard let bytes = readFile("/proc/self/stat"),
            let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // fields[0] is field 3 (state); utime=14, stime=15, starttime=22, vsize=23, rss=24.
        guard fields.count > 21,
            let user = number(fields[11]), let system = number(fields[12]),
            let start = number(fields[19]), let virtual = number(fields[20]), let rss = number(fields[21])
        else { return nil }
        return ProcStat(userTicks: user, systemTicks: system, startTicks: start, virtualBytes: virtual, residentPages: rss)
    }

    /// `btime` from /proc/stat: boot time in seconds since the epoch.
    static func bootTime() -> Double? {
        guard let bytes = readFile("/proc/stat") else { return nil }
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: "btime ".utf8) {
            return number(line.dropFirst(6))
        }
        return nil
    }

    /// Entries of /proc/self/fd (includes the one this listing uses, as in client_golang).
    static func openFileDescriptorCount() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".")
            }
            if !isDot { count += 1 }
        }
        return count
    }

    private static func number(_ digits: some Collection<UInt8>) -> Double? {
        var value: UInt64 = 0
        var any = false
        for byte in digits {
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: " ") { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
            any = true
        }
        return any ? Double(value) : nil
    }

    /// Reads a whole (small, /proc) file with plain syscalls; no Foundation.
    private static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return result }
            result.append(contentsOf: chunk[0..<count])
        }
    }
}
#endif
