import StrataRaft
import StrataWire

/// Methods of the embedded journal (service 0x0002), on the embedded-journal port.
public enum JournalMethods {
    public static let raftMessages = RPCMethod<RaftMessageBatch, RaftMessageBatchResponse>(id: 0x0002_0001, name: "Journal.RaftMessages")
    public static let snapshotChunk = RPCMethod<SnapshotChunk, SnapshotChunkResponse>(id: 0x0002_0002, name: "Journal.SnapshotChunk")
    public static let join = RPCMethod<JoinQuorumRequest, JoinQuorumResponse>(id: 0x0002_0003, name: "Journal.Join")
}

public struct JoinQuorumRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.JoinQuorumRequest")
    public var clusterID: [UInt8]
    public var address: String
    public var nonServing: Bool
    public var storageID: UInt64

    public init(clusterID: [UInt8], address: String, nonServing: Bool, storageID: UInt64) {
        self.clusterID = clusterID; self.address = address; self.nonServing = nonServing; self.storageID = storageID
    }
    public init(proto: ProtoMessage) throws(WireError) {
        clusterID = proto.bytes(1); address = proto.string(2); nonServing = proto.bool(3); storageID = proto.uint64(4)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, clusterID); p.set(2, address); p.set(3, nonServing); p.set(4, storageID)
        return p
    }
}

public struct JoinQuorumResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.JoinQuorumResponse")
    public enum Outcome: UInt32, Sendable {
        case notLeader = 0
        case member = 1
        case added = 2
    }
    public var outcome: Outcome
    public var leaderAddress: String
    public var lastIndex: UInt64
    public var membership: Membership?

    public init(outcome: Outcome, leaderAddress: String = "", lastIndex: UInt64, membership: Membership? = nil) {
        self.outcome = outcome; self.leaderAddress = leaderAddress; self.lastIndex = lastIndex; self.membership = membership
    }
    public init(proto: ProtoMessage) throws(WireError) {
        guard let outcome = Outcome(rawValue: proto.uint32(1)) else {
            throw WireError(.invalidField, "unknown join outcome \(proto.uint32(1))")
        }
        self.outcome = outcome
        leaderAddress = proto.string(2)
        lastIndex = proto.uint64(3)
        let bytes = proto.bytes(4)
        if bytes.isEmpty {
            membership = nil
        } else {
            guard let decoded = Membership(decoding: bytes) else { throw WireError(.invalidField, "malformed membership in join response") }
            membership = decoded
        }
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, outcome.rawValue); p.set(2, leaderAddress); p.set(3, lastIndex)
        if let membership { p.set(4, membership.encoded) }
        return p
    }
}

/// Raft messages from one member to another (strata.RaftMessageBatch).
public struct RaftMessageBatch: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.RaftMessageBatch")
    public var clusterID: [UInt8]
    public var messages: [RaftMessage]
    /// The sender's journal storage id.
    public var storageID: UInt64
    /// The sender's state digest at a checkpoint index, reported until the leader has logged it.
    public var stateDigest: StateDigestReport?

    public init(clusterID: [UInt8], messages: [RaftMessage], storageID: UInt64, stateDigest: StateDigestReport? = nil) {
        self.clusterID = clusterID
        self.messages = messages
        self.storageID = storageID
        self.stateDigest = stateDigest
    }

    public init(proto: ProtoMessage) throws(WireError) {
        clusterID = proto.bytes(1)
        storageID = proto.uint64(3)
        let digestIndex = proto.uint64(4)
        let digest = proto.bytes(5)
        if digestIndex > 0 || !digest.isEmpty {
            guard digestIndex > 0, digest.count == JournalControl.digestSizeBytes else {
                throw WireError(.invalidField, "RaftMessageBatch: state digest of \(digest.count) bytes at index \(digestIndex); expected \(JournalControl.digestSizeBytes) bytes at an index above 0")
            }
            stateDigest = StateDigestReport(index: digestIndex, digest: digest)
        } else {
            stateDigest = nil
        }
        var messages: [RaftMessage] = []
        guard case .repeated(let items)? = proto.fields[2] else {
            self.messages = []
            return
        }
        for item in items {
            guard case .message(let nested) = item else { continue }
            messages.append(try RaftMessageCodec.decode(nested))
        }
        self.messages = messages
    }

    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, clusterID)
        if !messages.isEmpty { proto.fields[2] = .repeated(messages.map { .message(RaftMessageCodec.encode($0)) }) }
        proto.set(3, storageID)
        if let stateDigest {
            proto.set(4, stateDigest.index)
            proto.set(5, stateDigest.digest)
        }
        return proto
    }
}

public struct RaftMessageBatchResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.RaftMessageBatchResponse")
    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {}
    public var proto: ProtoMessage { ProtoMessage() }
}

/// One piece of a snapshot file (strata.SnapshotChunk); its bytes travel as the frame payload.
public struct SnapshotChunk: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.SnapshotChunk")
    public var clusterID: [UInt8]
    public var from: MemberID
    public var to: MemberID
    public var snapshotIndex: UInt64
    public var snapshotTerm: UInt64
    public var offset: UInt64
    public var totalBytes: UInt64
    public var compressed: Bool
    public var uncompressedBytes: UInt64
    /// On the last chunk: the SNAPSHOT message to step once the file is complete.
    public var message: RaftMessage?
    /// A snapshot shipped to a journal node so that it can drop the log it covers.
    public var offer: Bool
    /// The sender's journal storage id.
    public var storageID: UInt64

    public init(clusterID: [UInt8], from: MemberID, to: MemberID, snapshotIndex: UInt64, snapshotTerm: UInt64,
                offset: UInt64, totalBytes: UInt64, compressed: Bool, uncompressedBytes: UInt64, message: RaftMessage?,
                offer: Bool = false, storageID: UInt64) {
        self.offer = offer
        self.storageID = storageID
        self.clusterID = clusterID
        self.from = from
        self.to = to
        self.snapshotIndex = snapshotIndex
        self.snapshotTerm = snapshotTerm
        self.offset = offset
        self.totalBytes = totalBytes
        self.compressed = compressed
        self.uncompressedBytes = uncompressedBytes
        self.message = message
    }

    public init(proto: ProtoMessage) throws(WireError) {
        clusterID = proto.bytes(1)
        from = proto.uint64(2)
        to = proto.uint64(3)
        snapshotIndex = proto.uint64(4)
        snapshotTerm = proto.uint64(5)
        offset = proto.uint64(6)
        totalBytes = proto.uint64(7)
        compressed = proto.bool(8)
        uncompressedBytes = proto.uint64(9)
        if case .message(let nested)? = proto.fields[10] { message = try RaftMessageCodec.decode(nested) } else { message = nil }
        offer = proto.bool(11)
        storageID = proto.uint64(12)
    }

    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, clusterID)
        proto.set(2, from)
        proto.set(3, to)
        proto.set(4, snapshotIndex)
        proto.set(5, snapshotTerm)
        proto.set(6, offset)
        proto.set(7, totalBytes)
        proto.set(8, compressed)
        proto.set(9, uncompressedBytes)
        if let message { proto.fields[10] = .message(RaftMessageCodec.encode(message)) }
        proto.set(11, offer)
        proto.set(12, storageID)
        return proto
    }
}

public struct SnapshotChunkResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.SnapshotChunkResponse")
    public var receivedBytes: UInt64
    public init(receivedBytes: UInt64) { self.receivedBytes = receivedBytes }
    public init(proto: ProtoMessage) throws(WireError) { receivedBytes = proto.uint64(1) }
    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, receivedBytes)
        return proto
    }
}

/// Maps `RaftMessage` to and from strata.RaftMessageProto.
enum RaftMessageCodec {
    static func encode(_ message: RaftMessage) -> ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, message.from)
        proto.set(2, message.to)
        proto.set(3, message.term)
        func type(_ value: UInt32) { proto.set(4, value) }
        switch message.body {
        case .preVote(let lastIndex, let lastTerm):
            type(1); proto.set(5, lastIndex); proto.set(6, lastTerm)
        case .preVoteResponse(let granted):
            type(2); proto.set(7, granted)
        case .vote(let lastIndex, let lastTerm, let transfer):
            type(3); proto.set(5, lastIndex); proto.set(6, lastTerm); proto.set(8, transfer)
        case .voteResponse(let granted):
            type(4); proto.set(7, granted)
        case .append(let previousIndex, let previousTerm, let entries, let commit):
            type(5); proto.set(9, previousIndex); proto.set(10, previousTerm); proto.set(12, commit)
            if !entries.isEmpty { proto.fields[11] = .repeated(entries.map { .message(encode($0)) }) }
        case .appendResponse(let reject, let index, let lastIndex):
            type(6); proto.set(13, reject); proto.set(14, index); proto.set(5, lastIndex)
        case .heartbeat(let commit, let context):
            type(7); proto.set(12, commit); proto.set(15, context)
        case .heartbeatResponse(let context):
            type(8); proto.set(15, context)
        case .snapshot(let meta):
            type(9); proto.fields[16] = .message(encode(meta))
        case .timeoutNow:
            type(10)
        case .storedAppend:
            preconditionFailure("\(message) must be resolved into an append before it is sent")
        }
        return proto
    }

    static func decode(_ proto: ProtoMessage) throws(WireError) -> RaftMessage {
        let body: RaftMessage.Body
        switch proto.uint32(4) {
        case 1: body = .preVote(lastIndex: proto.uint64(5), lastTerm: proto.uint64(6))
        case 2: body = .preVoteResponse(granted: proto.bool(7))
        case 3: body = .vote(lastIndex: proto.uint64(5), lastTerm: proto.uint64(6), transfer: proto.bool(8))
        case 4: body = .voteResponse(granted: proto.bool(7))
        case 5:
            var entries: [LogEntry] = []
            if case .repeated(let items)? = proto.fields[11] {
                for item in items { if case .message(let nested) = item { entries.append(try decodeEntry(nested)) } }
            }
            body = .append(previousIndex: proto.uint64(9), previousTerm: proto.uint64(10), entries: entries, commit: proto.uint64(12))
        case 6: body = .appendResponse(reject: proto.bool(13), index: proto.uint64(14), lastIndex: proto.uint64(5))
        case 7: body = .heartbeat(commit: proto.uint64(12), context: proto.uint64(15))
        case 8: body = .heartbeatResponse(context: proto.uint64(15))
        case 9:
            guard case .message(let nested)? = proto.fields[16] else { throw WireError(.invalidField, "SNAPSHOT message without snapshot metadata") }
            body = .snapshot(try decodeMeta(nested))
        case 10: body = .timeoutNow
        case let other: throw WireError(.invalidField, "unknown Raft message type \(other)")
        }
        let from = proto.uint64(1), to = proto.uint64(2)
        guard from != 0, to != 0 else { throw WireError(.invalidField, "Raft message without sender or receiver") }
        return RaftMessage(from: from, to: to, term: proto.uint64(3), body: body)
    }

    static func encode(_ entry: LogEntry) -> ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, entry.term)
        proto.set(2, entry.index)
        proto.set(3, UInt32(entry.kind.rawValue))
        proto.set(4, entry.data)
        return proto
    }

    static func decodeEntry(_ proto: ProtoMessage) throws(WireError) -> LogEntry {
        guard let kind = EntryKind(rawValue: UInt8(truncatingIfNeeded: proto.uint32(3))), proto.uint32(3) < 256 else {
            throw WireError(.invalidField, "unknown log entry kind \(proto.uint32(3))")
        }
        return LogEntry(term: proto.uint64(1), index: proto.uint64(2), kind: kind, data: proto.bytes(4))
    }

    static func encode(_ meta: SnapshotMeta) -> ProtoMessage {
        var membership = ProtoMessage()
        membership.set(1, meta.membership.voters.sorted())
        membership.set(2, meta.membership.learners.sorted())
        membership.set(3, meta.membership.nonServing.sorted())
        if !meta.membership.addresses.isEmpty {
            membership.fields[4] = .repeated(meta.membership.addresses.sorted { $0.key < $1.key }.map { member, address in
                var entry = ProtoMessage()
                entry.set(1, member)
                entry.set(2, address)
                return .message(entry)
            })
        }
        var proto = ProtoMessage()
        proto.set(1, meta.index)
        proto.set(2, meta.term)
        proto.fields[3] = .message(membership)
        return proto
    }

    static func decodeMeta(_ proto: ProtoMessage) throws(WireError) -> SnapshotMeta {
        guard case .message(let membership)? = proto.fields[3] else { throw WireError(.invalidField, "snapshot metadata without membership") }
        let voters = Set(membership.uint64s(1)), learners = Set(membership.uint64s(2)), nonServing = Set(membership.uint64s(3))
        var addresses: [MemberID: String] = [:]
        if case .repeated(let items)? = membership.fields[4] {
            for case .message(let entry) in items { addresses[entry.uint64(1)] = entry.string(2) }
        }
        guard voters.isDisjoint(with: learners), nonServing.isSubset(of: voters.union(learners)),
              Set(addresses.keys).isSubset(of: voters.union(learners)),
              addresses.values.allSatisfy({ $0.utf8.count <= Membership.addressSizeMaxBytes }) else {
            throw WireError(.invalidField, "inconsistent membership in snapshot metadata")
        }
        return SnapshotMeta(index: proto.uint64(1), term: proto.uint64(2),
                            membership: Membership(voters: voters, learners: learners, nonServing: nonServing, addresses: addresses))
    }
}

/// Quorum administration methods, served by the leading master on its RPC port.
public enum QuorumMethods {
    public static let info = RPCMethod<GetServiceInfoRequest, QuorumInfo>(id: 0x0002_0010, name: "Quorum.Info")
    public static let elect = RPCMethod<QuorumChangeRequest, QuorumInfo>(id: 0x0002_0011, name: "Quorum.Elect")
    public static let remove = RPCMethod<QuorumChangeRequest, QuorumInfo>(id: 0x0002_0012, name: "Quorum.Remove")
}

public struct QuorumMemberInfo: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.QuorumMemberInfo")
    public var address: String
    public var voter: Bool
    public var state: String
    public var matchIndex: UInt64
    /// A journal node: votes and keeps the log, never serves.
    public var journalNode: Bool

    public init(address: String, voter: Bool, state: String, matchIndex: UInt64, journalNode: Bool = false) {
        self.address = address; self.voter = voter; self.state = state; self.matchIndex = matchIndex; self.journalNode = journalNode
    }
    public init(proto: ProtoMessage) throws(WireError) {
        address = proto.string(1); voter = proto.bool(2); state = proto.string(3); matchIndex = proto.uint64(4); journalNode = proto.bool(5)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, address); p.set(2, voter); p.set(3, state); p.set(4, matchIndex); p.set(5, journalNode)
        return p
    }
}

public struct QuorumInfo: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.QuorumInfo")
    public var domain = ""
    public var leaderAddress = ""
    public var term: UInt64 = 0
    public var members: [QuorumMemberInfo] = []

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        domain = proto.string(1); leaderAddress = proto.string(2); term = proto.uint64(3)
        members = try proto.messages(4, as: QuorumMemberInfo.self)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, domain); p.set(2, leaderAddress); p.set(3, term); p.set(4, members)
        return p
    }
}

public struct QuorumChangeRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.QuorumChangeRequest")
    public var address: String
    public init(address: String) { self.address = address }
    public init(proto: ProtoMessage) throws(WireError) { address = proto.string(1) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, address)
        return p
    }
}
