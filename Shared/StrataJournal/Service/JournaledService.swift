import Foundation
import Logging
import StrataCore
import StrataRaft
import StrataWire

/// The RPC methods through which a journaled service exposes its seam: its info (how clients
/// find the leader) and checkpoints. Quorum commands are the same methods on every service
/// (`QuorumMethods`), answered on the service's RPC port.
public struct JournaledServiceMethods: Sendable {
    public let info: RPCMethod<GetServiceInfoRequest, MasterInfo>
    /// The leader checkpoints and has every other member that keeps its own do the same.
    public let checkpoint: RPCMethod<GetServiceInfoRequest, EmptyResponse>
    /// This member checkpoints (what the leader asks of the others).
    public let checkpointLocal: RPCMethod<GetServiceInfoRequest, EmptyResponse>

    public init(info: RPCMethod<GetServiceInfoRequest, MasterInfo>, checkpoint: RPCMethod<GetServiceInfoRequest, EmptyResponse>,
                checkpointLocal: RPCMethod<GetServiceInfoRequest, EmptyResponse>) {
        self.info = info
        self.checkpoint = checkpoint
        self.checkpointLocal = checkpointLocal
    }
}

/// The seam every journaled service stands on (the file-system master, the job master): the
/// leader gate (standbys answer NOT_LEADER with the leader's RPC address), the read barrier,
/// proposing a record and waiting for its outcome, checkpoints, quorum commands, and the role
/// and status reports for ServiceInfo, `fs masterInfo`, `fsadmin report` and the web UI.
///
/// The service owns its state machine's meaning (records and outcomes); this owns everything
/// about being one member of a replicated group.
public final class JournaledService<StateMachine: OutcomeStateMachine>: Sendable {
    public let journal: any ServiceJournal
    public let stateMachine: StateMachine
    /// Journal → RPC addresses of the other members, and their web addresses.
    public let directory: MemberDirectory
    public let thisRPCAddress: HostAndPort
    public let clusterID: [UInt8]
    public let startTimeMilliseconds: UInt64
    let methods: JournaledServiceMethods
    let logger: Logger

    public init(journal: any ServiceJournal, stateMachine: StateMachine, directory: MemberDirectory, thisRPCAddress: HostAndPort,
                clusterID: [UInt8], methods: JournaledServiceMethods, logger: Logger) {
        self.journal = journal
        self.stateMachine = stateMachine
        self.directory = directory
        self.thisRPCAddress = thisRPCAddress
        self.clusterID = clusterID
        self.methods = methods
        self.logger = logger
        self.startTimeMilliseconds = UInt64(Date().timeIntervalSince1970 * 1000)
    }

    public var domain: JournalDomain { journal.domain }
    public var isLeader: Bool { journal.isLeader }
    /// The role for ServiceInfo: LEADER when this member serves, else STANDBY.
    public var role: JournalRole { journal.isLeader ? .leader : .standby }

    // MARK: The leader gate

    /// Throws NOT_LEADER with the leader's RPC address unless this member leads.
    public func ensureLeader() async throws(RPCError) {
        guard journal.isLeader else {
            let hint = await journal.leaderRPCAddress()
            throw RPCError(.notLeader, "\(thisRPCAddress) is a standby \(domain.serviceName)", leaderHint: hint?.description)
        }
    }

    /// Serving reads only as the leader, after applying everything committed before the read.
    public func readyToRead() async throws(RPCError) {
        try await ensureLeader()
        do { try await journal.readBarrier() } catch { throw rpcError(error) }
    }

    /// Journals `record` (as the leader) and returns its outcome once it is applied here.
    /// Records carry operation ids where a retry must not happen twice; the state machine
    /// answers a repeated id with the first outcome.
    public func submit(_ record: [UInt8]) async throws(RPCError) -> StateMachine.Outcome {
        try await ensureLeader()
        let index: UInt64
        do { index = try await journal.propose(record) } catch { throw rpcError(error) }
        guard let outcome = await stateMachine.takeOutcome(index) else {
            throw RPCError(.unavailable, "the outcome of journal entry \(index) is no longer known; retry with the same operation id")
        }
        return outcome
    }

    /// The RPC error a client sees for a journal failure.
    public func rpcError(_ error: ProposalError) -> RPCError {
        switch error.code {
        case .notLeader:
            RPCError(.notLeader, "\(thisRPCAddress) is a standby \(domain.serviceName)", leaderHint: error.leaderHint?.description)
        case .outcomeUnknown, .stopped:
            RPCError(.unavailable, "\(error.message); retry with the same operation id")
        case .overloaded:
            RPCError(.unavailable, error.message)
        case .noSpace:
            RPCError(.resourceExhausted, error.message)
        case .refused:
            RPCError(.failedPrecondition, error.message)
        }
    }

    // MARK: Reports

    /// This member's view of the group: the part of MasterInfo every journaled service fills.
    public func info() async -> MasterInfo {
        let status = await journal.status()
        var info = MasterInfo()
        info.leaderRPCAddress = status.isLeader ? thisRPCAddress.description : (await journal.leaderRPCAddress()?.description ?? "")
        info.journalType = journal.kind.rawValue
        info.term = status.term
        info.clusterID = clusterID
        info.thisRPCAddress = thisRPCAddress.description
        info.thisRole = status.role.rawValue
        info.commitIndex = status.commitIndex
        info.appliedIndex = status.appliedIndex
        info.startTimeMilliseconds = startTimeMilliseconds
        info.zooKeeperAddress = journal.zooKeeperAddress ?? ""
        info.masters = await journal.members(thisRPC: thisRPCAddress)
        return info
    }

    /// This member's state as of (about) its applied index, serialized off the journal's path:
    /// what a backup holds. A standby's export is as of what it has applied.
    public func exportState() async -> (data: [UInt8], entries: UInt64, appliedIndex: UInt64) {
        let view = await stateMachine.backupView()
        let applied = await journal.status().appliedIndex
        let data = await Task.detached { view.serialize() }.value
        return (data, view.entries, applied)
    }

    /// Waits until this member has applied `index` (a delegated backup is as of the leader's
    /// commit index when it was asked), at most `timeout`.
    public func waitForApplied(_ index: UInt64, timeout: Duration) async throws(RPCError) {
        let deadline = ContinuousClock.now + timeout
        while await journal.status().appliedIndex < index {
            guard ContinuousClock.now < deadline else {
                throw RPCError(.deadlineExceeded, "\(thisRPCAddress) did not apply journal index \(index) within \(DurationText.format(timeout))")
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The web UI address of the leading member, for links from a standby's pages.
    public func leaderWebURL() async -> String? {
        let leader = journal.isLeader ? thisRPCAddress : await journal.leaderRPCAddress()
        guard let leader, let web = await directory.webAddress(ofRPC: leader) else { return nil }
        return "http://\(web.host):\(web.port)/"
    }

    /// The quorum as the web UI shows it: each member with its availability and match index
    /// (known on the leader), empty on a journal without a quorum.
    public func quorumMembers() async -> [QuorumMemberInfo] {
        (try? await journal.quorumInfo().members) ?? []
    }

    // MARK: Handlers

    /// Registers the quorum commands and the checkpoint methods.
    public func register(into handlers: inout RPCHandlers) {
        handlers.register(QuorumMethods.info) { _, _ in
            try await self.ensureLeader()
            return try await self.journal.quorumInfo()
        }
        handlers.register(QuorumMethods.elect) { request, _ in
            try await self.ensureLeader()
            try await self.journal.elect(try Self.memberAddress(request.address))
            return try await self.journal.quorumInfo()
        }
        handlers.register(QuorumMethods.remove) { request, _ in
            try await self.ensureLeader()
            try await self.journal.removeMember(try Self.memberAddress(request.address))
            return try await self.journal.quorumInfo()
        }
        handlers.register(methods.checkpoint) { _, _ in
            try await self.ensureLeader()
            try await self.checkpointHere()
            // Every member that keeps its own checkpoints takes one too, so that a restart of
            // any of them (a whole-cluster restart elects whichever is up first) starts from the
            // snapshot rather than replaying its log.
            let others = await self.journal.peersWithOwnCheckpoints()
            let local = self.methods.checkpointLocal
            await withTaskGroup(of: Void.self) { group in
                for rpc in others {
                    group.addTask {
                        let client = RPCClient(address: rpc, frameSizeMaxBytes: 1 << 20, connectTimeout: .seconds(1))
                        do {
                            _ = try await client.call(local, GetServiceInfoRequest(), deadline: .seconds(600))
                        } catch {
                            self.logger.warning("\(self.domain.serviceName) \(rpc) did not checkpoint: \(error)")
                        }
                        await client.close()
                    }
                }
            }
            return EmptyResponse()
        }
        handlers.register(methods.checkpointLocal) { _, _ in
            try await self.checkpointHere()
            return EmptyResponse()
        }
    }

    private func checkpointHere() async throws(RPCError) {
        do { try await journal.checkpoint() } catch { throw RPCError(.internal, "checkpoint failed: \(error)") }
    }

    static func memberAddress(_ text: String) throws(RPCError) -> HostAndPort {
        guard let address = HostAndPort(parsing: text) else {
            throw RPCError(.invalidArgument, "invalid address '\(text)': expected the member's embedded-journal host:port")
        }
        return address
    }
}
