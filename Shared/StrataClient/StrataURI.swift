import StrataCore

/// A Strata path as users write it: `/a/b`, or a URI naming the masters in its authority —
/// `strata://h1:19998,h2:19998/a/b` (`;` and `+` separate too) — or ZooKeeper,
/// `strata://zk@zk1:2181;zk2:2181/a/b`.
public struct StrataURI: Sendable, Equatable {
    public enum Authority: Sendable, Equatable {
        case none
        case masters([HostAndPort])
        case zooKeeper([HostAndPort])
    }

    public var authority: Authority
    public var path: String

    public init(parsing text: String) throws(RPCErrorText) {
        guard text.hasPrefix("strata://") else {
            guard text.hasPrefix("/") else { throw RPCErrorText("invalid path \(text): expected /path or strata://host:port/path") }
            authority = .none
            path = text
            return
        }
        let rest = text.dropFirst("strata://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authorityText = String(rest[..<slash])
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var zooKeeper = false
        if authorityText.hasPrefix("zk@") {
            zooKeeper = true
            authorityText = String(authorityText.dropFirst(3))
        }
        if authorityText.isEmpty {
            authority = .none
            return
        }
        var addresses: [HostAndPort] = []
        for part in authorityText.split(whereSeparator: { $0 == "," || $0 == ";" || $0 == "+" }) {
            guard let address = HostAndPort(parsing: String(part)) else {
                throw RPCErrorText("invalid address '\(part)' in \(text): expected host:port")
            }
            addresses.append(address)
        }
        authority = zooKeeper ? .zooKeeper(addresses) : .masters(addresses)
    }
}

/// A user-input error in a URI or path.
public struct RPCErrorText: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
