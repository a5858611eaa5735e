import Foundation
import StrataClient
import StrataCore
import StrataTesting
import Testing

/// The in-memory Raft log stays within `strata.master.embedded.journal.log.cache.size` however
/// many entries lie between checkpoints: older entries are read back from the log segments for a
/// lagging member and for a restarted member's replay.
@Suite struct JournalSizeTests {
    static func cacheBytes(web: Int) async throws -> Int {
        let (_, metrics) = try await WebUITests.get("http://127.0.0.1:\(web)/metrics")
        guard let line = metrics.split(separator: "\n").first(where: { $0.hasPrefix("strata_journal_log_cache_bytes") }),
              let value = line.split(separator: " ").last.flatMap({ Double($0) }) else {
            throw HarnessError("no strata_journal_log_cache_bytes in \(metrics.prefix(500))")
        }
        return Int(value)
    }

    /// Three masters with a 32 KB log cache and no checkpoints; 2,000 creates under /s, one
    /// follower stopped after `stopAfter` of them. Returns the cluster, its processes, the client,
    /// the leader and the stopped follower.
    static func lagging(_ harness: ProcessHarness, stopAfter: Int) async throws
        -> (MasterCluster, [String: TestProcess], FileSystemClient, MasterCluster.Member, MasterCluster.Member) {
        let cluster = try await MasterCluster.prepare(harness, count: 3, extra: [
            "strata.master.embedded.journal.log.cache.size": "32KB",
            "strata.master.journal.checkpoint.period.entries": "1000000",
        ])
        var processes: [String: TestProcess] = [:]
        for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
        let client = try MasterHATests.client(cluster)
        _ = try await client.createDirectory("/s")
        for index in 0..<stopAfter { _ = try await client.createFile("/s/f\(index)") }
        let leader = try await cluster.leader()
        let lagging = cluster.members.first { $0.name != leader.name }!
        _ = try await processes[lagging.name]!.stop()
        for index in stopAfter..<2000 { _ = try await client.createFile("/s/f\(index)") }
        return (cluster, processes, client, leader, lagging)
    }

    @Test func theInMemoryLogIsBoundedAndOlderEntriesAreReadBackFromDisk() async throws {
        try await ProcessHarness.with("journal-cache") { harness in
            let cache = 32 << 10
            let (cluster, _, client, leader, lagging) = try await Self.lagging(harness, stopAfter: 1000)
            // 2,000 entries of a few hundred bytes each: far more than the cache holds.
            let held = try await Self.cacheBytes(web: leader.web)
            #expect(held > 0 && held <= cache + 4096, "the leader holds \(held) bytes of log in memory, over \(cache)")

            // The lagging member restarts: it replays its own 1,000 entries from disk (more than its
            // cache), then gets the 1,000 it missed from the leader's disk.
            let restarted = try await cluster.start(lagging, in: harness, suffix: "-again")
            let commit = try #require(await JournalNodeTests.masterInfo(leader)).commitIndex
            try await JournalNodeTests.waitUntil("the lagging member catching up to \(commit)", timeout: .seconds(60)) {
                (await JournalNodeTests.masterInfo(lagging)?.appliedIndex ?? 0) >= commit
            }
            #expect(try await JournalNodeTests.names(web: lagging.web, path: "/s") == Set((0..<2000).map { "f\($0)" }))
            #expect(restarted.log().contains("journal opened: 100"), "\(restarted.log().suffix(1500))")
            let lagHeld = try await Self.cacheBytes(web: lagging.web)
            #expect(lagHeld > 0 && lagHeld <= cache + 4096, "the restarted member holds \(lagHeld) bytes in memory")
            await client.close()
        }
    }

    /// The leader's log segment damaged while it runs, inside the entries a lagging member needs:
    /// it cannot read them back, says so, takes a checkpoint past them and sends a snapshot.
    @Test func entriesThatCannotBeReadBackAreReplacedByASnapshot() async throws {
        try await ProcessHarness.with("journal-cache-damaged") { harness in
            let (cluster, processes, client, leader, lagging) = try await Self.lagging(harness, stopAfter: 500)
            // Flip a byte at two fifths of the leader's segment: around entry 800, long out of its cache.
            let log = harness.directory + "/" + leader.name + "/journal/log"
            let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".log") }.sorted().first)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: log + "/" + segment))
            bytes[bytes.count * 2 / 5] ^= 0x5A
            try bytes.write(to: URL(fileURLWithPath: log + "/" + segment))

            _ = try await cluster.start(lagging, in: harness, suffix: "-again")
            let commit = try #require(await JournalNodeTests.masterInfo(leader)).commitIndex
            try await JournalNodeTests.waitUntil("the lagging member catching up to \(commit)", timeout: .seconds(60)) {
                (await JournalNodeTests.masterInfo(lagging)?.appliedIndex ?? 0) >= commit
            }
            let names = try await JournalNodeTests.names(web: lagging.web, path: "/s")
            let expected = Set((0..<2000).map { "f\($0)" })
            if names != expected {
                let missing = expected.subtracting(names).sorted { $0.count == $1.count ? $0 < $1 : $0.count < $1.count }
                throw HarnessError("the lagging member lacks \(missing.count) names (\(missing.prefix(5))…\(missing.suffix(5))) and has \(names.subtracting(expected).count) extra")
            }
            let text = processes[leader.name]!.log()
            #expect(text.contains("cannot read entries") && text.contains("checksum mismatch"), "\(text.suffix(2000))")
            #expect(text.contains("taking a checkpoint so that members needing unreadable entries get a snapshot instead"))
            await client.close()
        }
    }
}
