import Logging
import StrataJob
import StrataJournal
import StrataRaft

/// The job table as the JOB_MASTER journal's replicated state machine: every job master applies
/// the same records in the same order; the leader also keeps each record's outcome until the
/// RPC that proposed it picks it up.
public actor JobStateMachine: OutcomeStateMachine {
    public private(set) var table = JobTable()
    private var importing = StateImportBuffer()
    private var outcomes = OutcomeLog<JobOutcome>()
    private let logger: Logger
    /// Bumped by every applied record and restore, so pollers notice change cheaply.
    public private(set) var version: UInt64 = 0

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Stops the member on an entry that does not decode (set once the journal is open).
    private var onCorruptEntry: CorruptEntryHandler?

    public func setCorruptEntryHandler(_ handler: CorruptEntryHandler) { onCorruptEntry = handler }

    public func apply(_ entries: [LogEntry]) async {
        for entry in entries {
            if StateImportRecord.isImport(entry.data) {
                applyImport(entry)
                continue
            }
            let record: JobRecord
            do {
                record = try JobCodec.decodeRecord(entry.data)
            } catch {
                // Never skipped: a member that skipped it would not hold what the others hold.
                guard let onCorruptEntry else { preconditionFailure("journal entry \(entry.index) is not a job record: \(error)") }
                await onCorruptEntry.stop(entry.index, "not a job record (\(error))")
                continue
            }
            outcomes.record(table.apply(record), at: entry.index)
        }
        version &+= UInt64(entries.count)
    }

    /// A backup's job table, journaled in chunks (`strata-jobmaster -i`): replaces the table once
    /// whole; one that does not decode leaves the current one, on every member alike.
    private func applyImport(_ entry: LogEntry) {
        importing.apply(entry, what: "job table", logger: logger) { try restore($0) }
    }

    public func snapshot() -> @Sendable () -> [UInt8] {
        let copy = table // copy-on-write: later applies do not touch it
        return { JobCodec.encodeSnapshot(copy) }
    }

    public func backupView() -> (serialize: @Sendable () -> [UInt8], entries: UInt64) {
        let copy = table
        return ({ JobCodec.encodeSnapshot(copy) }, UInt64(copy.count))
    }

    public func restore(_ data: [UInt8]) throws {
        table = try JobCodec.decodeSnapshot(data)
        outcomes.removeAll()
        version &+= 1
    }

    public func takeOutcome(_ index: UInt64) -> JobOutcome? {
        outcomes.take(index)
    }
}
