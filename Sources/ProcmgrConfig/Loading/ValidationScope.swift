/// How far validation looks: at the document alone, or also at the files it
/// names (`FilesystemChecks`: the agent's token file, each `log_file`'s
/// directory).
///
/// `.schema` keeps parsing a pure function of the text, for tests, the
/// embedded demo and `Codable`; `procmgr validate` and every agent load and
/// reload use `.schemaAndFilesystem`, so a mistake the machine can show is
/// reported before anything is applied rather than at run time.
public enum ValidationScope: Sendable, Hashable {
    case schema
    case schemaAndFilesystem
}
