import Foundation
public import ProcmgrConfig

/// The desired-state keys of one node as etcd last showed them: the node's own entries and the
/// fleet-wide ones.
///
/// A value type fed by the source's reads and watch events, so what "the desired state" is at any
/// moment is a plain value: compared to the last delivered one to decide whether anything
/// changed, cached on disk as it is, and tested without an etcd. Where a watch resumes is the
/// follower's business (`PrefixFollower`, one revision per prefix), not part of the state.
public struct FleetDesiredState: Sendable, Hashable {
    /// By etcd key.
    public private(set) var entries: [String: FleetEntry] = [:]

    public init() {}

    /// The entries in a stable order (by key), as handed to `ConfigLoader.mergeFleet`.
    public var sortedEntries: [FleetEntry] { entries.keys.sorted().compactMap { entries[$0] } }

    /// Replaces every entry with what a full read returned.
    public mutating func replaceAll(_ entries: [FleetEntry]) {
        self.entries = Dictionary(entries.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// A key was put; returns whether the desired state changed (a put of the same bytes does not).
    @discardableResult
    public mutating func put(_ entry: FleetEntry) -> Bool {
        guard entries[entry.key] != entry else { return false }
        entries[entry.key] = entry
        return true
    }

    /// A key was deleted; returns whether it was known.
    @discardableResult
    public mutating func delete(key: String) -> Bool {
        entries.removeValue(forKey: key) != nil
    }
}

extension FleetDesiredState {
    /// The on-disk form of the cache (`etcd.cache_file`): the entries exactly as etcd held them,
    /// values as base64, so a cached start merges the same bytes a live one would.
    struct CacheDocument: Codable {
        struct Entry: Codable {
            var key: String
            var id: String
            var scope: String
            var value: String
        }

        var entries: [Entry]
    }

    func cacheData() -> Data {
        let document = CacheDocument(entries: sortedEntries.map {
            CacheDocument.Entry(key: $0.key, id: $0.id, scope: $0.scope.rawValue, value: Data($0.value).base64EncodedString())
        })
        return (try? JSONEncoder().encode(document)) ?? Data()
    }

    /// The state a cache file holds; `nil` (with why) when it is not one.
    static func fromCache(_ data: Data) -> Result<FleetDesiredState, CacheDecodingFailure> {
        let document: CacheDocument
        do {
            document = try JSONDecoder().decode(CacheDocument.self, from: data)
        } catch {
            return .failure(CacheDecodingFailure(detail: "not a fleet cache document (\(error))"))
        }
        var entries: [FleetEntry] = []
        for entry in document.entries {
            guard let scope = FleetEntry.Scope(rawValue: entry.scope), let value = Data(base64Encoded: entry.value) else {
                return .failure(CacheDecodingFailure(detail: "entry \(entry.key) is malformed"))
            }
            entries.append(FleetEntry(key: entry.key, id: entry.id, scope: scope, value: [UInt8](value)))
        }
        var state = FleetDesiredState()
        state.replaceAll(entries)
        return .success(state)
    }

    struct CacheDecodingFailure: Error, CustomStringConvertible {
        let detail: String
        var description: String { detail }
    }
}
