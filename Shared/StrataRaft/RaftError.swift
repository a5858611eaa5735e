/// Why the core refused a request from its shell.
public struct RaftError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// Only the leader accepts this; `leaderHint` is the leader this member knows of.
        case notLeader
        /// A leadership transfer is under way; retry after it completes.
        case transferInProgress
        /// A membership change is still uncommitted; only one may be pending at a time.
        case membershipChangePending
        /// The change is not allowed (removing the last voter, adding an existing member, …).
        case invalidMembershipChange
        /// The proposal exceeds `entrySizeMaxBytes`.
        case entryTooLarge
        /// Too many reads are waiting for a read index.
        case tooManyPendingReads
    }
    public let code: Code
    public let message: String
    public let leaderHint: MemberID?

    public init(_ code: Code, _ message: String, leaderHint: MemberID? = nil) {
        self.code = code
        self.message = message
        self.leaderHint = leaderHint
    }

    public var description: String { message }
}

/// Tunables of the algorithm, in ticks (the shell decides how long a tick is).
public struct RaftOptions: Sendable, Equatable {
    /// Followers campaign after a random timeout in [electionTimeoutTicks, electionTimeoutMaxTicks);
    /// leases and check-quorum use `electionTimeoutTicks`.
    public var electionTimeoutTicks: Int = 10
    /// Upper end of the randomized election timeout; 0 means twice `electionTimeoutTicks`.
    public var electionTimeoutMaxTicks: Int = 0
    public var heartbeatIntervalTicks: Int = 1
    /// Ask "would you vote for me?" before raising the term, so a partitioned member cannot
    /// disrupt a healthy leader when it returns.
    public var preVote = true
    /// A leader that has not heard from a quorum within an election timeout steps down, and
    /// members that hear from a leader refuse votes for the rest of the timeout (a lease).
    public var checkQuorum = true
    /// Serve reads from a leader's lease without a heartbeat round (faster; assumes bounded clock drift).
    public var leaseReads = false
    /// Most entries in one append message.
    public var appendEntriesMax = 256
    /// Most bytes of entry data in one append message (at least one entry is always sent).
    public var appendBytesMax = 1 << 20
    /// Most append messages in flight to one follower before waiting for acknowledgements.
    public var inflightAppendsMax = 64
    /// Largest entry a proposal may carry.
    public var entrySizeMaxBytes = 16 << 20
    /// Most reads waiting for a read index at once.
    public var pendingReadsMax = 4096
    /// Most bytes of log entries kept in memory (data plus a fixed overhead per entry), however
    /// long the log between snapshots grows: older entries, once applied and durable, are read
    /// back from the shell's disk when a follower or the state machine needs them.
    public var logCacheBytesMax = 64 << 20
    /// The fixed overhead counted per cached entry against `logCacheBytesMax`.
    public static let logCacheEntryOverheadBytes = 64
    /// Most stored entries handed out for application in one Ready.
    public var storedApplyEntriesMax = 4096

    public init() {}
}
