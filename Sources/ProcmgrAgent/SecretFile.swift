import Foundation

/// A file holding one secret line (`agent.token_file`, `agent.etcd.password_file`), read the way
/// `procmgr validate` checks it: UTF-8, surrounding whitespace trimmed, not blank.
enum SecretFile {
    /// - Parameter key: the config key that names the file, for the message.
    static func read(_ path: String, key: String) throws(AgentStartupError) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw AgentStartupError("\(key) \(path) cannot be read")
        }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else { throw AgentStartupError("\(key) \(path) is empty") }
        return secret
    }
}
