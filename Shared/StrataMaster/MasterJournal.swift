import Logging
import ServiceLifecycle
import StrataCore
import StrataJournal
import StrataRaft
import StrataWire

/// What the master reports about its journal, whichever kind it is.
public struct MasterJournalStatus: Sendable {
    public var isLeader: Bool
    /// LEADER, STANDBY, or a journal-specific state (CANDIDATE, TAKING_OVER, …).
    public var role: String
    /// The Raft term, or the UFS journal's epoch.
    public var term: UInt64
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
}

/// The journal the master runs on. The file-system and block masters use only this, so they do
/// not care whether it is the embedded (Raft) journal or the UFS journal with ZooKeeper.
/// Leader hints in its errors are RPC addresses.
public protocol MasterJournal: Sendable {
    /// EMBEDDED or UFS.
    var journalType: String { get }
    /// Whether this master serves as leader now (cheap; no waiting).
    var isLeader: Bool { get }
    /// True when this master starts leading, false when it stops.
    func leadershipChanges() -> AsyncStream<Bool>
    func run() async throws
    func shutdown() async
    /// Journals `data`; returns its index once it is durable and applied here.
    func propose(_ data: [UInt8]) async throws(ProposalError) -> UInt64
    /// Returns once a read served afterwards is linearizable.
    func readBarrier() async throws(ProposalError)
    /// Writes a checkpoint of this master's state now.
    func checkpoint() async throws
    func status() async -> MasterJournalStatus
    /// The leading master's RPC address, if known.
    func leaderRPCAddress() async -> HostAndPort?
    /// Every master this one knows of, for `fs masterInfo` and the web UI.
    func masters(thisRPC: HostAndPort) async -> [MasterMember]
    /// The ZooKeeper servers electing the leader, if any.
    var zooKeeperAddress: String? { get }
    /// The Raft node of an embedded journal (quorum commands), nil otherwise.
    var raftNode: RaftNode? { get }
}

// MARK: - Embedded

/// The embedded journal: the Raft node, with journal addresses mapped to RPC addresses.
public final class EmbeddedMasterJournal: MasterJournal {
    public let node: RaftNode
    let directory: MasterDirectory

    public init(node: RaftNode, directory: MasterDirectory) {
        self.node = node
        self.directory = directory
    }

    public var journalType: String { "EMBEDDED" }
    public var isLeader: Bool { node.latestStatus.role == .leader }
    public var zooKeeperAddress: String? { nil }
    public var raftNode: RaftNode? { node }

    public func leadershipChanges() -> AsyncStream<Bool> {
        let roles = node.roleChanges
        return AsyncStream { continuation in
            let task = Task {
                for await role in roles { continuation.yield(role == .leader) }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func run() async throws { try await node.run() }
    public func shutdown() async { await node.shutdown() }

    public func propose(_ data: [UInt8]) async throws(ProposalError) -> UInt64 {
        do { return try await node.propose(data) } catch { throw rpcHinted(error) }
    }

    public func readBarrier() async throws(ProposalError) {
        do { try await node.readBarrier() } catch { throw rpcHinted(error) }
    }

    private func rpcHinted(_ error: ProposalError) -> ProposalError {
        ProposalError(code: error.code, message: error.message, leaderHint: error.leaderHint.flatMap { directory.known($0) })
    }

    public func checkpoint() async throws { try await node.checkpoint() }

    public func status() async -> MasterJournalStatus {
        let status = await node.status
        return MasterJournalStatus(isLeader: status.role == .leader,
                                   role: status.role == .leader ? "LEADER" : (status.role == .follower ? "STANDBY" : status.role.rawValue),
                                   term: status.term, commitIndex: status.commitIndex, appliedIndex: status.appliedIndex)
    }

    public func leaderRPCAddress() async -> HostAndPort? {
        guard let leader = await node.status.leader else { return nil }
        return await directory.resolve(leader)
    }

    public func masters(thisRPC: HostAndPort) async -> [MasterMember] {
        let status = await node.status
        let thisRole = status.role == .leader ? "LEADER" : (status.role == .follower ? "STANDBY" : status.role.rawValue)
        var result: [MasterMember] = []
        for member in await node.quorum {
            let journal = member.address
            let rpc = journal == status.address ? thisRPC : await directory.resolve(journal)
            let role = journal == status.address ? thisRole : (journal == status.leader ? "LEADER" : "")
            result.append(MasterMember(rpcAddress: rpc?.description ?? "", journalAddress: journal.description, role: role,
                                       appliedIndex: journal == status.address ? status.appliedIndex : 0,
                                       term: journal == status.address ? status.term : 0, voter: member.voter))
        }
        return result
    }

    /// Asks every other member to checkpoint too (a whole-cluster restart then starts from
    /// snapshots on every master).
    public func otherMembersRPC() async -> [HostAndPort] {
        var result: [HostAndPort] = []
        for journal in await node.quorum.map(\.address) where journal != node.configuration.address {
            if let rpc = await directory.resolve(journal) { result.append(rpc) }
        }
        return result
    }
}

// MARK: - UFS + ZooKeeper

/// The UFS journal in a shared folder, its leader elected through ZooKeeper.
public final class UFSMasterJournal: MasterJournal {
    public let journal: UFSJournal
    public let election: ZooKeeperLeaderElection
    let logger: Logger

    public init(journal: UFSJournal, election: ZooKeeperLeaderElection, logger: Logger) {
        self.journal = journal
        self.election = election
        self.logger = logger
    }

    public var journalType: String { "UFS" }
    public var isLeader: Bool { journal.latestStatus.role == .leader }
    public var zooKeeperAddress: String? { election.options.session.connectString }
    public var raftNode: RaftNode? { nil }

    public func leadershipChanges() -> AsyncStream<Bool> { journal.roleChanges }

    /// Runs the journal and the election, handing the election's verdicts to the journal; a
    /// journal fenced by a newer epoch leaves the election (a new session) so that it cannot
    /// block it.
    public func run() async throws {
        let election = self.election
        await journal.setOnLeading { await election.publish() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.journal.run() }
            group.addTask { await self.election.run() }
            group.addTask {
                for await leads in self.election.leadership { await self.journal.setLeadership(leads) }
            }
            group.addTask {
                for await _ in self.journal.fencings {
                    self.logger.warning("a newer epoch fenced this master's journal; leaving the ZooKeeper election to enter it again")
                    await self.election.resign()
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    public func shutdown() async {
        // Leave the election first, so that a standby takes over without a session timeout.
        await election.resign()
        await journal.shutdown()
    }

    public func propose(_ data: [UInt8]) async throws(ProposalError) -> UInt64 {
        do { return try await journal.propose(data) } catch { throw await hinted(error) }
    }

    public func readBarrier() async throws(ProposalError) {
        do { try await journal.readBarrier() } catch { throw await hinted(error) }
    }

    private func hinted(_ error: ProposalError) async -> ProposalError {
        guard error.code == .notLeader else { return error }
        return ProposalError(code: error.code, message: error.message, leaderHint: await leaderRPCAddress())
    }

    public func checkpoint() async throws { try await journal.checkpoint() }

    public func status() async -> MasterJournalStatus {
        let status = journal.latestStatus
        return MasterJournalStatus(isLeader: status.role == .leader, role: status.role.rawValue, term: status.epoch,
                                   commitIndex: status.appliedIndex, appliedIndex: status.appliedIndex)
    }

    public func leaderRPCAddress() async -> HostAndPort? {
        guard let text = await election.leaderAddress() else { return nil }
        return HostAndPort(parsing: text)
    }

    public func masters(thisRPC: HostAndPort) async -> [MasterMember] {
        let status = journal.latestStatus
        let leader = await election.leaderAddress()
        var result: [MasterMember] = []
        var seen = Set<String>()
        for candidate in await election.candidates() where seen.insert(candidate).inserted {
            let isThis = candidate == thisRPC.description
            let role = isThis ? status.role.rawValue : (candidate == leader ? "LEADER" : "STANDBY")
            result.append(MasterMember(rpcAddress: candidate, journalAddress: journal.options.folder, role: role,
                                       appliedIndex: isThis ? status.appliedIndex : 0, term: isThis ? status.epoch : 0, voter: true))
        }
        if !seen.contains(thisRPC.description) {
            result.append(MasterMember(rpcAddress: thisRPC.description, journalAddress: journal.options.folder, role: status.role.rawValue,
                                       appliedIndex: status.appliedIndex, term: status.epoch, voter: true))
        }
        return result
    }
}

// MARK: - Services

/// The master's journal as a swift-service-lifecycle service: runs until graceful shutdown, then
/// stops it (the journal stops last, after the servers).
public struct JournalService: Service {
    let journal: any MasterJournal

    public init(journal: any MasterJournal) { self.journal = journal }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await journal.run() }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        await journal.shutdown()
    }
}

/// Honours `strata.master.journal.exit.on.demotion`: when this master stops leading, it exits
/// so that a supervisor restarts it cleanly.
public struct DemotionWatcher: Service {
    let journal: any MasterJournal
    let exit: @Sendable () -> Void

    public init(journal: any MasterJournal, exit: @escaping @Sendable () -> Void) {
        self.journal = journal
        self.exit = exit
    }

    public func run() async throws {
        var led = false
        for await leads in journal.leadershipChanges().cancelOnGracefulShutdown() {
            if leads { led = true } else if led { exit() }
        }
    }
}
