/// A process's `log_file` cannot be opened: its start fails before anything is spawned, so the
/// engine shows the error and retries with backoff (the directory may appear later).
public struct OutputFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let underlying: SystemError

    public var description: String { "cannot open log_file \(path): \(underlying)" }
}

/// A started program's output could not be captured; it was stopped again (a program nobody
/// reads from blocks on a full pipe while it looks running).
public struct OutputCaptureError: Error, Sendable, CustomStringConvertible {
    public let process: String
    public let underlying: SystemError

    public var description: String { "cannot capture the output of \(process): \(underlying)" }
}
