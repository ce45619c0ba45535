import Foundation
import FuzzSupport
import ProcmgrConfig

/// The JSON config reader, twice: as a local config file (`ConfigLoader.parse`, format JSON)
/// and as an admin-service response merged over a small local config
/// (`ConfigLoader.mergeAdmin`), the path a remote, untrusted body takes. Either must return
/// a value or a `ConfigError`, never crash; a merged list that validates has unique ids.
func fuzzConfigJSON(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzBytes(data, count)
    let document = Data(input)
    if let config = try? ConfigLoader.parse(data: document, format: .json) {
        let ids = config.processes.map(\.id)
        fuzzCheck(Set(ids).count == ids.count, "duplicate ids accepted: \(ids)")
    }
    if let local = adminLocalConfig, let merged = try? ConfigLoader.mergeAdmin(response: document, into: local) {
        let ids = merged.map(\.id)
        fuzzCheck(Set(ids).count == ids.count, "duplicate ids accepted from admin: \(ids)")
    }
    return 0
}

/// A local config with an admin source and one override, parsed once.
private let adminLocalConfig: AgentConfig? = {
    let yaml = """
        agent:
          admin:
            url: http://127.0.0.1:1/processes
        processes:
          - id: web
            port: auto
        """
    return try? ConfigLoader.parse(data: Data(yaml.utf8), format: .yaml, baseDirectory: "/tmp")
}()
