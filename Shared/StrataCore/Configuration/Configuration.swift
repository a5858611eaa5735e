import Foundation

/// Where a property's value came from, reported by `strata getConf --source`.
public enum PropertySource: Sendable, Equatable, CustomStringConvertible {
    case defaultValue
    case siteProperties(path: String, line: Int)
    case environment(variable: String)
    /// A `-Dname=value` argument on the command line.
    case argument
    /// Set by the program itself (a test harness override or a URI authority).
    case runtime

    public var description: String {
        switch self {
        case .defaultValue: "DEFAULT"
        case .siteProperties(let path, let line): "SITE_PROPERTY (\(path):\(line))"
        case .environment(let variable): "ENVIRONMENT (\(variable))"
        case .argument: "SYSTEM_PROPERTY (-D)"
        case .runtime: "RUNTIME"
        }
    }
}

/// A parsed, validated property value.
public enum PropertyValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case size(Int64)
    case duration(Duration)
    case ratio(Double)
    case addresses([HostAndPort])
}

/// Why configuration could not be loaded; the message names the property, value and source.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public enum Code: Sendable, Equatable {
        case invalidValue, unknownProperty, unresolvedReference, unreadableFile, malformedArgument, missingDirectory
    }
    public let code: Code
    public let message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The configuration of one process: every declared property's value and where it came from.
///
/// Layers, lowest first: defaults < `strata-site.properties` (in `STRATA_CONF_DIR`, else `./conf`)
/// < environment (`STRATA_MASTER_RPC_PORT`) < `-Dstrata.master.rpc.port=…` arguments < runtime
/// overrides. Every value is parsed and validated when loaded, so a bad value stops start-up
/// with an error naming the property, the value and its source; typed accessors cannot fail.
public struct Configuration: Sendable {
    public struct Entry: Sendable, Equatable {
        /// The text after `${…}` references were substituted.
        public let text: String
        public let value: PropertyValue
        public let source: PropertySource
    }

    private var entries: [String: Entry]
    /// Problems that do not stop start-up, such as unknown `strata.*` names; log them.
    public let warnings: [String]
    /// The site-properties file that was read, if any.
    public let sitePropertiesPath: String?
    /// Where `strata-site.properties`, `masters` and `workers` live: `STRATA_CONF_DIR`, else `./conf`.
    public let confDirectory: String

    /// Loads the layered configuration of this process.
    /// - Parameters:
    ///   - environment: the process environment (`ProcessInfo.processInfo.environment`).
    ///   - arguments: `-Dname=value` arguments already separated from the command line.
    ///   - overrides: runtime values, the highest layer.
    public static func load(
        environment: [String: String],
        arguments: [(name: String, value: String)] = [],
        overrides: [PropertyKey: String] = [:],
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) throws(ConfigurationError) -> Configuration {
        var raw: [String: (text: String, source: PropertySource)] = [:]
        var warnings: [String] = []
        for key in PropertyKey.registry {
            if let value = key.defaultValue { raw[key.name] = (value, .defaultValue) }
        }

        let confDirectory: String
        if let explicit = environment["STRATA_CONF_DIR"], !explicit.isEmpty {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: explicit, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ConfigurationError(.missingDirectory, "STRATA_CONF_DIR=\(explicit) is not a directory")
            }
            confDirectory = explicit
        } else {
            confDirectory = currentDirectory + "/conf"
        }
        let sitePath = confDirectory + "/strata-site.properties"
        var siteRead: String? = nil
        if FileManager.default.fileExists(atPath: sitePath) {
            guard let data = FileManager.default.contents(atPath: sitePath) else {
                throw ConfigurationError(.unreadableFile, "cannot read \(sitePath)")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(.unreadableFile, "\(sitePath) is not UTF-8 text")
            }
            for property in PropertiesFile.parse(text) {
                let source = PropertySource.siteProperties(path: sitePath, line: property.line)
                if property.name.isEmpty {
                    warnings.append("a line without a property name in \(sitePath):\(property.line) is ignored")
                    continue
                }
                guard property.name.hasPrefix("strata.") else { continue }
                if PropertyKey.named(property.name) == nil {
                    warnings.append("unknown property \(property.name) in \(sitePath):\(property.line) is ignored")
                    continue
                }
                raw[property.name] = (property.value, source)
            }
            siteRead = sitePath
        }

        for key in PropertyKey.registry {
            if let value = environment[key.environmentVariable] {
                raw[key.name] = (value, .environment(variable: key.environmentVariable))
            }
        }
        for (name, value) in arguments {
            guard PropertyKey.named(name) != nil else {
                if name.hasPrefix("strata.") { warnings.append("unknown property \(name) in -D argument is ignored") }
                continue
            }
            raw[name] = (value, .argument)
        }
        for (key, value) in overrides { raw[key.name] = (value, .runtime) }

        var entries: [String: Entry] = [:]
        for key in PropertyKey.registry {
            guard let (text, source) = raw[key.name] else { continue }
            let resolved = try resolveReferences(text, of: key, source: source, in: raw, depth: 0)
            let value = try parse(resolved, as: key, source: source)
            entries[key.name] = Entry(text: resolved, value: value, source: source)
        }
        return Configuration(entries: entries, warnings: warnings, sitePropertiesPath: siteRead, confDirectory: confDirectory)
    }

    /// Defaults plus `overrides`, ignoring the environment and files: for tests and tools.
    public static func defaults(overrides: [PropertyKey: String] = [:]) throws(ConfigurationError) -> Configuration {
        try load(environment: [:], overrides: overrides, currentDirectory: "/nonexistent-strata-conf")
    }

    /// Separates `-Dname=value` arguments from the rest of a command line.
    public static func splitPropertyArguments(
        _ arguments: [String]
    ) throws(ConfigurationError) -> (properties: [(name: String, value: String)], rest: [String]) {
        var properties: [(name: String, value: String)] = []
        var rest: [String] = []
        for argument in arguments {
            guard argument.hasPrefix("-D") else {
                rest.append(argument)
                continue
            }
            let body = argument.dropFirst(2)
            guard let equals = body.firstIndex(of: "="), equals != body.startIndex else {
                throw ConfigurationError(.malformedArgument, "malformed argument \(argument): expected -Dname=value")
            }
            properties.append((String(body[..<equals]), String(body[body.index(after: equals)...])))
        }
        return (properties, rest)
    }

    // MARK: Access

    /// The entry of `key`, or nil when the property has no value.
    public func entry(_ key: PropertyKey) -> Entry? { entries[key.name] }
    public func isSet(_ key: PropertyKey) -> Bool { entries[key.name] != nil }
    public func source(_ key: PropertyKey) -> PropertySource? { entries[key.name]?.source }

    public func string(_ key: PropertyKey) -> String {
        guard case .string(let value) = required(key).value else { wrongType(key, "string") }
        return value
    }
    public func integer(_ key: PropertyKey) -> Int {
        guard case .integer(let value) = required(key).value else { wrongType(key, "integer") }
        return value
    }
    public func boolean(_ key: PropertyKey) -> Bool {
        guard case .boolean(let value) = required(key).value else { wrongType(key, "boolean") }
        return value
    }
    public func sizeBytes(_ key: PropertyKey) -> Int64 {
        guard case .size(let value) = required(key).value else { wrongType(key, "size") }
        return value
    }
    public func duration(_ key: PropertyKey) -> Duration {
        guard case .duration(let value) = required(key).value else { wrongType(key, "duration") }
        return value
    }
    public func ratio(_ key: PropertyKey) -> Double {
        guard case .ratio(let value) = required(key).value else { wrongType(key, "ratio") }
        return value
    }
    /// The addresses of `key`, or nil when it has no value (so callers can derive a default).
    public func addresses(_ key: PropertyKey) -> [HostAndPort]? {
        guard let entry = entries[key.name] else { return nil }
        guard case .addresses(let value) = entry.value else { wrongType(key, "addresses") }
        return value
    }

    /// A copy with `key` set to `text` from `source`, validated like any loaded value.
    public func setting(_ key: PropertyKey, to text: String, source: PropertySource = .runtime) throws(ConfigurationError) -> Configuration {
        var copy = self
        let value = try Self.parse(text, as: key, source: source)
        copy.entries[key.name] = Entry(text: text, value: value, source: source)
        return copy
    }

    private func required(_ key: PropertyKey) -> Entry {
        precondition(PropertyKey.named(key.name) != nil, "property \(key.name) is not declared in the registry")
        guard let entry = entries[key.name] else {
            preconditionFailure("property \(key.name) has no value and no default")
        }
        return entry
    }

    private func wrongType(_ key: PropertyKey, _ wanted: String) -> Never {
        preconditionFailure("property \(key.name) of type \(key.type) read as \(wanted)")
    }

    // MARK: Parsing

    private static func resolveReferences(
        _ text: String, of key: PropertyKey, source: PropertySource,
        in raw: [String: (text: String, source: PropertySource)], depth: Int
    ) throws(ConfigurationError) -> String {
        guard text.contains("${") else { return text }
        guard depth < 16 else {
            throw ConfigurationError(.unresolvedReference, "references in \(key.name) nest too deep (a cycle?), from \(source)")
        }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw ConfigurationError(.unresolvedReference, "unterminated ${ in value '\(text)' of \(key.name) from \(source)")
            }
            let name = String(rest[start.upperBound..<end])
            guard let referenced = raw[name], let referencedKey = PropertyKey.named(name) else {
                throw ConfigurationError(.unresolvedReference,
                    "value '\(text)' of \(key.name) from \(source) refers to \(name), which has no value")
            }
            result += try resolveReferences(referenced.text, of: referencedKey, source: referenced.source, in: raw, depth: depth + 1)
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    static func parse(_ text: String, as key: PropertyKey, source: PropertySource) throws(ConfigurationError) -> PropertyValue {
        let trimmed = text.trimmingWhitespace()
        func invalid(_ expected: String) -> ConfigurationError {
            ConfigurationError(.invalidValue, "invalid value '\(text)' for \(key.name) from \(source): expected \(expected)")
        }
        switch key.type {
        case .string:
            return .string(trimmed)
        case .integer(let minimum, let maximum):
            guard let value = Int(trimmed), (minimum...maximum).contains(value) else {
                throw invalid("an integer from \(minimum) to \(maximum)")
            }
            return .integer(value)
        case .boolean:
            switch trimmed.lowercased() {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: throw invalid("true or false")
            }
        case .size:
            guard let bytes = ByteSize.parse(trimmed) else { throw invalid("a size such as 512KB, 64MB or 1GB") }
            return .size(bytes)
        case .duration:
            guard let duration = DurationText.parse(trimmed) else { throw invalid("a duration such as 500ms, 10s or 5min") }
            return .duration(duration)
        case .ratio:
            guard let value = Double(trimmed), (0...1).contains(value) else { throw invalid("a ratio from 0 to 1") }
            return .ratio(value)
        case .choice(let words):
            guard let word = words.first(where: { $0.lowercased() == trimmed.lowercased() }) else {
                throw invalid("one of " + words.joined(separator: ", "))
            }
            return .string(word)
        case .addresses:
            let parts = trimmed.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
            var addresses: [HostAndPort] = []
            for part in parts {
                guard let address = HostAndPort(parsing: part) else { throw invalid("host:port addresses separated by commas") }
                addresses.append(address)
            }
            guard !addresses.isEmpty else { throw invalid("at least one host:port address") }
            return .addresses(addresses)
        }
    }
}
