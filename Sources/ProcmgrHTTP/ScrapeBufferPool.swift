import ProcmgrSupport

/// Lends ``ScrapeBuffers`` to scrapes so their memory is reused across scrapes
/// yet never shared by two at once.
///
/// A scrape takes a set out under the lock and gives it back when done, so
/// concurrent scrapes each hold their own (the lock guards only the list, never
/// the rendering or compressing). Sets are made on demand; at most
/// `maxIdle` are kept, so a burst of parallel scrapes cannot pin memory forever.
///
/// `@unchecked`: ``ScrapeBuffers`` is a mutable class and not `Sendable`, so the lock that holds
/// the idle sets is not either. Safe because a set is only ever in one place — in the idle list
/// (under the lock) or lent to exactly one scrape, which gives it back and keeps no reference.
final class ScrapeBufferPool: @unchecked Sendable {
    private let idle: LockedState<[ScrapeBuffers]>
    private let maxIdle: Int
    private let makeBuffers: @Sendable () throws -> ScrapeBuffers

    init(maxIdle: Int, makeBuffers: @escaping @Sendable () throws -> ScrapeBuffers) {
        self.idle = LockedState([])
        self.maxIdle = maxIdle
        self.makeBuffers = makeBuffers
    }

    /// Runs `body` with a set of buffers nobody else holds meanwhile. `body`
    /// is synchronous on purpose: holding a set across an `await` would keep
    /// it from other scrapes for no gain.
    func withBuffers<Result>(_ body: (ScrapeBuffers) throws -> Result) throws -> Result {
        let buffers = try idle.withLock { $0.popLast() } ?? makeBuffers()
        defer { giveBack(buffers) }
        buffers.reset()
        return try body(buffers)
    }

    /// Number of sets waiting for the next scrape (for tests).
    var idleCount: Int {
        idle.withLock { $0.count }
    }

    private func giveBack(_ buffers: ScrapeBuffers) {
        idle.withLock { list in
            if list.count < maxIdle { list.append(buffers) }
        }
    }
}
