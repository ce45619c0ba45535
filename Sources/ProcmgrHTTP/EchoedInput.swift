/// Client input quoted back in an error message, cut to a readable length.
///
/// An error body names what was wrong ("no process with id …"), but a 10,000-character id
/// echoed whole makes every error that large (and fills logs that record error bodies); the
/// first 64 characters identify it just as well.
enum EchoedInput {
    static let maxCharacters = 64

    static func excerpt(_ text: some StringProtocol) -> String {
        guard text.count > maxCharacters else { return String(text) }
        return text.prefix(maxCharacters) + "…"
    }
}
