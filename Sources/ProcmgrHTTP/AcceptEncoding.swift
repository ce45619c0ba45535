/// `Accept-Encoding` negotiation between the two codings `/metrics` offers:
/// gzip and identity.
///
/// Rules (RFC 9110 §12.5.3, plus the choices the contract pins):
/// - gzip's weight is its own entry (`gzip` or its alias `x-gzip`), else `*`'s, else 0;
///   weight 0 means "not acceptable", so `gzip;q=0` and `*, gzip;q=0` never get gzip.
/// - identity's weight is its own entry, else `*`'s; when neither is listed it
///   is acceptable but unweighted, so any acceptable gzip beats it.
/// - The higher weight wins; a tie goes to gzip (smaller on the wire).
/// - Identity is never refused: `identity;q=0` without an acceptable gzip still
///   gets identity, because a scrape that fails on a 406 helps nobody.
/// - An entry with an unparseable weight is ignored; for a coding listed twice
///   the first entry counts.
public enum AcceptEncoding {
    /// Whether to answer with gzip given this `Accept-Encoding` header value
    /// (several header lines joined with `,`). `nil` or empty means identity.
    public static func prefersGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        var gzip: Double?
        var identity: Double?
        var wildcard: Double?
        for element in header.split(separator: ",") {
            guard let (coding, weight) = parse(element) else { continue }
            switch coding {
            case "gzip", "x-gzip": gzip = gzip ?? weight
            case "identity": identity = identity ?? weight
            case "*": wildcard = wildcard ?? weight
            default: continue
            }
        }
        let gzipWeight = gzip ?? wildcard ?? 0
        guard gzipWeight > 0 else { return false }
        guard let identityWeight = identity ?? wildcard else { return true }
        return gzipWeight >= identityWeight
    }

    /// `coding [; q=weight] [; other=params]` → lowercased coding and weight
    /// (1 when absent); `nil` for an empty element or an invalid weight.
    private static func parse(_ element: Substring) -> (String, Double)? {
        let parts = element.split(separator: ";", omittingEmptySubsequences: false)
        let coding = trimmed(parts[0]).lowercased()
        guard !coding.isEmpty else { return nil }
        var weight = 1.0
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, trimmed(pair[0]).lowercased() == "q" else { continue }
            guard let value = qValue(trimmed(pair[1])) else { return nil }
            weight = value
        }
        return (coding, weight)
    }

    /// RFC 9110 `qvalue`: `0[.ddd]` or `1[.000]`, so no signs, exponents,
    /// spaces or NaN sneak in through `Double.init`.
    private static func qValue(_ text: Substring) -> Double? {
        let bytes = Array(text.utf8)
        guard let lead = bytes.first, lead == UInt8(ascii: "0") || lead == UInt8(ascii: "1") else { return nil }
        if bytes.count > 1 {
            guard bytes[1] == UInt8(ascii: "."), bytes.count <= 5,
                bytes[2...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else { return nil }
        }
        guard let value = Double(text), value <= 1 else { return nil }
        return value
    }

    private static func trimmed(_ text: Substring) -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = text.firstIndex(where: { !isSpace($0) }),
            let end = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return text[start...end]
    }
}
