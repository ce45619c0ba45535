import Foundation

/// Just enough PromQL lexing to list the metric names an expression reads.
enum PromQL {
    private static let keywords: Set<String> = [
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
        "offset", "inf", "nan",
    ]
    /// Label lists after these words name labels, not metrics.
    private static let labelListWords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right"]

    /// Metric names in `expression`: identifiers outside strings, label matchers, label lists and
    /// range brackets that are not function calls or keywords. Recording-rule names (with a colon)
    /// are included; callers decide what to do with them.
    static func metricNames(in expression: String) -> Set<String> {
        var names: Set<String> = []
        let characters = Array(expression)
        var index = 0
        var previousWord = ""
        func isIdentifierStart(_ c: Character) -> Bool { c.isLetter || c == "_" || c == ":" }
        func isIdentifierBody(_ c: Character) -> Bool { isIdentifierStart(c) || c.isNumber }
        while index < characters.count {
            let c = characters[index]
            switch c {
            case "\"", "'", "`":
                index = skipString(characters, from: index)
            case "{", "[":
                index = skip(characters, from: index, open: c, close: c == "{" ? "}" : "]")
            case "(" where labelListWords.contains(previousWord):
                index = skip(characters, from: index, open: "(", close: ")")
                previousWord = ""
            case _ where c.isNumber || c == ".":
                // Numbers and durations (1.5, 1e-9, 5m) are not names.
                while index < characters.count, isIdentifierBody(characters[index]) || characters[index] == "." { index += 1 }
            case _ where isIdentifierStart(c):
                let start = index
                while index < characters.count, isIdentifierBody(characters[index]) { index += 1 }
                let word = String(characters[start..<index])
                var next = index
                while next < characters.count, characters[next] == " " { next += 1 }
                let isCall = next < characters.count && characters[next] == "("
                // `sum by (x) (…)`: an aggregation whose grouping comes before its argument.
                let rest = String(characters[next..<min(next + 8, characters.count)])
                let isAggregation = rest.hasPrefix("by ") || rest.hasPrefix("by(") || rest.hasPrefix("without ") || rest.hasPrefix("without(")
                if !isCall, !isAggregation, !keywords.contains(word.lowercased()) { names.insert(word) }
                previousWord = word.lowercased()
                continue
            default:
                index += 1
            }
            if !c.isWhitespace, !isIdentifierStart(c) { previousWord = "" }
        }
        return names
    }

    private static func skipString(_ characters: [Character], from start: Int) -> Int {
        let quote = characters[start]
        var index = start + 1
        while index < characters.count {
            if characters[index] == "\\", quote != "`" { index += 2; continue }
            if characters[index] == quote { return index + 1 }
            index += 1
        }
        return index
    }

    private static func skip(_ characters: [Character], from start: Int, open: Character, close: Character) -> Int {
        var depth = 0
        var index = start
        while index < characters.count {
            let c = characters[index]
            if c == "\"" || c == "'" || c == "`" { index = skipString(characters, from: index); continue }
            if c == open { depth += 1 }
            if c == close { depth -= 1; if depth == 0 { return index + 1 } }
            index += 1
        }
        return index
    }
}

/// The dashboard as the tests see it.
struct Dashboard {
    struct Target {
        let panelID: Int
        let panelTitle: String
        let refID: String
        let expression: String
        let json: [String: Any]
    }

    let json: [String: Any]

    static func load() throws -> Dashboard { Dashboard(json: try Repository.json(Repository.dashboard)) }

    var panels: [[String: Any]] {
        let top = json["panels"] as? [[String: Any]] ?? []
        // Collapsed rows keep their panels inside the row.
        return top + top.flatMap { $0["panels"] as? [[String: Any]] ?? [] }
    }

    var targets: [Target] {
        panels.flatMap { panel -> [Target] in
            let id = panel["id"] as? Int ?? -1
            let title = panel["title"] as? String ?? "?"
            return (panel["targets"] as? [[String: Any]] ?? []).map {
                Target(panelID: id, panelTitle: title, refID: $0["refId"] as? String ?? "?",
                       expression: $0["expr"] as? String ?? "", json: $0)
            }
        }
    }

    var variables: [[String: Any]] {
        (json["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
    }

    /// `expression` with the dashboard's variables replaced as Grafana would with "All" selected.
    static func substitute(_ expression: String, rateInterval: String) -> String {
        var result = expression.replacingOccurrences(of: "$__rate_interval", with: rateInterval)
            .replacingOccurrences(of: "$__interval", with: rateInterval)
            .replacingOccurrences(of: "$__range", with: rateInterval)
        for name in ["job", "instance", "process"] {
            result = result.replacingOccurrences(of: "${\(name)}", with: ".*").replacingOccurrences(of: "$\(name)", with: ".*")
        }
        return result
    }
}

/// The rule file as the tests see it.
struct RuleFile {
    let groups: [[String: Any]]

    static func load() throws -> RuleFile {
        RuleFile(groups: try Repository.json(Repository.rules)["groups"] as? [[String: Any]] ?? [])
    }

    var rules: [[String: Any]] { groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] } }
    var alerts: [[String: Any]] { rules.filter { $0["alert"] != nil } }
    var recordedNames: Set<String> { Set(rules.compactMap { $0["record"] as? String }) }
}
