/// The one error type of the registry.
///
/// Registration throws it (typed throws); hot-path misuse that cannot throw
/// (wrong label arity, negative counter increments, NaN observations) is handed
/// to the registry's `onMisuse` callback instead, so a bug in a caller can never
/// crash the process that is supposed to be supervising others.
public struct MetricsRegistryError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A stable, comparable classification of what went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// A metric name that does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
        public static let invalidMetricName = Code("invalidMetricName")
        /// A label name that does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
        public static let invalidLabelName = Code("invalidLabelName")
        /// A `__`-prefixed label name, or `le` on a histogram.
        public static let reservedLabelName = Code("reservedLabelName")
        /// The same label name twice in one family.
        public static let duplicateLabelName = Code("duplicateLabelName")
        /// The name is taken by a family of another type, label names or buckets
        /// (or collides with a histogram's `_bucket`/`_sum`/`_count` series).
        public static let conflictingRegistration = Code("conflictingRegistration")
        /// `labels(...)`/`remove(...)` got a different number of values than the family has label names.
        public static let labelArityMismatch = Code("labelArityMismatch")
        /// Histogram buckets that are not finite and strictly increasing.
        public static let invalidBuckets = Code("invalidBuckets")
        /// A value a metric cannot take (negative or NaN counter increment, NaN observation).
        public static let invalidValue = Code("invalidValue")

        public var description: String { raw }
    }

    public let code: Code
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// How misuse travels from a handle to the registry owner's callback.
typealias MisuseReporter = @Sendable (MetricsRegistryError) -> Void
