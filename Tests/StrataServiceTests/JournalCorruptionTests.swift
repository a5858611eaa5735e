import Foundation
import StrataClient
import StrataCore
import StrataJournal
import StrataNamespace
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

    /// A member whose state diverges with a journal that passes every check: its newest snapshot
    /// rewritten, with a valid checksum, to hold a file nobody created. At the next CHECKPOINT
    /// its digest differs from the other two; it reports it, sets the snapshot aside, installs
    /// the leader's and converges, without voting until it has caught up.
    @Test func aMemberWhoseStateDivergesIsFoundAtTheNextCheckpointAndRepaired() async throws {
        try await ProcessHarness.with("journal-divergence") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3, extra: ["strata.master.journal.checkpoint.period.entries": "300"])
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let client = try MasterHATests.client(cluster)
            _ = try await client.createDirectory("/d")
            for index in 0..<400 { _ = try await client.createFile("/d/f\(index)") }
            let leader = try await cluster.leader()
            let victim = cluster.members.first { $0.name != leader.name }!
            try await JournalNodeTests.waitUntil("a checkpoint on \(victim.name)", timeout: .seconds(30)) {
                (try? FileManager.default.contentsOfDirectory(atPath: harness.directory + "/" + victim.name + "/journal/snapshots"))?
                    .contains { $0.hasSuffix(".snap") } == true
            }
            let log = try await processes[victim.name]!.stop()
            _ = log

            // Rewrite the newest snapshot: same index, a valid checksum, one more file.
            let journal = harness.directory + "/" + victim.name + "/journal"
            let identity = try JournalIdentity.read(from: journal)
            let store = try SnapshotStore(directory: journal + "/snapshots", identity: identity, sync: true)
            var repairs: [String] = []
            let newest = try #require(try store.latest(repairs: &repairs))
            var namespace = try Namespace(snapshot: newest.data)
            var options = CreateOptions()
            options.recursive = true
            _ = namespace.apply(NamespaceRecord(operationID: nil, timeMilliseconds: 1, command: .createFile(try StrataPath("/d/rogue"), options)))
            try store.save(SnapshotStore.Snapshot(meta: newest.meta, data: namespace.encodedSnapshot()))

            let restarted = try await cluster.start(victim, in: harness, suffix: "-diverged")
            try await JournalNodeTests.waitUntil("the rogue file on the restarted member", timeout: .seconds(30)) {
                (try? await JournalNodeTests.names(web: victim.web, path: "/d"))?.contains("rogue") == true
            }
            for index in 400..<800 { _ = try await client.createFile("/d/f\(index)") }
            try await JournalNodeTests.waitUntil("the divergence found and repaired", timeout: .seconds(60)) {
                guard restarted.log().contains("installed snapshot") else { return false }
                return (try? await JournalNodeTests.names(web: victim.web, path: "/d")) == Set((0..<800).map { "f\($0)" })
            }
            let text = restarted.log()
            #expect(text.contains("diverges from the majority's") && text.contains("discarding it for the leader's snapshot"), "\(text.suffix(3000))")
            let setAside = try FileManager.default.contentsOfDirectory(atPath: journal + "/snapshots").filter { $0.hasSuffix(".diverged") }
            #expect(!setAside.isEmpty, "the divergent snapshot is kept aside for inspection")
            let leaderLog = processes[leader.name]!.log()
            #expect(leaderLog.contains("the state of \(victim.journal) at index"), "the leader reports it too: \(leaderLog.suffix(2000))")
            // Further checks agree.
            for index in 800..<1000 { _ = try await client.createFile("/d/f\(index)") }
            let commit = try #require(await JournalNodeTests.masterInfo(leader)).commitIndex
            try await JournalNodeTests.waitUntil("catching up to \(commit)", timeout: .seconds(30)) {
                (await JournalNodeTests.masterInfo(victim)?.appliedIndex ?? 0) >= commit
            }
            #expect(try await JournalNodeTests.names(web: victim.web, path: "/d") == Set((0..<1000).map { "f\($0)" }))
            #expect(restarted.log().components(separatedBy: "diverges from the majority's").count == 2, "one divergence, found once")
            await client.close()
        }
    }

    /// A committed entry that passes its checksum but is no namespace record (written by a bug
    /// or a byzantine disk): the member never skips it. It backs up its state as of the entry
    /// before, names the entry, and stops with status 3.
    @Test func anEntryThatCannotBeAppliedStopsTheMemberAfterABackup() async throws {
        try await ProcessHarness.with("journal-unappliable") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3)
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let client = try MasterHATests.client(cluster)
            _ = try await client.createDirectory("/e")
            for index in 0..<50 { _ = try await client.createFile("/e/f\(index)") }
            let leader = try await cluster.leader()
            let victim = cluster.members.first { $0.name != leader.name }!
            _ = try await processes[victim.name]!.stop()

            // Append, with a valid checksum, an entry of the current term that is no record.
            let journal = harness.directory + "/" + victim.name + "/journal"
            let identity = try JournalIdentity.read(from: journal)
            let last = try #require(try RaftLogStore.readOnly(directory: journal + "/log", identity: identity).entries.last)
            var payload = ByteWriter()
            payload.write(last.term)
            payload.write(last.index + 1)
            payload.write(UInt8(0))
            payload.write([0x7F, 0x01, 0x02, 0x03])
            var record = ByteWriter()
            record.write(UInt32(payload.bytes.count))
            record.write(Checksum.crc32(0, payload.bytes))
            record.write(payload.bytes)
            let segment = try FileManager.default.contentsOfDirectory(atPath: journal + "/log").filter { $0.hasSuffix(".log") }.sorted().last!
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: journal + "/log/" + segment))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(record.bytes))
            try handle.close()
            // The others write the real entry at that index, in the same term.
            for index in 50..<60 { _ = try await client.createFile("/e/f\(index)") }

            // Started without waiting for it to serve: it may stop on the leader's first message,
            // before the harness's first GetServiceInfo.
            let restarted = try harness.start("strata-master", name: victim.name + "-stopping", properties: victim.properties, host: victim.host)
            #expect(try await restarted.waitForExit(timeout: .seconds(30)) == 3)
            let text = restarted.log()
            #expect(text.contains("journal entry \(last.index + 1) cannot be applied: not a namespace record"), "\(text.suffix(2000))")
            let folder = journal + ".backup-when-corrupted"
            let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("strata-backup-") }
            try #require(files.count == 1, "\(files)")
            let backup = try await Backup.read(from: folder + "/" + files[0])
            #expect(backup.journalIndex == last.index)
            #expect(backup.section(.namespace)?.entries == 52, "root, /e and 50 files")
            // The others go on.
            _ = try await client.createFile("/e/after")
            await client.close()
        }
    }
}
