import Foundation
/// A network address as operators write it: `host:port`.
public struct HostAndPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        precondition((0...65535).contains(port), "port \(port) out of range for host \(host)")
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (IPv6 as `[::1]:19998`). Nil if the text is not such an address. A host
    /// is a DNS name or an IP address: ASCII letters, digits and `-._`, with `:` and `%` (a zone)
    /// for IPv6. (Anything else could not be resolved, and a combining mark after `[` once made a
    /// host that did not read back the same once printed: the fuzzer's find.)
    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.unicodeScalars.allSatisfy(\.isASCII), let colon = trimmed.lastIndex(of: ":") else { return nil }
        var host = String(trimmed[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.unicodeScalars.allSatisfy(Self.isHostCharacter),
              let port = Int(trimmed[trimmed.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        self.init(host: host, port: port)
    }

    private static func isHostCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", ".", "_", ":", "%": true
        default: false
        }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension HostAndPort {
    /// True for a host name that names this machine (loopback, or this host's name).
    public static func isLocalHost(_ host: String) -> Bool {
        let local: Set<String> = ["localhost", "127.0.0.1", "::1", "0.0.0.0", ProcessInfo.processInfo.hostName]
        return local.contains(host) || host.hasPrefix("127.")
    }
}

extension HostAndPort {
    /// A stable 64-bit id of `host:port` (FNV-1a; never 0): how Raft members and workers are
    /// named the same on every process without being told.
    public var stableID: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in description.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0100_0000_01b3
        }
        return hash == 0 ? 1 : hash
    }
}
