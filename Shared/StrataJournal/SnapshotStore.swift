import StrataCore
import Foundation
import StrataRaft
import StrataWire

/// Snapshot files of one member: `snapshot-<index>-<term>.snap`, each a checksummed header
/// (magic "STRS", format version, cluster id, index, term, membership, data length and CRC)
/// followed by the state machine's bytes. Written to a temporary file, fsynced, renamed; the
/// newest `retained` are kept. A file is also the unit of transfer to a lagging member: the bytes
/// travel as they are and the receiver checks them exactly as it checks its own.
public final class SnapshotStore: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var meta: SnapshotMeta
        public var data: [UInt8]

        public init(meta: SnapshotMeta, data: [UInt8]) {
            self.meta = meta
            self.data = data
        }
    }

    static let magic: UInt32 = 0x5354_5253 // "STRS"
    public let directory: String
    public let identity: JournalIdentity
    let retained: Int
    let sync: Bool

    public init(directory: String, identity: JournalIdentity, retained: Int = 2, sync: Bool = true) throws(JournalError) {
        precondition(retained >= 1, "must retain at least one snapshot")
        self.directory = directory
        self.identity = identity
        self.retained = retained
        self.sync = sync
        try JournalFiles.ensureDirectory(directory)
    }

    /// Stores a snapshot durably and prunes old ones. Returns the file's path.
    @discardableResult
    public func save(_ snapshot: Snapshot) throws(JournalError) -> String {
        let path = self.path(for: snapshot.meta)
        try JournalFiles.writeAtomically(encode(snapshot), to: path, sync: sync)
        try prune()
        return path
    }

    /// Stores a snapshot received from the leader as file bytes, after checking them.
    public func install(fileBytes: [UInt8]) throws(JournalError) -> Snapshot {
        let snapshot = try decode(fileBytes, source: "received snapshot")
        try JournalFiles.writeAtomically(fileBytes, to: path(for: snapshot.meta), sync: sync)
        try prune()
        return snapshot
    }

    /// The newest snapshot that passes its checks; damaged newer ones are reported in `repairs`
    /// and renamed aside (`.corrupt`) so they are not tried again.
    public func latest(repairs: inout [String]) throws(JournalError) -> Snapshot? {
        for name in try snapshotFiles().reversed() {
            let path = directory + "/" + name
            do {
                return try decode(try JournalFiles.read(path), source: path)
            } catch where error.code == .corruptRecord {
                repairs.append("\(error.message); using an older snapshot")
                _ = rename(path, path + ".corrupt")
            }
        }
        return nil
    }

    /// Renames the snapshots at `index` or later aside (`name + suffix`), so that they are never
    /// loaded again; returns their new paths.
    public func setAside(fromIndex index: UInt64, suffix: String) throws(JournalError) -> [String] {
        var moved: [String] = []
        for name in try snapshotFiles() {
            let digits = name.dropFirst("snapshot-".count).prefix(20)
            guard let fileIndex = UInt64(digits), fileIndex >= index else { continue }
            let path = directory + "/" + name
            guard rename(path, path + suffix) == 0 else {
                throw JournalError(.io, "cannot rename \(path) aside: \(String(cString: strerror(errno)))")
            }
            moved.append(path + suffix)
        }
        return moved
    }

    /// The bytes of the stored file for `meta`, to stream to a member.
    public func fileBytes(of meta: SnapshotMeta) throws(JournalError) -> [UInt8] {
        try JournalFiles.read(path(for: meta))
    }

    // MARK: Format

    func encode(_ snapshot: Snapshot) -> [UInt8] {
        var header = ByteWriter()
        header.write(Self.magic)
        header.write(JournalIdentity.formatVersion)
        header.write(identity.clusterID)
        header.write(snapshot.meta.index)
        header.write(snapshot.meta.term)
        let membership = snapshot.meta.membership.encoded
        header.write(UInt32(membership.count))
        header.write(membership)
        header.write(UInt64(snapshot.data.count))
        header.write(Checksum.crc32(0, snapshot.data))
        header.write(Checksum.crc32(0, header.bytes))
        return header.bytes + snapshot.data
    }

    func decode(_ bytes: [UInt8], source: String) throws(JournalError) -> Snapshot {
        var reader = ByteReader(bytes)
        guard reader.read(UInt32.self) == Self.magic, let version = reader.read(UInt16.self) else {
            throw JournalError(.corruptRecord, "\(source) is not a Strata snapshot")
        }
        guard version <= JournalIdentity.formatVersion else {
            throw JournalError(.formatVersionUnsupported, "\(source) has snapshot format version \(version); this Strata reads up to \(JournalIdentity.formatVersion)")
        }
        guard let cluster = reader.read(count: 16), let index = reader.read(UInt64.self), let term = reader.read(UInt64.self),
              let membershipLength = reader.read(UInt32.self), membershipLength < 1 << 20,
              let membershipBytes = reader.read(count: Int(membershipLength)),
              let dataLength = reader.read(UInt64.self), let dataCRC = reader.read(UInt32.self) else {
            throw JournalError(.corruptRecord, "corrupt snapshot header in \(source)")
        }
        let headerEnd = reader.offset
        guard let headerCRC = reader.read(UInt32.self), headerCRC == Checksum.crc32(0, Array(bytes[0..<headerEnd])) else {
            throw JournalError(.corruptRecord, "snapshot header checksum mismatch in \(source)")
        }
        guard cluster == identity.clusterID else {
            throw JournalError(.clusterMismatch, "\(source) belongs to cluster \(hex(cluster)), not \(identity.clusterIDText)")
        }
        guard let membership = Membership(decoding: membershipBytes) else {
            throw JournalError(.corruptRecord, "corrupt membership in snapshot \(source)")
        }
        guard dataLength == UInt64(reader.remaining), let data = reader.read(count: Int(dataLength)) else {
            throw JournalError(.corruptRecord, "snapshot \(source) holds \(reader.remaining) data bytes, header says \(dataLength)")
        }
        guard Checksum.crc32(0, data) == dataCRC else {
            throw JournalError(.corruptRecord, "snapshot data checksum mismatch in \(source)")
        }
        return Snapshot(meta: SnapshotMeta(index: index, term: term, membership: membership), data: data)
    }

    // MARK: Files

    func path(for meta: SnapshotMeta) -> String {
        directory + "/snapshot-" + RaftLogStore.paddedIndex(meta.index) + "-" + String(meta.term) + ".snap"
    }

    private func snapshotFiles() throws(JournalError) -> [String] {
        try JournalFiles.list(directory).filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }
    }

    /// Safe beside another prune (checkpoints are saved on their own thread, received snapshots
    /// on the disk thread): a file the other removed first is not an error.
    private func prune() throws(JournalError) {
        let files = try snapshotFiles()
        for name in files.dropLast(retained) {
            let path = directory + "/" + name
            do { try JournalFiles.remove(path) } catch {
                if FileManager.default.fileExists(atPath: path) { throw error } // else the other prune removed it
            }
        }
    }
}
