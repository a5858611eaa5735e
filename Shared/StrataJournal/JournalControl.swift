import StrataCore
import StrataRaft

/// What the embedded journal records in its own log (entries of kind `.journal`), never handed to
/// the state machine.
///
/// Checkpoints are taken where the log says, so that every member checkpoints at the same
/// index and the states can be compared: the leader appends `checkpoint` every
/// `strata.master.journal.checkpoint.period.entries` entries; each member that keeps state takes
/// its checkpoint exactly there and reports the SHA-256 of the snapshot's bytes (snapshots are
/// deterministic encodings, so equal states give equal digests); the leader appends each report
/// as a `stateDigest`. Every member reads the same digests in the same order and reaches the same
/// verdict: a member whose digest differs from the one a majority of the serving members share
/// has diverged, and discards its state for the leader's snapshot.
public enum JournalControl: Sendable, Equatable, CustomStringConvertible {
    /// Members that keep state checkpoint at this entry's index.
    case checkpoint
    /// `member`'s state as of `index` (a checkpoint entry) has this digest.
    case stateDigest(index: UInt64, member: MemberID, digest: [UInt8])

    static let digestSizeBytes = 32

    public var encoded: [UInt8] {
        var writer = ByteWriter()
        switch self {
        case .checkpoint:
            writer.write(UInt8(1))
        case .stateDigest(let index, let member, let digest):
            precondition(digest.count == Self.digestSizeBytes, "state digest of \(digest.count) bytes")
            writer.write(UInt8(2))
            writer.write(index)
            writer.write(member)
            writer.write(digest)
        }
        return writer.bytes
    }

    /// Decodes `encoded`; nil for anything else.
    public init?(decoding bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        switch reader.read(UInt8.self) {
        case 1 where reader.remaining == 0:
            self = .checkpoint
        case 2:
            guard let index = reader.read(UInt64.self), let member = reader.read(UInt64.self),
                  let digest = reader.read(count: Self.digestSizeBytes), reader.remaining == 0 else { return nil }
            self = .stateDigest(index: index, member: member, digest: digest)
        default:
            return nil
        }
    }

    public var description: String {
        switch self {
        case .checkpoint: "CHECKPOINT"
        case .stateDigest(let index, let member, let digest):
            "STATE_DIGEST of \(String(member, radix: 16)) at \(index): \(hex(Array(digest.prefix(8))))…"
        }
    }
}

/// A member's state digest at a CHECKPOINT index, as its batches report it to the leader.
public struct StateDigestReport: Sendable, Equatable {
    public var index: UInt64
    public var digest: [UInt8]

    public init(index: UInt64, digest: [UInt8]) {
        self.index = index
        self.digest = digest
    }
}

/// The digests reported for each checkpoint index, and the verdict they give: pure, so that
/// every member, reading the same entries, decides alike.
struct StateDigestBook: Sendable {
    /// Checkpoint indices kept (older ones are forgotten).
    static let indicesKept = 4
    private(set) var reports: [UInt64: [MemberID: [UInt8]]] = [:]
    /// Members already judged divergent at an index (each verdict is given once).
    private var judged: [UInt64: Set<MemberID>] = [:]

    struct Verdict: Equatable {
        var index: UInt64
        /// The digest a majority of the serving members share, if one does.
        var majority: [UInt8]?
        /// Members whose digest differs from the majority's.
        var divergent: Set<MemberID>
        /// Members that reported a digest nobody else shares, with no majority to tell which is right.
        var undecided: Set<MemberID>
    }

    /// Records a report; returns a verdict when it newly finds members divergent (or undecided).
    mutating func record(index: UInt64, member: MemberID, digest: [UInt8], serving: Set<MemberID>) -> Verdict? {
        guard reports[index]?[member] == nil else { return nil }
        reports[index, default: [:]][member] = digest
        for old in reports.keys.sorted().dropLast(Self.indicesKept) {
            reports[old] = nil
            judged[old] = nil
        }
        let counted = (reports[index] ?? [:]).filter { serving.contains($0.key) }
        let quorum = serving.count / 2 + 1
        var counts: [[UInt8]: Int] = [:]
        for digest in counted.values { counts[digest, default: 0] += 1 }
        let already = judged[index] ?? []
        if let majority = counts.first(where: { $0.value >= quorum })?.key {
            let divergent = Set(counted.filter { $0.value != majority }.keys).subtracting(already)
            guard !divergent.isEmpty else { return nil }
            judged[index, default: []].formUnion(divergent)
            return Verdict(index: index, majority: majority, divergent: divergent, undecided: [])
        }
        // Every serving member reported and no digest has a majority (two members that
        // disagree, say): the difference is reported, and nobody's state is thrown away.
        guard counted.count == serving.count, counts.count > 1 else { return nil }
        let undecided = Set(counted.keys).subtracting(already)
        guard !undecided.isEmpty else { return nil }
        judged[index, default: []].formUnion(undecided)
        return Verdict(index: index, majority: nil, divergent: [], undecided: undecided)
    }

    func digest(of member: MemberID, at index: UInt64) -> [UInt8]? { reports[index]?[member] }
}
