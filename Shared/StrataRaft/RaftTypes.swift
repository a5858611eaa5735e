/// A member of a Raft group. Stable for the member's lifetime; never reused for another member.
public typealias MemberID = UInt64

/// What a log entry carries.
public enum EntryKind: UInt8, Sendable {
    /// A state-machine command proposed by the application.
    case normal = 0
    /// A new membership (the whole configuration, encoded by `Membership.encoded`).
    case membership = 1
    /// The empty entry a new leader appends to commit entries of earlier terms.
    case noop = 2
    /// An entry for the journal itself, not for the state machine (checkpoint markers, state
    /// digests): opaque to the core, interpreted by the shell.
    case journal = 3
}

/// One entry of the replicated log.
public struct LogEntry: Sendable, Equatable, CustomStringConvertible {
    public var term: UInt64
    public var index: UInt64
    public var kind: EntryKind
    public var data: [UInt8]

    public init(term: UInt64, index: UInt64, kind: EntryKind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    public var description: String { "\(index)@\(term)\(kind == .normal ? "" : "/\(kind)")" }
}

/// The state a member must persist before it sends anything that depends on it.
public struct HardState: Sendable, Equatable, CustomStringConvertible {
    public var term: UInt64
    /// Whom this member voted for in `term`, if anyone.
    public var vote: MemberID?
    public var commit: UInt64
    /// Non-zero while the member is catching up on entries it once held durably and lost (a
    /// corrupt record cut off at start-up, a damaged snapshot, state discarded as divergent):
    /// until its log holds this index again it neither votes nor campaigns, because the entries
    /// it acknowledged may have counted towards a commit that its vote could now undo.
    public var catchUp: UInt64

    public init(term: UInt64 = 0, vote: MemberID? = nil, commit: UInt64 = 0, catchUp: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
        self.catchUp = catchUp
    }

    public var description: String {
        "term \(term) vote \(vote.map(String.init) ?? "-") commit \(commit)" + (catchUp == 0 ? "" : " catching up to \(catchUp)")
    }
}

/// Who belongs to the group: voters decide elections and commits; learners only receive the log.
/// Non-serving members (journal nodes) vote and store the log but never serve clients.
public struct Membership: Sendable, Equatable, CustomStringConvertible {
    public var voters: Set<MemberID>
    public var learners: Set<MemberID>
    public var nonServing: Set<MemberID>
    /// Where members can be reached (`host:port`), carried so that a log or snapshot describes
    /// its group completely: a member added at run time is found by members configured before it.
    /// Opaque to the core.
    public var addresses: [MemberID: String]

    /// Longest address kept, in bytes.
    public static let addressSizeMaxBytes = 1024

    public init(voters: Set<MemberID>, learners: Set<MemberID> = [], nonServing: Set<MemberID> = [], addresses: [MemberID: String] = [:]) {
        precondition(voters.isDisjoint(with: learners), "members both voter and learner: \(voters.intersection(learners))")
        precondition(nonServing.isSubset(of: voters.union(learners)), "non-serving members \(nonServing) not in the group")
        precondition(Set(addresses.keys).isSubset(of: voters.union(learners)), "addresses of members not in the group: \(addresses)")
        self.voters = voters
        self.learners = learners
        self.nonServing = nonServing
        self.addresses = addresses
    }

    public var members: Set<MemberID> { voters.union(learners) }
    public var quorum: Int { voters.count / 2 + 1 }

    public var description: String {
        func name(_ member: MemberID) -> String {
            (addresses[member] ?? "\(member)") + (nonServing.contains(member) ? "*" : "")
        }
        let voterList = voters.sorted().map(name).joined(separator: ",")
        return learners.isEmpty ? "voters {\(voterList)}" : "voters {\(voterList)} learners {\(learners.sorted().map(name).joined(separator: ","))}"
    }

    /// A deterministic byte encoding, carried by membership entries and snapshots. Version 1
    /// holds the three sets; version 2 adds the addresses.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = [addresses.isEmpty ? 1 : 2] // format version
        for set in [voters, learners, nonServing] {
            appendVarint(UInt64(set.count), to: &bytes)
            for member in set.sorted() { appendVarint(member, to: &bytes) }
        }
        if !addresses.isEmpty {
            appendVarint(UInt64(addresses.count), to: &bytes)
            for (member, address) in addresses.sorted(by: { $0.key < $1.key }) {
                appendVarint(member, to: &bytes)
                let utf8 = Array(address.utf8.prefix(Self.addressSizeMaxBytes))
                appendVarint(UInt64(utf8.count), to: &bytes)
                bytes += utf8
            }
        }
        return bytes
    }

    /// Decodes `encoded`; nil if the bytes are not a membership.
    public init?(decoding bytes: [UInt8]) {
        guard let version = bytes.first, version == 1 || version == 2 else { return nil }
        var offset = 1
        var sets: [Set<MemberID>] = []
        for _ in 0..<3 {
            guard let count = readVarint(bytes, &offset), count <= 10_000 else { return nil }
            var set = Set<MemberID>()
            for _ in 0..<count {
                guard let member = readVarint(bytes, &offset) else { return nil }
                set.insert(member)
            }
            sets.append(set)
        }
        var addresses: [MemberID: String] = [:]
        if version == 2 {
            guard let count = readVarint(bytes, &offset), count <= 10_000 else { return nil }
            for _ in 0..<count {
                guard let member = readVarint(bytes, &offset), let length = readVarint(bytes, &offset),
                      length <= UInt64(Self.addressSizeMaxBytes), offset + Int(length) <= bytes.count,
                      let address = String(validating: bytes[offset..<offset + Int(length)], as: UTF8.self) else { return nil }
                offset += Int(length)
                addresses[member] = address
            }
        }
        let members = sets[0].union(sets[1])
        guard offset == bytes.count, sets[0].isDisjoint(with: sets[1]), sets[2].isSubset(of: members),
              Set(addresses.keys).isSubset(of: members) else { return nil }
        self.init(voters: sets[0], learners: sets[1], nonServing: sets[2], addresses: addresses)
    }
}

/// Metadata of a snapshot: the state machine as of `index`. The bytes themselves stay with the
/// shell, which stores, streams and restores them; the core only needs to know what they cover.
public struct SnapshotMeta: Sendable, Equatable, CustomStringConvertible {
    public var index: UInt64
    public var term: UInt64
    public var membership: Membership

    public init(index: UInt64, term: UInt64, membership: Membership) {
        self.index = index
        self.term = term
        self.membership = membership
    }

    public var description: String { "snapshot \(index)@\(term)" }
}

/// A linearizable read that may now be served: once the state machine has applied `index`,
/// reading it reflects every write acknowledged before the read was requested.
public struct ReadState: Sendable, Equatable {
    public var index: UInt64
    public var context: UInt64
}

/// A member's role as the application sees it.
public enum RaftRole: String, Sendable, Equatable {
    case follower = "FOLLOWER"
    case preCandidate = "PRE_CANDIDATE"
    case candidate = "CANDIDATE"
    case leader = "LEADER"
}

func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
    var value = value
    while value >= 0x80 {
        bytes.append(UInt8(value & 0x7F) | 0x80)
        value >>= 7
    }
    bytes.append(UInt8(value))
}

func readVarint(_ bytes: [UInt8], _ offset: inout Int) -> UInt64? {
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while offset < bytes.count, shift < 64 {
        let byte = bytes[offset]
        offset += 1
        value |= UInt64(byte & 0x7F) << shift
        if byte < 0x80 { return value }
        shift += 7
    }
    return nil
}
