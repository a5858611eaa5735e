import Foundation
import StrataClient
import StrataCore
import StrataTesting
import StrataWire
import Testing

/// A master's journal damaged on disk while it is stopped: a flipped byte in a middle log segment
/// and in its newest snapshot. It starts, reports what it found (file and offset), gets what it
/// lost back from the others, and holds every acknowledged change again.
@Suite struct JournalCorruptionTests {
    static func flipByte(in path: String) throws -> Int {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let offset = bytes.count / 2
        bytes[offset] ^= 0x5A
        try bytes.write(to: URL(fileURLWithPath: path))
        return offset
    }

    @Test func aFlippedByteInALogSegmentAndInTheNewestSnapshotIsRepairedFromTheOthers() async throws {
        try await ProcessHarness.with("journal-corruption") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3, extra: [
                "strata.master.embedded.journal.segment.size": "16KB", "strata.master.journal.checkpoint.period.entries": "1000",
            ])
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let client = try MasterHATests.client(cluster)
            _ = try await client.createDirectory("/c")
            for index in 0..<1500 { _ = try await client.createFile("/c/f\(index)") }
            let leader = try await cluster.leader()
            let victim = cluster.members.first { $0.name != leader.name }!
            _ = try await processes[victim.name]!.stop()

            let journal = harness.directory + "/" + victim.name + "/journal"
            let segments = try FileManager.default.contentsOfDirectory(atPath: journal + "/log").filter { $0.hasSuffix(".log") }.sorted()
            let snapshots = try FileManager.default.contentsOfDirectory(atPath: journal + "/snapshots").filter { $0.hasSuffix(".snap") }.sorted()
            try #require(segments.count >= 3, "\(segments)")
            try #require(!snapshots.isEmpty, "no snapshot to damage")
            let segment = segments[segments.count / 2]
            _ = try Self.flipByte(in: journal + "/log/" + segment)
            _ = try Self.flipByte(in: journal + "/snapshots/" + snapshots.last!)
            // More changes while it is down.
            for index in 1500..<1600 { _ = try await client.createFile("/c/f\(index)") }

            let restarted = try await cluster.start(victim, in: harness, suffix: "-repaired")
            let log = restarted.log()
            #expect(log.contains("journal repaired at start-up") && log.contains(segment), "the damage was not reported: \(log.suffix(3000))")
            let commit = try #require(await JournalNodeTests.masterInfo(leader)).commitIndex
            try await JournalNodeTests.waitUntil("the repaired master catching up to \(commit)", timeout: .seconds(60)) {
                (await JournalNodeTests.masterInfo(victim)?.appliedIndex ?? 0) >= commit
            }
            let names = try await JournalNodeTests.names(web: victim.web, path: "/c")
            #expect(names == Set((0..<1600).map { "f\($0)" }), "\(names.count) of 1600 files on the repaired master")
            // And it serves them once it leads.
            for member in cluster.members where member.name != victim.name { _ = try await processes[member.name]!.stop() }
            processes[leader.name] = try await cluster.start(leader, in: harness, suffix: "-again")
            let newLeader = try await cluster.leader(timeout: .seconds(30))
            #expect(try await client.list("/c").count == 1600, "leader \(newLeader.name)")
            await client.close()
        }
    }
}
