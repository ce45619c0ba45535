import FuzzSupport
import ProcmgrHTTP

/// `Accept-Encoding` negotiation for `/metrics`. Beyond "no crash", the contract's rules that
/// hold whatever else the header says, because for a coding listed twice the first entry
/// counts: a header that starts with `gzip;q=0` never gets gzip, one that starts with
/// `gzip, identity;q=0` always does, and the answer does not change between two calls.
func fuzzAcceptEncoding(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzBytes(data, count)
    let header = fuzzText(input)
    let answer = AcceptEncoding.prefersGzip(header)
    fuzzCheck(AcceptEncoding.prefersGzip(header) == answer, "not deterministic for \(header.debugDescription)")
    fuzzCheck(!AcceptEncoding.prefersGzip("gzip;q=0, " + header),
              "gzip;q=0 first still chose gzip: \(header.debugDescription)")
    fuzzCheck(AcceptEncoding.prefersGzip("gzip, identity;q=0, " + header),
              "gzip first with identity;q=0 did not choose gzip: \(header.debugDescription)")
    return 0
}
