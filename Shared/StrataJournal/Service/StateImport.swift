import Foundation
import Logging
import ServiceLifecycle
import StrataCore
import StrataRaft
import StrataUFS
import StrataWire

/// Journal records that replace a journaled service's whole state with one section of a backup
/// (`strata-master -i BACKUP`), in chunks that fit journal entries: every member applies them in
/// order and replaces its state when the last one arrives whole. Their first byte (`marker`)
/// tells them from the service's own records, whose format bytes are small numbers.
public enum StateImportRecord: Sendable, Equatable {
    public static let marker: UInt8 = 0xFE
    /// Bytes of state per chunk record.
    public static let chunkBytes = 4 << 20

    case chunk(id: UInt64, offset: UInt64, bytes: [UInt8])
    case commit(id: UInt64, totalBytes: UInt64, crc: UInt32)

    public static func isImport(_ data: [UInt8]) -> Bool { data.first == marker }

    public var encoded: [UInt8] {
        var writer = ByteWriter()
        writer.write(Self.marker)
        switch self {
        case .chunk(let id, let offset, let bytes):
            writer.write(UInt8(1)); writer.write(id); writer.write(offset); writer.write(UInt64(bytes.count)); writer.write(bytes)
        case .commit(let id, let total, let crc):
            writer.write(UInt8(2)); writer.write(id); writer.write(total); writer.write(crc)
        }
        return writer.bytes
    }

    public init?(decoding data: [UInt8]) {
        var reader = ByteReader(data)
        guard reader.read(UInt8.self) == Self.marker, let kind = reader.read(UInt8.self), let id = reader.read(UInt64.self) else { return nil }
        switch kind {
        case 1:
            guard let offset = reader.read(UInt64.self), let count = reader.read(UInt64.self), count <= UInt64(data.count),
                  let bytes = reader.read(count: Int(count)) else { return nil }
            self = .chunk(id: id, offset: offset, bytes: bytes)
        case 2:
            guard let total = reader.read(UInt64.self), let crc = reader.read(UInt32.self) else { return nil }
            self = .commit(id: id, totalBytes: total, crc: crc)
        default:
            return nil
        }
    }

    /// The records that carry `data`.
    public static func records(for data: [UInt8], id: UInt64) -> [StateImportRecord] {
        var records: [StateImportRecord] = []
        var offset = 0
        repeat {
            let end = min(offset + chunkBytes, data.count)
            records.append(.chunk(id: id, offset: UInt64(offset), bytes: Array(data[offset..<end])))
            offset = end
        } while offset < data.count
        records.append(.commit(id: id, totalBytes: UInt64(data.count), crc: Checksum.crc32(0, data)))
        return records
    }
}

/// What a state machine gathers of an import between its chunk records. Deterministic: every
/// member that applies the same records holds the same bytes.
public struct StateImportBuffer: Sendable {
    private var id: UInt64 = 0
    private var bytes: [UInt8] = []

    public init() {}

    /// Applies an import record; returns the whole state once a commit finds every byte of it.
    public mutating func apply(_ record: StateImportRecord) -> Result<[UInt8], StateImportError>? {
        switch record {
        case .chunk(let id, let offset, let chunk):
            if offset == 0 {
                self.id = id
                bytes = []
            }
            guard id == self.id, offset == UInt64(bytes.count) else { return .failure(StateImportError("import \(id): chunk at \(offset) does not follow the \(bytes.count) bytes received")) }
            bytes.append(contentsOf: chunk)
            return nil
        case .commit(let id, let total, let crc):
            defer { bytes = []; self.id = 0 }
            guard id == self.id, UInt64(bytes.count) == total, Checksum.crc32(0, bytes) == crc else {
                return .failure(StateImportError("import \(id): \(bytes.count) of \(total) bytes received, or a checksum mismatch"))
            }
            return .success(bytes)
        }
    }
}

extension StateImportBuffer {
    /// Applies the import record in `entry`: once the state is whole, hands it to `restore`. A
    /// malformed record, an incomplete import or a state that does not decode changes nothing (on
    /// every member alike) and is logged naming the entry.
    public mutating func apply(_ entry: LogEntry, what: String, logger: Logger, restore: ([UInt8]) throws -> Void) {
        guard let record = StateImportRecord(decoding: entry.data) else {
            logger.error("journal entry \(entry.index) is a malformed import record and changes nothing")
            return
        }
        switch apply(record) {
        case nil: return
        case .failure(let error): logger.error("journal entry \(entry.index): \(error); the \(what) is left as it was")
        case .success(let data):
            do { try restore(data) } catch { logger.error("journal entry \(entry.index): the imported \(what) does not decode (\(error)); the \(what) is left as it was") }
        }
    }
}

public struct StateImportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `-i BACKUP`: once this member leads on a journal that holds nothing yet, it journals the
/// backup's section for its service (and logs `Restored N entries from backup`); a member that
/// leads on a journal with state (another member restored it, or it was never fresh) leaves it
/// and says so. It runs once.
public struct StateImportService<StateMachine: OutcomeStateMachine>: Service {
    let journaled: JournaledService<StateMachine>
    let data: [UInt8]
    let entries: UInt64
    let source: String
    /// Entries of a state that holds nothing (the namespace's root: 1; an empty job table: 0).
    let emptyEntries: UInt64
    let logger: Logger

    public init(journaled: JournaledService<StateMachine>, data: [UInt8], entries: UInt64, source: String, emptyEntries: UInt64, logger: Logger) {
        self.journaled = journaled
        self.data = data
        self.entries = entries
        self.source = source
        self.emptyEntries = emptyEntries
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if journaled.isLeader, (try? await journaled.readyToRead()) != nil {
                    if await importOnce() { break }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        // A service that returns early stops the process: this one is done, and waits.
        try? await gracefulShutdown()
    }

    /// True once decided (imported, or not to import).
    private func importOnce() async -> Bool {
        let held = await journaled.stateMachine.backupView().entries
        guard held <= emptyEntries else {
            logger.notice("not restoring from backup \(source): the \(journaled.domain.serviceName)'s journal already holds \(held) entries (only the first to lead on a formatted journal restores)")
            return true
        }
        let id = UInt64(Date().timeIntervalSince1970 * 1000)
        do {
            for record in StateImportRecord.records(for: data, id: id) {
                _ = try await journaled.journal.propose(record.encoded)
            }
        } catch {
            logger.warning("restoring from backup \(source) was interrupted (\(error.message)); trying again while this member leads")
            return false
        }
        let restored = await journaled.stateMachine.backupView().entries
        guard restored == entries else {
            logger.error("restoring from backup \(source) left \(restored) entries, not the \(entries) it holds; see the log above")
            return true
        }
        logger.notice("Restored \(entries) entries from backup \(source)")
        return true
    }
}

/// Named by its source: the service group names each service by its description when it is
/// made, and the default one printed every byte of the backup (14 s for a 300k-file namespace).
extension StateImportService: CustomStringConvertible {
    public var description: String { "StateImportService(\(source), \(entries) entries, \(data.count) bytes)" }
}

/// What a member does with a committed entry its state machine cannot decode or apply: it must
/// not skip it (the members would no longer hold the same state), so it stops — first, with
/// `strata.master.journal.backup.when.corrupted`, backing up its state as of the entry before —
/// with a line naming the entry. Set on the state machine once the journal is open.
public struct CorruptEntryHandler: Sendable {
    public let stop: @Sendable (_ index: UInt64, _ reason: String) async -> Void

    public init(stop: @escaping @Sendable (_ index: UInt64, _ reason: String) async -> Void) { self.stop = stop }
}

extension CorruptEntryHandler {
    /// Backs up `stateMachine`'s state to `folder` (when `backUp`), logs what was wrong, and
    /// exits. Built before the journal opens, so that a corrupt entry met while a standby replays
    /// the log at start-up is handled like one met later.
    public static func stopping<StateMachine: OutcomeStateMachine>(
        _ stateMachine: StateMachine, clusterID: [UInt8], domain: JournalDomain, section: Backup.SectionKind,
        folder: String, backUp: Bool, logger: Logger
    ) -> CorruptEntryHandler {
        CorruptEntryHandler { index, reason in
            var saved = "no backup taken (strata.master.journal.backup.when.corrupted=false)"
            if backUp {
                let view = await stateMachine.backupView()
                let data = await Task.detached { view.serialize() }.value
                let created = UInt64(Date().timeIntervalSince1970 * 1000)
                let backup = Backup(clusterID: clusterID, createdMilliseconds: created, journalIndex: index - 1,
                                    sections: [Backup.Section(kind: section, entries: view.entries, data: data)])
                do {
                    let file = try backup.encoded()
                    let (ufs, relative) = try underStorage(at: folder)
                    let writer = try await ufs.create(relative + [Backup.fileName(createdMilliseconds: created)], mode: 0o600)
                    try await writer.write(file, at: 0)
                    try await writer.commit()
                    saved = "its state as of entry \(index - 1) is backed up in \(writer.location) (restore with -i)"
                } catch {
                    saved = "backing up its state failed: \(error)"
                }
            }
            logger.critical("journal entry \(index) cannot be applied: \(reason). The \(domain.serviceName) stops rather than skip it (its state would differ from the other members'); \(saved)")
            exit(3)
        }
    }
}
