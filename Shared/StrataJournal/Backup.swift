import CompressNIO
import Foundation
import NIOCore
import StrataCore
import StrataWire

/// A backup of the journaled services' state: one section per service (the namespace with its
/// mount table; the job table), gzip-compressed. Before compression:
///
///     header   magic "STRB" (u32) | format version (u16) | cluster id (16 bytes) | created (ms, u64)
///              | journal index the namespace is as of (u64)
///     section  kind (u8) | entries (u64) | length (u64) | CRC-32 of the bytes (u32) | bytes      (repeated)
///     end      0xFF | sections (u32) | CRC-32 of everything before (u32)
///
/// Every section is checked and the end marker must be there, so a truncated, damaged or
/// half-written file is recognised as such and never restored.
public struct Backup: Sendable, Equatable {
    public static let magic: UInt32 = 0x5354_5242 // "STRB"
    public static let formatVersion: UInt16 = 1
    static let endKind: UInt8 = 0xFF
    /// Largest backup read back, uncompressed.
    public static let sizeMaxBytes = 16 << 30

    public enum SectionKind: UInt8, Sendable, CustomStringConvertible {
        case namespace = 1
        case jobTable = 2
        public var description: String { self == .namespace ? "namespace" : "job table" }
    }

    public struct Section: Sendable, Equatable {
        public var kind: SectionKind
        /// Inodes of the namespace, jobs of the job table.
        public var entries: UInt64
        public var data: [UInt8]

        public init(kind: SectionKind, entries: UInt64, data: [UInt8]) {
            self.kind = kind
            self.entries = entries
            self.data = data
        }
    }

    public var clusterID: [UInt8]
    public var createdMilliseconds: UInt64
    public var journalIndex: UInt64
    public var sections: [Section]

    public init(clusterID: [UInt8], createdMilliseconds: UInt64, journalIndex: UInt64, sections: [Section]) {
        precondition(clusterID.count == 16, "a cluster id has 16 bytes")
        self.clusterID = clusterID
        self.createdMilliseconds = createdMilliseconds
        self.journalIndex = journalIndex
        self.sections = sections
    }

    public var entryCount: UInt64 { sections.reduce(0) { $0 + $1.entries } }

    public func section(_ kind: SectionKind) -> Section? { sections.first { $0.kind == kind } }

    /// `strata-backup-YYYY-MM-DD-<millis>.gz`, the date in UTC.
    public static func fileName(createdMilliseconds: UInt64) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        let date = formatter.string(from: Date(timeIntervalSince1970: Double(createdMilliseconds) / 1000))
        return "strata-backup-\(date)-\(createdMilliseconds).gz"
    }

    public static func isBackupFileName(_ name: String) -> Bool { name.hasPrefix("strata-backup-") && name.hasSuffix(".gz") }

    /// The creation time a backup file's name carries (0 if it carries none).
    public static func createdMilliseconds(fromFileName name: String) -> UInt64 {
        UInt64(name.dropLast(".gz".count).split(separator: "-").last ?? "") ?? 0
    }

    /// The file's bytes: the layout above, gzip-compressed.
    public func encoded() throws(BackupError) -> ByteBuffer {
        var writer = ByteWriter()
        writer.write(Self.magic)
        writer.write(Self.formatVersion)
        writer.write(clusterID)
        writer.write(createdMilliseconds)
        writer.write(journalIndex)
        for section in sections {
            writer.write(section.kind.rawValue)
            writer.write(section.entries)
            writer.write(UInt64(section.data.count))
            writer.write(Checksum.crc32(0, section.data))
            writer.write(section.data)
        }
        writer.write(Self.endKind)
        writer.write(UInt32(sections.count))
        writer.write(Checksum.crc32(0, writer.bytes))
        var plain = ByteBuffer(bytes: writer.bytes)
        do {
            return try plain.compress(with: .gzip())
        } catch {
            throw BackupError("cannot compress the backup: \(error)")
        }
    }

    /// Reads a backup file's bytes, checking everything; `name` is for messages.
    public init(decoding file: ByteBuffer, name: String) throws(BackupError) {
        var compressed = file
        let plain: ByteBuffer
        do {
            plain = try compressed.decompress(with: .gzip(), maxSize: Self.sizeMaxBytes)
        } catch {
            throw BackupError("\(name) is not a complete gzip file (\(error)): the backup is truncated or damaged")
        }
        let bytes = Array(plain.readableBytesView)
        // The gzip trailer (CRC-32 and length of the uncompressed bytes, little-endian): a file
        // cut anywhere, even after the compressed data, is not complete.
        let raw = Array(file.readableBytesView)
        guard raw.count >= 18 else { throw BackupError("\(name) is too short to be a backup: the backup is truncated") }
        let trailer = raw.suffix(8).map(UInt32.init)
        let trailerCRC = trailer[0] | trailer[1] << 8 | trailer[2] << 16 | trailer[3] << 24
        let trailerSize = trailer[4] | trailer[5] << 8 | trailer[6] << 16 | trailer[7] << 24
        guard trailerCRC == Checksum.crc32(0, bytes), trailerSize == UInt32(truncatingIfNeeded: bytes.count) else {
            throw BackupError("\(name) does not end with the gzip trailer of its contents: the backup is truncated or damaged")
        }
        var reader = ByteReader(bytes)
        guard let magic = reader.read(UInt32.self), magic == Self.magic else { throw BackupError("\(name) is not a Strata backup (no STRB header)") }
        guard let version = reader.read(UInt16.self), version <= Self.formatVersion else {
            throw BackupError("\(name) has backup format version \(reader.offset >= 6 ? "newer than \(Self.formatVersion)" : "missing"): restore it with a newer Strata")
        }
        guard let cluster = reader.read(count: 16), let created = reader.read(UInt64.self), let index = reader.read(UInt64.self) else {
            throw BackupError("\(name): the header is incomplete")
        }
        var sections: [Section] = []
        while true {
            let at = reader.offset
            guard let kindByte = reader.read(UInt8.self) else {
                throw BackupError("\(name) ends after \(sections.count) section(s) at offset \(at) without its end marker: the backup is incomplete")
            }
            if kindByte == Self.endKind {
                guard let count = reader.read(UInt32.self), let crc = reader.read(UInt32.self) else {
                    throw BackupError("\(name): the end marker at offset \(at) is incomplete")
                }
                guard count == sections.count else { throw BackupError("\(name): the end marker counts \(count) sections, the file holds \(sections.count)") }
                guard crc == Checksum.crc32(0, Array(bytes[0..<(reader.offset - 4)])) else { throw BackupError("\(name): checksum mismatch over the whole backup") }
                guard reader.offset == bytes.count else { throw BackupError("\(name): \(bytes.count - reader.offset) bytes after the end marker") }
                break
            }
            guard let kind = SectionKind(rawValue: kindByte) else { throw BackupError("\(name): unknown section kind \(kindByte) at offset \(at)") }
            guard let entries = reader.read(UInt64.self), let length = reader.read(UInt64.self), let crc = reader.read(UInt32.self),
                  length <= UInt64(bytes.count - reader.offset), let data = reader.read(count: Int(length)) else {
                throw BackupError("\(name): the \(kind) section at offset \(at) is incomplete: the backup is truncated")
            }
            guard Checksum.crc32(0, data) == crc else { throw BackupError("\(name): the \(kind) section at offset \(at) is damaged (checksum mismatch)") }
            guard !sections.contains(where: { $0.kind == kind }) else { throw BackupError("\(name): two \(kind) sections") }
            sections.append(Section(kind: kind, entries: entries, data: data))
        }
        self.init(clusterID: cluster, createdMilliseconds: created, journalIndex: index, sections: sections)
    }
}

extension Backup.Section: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "\(kind): \(entries) entries, \(data.count) bytes" }
    public var debugDescription: String { description }
}

extension Backup: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "backup of cluster \(clusterID.map { String(format: "%02x", $0) }.joined()) at index \(journalIndex): \(sections)" }
    public var debugDescription: String { description }
}

public struct BackupError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
