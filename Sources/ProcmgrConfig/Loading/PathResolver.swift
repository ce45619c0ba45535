/// Resolves the file paths in a config (`working_dir`, `state_dir`,
/// `log_file.path`, `token_file`, `admin.token_file`, `admin.cache_file`)
/// against the directory of the config file, so that the agent behaves the
/// same whatever directory it was started from.
///
/// Resolution is purely lexical (`.` and `..` folded, no symlinks followed,
/// no `~` expansion) so that it is deterministic and equal paths compare
/// equal in `ProcessSpec`.
enum PathResolver {
    /// `path` made absolute against `base` and normalized; with no base,
    /// only normalized (a relative path stays relative).
    static func resolve(_ path: String, against base: String?) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        guard let base else { return normalize(path) }
        return normalize(base + "/" + path)
    }

    /// Folds `.`, `..` and repeated slashes. `..` above the root of an
    /// absolute path stays at the root; leading `..` of a relative path is kept.
    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !absolute {
                    parts.append(part)
                }
            default: parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
