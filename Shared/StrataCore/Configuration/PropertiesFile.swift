/// A reader for Java-style `.properties` text, the format of `strata-site.properties`.
///
/// Supports `name=value`, `name: value` and `name value`, `#` and `!` comments, blank lines, and
/// lines continued with a trailing backslash. Each property records the line it started on so
/// that errors can point at it.
public enum PropertiesFile {
    public struct Property: Sendable, Equatable {
        public let name: String
        public let value: String
        public let line: Int
    }

    public static func parse(_ text: String) -> [Property] {
        var properties: [Property] = []
        var pending = ""
        var pendingLine = 0
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so split on every kind of line break explicitly.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        for line in lines {
            lineNumber += 1
            let trimmed = line.trimmingWhitespace()
            if pending.isEmpty {
                if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("!") { continue }
                pendingLine = lineNumber
            }
            if trimmed.hasSuffix("\\") && !trimmed.hasSuffix("\\\\") {
                pending += trimmed.dropLast()
                continue
            }
            pending += trimmed
            if let property = split(pending, line: pendingLine) { properties.append(property) }
            pending = ""
        }
        if !pending.isEmpty, let property = split(pending, line: pendingLine) { properties.append(property) }
        return properties
    }

    private static func split(_ logicalLine: String, line: Int) -> Property? {
        guard let separator = logicalLine.firstIndex(where: { $0 == "=" || $0 == ":" || $0.isWhitespace }) else {
            return Property(name: logicalLine, value: "", line: line)
        }
        let name = String(logicalLine[..<separator])
        var value = logicalLine[logicalLine.index(after: separator)...].trimmingWhitespace()
        if logicalLine[separator].isWhitespace, let first = value.first, first == "=" || first == ":" {
            value = String(value.dropFirst()).trimmingWhitespace()
        }
        return Property(name: name, value: value, line: line)
    }
}
