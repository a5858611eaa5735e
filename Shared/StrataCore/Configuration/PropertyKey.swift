/// The type of a configuration property: how its text is parsed and validated.
public enum PropertyType: Sendable, Equatable, CustomStringConvertible {
    case string
    case integer(min: Int, max: Int)
    case boolean
    /// A byte size such as `64MB` (Alluxio's space-size syntax).
    case size
    /// A duration such as `10s` or `5min`; milliseconds without a unit.
    case duration
    /// A ratio in [0, 1], such as a watermark.
    case ratio
    /// One of a fixed set of words, case-insensitive (`EMBEDDED`, `UFS`).
    case choice([String])
    /// A comma-separated list of `host:port` addresses.
    case addresses

    public static let port = PropertyType.integer(min: 0, max: 65535)

    public var description: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .boolean: "boolean"
        case .size: "size"
        case .duration: "duration"
        case .ratio: "ratio"
        case .choice(let words): "one of " + words.joined(separator: "|")
        case .addresses: "addresses"
        }
    }
}

/// A declared configuration property: name, type, default and a one-line description.
///
/// Every property Strata reads is declared once, in `PropertyKey+Registry.swift`; reading an
/// undeclared name is a programmer error. Defaults may refer to other properties as `${name}`.
public struct PropertyKey: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let type: PropertyType
    /// Nil when the property has no default (it is then unset unless a source gives it).
    public let defaultValue: String?
    public let summary: String

    public init(_ name: String, _ type: PropertyType, default defaultValue: String?, _ summary: String) {
        precondition(name.hasPrefix("strata."), "property \(name) lacks the strata. prefix")
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.summary = summary
    }

    public var description: String { name }

    public static func == (lhs: PropertyKey, rhs: PropertyKey) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    /// The environment variable that sets this property: `strata.master.rpc.port` is
    /// `STRATA_MASTER_RPC_PORT`.
    public var environmentVariable: String {
        String(name.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 })
    }
}
