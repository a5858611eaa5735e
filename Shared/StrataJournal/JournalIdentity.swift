import Crypto
import StrataCore
import Foundation
import StrataWire

/// The identity written when a journal directory is formatted: which cluster it belongs to, the
/// format version, and a storage id that changes whenever the directory is wiped — so a member
/// that lost its disk cannot silently rejoin as the voter it used to be.
public struct JournalIdentity: Sendable, Equatable, CustomStringConvertible {
    public static let formatVersion: UInt16 = 1
    static let magic: UInt32 = 0x5354_524D // "STRM"
    static let fileName = "journal.meta"

    public var clusterID: [UInt8]
    public var storageID: UInt64
    public var formatVersion: UInt16

    public init(clusterID: [UInt8], storageID: UInt64, formatVersion: UInt16 = JournalIdentity.formatVersion) {
        precondition(clusterID.count == 16, "cluster id must be 16 bytes, got \(clusterID.count)")
        self.clusterID = clusterID
        self.storageID = storageID
        self.formatVersion = formatVersion
    }

    /// A new random identity for `strata format`.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> JournalIdentity {
        JournalIdentity(clusterID: (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) },
                        storageID: UInt64.random(in: 1...UInt64.max, using: &generator))
    }

    public var clusterIDText: String { hex(clusterID) }

    /// Parses a cluster id written as 32 hexadecimal digits (`strata.cluster.id`).
    public static func clusterID(fromHex text: String) throws(JournalError) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = Substring(text)
        while rest.count >= 2, let byte = UInt8(rest.prefix(2), radix: 16) {
            bytes.append(byte)
            rest = rest.dropFirst(2)
        }
        guard bytes.count == 16, rest.isEmpty else {
            throw JournalError(.invalidArgument, "invalid strata.cluster.id '\(text)': expected 32 hexadecimal digits")
        }
        return bytes
    }
    public var description: String { "cluster \(clusterIDText) storage \(String(storageID, radix: 16))" }

    var encoded: [UInt8] {
        var writer = ByteWriter()
        writer.write(Self.magic)
        writer.write(formatVersion)
        writer.write(clusterID)
        writer.write(storageID)
        writer.write(Checksum.crc32(0, writer.bytes))
        return writer.bytes
    }

    /// Writes the identity into `directory` (durably).
    public func write(to directory: String, sync: Bool = true) throws(JournalError) {
        try JournalFiles.ensureDirectory(directory)
        try JournalFiles.writeAtomically(encoded, to: directory + "/" + Self.fileName, sync: sync)
    }

    /// Reads the identity of `directory`, checking it against the expected cluster if given.
    public static func read(from directory: String, expectedClusterID: [UInt8]? = nil) throws(JournalError) -> JournalIdentity {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else {
            throw JournalError(.notFormatted, "\(directory) is not a formatted journal (no \(fileName)); run strata format")
        }
        let bytes = try JournalFiles.read(path)
        var reader = ByteReader(bytes)
        guard let magic = reader.read(UInt32.self), magic == Self.magic, let version = reader.read(UInt16.self) else {
            throw JournalError(.corruptRecord, "\(path) is not a Strata journal identity file")
        }
        guard version <= Self.formatVersion else {
            throw JournalError(.formatVersionUnsupported, "\(path) has journal format version \(version); this Strata reads up to \(Self.formatVersion)")
        }
        guard let cluster = reader.read(count: 16), let storage = reader.read(UInt64.self), let crc = reader.read(UInt32.self),
              crc == Checksum.crc32(0, Array(bytes[0..<reader.offset - 4])) else {
            throw JournalError(.corruptRecord, "corrupt journal identity in \(path)")
        }
        let identity = JournalIdentity(clusterID: cluster, storageID: storage, formatVersion: version)
        if let expectedClusterID, expectedClusterID != cluster {
            throw JournalError(.clusterMismatch, "journal \(directory) belongs to cluster \(hex(cluster)), not \(hex(expectedClusterID))")
        }
        return identity
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

extension JournalIdentity {
    /// The cluster id of `domain`'s quorum when `strata.cluster.id` is not set: derived from
    /// what every member of the quorum is configured with — its embedded-journal addresses (or,
    /// on the UFS journal, its RPC addresses), sorted — as etcd derives its cluster id from the
    /// initial membership. Members formatted each on its own host agree; another cluster (other
    /// addresses) differs. A member added later is formatted with the id its cluster already has.
    public static func derivedClusterID(domain: JournalDomain, configuration: Configuration) -> (clusterID: [UInt8], basis: String) {
        let ufs = configuration.string(.masterJournalType) == "UFS"
        let addresses = (ufs ? domain.rpcAddresses(configuration) : domain.journalAddresses(configuration)).map(\.description).sorted()
        let basis = (ufs ? "UFS " : "EMBEDDED ") + domain.rawValue + " " + addresses.joined(separator: ",")
        let digest = SHA256.hash(data: Array(("strata cluster id v1\n" + basis).utf8))
        return (Array(Array(digest).prefix(16)), basis)
    }
}
