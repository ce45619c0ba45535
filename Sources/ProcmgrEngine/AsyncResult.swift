extension Result where Failure == any Error {
    /// Captures an async throwing call's outcome as a value, so a hook's error travels back to
    /// its worker through a non-throwing task.
    init(catchingAsync body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
