import CompressNIO
import Crypto
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StrataCore
import StrataRaft
import StrataWire

/// The state a journal replicates: the file-system master's namespace, the job table, or a test
/// service's list. Entries arrive once each, in log order, only after they are committed.
public protocol ReplicatedStateMachine: Sendable {
    /// Applies committed entries' data, in order (a batch per call: one hop into the state
    /// machine for many entries, which matters when a restarted member replays its log).
    func apply(_ entries: [LogEntry]) async
    /// A consistent view of the state as of the last applied entry, serialized when the returned
    /// closure runs. Taking it must be quick (a copy-on-write copy): the journal applies nothing
    /// meanwhile. The closure runs on another thread while the journal goes on, so a checkpoint
    /// never stops the leader from serving.
    func snapshot() async -> @Sendable () -> [UInt8]
    /// Replaces the state with a snapshot's.
    func restore(_ data: [UInt8]) async throws
}

/// How one member of an embedded-journal group runs.
public struct RaftNodeConfiguration: Sendable {
    /// This member's embedded-journal address (it is also its identity in the group).
    public var address: HostAndPort
    /// Every voting member's embedded-journal address, this one included.
    public var members: [HostAndPort]
    /// Members that vote and store the log but never serve (journal nodes).
    public var nonServing: [HostAndPort] = []
    public var directory: String
    public var clusterID: [UInt8]
    /// Write a new journal identity if the directory has none (tests and test services only;
    /// real deployments run `strata format`).
    public var formatIfMissing = false
    public var tickInterval: Duration = .milliseconds(50)
    /// Most proposals waiting to commit: past it a proposal is refused (retryable) instead of
    /// growing the queue while the quorum is slow or gone.
    public var proposalsPendingMax = RaftNode.proposalsPendingMax
    public var options = RaftOptions()
    /// fsync before acknowledging; false only with `strata.master.embedded.journal.unsafe.flush.enabled`.
    public var sync = true
    public var segmentSizeMaxBytes = 64 << 20
    public var checkpointPeriodEntries: UInt64 = 2_000_000
    /// Extra time to gather entries into one fsync (0: batch only what arrives during a flush).
    public var flushBatchTime: Duration = .zero
    public var snapshotsRetained = 2
    public var snapshotChunkSizeBytes = 4 << 20
    public var compressSnapshots = false
    public var frameSizeMaxBytes = 16 << 20
    /// How long a member with an empty journal keeps asking a running group (whose leader is not
    /// known yet) to add it, before it starts with the configured members instead.
    public var joinWait: Duration = .seconds(10)
    /// A learner within this many entries of the commit index is promoted to voter.
    public var promotionLagEntriesMax: UInt64 = 100
    /// False on a journal node: its state machine holds nothing, so it never checkpoints itself;
    /// it keeps the snapshots the leader ships and drops the log they cover.
    public var keepsOwnState = true
    /// The quorum's name (MASTER, JOB_MASTER), for messages to operators.
    public var domainName = "MASTER"

    public init(address: HostAndPort, members: [HostAndPort], directory: String, clusterID: [UInt8]) {
        self.address = address
        self.members = members
        self.directory = directory
        self.clusterID = clusterID
    }

    /// The member id of an embedded-journal address: a stable 64-bit hash of `host:port`.
    public static func memberID(of address: HostAndPort) -> MemberID { address.stableID }
}

/// Why a proposal or read did not succeed.
public struct ProposalError: Error, CustomStringConvertible, Equatable {
    public enum Code: Sendable, Equatable {
        /// This member does not lead; try `leaderHint`.
        case notLeader
        /// Leadership was lost before the entry was applied: it may or may not commit later.
        case outcomeUnknown
        /// The core refused it (too large, a membership change pending, a transfer under way).
        case refused
        /// The node is stopping.
        case stopped
        /// Too many proposals wait to commit already (`proposalsPendingMax`): nothing was
        /// journaled; retry after a pause.
        case overloaded
        /// The leader's journal cannot write (its disk is full): nothing was journaled.
        case noSpace
    }
    public let code: Code
    public let message: String
    public let leaderHint: HostAndPort?
    public var description: String { message }

    public init(code: Code, message: String, leaderHint: HostAndPort?) {
        self.code = code
        self.message = message
        self.leaderHint = leaderHint
    }
}

/// What a member reports about itself.
public struct RaftNodeStatus: Sendable, Equatable {
    public var memberID: MemberID
    public var address: HostAndPort
    public var role: RaftRole
    public var term: UInt64
    public var leader: HostAndPort?
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var lastIndex: UInt64
    public var snapshotIndex: UInt64
}

/// One member of an embedded-journal group: the Raft core with its disk, network and state
/// machine. An actor owns the core; disk writes run on a thread pool so that messages keep being
/// stepped while a batch is fsynced, and the next batch carries all of them (group commit).
public actor RaftNode {
    public nonisolated let configuration: RaftNodeConfiguration
    public nonisolated let memberID: MemberID
    private let stateMachine: any ReplicatedStateMachine
    private var logger: Logger
    private var core: RaftCore
    private let disk: JournalDisk
    private var links: [MemberID: PeerLink] = [:]
    private var linkTasks: [MemberID: Task<Void, Never>] = [:]
    private var running = false
    /// Every member address known: the configured ones and those the membership carries.
    private var addresses: [MemberID: HostAndPort]
    private let threadPool: NIOThreadPool
    /// Most entries handed to the state machine in one call.
    static let applyBatchMax = 4096
    /// Serializes checkpoints, so that the disk thread is not held up.
    private let checkpointPool: NIOThreadPool

    /// The ready loop's wait, resumable from outside the actor (cancellation).
    /// Rung whenever the core may have something ready; the ready loop waits on it.
    private let readyBell = Doorbell()
    /// Proposals waiting to commit, by index; at most `proposalsPendingMax`.
    private var proposals: [UInt64: (term: UInt64, continuation: CheckedContinuation<UInt64, any Error>)] = [:]
    /// The default bound on proposals waiting to commit (`RaftNodeConfiguration.proposalsPendingMax`).
    public static let proposalsPendingMax = 16_384
    /// Linearizable reads, batched as etcd's read loop batches them: one ReadIndex round is in
    /// flight at a time, for every read that arrived before it started (by the round's context);
    /// reads arriving meanwhile wait for the next round, which starts when this one ends.
    private var reads: [UInt64: [CheckedContinuation<UInt64, any Error>]] = [:]
    private var readsForNextRound: [CheckedContinuation<UInt64, any Error>] = []
    private var appliedWaiters: [(index: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    private var nextReadContext: UInt64 = 1
    private var knownRole: RaftRole = .follower
    private var knownLeader: MemberID?
    private var incoming: (index: UInt64, term: UInt64, bytes: [UInt8])?
    /// Snapshots received from the leader and stepped into the core, oldest first, each waiting
    /// for the round that installs it. More than one can wait: a newer snapshot may arrive while
    /// a round is still restoring an older one (found by the fault campaign: a follower restarted
    /// into two snapshot transfers in a row crashed on the second).
    private var received: [SnapshotStore.Snapshot] = []
    /// The most snapshots kept waiting; older ones are dropped (the core installs the newest).
    static let receivedSnapshotsMax = 4
    private var lastSnapshotIndex: UInt64
    /// The index the state machine holds: entries applied or a snapshot installed. The core's
    /// applied index runs ahead of it while the ready loop waits in the middle of a round (a
    /// snapshot the core stepped is not yet restored), so reports and waiters use this one.
    private var stateMachineAppliedIndex: UInt64
    /// The checkpoint being serialized and saved, if any.
    private var checkpointRunning: Task<Void, any Error>?
    /// Why the journal cannot write, while its disk is full.
    private var diskFull: String?
    /// Work started outside the run loop's task group (closing a removed member's link, saving
    /// peer storage, a checkpoint past unreadable entries); ended by `shutdown()`.
    private let background = OwnedTasks()
    /// Callers of `checkpoint()` waiting for the ready loop to start one.
    private var checkpointRequests: [CheckedContinuation<Task<Void, any Error>, any Error>] = []
    private let statusBox: NIOLockedValueBox<RaftNodeStatus>
    /// The term last made durable: a leader only sends before persisting if its term already is.
    private var persistedTerm: UInt64
    /// Repairs made to the disk at start-up, for operators and tests.
    public let repairs: [String]
    /// This member's journal storage id (journal.id), sent with every message.
    public nonisolated let storageID: UInt64
    /// The storage id each peer has shown (persisted in `peers`).
    private var peerStorage: [MemberID: UInt64]
    /// Peers that refuse this member, and why (logged once each).
    private var refusedBy: [MemberID: String] = [:]
    /// The snapshot index last shipped to each journal node, and the ones under way.
    private var offered: [MemberID: UInt64] = [:]
    private var offering: Set<MemberID> = []
    /// The newest CHECKPOINT entry appended or applied (see `JournalControl`).
    private var lastMarkerIndex: UInt64
    /// Every member's state digests as the log records them, and the verdicts they give.
    private var digestBook = StateDigestBook()
    /// This member's digest at its newest CHECKPOINT, until it sees the leader log it.
    private var ownDigest: StateDigestReport?
    /// On the leader: followers' digests to log, and the ones proposed (term/member/index).
    private var receivedDigests: [MemberID: StateDigestReport] = [:]
    private var proposedDigests: Set<String> = []
    /// A divergent leader hands leadership over first, then discards its state (index, majority digest).
    private var repairAfterStepDown: (UInt64, [UInt8]?)?
    /// Digests of checkpoints this process took (a verdict against this member counts only for these).
    private var localDigests: [UInt64: [UInt8]] = [:]
    /// The checkpoint index at which this member's state was discarded, until the leader's snapshot is installed.
    private var repairedAt: UInt64?
    /// This member's role after each change (the newest 16 are kept for a slow reader).
    public nonisolated let roleChanges: AsyncStream<RaftRole>
    private let roleContinuation: AsyncStream<RaftRole>.Continuation

    /// Opens the member's journal, restores its state machine from the latest snapshot, and
    /// prepares (but does not start) it; call `run()`.
    public init(configuration: RaftNodeConfiguration, stateMachine: any ReplicatedStateMachine, logger: Logger) async throws {
        precondition(configuration.members.contains(configuration.address), "\(configuration.address) is not among the members \(configuration.members)")
        self.configuration = configuration
        self.memberID = RaftNodeConfiguration.memberID(of: configuration.address)
        self.stateMachine = stateMachine
        var logger = logger
        logger[metadataKey: "member"] = "\(configuration.address)"
        self.logger = logger
        var addresses: [MemberID: HostAndPort] = [:]
        for address in configuration.members { addresses[RaftNodeConfiguration.memberID(of: address)] = address }
        precondition(addresses.count == configuration.members.count, "two member addresses hash to one id: \(configuration.members)")
        self.addresses = addresses

        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        self.threadPool = threadPool
        let checkpointPool = NIOThreadPool(numberOfThreads: 1)
        checkpointPool.start()
        self.checkpointPool = checkpointPool
        let openStarted = ContinuousClock.now
        let opened = try await threadPool.runIfActive { try JournalDisk.open(configuration) }
        let diskRead = ContinuousClock.now - openStarted
        self.disk = opened.disk
        self.repairs = opened.repairs
        self.storageID = opened.disk.identity.storageID
        self.peerStorage = opened.peerStorage
        for repair in opened.repairs { logger.warning("journal repaired at start-up: \(repair)") }

        let configured = Membership(
            voters: Set(addresses.keys),
            nonServing: Set(configuration.nonServing.map(RaftNodeConfiguration.memberID(of:))),
            addresses: addresses.mapValues(\.description))
        var baseMembership = configured
        if opened.snapshot == nil {
            if let saved = opened.membershipBase {
                baseMembership = saved
            } else if opened.recovered.entryCount == 0 {
                let nonServing = configuration.nonServing.contains(configuration.address)
                let joined = try await QuorumJoin.discover(configuration, nonServing: nonServing, storageID: opened.disk.identity.storageID, logger: logger)
                logger.info("start-up: \(joined.summary)")
                if let membership = joined.membership {
                    baseMembership = membership
                    try await threadPool.runIfActive { [configuration] in
                        try MembershipBaseFile.write(membership, directory: configuration.directory, sync: configuration.sync)
                    }
                }
            }
        }
        let snapshotMeta = opened.snapshot?.meta ?? SnapshotMeta(index: 0, term: 0, membership: baseMembership)
        let restoreStarted = ContinuousClock.now
        if let snapshot = opened.snapshot { try await stateMachine.restore(snapshot.data) }
        let restored = ContinuousClock.now - restoreStarted
        self.lastSnapshotIndex = snapshotMeta.index
        self.stateMachineAppliedIndex = snapshotMeta.index
        self.lastMarkerIndex = snapshotMeta.index
        self.persistedTerm = opened.recovered.hardState.term
        // Entries once held and now gone (a corrupt record cut off, a damaged snapshot) may have
        // been acknowledged: the member must hold them again before it votes.
        var hardState = opened.recovered.hardState
        let held = opened.recovered.entryCount == 0 ? snapshotMeta.index : opened.recovered.log.lastIndex
        let lost = max(opened.recovered.lostThrough, hardState.commit)
        if lost > held && lost > hardState.catchUp {
            hardState.catchUp = lost
            logger.warning("journal lost entries \(held + 1)...\(lost) it may have acknowledged: this member neither votes nor campaigns until it holds them again from the leader")
        }
        self.core = RaftCore(id: memberID, options: configuration.options, seed: UInt64.random(in: 1...UInt64.max),
                             hardState: hardState, snapshot: snapshotMeta, stored: opened.recovered.log)

        self.statusBox = NIOLockedValueBox(RaftNodeStatus(
            memberID: memberID, address: configuration.address, role: .follower, term: opened.recovered.hardState.term,
            leader: nil, commitIndex: snapshotMeta.index, appliedIndex: snapshotMeta.index, lastIndex: snapshotMeta.index,
            snapshotIndex: snapshotMeta.index))
        (roleChanges, roleContinuation) = AsyncStream.makeStream(of: RaftRole.self, bufferingPolicy: .bufferingNewest(16))
        logger.info("journal opened: \(opened.recovered.entryCount) entries after snapshot \(snapshotMeta.index), term \(core.term); read in \(diskRead), state restored in \(restored)")
    }

    // MARK: Running

    /// Ticks the core, handles its output and talks to peers until cancelled.
    public func run() async throws {
        running = true
        syncPeers()
        defer {
            running = false
            for task in linkTasks.values { task.cancel() }
            linkTasks = [:]
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.tickLoop() }
            group.addTask { try await self.readyLoop() }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Keeps one link per other member of the current membership, learning addresses that the
    /// membership carries (members added at run time) and closing links to removed members.
    private func syncPeers() {
        let membership = core.membership
        for (member, text) in membership.addresses where addresses[member]?.description != text {
            if let address = HostAndPort(parsing: text), RaftNodeConfiguration.memberID(of: address) == member {
                addresses[member] = address
            } else {
                logger.warning("membership carries an unusable address '\(text)' for member \(member)")
            }
        }
        for member in membership.members where member != memberID && links[member] == nil {
            guard let address = addresses[member] else { continue }
            let link = PeerLink(peer: member, address: address, clusterID: configuration.clusterID, storageID: storageID,
                                frameSizeMaxBytes: configuration.frameSizeMaxBytes, deadline: .seconds(2),
                                chunkSizeBytes: configuration.snapshotChunkSizeBytes, compress: configuration.compressSnapshots,
                                logger: logger)
            link.attach(self)
            if let ownDigest { link.report(ownDigest) }
            links[member] = link
        }
        for (member, link) in links where !membership.members.contains(member) {
            links[member] = nil
            linkTasks.removeValue(forKey: member)?.cancel()
            background.spawn { await link.close() }
        }
        // A removed member may come back with a new disk: it joins as a new member.
        let removed = peerStorage.keys.filter { !membership.members.contains($0) && $0 != memberID }
        if !removed.isEmpty {
            for member in removed { peerStorage[member] = nil }
            background.spawn { try? await self.savePeerStorage() }
        }
        if running {
            for (member, link) in links where linkTasks[member] == nil { linkTasks[member] = Task { await link.run() } }
        }
    }

    /// Stops background work and fails whatever waits.
    public func shutdown() async {
        roleContinuation.finish()
        failWaiters(ProposalError(code: .stopped, message: "the journal is stopping", leaderHint: nil))
        for link in links.values { await link.close() }
        await background.shutdown()
        for waiter in checkpointRequests { waiter.resume(throwing: ProposalError(code: .stopped, message: "the journal is stopping", leaderHint: nil)) }
        checkpointRequests = []
        if let running = checkpointRunning { _ = try? await running.value }
        try? await checkpointPool.shutdownGracefully()
        try? await threadPool.shutdownGracefully()
    }

    private func tickLoop() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: configuration.tickInterval)
            _ = core.tick()
            promoteCaughtUpLearner()
            handOffDivergentLeadership()
            maybeProposeCheckpoint()
            proposePendingDigests()
            offerSnapshotsToJournalNodes()
            let current = status
            statusBox.withLockedValue { $0 = current }
            signalReady()
        }
    }

    private func signalReady() {
        readyBell.ring()
    }

    private func readyLoop() async throws {
        while !Task.isCancelled {
            if !checkpointRequests.isEmpty { await serveCheckpointRequests() }
            if core.ready().isEmpty {
                await readyBell.wait()
                continue
            }
            if configuration.flushBatchTime > .zero && !core.ready().entries.isEmpty {
                try await Task.sleep(for: configuration.flushBatchTime)
            }
            var draft = core.ready()
            // Committed entries no longer in memory (a replay after a restart, say) are read back.
            var applying = draft.committed
            if let range = draft.committedStored {
                applying = try await threadPool.runIfActive { [disk] in try disk.log.read(range) }
            }
            // A journal entry (a CHECKPOINT, a state digest) is acted on with everything before
            // it applied and nothing after: the batch ends there, the rest comes next round.
            if let position = applying.firstIndex(where: { $0.kind == .journal }) {
                applying = Array(applying[...position])
                if draft.committedStored != nil { draft.committedStored = draft.committedStored!.lowerBound...applying[position].index }
                else { draft.committed = applying }
            }
            let ready = draft
            var messages = ready.messages
            if messages.contains(where: { if case .storedAppend = $0.body { true } else { false } }) {
                let resolved = try await threadPool.runIfActive { [disk, logger, messages, options = configuration.options] in
                    Self.resolveStoredAppends(messages, log: disk.log, bytesMax: options.appendBytesMax, logger: logger)
                }
                messages = resolved.messages
                if resolved.failed && configuration.keepsOwnState && checkpointRunning == nil && !checkpointingPastUnreadable {
                    // Entries that cannot be read back: a checkpoint past them makes the leader
                    // send those members a snapshot instead.
                    logger.warning("taking a checkpoint so that members needing unreadable entries get a snapshot instead")
                    checkpointingPastUnreadable = true
                    background.spawn {
                        try? await self.checkpoint()
                        await self.checkpointPastUnreadableDone()
                    }
                }
            }
            // A leader may replicate while it writes its own disk (Raft §10.2.1): its term and
            // vote are already durable, and it counts itself towards a commit only once its
            // entries are. Any other role's messages (votes, acknowledgements) wait for the fsync.
            let sendFirst = ready.role == .leader && ready.hardState.map { $0.term == persistedTerm } ?? true
            if sendFirst { send(messages) }
            let flushStarted = ContinuousClock.now
            try await persist(ready)
            if !ready.entries.isEmpty { Metrics.Timer(label: "strata_journal_flush_duration_seconds").record(since: flushStarted) }
            if let hardState = ready.hardState { persistedTerm = hardState.term }
            if !sendFirst { send(messages) }
            if let snapshot = ready.snapshot {
                guard let position = received.firstIndex(where: { $0.meta == snapshot }) else {
                    preconditionFailure("Raft installed \(snapshot) that was not received (waiting: \(received.map(\.meta)))")
                }
                let installing = received[position]
                received.removeSubrange(...position)  // it, and any older one the core skipped
                try await stateMachine.restore(installing.data)
                lastSnapshotIndex = snapshot.index
                stateMachineAppliedIndex = snapshot.index
                logger.info("installed snapshot \(snapshot.index)@\(snapshot.term) from the leader")
                if repairedAt != nil {
                    // Any snapshot of this member's own above the leader's held the discarded state.
                    repairedAt = nil
                    localDigests = [:]
                    let moved = try await threadPool.runIfActive { [disk] in try disk.snapshots.setAside(fromIndex: snapshot.index + 1, suffix: ".diverged") }
                    if !moved.isEmpty { logger.warning("set aside \(moved.joined(separator: ", ")), taken from the discarded state") }
                }
            }
            let normal = applying.filter { $0.kind == .normal }
            let applyStarted = ContinuousClock.now
            for start in stride(from: 0, to: normal.count, by: Self.applyBatchMax) {
                await stateMachine.apply(Array(normal[start..<min(normal.count, start + Self.applyBatchMax)]))
            }
            // What this round restored and applied, not the core's index: a snapshot stepped
            // while the round waited moves the core's at once, and is restored only next round.
            if let last = applying.last { stateMachineAppliedIndex = max(stateMachineAppliedIndex, last.index) }
            if normal.count >= 10_000 {
                logger.info("applied \(normal.count) entries (through \(applying.last?.index ?? 0)) in \(ContinuousClock.now - applyStarted)")
            }
            for entry in applying {
                if let proposal = proposals.removeValue(forKey: entry.index) {
                    if proposal.term == entry.term {
                        proposal.continuation.resume(returning: entry.index)
                    } else {
                        proposal.continuation.resume(throwing: ProposalError(code: .outcomeUnknown, message: "entry \(entry.index) was replaced by another leader's", leaderHint: leaderAddress))
                    }
                }
            }
            for read in ready.readStates {
                for waiter in reads.removeValue(forKey: read.context) ?? [] { waiter.resume(returning: read.index) }
            }
            if reads.isEmpty && !readsForNextRound.isEmpty { startReadRound() }
            core.advance(ready)
            syncPeers()
            let current = status
            statusBox.withLockedValue { $0 = current }
            Gauge(label: "strata_journal_applied_index").record(current.appliedIndex)
            Gauge(label: "strata_journal_commit_index").record(current.commitIndex)
            Gauge(label: "strata_journal_term").record(current.term)
            Gauge(label: "strata_journal_log_cache_bytes").record(core.cachedBytes)
            noticeRoleChange(ready)
            resumeAppliedWaiters()
            if let last = applying.last, last.kind == .journal { try await handleJournalEntry(last) }
            if let (index, majority) = repairAfterStepDown, core.role != .leader {
                repairAfterStepDown = nil
                await discardDivergentState(at: index, majority: majority)
            }
            maybeProposeCheckpoint()
        }
    }

    /// Replaces each stored append with an append of its entries, read from the log segments
    /// (at most about `bytesMax` of them: a follower that gets fewer asks again). One that cannot
    /// be read is dropped, with the reason logged (`failed`); the follower is probed again.
    private static func resolveStoredAppends(_ messages: [RaftMessage], log: RaftLogStore, bytesMax: Int, logger: Logger) -> (messages: [RaftMessage], failed: Bool) {
        var failed = false
        let resolved: [RaftMessage] = messages.compactMap { message in
            guard case .storedAppend(let previousIndex, let previousTerm, let through, let commit) = message.body else { return message }
            do {
                var entries = try log.read((previousIndex + 1)...through)
                var bytes = 0
                if let cut = entries.indices.first(where: { position in
                    bytes += entries[position].data.count
                    return position > 0 && bytes > bytesMax
                }) { entries.removeLast(entries.count - cut) }
                return RaftMessage(from: message.from, to: message.to, term: message.term,
                                   body: .append(previousIndex: previousIndex, previousTerm: previousTerm, entries: entries, commit: commit))
            } catch {
                logger.error("cannot read entries \(previousIndex + 1)...\(through) back for member \(message.to): \(error)")
                failed = true
                return nil
            }
        }
        return (resolved, failed)
    }

    private func send(_ messages: [RaftMessage]) {
        for message in messages {
            if case .snapshot = message.body {
                links[message.to]?.sendSnapshot(message)
            } else {
                links[message.to]?.enqueue(message)
            }
        }
    }

    private func noticeRoleChange(_ ready: Ready) {
        guard ready.role != knownRole || ready.leader != knownLeader else { return }
        logger[metadataKey: "term"] = "\(ready.term)"
        logger[metadataKey: "role"] = "\(ready.role.rawValue)"
        logger.info("role \(ready.role.rawValue), term \(ready.term), leader \(ready.leader.flatMap { addresses[$0]?.description } ?? "unknown")")
        if knownRole == .leader && ready.role != .leader {
            failWaiters(ProposalError(code: .outcomeUnknown, message: "leadership lost before the entry was applied", leaderHint: leaderAddress))
        }
        if ready.role != knownRole { roleContinuation.yield(ready.role) }
        Gauge(label: "strata_journal_leader").record(ready.role == .leader ? 1 : 0)
        if ready.role == .leader && knownRole != .leader { Counter(label: "strata_journal_leader_elections_total").increment() }
        knownRole = ready.role
        knownLeader = ready.leader
    }

    private func failWaiters(_ error: ProposalError) {
        for (_, proposal) in proposals { proposal.continuation.resume(throwing: error) }
        proposals = [:]
        for waiter in reads.values.joined() { waiter.resume(throwing: error) }
        reads = [:]
        for waiter in readsForNextRound { waiter.resume(throwing: error) }
        readsForNextRound = []
    }

    private func resumeAppliedWaiters() {
        let applied = stateMachineAppliedIndex
        appliedWaiters.removeAll { waiter in
            guard waiter.index <= applied else { return false }
            waiter.continuation.resume()
            return true
        }
    }

    // MARK: Checkpoints at CHECKPOINT entries, and state digests

    /// On the leader: appends a CHECKPOINT entry every `checkpointPeriodEntries` entries, where
    /// every member that keeps state then checkpoints.
    private func maybeProposeCheckpoint() {
        guard configuration.keepsOwnState, core.role == .leader,
              core.lastIndex >= lastMarkerIndex + configuration.checkpointPeriodEntries else { return }
        do {
            _ = try core.propose(JournalControl.checkpoint.encoded, kind: .journal)
            lastMarkerIndex = core.lastIndex
            signalReady()
        } catch {
            // A transfer under way: the next leader appends it.
        }
    }

    /// On the leader: logs the state digests reported (its own and its followers') that the
    /// log does not hold yet.
    private func proposePendingDigests() {
        guard configuration.keepsOwnState, core.role == .leader else { return }
        var pending = receivedDigests.map { (member: $0.key, report: $0.value) }
        if let ownDigest { pending.append((memberID, ownDigest)) }
        if proposedDigests.count > 1024 { proposedDigests = [] }
        for (member, report) in pending.sorted(by: { $0.member < $1.member }) where digestBook.digest(of: member, at: report.index) == nil {
            let key = "\(core.term)/\(member)/\(report.index)"
            guard !proposedDigests.contains(key) else { continue }
            do {
                _ = try core.propose(JournalControl.stateDigest(index: report.index, member: member, digest: report.digest).encoded, kind: .journal)
                proposedDigests.insert(key)
                signalReady()
            } catch {
                return
            }
        }
    }

    private func handleJournalEntry(_ entry: LogEntry) async throws {
        guard let control = JournalControl(decoding: entry.data) else {
            logger.error("journal entry \(entry.index) is not a journal record this version knows (\(entry.data.count) bytes); no state depends on it")
            return
        }
        switch control {
        case .checkpoint:
            lastMarkerIndex = max(lastMarkerIndex, entry.index)
            guard configuration.keepsOwnState, core.appliedIndex == entry.index else { return }
            // One still being written is not waited for (the ready loop would stop: no fsyncs,
            // no heartbeats); this round then has no digest from this member.
            guard checkpointRunning == nil else {
                logger.warning("CHECKPOINT entry \(entry.index) skipped: the previous checkpoint is still being written (strata.master.journal.checkpoint.period.entries may be too small)")
                return
            }
            try await startCheckpoint(reportingDigest: true)
        case .stateDigest(let index, let member, let digest):
            if member == memberID, ownDigest?.index == index {
                ownDigest = nil
                for link in links.values { link.report(nil) }
            }
            if receivedDigests[member]?.index == index { receivedDigests[member] = nil }
            guard configuration.keepsOwnState else { return }
            // The membership as of this entry, which every member sees alike.
            let membership = core.appliedIndex == entry.index && core.snapshotMeta.index <= entry.index
                ? core.snapshotMeta(at: entry.index).membership : core.membership
            let serving = membership.voters.subtracting(membership.nonServing)
            let isNewReport = digestBook.digest(of: member, at: index) == nil
            let verdict = digestBook.record(index: index, member: member, digest: digest, serving: serving)
            if isNewReport, let reports = digestBook.reports[index], serving.contains(member), serving.allSatisfy({ reports[$0] != nil }),
               Set(serving.compactMap { reports[$0] }).count == 1 {
                // The last serving member's report made them all agree: counted once per checkpoint.
                Counter(label: "strata_journal_state_digest_agreements_total").increment()
                logger.info("all \(serving.count) serving members hold the same state at index \(index) (digest \(hex(Array(digest.prefix(8)))))")
            }
            guard let verdict else { return }
            await act(on: verdict)
        }
    }

    private func name(_ member: MemberID) -> String { addresses[member]?.description ?? String(member, radix: 16) }

    private func act(on verdict: StateDigestBook.Verdict) async {
        func short(_ digest: [UInt8]?) -> String { digest.map { hex(Array($0.prefix(8))) } ?? "-" }
        for member in verdict.divergent.sorted() {
            Counter(label: "strata_journal_state_divergences_total").increment()
            logger.error("the state of \(name(member)) at index \(verdict.index) diverges from the majority's (digest \(short(digestBook.digest(of: member, at: verdict.index))), majority \(short(verdict.majority))): \(member == memberID ? "discarding it for the leader's snapshot" : "it discards it for the leader's snapshot")")
        }
        if !verdict.undecided.isEmpty {
            Counter(label: "strata_journal_state_divergences_total").increment()
            let digests = verdict.undecided.sorted().map { "\(name($0)) \(short(digestBook.digest(of: $0, at: verdict.index)))" }.joined(separator: ", ")
            logger.error("the serving members' states differ at index \(verdict.index) (\(digests)) and no majority shows which is right: nothing is discarded; compare backups of each (strata fsadmin backup --local) and remove the wrong member from the quorum")
        }
        // Only a state this process computed is judged: after a restart or an installed snapshot
        // the log still holds the old digests, but the state they describe is gone.
        if verdict.divergent.contains(memberID), localDigests[verdict.index] != nil {
            await discardDivergentState(at: verdict.index, majority: verdict.majority)
        }
    }

    /// This member's state was outvoted: set its snapshots from `index` on aside (`.diverged`,
    /// for inspection), throw the state away and install the leader's snapshot. A leader hands
    /// leadership to a member whose state agrees with the majority first.
    private func discardDivergentState(at index: UInt64, majority: [UInt8]?) async {
        if core.role == .leader {
            repairAfterStepDown = (index, majority)
            handOffDivergentLeadership()
            return
        }
        do {
            _ = try core.discardStateForSnapshot()
            repairedAt = index
            // A checkpoint being written holds the divergent state too: let it land, then set it aside.
            if let running = checkpointRunning { _ = try? await running.value }
            let setAside = try await threadPool.runIfActive { [disk] in try disk.snapshots.setAside(fromIndex: index, suffix: ".diverged") }
            logger.error("discarded the divergent state (\(setAside.joined(separator: ", ")) set aside); will not vote until it holds index \(core.catchUpIndex) again")
        } catch {
            logger.error("cannot discard the divergent state at index \(index): \(error)")
        }
        signalReady()
    }

    /// A divergent leader hands leadership to a serving member whose digest is the majority's
    /// and that may campaign (tried again each tick until it no longer leads).
    private func handOffDivergentLeadership() {
        guard let (index, majority) = repairAfterStepDown, core.role == .leader, core.leadershipTransferee == nil, let majority else { return }
        let agreeing = core.membership.voters.subtracting(core.membership.nonServing).sorted().filter { member in
            member != memberID && digestBook.digest(of: member, at: index) == majority
        }
        guard let target = agreeing.first(where: { core.isRecentlyActive($0) == true }) ?? agreeing.first else { return }
        logger.error("handing leadership to \(name(target)) before discarding this member's divergent state")
        _ = try? core.transferLeadership(to: target)
        signalReady()
    }

    /// Records this member's digest at a CHECKPOINT and reports it: logged at once on the
    /// leader, carried by every batch to the leader elsewhere.
    private func checkpointDigested(_ index: UInt64, _ digest: [UInt8]) {
        ownDigest = StateDigestReport(index: index, digest: digest)
        localDigests[index] = digest
        for old in localDigests.keys.sorted().dropLast(StateDigestBook.indicesKept) { localDigests[old] = nil }
        for link in links.values { link.report(ownDigest) }
        proposePendingDigests()
    }

    /// Snapshots the state machine now and drops the log it covers; returns when the snapshot
    /// is on disk. (A checkpoint already running is waited for, then another is taken if
    /// entries were applied since.)
    ///
    /// The view must be taken between two applies, so the request goes to the ready loop (a
    /// call from outside could otherwise land while a batch is half applied, and the snapshot
    /// would hold entries beyond the index it claims).
    public func checkpoint() async throws {
        guard configuration.keepsOwnState else {
            throw ProposalError(code: .refused, message: "\(configuration.address) is a journal node: it keeps the checkpoints the leader ships and takes none", leaderHint: nil)
        }
        if let running = checkpointRunning { try await running.value }
        guard core.appliedIndex > lastSnapshotIndex else { return }
        let requested: Task<Void, any Error> = try await withCheckedThrowingContinuation { continuation in
            checkpointRequests.append(continuation)
            signalReady()
        }
        try await requested.value
    }

    /// Serves checkpoint requests at a point where everything the core calls applied, and
    /// nothing more, is in the state machine.
    private func serveCheckpointRequests() async {
        let waiters = checkpointRequests
        checkpointRequests = []
        do {
            try await startCheckpoint()
            let running = checkpointRunning ?? Task {}
            for waiter in waiters { waiter.resume(returning: running) }
        } catch {
            for waiter in waiters { waiter.resume(throwing: error) }
        }
    }

    /// Takes the state machine's view as of the applied index (quickly, between two applies),
    /// then serializes and saves it on a background task while the journal goes on; the log is
    /// compacted when the file is durable.
    private func startCheckpoint(reportingDigest: Bool = false) async throws {
        let applied = core.appliedIndex
        // Never of a state thrown away, nor while a received snapshot waits to be installed.
        guard applied > lastSnapshotIndex, checkpointRunning == nil, !core.awaitingSnapshot, core.ready().snapshot == nil else { return }
        let serialize = await stateMachine.snapshot()
        // A snapshot stepped in meanwhile moves `applied`: this view is then not of `applied`.
        guard core.appliedIndex == applied, core.snapshotMeta.index <= applied, !core.awaitingSnapshot, core.ready().snapshot == nil else { return }
        let meta = core.snapshotMeta(at: applied)
        let started = ContinuousClock.now
        checkpointRunning = Task {
            // Serialize and write the file on a thread of its own: the disk thread keeps
            // appending and syncing the log meanwhile. (Written there, a large snapshot held
            // every append behind its fsync for seconds: members stopped answering and leaders
            // changed every few seconds at 10M files.)
            do {
                let (snapshot, digest) = try await self.checkpointPool.runIfActive { [disk] in
                    let data = serialize()
                    let snapshot = SnapshotStore.Snapshot(meta: meta, data: data)
                    try disk.snapshots.save(snapshot)
                    return (snapshot, reportingDigest ? Array(SHA256.hash(data: data)) : nil)
                }
                await self.compactAfterCheckpoint(snapshot, took: ContinuousClock.now - started)
                if let digest { self.checkpointDigested(meta.index, digest) }
            } catch {
                self.logger.error("checkpoint at index \(meta.index) failed: \(error)")
                self.checkpointFinished()
                throw error
            }
            self.checkpointFinished()
        }
    }

    private var checkpointingPastUnreadable = false
    private func checkpointPastUnreadableDone() { checkpointingPastUnreadable = false }

    private func checkpointFinished() {
        checkpointRunning = nil
    }

    private func compactAfterCheckpoint(_ snapshot: SnapshotStore.Snapshot, took: Duration) async {
        let index = snapshot.meta.index
        // A newer snapshot was installed meanwhile (or the state was discarded for one).
        guard index > core.snapshotMeta.index, index <= core.appliedIndex, !core.awaitingSnapshot else { return }
        core.compact(through: index)
        lastSnapshotIndex = index
        do {
            try await threadPool.runIfActive { [disk] in try disk.log.compact(through: index) }
        } catch {
            logger.error("checkpoint at index \(index) saved, but the log it covers could not be removed: \(error)")
        }
        logger.info("checkpoint at index \(index) (\(snapshot.data.count) bytes) in \(took)")
    }

    /// Makes `ready` durable. A full disk is waited out: the write is retried every second, and
    /// meanwhile nothing is acknowledged — this member sends nothing (a leader loses its
    /// followers, who elect another), what waited fails with an unknown outcome, and a leader
    /// refuses new proposals with the reason. Any other failure (an fsync, say) stops the node.
    private func persist(_ ready: Ready) async throws {
        while true {
            do {
                try await threadPool.runIfActive { [disk] in try disk.persist(ready) }
                if let problem = diskFull {
                    diskFull = nil
                    Gauge(label: "strata_journal_disk_full").record(0)
                    logger.notice("the journal writes again (it could not: \(problem))")
                }
                return
            } catch let error as JournalError where error.code == .noSpace {
                if diskFull == nil {
                    Gauge(label: "strata_journal_disk_full").record(1)
                    logger.error("the journal cannot write: \(error.message); nothing is acknowledged until it can (retrying every second)")
                    failWaiters(ProposalError(code: .outcomeUnknown, message: "the journal at \(configuration.directory) cannot write (\(error.message)); retry with the same operation id", leaderHint: nil))
                }
                diskFull = error.message
                try await Task.sleep(for: Self.diskFullRetryInterval)
            }
        }
    }

    static let diskFullRetryInterval = Duration.seconds(1)

    /// Refuses a leader's new work while its journal cannot write.
    private func refuseWhileDiskFull() throws(ProposalError) {
        guard let diskFull, core.role == .leader else { return }
        throw ProposalError(code: .noSpace, message: "the journal at \(configuration.directory) cannot write: \(diskFull); nothing was journaled", leaderHint: nil)
    }

    // MARK: Requests

    /// Appends `data` to the journal and returns its index once it is committed and applied here.
    public func propose(_ data: [UInt8]) async throws(ProposalError) -> UInt64 {
        try refuseWhileDiskFull()
        guard proposals.count < configuration.proposalsPendingMax else {
            throw ProposalError(code: .overloaded, message: "the journal has \(proposals.count) proposals waiting to commit, its bound (\(configuration.proposalsPendingMax)); nothing was journaled, retry", leaderHint: nil)
        }
        do {
            _ = try core.propose(data)
        } catch {
            throw proposalError(error)
        }
        let index = core.lastIndex
        let term = core.term
        let proposed = ContinuousClock.now
        signalReady()
        do {
            defer { Metrics.Timer(label: "strata_journal_commit_duration_seconds").record(since: proposed) }
            return try await withCheckedThrowingContinuation { proposals[index] = (term, $0) }
        } catch let error as ProposalError {
            throw error
        } catch {
            throw ProposalError(code: .outcomeUnknown, message: "\(error)", leaderHint: nil)
        }
    }

    /// Returns once this member (the leader) has applied every entry committed before the call:
    /// a read made afterwards is linearizable.
    public func readBarrier() async throws(ProposalError) {
        try refuseWhileDiskFull()
        guard readsForNextRound.count < configuration.options.pendingReadsMax else {
            throw ProposalError(code: .overloaded, message: "\(configuration.options.pendingReadsMax) reads already wait for the next read round", leaderHint: nil)
        }
        let index: UInt64
        do {
            index = try await withCheckedThrowingContinuation { waiter in
                readsForNextRound.append(waiter)
                if reads.isEmpty { startReadRound() }
            }
        } catch let error as ProposalError {
            throw error
        } catch {
            throw ProposalError(code: .outcomeUnknown, message: "\(error)", leaderHint: nil)
        }
        if stateMachineAppliedIndex < index {
            await withCheckedContinuation { appliedWaiters.append((index, $0)) }
        }
    }

    /// Starts a ReadIndex round for every read waiting for one. Its index (the commit index now)
    /// is safe for each of them: all arrived before the round's heartbeats go out.
    private func startReadRound() {
        let waiting = readsForNextRound
        readsForNextRound = []
        let context = nextReadContext
        nextReadContext += 1
        do {
            _ = try core.readIndex(context: context)
        } catch {
            let failure = proposalError(error)
            for waiter in waiting { waiter.resume(throwing: failure) }
            return
        }
        reads[context] = waiting
        signalReady()
    }

    /// Hands leadership to `target` and returns once it leads (or fails after an election timeout).
    public func transferLeadership(to target: HostAndPort) async throws(ProposalError) {
        let targetID = RaftNodeConfiguration.memberID(of: target)
        do {
            _ = try core.transferLeadership(to: targetID)
        } catch {
            throw proposalError(error)
        }
        signalReady()
    }

    /// One member of the quorum as this node sees it.
    public struct QuorumMember: Sendable, Equatable {
        public var address: HostAndPort
        public var voter: Bool
        /// Heard from within an election timeout (known only on the leader; nil elsewhere).
        public var available: Bool?
        public var matchIndex: UInt64?
        /// A journal node (votes, never serves).
        public var nonServing: Bool

        /// AVAILABLE or UNAVAILABLE as the leader knows it, UNKNOWN elsewhere.
        public var stateText: String { available.map { $0 ? "AVAILABLE" : "UNAVAILABLE" } ?? "UNKNOWN" }
    }

    /// The quorum's members: voters and learners, with liveness as the leader knows it.
    public var quorum: [QuorumMember] {
        let membership = core.membership
        return membership.members.sorted().map { member in
            QuorumMember(address: addresses[member] ?? HostAndPort(host: "unknown-\(member)", port: 1),
                         voter: membership.voters.contains(member),
                         available: core.role == .leader ? core.isRecentlyActive(member) : nil,
                         matchIndex: core.role == .leader ? core.matchIndex(of: member) : nil,
                         nonServing: membership.nonServing.contains(member))
        }
    }

    /// Promotes the first learner that has caught up (leader only, one change at a time): the
    /// second step of adding a member, re-tried by whichever member leads until it happens.
    private func promoteCaughtUpLearner() {
        guard core.role == .leader, !core.membership.learners.isEmpty else { return }
        for learner in core.membership.learners.sorted() {
            guard let match = core.matchIndex(of: learner), match + configuration.promotionLagEntriesMax >= core.commitIndex else { continue }
            do {
                _ = try core.proposeMembership(.promote(learner))
                logger.info("promoting \(addresses[learner]?.description ?? "\(learner)") to voter (caught up to \(match))")
                syncPeers()
                signalReady()
            } catch {
                // A change still pending or a transfer under way: try again on a later tick.
            }
            return
        }
    }

    private func join(_ request: JoinQuorumRequest) async throws(RPCError) -> JoinQuorumResponse {
        guard request.clusterID == configuration.clusterID else {
            throw RPCError(.failedPrecondition, "\(configuration.address) belongs to cluster \(hex(configuration.clusterID)), not \(hex(request.clusterID))")
        }
        guard let address = HostAndPort(parsing: request.address), address.description.utf8.count <= Membership.addressSizeMaxBytes else {
            throw RPCError(.invalidArgument, "invalid member address '\(request.address)'")
        }
        guard core.role == .leader else {
            return JoinQuorumResponse(outcome: .notLeader, leaderAddress: leaderAddress?.description ?? "", lastIndex: core.lastIndex)
        }
        let member = RaftNodeConfiguration.memberID(of: address)
        if core.membership.members.contains(member) {
            try await checkStorage(of: member, request.storageID)
            return JoinQuorumResponse(outcome: .member, lastIndex: core.lastIndex, membership: core.membership)
        }
        guard addresses[member] == nil || addresses[member] == address else {
            throw RPCError(.invalidArgument, "\(address) has the same member id as \(addresses[member]!)")
        }
        do {
            _ = try core.proposeMembership(.addLearner(member, nonServing: request.nonServing, address: address.description))
        } catch {
            throw RPCError(.unavailable, "cannot add \(address) now: \(error.message)")
        }
        let index = core.lastIndex
        logger.info("adding \(address) to the group as a learner (entry \(index))")
        syncPeers()
        signalReady()
        if core.commitIndex < index {
            await withCheckedContinuation { appliedWaiters.append((index, $0)) }
        }
        guard core.membership.members.contains(member) else {
            throw RPCError(.unavailable, "adding \(address) did not commit (leadership changed); ask again")
        }
        return JoinQuorumResponse(outcome: .added, lastIndex: core.lastIndex, membership: core.membership)
    }

    /// Removes `address` from the quorum (leader only); returns once the change is committed.
    public func removeMember(_ address: HostAndPort) async throws(ProposalError) {
        let member = RaftNodeConfiguration.memberID(of: address)
        do {
            _ = try core.proposeMembership(.remove(member))
        } catch {
            throw proposalError(error)
        }
        let index = core.lastIndex
        syncPeers()
        signalReady()
        if core.commitIndex < index {
            await withCheckedContinuation { appliedWaiters.append((index, $0)) }
        }
    }

    public var status: RaftNodeStatus {
        RaftNodeStatus(memberID: memberID, address: configuration.address, role: core.role, term: core.term,
                       leader: core.leader.flatMap { addresses[$0] }, commitIndex: core.commitIndex,
                       appliedIndex: stateMachineAppliedIndex, lastIndex: core.lastIndex, snapshotIndex: core.snapshotMeta.index)
    }

    /// The status as of the last handled Ready, readable without waiting for the actor: health
    /// checks and role reports must answer even while the journal is busy.
    public nonisolated var latestStatus: RaftNodeStatus { statusBox.withLockedValue { $0 } }

    private var leaderAddress: HostAndPort? { core.leader.flatMap { addresses[$0] } }

    private func proposalError(_ error: RaftError) -> ProposalError {
        switch error.code {
        case .notLeader:
            ProposalError(code: .notLeader, message: "\(configuration.address) is not the journal leader", leaderHint: error.leaderHint.flatMap { addresses[$0] })
        default:
            ProposalError(code: .refused, message: error.message, leaderHint: error.leaderHint.flatMap { addresses[$0] })
        }
    }

    // MARK: Transport

    /// Registers the journal's RPC methods (Raft messages, snapshot chunks) into `handlers`.
    public nonisolated func register(into handlers: inout RPCHandlers) {
        handlers.register(JournalMethods.raftMessages) { [self] batch, _ in
            try await self.receive(batch)
            return RaftMessageBatchResponse()
        }
        handlers.register(JournalMethods.snapshotChunk) { [self] chunk, context in
            try await self.receive(chunk, payload: context.payload)
        }
        handlers.register(JournalMethods.join) { [self] request, _ in
            try await self.join(request)
        }
    }

    private func receive(_ batch: RaftMessageBatch) async throws(RPCError) {
        guard batch.clusterID == configuration.clusterID else {
            throw RPCError(.failedPrecondition, "message from cluster \(hex(batch.clusterID)); this journal belongs to \(hex(configuration.clusterID))")
        }
        if let sender = batch.messages.first?.from, addresses[sender] != nil {
            try await checkStorage(of: sender, batch.storageID)
            if let report = batch.stateDigest, core.role == .leader, digestBook.digest(of: sender, at: report.index) == nil {
                receivedDigests[sender] = report
                proposePendingDigests()
            }
        }
        for message in batch.messages where message.to == memberID && addresses[message.from] != nil {
            _ = core.step(message)
        }
        signalReady()
    }

    private func receive(_ chunk: SnapshotChunk, payload: ByteBuffer) async throws(RPCError) -> SnapshotChunkResponse {
        guard chunk.clusterID == configuration.clusterID, chunk.to == memberID else {
            throw RPCError(.failedPrecondition, "snapshot chunk for another cluster or member")
        }
        try await checkStorage(of: chunk.from, chunk.storageID)
        if chunk.offer && chunk.offset == 0 {
            // Taken only by a journal node, for a snapshot within what it has applied (it then
            // holds every entry the snapshot covers) and newer than its own.
            guard !configuration.keepsOwnState, chunk.snapshotIndex > core.snapshotMeta.index, chunk.snapshotIndex <= core.appliedIndex else {
                throw RPCError(.failedPrecondition, "snapshot \(chunk.snapshotIndex) not wanted here (applied \(core.appliedIndex), snapshot \(core.snapshotMeta.index))")
            }
        }
        var piece = payload
        if chunk.compressed {
            do {
                piece = try piece.decompress(with: .zlib(), maxSize: configuration.snapshotChunkSizeBytes * 2 + 1024)
            } catch {
                throw RPCError(.invalidArgument, "cannot decompress snapshot chunk at offset \(chunk.offset): \(error)")
            }
        }
        if chunk.offset == 0 { incoming = (chunk.snapshotIndex, chunk.snapshotTerm, []) }
        guard var current = incoming, current.index == chunk.snapshotIndex, current.term == chunk.snapshotTerm,
              UInt64(current.bytes.count) == chunk.offset else {
            throw RPCError(.failedPrecondition, "snapshot chunk at offset \(chunk.offset) does not continue what was received (\(incoming?.bytes.count ?? 0) bytes)")
        }
        current.bytes.append(contentsOf: piece.readableBytesView)
        incoming = current
        let receivedBytes = UInt64(current.bytes.count)
        guard receivedBytes >= chunk.totalBytes else { return SnapshotChunkResponse(receivedBytes: receivedBytes) }
        incoming = nil
        let bytes = current.bytes
        let installed: SnapshotStore.Snapshot
        do {
            installed = try await threadPool.runIfActive { [disk] in try disk.snapshots.install(fileBytes: bytes) }
        } catch let error as JournalError where error.code == .noSpace {
            throw RPCError(.resourceExhausted, "\(configuration.address) cannot store the snapshot: \(error); the leader sends it again")
        } catch {
            throw RPCError(.invalidArgument, "received snapshot rejected: \(error)")
        }
        if chunk.offer {
            // The log through the snapshot is applied here (applied never goes back): drop it.
            await compactAfterCheckpoint(installed, took: .zero)
            return SnapshotChunkResponse(receivedBytes: receivedBytes)
        }
        received.append(installed)
        if received.count > Self.receivedSnapshotsMax { received.removeFirst(received.count - Self.receivedSnapshotsMax) }
        if let message = chunk.message { _ = core.step(message) }
        signalReady()
        return SnapshotChunkResponse(receivedBytes: receivedBytes)
    }

    /// The bytes of the snapshot file for `meta`, for a link streaming it to a peer.
    func snapshotFile(_ meta: SnapshotMeta) async throws -> [UInt8] {
        try await threadPool.runIfActive { [disk] in try disk.snapshots.fileBytes(of: meta) }
    }

    func peerUnreachable(_ peer: MemberID) {
        _ = core.reportUnreachable(peer)
        signalReady()
    }

    func peerDisconnected(_ peer: MemberID) {
        if core.role == .follower && core.leader == peer {
            logger.info("lost the connection to leader \(addresses[peer]?.description ?? "\(peer)"); campaigning early")
            _ = core.reportLeaderLost(peer)
            signalReady()
        }
    }

    func snapshotSent(to peer: MemberID, success: Bool) {
        _ = core.reportSnapshot(to: peer, success: success)
        signalReady()
    }

    // MARK: Journal nodes

    /// On the leader: ships the newest snapshot to each journal node that holds the entries it
    /// covers and has not got it yet, so that the journal node's log stays bounded.
    private func offerSnapshotsToJournalNodes() {
        guard core.role == .leader, configuration.keepsOwnState else { return }
        let snapshot = core.snapshotMeta
        guard snapshot.index > 0 else { return }
        for member in core.membership.nonServing where member != memberID && !offering.contains(member) {
            guard (offered[member] ?? 0) < snapshot.index, let match = core.matchIndex(of: member), match >= snapshot.index,
                  let link = links[member] else { continue }
            offering.insert(member)
            link.offerSnapshot(snapshot)
        }
    }

    func snapshotOffered(to peer: MemberID, index: UInt64, success: Bool) {
        offering.remove(peer)
        if success {
            offered[peer] = index
            logger.info("shipped snapshot \(index) to journal node \(addresses[peer]?.description ?? "\(peer)")")
        }
    }

    /// Accepts `storageID` as `member`'s journal storage, remembering the first one it shows; a
    /// member showing another one lost its disk and is refused until removed and added again.
    private func checkStorage(of member: MemberID, _ storageID: UInt64) async throws(RPCError) {
        guard storageID != 0, member != memberID else { return }
        if let known = peerStorage[member] {
            guard known != storageID else { return }
            let address = addresses[member]?.description ?? "\(member)"
            throw RPCError(.failedPrecondition, "\(address) is refused by \(configuration.address): its journal has storage id \(String(storageID, radix: 16)), not \(String(known, radix: 16)) as before — its disk was wiped or replaced, and a member that lost its log and votes cannot vote as itself. Remove it (strata fsadmin journal quorum remove -domain \(configuration.domainName) -address \(address)), then start it again to join as a new member")
        }
        peerStorage[member] = storageID
        do { try await savePeerStorage() } catch {
            peerStorage[member] = nil
            throw RPCError(.unavailable, "\(configuration.address) cannot record \(addresses[member]?.description ?? "\(member)")'s storage id: \(error)")
        }
    }

    private func savePeerStorage() async throws {
        let peers = peerStorage
        try await threadPool.runIfActive { [configuration] in
            try PeerStorageFile.write(peers, directory: configuration.directory, sync: configuration.sync)
        }
    }

    func peerRefused(_ peer: MemberID, _ message: String) {
        guard refusedBy[peer] != message else { return }
        refusedBy[peer] = message
        logger.error("\(message)")
    }

    func peerAccepted(_ peer: MemberID) {
        if refusedBy.removeValue(forKey: peer) != nil {
            logger.info("\(addresses[peer]?.description ?? "\(peer)") accepts this member again")
        }
    }

    /// Why peers refuse this member, if they do (for status pages).
    public var refusals: [String] { refusedBy.sorted { $0.key < $1.key }.map(\.value) }
}

/// The member's disk: log and snapshot stores. Used from one thread at a time (the node's
/// single-thread pool), hence unchecked.
final class JournalDisk: @unchecked Sendable {
    let log: RaftLogStore
    let snapshots: SnapshotStore
    let identity: JournalIdentity
    private var savedTerm: UInt64
    private var savedVote: MemberID?
    private var savedCatchUp: UInt64

    struct Opened: @unchecked Sendable {
        let disk: JournalDisk
        let recovered: RaftLogStore.Recovered
        let snapshot: SnapshotStore.Snapshot?
        let membershipBase: Membership?
        let peerStorage: [MemberID: UInt64]
        let repairs: [String]
    }

    private init(log: RaftLogStore, snapshots: SnapshotStore, identity: JournalIdentity, hardState: HardState) {
        self.log = log
        self.snapshots = snapshots
        self.identity = identity
        savedTerm = hardState.term
        savedVote = hardState.vote
        savedCatchUp = hardState.catchUp
    }

    static func open(_ configuration: RaftNodeConfiguration) throws -> Opened {
        let identity = try readOrFormatIdentity(configuration)
        let snapshots = try SnapshotStore(directory: configuration.directory + "/snapshots", identity: identity,
                                          retained: configuration.snapshotsRetained, sync: configuration.sync)
        var repairs: [String] = []
        let snapshot = try snapshots.latest(repairs: &repairs)
        let (log, recovered) = try RaftLogStore.open(
            directory: configuration.directory + "/log", identity: identity, snapshotIndex: snapshot?.meta.index ?? 0,
            segmentSizeMaxBytes: configuration.segmentSizeMaxBytes, entrySizeMaxBytes: configuration.options.entrySizeMaxBytes,
            sync: configuration.sync, cacheBytesMax: configuration.options.logCacheBytesMax)
        repairs += recovered.repairs
        let membershipBase = try MembershipBaseFile.read(directory: configuration.directory)
        let peerStorage = try PeerStorageFile.read(directory: configuration.directory)
        return Opened(disk: JournalDisk(log: log, snapshots: snapshots, identity: identity, hardState: recovered.hardState),
                      recovered: recovered, snapshot: snapshot, membershipBase: membershipBase, peerStorage: peerStorage, repairs: repairs)
    }

    private static func readOrFormatIdentity(_ configuration: RaftNodeConfiguration) throws(JournalError) -> JournalIdentity {
        let path = configuration.directory + "/" + JournalIdentity.fileName
        if configuration.formatIfMissing && !FileManager.default.fileExists(atPath: path) {
            let identity = JournalIdentity(clusterID: configuration.clusterID, storageID: UInt64.random(in: 1...UInt64.max))
            try identity.write(to: configuration.directory, sync: configuration.sync)
            return identity
        }
        return try JournalIdentity.read(from: configuration.directory, expectedClusterID: configuration.clusterID)
    }

    /// Makes a Ready durable: drop the log for an installed snapshot, save term and vote if they
    /// changed, append entries, and fsync once.
    func persist(_ ready: Ready) throws {
        if ready.snapshot != nil { try log.removeAll() }
        if let hardState = ready.hardState,
           hardState.term != savedTerm || hardState.vote != savedVote || hardState.catchUp != savedCatchUp {
            // Commit is not saved on every change: a restarted member relearns it from the leader.
            try log.saveHardState(hardState)
            savedTerm = hardState.term
            savedVote = hardState.vote
            savedCatchUp = hardState.catchUp
        }
        try log.append(ready.entries)
        try log.flush()
    }


}
