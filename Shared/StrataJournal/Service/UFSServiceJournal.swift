import Logging
import StrataCore
import StrataWire

/// The UFS journal in a shared folder, its leader elected through ZooKeeper.
public final class UFSServiceJournal: ServiceJournal {
    let journal: UFSJournal
    let election: ZooKeeperLeaderElection
    public let domain: JournalDomain
    let logger: Logger

    public init(journal: UFSJournal, election: ZooKeeperLeaderElection, domain: JournalDomain, logger: Logger) {
        self.journal = journal
        self.election = election
        self.domain = domain
        self.logger = logger
    }

    public var kind: JournalKind { .ufs }
    /// Leading, or elected with a full journal folder (requests then reach the journal, which
    /// refuses them with the reason).
    public var isLeader: Bool {
        let status = journal.latestStatus
        return status.role == .leader || status.cannotWrite != nil
    }
    public var zooKeeperAddress: String? { election.options.session.connectString }

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
                    self.logger.warning("this \(self.domain.serviceName)'s journal may not write (a newer epoch fenced it, or it could not take over); leaving the ZooKeeper election to enter it again")
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

    public func status() async -> JournalStatus {
        let status = journal.latestStatus
        return JournalStatus(role: JournalRole(status.role), term: status.epoch, commitIndex: status.appliedIndex, appliedIndex: status.appliedIndex)
    }

    public func leaderRPCAddress() async -> HostAndPort? {
        guard let text = await election.leaderAddress() else { return nil }
        return HostAndPort(parsing: text)
    }

    public func members(thisRPC: HostAndPort) async -> [MasterMember] {
        let status = journal.latestStatus
        let thisRole = JournalRole(status.role).rawValue
        let leader = await election.leaderAddress()
        var result: [MasterMember] = []
        var seen = Set<String>()
        for candidate in await election.candidates() where seen.insert(candidate).inserted {
            let isThis = candidate == thisRPC.description
            let role = isThis ? thisRole : (candidate == leader ? JournalRole.leader.rawValue : JournalRole.standby.rawValue)
            result.append(MasterMember(rpcAddress: candidate, journalAddress: journal.options.folder, role: role,
                                       appliedIndex: isThis ? status.appliedIndex : 0, term: isThis ? status.epoch : 0, voter: true))
        }
        if !seen.contains(thisRPC.description) {
            result.append(MasterMember(rpcAddress: thisRPC.description, journalAddress: journal.options.folder, role: thisRole,
                                       appliedIndex: status.appliedIndex, term: status.epoch, voter: true))
        }
        return result
    }

    /// The checkpoints are in the shared folder, one for everybody.
    public func peersWithOwnCheckpoints() async -> [HostAndPort] { [] }

    private var noQuorum: RPCError {
        RPCError(.failedPrecondition, "the \(domain.serviceName) journal is UFS; quorum commands apply to the EMBEDDED journal")
    }

    public func quorumInfo() async throws(RPCError) -> QuorumInfo { throw noQuorum }
    public func elect(_ target: HostAndPort) async throws(RPCError) { throw noQuorum }
    public func removeMember(_ target: HostAndPort) async throws(RPCError) { throw noQuorum }
}
