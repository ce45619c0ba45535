import Foundation
import FuzzSupport
import ProcmgrConfig

/// The YAML config reader through the public entry point the agent uses for a file, a
/// `POST /-/reload` body and `procmgr validate`: parse, then validate whole. Any input must
/// come back as a config or a `ConfigError`, never a crash. A config that validates must
/// hold what validation promises: unique, non-empty ids and a non-empty argv.
func fuzzConfigYAML(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzBytes(data, count)
    let document = Data(input)
    guard let config = try? ConfigLoader.parse(data: document, format: .yaml) else { return 0 }
    let ids = config.processes.map(\.id)
    fuzzCheck(Set(ids).count == ids.count, "duplicate ids accepted: \(ids)")
    for process in config.processes {
        fuzzCheck(!process.id.isEmpty, "empty id accepted")
        fuzzCheck(!process.command.isEmpty, "empty command accepted for \(process.id)")
    }
    return 0
}
