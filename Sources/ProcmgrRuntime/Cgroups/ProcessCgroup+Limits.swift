extension ProcessCgroup {
    /// Writes `limits` into the controllers' files. A `fresh` cgroup is unlimited already, so
    /// absent limits are written (as unlimited) only to a re-used one.
    ///
    /// Swap: with a memory limit, v2 `memory.swap.max` is 0 and v1 `memory.memsw.limit_in_bytes`
    /// equals the limit (where the files exist), so a program past its limit is OOM-killed and
    /// seen as such instead of slowly swapping.
    func apply(_ limits: CgroupLimits, fresh: Bool) throws(CgroupError) {
        if limits.memoryBytes != nil || !fresh {
            let bytes = limits.memoryBytes
            if unifiedControllers.contains(.memory), let unified {
                try write(bytes.map { "\($0)" } ?? "max", unified, "memory.max")
                if CgroupFiles.exists(unified + "/memory.swap.max") {
                    try write(bytes == nil ? "max" : "0", unified, "memory.swap.max")
                }
            } else if let directory = v1[.memory] {
                let value = bytes.map { "\($0)" } ?? "-1"
                // memsw must stay ≥ the limit: raising needs memsw first, lowering the limit
                // first. The first write fails with EINVAL in the wrong order; retried after.
                let first = CgroupFiles.write(value, to: directory + "/memory.limit_in_bytes")
                if CgroupFiles.exists(directory + "/memory.memsw.limit_in_bytes") {
                    try write(value, directory, "memory.memsw.limit_in_bytes")
                }
                if first != 0 { try write(value, directory, "memory.limit_in_bytes") }
            }
        }
        if limits.cpuCores != nil || !fresh {
            let period = CgroupLimits.cpuPeriodMicroseconds
            let quota = limits.cpuCores.map { CgroupLimits.cpuQuotaMicroseconds(cores: $0) }
            if unifiedControllers.contains(.cpu), let unified {
                try write("\(quota.map { "\($0)" } ?? "max") \(period)", unified, "cpu.max")
            } else if let directory = v1[.cpu] {
                try write("\(period)", directory, "cpu.cfs_period_us")
                try write(quota.map { "\($0)" } ?? "-1", directory, "cpu.cfs_quota_us")
            }
        }
        if limits.pids != nil || !fresh {
            let value = limits.pids.map { "\($0)" } ?? "max"
            if unifiedControllers.contains(.pids), let unified {
                try write(value, unified, "pids.max")
            } else if let directory = v1[.pids] {
                try write(value, directory, "pids.max")
            }
        }
    }

    private func write(_ value: String, _ directory: String, _ file: String) throws(CgroupError) {
        let code = CgroupFiles.write(value, to: directory + "/" + file)
        if code != 0 { throw CgroupError(operation: "write \"\(value)\" to", path: directory + "/" + file, errno: code) }
    }
}
