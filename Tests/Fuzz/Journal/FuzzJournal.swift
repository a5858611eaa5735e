import Foundation
import StrataCore
import StrataFuzzSupport
import StrataJob
@testable import StrataJournal
import StrataNamespace
import StrataRaft

/// The decoders of what the journal stores: the first byte picks one, the rest is its input.
/// Log-segment records, snapshot files, journal control entries, namespace and job records, and
/// namespace and job snapshots. Whatever decodes must re-encode to something that decodes to the
/// same value; nothing traps. (Backup files are left out: a backup may legitimately decompress to
/// 16 GB, more than a fuzzer's memory limit.)
enum Decoder: UInt8, CaseIterable {
    case logRecords, snapshotFile, journalControl, namespaceRecord, jobRecord, namespaceSnapshot, jobSnapshot
}

/// The cluster the fuzzed snapshot files claim to belong to (the corpus uses it).
let fuzzClusterID = [UInt8](repeating: 0x5A, count: 16)
let snapshotStore: SnapshotStore = {
    let directory = NSTemporaryDirectory() + "strata-fuzz-journal-\(getpid())"
    return try! SnapshotStore(directory: directory, identity: JournalIdentity(clusterID: fuzzClusterID, storageID: 1), sync: false)
}()

func check(_ input: [UInt8]) {
    guard let (selector, bytes) = FuzzTarget.split(input) else { return }
    switch Decoder.allCases[Int(selector) % Decoder.allCases.count] {
    case .logRecords:
        var reader = ByteReader(bytes)
        while reader.remaining > 0 {
            guard case .success(let entry) = RaftLogStore.decodeRecord(&reader, entrySizeMaxBytes: 1 << 20) else { break }
            var again = ByteReader(RaftLogStore.encodeRecord(entry))
            guard case .success(let decoded) = RaftLogStore.decodeRecord(&again, entrySizeMaxBytes: 1 << 20), decoded == entry else {
                preconditionFailure("log record \(entry) does not survive a round trip")
            }
        }
    case .snapshotFile:
        guard let snapshot = try? snapshotStore.decode(bytes, source: "fuzz input") else { return }
        let again = try? snapshotStore.decode(snapshotStore.encode(snapshot), source: "re-encoded fuzz input")
        precondition(again?.meta == snapshot.meta && again?.data == snapshot.data, "snapshot \(snapshot.meta) does not survive a round trip")
    case .journalControl:
        guard let control = JournalControl(decoding: bytes) else { return }
        precondition(JournalControl(decoding: control.encoded) == control, "journal control \(control) does not survive a round trip")
    case .namespaceRecord:
        guard let record = try? NamespaceCodec.decodeRecord(bytes) else { return }
        let again = try? NamespaceCodec.decodeRecord(NamespaceCodec.encode(record))
        precondition(again == record, "namespace record \(record) does not survive a round trip")
    case .jobRecord:
        guard let record = try? JobCodec.decodeRecord(bytes) else { return }
        let again = try? JobCodec.decodeRecord(JobCodec.encode(record))
        precondition(again == record, "job record \(record) does not survive a round trip")
    case .namespaceSnapshot:
        guard let namespace = try? Namespace(snapshot: bytes) else { return }
        let encoded = namespace.encodedSnapshot()
        let again = try? Namespace(snapshot: encoded)
        precondition(again?.encodedSnapshot() == encoded, "a namespace snapshot does not survive a round trip")
    case .jobSnapshot:
        guard let table = try? JobCodec.decodeSnapshot(bytes) else { return }
        let encoded = JobCodec.encodeSnapshot(table)
        let again = try? JobCodec.decodeSnapshot(encoded)
        precondition(again.map(JobCodec.encodeSnapshot) == encoded, "a job snapshot does not survive a round trip")
    }
}

/// Valid encodings of each: log records, a snapshot file, control entries, namespace records and
/// snapshots, an empty job table.
func seeds() -> [[UInt8]] {
    func seed(_ decoder: Decoder, _ bytes: [UInt8]) -> [UInt8] { [decoder.rawValue] + bytes }
    let entries = [LogEntry(term: 1, index: 1, kind: .noop, data: []), LogEntry(term: 1, index: 2, kind: .normal, data: Array("create /a".utf8)),
                   LogEntry(term: 2, index: 3, kind: .journal, data: JournalControl.checkpoint.encoded)]
    var seeds = [seed(.logRecords, entries.flatMap(RaftLogStore.encodeRecord))]
    let meta = SnapshotMeta(index: 3, term: 2, membership: Membership(voters: [1, 2, 3]))
    seeds.append(seed(.snapshotFile, snapshotStore.encode(SnapshotStore.Snapshot(meta: meta, data: Array("state".utf8)))))
    seeds.append(seed(.journalControl, JournalControl.checkpoint.encoded))
    seeds.append(seed(.journalControl, JournalControl.stateDigest(index: 9, member: 2, digest: Array(repeating: 7, count: 32)).encoded))
    var namespace = Namespace(rootUFS: "/ufs")
    let records = [
        NamespaceRecord(operationID: nil, timeMilliseconds: 1, command: .createDirectory(try! StrataPath("/data"), CreateOptions())),
        NamespaceRecord(operationID: nil, timeMilliseconds: 2, command: .createFile(try! StrataPath("/data/f"), CreateOptions())),
        NamespaceRecord(operationID: nil, timeMilliseconds: 3, command: .rename(try! StrataPath("/data/f"), to: try! StrataPath("/data/g"))),
    ]
    for record in records {
        seeds.append(seed(.namespaceRecord, NamespaceCodec.encode(record)))
        _ = namespace.apply(record)
    }
    seeds.append(seed(.namespaceSnapshot, namespace.encodedSnapshot()))
    seeds.append(seed(.jobSnapshot, JobCodec.encodeSnapshot(JobTable())))
    return seeds
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt { FuzzTarget.fuzz(start, count, check) }

#if !STRATA_FUZZ
@main struct Replay {
    static func main() { FuzzTarget.replay(check, seeds: seeds) }
}
#endif
