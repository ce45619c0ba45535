/// The nested blocks of a process entry — backoff, heartbeat, log_file
/// (probes are in `ProcessValidator+Probes`) — each filled from its defaults, with the cross-field checks
/// (backoff.initial ≤ max, heartbeat.timeout ≥ interval) done only for
/// complete entries, since an override's other fields may come from the admin
/// service.
extension ProcessValidator {
    func readBackoff(_ node: ConfigNode, problems: inout Problems) -> BackoffSpec? {
        let before = problems.count
        guard let fields = Fields(node, allowed: ["initial", "max", "multiplier", "jitter", "reset_after"], problems: &problems)
        else { return nil }
        var spec = BackoffSpec.default
        if let value = fields["initial"].flatMap({ problems.duration($0, allowZero: true) }) { spec.initial = value }
        if let value = fields["max"].flatMap({ problems.duration($0) }) { spec.max = value }
        if let value = fields["multiplier"].flatMap({ problems.number($0, in: 1...Double.infinity) }) { spec.multiplier = value }
        if let value = fields["jitter"].flatMap({ problems.number($0, in: 0...1) }) { spec.jitter = value }
        if let value = fields["reset_after"].flatMap({ problems.duration($0) }) { spec.resetAfter = value }
        guard problems.count == before else { return nil }
        if complete, spec.initial > spec.max {
            problems.add(fields.path(of: "initial"),
                         "\(DurationText.format(spec.initial)) is greater than backoff.max (\(DurationText.format(spec.max)))",
                         location: fields["initial"]?.location)
            return nil
        }
        return spec
    }

    func readHeartbeat(_ node: ConfigNode, problems: inout Problems) -> HeartbeatSpec? {
        let before = problems.count
        guard let fields = Fields(node, allowed: ["interval", "timeout"], problems: &problems) else { return nil }
        var spec = HeartbeatSpec()
        if let value = fields["interval"].flatMap({ problems.duration($0) }) { spec.interval = value }
        if let value = fields["timeout"].flatMap({ problems.duration($0) }) { spec.timeout = value }
        guard problems.count == before else { return nil }
        if complete, spec.timeout < spec.interval {
            problems.add(fields.path(of: "timeout"),
                         "\(DurationText.format(spec.timeout)) is less than heartbeat.interval (\(DurationText.format(spec.interval)))",
                         location: fields["timeout"]?.location)
            return nil
        }
        return spec
    }

    func readLogFile(_ node: ConfigNode, problems: inout Problems) -> LogFileSpec? {
        let before = problems.count
        guard let fields = Fields(node, allowed: ["path", "max_bytes", "keep"], problems: &problems) else { return nil }
        let path = fields.required("path", enforce: complete, problems: &problems).flatMap { problems.pathString($0) }
        var spec = LogFileSpec(path: PathResolver.resolve(path ?? ".", against: baseDirectory))
        if let value = fields["max_bytes"].flatMap({ problems.byteSize($0) }) { spec.maxBytes = value }
        if let value = fields["keep"].flatMap({ problems.integer($0, in: 0...1000) }) { spec.keep = value }
        return problems.count == before ? spec : nil
    }
}
