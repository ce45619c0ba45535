import Foundation
import Glibc

/// How client output looks: colours only when stdout is a terminal and `NO_COLOR` is not set
/// (no-color.org: any non-empty value turns them off); on a terminal, control characters from
/// process output are shown in caret notation (`^[`), so a program's output cannot drive the
/// operator's terminal. On a pipe everything is passed through as the agent sent it.
struct TerminalStyle: Sendable {
    let isTerminal: Bool
    let colours: Bool

    static func standardOutput(environment: [String: String] = ProcessInfo.processInfo.environment) -> TerminalStyle {
        let terminal = isatty(STDOUT_FILENO) == 1
        return TerminalStyle(isTerminal: terminal, colours: terminal && (environment["NO_COLOR"] ?? "").isEmpty)
    }

    enum Colour: String {
        case dim = "2"
        case red = "31"
        case green = "32"
        case yellow = "33"
        case blue = "34"
        case magenta = "35"
        case cyan = "36"
    }

    func paint(_ text: String, _ colour: Colour) -> String {
        colours ? "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m" : text
    }

    /// `text` safe to show: on a terminal, C0 controls (but tab) and DEL in caret notation.
    func printable(_ text: String) -> String {
        guard isTerminal, text.unicodeScalars.contains(where: Self.isControl) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if Self.isControl(scalar) {
                result.append("^")
                result.append(Unicode.Scalar(UInt8(scalar.value ^ 0x40)))
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F
    }
}

/// Writes to stdout at once (a followed log must show up line by line through a pipe, not when a
/// buffer fills) and to stderr.
enum ClientOutput {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func warn(_ text: String) {
        FileHandle.standardError.write(Data("procmgr: warning: \(text)\n".utf8))
    }
}
