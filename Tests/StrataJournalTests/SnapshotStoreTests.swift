import Foundation
import Testing
@testable import StrataJournal
import StrataRaft

/// Snapshot files: durable, checksummed, pruned, and never trusted when damaged.
@Suite struct SnapshotStoreTests {
    let identity = JournalIdentity(clusterID: Array(repeating: 0xCD, count: 16), storageID: 1)
    let membership = Membership(voters: [1, 2, 3])

    func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "strata-snapshot-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    func snapshot(_ index: UInt64) -> SnapshotStore.Snapshot {
        SnapshotStore.Snapshot(meta: SnapshotMeta(index: index, term: 2, membership: membership),
                               data: Array("state as of \(index)".utf8))
    }

    @Test func saveLatestAndPrune() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SnapshotStore(directory: directory, identity: identity, retained: 2)
        var repairs: [String] = []
        #expect(try store.latest(repairs: &repairs) == nil)
        for index: UInt64 in [10, 20, 30] { try store.save(snapshot(index)) }
        #expect(try store.latest(repairs: &repairs) == snapshot(30))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".snap") }.count == 2)
        #expect(repairs.isEmpty)
    }

    @Test func damagedNewestFallsBackToOlder() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SnapshotStore(directory: directory, identity: identity, retained: 3)
        try store.save(snapshot(10))
        let newest = try store.save(snapshot(20))
        var bytes = [UInt8](FileManager.default.contents(atPath: newest)!)
        bytes[bytes.count - 1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: newest))
        var repairs: [String] = []
        #expect(try store.latest(repairs: &repairs) == snapshot(10))
        #expect(repairs.count == 1)
        #expect(repairs[0].contains(newest))
        #expect(repairs[0].contains("checksum mismatch"))
    }

    @Test func transferredBytesAreCheckedOnInstall() throws {
        let source = temporaryDirectory(), target = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: source)
            try? FileManager.default.removeItem(atPath: target)
        }
        let leader = try SnapshotStore(directory: source, identity: identity)
        try leader.save(snapshot(42))
        let bytes = try leader.fileBytes(of: snapshot(42).meta)
        let follower = try SnapshotStore(directory: target, identity: identity)
        #expect(try follower.install(fileBytes: bytes) == snapshot(42))
        var damaged = bytes
        damaged[damaged.count / 2] ^= 0x10
        #expect(throws: JournalError.self) { try follower.install(fileBytes: damaged) }
        let stranger = try SnapshotStore(directory: target, identity: JournalIdentity(clusterID: Array(repeating: 1, count: 16), storageID: 2))
        let error = #expect(throws: JournalError.self) { try stranger.install(fileBytes: bytes) }
        #expect(error?.code == .clusterMismatch)
    }
}
