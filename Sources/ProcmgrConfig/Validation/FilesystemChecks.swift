import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The validation step that looks at the machine rather than the document:
/// the files a valid config names must be usable, or the mistake shows only at
/// run time (an API that refuses to start without its token, a child that
/// blocks for ever on a full pipe because its `log_file` could not be opened).
///
/// Kept apart from schema validation so that parsing a document stays a pure
/// function of its text (`ValidationScope.schema`); `procmgr validate` and
/// every agent load and reload ask for `.schemaAndFilesystem`.
///
/// Checked: each `exec` probe's program is found in PATH; `agent.token_file` and
/// `agent.etcd.password_file` are regular, readable, non-empty files (as the
/// agent reads them: UTF-8, trimmed); `agent.etcd.tls` files are readable; each process's `log_file.path` is in an
/// existing, writable directory and, if it exists, is a writable file that
/// will not block (not a directory, FIFO or socket). `admin.token_file` is
/// not: the admin source re-reads it on every poll and recovers by itself
/// when it appears.
enum FilesystemChecks {
    /// Largest token file read; a bearer token is a line.
    static let maxTokenBytes = 64 << 10

    /// Largest TLS file read (`agent.etcd.tls`): a PEM certificate chain is a few KiB.
    static let maxPEMBytes = 1 << 20

    /// `agent.token_file`, when set; `node` is the `token_file` value for the problem's path.
    static func checkToken(_ path: String, node: ConfigNode, problems: inout Problems) {
        checkSecret(path, node: node, emptyHint: "put the API's bearer token in it", problems: &problems)
    }

    /// `agent.etcd`'s files: the password file as a secret like the token, the TLS files as
    /// readable regular files; the etcd client reads them when it connects, where a typo would
    /// surface only as a connection failure.
    static func checkEtcd(_ spec: EtcdSourceSpec, node: ConfigNode, problems: inout Problems) {
        if let passwordFile = spec.passwordFile, let pathNode = node["password_file"] {
            checkSecret(passwordFile, node: pathNode, emptyHint: "put the etcd user's password in it", problems: &problems)
        }
        let tlsFiles = [("ca_file", spec.tls?.caFile), ("cert_file", spec.tls?.certFile), ("key_file", spec.tls?.keyFile)]
        for case (let key, let path?) in tlsFiles {
            guard let pathNode = node["tls"]?[key] else { continue }
            do throws(ConfigFileReader.Failure) {
                _ = try ConfigFileReader.read(path: path, limit: maxPEMBytes)
            } catch {
                problems.add(pathNode, "\(path): \(error)")
            }
        }
    }

    /// A file holding one secret line: readable, UTF-8, not blank.
    private static func checkSecret(_ path: String, node: ConfigNode, emptyHint: String, problems: inout Problems) {
        let data: Data
        do throws(ConfigFileReader.Failure) {
            data = try ConfigFileReader.read(path: path, limit: maxTokenBytes)
        } catch {
            problems.add(node, "\(path): \(error)")
            return
        }
        guard let text = String(data: data, encoding: .utf8) else {
            problems.add(node, "\(path): is not UTF-8 text")
            return
        }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.add(node, "\(path): is empty (\(emptyHint))")
        }
    }

    /// A process's `log_file`; `node` is the `log_file.path` value for the problem's path.
    static func checkLogFile(_ path: String, node: ConfigNode, problems: inout Problems) {
        let parent = (path as NSString).deletingLastPathComponent
        let directory = parent.isEmpty ? "." : parent
        var status = stat()
        guard stat(directory, &status) == 0 else {
            let code = errno
            problems.add(node, code == ENOENT || code == ENOTDIR
                ? "directory \(directory) does not exist (create it; log files are not given directories)"
                : "directory \(directory) cannot be examined (\(text(code)))")
            return
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            problems.add(node, "\(directory) is \(ConfigFileReader.kind(of: status.st_mode)), not a directory")
            return
        }
        guard faccessat(AT_FDCWD, directory, W_OK | X_OK, AT_EACCESS) == 0 else {
            problems.add(node, "directory \(directory) is not writable (\(text(errno)))")
            return
        }
        guard stat(path, &status) == 0 else { return }  // created at the first start
        switch status.st_mode & S_IFMT {
        case S_IFDIR, S_IFIFO, S_IFSOCK:
            problems.add(node, "\(path) is \(ConfigFileReader.kind(of: status.st_mode)), not a file to append to")
        default:
            if faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0 {
                problems.add(node, "\(path) is not writable (\(text(errno)))")
            }
        }
    }

    /// An `exec` probe's program. A bare name (no `/`) must be an executable
    /// file in `searchPath` (the agent's `PATH` when `nil`), so a typo shows
    /// at validation rather than as a probe that fails for ever; a path with
    /// a `/` is left to run time (it may be created by the process itself).
    static func checkProgram(_ program: String, searchPath: String?, workingDirectory: String, node: ConfigNode,
                             problems: inout Problems) {
        guard !program.contains("/") else { return }
        let path = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let found = path.split(separator: ":", omittingEmptySubsequences: false).contains { entry in
            let directory = entry.isEmpty ? workingDirectory : (entry.hasPrefix("/") ? String(entry) : "\(workingDirectory)/\(entry)")
            var status = stat()
            let candidate = "\(directory)/\(program)"
            return stat(candidate, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
                && faccessat(AT_FDCWD, candidate, X_OK, AT_EACCESS) == 0
        }
        if !found { problems.add(node, "\(ConfigNode.quoted(program)) not found in PATH (\(path))") }
    }

    private static func text(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }
}
