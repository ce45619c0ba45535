#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads each valid process's `env_file:` list and folds it into the spec's `env`: the files in
/// the order written (a later file wins), then `env:` over them (it wins).
///
/// Done at load and only at load (`ValidationScope.schemaAndFilesystem`, what the agent and
/// `procmgr validate` use), so the runtime never reads an env file: the contents are part of the
/// spec, a changed file is a changed spec (the process restarts on the next reload), and a file
/// that is missing or has a bad line is refused with the old config left running. With
/// `.schema` the paths are kept and nothing is read — a CLI that only needs the agent's address
/// must not fail on a secrets file it may not read.
enum EnvFileLoading {
    /// Sets the effective `env` of every spec (parallel to `nodes`, `nil` where invalid) that
    /// names env files; a spec whose files cannot be used becomes `nil`, with its problems.
    static func apply(_ nodes: [ConfigNode], _ specs: inout [ProcessSpec?], problems: inout Problems) {
        for index in specs.indices {
            guard let spec = specs[index], !spec.envFiles.isEmpty, let listNode = nodes[index]["env_file"] else { continue }
            // A single path is written `env_file: .env` and reported at `env_file` itself.
            let pathNodes = listNode.elements ?? [listNode]
            let before = problems.count
            var fromFiles: [String: String] = [:]
            for (path, node) in zip(spec.envFiles, pathNodes) {
                for variable in read(path, node: node, problems: &problems) ?? [] {
                    fromFiles[variable.key] = variable.value
                }
            }
            guard problems.count == before else {
                specs[index] = nil
                continue
            }
            var loaded = spec
            loaded.env = fromFiles.merging(spec.env) { _, fromConfig in fromConfig }
            specs[index] = loaded
        }
    }

    /// The variables of one file; `nil` after recording why it cannot be used.
    static func read(_ path: String, node: ConfigNode, problems: inout Problems) -> [EnvFileParser.Variable]? {
        let bytes: [UInt8]
        do throws(ConfigFileReader.Failure) {
            bytes = Array(try ConfigFileReader.read(path: path, limit: EnvFileParser.maxBytes))
        } catch {
            problems.add(node, "cannot read \(ConfigNode.quoted(path)): \(reason(error))")
            return nil
        }
        let parsed = EnvFileParser.parse(bytes)
        for failure in parsed.failures { problems.add(node, "\(path):\(failure.line): \(failure.message)") }
        return parsed.failures.isEmpty ? parsed.variables : nil
    }

    /// The system's words for the common failures, like `cat` would print them.
    private static func reason(_ failure: ConfigFileReader.Failure) -> String {
        switch failure {
        case .missing: String(cString: strerror(ENOENT))
        case .permissionDenied: String(cString: strerror(EACCES))
        case .notRegularFile, .tooLarge, .system: failure.description
        }
    }
}
