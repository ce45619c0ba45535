import Foundation

/// Turns etcd's desired-state keys into the set an agent runs, rejecting bad keys one by one
/// instead of refusing the whole set: in a fleet, one operator's typo under `all/` must not
/// stop every process on every node.
///
/// Steps:
/// 1. per id, a `node` entry replaces the `all` entry;
/// 2. each entry is read alone (bounded JSON reader, the key as document label, so problems
///    read `/procmgr/all/processes/web:port: ...`), must be one object whose `id` is the key's
///    (a missing `id` is taken from the key), and is validated with its local override as one
///    complete process — failing any of these rejects that key alone;
/// 3. the survivors are merged with the local overrides exactly like an admin response
///    (`ConfigMerger.merge`) and validated as a whole; the entries a problem points at (by its
///    document label, or through the local override merged into them) are rejected and the
///    rest validated again, at most once per entry. Problems that point at no entry (a
///    local-only process the entries cannot fix) are thrown.
///
/// So that a pass rejects everything it can (the loop is bounded, but each pass validates the
/// whole set): an entry whose `depends_on` names a rejected id is rejected at once, with its
/// dependents, and every `auto` process that does not fit `agent.ports.range` is blamed in one
/// pass (first come first served) instead of the first one only.
///
/// Local-only processes are validated ahead of the entries, so a collision between one and an
/// entry is blamed on the entry (collisions blame the later process). A rejected entry's
/// local override is left out with it (alone it is usually an incomplete process), and a
/// rejected `node` entry does not fall back to the `all` entry it replaced.
enum FleetMerger {
    private struct Candidate {
        let entry: FleetEntry
        /// The value as read (paths under the key).
        let node: ConfigNode
        /// `node` with its local override merged in: what will run.
        let merged: ConfigNode
    }

    /// What is rejected so far: each key with its problems, and the rejected ids with their keys.
    private struct Rejections {
        var list: [(key: String, error: ConfigError)] = []
        var keyByID: [String: String] = [:]

        mutating func add(_ entry: FleetEntry, _ error: ConfigError) {
            list.append((entry.key, error))
            keyByID[entry.id] = entry.key
        }
    }

    static func merge(_ entries: [FleetEntry], into config: AgentConfig, scope: ValidationScope) throws(ConfigError) -> FleetMerge {
        let overrideIDs = config.overrides.map { $0["id"]?.stringValue }
        var rejections = Rejections()
        var candidates: [Candidate] = []
        for entry in effective(entries) {
            do throws(ConfigError) {
                let node = try read(entry)
                let override = config.overrides.first { $0["id"]?.stringValue == entry.id }
                let merged = ConfigMerger.merge(admin: [node], overrides: override.map { [$0] } ?? [])
                _ = try DocumentValidator.validateComplete(merged, listen: config.agent.listen, portRange: config.agent.portRange,
                                                           baseDirectory: config.baseDirectory, scope: scope, wholeDocument: false)
                candidates.append(Candidate(entry: entry, node: node, merged: merged[0]))
            } catch {
                rejections.add(entry, error)
            }
        }

        // Each pass rejects at least one entry, returns or throws.
        for _ in 0...candidates.count {
            rejectDependents(&candidates, &rejections)
            let live = Set(candidates.map(\.entry.id))
            let overrides = zip(config.overrides, overrideIDs).filter { $0.1.map { rejections.keyByID[$0] == nil } ?? true }.map(\.0)
            let merged = ConfigMerger.merge(admin: candidates.map(\.node), overrides: overrides)
            let ordered = Array(merged[candidates.count...] + merged[..<candidates.count])
            do throws(ConfigError) {
                let specs = try DocumentValidator.validateComplete(ordered, listen: config.agent.listen, portRange: config.agent.portRange,
                                                                   baseDirectory: config.baseDirectory, scope: scope,
                                                                   blameEachOverflow: true)
                return FleetMerge(specs: specs.sorted { $0.id < $1.id }, rejected: rejections.list.sorted { $0.key < $1.key })
            } catch {
                var blamed: [String: [ConfigProblem]] = [:]
                for problem in error.problems {
                    if let id = entryID(of: problem, candidates: candidates, overrideIDs: overrideIDs, live: live) {
                        blamed[id, default: []].append(problem)
                    }
                }
                guard !blamed.isEmpty else { throw error }
                for candidate in candidates {
                    guard let problems = blamed[candidate.entry.id] else { continue }
                    rejections.add(candidate.entry, ConfigError(code: error.code, problems: problems))
                }
                candidates.removeAll { blamed[$0.entry.id] != nil }
            }
        }
        throw ConfigError(code: .invalid, problems: [ConfigProblem(path: ConfigPath(), message: "the fleet set did not settle")])
    }

    /// Rejects every entry whose `depends_on` names a rejected id, and then theirs: it could
    /// never start. Done here rather than left to the whole-set validation, which would find one
    /// link of a chain per pass.
    private static func rejectDependents(_ candidates: inout [Candidate], _ rejections: inout Rejections) {
        var changed = true
        while changed {
            changed = false
            candidates.removeAll { candidate in
                let problems = dependencies(of: candidate.merged).compactMap { id, node -> ConfigProblem? in
                    guard let key = rejections.keyByID[id] else { return nil }
                    return ConfigProblem(path: node.path, message: "depends on \(ConfigNode.quoted(id)), whose key \(key) is rejected",
                                         location: node.location)
                }
                guard !problems.isEmpty else { return false }
                rejections.add(candidate.entry, ConfigError(code: .invalid, problems: problems))
                changed = true
                return true
            }
        }
    }

    /// The ids `depends_on` names, map form (`{db: {...}}`) or list form (`[db]`), each with the node naming it.
    private static func dependencies(of process: ConfigNode) -> [(String, ConfigNode)] {
        guard let dependsOn = process["depends_on"] else { return [] }
        if let entries = dependsOn.entries { return entries.map { ($0.key, $0.value) } }
        return (dependsOn.elements ?? []).compactMap { element in element.stringValue.map { ($0, element) } }
    }

    /// One entry per id, a `node` entry over an `all` one, in id order so the merge (and which of
    /// two colliding entries is blamed) does not depend on the order etcd returned the keys in.
    private static func effective(_ entries: [FleetEntry]) -> [FleetEntry] {
        var byID: [String: FleetEntry] = [:]
        for entry in entries {
            if let existing = byID[entry.id], existing.scope == .node, entry.scope == .all { continue }
            byID[entry.id] = entry
        }
        return byID.values.sorted { $0.id < $1.id }
    }

    /// The entry's value as one process node with the key's id.
    private static func read(_ entry: FleetEntry) throws(ConfigError) -> ConfigNode {
        var root = try DocumentReader.read(Data(entry.value), format: .json, document: entry.key)
        guard var entries = root.entries else {
            throw invalid(root.path, "expected a JSON object (one processes[] entry), got \(root.kindDescription)")
        }
        if let idNode = root["id"], !idNode.isNull {
            guard idNode.stringValue == entry.id else {
                throw invalid(idNode.path, "\(idNode) does not match the key's id \(ConfigNode.quoted(entry.id))")
            }
            return root
        }
        entries.removeAll { $0.key == "id" }
        entries.insert(.init(key: "id", value: ConfigNode(.string(entry.id), path: root.path.appending(key: "id"))), at: 0)
        root.value = .mapping(entries)
        return root
    }

    /// The id of the live entry `problem` points at: its document is the entry's key, or it is
    /// in the local override merged into that entry. `nil`: a local-only process or the root.
    private static func entryID(of problem: ConfigProblem, candidates: [Candidate], overrideIDs: [String?],
                                live: Set<String>) -> String? {
        if let document = problem.path.document {
            return candidates.first { $0.entry.key == document }?.entry.id
        }
        guard problem.path.components.count >= 2, problem.path.components[0] == .key("processes"),
              case .index(let index) = problem.path.components[1], overrideIDs.indices.contains(index),
              let id = overrideIDs[index], live.contains(id)
        else { return nil }
        return id
    }

    private static func invalid(_ path: ConfigPath, _ message: String) -> ConfigError {
        ConfigError(code: .invalid, problems: [ConfigProblem(path: path, message: message)])
    }
}
