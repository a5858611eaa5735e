import Logging
import StrataJob
import StrataJournal
import StrataRaft

/// The job table as the JOB_MASTER journal's replicated state machine: every job master applies
/// the same records in the same order; the leader also keeps each record's outcome until the
/// RPC that proposed it picks it up.
public actor JobStateMachine: OutcomeStateMachine {
    public private(set) var table = JobTable()
    private var outcomes = OutcomeLog<JobOutcome>()
    private let logger: Logger
    /// Bumped by every applied record and restore, so pollers notice change cheaply.
    public private(set) var version: UInt64 = 0

    public init(logger: Logger) {
        self.logger = logger
    }

    public func apply(_ entries: [LogEntry]) {
        for entry in entries {
            let record: JobRecord
            do {
                record = try JobCodec.decodeRecord(entry.data)
            } catch {
                // Every member decodes the same bytes the same way, so skipping keeps them in step.
                logger.error("journal entry \(entry.index) is not a job record and is skipped: \(error)")
                continue
            }
            outcomes.record(table.apply(record), at: entry.index)
        }
        version &+= UInt64(entries.count)
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
