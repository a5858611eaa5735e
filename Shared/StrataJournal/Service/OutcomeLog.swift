/// A replicated state machine whose records have outcomes the proposer wants back: the
/// namespace's (a file's status or an error), the job table's (a job id or an error). Every
/// member applies the same records; the leader also keeps each record's outcome until the call
/// that proposed it picks it up.
public protocol OutcomeStateMachine: ReplicatedStateMachine {
    associatedtype Outcome: Sendable
    /// The outcome of the record applied at `index`, once.
    func takeOutcome(_ index: UInt64) async -> Outcome?
    /// A snapshot (as `snapshot()`) with the number of entries it holds (inodes, jobs), taken
    /// together: what a backup reports.
    func backupView() async -> (serialize: @Sendable () -> [UInt8], entries: UInt64)
    /// What to do with a committed entry that cannot be applied (set before the journal opens).
    func setCorruptEntryHandler(_ handler: CorruptEntryHandler) async
}

/// Outcomes of applied records by journal index, kept for their proposers: between `kept` and
/// twice as many (older ones are dropped in chunks; their proposers have long timed out).
public struct OutcomeLog<Outcome: Sendable>: Sendable {
    public let kept: Int
    private var outcomes: [UInt64: Outcome] = [:]
    private var order: [UInt64] = []

    public init(kept: Int = 16_384) {
        precondition(kept > 0, "an outcome log must keep at least one outcome")
        self.kept = kept
    }

    public mutating func record(_ outcome: Outcome, at index: UInt64) {
        outcomes[index] = outcome
        order.append(index)
        // Trim in chunks (amortized O(1) per record): removing one from the front of the array
        // on every apply made replaying a long log quadratic.
        if order.count > 2 * kept {
            let dropped = order.count - kept
            for old in order.prefix(dropped) { outcomes[old] = nil }
            order.removeFirst(dropped)
        }
    }

    public mutating func take(_ index: UInt64) -> Outcome? { outcomes.removeValue(forKey: index) }

    /// Forgets everything (the state was replaced by a snapshot).
    public mutating func removeAll() {
        outcomes = [:]
        order = []
    }
}
