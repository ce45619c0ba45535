import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import ProcmgrHTTP

/// Shell completion of a process id: the ids the agent reports right now (the `--agent` or
/// `--config` already typed on the line says which agent), nothing when it cannot be asked within
/// a second — never file names.
enum ProcessIDCompletion {
    static var kind: CompletionKind {
        .custom { (words: [String], _: Int, prefix: String) async -> [String] in
            await ids(words: words).filter { $0.hasPrefix(prefix) }
        }
    }

    private static func ids(words: [String]) async -> [String] {
        guard let endpoint = try? AgentConnectionOptions.resolve(
            agent: value(of: "--agent", in: words), tokenFile: nil, config: value(of: "--config", in: words)) else { return [] }
        var request = HTTPClientRequest(url: endpoint.baseURL + "/api/v1/processes")
        request.headers.add(name: "Accept", value: "application/json")
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(1)), response.status == .ok,
              let body = try? await response.body.collect(upTo: 16 << 20),
              let processes = try? JSONDecoder().decode([ProcessView].self, from: Data(buffer: body)) else { return [] }
        return processes.map(\.id)
    }

    /// `--name value` or `--name=value`, the last one on the line.
    private static func value(of name: String, in words: [String]) -> String? {
        var found: String?
        for (index, word) in words.enumerated() {
            if word == name, index + 1 < words.count {
                found = words[index + 1]
            } else if word.hasPrefix(name + "=") {
                found = String(word.dropFirst(name.count + 1))
            }
        }
        return found
    }
}
