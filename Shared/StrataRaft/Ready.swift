/// Everything the core wants done, gathered since the last `advance`.
///
/// The shell handles a Ready in this order: install `snapshot` (restore the state machine from
/// the snapshot it received and drop its whole log); persist `hardState` and `entries`
/// (truncating its log at `entries.first.index` first) and fsync; send `messages` (reading the
/// entries of any `storedAppend` from disk); apply `committed` (or `committedStored`) in order; serve `readStates` once applied; then call `advance(ready)`. A Ready is
/// cumulative: the shell may step the core several times and handle only the last Ready.
public struct Ready: Sendable, Equatable {
    /// Persist if non-nil.
    public var hardState: HardState?
    /// Persist, replacing any entries from `entries.first.index` on.
    public var entries: [LogEntry]
    /// Restore the state machine from the received snapshot this describes, and drop the whole log.
    public var snapshot: SnapshotMeta?
    /// Send after persisting.
    public var messages: [RaftMessage]
    /// Apply, in order, after persisting.
    public var committed: [LogEntry]
    /// Committed entries to apply that are on disk only: read them back and apply them (in
    /// place of `committed`, which is then empty).
    public var committedStored: ClosedRange<UInt64>?
    /// Reads that may be served once `index` is applied.
    public var readStates: [ReadState]
    public var role: RaftRole
    public var term: UInt64
    public var leader: MemberID?

    public var isEmpty: Bool {
        hardState == nil && entries.isEmpty && snapshot == nil && messages.isEmpty && committed.isEmpty && committedStored == nil && readStates.isEmpty
    }
}

/// A single-server membership change.
public enum MembershipChange: Sendable, Equatable {
    /// Add a member that receives the log but does not vote, to catch up before promotion.
    case addLearner(MemberID, nonServing: Bool, address: String = "")
    /// Make a learner a voter.
    case promote(MemberID)
    /// Remove a voter or learner.
    case remove(MemberID)
}
