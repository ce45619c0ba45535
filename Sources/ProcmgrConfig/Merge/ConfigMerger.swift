/// Merges the admin service's process list with the local file's process
/// entries ("static overrides from the local file merged field by field over
/// the admin service's config").
///
/// Works on node trees *before* validation so the result is validated as a
/// whole, and every field keeps the path of the document that supplied it
/// (`admin:processes[3].port` or `processes[0].env.LOG_LEVEL`).
///
/// Rules (JSON Merge Patch, RFC 7386, applied per process):
/// - entries are matched by their string `id`;
/// - a mapping in the override is merged key by key into the admin value,
///   recursively (`backoff`, `health.http`, `env`, …);
/// - any other override value — scalar or array (`command`, `hostnames`) —
///   replaces the admin value whole;
/// - an override value of `null` removes the key;
/// - overrides whose id the admin list lacks are appended, in local order,
///   after the admin processes (which keep the admin order).
public enum ConfigMerger {
    /// The merged process list.
    public static func merge(admin: [ConfigNode], overrides: [ConfigNode]) -> [ConfigNode] {
        var result = admin
        var indexByID: [String: Int] = [:]
        for (index, process) in admin.enumerated() {
            if let id = process["id"]?.stringValue, indexByID[id] == nil { indexByID[id] = index }
        }
        for override in overrides {
            if let id = override["id"]?.stringValue, let index = indexByID[id] {
                result[index] = merge(base: result[index], override: override)
            } else {
                result.append(removingNulls(override))
            }
        }
        return result
    }

    /// `override` merged field by field over `base`. The merged mapping keeps
    /// `base`'s path; each entry keeps the path of the node it came from.
    public static func merge(base: ConfigNode, override: ConfigNode) -> ConfigNode {
        guard let baseEntries = base.entries, let overrideEntries = override.entries else {
            return removingNulls(override)
        }
        var entries = baseEntries
        for entry in overrideEntries {
            let existing = entries.firstIndex { $0.key == entry.key }
            if entry.value.isNull {
                if let existing { entries.remove(at: existing) }
            } else if let existing {
                entries[existing].value = merge(base: entries[existing].value, override: entry.value)
            } else {
                entries.append(.init(key: entry.key, value: removingNulls(entry.value)))
            }
        }
        var merged = base
        merged.value = .mapping(entries)
        return merged
    }

    /// `node` without null-valued mapping entries at any depth: a null in an
    /// override means "remove", so it never survives into the merged tree.
    static func removingNulls(_ node: ConfigNode) -> ConfigNode {
        guard let entries = node.entries else { return node }
        var copy = node
        copy.value = .mapping(entries.filter { !$0.value.isNull }.map { .init(key: $0.key, value: removingNulls($0.value)) })
        return copy
    }
}
