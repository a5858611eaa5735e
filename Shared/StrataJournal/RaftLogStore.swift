import StrataCore
import Foundation
import StrataRaft
import StrataWire

/// The durable Raft log of one member: segment files of checksummed records, and the hard state.
///
/// Layout under `directory`: `segment-<first index, 20 digits>.log` files, each a 36-byte header
/// (magic "STRJ", format version, cluster id, first index, header CRC) followed by records
/// (payload length u32, CRC-32 of the payload u32, payload: term u64, index u64, kind u8, data);
/// and `hardstate` (term, vote, commit, CRC), replaced atomically.
///
/// Not thread-safe: one owner (the journal's I/O executor) uses it.
public final class RaftLogStore {
    public struct Recovered: Sendable {
        public var hardState: HardState
        /// Entries after the snapshot, in order.
        public var entries: [LogEntry]
        /// What recovery had to repair: torn or corrupt tails it truncated, with file and offset.
        public var repairs: [String]
    }

    static let segmentMagic: UInt32 = 0x5354_524A // "STRJ"
    static let hardStateMagic: UInt32 = 0x5354_5248 // "STRH"
    static let segmentHeaderSizeBytes = 36
    static let recordHeaderSizeBytes = 8
    static let recordFixedPayloadBytes = 17

    private struct Segment {
        var firstIndex: UInt64
        var path: String
        /// Start offset of each record, in index order.
        var offsets: [Int]
        var sizeBytes: Int
        var lastIndex: UInt64? { offsets.isEmpty ? nil : firstIndex + UInt64(offsets.count) - 1 }
    }

    public let directory: String
    public let identity: JournalIdentity
    let segmentSizeMaxBytes: Int
    let entrySizeMaxBytes: Int
    /// fsync on flush (off only with `unsafe.flush`).
    let sync: Bool
    private var segments: [Segment] = []
    private var handle: FileHandle?
    private var directoryDirty = false

    private init(directory: String, identity: JournalIdentity, segmentSizeMaxBytes: Int, entrySizeMaxBytes: Int, sync: Bool) {
        self.directory = directory
        self.identity = identity
        self.segmentSizeMaxBytes = segmentSizeMaxBytes
        self.entrySizeMaxBytes = entrySizeMaxBytes
        self.sync = sync
    }

    deinit { try? handle?.close() }

    /// Opens the log in `directory`, repairing a torn or corrupt tail (truncating to the last
    /// valid record and reporting it) rather than refusing to start. Entries at or below
    /// `snapshotIndex` are covered by the snapshot and skipped.
    public static func open(
        directory: String, identity: JournalIdentity, snapshotIndex: UInt64,
        segmentSizeMaxBytes: Int = 64 << 20, entrySizeMaxBytes: Int = 16 << 20, sync: Bool = true
    ) throws(JournalError) -> (RaftLogStore, Recovered) {
        precondition(segmentSizeMaxBytes > segmentHeaderSizeBytes, "segment size max \(segmentSizeMaxBytes) too small")
        try JournalFiles.ensureDirectory(directory)
        let store = RaftLogStore(directory: directory, identity: identity, segmentSizeMaxBytes: segmentSizeMaxBytes,
                                 entrySizeMaxBytes: entrySizeMaxBytes, sync: sync)
        var repairs: [String] = []
        let hardState = try store.readHardState()
        let entries = try store.recoverSegments(snapshotIndex: snapshotIndex, repairs: &repairs)
        return (store, Recovered(hardState: hardState, entries: entries, repairs: repairs))
    }

    public var lastIndex: UInt64? { segments.last(where: { $0.lastIndex != nil })?.lastIndex }

    /// Reads every valid record in `directory` without changing anything (for `readJournal`):
    /// stops at the first damaged record and reports it in `problems`.
    public static func readOnly(directory: String, identity: JournalIdentity, entrySizeMaxBytes: Int = 64 << 20) throws(JournalError) -> (entries: [LogEntry], hardState: HardState, problems: [String]) {
        let reader = RaftLogStore(directory: directory, identity: identity, segmentSizeMaxBytes: 1 << 30, entrySizeMaxBytes: entrySizeMaxBytes, sync: false)
        let hardState = try reader.readHardState()
        var entries: [LogEntry] = []
        var problems: [String] = []
        let names = try JournalFiles.list(directory).filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }
        scan: for name in names {
            let path = directory + "/" + name
            var bytes = ByteReader(try JournalFiles.read(path))
            guard try reader.readSegmentHeader(&bytes, path: path) != nil else {
                problems.append("\(path): header incomplete or corrupt")
                break
            }
            while bytes.remaining > 0 {
                let offset = bytes.offset
                switch reader.decodeRecord(&bytes) {
                case .success(let entry): entries.append(entry)
                case .failure(let reason):
                    problems.append("\(path) at offset \(offset): \(reason)")
                    break scan
                }
            }
        }
        return (entries, hardState, problems)
    }

    // MARK: Writing

    /// Writes `entries`, first removing any stored entries from `entries.first.index` on.
    /// Not durable until `flush()`.
    public func append(_ entries: [LogEntry]) throws(JournalError) {
        guard let first = entries.first else { return }
        if let last = lastIndex, first.index <= last { try truncate(from: first.index) }
        if let last = lastIndex { precondition(first.index == last + 1, "appending \(first.index) after \(last)") }
        var batch: [UInt8] = []
        for entry in entries {
            precondition(entry.data.count <= entrySizeMaxBytes, "entry \(entry.index) of \(entry.data.count) bytes exceeds \(entrySizeMaxBytes)")
            if segments.isEmpty || segments[segments.count - 1].sizeBytes + batch.count >= segmentSizeMaxBytes {
                try writeToOpenSegment(batch)
                batch = []
                try startSegment(firstIndex: entry.index)
            }
            let record = Self.encodeRecord(entry)
            segments[segments.count - 1].offsets.append(segments[segments.count - 1].sizeBytes + batch.count)
            batch.append(contentsOf: record)
        }
        try writeToOpenSegment(batch)
    }

    /// Makes everything written so far durable (one fsync: the group commit).
    public func flush() throws(JournalError) {
        guard sync else { return }
        do {
            try handle?.synchronize()
        } catch {
            throw JournalError(.io, "cannot fsync \(segments.last?.path ?? directory): \(JournalFiles.describe(error))")
        }
        if directoryDirty {
            try JournalFiles.syncDirectory(of: directory + "/x")
            directoryDirty = false
        }
    }

    /// Persists the hard state atomically (and durably).
    public func saveHardState(_ hardState: HardState) throws(JournalError) {
        var writer = ByteWriter()
        writer.write(Self.hardStateMagic)
        writer.write(hardState.term)
        writer.write(hardState.vote ?? 0)
        writer.write(hardState.commit)
        writer.write(Checksum.crc32(0, writer.bytes))
        try JournalFiles.writeAtomically(writer.bytes, to: directory + "/hardstate", sync: sync)
    }

    /// Removes stored entries from `index` on.
    public func truncate(from index: UInt64) throws(JournalError) {
        while let last = segments.last, last.firstIndex >= index, segments.count > 1 || last.firstIndex > index {
            try closeHandle()
            try JournalFiles.remove(last.path)
            segments.removeLast()
            directoryDirty = true
        }
        guard var segment = segments.last, let last = segment.lastIndex, index <= last else {
            if segments.isEmpty == false { try openHandle() }
            return
        }
        let keep = Int(index - segment.firstIndex)
        let size = keep < segment.offsets.count ? segment.offsets[keep] : segment.sizeBytes
        segment.offsets.removeLast(segment.offsets.count - keep)
        segment.sizeBytes = size
        segments[segments.count - 1] = segment
        try openHandle()
        do {
            try handle!.truncate(atOffset: UInt64(size))
            try handle!.seekToEnd()
        } catch {
            throw JournalError(.io, "cannot truncate \(segment.path) at offset \(size): \(JournalFiles.describe(error))")
        }
    }

    /// Drops every entry: the member installed a snapshot that replaces its whole log.
    public func removeAll() throws(JournalError) {
        try closeHandle()
        for segment in segments { try JournalFiles.remove(segment.path) }
        segments = []
        directoryDirty = true
    }

    /// Deletes whole segments whose entries are all at or below `index` (covered by a snapshot).
    /// The newest segment is kept so appends continue in it.
    public func compact(through index: UInt64) throws(JournalError) {
        while segments.count > 1, let last = segments[0].lastIndex, last <= index {
            try JournalFiles.remove(segments[0].path)
            segments.removeFirst()
            directoryDirty = true
        }
    }

    // MARK: Recovery

    private func readHardState() throws(JournalError) -> HardState {
        let path = directory + "/hardstate"
        guard FileManager.default.fileExists(atPath: path) else { return HardState() }
        let bytes = try JournalFiles.read(path)
        var reader = ByteReader(bytes)
        guard reader.read(UInt32.self) == Self.hardStateMagic,
              let term = reader.read(UInt64.self), let vote = reader.read(UInt64.self), let commit = reader.read(UInt64.self),
              let crc = reader.read(UInt32.self), crc == Checksum.crc32(0, Array(bytes[0..<28])), reader.remaining == 0 else {
            // Written atomically, so this is not a torn write but a damaged disk. Refuse: a lost
            // vote could let this member vote twice in one term.
            throw JournalError(.corruptRecord, "corrupt hard state in \(path); restore the member from a backup or remove it from the quorum")
        }
        return HardState(term: term, vote: vote == 0 ? nil : vote, commit: commit)
    }

    private func recoverSegments(snapshotIndex: UInt64, repairs: inout [String]) throws(JournalError) -> [LogEntry] {
        let names = try JournalFiles.list(directory).filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }
        var entries: [LogEntry] = []
        var expected: UInt64? = nil
        for (position, name) in names.enumerated() {
            let path = directory + "/" + name
            let bytes = try JournalFiles.read(path)
            let isLast = position == names.count - 1
            var reader = ByteReader(bytes)
            guard let firstIndex = try readSegmentHeader(&reader, path: path) else {
                // Too short or unreadable header: a segment torn while being created.
                repairs.append("removed \(path): header incomplete or corrupt (\(bytes.count) bytes)")
                try removeSegments(names[position...].map { directory + "/" + $0 })
                break
            }
            if let expected, firstIndex != expected {
                repairs.append("removed \(path) and later segments: starts at index \(firstIndex), expected \(expected)")
                try removeSegments(names[position...].map { directory + "/" + $0 })
                break
            }
            var segment = Segment(firstIndex: firstIndex, path: path, offsets: [], sizeBytes: bytes.count)
            var next = firstIndex
            var damage: String? = nil
            while reader.remaining > 0 {
                let offset = reader.offset
                switch decodeRecord(&reader) {
                case .success(let entry):
                    if entry.index != next {
                        damage = "record at offset \(offset) has index \(entry.index), expected \(next)"
                    } else {
                        segment.offsets.append(offset)
                        if entry.index > snapshotIndex { entries.append(entry) }
                        next += 1
                        continue
                    }
                case .failure(let reason):
                    damage = "\(reason) at offset \(offset)"
                }
                // Truncate to the last valid record; later segments cannot follow a gap.
                segment.sizeBytes = offset
                do {
                    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                    try handle.truncate(atOffset: UInt64(offset))
                    try handle.synchronize()
                    try handle.close()
                } catch {
                    throw JournalError(.io, "cannot truncate \(path) at offset \(offset): \(JournalFiles.describe(error))")
                }
                let later = names[(position + 1)...].map { directory + "/" + $0 }
                try removeSegments(later)
                repairs.append("truncated \(path) at offset \(offset) (\(isLast ? "torn tail" : "corrupt record")): \(damage!)"
                               + (later.isEmpty ? "" : "; removed \(later.count) later segment(s)"))
                break
            }
            segments.append(segment)
            expected = next
            if damage != nil { break }
        }
        // Entries must continue the snapshot; anything else is unusable.
        if let first = entries.first, first.index != snapshotIndex + 1 {
            repairs.append("dropped entries \(first.index)...\(entries.last!.index): they do not follow snapshot index \(snapshotIndex)")
            entries = []
            try removeAll()
        }
        if !segments.isEmpty { try openHandle() }
        return entries
    }

    private func removeSegments(_ paths: [String]) throws(JournalError) {
        for path in paths { try JournalFiles.remove(path) }
        if !paths.isEmpty { try JournalFiles.syncDirectory(of: directory + "/x") }
    }

    /// The first index of the segment, or nil if its header is torn. Throws for a header that is
    /// whole but belongs to another cluster or a newer format.
    private func readSegmentHeader(_ reader: inout ByteReader, path: String) throws(JournalError) -> UInt64? {
        guard reader.remaining >= Self.segmentHeaderSizeBytes else { return nil }
        let header = Array(reader.bytes[0..<32])
        guard reader.read(UInt32.self) == Self.segmentMagic, let version = reader.read(UInt16.self),
              let _ = reader.read(UInt16.self), let cluster = reader.read(count: 16), let firstIndex = reader.read(UInt64.self),
              let crc = reader.read(UInt32.self), crc == Checksum.crc32(0, header) else { return nil }
        guard version <= JournalIdentity.formatVersion else {
            throw JournalError(.formatVersionUnsupported, "\(path) has journal format version \(version); this Strata reads up to \(JournalIdentity.formatVersion)")
        }
        guard cluster == identity.clusterID else {
            throw JournalError(.clusterMismatch, "\(path) belongs to cluster \(hex(cluster)), not \(identity.clusterIDText)")
        }
        return firstIndex
    }

    enum Decoded {
        case success(LogEntry)
        case failure(String)
    }

    private func decodeRecord(_ reader: inout ByteReader) -> Decoded {
        Self.decodeRecord(&reader, entrySizeMaxBytes: entrySizeMaxBytes)
    }

    /// Decodes one record (shared with the UFS journal's log files, which use the same records).
    static func decodeRecord(_ reader: inout ByteReader, entrySizeMaxBytes: Int) -> Decoded {
        guard let length = reader.read(UInt32.self), let crc = reader.read(UInt32.self) else { return .failure("incomplete record header") }
        guard Int(length) >= Self.recordFixedPayloadBytes, Int(length) <= entrySizeMaxBytes + Self.recordFixedPayloadBytes else {
            return .failure("record length \(length) out of bounds")
        }
        guard let payload = reader.read(count: Int(length)) else { return .failure("incomplete record of \(length) bytes") }
        guard Checksum.crc32(0, payload) == crc else { return .failure("checksum mismatch") }
        var fields = ByteReader(payload)
        guard let term = fields.read(UInt64.self), let index = fields.read(UInt64.self), let kindByte = fields.read(UInt8.self),
              let kind = EntryKind(rawValue: kindByte), let data = fields.read(count: fields.remaining) else {
            return .failure("malformed record payload")
        }
        return .success(LogEntry(term: term, index: index, kind: kind, data: data))
    }

    static func encodeRecord(_ entry: LogEntry) -> [UInt8] {
        var payload = ByteWriter()
        payload.write(entry.term)
        payload.write(entry.index)
        payload.write(entry.kind.rawValue)
        payload.write(entry.data)
        var record = ByteWriter()
        record.write(UInt32(payload.bytes.count))
        record.write(Checksum.crc32(0, payload.bytes))
        record.write(payload.bytes)
        return record.bytes
    }

    // MARK: Segments

    private func startSegment(firstIndex: UInt64) throws(JournalError) {
        try closeHandle()
        let header = Self.fileHeader(magic: Self.segmentMagic, clusterID: identity.clusterID, values: [firstIndex])
        let path = directory + "/segment-" + Self.paddedIndex(firstIndex) + ".log"
        guard FileManager.default.createFile(atPath: path, contents: Data(header)) else {
            throw JournalError(.io, "cannot create \(path)")
        }
        segments.append(Segment(firstIndex: firstIndex, path: path, offsets: [], sizeBytes: header.count))
        directoryDirty = true
        try openHandle()
    }

    private func writeToOpenSegment(_ bytes: [UInt8]) throws(JournalError) {
        guard !bytes.isEmpty else { return }
        if handle == nil { try openHandle() }
        do {
            try handle!.write(contentsOf: Data(bytes))
        } catch {
            throw JournalError(.io, "cannot write \(bytes.count) bytes to \(segments.last!.path): \(JournalFiles.describe(error))")
        }
        segments[segments.count - 1].sizeBytes += bytes.count
    }

    private func openHandle() throws(JournalError) {
        guard handle == nil, let segment = segments.last else { return }
        do {
            let opened = try FileHandle(forUpdating: URL(fileURLWithPath: segment.path))
            try opened.seek(toOffset: UInt64(segment.sizeBytes))
            handle = opened
        } catch {
            throw JournalError(.io, "cannot open \(segment.path): \(JournalFiles.describe(error))")
        }
    }

    private func closeHandle() throws(JournalError) {
        guard let current = handle else { return }
        handle = nil
        do {
            if sync { try current.synchronize() }
            try current.close()
        } catch {
            throw JournalError(.io, "cannot close \(segments.last?.path ?? directory): \(JournalFiles.describe(error))")
        }
    }

    /// The header of a log file (a segment here, a UFS journal log there): magic, format
    /// version, a reserved u16, cluster id, `values`, then the CRC-32 of all that.
    static func fileHeader(magic: UInt32, clusterID: [UInt8], values: [UInt64]) -> [UInt8] {
        var header = ByteWriter()
        header.write(magic)
        header.write(JournalIdentity.formatVersion)
        header.write(UInt16(0))
        header.write(clusterID)
        for value in values { header.write(value) }
        header.write(Checksum.crc32(0, header.bytes))
        return header.bytes
    }

    static func paddedIndex(_ index: UInt64) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }
}
