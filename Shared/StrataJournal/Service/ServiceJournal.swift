import StrataCore
import StrataRaft
import StrataWire

/// Which kind of journal a service runs on (`strata.master.journal.type`).
public enum JournalKind: String, Sendable {
    /// Raft among the members (and journal nodes).
    case embedded = "EMBEDDED"
    /// Log files in a shared folder; ZooKeeper elects the leader.
    case ufs = "UFS"
}

/// A member's role as a journaled service reports it (ServiceInfo, `fs masterInfo`, the web UI).
public enum JournalRole: String, Sendable {
    case leader = "LEADER"
    case standby = "STANDBY"
    /// Embedded journal: campaigning (or checking it could win, pre-vote).
    case candidate = "CANDIDATE"
    case preCandidate = "PRE_CANDIDATE"
    /// UFS journal: elected, fencing the previous epoch and replaying before it serves.
    case takingOver = "TAKING_OVER"

    init(_ role: RaftRole) {
        switch role {
        case .leader: self = .leader
        case .follower: self = .standby
        case .candidate: self = .candidate
        case .preCandidate: self = .preCandidate
        }
    }

    init(_ role: UFSJournalStatus.Role) {
        switch role {
        case .leader: self = .leader
        case .standby: self = .standby
        case .takingOver: self = .takingOver
        }
    }
}

/// What a member reports about its journal, whichever kind it is.
public struct JournalStatus: Sendable, Equatable {
    public var role: JournalRole
    /// The Raft term, or the UFS journal's epoch.
    public var term: UInt64
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var isLeader: Bool { role == .leader }
}

/// The journal a replicated service (the file-system master, the job master) runs on. Services
/// reach it only through `JournaledService`, so they do not care whether it is the embedded
/// (Raft) journal or the UFS journal with ZooKeeper. Leader hints in its errors are RPC addresses.
public protocol ServiceJournal: Sendable {
    var kind: JournalKind { get }
    var domain: JournalDomain { get }
    /// Whether this member serves as leader now (cheap; no waiting).
    var isLeader: Bool { get }
    /// True when this member starts leading, false when it stops.
    func leadershipChanges() -> AsyncStream<Bool>
    func run() async throws
    func shutdown() async
    /// Journals `data`; returns its index once it is durable and applied here.
    func propose(_ data: [UInt8]) async throws(ProposalError) -> UInt64
    /// Returns once a read served afterwards is linearizable.
    func readBarrier() async throws(ProposalError)
    /// Writes a checkpoint of this member's state now.
    func checkpoint() async throws
    func status() async -> JournalStatus
    /// The leading member's RPC address, if known.
    func leaderRPCAddress() async -> HostAndPort?
    /// Every member this one knows of (`fs masterInfo`, the web UI).
    func members(thisRPC: HostAndPort) async -> [MasterMember]
    /// The ZooKeeper servers electing the leader, if any.
    var zooKeeperAddress: String? { get }
    /// RPC addresses of the other members that keep checkpoints of their own (a whole-cluster
    /// restart then starts from snapshots everywhere); empty when the checkpoint is shared.
    func peersWithOwnCheckpoints() async -> [HostAndPort]

    // Quorum administration (`fsadmin journal quorum …`); a journal without a quorum of its own
    // throws FAILED_PRECONDITION saying so.
    func quorumInfo() async throws(RPCError) -> QuorumInfo
    /// Hands leadership to the member at journal address `target`.
    func elect(_ target: HostAndPort) async throws(RPCError)
    func removeMember(_ target: HostAndPort) async throws(RPCError)
}
