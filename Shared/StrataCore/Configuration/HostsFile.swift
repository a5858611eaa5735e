import Foundation

/// `conf/masters` and `conf/workers`: one host per line, optionally followed by
/// `strata.property=value` words that apply to the process started there. Several processes on
/// one host (a local HA cluster) each get a line with their own ports and directories:
///
///     # host       properties for the process on that host
///     localhost    strata.master.rpc.port=19998 strata.master.embedded.journal.port=19200 strata.home=/var/strata/m1
///     node2
///
/// `#` starts a comment; blank lines are skipped.
public struct HostsFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var host: String
        public var properties: [(name: String, value: String)]
        /// Line number in the file, for messages.
        public var line: Int

        public static func == (lhs: Entry, rhs: Entry) -> Bool {
            lhs.host == rhs.host && lhs.line == rhs.line && lhs.properties.elementsEqual(rhs.properties) { $0 == $1 }
        }

        /// True for a host that names this machine: processes there are run directly, not over ssh.
        public var isLocal: Bool { HostAndPort.isLocalHost(host) }
    }

    public var path: String
    public var entries: [Entry]

    /// Reads and checks `path`: every property must be a known `strata.*` one with a valid value.
    public static func read(_ path: String) throws(ConfigurationError) -> HostsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(.unreadableFile, "cannot read \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(.unreadableFile, "\(path) is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> HostsFile {
        var entries: [Entry] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let host = words.first else { continue }
            let where_ = "\(path):\(offset + 1)"
            guard !host.contains("="), host.allSatisfy({ $0.isLetter || $0.isNumber || "-._:[]".contains($0) }) else {
                throw ConfigurationError(.invalidValue, "'\(host)' in \(where_) is not a host name")
            }
            var properties: [(name: String, value: String)] = []
            for word in words.dropFirst() {
                guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                    throw ConfigurationError(.invalidValue, "'\(word)' in \(where_) is not strata.property=value")
                }
                let name = String(word[..<equals]), value = String(word[word.index(after: equals)...])
                guard let key = PropertyKey.named(name) else {
                    throw ConfigurationError(.unknownProperty, "unknown property \(name) in \(where_)")
                }
                if !value.contains("${") {
                    _ = try Configuration.parse(value, as: key, source: .siteProperties(path: path, line: offset + 1))
                }
                properties.append((name, value))
            }
            entries.append(Entry(host: host, properties: properties, line: offset + 1))
        }
        return HostsFile(path: path, entries: entries)
    }
}
