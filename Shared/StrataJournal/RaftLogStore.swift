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
        /// The log after the snapshot: terms and membership entries of all of it, the newest
        /// entries (within the cache size) themselves.
        public var log: StoredLog
        /// How many entries follow the snapshot.
        public var entryCount: Int
        /// The entries held in memory (all of them unless the cache size is smaller than the log).
        public var entries: [LogEntry] { log.cached }
        /// What recovery had to repair: torn or corrupt tails it truncated, with file and offset.
        public var repairs: [String]
        /// The highest index the log held before a repair cut off records that were whole once
        /// (a corrupt record, not a torn tail), so possibly acknowledged; 0 if none were.
        public var lostThrough: UInt64
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
        segmentSizeMaxBytes: Int = 64 << 20, entrySizeMaxBytes: Int = 16 << 20, sync: Bool = true,
        cacheBytesMax: Int = .max
    ) throws(JournalError) -> (RaftLogStore, Recovered) {
        precondition(segmentSizeMaxBytes > segmentHeaderSizeBytes, "segment size max \(segmentSizeMaxBytes) too small")
        try JournalFiles.ensureDirectory(directory)
        let store = RaftLogStore(directory: directory, identity: identity, segmentSizeMaxBytes: segmentSizeMaxBytes,
                                 entrySizeMaxBytes: entrySizeMaxBytes, sync: sync)
        var repairs: [String] = []
        var lostThrough: UInt64 = 0
        let hardState = try store.readHardState()
        let (log, count) = try store.recoverSegments(snapshotIndex: snapshotIndex, cacheBytesMax: cacheBytesMax, repairs: &repairs, lostThrough: &lostThrough)
        return (store, Recovered(hardState: hardState, log: log, entryCount: count, repairs: repairs, lostThrough: lostThrough))
    }

    public var lastIndex: UInt64? { segments.last(where: { $0.lastIndex != nil })?.lastIndex }

    /// Reads every valid record in `directory` without changing anything (for `readJournal`):
    /// reports each damaged record in `problems` (file, offset, why) and reads on past it — a
    /// record with a readable length is stepped over, otherwise the rest of its segment is
    /// skipped and the next segment read.
    public static func readOnly(directory: String, identity: JournalIdentity, entrySizeMaxBytes: Int = 64 << 20) throws(JournalError) -> (entries: [LogEntry], hardState: HardState, problems: [String]) {
        let reader = RaftLogStore(directory: directory, identity: identity, segmentSizeMaxBytes: 1 << 30, entrySizeMaxBytes: entrySizeMaxBytes, sync: false)
        let hardState = try reader.readHardState()
        var entries: [LogEntry] = []
        var problems: [String] = []
        let names = try JournalFiles.list(directory).filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }
        for name in names {
            let path = directory + "/" + name
            let contents = try JournalFiles.read(path)
            var bytes = ByteReader(contents)
            guard let firstIndex = try reader.readSegmentHeader(&bytes, path: path) else {
                problems.append("\(path): header incomplete or corrupt")
                continue
            }
            var next = firstIndex
            while bytes.remaining > 0 {
                let offset = bytes.offset
                switch reader.decodeRecord(&bytes) {
                case .success(let entry):
                    if entry.index != next { problems.append("\(path) at offset \(offset): index \(entry.index), expected \(next)") }
                    entries.append(entry)
                    next = entry.index + 1
                case .failure(let reason):
                    problems.append("\(path) at offset \(offset): \(reason) (entry \(next))")
                    guard let end = Self.recordEnd(contents, at: offset, entrySizeMaxBytes: entrySizeMaxBytes) else {
                        problems.append("\(path): \(contents.count - offset) bytes from offset \(offset) on not readable")
                        bytes = ByteReader([])
                        continue
                    }
                    bytes = ByteReader(contents, offset: end)
                    next += 1
                }
            }
        }
        return (entries, hardState, problems)
    }

    // MARK: Reading back

    /// The stored entries `range` (entries no longer held in memory), read from their segments
    /// and checked again: a record damaged since start-up is an error naming file and offset.
    public func read(_ range: ClosedRange<UInt64>) throws(JournalError) -> [LogEntry] {
        var result: [LogEntry] = []
        result.reserveCapacity(range.count)
        var next = range.lowerBound
        for segment in segments {
            guard let last = segment.lastIndex, last >= next, segment.firstIndex <= range.upperBound else { continue }
            guard segment.firstIndex <= next else {
                throw JournalError(.corruptRecord, "entries \(next)...\(segment.firstIndex - 1) are no longer in \(directory) (compacted)")
            }
            let from = Int(next - segment.firstIndex)
            let through = Int(min(last, range.upperBound) - segment.firstIndex)
            let start = segment.offsets[from]
            let end = through + 1 < segment.offsets.count ? segment.offsets[through + 1] : segment.sizeBytes
            let bytes: [UInt8]
            do {
                let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: segment.path))
                defer { try? file.close() }
                try file.seek(toOffset: UInt64(start))
                bytes = [UInt8](try file.read(upToCount: end - start) ?? Data())
            } catch {
                throw JournalError(.io, "cannot read \(segment.path) at offset \(start): \(JournalFiles.describe(error))")
            }
            var reader = ByteReader(bytes)
            while reader.remaining > 0 {
                let offset = start + reader.offset
                switch decodeRecord(&reader) {
                case .success(let entry) where entry.index == next:
                    result.append(entry)
                    next += 1
                case .success(let entry):
                    throw JournalError(.corruptRecord, "\(segment.path) at offset \(offset): index \(entry.index), expected \(next)")
                case .failure(let reason):
                    throw JournalError(.corruptRecord, "\(segment.path) at offset \(offset) (entry \(next)): \(reason)")
                }
            }
            if next > range.upperBound { break }
        }
        guard next > range.upperBound else {
            throw JournalError(.corruptRecord, "entries \(next)...\(range.upperBound) are not in \(directory)")
        }
        return result
    }

    // MARK: Writing

    /// Writes `entries`, first removing any stored entries from `entries.first.index` on.
    /// Not durable until `flush()`.
    public func append(_ entries: [LogEntry]) throws(JournalError) {
        guard let first = entries.first else { return }
        if let last = lastIndex, first.index <= last { try truncate(from: first.index) }
        if let last = lastIndex { precondition(first.index == last + 1, "appending \(first.index) after \(last)") }
        do {
            try appendRecords(entries)
        } catch {
            // Nothing of a failed append stays (a full disk may have taken part of a record):
            // the log ends where it did, and the same append can be tried again.
            if let last = lastIndex, first.index <= last { try? truncate(from: first.index) }
            throw error
        }
    }

    private func appendRecords(_ entries: [LogEntry]) throws(JournalError) {
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
        if hardState.catchUp > 0 { writer.write(hardState.catchUp) }
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
        // 32 bytes, or 40 with the catch-up index of a member that lost entries.
        let catchUpBytes = bytes.count == 40 ? 8 : 0
        guard bytes.count == 32 || bytes.count == 40, reader.read(UInt32.self) == Self.hardStateMagic,
              let term = reader.read(UInt64.self), let vote = reader.read(UInt64.self), let commit = reader.read(UInt64.self),
              let catchUp = catchUpBytes == 0 ? 0 : reader.read(UInt64.self),
              let crc = reader.read(UInt32.self), crc == Checksum.crc32(0, Array(bytes[0..<(28 + catchUpBytes)])), reader.remaining == 0 else {
            // Written atomically, so this is not a torn write but a damaged disk. Refuse: a lost
            // vote could let this member vote twice in one term.
            throw JournalError(.corruptRecord, "corrupt hard state in \(path); restore the member from a backup or remove it from the quorum")
        }
        return HardState(term: term, vote: vote == 0 ? nil : vote, commit: commit, catchUp: catchUp)
    }

    /// Where the record at `offset` ends, if its length field is readable and in bounds (a record
    /// whose payload is damaged can be stepped over).
    static func recordEnd(_ bytes: [UInt8], at offset: Int, entrySizeMaxBytes: Int) -> Int? {
        guard offset + recordHeaderSizeBytes <= bytes.count else { return nil }
        var reader = ByteReader(Array(bytes[offset..<offset + 4]))
        guard let length = reader.read(UInt32.self), Int(length) >= recordFixedPayloadBytes,
              Int(length) <= entrySizeMaxBytes + recordFixedPayloadBytes else { return nil }
        let end = offset + recordHeaderSizeBytes + Int(length)
        return end <= bytes.count ? end : nil
    }

    /// The highest index among the valid records of `bytes` from `offset` on, stepping over
    /// damaged records whose length is readable (what a cut-off segment held).
    private func highestIndex(in bytes: [UInt8], from offset: Int) -> UInt64? {
        var highest: UInt64? = nil
        var position = offset
        while position < bytes.count {
            var reader = ByteReader(bytes, offset: position)
            if case .success(let entry) = decodeRecord(&reader) {
                highest = max(highest ?? 0, entry.index)
                position = reader.offset
            } else if let end = Self.recordEnd(bytes, at: position, entrySizeMaxBytes: entrySizeMaxBytes) {
                position = end
            } else {
                break
            }
        }
        return highest
    }

    private func recoverSegments(snapshotIndex: UInt64, cacheBytesMax: Int, repairs: inout [String], lostThrough: inout UInt64) throws(JournalError) -> (StoredLog, Int) {
        let names = try JournalFiles.list(directory).filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }
        var builder = StoredLog.Builder(cacheBytesMax: cacheBytesMax)
        var range: ClosedRange<UInt64>? = nil
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
                        if entry.index > snapshotIndex {
                            builder.add(entry)
                            range = (range?.lowerBound ?? entry.index)...entry.index
                        }
                        next += 1
                        continue
                    }
                case .failure(let reason):
                    damage = "\(reason) at offset \(offset)"
                }
                // A torn tail (the last record of the newest segment, cut short by a crash) was
                // never acknowledged; anything else held records that were whole once.
                let end = Self.recordEnd(bytes, at: offset, entrySizeMaxBytes: entrySizeMaxBytes)
                // A last record whose length field reaches exactly the end of the file but whose
                // checksum fails may be a torn write or a flipped bit in an acknowledged record:
                // counted as lost (the safe side; it only delays this member's votes).
                let torn = isLast && end == nil
                let laterPaths = names[(position + 1)...].map { directory + "/" + $0 }
                if !torn {
                    var held = next
                    if let end, let highest = highestIndex(in: bytes, from: end) { held = max(held, highest) }
                    for path in laterPaths {
                        if let later = try? JournalFiles.read(path), let highest = highestIndex(in: later, from: Self.segmentHeaderSizeBytes) {
                            held = max(held, highest)
                        }
                    }
                    lostThrough = max(lostThrough, held)
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
                try removeSegments(laterPaths)
                repairs.append("truncated \(path) at offset \(offset) (\(torn ? "torn tail" : "corrupt record, entry \(next)")): \(damage!)"
                               + (laterPaths.isEmpty ? "" : "; removed \(laterPaths.count) later segment(s)")
                               + (torn ? "" : "; entries through \(lostThrough) are fetched again from the other members"))
                break
            }
            segments.append(segment)
            expected = next
            if damage != nil { break }
        }
        // Entries must continue the snapshot; anything else is unusable.
        if let dropped = range, dropped.lowerBound != snapshotIndex + 1 {
            repairs.append("dropped entries \(dropped.lowerBound)...\(dropped.upperBound): they do not follow snapshot index \(snapshotIndex); they are fetched again from the other members")
            lostThrough = max(lostThrough, dropped.upperBound)
            builder = StoredLog.Builder(cacheBytesMax: cacheBytesMax)
            range = nil
            try removeAll()
        }
        if !segments.isEmpty { try openHandle() }
        return (builder.build(), range.map { $0.count } ?? 0)
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
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw JournalError(.io, "cannot create \(path)")
        }
        segments.append(Segment(firstIndex: firstIndex, path: path, offsets: [], sizeBytes: 0))
        directoryDirty = true
        do {
            try openHandle()
            try writeToOpenSegment(header)
        } catch {
            // A segment without its whole header is no segment: gone, as if never started.
            try? handle?.close()
            handle = nil
            segments.removeLast()
            _ = unlink(path)
            throw error
        }
    }

    private func writeToOpenSegment(_ bytes: [UInt8]) throws(JournalError) {
        guard !bytes.isEmpty else { return }
        if handle == nil { try openHandle() }
        do {
            try handle!.write(contentsOf: Data(bytes))
        } catch {
            throw JournalFiles.writeError(error, "cannot write \(bytes.count) bytes to \(segments.last!.path)")
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
