#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// The API could not listen where it was told to: `listen 127.0.0.1:9464: address already in
/// use`. Thrown before the server serves anything, so the agent can refuse to start (and start no
/// process) with a message that names the address.
public struct ListenError: Error, CustomStringConvertible, Sendable {
    public let host: String
    public let port: Int
    /// `errno` of the failed call, when the failure was a system call's.
    public let errno: Int32?
    /// The reason, lower-case, without the address.
    public let reason: String

    init(host: String, port: Int, underlying error: any Error) {
        self.host = host
        self.port = port
        if let error = error as? IOError {
            errno = error.errnoCode
            reason = Self.lowercasingFirst(String(cString: strerror(error.errnoCode)))
        } else {
            errno = nil
            reason = "\(error)"
        }
    }

    public var description: String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return "listen \(shown):\(port): \(reason)"
    }

    private static func lowercasingFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.lowercased() + text.dropFirst()
    }
}
