import Foundation
import StrataCore
import StrataRaft
import StrataWire

/// The UFS journal's files in its (local or shared) folder, and the rules that make a deposed
/// leader's writes harmless.
///
/// Layout:
/// - `journal.meta` — the cluster identity (as in the embedded journal).
/// - `epoch` — the fence: the newest epoch taken by an elected leader (u64 + CRC), replaced
///   atomically. A leader checks it before writing a batch and again after the fsync, before
///   acknowledging: once a newer epoch is there it writes and acknowledges nothing more.
/// - `epochs/epoch-<epoch>` — an epoch's start: the index of its first record (u64 + CRC). A new
///   leader writes it after finding where the previous epoch's records end, so records of epoch
///   `e` count only from `start(e)` to `start(next marked epoch) - 1`; anything a deposed leader
///   wrote after that point is not part of the journal, whichever file it landed in.
/// - `logs/open-<epoch>-<first>.log` — the log a leader is writing; `logs/log-<first>-<last>-<epoch>.log`
///   — completed logs (rolled at `strata.master.journal.log.size.bytes.max`, or sealed by the
///   next leader: the valid prefix copied, the open file removed). Each file: a 44-byte header
///   (magic "STRU", format version, cluster id, epoch, first index, CRC) then records exactly as
///   in the embedded journal (length, CRC-32, term = epoch, index, kind, data).
/// - `checkpoints/` — snapshots of the state (the embedded journal's snapshot files, term = epoch).
///
/// Not thread-safe: one owner at a time.
public struct UFSJournalFolder: Sendable {
    public struct LogFile: Sendable, Equatable {
        public var path: String
        public var epoch: UInt64
        public var firstIndex: UInt64
        /// nil for an open (still written) log.
        public var lastIndex: UInt64?
        public var isOpen: Bool { lastIndex == nil }
    }

    /// Records read from one log file.
    public struct ReadResult: Sendable {
        public var entries: [LogEntry]
        /// Offset after the last whole, valid record.
        public var endOffset: Int
        /// Why reading stopped before the end of the file: a record still being written, or damage.
        public var stoppedAt: String?
    }

    static let logMagic: UInt32 = 0x5354_5255 // "STRU"
    static let logHeaderSizeBytes = 44
    static let epochMagic: UInt32 = 0x5354_5245 // "STRE"

    public let folder: String
    public let identity: JournalIdentity
    public let sync: Bool
    public let entrySizeMaxBytes: Int

    public init(folder: String, identity: JournalIdentity, sync: Bool = true, entrySizeMaxBytes: Int = 16 << 20) {
        self.folder = folder
        self.identity = identity
        self.sync = sync
        self.entrySizeMaxBytes = entrySizeMaxBytes
    }

    var logsDirectory: String { folder + "/logs" }
    var epochsDirectory: String { folder + "/epochs" }
    public var checkpointsDirectory: String { folder + "/checkpoints" }

    /// Creates the folder's layout for a formatted identity (idempotent).
    public static func format(folder: String, identity: JournalIdentity, sync: Bool = true) throws(JournalError) {
        for directory in [folder, folder + "/logs", folder + "/epochs", folder + "/checkpoints"] {
            try JournalFiles.ensureDirectory(directory)
        }
        try identity.write(to: folder, sync: sync)
        let journal = UFSJournalFolder(folder: folder, identity: identity, sync: sync)
        if !FileManager.default.fileExists(atPath: folder + "/epoch") { try journal.writeEpoch(0) }
    }

    /// Whether `folder` holds a UFS journal's layout (not an embedded journal's).
    public static func isUFSJournal(_ folder: String) -> Bool {
        FileManager.default.fileExists(atPath: folder + "/epoch")
    }

    // MARK: Epochs

    /// The fence: the newest epoch an elected leader has taken.
    public func readEpoch() throws(JournalError) -> UInt64 {
        try readNumber(folder + "/epoch", what: "epoch")
    }

    public func writeEpoch(_ epoch: UInt64) throws(JournalError) {
        try writeNumber(epoch, to: folder + "/epoch")
    }

    /// Every marked epoch's start index, by epoch.
    public func markers() throws(JournalError) -> [(epoch: UInt64, start: UInt64)] {
        var result: [(epoch: UInt64, start: UInt64)] = []
        for name in try JournalFiles.list(epochsDirectory) where name.hasPrefix("epoch-") && !name.hasSuffix(".tmp") {
            guard let epoch = UInt64(name.dropFirst(6)) else { continue }
            result.append((epoch, try readNumber(epochsDirectory + "/" + name, what: "epoch \(epoch) start")))
        }
        return result.sorted { $0.epoch < $1.epoch }
    }

    public func writeMarker(epoch: UInt64, start: UInt64) throws(JournalError) {
        try writeNumber(start, to: epochsDirectory + "/epoch-" + RaftLogStore.paddedIndex(epoch))
    }

    private func readNumber(_ path: String, what: String) throws(JournalError) -> UInt64 {
        let bytes = try JournalFiles.read(path)
        var reader = ByteReader(bytes)
        guard bytes.count == 16, reader.read(UInt32.self) == Self.epochMagic, let value = reader.read(UInt64.self),
              let crc = reader.read(UInt32.self), crc == Checksum.crc32(0, Array(bytes[0..<12])) else {
            throw JournalError(.corruptRecord, "corrupt \(what) file \(path)")
        }
        return value
    }

    private func writeNumber(_ value: UInt64, to path: String) throws(JournalError) {
        var writer = ByteWriter()
        writer.write(Self.epochMagic)
        writer.write(value)
        writer.write(Checksum.crc32(0, writer.bytes))
        try JournalFiles.writeAtomically(writer.bytes, to: path, sync: sync)
    }

    // MARK: Log files

    /// Every log file, by first index then epoch.
    public func logFiles() throws(JournalError) -> [LogFile] {
        var files: [LogFile] = []
        for name in try JournalFiles.list(logsDirectory) where name.hasSuffix(".log") {
            let parts = name.dropLast(4).split(separator: "-")
            if parts.count == 3, parts[0] == "open", let epoch = UInt64(parts[1]), let first = UInt64(parts[2]) {
                files.append(LogFile(path: logsDirectory + "/" + name, epoch: epoch, firstIndex: first, lastIndex: nil))
            } else if parts.count == 4, parts[0] == "log", let first = UInt64(parts[1]), let last = UInt64(parts[2]), let epoch = UInt64(parts[3]) {
                files.append(LogFile(path: logsDirectory + "/" + name, epoch: epoch, firstIndex: first, lastIndex: last))
            }
        }
        return files.sorted { ($0.firstIndex, $0.epoch) < ($1.firstIndex, $1.epoch) }
    }

    func openLogPath(epoch: UInt64, first: UInt64) -> String {
        logsDirectory + "/open-" + RaftLogStore.paddedIndex(epoch) + "-" + RaftLogStore.paddedIndex(first) + ".log"
    }

    func completedLogPath(epoch: UInt64, first: UInt64, last: UInt64) -> String {
        logsDirectory + "/log-" + RaftLogStore.paddedIndex(first) + "-" + RaftLogStore.paddedIndex(last) + "-" + RaftLogStore.paddedIndex(epoch) + ".log"
    }

    func header(epoch: UInt64, first: UInt64) -> [UInt8] {
        RaftLogStore.fileHeader(magic: Self.logMagic, clusterID: identity.clusterID, values: [epoch, first])
    }

    /// Reads the records of `file` from `offset` (0: from the header). A record cut short or
    /// damaged ends the read and is reported in `stoppedAt` (for an open log, usually a record
    /// still being written).
    public func read(_ file: LogFile, from offset: Int = 0) throws(JournalError) -> ReadResult {
        let bytes: [UInt8]
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: file.path))
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(offset))
            bytes = [UInt8](try handle.readToEnd() ?? Data())
        } catch {
            throw JournalError(.io, "cannot read \(file.path): \(JournalFiles.describe(error))")
        }
        var reader = ByteReader(bytes)
        var base = offset
        if offset == 0 {
            guard bytes.count >= Self.logHeaderSizeBytes else {
                return ReadResult(entries: [], endOffset: 0, stoppedAt: "header incomplete (\(bytes.count) bytes)")
            }
            let headerBytes = Array(bytes[0..<40])
            guard reader.read(UInt32.self) == Self.logMagic, let version = reader.read(UInt16.self), let _ = reader.read(UInt16.self),
                  let cluster = reader.read(count: 16), let epoch = reader.read(UInt64.self), let first = reader.read(UInt64.self),
                  let crc = reader.read(UInt32.self), crc == Checksum.crc32(0, headerBytes) else {
                throw JournalError(.corruptRecord, "\(file.path) has a corrupt header")
            }
            guard version <= JournalIdentity.formatVersion else {
                throw JournalError(.formatVersionUnsupported, "\(file.path) has journal format version \(version); this Strata reads up to \(JournalIdentity.formatVersion)")
            }
            guard cluster == identity.clusterID else {
                throw JournalError(.clusterMismatch, "\(file.path) belongs to cluster \(hex(cluster)), not \(identity.clusterIDText)")
            }
            guard epoch == file.epoch, first == file.firstIndex else {
                throw JournalError(.corruptRecord, "\(file.path) header says epoch \(epoch) first index \(first), its name says otherwise")
            }
            base = 0
        }
        var entries: [LogEntry] = []
        var end = base + reader.offset
        var stopped: String? = nil
        while reader.remaining > 0 {
            switch RaftLogStore.decodeRecord(&reader, entrySizeMaxBytes: entrySizeMaxBytes) {
            case .success(let entry):
                let expected = entries.last.map { $0.index + 1 }
                guard entry.term == file.epoch, expected == nil || entry.index == expected! else {
                    stopped = "record at offset \(end) has epoch \(entry.term) index \(entry.index), out of sequence"
                    return ReadResult(entries: entries, endOffset: end, stoppedAt: stopped)
                }
                entries.append(entry)
                end = base + reader.offset
            case .failure(let reason):
                stopped = "\(reason) at offset \(end)"
                return ReadResult(entries: entries, endOffset: end, stoppedAt: stopped)
            }
        }
        return ReadResult(entries: entries, endOffset: end, stoppedAt: stopped)
    }

    /// Writes `entries` (all of `epoch`, consecutive) as a completed log, durably.
    @discardableResult
    func writeCompleted(_ entries: [LogEntry], epoch: UInt64) throws(JournalError) -> LogFile {
        precondition(!entries.isEmpty, "a completed log holds at least one record")
        var bytes = header(epoch: epoch, first: entries[0].index)
        for entry in entries { bytes += RaftLogStore.encodeRecord(entry) }
        let path = completedLogPath(epoch: epoch, first: entries[0].index, last: entries.last!.index)
        try JournalFiles.writeAtomically(bytes, to: path, sync: sync)
        return LogFile(path: path, epoch: epoch, firstIndex: entries[0].index, lastIndex: entries.last!.index)
    }

    func remove(_ path: String) {
        _ = unlink(path)
    }

    // MARK: The journal's valid records

    /// Which records count: for each marked epoch, the index range its records may occupy.
    public struct Validity: Sendable {
        /// (epoch, start), by epoch.
        public var markers: [(epoch: UInt64, start: UInt64)]

        /// The marked epoch whose records hold `index`, and the last index it may hold (nil: the
        /// newest marked epoch, still open-ended).
        public func epoch(holding index: UInt64) -> (epoch: UInt64, last: UInt64?)? {
            var found: (epoch: UInt64, last: UInt64?)? = nil
            for (position, marker) in markers.enumerated() where marker.start <= index {
                let next = markers[(position + 1)...].first
                let last = next.map { $0.start &- 1 }
                if let last, last < index { continue }
                found = (marker.epoch, last)
            }
            return found
        }
    }

    public func validity() throws(JournalError) -> Validity { Validity(markers: try markers()) }

    /// Every valid record from `start` (default: the oldest one still in a log), in order — what
    /// a standby replays, for `readJournal` and tests.
    public func validRecords(from start: UInt64? = nil) throws(JournalError) -> [LogEntry] {
        let validity = try validity()
        let files = try logFiles()
        var next = start ?? files.filter { validity.epoch(holding: $0.firstIndex)?.epoch == $0.epoch }.map(\.firstIndex).min() ?? 1
        var result: [LogEntry] = []
        while let (file, last) = source(for: next, validity: validity, files: files) {
            let entries = try read(file).entries.filter { $0.index >= next && (last == nil || $0.index <= last!) }
            guard let first = entries.first, first.index == next else { break }
            result += entries
            next = entries.last!.index + 1
        }
        return result
    }

    /// The file to read `index` from: a log of the epoch that may hold it, containing it.
    public func source(for index: UInt64, validity: Validity, files: [LogFile]) -> (file: LogFile, last: UInt64?)? {
        guard let (epoch, last) = validity.epoch(holding: index) else { return nil }
        let candidates = files.filter { $0.epoch == epoch && $0.firstIndex <= index && ($0.lastIndex.map { $0 >= index } ?? true) }
        // A completed log first (an open one of an older epoch is being sealed or is a stray).
        if let completed = candidates.first(where: { !$0.isOpen }) { return (completed, last) }
        return candidates.last.map { ($0, last) }
    }
}

/// The log the leader appends to: one open file at a time, rolled when it reaches its size limit.
/// Used by one thread at a time (the journal's disk thread).
final class UFSLogWriter: @unchecked Sendable {
    let journal: UFSJournalFolder
    let epoch: UInt64
    let sizeMaxBytes: Int
    private var handle: FileHandle
    private(set) var path: String
    private(set) var firstIndex: UInt64
    private(set) var lastIndex: UInt64?
    private var sizeBytes: Int

    init(journal: UFSJournalFolder, epoch: UInt64, firstIndex: UInt64, sizeMaxBytes: Int) throws(JournalError) {
        self.journal = journal
        self.epoch = epoch
        self.sizeMaxBytes = sizeMaxBytes
        (handle, path) = try Self.create(journal, epoch: epoch, first: firstIndex)
        self.firstIndex = firstIndex
        self.sizeBytes = UFSJournalFolder.logHeaderSizeBytes
    }

    deinit { try? handle.close() }

    private static func create(_ journal: UFSJournalFolder, epoch: UInt64, first: UInt64) throws(JournalError) -> (FileHandle, String) {
        let path = journal.openLogPath(epoch: epoch, first: first)
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw JournalError(.io, "cannot create \(path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            do {
                try handle.write(contentsOf: Data(journal.header(epoch: epoch, first: first)))
            } catch {
                try? handle.close()
                _ = unlink(path)  // a log without its whole header is no log
                throw JournalFiles.writeError(error, "cannot write the header of \(path)")
            }
            if journal.sync {
                try handle.synchronize()
                try JournalFiles.syncDirectory(of: path)
            }
            return (handle, path)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.io, "cannot open \(path): \(JournalFiles.describe(error))")
        }
    }

    /// Whether an elected leader with a newer epoch exists: then nothing more may be written or
    /// acknowledged.
    func isFenced() throws(JournalError) -> Bool { try journal.readEpoch() != epoch }

    /// Appends `entries` durably (fsync), checking the fence before writing and after the fsync.
    func append(_ entries: [LogEntry]) throws(JournalError) {
        guard let first = entries.first else { return }
        precondition(first.index == (lastIndex ?? firstIndex - 1) + 1, "entry \(first.index) does not follow \(lastIndex ?? firstIndex - 1)")
        guard try !isFenced() else { throw JournalError(.fenced, "epoch \(epoch) has been superseded; not writing") }
        var bytes: [UInt8] = []
        for entry in entries {
            precondition(entry.term == epoch, "entry of epoch \(entry.term) written by the leader of epoch \(epoch)")
            bytes += RaftLogStore.encodeRecord(entry)
        }
        do {
            try handle.write(contentsOf: Data(bytes))
            if journal.sync { try handle.synchronize() }
        } catch {
            throw JournalFiles.writeError(error, "cannot write \(bytes.count) bytes to \(path)")
        }
        sizeBytes += bytes.count
        lastIndex = entries.last!.index
        guard try !isFenced() else { throw JournalError(.fenced, "epoch \(epoch) was superseded while writing; not acknowledging") }
        if sizeBytes >= sizeMaxBytes { try roll() }
    }

    /// Completes the open log (renamed with its last index) and starts the next.
    private func roll() throws(JournalError) {
        guard let last = lastIndex else { return }
        do { try handle.close() } catch { throw JournalError(.io, "cannot close \(path): \(JournalFiles.describe(error))") }
        let completed = journal.completedLogPath(epoch: epoch, first: firstIndex, last: last)
        guard rename(path, completed) == 0 else {
            throw JournalError(.io, "cannot complete \(path) as \(completed): \(String(cString: strerror(errno)))")
        }
        guard try !isFenced() else { throw JournalError(.fenced, "epoch \(epoch) has been superseded; not starting a new log") }
        (handle, path) = try Self.create(journal, epoch: epoch, first: last + 1)
        firstIndex = last + 1
        lastIndex = nil
        sizeBytes = UFSJournalFolder.logHeaderSizeBytes
    }

    func close() { try? handle.close() }
}
