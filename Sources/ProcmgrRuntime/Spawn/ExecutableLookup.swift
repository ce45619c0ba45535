import Glibc

/// Resolves a program name through the `PATH` of the *child's* environment.
///
/// Why in the parent: the child runs between clone and exec sharing our memory and must not
/// allocate, so `execvp`-style searching there is off limits. Searching here also gives a
/// better error: "not found in PATH=…" versus "found but not executable".
enum ExecutableLookup {
    static func resolve(_ name: String, environment: [String: String]) -> Result<String, SpawnError> {
        if name.isEmpty {
            return .failure(.invalid("cannot start a process: the command is empty"))
        }
        if name.contains("/") { return .success(name) }
        let searchPath = environment["PATH"] ?? ProcessEnvironment.defaultSearchPath
        var deniedCandidate: String?
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = directory.hasSuffix("/") ? "\(directory)\(name)" : "\(directory)/\(name)"
            var info = stat()
            guard stat(candidate, &info) == 0 else { continue }
            let isRegular = (info.st_mode & S_IFMT) == S_IFREG
            if isRegular && access(candidate, X_OK) == 0 { return .success(candidate) }
            if deniedCandidate == nil { deniedCandidate = candidate }
        }
        if let deniedCandidate {
            return .failure(SpawnError(
                code: .permissionDenied, errno: EACCES,
                message: "cannot start '\(name)': found '\(deniedCandidate)' in PATH but it is not an executable file; chmod +x it or fix PATH"))
        }
        return .failure(SpawnError(
            code: .executableNotFound, errno: ENOENT,
            message: "cannot start '\(name)': executable not found in the child's PATH=\(searchPath); install it, fix PATH in the environment, or use an absolute path"))
    }
}
