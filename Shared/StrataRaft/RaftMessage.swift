/// A message between members of one group.
public struct RaftMessage: Sendable, Equatable, CustomStringConvertible {
    public enum Body: Sendable, Equatable {
        /// "Would you vote for me in `term`?" — asked before disrupting anyone (pre-vote).
        case preVote(lastIndex: UInt64, lastTerm: UInt64)
        case preVoteResponse(granted: Bool)
        /// A real vote request; `transfer` marks a leadership transfer, which may override a lease.
        case vote(lastIndex: UInt64, lastTerm: UInt64, transfer: Bool)
        case voteResponse(granted: Bool)
        /// Entries after (`previousIndex`, `previousTerm`), and the leader's commit index.
        case append(previousIndex: UInt64, previousTerm: UInt64, entries: [LogEntry], commit: UInt64)
        /// Success: the follower's log matches the leader's through `index`. Rejection: `index`
        /// is the refused previous index and `lastIndex` the follower's last index.
        case appendResponse(reject: Bool, index: UInt64, lastIndex: UInt64)
        /// Leader liveness and commit; a non-zero `context` asks for a read-index acknowledgement.
        case heartbeat(commit: UInt64, context: UInt64)
        case heartbeatResponse(context: UInt64)
        /// Install the snapshot described; the shell carries its bytes beside this message.
        case snapshot(SnapshotMeta)
        /// Campaign now: the leader is handing over leadership.
        case timeoutNow
        /// For the shell only, never sent as is: an `append` of the entries
        /// `previousIndex + 1 ... through`, which are no longer in memory; the shell reads them
        /// from its disk and sends the append in this message's place.
        case storedAppend(previousIndex: UInt64, previousTerm: UInt64, through: UInt64, commit: UInt64)
    }

    public var from: MemberID
    public var to: MemberID
    public var term: UInt64
    public var body: Body

    public init(from: MemberID, to: MemberID, term: UInt64, body: Body) {
        self.from = from
        self.to = to
        self.term = term
        self.body = body
    }

    public var description: String { "\(from)→\(to) t\(term) \(body)" }

    /// Messages only a (would-be) leader sends, which establish the sender as leader of `term`.
    var isFromLeader: Bool {
        switch body {
        case .append, .heartbeat, .snapshot, .timeoutNow: true
        default: false
        }
    }
}
