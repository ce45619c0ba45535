/// Ready-made histogram bucket layouts (upper bounds, `+Inf` implied).
public enum HistogramBuckets {
    /// client_golang's `DefBuckets`: request-latency-shaped, in seconds.
    public static let defaultSeconds: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    /// `count` bounds starting at `start`, each `factor` times the previous one.
    /// Parameters client_golang would panic on (`count < 1`, `start <= 0`,
    /// `factor <= 1`, non-finite) yield `[]` — a histogram with only `+Inf` —
    /// rather than a crash.
    public static func exponential(start: Double, factor: Double, count: Int) -> [Double] {
        guard count >= 1, start > 0, start.isFinite, factor > 1, factor.isFinite else { return [] }
        var bounds: [Double] = []
        bounds.reserveCapacity(count)
        var next = start
        for _ in 0..<count {
            bounds.append(next)
            next *= factor
        }
        return bounds
    }

    /// `count` bounds starting at `start`, `width` apart. Invalid parameters
    /// (`count < 1`, `width <= 0`, non-finite) yield `[]`.
    public static func linear(start: Double, width: Double, count: Int) -> [Double] {
        guard count >= 1, start.isFinite, width > 0, width.isFinite else { return [] }
        var bounds: [Double] = []
        bounds.reserveCapacity(count)
        for index in 0..<count {
            bounds.append(start + Double(index) * width)
        }
        return bounds
    }
}
