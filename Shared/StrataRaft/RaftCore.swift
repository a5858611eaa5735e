/// The Raft algorithm for one member of a group, as a deterministic value type.
///
/// No I/O, no clocks, no threads: time arrives as `tick()`, messages through `step(_:)`, requests
/// through `propose(_:)` and friends, and randomness only from a seeded generator. Every call
/// returns the `Ready` the shell must act on (see `Ready`). The same inputs always produce the same
/// outputs, which is what lets the simulator replay a failing seed exactly.
///
/// Implements leader election with pre-vote and check-quorum, pipelined and batched replication
/// with a bound on appends in flight, ReadIndex reads (and optional lease reads), leadership
/// transfer, single-server membership changes through learners, snapshots and compaction, an early
/// campaign when the shell reports the leader's connection lost, and non-serving members that hand
/// leadership to a serving member as soon as they win it.
public struct RaftCore: Sendable {
    public let id: MemberID
    public let options: RaftOptions
    private var random: SplitMix64

    public private(set) var term: UInt64
    private var vote: MemberID?
    /// See `HardState.catchUp`: 0 once caught up.
    private var catchUp: UInt64
    /// The state machine was found divergent and thrown away: apply nothing and refuse appends
    /// until the leader's snapshot is installed.
    public private(set) var awaitingSnapshot = false
    private var log: RaftLog
    public private(set) var membership: Membership
    /// Index of the entry (or snapshot) that set `membership`.
    private var membershipIndex: UInt64

    public private(set) var role: RaftRole = .follower
    public private(set) var leader: MemberID?
    private var votes: [MemberID: Bool] = [:]
    private var progress: [MemberID: Progress] = [:]
    private var electionElapsed = 0
    private var heartbeatElapsed = 0
    private var randomizedElectionTimeout = 0
    private var transferee: MemberID?
    private var transferElapsed = 0

    private struct PendingRead: Sendable {
        var index: UInt64
        var context: UInt64
        var acknowledgers: Set<MemberID>
    }
    private var pendingReads: [PendingRead] = []
    private var readsAwaitingCommit: [UInt64] = []

    // Output gathered since the last advance.
    private var messages: [RaftMessage] = []
    private var readStates: [ReadState] = []
    private var pendingSnapshot: SnapshotMeta?
    private var persistedHardState: HardState

    /// A member starting from persisted state: its hard state, latest snapshot (index 0 with the
    /// initial membership for a new group) and the log entries after the snapshot.
    public init(id: MemberID, options: RaftOptions = RaftOptions(), seed: UInt64,
                hardState: HardState, snapshot: SnapshotMeta, entries: [LogEntry]) {
        self.init(id: id, options: options, seed: seed, hardState: hardState, snapshot: snapshot,
                  stored: StoredLog(termRuns: [], memberships: [], cached: entries))
    }

    /// A member whose log after the snapshot is mostly on the shell's disk (`stored`).
    public init(id: MemberID, options: RaftOptions = RaftOptions(), seed: UInt64,
                hardState: HardState, snapshot: SnapshotMeta, stored: StoredLog) {
        precondition(options.electionTimeoutTicks > options.heartbeatIntervalTicks && options.heartbeatIntervalTicks > 0,
                     "election timeout \(options.electionTimeoutTicks) must exceed heartbeat interval \(options.heartbeatIntervalTicks) > 0")
        precondition(options.inflightAppendsMax > 0 && options.appendEntriesMax > 0, "append bounds must be positive")
        self.id = id
        self.options = options
        self.random = SplitMix64(seed: seed ^ (id &* 0x9E37_79B9_7F4A_7C15))
        self.term = hardState.term
        self.vote = hardState.vote
        let last = stored.termRuns.isEmpty && stored.cached.isEmpty ? snapshot.index : stored.lastIndex
        let commit = min(max(hardState.commit, snapshot.index), last)
        self.log = RaftLog(snapshot: snapshot, stored: stored, committed: commit)
        self.catchUp = hardState.catchUp > log.lastIndex ? hardState.catchUp : 0
        self.membership = snapshot.membership
        self.membershipIndex = snapshot.index
        self.persistedHardState = hardState
        refreshMembership()
        resetRandomizedElectionTimeout()
    }

    // MARK: Inspection

    public var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed, catchUp: catchUp) }
    /// The index this member must hold again before it votes or campaigns (0: it may).
    public var catchUpIndex: UInt64 { catchUp }
    public var commitIndex: UInt64 { log.committed }
    public var appliedIndex: UInt64 { log.applied }
    public var lastIndex: UInt64 { log.lastIndex }
    public var firstIndex: UInt64 { log.firstIndex }
    public var snapshotMeta: SnapshotMeta { log.snapshot }
    /// The transfer in progress, if any.
    public var leadershipTransferee: MemberID? { transferee }
    /// How far `member`'s log is known to match the leader's (leader only).
    public func matchIndex(of member: MemberID) -> UInt64? {
        member == id ? log.persisted : progress[member]?.match
    }
    /// Whether the leader heard from `member` within the current election timeout (leader only).
    public func isRecentlyActive(_ member: MemberID) -> Bool? {
        member == id ? true : progress[member]?.recentActive
    }

    /// The entry at `index` if it is still in the in-memory log.
    public func entry(at index: UInt64) -> LogEntry? {
        log.isCached(index) ? log.entry(at: index) : nil
    }
    /// The first index held in memory (entries before it, after the snapshot, are on disk only).
    public var cacheFirstIndex: UInt64 { log.cacheFirst }
    /// Bytes of entries held in memory.
    public var cachedBytes: Int { log.cachedBytes }
    private var isPromotable: Bool { membership.voters.contains(id) && catchUp == 0 }
    var debugProgress: String { progress.keys.sorted().map { "\($0): \(progress[$0]!)" }.joined(separator: "; ") }

    // MARK: Inputs

    /// One unit of time passes.
    public mutating func tick() -> Ready {
        switch role {
        case .leader: tickLeader()
        case .follower, .preCandidate, .candidate: tickElection()
        }
        return ready()
    }

    /// Handles a message from another member.
    public mutating func step(_ message: RaftMessage) -> Ready {
        precondition(message.to == id, "message for \(message.to) stepped into member \(id)")
        if message.from == id { return ready() }
        stepMessage(message)
        return ready()
    }

    /// Appends `data` to the log (leader only): a state-machine command, or with `kind: .journal`
    /// an entry for the shell itself.
    public mutating func propose(_ data: [UInt8], kind: EntryKind = .normal) throws(RaftError) -> Ready {
        precondition(kind == .normal || kind == .journal, "proposing a \(kind) entry")
        try checkCanPropose()
        guard data.count <= options.entrySizeMaxBytes else {
            throw RaftError(.entryTooLarge, "entry of \(data.count) bytes exceeds the maximum of \(options.entrySizeMaxBytes)")
        }
        appendAsLeader(kind: kind, data: data)
        return ready()
    }

    /// Proposes one membership change (leader only; one uncommitted change at a time).
    public mutating func proposeMembership(_ change: MembershipChange) throws(RaftError) -> Ready {
        try checkCanPropose()
        guard membershipIndex <= log.committed else {
            throw RaftError(.membershipChangePending, "membership change at index \(membershipIndex) is not committed yet")
        }
        var next = membership
        switch change {
        case .addLearner(let member, let nonServing, let address):
            guard !membership.members.contains(member) else {
                throw RaftError(.invalidMembershipChange, "member \(member) is already in the group")
            }
            next.learners.insert(member)
            if nonServing { next.nonServing.insert(member) }
            if !address.isEmpty { next.addresses[member] = address }
        case .promote(let member):
            guard membership.learners.contains(member) else {
                throw RaftError(.invalidMembershipChange, "member \(member) is not a learner")
            }
            next.learners.remove(member)
            next.voters.insert(member)
        case .remove(let member):
            guard membership.members.contains(member) else {
                throw RaftError(.invalidMembershipChange, "member \(member) is not in the group")
            }
            guard membership.voters != [member] else {
                throw RaftError(.invalidMembershipChange, "cannot remove \(member), the last voter")
            }
            next.voters.remove(member)
            next.learners.remove(member)
            next.nonServing.remove(member)
            next.addresses[member] = nil
        }
        appendAsLeader(kind: .membership, data: next.encoded)
        return ready()
    }

    /// Hands leadership to `target` (leader only): once its log matches, it is told to campaign.
    public mutating func transferLeadership(to target: MemberID) throws(RaftError) -> Ready {
        guard role == .leader else { throw RaftError(.notLeader, "member \(id) is not the leader", leaderHint: leader) }
        guard target != id else { return ready() }
        guard membership.voters.contains(target) else {
            throw RaftError(.invalidMembershipChange, "member \(target) is not a voter")
        }
        startTransfer(to: target)
        return ready()
    }

    /// Asks for a linearizable read (leader only). When it is safe, `readStates` of a later Ready
    /// carries `context` with the index the state machine must have applied before reading.
    public mutating func readIndex(context: UInt64) throws(RaftError) -> Ready {
        guard role == .leader else { throw RaftError(.notLeader, "member \(id) is not the leader", leaderHint: leader) }
        guard pendingReads.count + readsAwaitingCommit.count < options.pendingReadsMax else {
            throw RaftError(.tooManyPendingReads, "\(options.pendingReadsMax) reads already waiting")
        }
        if options.leaseReads && options.checkQuorum {
            readStates.append(ReadState(index: log.committed, context: context))
        } else if log.term(at: log.committed) != term {
            readsAwaitingCommit.append(context)
        } else {
            startRead(context)
        }
        return ready()
    }

    /// The shell lost its connection to the leader: a strong hint that the leader died. Campaign
    /// soon instead of waiting out the election timeout. Safe behind pre-vote: members still
    /// hearing from a healthy leader refuse to pre-vote, so this can never unseat one.
    ///
    /// When the leader dies every follower notices at once; to avoid a split vote they campaign
    /// in turn, in member-id order, one tick apart (the first after one tick).
    public mutating func reportLeaderLost(_ lostLeader: MemberID) -> Ready {
        guard options.preVote, role == .follower, leader == lostLeader, isPromotable else { return ready() }
        leader = nil
        let position = membership.voters.subtracting([lostLeader]).sorted().firstIndex(of: id) ?? 0
        electionElapsed = max(electionElapsed, randomizedElectionTimeout - 1 - position)
        return ready()
    }

    /// The shell could not deliver to `member`: stop pipelining and probe again.
    public mutating func reportUnreachable(_ member: MemberID) -> Ready {
        if role == .leader, var follower = progress[member], follower.state == .replicate {
            follower.becomeProbe()
            progress[member] = follower
        }
        return ready()
    }

    /// The shell finished (or failed) streaming a snapshot to `member`.
    public mutating func reportSnapshot(to member: MemberID, success: Bool) -> Ready {
        guard role == .leader, var follower = progress[member], case .snapshot = follower.state else { return ready() }
        follower.becomeProbe()
        follower.probeSent = success // after a success, wait for the follower's answer before probing
        progress[member] = follower
        return ready()
    }

    /// The shell found this member's state machine divergent from the others' and threw it away:
    /// apply nothing more, refuse the leader's appends as a member with an empty log would, and
    /// install the snapshot the leader then sends, even though the log already holds what it
    /// covers. Until the log again reaches today's last index the member neither votes nor
    /// campaigns (its acknowledgements may have counted towards commits). Not on a leader: a
    /// divergent leader first hands leadership over.
    public mutating func discardStateForSnapshot() throws(RaftError) -> Ready {
        guard role != .leader else { throw RaftError(.notLeader, "member \(id) leads; transfer leadership before discarding its state") }
        awaitingSnapshot = true
        catchUp = max(catchUp, log.lastIndex)
        // A campaign under way must not win with the state thrown away.
        if role != .follower { becomeFollower(term: term, leader: nil) }
        return ready()
    }

    /// The metadata a snapshot of the state machine through `index` (≤ applied, still in the
    /// log or the current snapshot) carries.
    public func snapshotMeta(at index: UInt64) -> SnapshotMeta {
        precondition(index <= log.applied && index >= log.snapshot.index, "no snapshot metadata at \(index)")
        return SnapshotMeta(index: index, term: log.term(at: index)!, membership: membershipAt(index))
    }

    /// The shell took a snapshot of the state machine through `index` (≤ applied): entries it
    /// covers may be dropped from memory.
    public mutating func compact(through index: UInt64) {
        precondition(index <= log.applied, "snapshot at \(index) beyond applied index \(log.applied)")
        log.compact(through: index, membership: membershipAt(index))
    }

    // MARK: Ready

    /// Everything to do since the last `advance`.
    public func ready() -> Ready {
        let applying = pendingSnapshot == nil && !awaitingSnapshot
        let stored = applying ? log.storedToApply(countMax: options.storedApplyEntriesMax) : nil
        return Ready(hardState: hardState == persistedHardState ? nil : hardState,
                     entries: log.unstableEntries,
                     snapshot: pendingSnapshot,
                     messages: messages,
                     committed: applying && stored == nil ? log.entriesToApply : [],
                     committedStored: stored,
                     readStates: readStates,
                     role: role, term: term, leader: leader)
    }

    /// The shell has done what `ready` asked.
    public mutating func advance(_ ready: Ready) {
        precondition(ready.messages.count <= messages.count && ready.readStates.count <= readStates.count,
                     "advancing a Ready that was not produced by this core")
        if let hardState = ready.hardState { persistedHardState = hardState }
        if let snapshot = ready.snapshot, snapshot == pendingSnapshot { pendingSnapshot = nil }
        log.markPersisted(ready.entries)
        if catchUp > 0 && log.persisted >= catchUp && !awaitingSnapshot { catchUp = 0 }
        if let last = ready.committed.last?.index ?? ready.committedStored?.upperBound {
            precondition(last <= log.committed, "applied \(last) beyond commit \(log.committed)")
            log.applied = max(log.applied, last)
        }
        log.evict(bytesMax: options.logCacheBytesMax)
        messages.removeFirst(ready.messages.count)
        readStates.removeFirst(ready.readStates.count)
        if role == .leader && maybeCommit() { broadcastAppend() }
    }

    // MARK: Message handling

    private mutating func stepMessage(_ message: RaftMessage) {
        if message.term > term {
            switch message.body {
            case .preVote, .vote(_, _, transfer: false):
                // Within a leader's lease, refuse to take part in an election at all.
                if options.checkQuorum, leader != nil, electionElapsed < options.electionTimeoutTicks { return }
            default:
                break
            }
            switch message.body {
            case .preVote:
                break // a pre-vote never changes our term
            case .preVoteResponse(granted: true):
                break // carries the proposed term
            default:
                becomeFollower(term: message.term, leader: message.isFromLeader ? message.from : nil)
            }
        } else if message.term < term {
            switch message.body {
            case .append, .heartbeat:
                // A deposed leader that missed the election: tell it the new term so it steps down.
                send(to: message.from, .appendResponse(reject: true, index: 0, lastIndex: log.lastIndex))
            case .preVote:
                send(to: message.from, .preVoteResponse(granted: false))
            default:
                break
            }
            return
        }

        switch message.body {
        case .preVote(let lastIndex, let lastTerm):
            let grant = catchUp == 0 && message.term > term && log.isUpToDate(lastIndex: lastIndex, lastTerm: lastTerm)
            send(to: message.from, term: grant ? message.term : term, .preVoteResponse(granted: grant))
            return
        case .vote(let lastIndex, let lastTerm, _):
            let free = vote == message.from || (vote == nil && leader == nil)
            if free && catchUp == 0 && log.isUpToDate(lastIndex: lastIndex, lastTerm: lastTerm) {
                electionElapsed = 0
                vote = message.from
                send(to: message.from, .voteResponse(granted: true))
            } else {
                send(to: message.from, .voteResponse(granted: false))
            }
            return
        default:
            break
        }

        switch role {
        case .leader: stepLeader(message)
        case .preCandidate, .candidate: stepCandidate(message)
        case .follower: stepFollower(message)
        }
    }

    private mutating func stepLeader(_ message: RaftMessage) {
        switch message.body {
        case .appendResponse(let reject, let index, let lastIndex):
            guard var follower = progress[message.from] else { return }
            follower.recentActive = true
            if reject {
                if follower.refuse(index, lastIndex: lastIndex) {
                    if follower.state == .replicate { follower.becomeProbe() }
                    progress[message.from] = follower
                    sendAppend(to: message.from)
                } else {
                    progress[message.from] = follower
                }
                return
            }
            let wasPaused = follower.isPaused(inflightMax: options.inflightAppendsMax)
            if follower.acknowledge(index) {
                switch follower.state {
                case .probe: follower.becomeReplicate()
                case .snapshot(let pendingIndex) where follower.match >= pendingIndex: follower.becomeProbe()
                default: break
                }
                progress[message.from] = follower
                if maybeCommit() {
                    broadcastAppend()
                } else if wasPaused {
                    sendAppend(to: message.from)
                }
                while sendAppend(to: message.from, sendIfEmpty: false) {}
                if transferee == message.from, follower.match == log.lastIndex {
                    send(to: message.from, .timeoutNow)
                }
                maybeHandOffLeadership()
            } else {
                progress[message.from] = follower
            }
        case .heartbeatResponse(let context):
            guard var follower = progress[message.from] else { return }
            follower.recentActive = true
            follower.probeSent = false
            // Lost appends would keep a full pipeline full forever: free one slot per heartbeat
            // so that an append goes out, is refused, and replication falls back to probing.
            if follower.state == .replicate && follower.inflight.count >= options.inflightAppendsMax {
                follower.inflight.removeFirst()
            }
            progress[message.from] = follower
            if follower.match < log.lastIndex { sendAppend(to: message.from) }
            if context != 0 { acknowledgeRead(context, from: message.from) }
        case .append, .heartbeat, .snapshot:
            preconditionFailure("member \(id), leader of term \(term), got \(message): two leaders in one term")
        case .storedAppend:
            preconditionFailure("member \(id) got \(message), which a shell must resolve before sending")
        case .preVote, .preVoteResponse, .vote, .voteResponse, .timeoutNow:
            break
        }
    }

    private mutating func stepCandidate(_ message: RaftMessage) {
        switch message.body {
        case .append, .heartbeat, .snapshot:
            becomeFollower(term: message.term, leader: message.from)
            stepFollower(message)
        case .preVoteResponse(let granted) where role == .preCandidate:
            tallyVote(from: message.from, granted: granted)
        case .voteResponse(let granted) where role == .candidate:
            tallyVote(from: message.from, granted: granted)
        default:
            break
        }
    }

    private mutating func stepFollower(_ message: RaftMessage) {
        if awaitingSnapshot {
            switch message.body {
            case .append(let previousIndex, _, _, _):
                // Refuse as a member whose log is empty: the leader starts over with a snapshot.
                electionElapsed = 0
                leader = message.from
                send(to: message.from, .appendResponse(reject: true, index: previousIndex, lastIndex: 0))
                return
            case .heartbeat:
                electionElapsed = 0
                leader = message.from
                send(to: message.from, .appendResponse(reject: true, index: 0, lastIndex: 0))
                return
            default:
                break
            }
        }
        switch message.body {
        case .append(let previousIndex, let previousTerm, let entries, let commit):
            electionElapsed = 0
            leader = message.from
            handleAppend(from: message.from, previousIndex: previousIndex, previousTerm: previousTerm, entries: entries, commit: commit)
        case .heartbeat(let commit, let context):
            electionElapsed = 0
            leader = message.from
            log.commit(to: min(commit, log.lastIndex))
            send(to: message.from, .heartbeatResponse(context: context))
        case .snapshot(let meta):
            electionElapsed = 0
            leader = message.from
            handleSnapshot(from: message.from, meta)
        case .timeoutNow:
            if isPromotable { campaign(.transfer) }
        default:
            break
        }
    }

    private mutating func handleAppend(from sender: MemberID, previousIndex: UInt64, previousTerm: UInt64, entries: [LogEntry], commit: UInt64) {
        if previousIndex < log.committed {
            send(to: sender, .appendResponse(reject: false, index: log.committed, lastIndex: log.lastIndex))
            return
        }
        guard log.matches(index: previousIndex, term: previousTerm) else {
            send(to: sender, .appendResponse(reject: true, index: previousIndex, lastIndex: log.lastIndex))
            return
        }
        let membershipBefore = membershipIndex
        if let firstChanged = log.append(after: previousIndex, entries),
           firstChanged <= membershipBefore || entries.contains(where: { $0.kind == .membership }) {
            refreshMembership()
        }
        let lastNew = previousIndex + UInt64(entries.count)
        log.commit(to: min(commit, lastNew))
        send(to: sender, .appendResponse(reject: false, index: lastNew, lastIndex: log.lastIndex))
    }

    private mutating func handleSnapshot(from sender: MemberID, _ meta: SnapshotMeta) {
        if awaitingSnapshot {
            // Our state was thrown away: take the leader's, whatever our log holds.
            awaitingSnapshot = false
            log.restore(meta, replacingCommitted: true)
            membership = meta.membership
            membershipIndex = meta.index
            pendingSnapshot = meta
            send(to: sender, .appendResponse(reject: false, index: log.lastIndex, lastIndex: log.lastIndex))
            return
        }
        if meta.index <= log.committed {
            send(to: sender, .appendResponse(reject: false, index: log.committed, lastIndex: log.lastIndex))
            return
        }
        if log.matches(index: meta.index, term: meta.term) {
            // Our log already has it: just commit (no need to reload the state machine).
            log.commit(to: meta.index)
        } else {
            log.restore(meta)
            membership = meta.membership
            membershipIndex = meta.index
            pendingSnapshot = meta
        }
        send(to: sender, .appendResponse(reject: false, index: log.lastIndex, lastIndex: log.lastIndex))
    }

    // MARK: Elections

    private enum CampaignKind { case preElection, election, transfer }

    private mutating func tickElection() {
        electionElapsed += 1
        if isPromotable && electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            campaign(options.preVote ? .preElection : .election)
        }
    }

    private mutating func campaign(_ kind: CampaignKind) {
        guard isPromotable else { return }
        if kind == .preElection {
            role = .preCandidate
            leader = nil
        } else {
            term += 1
            vote = id
            role = .candidate
            leader = nil
        }
        votes = [id: true]
        electionElapsed = 0
        resetRandomizedElectionTimeout()
        if membership.quorum <= 1 {
            kind == .preElection ? campaign(.election) : becomeLeader()
            return
        }
        for voter in membership.voters.sorted() where voter != id {
            if kind == .preElection {
                send(to: voter, term: term + 1, .preVote(lastIndex: log.lastIndex, lastTerm: log.lastTerm))
            } else {
                send(to: voter, .vote(lastIndex: log.lastIndex, lastTerm: log.lastTerm, transfer: kind == .transfer))
            }
        }
    }

    private mutating func tallyVote(from voter: MemberID, granted: Bool) {
        guard membership.voters.contains(voter) else { return }
        votes[voter] = granted
        let grants = votes.values.filter { $0 }.count
        let refusals = votes.count - grants
        if grants >= membership.quorum {
            guard isPromotable && !awaitingSnapshot else {
                becomeFollower(term: term, leader: nil)
                return
            }
            role == .preCandidate ? campaign(.election) : becomeLeader()
        } else if refusals >= membership.quorum {
            becomeFollower(term: term, leader: nil)
        }
    }

    private mutating func becomeFollower(term newTerm: UInt64, leader newLeader: MemberID?) {
        precondition(newTerm >= term, "member \(id) going back from term \(term) to \(newTerm)")
        if newTerm > term {
            term = newTerm
            vote = nil
        }
        role = .follower
        leader = newLeader
        votes = [:]
        progress = [:]
        transferee = nil
        pendingReads = []
        readsAwaitingCommit = []
        electionElapsed = 0
        resetRandomizedElectionTimeout()
    }

    private mutating func becomeLeader() {
        precondition(role == .candidate, "member \(id) becoming leader from \(role)")
        role = .leader
        leader = id
        votes = [:]
        transferee = nil
        heartbeatElapsed = 0
        electionElapsed = 0
        progress = [:]
        for member in membership.members where member != id {
            var follower = Progress(next: log.lastIndex + 1)
            follower.recentActive = true
            progress[member] = follower
        }
        // Commit entries of earlier terms by committing one of our own.
        appendAsLeader(kind: .noop, data: [])
        maybeHandOffLeadership()
    }

    private mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if transferee != nil {
            transferElapsed += 1
            if transferElapsed >= options.electionTimeoutTicks { transferee = nil }
        }
        if electionElapsed >= options.electionTimeoutTicks {
            electionElapsed = 0
            if options.checkQuorum {
                let active = membership.voters.filter { $0 == id || progress[$0]?.recentActive == true }.count
                if active < membership.quorum {
                    becomeFollower(term: term, leader: nil)
                    return
                }
                for member in progress.keys { progress[member]!.recentActive = false }
            }
        }
        maybeHandOffLeadership()
        if heartbeatElapsed >= options.heartbeatIntervalTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat(context: pendingReads.last?.context ?? 0)
        }
    }

    private mutating func resetRandomizedElectionTimeout() {
        let timeout = options.electionTimeoutTicks
        let maximum = options.electionTimeoutMaxTicks > timeout ? options.electionTimeoutMaxTicks : 2 * timeout
        randomizedElectionTimeout = timeout + Int.random(in: 0..<(maximum - timeout), using: &random)
    }

    // MARK: Replication

    private func checkCanPropose() throws(RaftError) {
        guard role == .leader else { throw RaftError(.notLeader, "member \(id) is not the leader", leaderHint: leader) }
        guard transferee == nil else {
            throw RaftError(.transferInProgress, "leadership is moving to member \(transferee!)", leaderHint: transferee)
        }
    }

    private mutating func appendAsLeader(kind: EntryKind, data: [UInt8]) {
        precondition(role == .leader, "member \(id) appending as \(role)")
        let entry = LogEntry(term: term, index: log.lastIndex + 1, kind: kind, data: data)
        log.appendLocal(entry)
        if kind == .membership {
            refreshMembership()
            for member in membership.members where member != id && progress[member] == nil {
                progress[member] = Progress(next: log.lastIndex)
            }
            for member in progress.keys where !membership.members.contains(member) { progress[member] = nil }
        }
        broadcastAppend()
    }

    /// Advances the commit index to the highest index a quorum has persisted, if it is from this term.
    private mutating func maybeCommit() -> Bool {
        var matched = membership.voters.map { $0 == id ? log.persisted : (progress[$0]?.match ?? 0) }
        matched.sort(by: >)
        let quorumIndex = matched[membership.quorum - 1]
        guard quorumIndex > log.committed, log.term(at: quorumIndex) == term else { return false }
        log.commit(to: quorumIndex)
        if !readsAwaitingCommit.isEmpty {
            let waiting = readsAwaitingCommit
            readsAwaitingCommit = []
            for context in waiting { startRead(context) }
        }
        if !membership.voters.contains(id) && log.committed >= membershipIndex {
            // Our own removal is committed: stand down (we can never be elected again).
            becomeFollower(term: term, leader: nil)
            return false
        }
        return true
    }

    private mutating func broadcastAppend() {
        for member in progress.keys.sorted() {
            sendAppend(to: member)
            while sendAppend(to: member, sendIfEmpty: false) {}
        }
    }

    /// Sends `member` the next batch it needs (or a snapshot). Returns whether entries were sent.
    @discardableResult
    private mutating func sendAppend(to member: MemberID, sendIfEmpty: Bool = true) -> Bool {
        guard var follower = progress[member], !follower.isPaused(inflightMax: options.inflightAppendsMax) else { return false }
        let previousIndex = follower.next - 1
        guard follower.next >= log.firstIndex, let previousTerm = log.term(at: previousIndex) else {
            guard follower.recentActive else { return false }
            follower.becomeSnapshot(log.snapshot.index)
            progress[member] = follower
            send(to: member, .snapshot(log.snapshot))
            return false
        }
        if follower.next < log.cacheFirst {
            // On disk only: the shell reads them (at most a batch, and not past the cache).
            let through = min(log.cacheFirst - 1, follower.next + UInt64(options.appendEntriesMax) - 1)
            send(to: member, .storedAppend(previousIndex: previousIndex, previousTerm: previousTerm, through: through, commit: log.committed))
            follower.sent(lastIndex: through)
            progress[member] = follower
            return follower.state == .replicate
        }
        let entries = log.entries(from: follower.next, countMax: options.appendEntriesMax, bytesMax: options.appendBytesMax)
        if entries.isEmpty && !sendIfEmpty { return false }
        send(to: member, .append(previousIndex: previousIndex, previousTerm: previousTerm, entries: entries, commit: log.committed))
        follower.sent(lastIndex: entries.last?.index)
        progress[member] = follower
        return !entries.isEmpty && follower.state == .replicate
    }

    private mutating func broadcastHeartbeat(context: UInt64) {
        for member in progress.keys.sorted() {
            let follower = progress[member]!
            send(to: member, .heartbeat(commit: min(follower.match, log.committed), context: context))
        }
    }

    // MARK: Reads

    private mutating func startRead(_ context: UInt64) {
        if membership.quorum <= 1 {
            readStates.append(ReadState(index: log.committed, context: context))
            return
        }
        pendingReads.append(PendingRead(index: log.committed, context: context, acknowledgers: [id]))
        broadcastHeartbeat(context: context)
    }

    private mutating func acknowledgeRead(_ context: UInt64, from member: MemberID) {
        guard membership.voters.contains(member), let position = pendingReads.firstIndex(where: { $0.context == context }) else { return }
        pendingReads[position].acknowledgers.insert(member)
        guard pendingReads[position].acknowledgers.count >= membership.quorum else { return }
        // A quorum still follows us as of this read, and so as of every read queued before it.
        for read in pendingReads[...position] { readStates.append(ReadState(index: read.index, context: read.context)) }
        pendingReads.removeFirst(position + 1)
    }

    // MARK: Leadership transfer

    private mutating func startTransfer(to target: MemberID) {
        if transferee == target { return }
        transferee = target
        transferElapsed = 0
        if progress[target]?.match == log.lastIndex {
            send(to: target, .timeoutNow)
        } else {
            sendAppend(to: target)
        }
    }

    /// A non-serving member (journal node) that leads hands leadership to the most up-to-date
    /// serving voter at once.
    private mutating func maybeHandOffLeadership() {
        guard role == .leader, transferee == nil, membership.nonServing.contains(id) else { return }
        // Only members that have answered this term (match > 0) are known to be alive.
        let candidates = membership.voters.subtracting(membership.nonServing).sorted().filter { member in
            guard let follower = progress[member] else { return false }
            return follower.recentActive && follower.match > 0
        }
        // The most up-to-date one; among equals, the lowest id.
        guard let best = candidates.min(by: { (progress[$0]!.match, $1) > (progress[$1]!.match, $0) }) else { return }
        startTransfer(to: best)
    }

    // MARK: Membership

    /// Sets `membership` from the newest membership entry in the log, else the snapshot's.
    private mutating func refreshMembership() {
        if let newest = log.memberships.last {
            membership = newest.membership
            membershipIndex = newest.index
        } else {
            membership = log.snapshot.membership
            membershipIndex = log.snapshot.index
        }
    }

    private func membershipAt(_ index: UInt64) -> Membership {
        log.memberships.last(where: { $0.index <= index })?.membership ?? log.snapshot.membership
    }

    // MARK: Output

    private mutating func send(to member: MemberID, term messageTerm: UInt64? = nil, _ body: RaftMessage.Body) {
        messages.append(RaftMessage(from: id, to: member, term: messageTerm ?? term, body: body))
    }
}
