import Foundation
import StrataCore
import StrataRaft

/// The journal storage id (from `journal.id`) each peer of this member has shown, kept in `peers`
/// beside the log (magic, count, pairs of member id and storage id, CRC-32). A voter that comes
/// back with another storage id lost the disk it voted and acknowledged from: counting it as the
/// same member could lose committed entries (it forgot what it promised), so its messages are
/// refused until it is removed from the quorum and added again.
enum PeerStorageFile {
    static let fileName = "peers"
    static let magic: UInt32 = 0x5354_5250 // "STRP"
    static let peersMax = 1024

    static func write(_ peers: [MemberID: UInt64], directory: String, sync: Bool) throws(JournalError) {
        precondition(peers.count <= peersMax, "\(peers.count) peers")
        var writer = ByteWriter()
        for (member, storage) in peers.sorted(by: { $0.key < $1.key }) {
            writer.write(member)
            writer.write(storage)
        }
        try ChecksummedFile.write(writer.bytes, magic: magic, to: directory + "/" + fileName, sync: sync)
    }

    /// The saved storage ids (empty if there is no file); a damaged file is an error naming it.
    static func read(directory: String) throws(JournalError) -> [MemberID: UInt64] {
        let path = directory + "/" + fileName
        guard let payload = try ChecksummedFile.read(path, magic: magic, what: "peer storage") else { return [:] }
        guard payload.count % 16 == 0, payload.count / 16 <= peersMax else { throw JournalError(.corruptRecord, "corrupt peer storage file \(path)") }
        var reader = ByteReader(payload)
        var peers: [MemberID: UInt64] = [:]
        while let member = reader.read(UInt64.self), let storage = reader.read(UInt64.self) { peers[member] = storage }
        return peers
    }
}
