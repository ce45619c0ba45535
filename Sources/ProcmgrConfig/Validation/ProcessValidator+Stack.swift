import Foundation

/// The service-stack fields of a process entry: `depends_on`, `notify`,
/// `replicas`, `update` and the job fields `schedule`, `time_zone`,
/// `concurrency`. Checks between processes (unknown ids, cycles) are in
/// `DependencyChecks`.
extension ProcessValidator {
    /// `{id: {condition?, restart?}}`, or compose's short form `[id, …]`
    /// (each with the default condition, `started`).
    func readDependsOn(_ node: ConfigNode, problems: inout Problems) -> [String: DependencySpec]? {
        let before = problems.count
        var result: [String: DependencySpec] = [:]
        if let elements = node.elements {
            for element in elements {
                guard let id = problems.string(element) else { continue }
                guard Self.isValidID(id) else {
                    problems.add(element, "\(element) is not a valid process id ([A-Za-z0-9._-]{1,63})")
                    continue
                }
                if result[id] != nil { problems.add(element, "\(element) is listed twice") }
                result[id] = DependencySpec()
            }
            return problems.count == before ? result : nil
        }
        guard let entries = node.entries else {
            problems.add(node, "expected a mapping of process ids to {condition, restart}, got \(node.kindDescription)")
            return nil
        }
        let conditions = DependencyCondition.allCases.map { ($0.rawValue, $0) }
        for entry in entries {
            guard Self.isValidID(entry.key) else {
                problems.add(entry.value, "\(ConfigNode.quoted(entry.key)) is not a valid process id ([A-Za-z0-9._-]{1,63})")
                continue
            }
            if !complete && entry.value.isNull { continue }  // removes an inherited dependency
            guard let fields = Fields(entry.value, allowed: ["condition", "restart"], problems: &problems) else { continue }
            var spec = DependencySpec()
            if let value = fields["condition"].flatMap({ problems.choice($0, conditions) }) { spec.condition = value }
            if let value = fields["restart"].flatMap({ problems.bool($0) }) { spec.restart = value }
            result[entry.key] = spec
        }
        return problems.count == before ? result : nil
    }

    func readNotify(_ node: ConfigNode, problems: inout Problems) -> NotifySpec? {
        let before = problems.count
        guard let fields = Fields(node, allowed: ["watchdog", "access"], problems: &problems) else { return nil }
        var spec = NotifySpec()
        spec.watchdog = fields["watchdog"].flatMap { problems.duration($0) }
        if let value = fields["access"].flatMap({ problems.choice($0, NotifyAccess.allCases.map { ($0.rawValue, $0) }) }) {
            spec.access = value
        }
        return problems.count == before ? spec : nil
    }

    func readUpdate(_ node: ConfigNode, problems: inout Problems) -> UpdateSpec? {
        guard let fields = Fields(node, allowed: ["max_unavailable"], problems: &problems) else { return nil }
        var spec = UpdateSpec.default
        if let node = fields["max_unavailable"] {
            guard let value = problems.integer(node, in: 1...ConfigDefaults.maxReplicas) else { return nil }
            spec.maxUnavailable = value
        }
        return spec
    }

    /// `schedule`, `time_zone` and `concurrency`; the latter two only with a schedule.
    func readSchedule(_ fields: Fields, problems: inout Problems) -> ScheduleSpec? {
        let before = problems.count
        let timeZone = fields["time_zone"].flatMap { node -> String? in
            guard let identifier = problems.string(node) else { return nil }
            guard TimeZone(identifier: identifier) != nil else {
                problems.add(node, "\(node) is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)")
                return nil
            }
            return identifier
        }
        let concurrency = fields["concurrency"].flatMap { problems.choice($0, JobConcurrency.allCases.map { ($0.rawValue, $0) }) }
        guard let scheduleNode = fields["schedule"] else {
            if complete {
                for key in ["time_zone", "concurrency"] where fields[key] != nil {
                    problems.add(fields.path(of: key), "only applies to a scheduled job (set schedule:)", location: fields[key]?.location)
                }
            }
            return nil
        }
        guard let text = problems.string(scheduleNode) else { return nil }
        let cron: CronExpression
        do throws(CronParseError) {
            cron = try CronExpression(parsing: text)
        } catch {
            problems.add(scheduleNode, error.description)
            return nil
        }
        guard problems.count == before else { return nil }
        return ScheduleSpec(cron: cron, timeZone: timeZone ?? ConfigDefaults.timeZone,
                            concurrency: concurrency ?? ConfigDefaults.concurrency)
    }

    /// Checks between fields of one complete entry: a job never restarts and
    /// is not replicated; a fixed port cannot be shared by replicas; replica
    /// ids must still be valid ids; `${REPLICA}` needs replicas.
    func checkStackFields(_ fields: Fields, id: String?, restart: RestartPolicy, port: PortSpec?, replicas: Int?,
                          scheduled: Bool, problems: inout Problems) {
        if scheduled, let schedule = fields["schedule"] {
            if restart != .never {
                problems.add(schedule, "a scheduled job must have restart: never (restart is \(restart.rawValue))")
            }
            if let replicasNode = fields["replicas"] {
                problems.add(replicasNode, "a scheduled job cannot be replicated (remove replicas or schedule)")
            }
        }
        if let replicas, let replicasNode = fields["replicas"] {
            if replicas > 1, case .fixed(let number)? = port, let portNode = fields["port"] {
                problems.add(portNode, "\(number) cannot be shared by \(replicas) replicas (use port: auto)")
            }
            if let id, !Self.isValidID("\(id).\(replicas - 1)") {
                problems.add(replicasNode, "replica ids \(id).0 … \(id).\(replicas - 1) would be longer than 63 characters (shorten the id)")
            }
        }
        if replicas == nil, let commandNode = fields["command"], let elements = commandNode.elements {
            for element in elements where Self.uses("REPLICA", element) {
                problems.add(element, "uses ${REPLICA} but the process has no replicas (set replicas:)")
            }
        }
    }
}
