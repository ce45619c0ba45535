/// How far validation looks: at the document alone, or also at the machine
/// (`FilesystemChecks`: the agent's token file, each `log_file`'s directory;
/// `IdentityChecks`: `user`/`group` exist and the agent may switch to them;
/// `EnvFileLoading`: each `env_file` is read into the process's `env`).
///
/// `.schema` keeps parsing a pure function of the text, for tests, the
/// embedded demo and `Codable`; `procmgr validate` and every agent load and
/// reload use `.schemaAndFilesystem`, so a mistake the machine can show is
/// reported before anything is applied rather than at run time.
public enum ValidationScope: Sendable, Hashable {
    case schema
    case schemaAndFilesystem
}
