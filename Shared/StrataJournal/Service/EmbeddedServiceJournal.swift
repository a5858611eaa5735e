import StrataCore
import StrataRaft
import StrataWire

/// The embedded journal: this member's Raft node, with journal addresses mapped to RPC
/// addresses by the member directory.
public final class EmbeddedServiceJournal: ServiceJournal {
    let node: RaftNode
    let directory: MemberDirectory
    public let domain: JournalDomain

    public init(node: RaftNode, directory: MemberDirectory, domain: JournalDomain) {
        self.node = node
        self.directory = directory
        self.domain = domain
    }

    public var kind: JournalKind { .embedded }
    public var isLeader: Bool { node.latestStatus.role == .leader }
    public var zooKeeperAddress: String? { nil }

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

    /// The node's hints are journal addresses; callers want RPC addresses.
    private func rpcHinted(_ error: ProposalError) -> ProposalError {
        ProposalError(code: error.code, message: error.message, leaderHint: error.leaderHint.flatMap { directory.known($0) })
    }

    public func checkpoint() async throws { try await node.checkpoint() }

    public func status() async -> JournalStatus {
        let status = await node.status
        return JournalStatus(role: JournalRole(status.role), term: status.term, commitIndex: status.commitIndex, appliedIndex: status.appliedIndex)
    }

    public func leaderRPCAddress() async -> HostAndPort? {
        guard let leader = await node.status.leader else { return nil }
        return await directory.resolve(leader)
    }

    /// The role a journal node is reported with.
    public static let journalNodeRole = "JOURNAL_NODE"

    public func members(thisRPC: HostAndPort) async -> [MasterMember] {
        let status = await node.status
        let thisRole = JournalRole(status.role).rawValue
        var result: [MasterMember] = []
        for member in await node.quorum {
            let journal = member.address
            let isThis = journal == status.address
            // A journal node has no RPC address; it is named by its role.
            let rpc = isThis ? thisRPC : (member.nonServing ? nil : await directory.resolve(journal))
            let role = isThis ? thisRole : member.nonServing ? Self.journalNodeRole : (journal == status.leader ? JournalRole.leader.rawValue : "")
            result.append(MasterMember(rpcAddress: rpc?.description ?? "", journalAddress: journal.description, role: role,
                                       appliedIndex: isThis ? status.appliedIndex : 0,
                                       term: isThis ? status.term : 0, voter: member.voter))
        }
        return result
    }

    public func peersWithOwnCheckpoints() async -> [HostAndPort] {
        var result: [HostAndPort] = []
        for journal in await node.quorum.filter({ !$0.nonServing }).map(\.address) where journal != node.configuration.address {
            if let rpc = await directory.resolve(journal) { result.append(rpc) }
        }
        return result
    }

    // MARK: Quorum

    public func quorumInfo() async -> QuorumInfo {
        let status = await node.status
        var info = QuorumInfo()
        info.domain = domain.rawValue
        info.leaderAddress = status.leader?.description ?? ""
        info.term = status.term
        for member in await node.quorum {
            info.members.append(QuorumMemberInfo(address: member.address.description, voter: member.voter, state: member.stateText,
                                                 matchIndex: member.matchIndex ?? 0, journalNode: member.nonServing))
        }
        return info
    }

    public func elect(_ target: HostAndPort) async throws(RPCError) {
        guard let member = await node.quorum.first(where: { $0.address == target }) else {
            throw RPCError(.notFound, "\(target) is not a member of the \(domain.rawValue) quorum")
        }
        guard member.voter else {
            throw RPCError(.failedPrecondition, "\(target) is still catching up (a learner); elect it once it votes")
        }
        do { try await node.transferLeadership(to: target) } catch { throw Self.rpcError(error) }
    }

    public func removeMember(_ target: HostAndPort) async throws(RPCError) {
        guard await node.quorum.contains(where: { $0.address == target }) else {
            throw RPCError(.notFound, "\(target) is not a member of the \(domain.rawValue) quorum")
        }
        guard target != node.configuration.address else {
            throw RPCError(.failedPrecondition, "\(target) is the leader; elect another member first")
        }
        do { try await node.removeMember(target) } catch { throw Self.rpcError(error) }
    }

    static func rpcError(_ error: ProposalError) -> RPCError {
        switch error.code {
        case .notLeader: RPCError(.notLeader, error.message, leaderHint: error.leaderHint?.description)
        case .refused: RPCError(.failedPrecondition, error.message)
        case .outcomeUnknown, .stopped, .overloaded: RPCError(.unavailable, error.message)
        case .noSpace: RPCError(.resourceExhausted, error.message)
        }
    }
}

/// One member's view of its quorum, for a journal node's status page and JSON.
public struct RaftMemberReport: Sendable, Encodable {
    public struct Member: Sendable, Encodable {
        public var address: String
        public var voter: Bool
        public var journalNode: Bool
        public var state: String
        public var matchIndex: UInt64
    }
    public var domain: String
    public var address: String
    public var role: String
    public var term: UInt64
    public var leader: String
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var lastIndex: UInt64
    public var snapshotIndex: UInt64
    public var storageId: String
    public var members: [Member]
    /// Why peers refuse this member (a wiped disk), if they do.
    public var refusals: [String]
}

extension EmbeddedServiceJournal {
    public func report() async -> RaftMemberReport {
        let status = await node.status
        let members = await node.quorum.map { member in
            RaftMemberReport.Member(address: member.address.description, voter: member.voter, journalNode: member.nonServing,
                                    state: member.stateText, matchIndex: member.matchIndex ?? 0)
        }
        return RaftMemberReport(domain: domain.rawValue, address: status.address.description, role: status.role.rawValue, term: status.term,
                                leader: status.leader?.description ?? "", commitIndex: status.commitIndex, appliedIndex: status.appliedIndex,
                                lastIndex: status.lastIndex, snapshotIndex: status.snapshotIndex, storageId: String(node.storageID, radix: 16),
                                members: members, refusals: await node.refusals)
    }
}
