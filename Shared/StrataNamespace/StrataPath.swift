/// An absolute, normalized path in the Strata namespace: `/`, `/a`, `/a/b`.
///
/// Rules (Alluxio's): absolute; `//` and a trailing `/` are folded; components are at most
/// `componentLengthMax` bytes and are not `.` or `..`; no NUL; at most `depthMax` components.
public struct StrataPath: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let componentLengthMax = 255
    public static let depthMax = 512
    public static let root = StrataPath(validComponents: [])

    public let components: [String]

    private init(validComponents: [String]) { components = validComponents }

    /// Parses `text`, or throws `invalidPath` naming what is wrong.
    public init(_ text: String) throws(NamespaceError) {
        guard text.hasPrefix("/") else {
            throw NamespaceError(.invalidPath, "path \(text.isEmpty ? "\"\"" : text) is invalid: it must be absolute (start with /)")
        }
        guard !text.utf8.contains(0) else { throw NamespaceError(.invalidPath, "path \(text) is invalid: it contains a NUL byte") }
        let parts = text.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count <= Self.depthMax else {
            throw NamespaceError(.invalidPath, "path \(text) is invalid: deeper than \(Self.depthMax) components")
        }
        for part in parts {
            try Self.validateName(part, in: text)
        }
        components = parts
    }

    /// Checks one file or directory name.
    public static func validateName(_ name: String, in path: String? = nil) throws(NamespaceError) {
        let context = path.map { "path \($0) is invalid: " } ?? "name \(name) is invalid: "
        guard !name.isEmpty else { throw NamespaceError(.invalidPath, context + "empty name") }
        guard !name.utf8.contains(UInt8(ascii: "/")) else { throw NamespaceError(.invalidPath, context + "a name cannot contain '/'") }
        guard name != "." && name != ".." else { throw NamespaceError(.invalidPath, context + "'\(name)' is not a valid name") }
        guard name.utf8.count <= componentLengthMax else {
            throw NamespaceError(.invalidPath, context + "name of \(name.utf8.count) bytes exceeds \(componentLengthMax)")
        }
        guard !name.utf8.contains(0) else { throw NamespaceError(.invalidPath, context + "a name cannot contain NUL") }
    }

    public var isRoot: Bool { components.isEmpty }
    public var name: String { components.last ?? "" }
    public var parent: StrataPath? { isRoot ? nil : StrataPath(validComponents: Array(components.dropLast())) }

    public func appending(_ name: String) throws(NamespaceError) -> StrataPath {
        try Self.validateName(name)
        return StrataPath(validComponents: components + [name])
    }

    /// `self` with a name already known to be valid (one held by the namespace) appended.
    func appending(validName name: String) -> StrataPath {
        StrataPath(validComponents: components + [name])
    }

    /// Whether `self` is `other` or lies below it.
    public func isDescendant(of other: StrataPath) -> Bool {
        components.count >= other.components.count && Array(components.prefix(other.components.count)) == other.components
    }

    public var description: String { "/" + components.joined(separator: "/") }

    public static func < (lhs: StrataPath, rhs: StrataPath) -> Bool { lhs.description < rhs.description }
}
