/// The naming rules of the Prometheus data model, checked at registration.
enum NameValidation {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    static func isValidMetricName(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            let ok = isLetter(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                || (!first && isDigit(byte))
            if !ok { return false }
            first = false
        }
        return !first
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`
    static func isValidLabelName(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            let ok = isLetter(byte) || byte == UInt8(ascii: "_") || (!first && isDigit(byte))
            if !ok { return false }
            first = false
        }
        return !first
    }

    static func validate(metricName name: String) throws(MetricsRegistryError) {
        guard isValidMetricName(name) else {
            throw MetricsRegistryError(
                code: .invalidMetricName,
                message: "metric name \(String(reflecting: name)) does not match [a-zA-Z_:][a-zA-Z0-9_:]*")
        }
    }

    static func validate(labelNames: [String], histogram: Bool, metric: String) throws(MetricsRegistryError) {
        var seen = Set<String>()
        for label in labelNames {
            guard isValidLabelName(label) else {
                throw MetricsRegistryError(
                    code: .invalidLabelName,
                    message: "\(metric): label name \(String(reflecting: label)) does not match [a-zA-Z_][a-zA-Z0-9_]*")
            }
            if label.hasPrefix("__") {
                throw MetricsRegistryError(
                    code: .reservedLabelName,
                    message: "\(metric): label names starting with __ are reserved, got \(label)")
            }
            if histogram, label == "le" {
                throw MetricsRegistryError(
                    code: .reservedLabelName, message: "\(metric): label name le is reserved on histograms")
            }
            guard seen.insert(label).inserted else {
                throw MetricsRegistryError(
                    code: .duplicateLabelName, message: "\(metric): label name \(label) appears twice")
            }
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
