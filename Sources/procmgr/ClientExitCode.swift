import ArgumentParser

/// The exit statuses of procmgr's client commands (`status`, `logs`, `events`, `restart`, `stop`,
/// `signal`, `scale`, `reload`): scripts branch on them, so each number keeps its meaning.
/// `validate` and `run` share 0, 1 and 2.
enum ClientExitCode: Int32, CaseIterable, Sendable {
    /// The request was carried out (or the stream ended because the operator stopped it).
    case success = 0
    /// Anything unexpected: an agent error without a code of its own (400, 500, …), an answer
    /// that cannot be read.
    case failure = 1
    /// The command line was wrong: unknown option, missing or out-of-range value, unknown
    /// signal name (ArgumentParser's usage errors are mapped to this too; it would say 64).
    case usage = 2
    /// No agent answers at the address (refused, timed out, connection lost and not regained).
    case unreachable = 3
    /// The agent knows no process with that id (HTTP 404).
    case unknownProcess = 4
    /// The agent refused the token: missing or wrong (401), or mutations are off on its
    /// listener (403).
    case unauthorized = 5
    /// The agent refused the action: it conflicts with the current state (409, e.g. a reload is
    /// running, no program to signal) or the new config was rejected (422, problems printed).
    case refused = 6

    var exitCode: ExitCode { ExitCode(rawValue) }

    /// The code an agent's HTTP error status maps to.
    init(httpStatus: Int) {
        switch httpStatus {
        case 404: self = .unknownProcess
        case 401, 403: self = .unauthorized
        case 409, 422: self = .refused
        default: self = .failure
        }
    }
}

/// A client command failed: the message goes to stderr, the process exits with `code`.
struct ClientFailure: Error, CustomStringConvertible {
    let code: ClientExitCode
    let message: String
    /// More lines after the message (a rejected config's problems), one per line.
    var details: [String] = []
    /// The agent's HTTP status, when it answered.
    var httpStatus: Int?

    var description: String { ([message] + details).joined(separator: "\n") }
}
