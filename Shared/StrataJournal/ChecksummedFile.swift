import Foundation
import StrataCore
import StrataWire

/// A small file beside the log, replaced atomically: magic (u32) | payload length (u32) | payload
/// | CRC-32 of everything before. Used for the group membership a new member joined with and for
/// its peers' storage ids.
enum ChecksummedFile {
    static let payloadSizeMax = 1 << 20

    static func write(_ payload: [UInt8], magic: UInt32, to path: String, sync: Bool) throws(JournalError) {
        precondition(payload.count < payloadSizeMax, "\(path): \(payload.count) bytes")
        var writer = ByteWriter()
        writer.write(magic)
        writer.write(UInt32(payload.count))
        writer.write(payload)
        writer.write(Checksum.crc32(0, writer.bytes))
        try JournalFiles.writeAtomically(writer.bytes, to: path, sync: sync)
    }

    /// The payload, nil if there is no file; a damaged file is an error naming it and `what` it holds.
    static func read(_ path: String, magic expected: UInt32, what: String) throws(JournalError) -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes = try JournalFiles.read(path)
        var reader = ByteReader(bytes)
        guard let magic = reader.read(UInt32.self), magic == expected, let length = reader.read(UInt32.self),
              length < payloadSizeMax, let payload = reader.read(count: Int(length)), let crc = reader.read(UInt32.self),
              crc == Checksum.crc32(0, Array(bytes[0..<reader.offset - 4])) else {
            throw JournalError(.corruptRecord, "corrupt \(what) file \(path)")
        }
        return payload
    }
}
