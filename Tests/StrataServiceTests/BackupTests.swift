import Foundation
import NIOCore
import StrataClient
import StrataCore
import StrataJournal
import StrataTesting
import StrataWire
import Testing

/// `strata fsadmin backup` with real masters: delegated to a standby while clients write (the
/// leader keeps answering), the file checked section by section; no standby → refused unless
/// --allow-leader; --bypass-delegation and --local.
@Suite struct BackupTests {
    static func backupFiles(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter(Backup.isBackupFileName).sorted()
    }

    @Test func aStandbyTakesTheBackupWhileClientsWrite() async throws {
        try await ProcessHarness.with("backup-delegated") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3)
            let jobs = try await JobMasterCluster.prepare(harness, count: 1, masters: cluster)
            for member in jobs.members { try await jobs.start(member, in: harness) }
            // The masters know the job masters (as a shared strata-site.properties would say).
            for member in cluster.members {
                let process = try harness.start("strata-master", name: member.name, properties: member.properties.merging(jobs.clientProperties) { _, job in job })
                try await process.waitUntilServing(at: member.rpc)
            }
            let client = try MasterHATests.client(cluster)
            _ = try await client.createDirectory("/data")
            for index in 0..<300 { _ = try await client.createFile("/data/f\(index)") }
            // A job in the job table (no job worker runs it).
            _ = try JobServiceTests.writeFiles(harness.directory + "/source", count: 2, size: 10)
            let (submitted, submitOutput) = try await JobServiceTests.cli(harness, jobs.clientProperties,
                                                                          ["job", "copy", "--async", harness.directory + "/source", harness.directory + "/copy"])
            #expect(submitted == 0, "\(submitOutput)")
            let leader = try await cluster.leader()

            let writer = JournalNodeTests.Writer()
            _ = try await client.createDirectory("/load")
            let writing = Task { await writer.run(client) }
            try await writer.waitFor(20, "before the backup")
            let before = writer.count
            let (status, output) = try await JobServiceTests.cli(harness, jobs.clientProperties, ["fsadmin", "backup"])
            let during = writer.count - before
            writer.stopped.withLockedValue { $0 = true }
            await writing.value
            #expect(status == 0, "\(output)")
            #expect(output.contains("(a standby; the leader keeps serving)") && !output.contains("taken by \(leader.rpc)"), "\(output)")
            #expect(output.contains("Backup complete: \(cluster.underStorage)/strata_backups/strata-backup-"), "\(output)")
            #expect(!output.contains("Note:"), "the job table was left out: \(output)")
            #expect(writer.failures.withLockedValue { $0 } == [])
            #expect(during > 0, "the leader answered no create while the standby took the backup")

            let files = Self.backupFiles(cluster.underStorage + "/strata_backups")
            try #require(files.count == 1, "\(files)")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: cluster.underStorage + "/strata_backups/" + files[0]))
            let backup = try Backup(decoding: ByteBuffer(bytes: bytes), name: files[0])
            let namespace = try #require(backup.section(.namespace))
            let table = try #require(backup.section(.jobTable))
            #expect(namespace.entries >= 302 && table.entries == 1, "\(namespace.entries) inodes, \(table.entries) jobs")
            #expect(output.contains("\(bytes.count) bytes, \(backup.entryCount) entries"), "\(output)")

            // Cut short, or with a flipped byte, the file is refused as such.
            let truncated = ByteBuffer(bytes: bytes.prefix(bytes.count / 2))
            let shortError = #expect(throws: BackupError.self) { try Backup(decoding: truncated, name: "short.gz") }
            #expect(shortError?.message.contains("truncated") == true, "\(String(describing: shortError))")
            var flipped = [UInt8](bytes)
            flipped[flipped.count / 2] ^= 0x40
            #expect(throws: BackupError.self) { try Backup(decoding: ByteBuffer(bytes: flipped), name: "flipped.gz") }
            await client.close()
        }
    }

    @Test func withoutAStandbyOnlyTheLeaderCanAndOnlyIfAllowed() async throws {
        try await ProcessHarness.with("backup-alone") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1)
            for member in cluster.members { try await cluster.start(member, in: harness) }
            let client = try MasterHATests.client(cluster)
            for index in 0..<10 { _ = try await client.createFile("/f\(index)") }

            let (refused, refusal) = try await MasterHATests.cli(harness, cluster, ["fsadmin", "backup"])
            #expect(refused != 0 && refusal.contains("cannot delegate the backup: there is no standby master; pass --allow-leader"), "\(refusal)")
            let (allowed, allowedOutput) = try await MasterHATests.cli(harness, cluster, ["fsadmin", "backup", "--allow-leader"])
            #expect(allowed == 0 && allowedOutput.contains("(the leader)") && allowedOutput.contains("Backup complete:"), "\(allowedOutput)")
            // No job master runs here: the backup says what it does not hold.
            #expect(allowedOutput.contains("Note: job table not included:"), "\(allowedOutput)")

            let local = harness.directory + "/local-backups"
            let (bypassed, bypassedOutput) = try await MasterHATests.cli(harness, cluster, ["fsadmin", "backup", "--bypass-delegation", "--local", local])
            #expect(bypassed == 0 && bypassedOutput.contains("Backup complete: \(local)/strata-backup-"), "\(bypassedOutput)")
            #expect(Self.backupFiles(local).count == 1)
            #expect(Self.backupFiles(cluster.underStorage + "/strata_backups").count == 1)

            let (badStatus, bad) = try await MasterHATests.cli(harness, cluster, ["fsadmin", "backup", "--allow-leader", "relative/dir"])
            #expect(badStatus != 0 && bad.contains("'relative/dir' is not an absolute path"), "\(bad)")
            await client.close()
        }
    }

    /// What a listing shows of every file and directory, for comparing namespaces.
    static func snapshot(_ client: FileSystemClient) async throws -> [String] {
        try await client.list("/", recursive: true).map {
            "\($0.path) dir=\($0.isDirectory) length=\($0.lengthBytes) \($0.persistenceState) pinned=\($0.pinned) mode=\($0.mode) owner=\($0.owner)"
        }.sorted()
    }

    /// Backup; every journal formatted again (a new cluster); the masters and the job master
    /// started with -i BACKUP: the first to lead restores it ("Restored N entries from backup"),
    /// the listing, mount table, file bytes and job history are as before. A cut-short backup is
    /// refused before anything is imported.
    @Test func restoringWithDashIGivesBackTheNamespaceAndTheJobs() async throws {
        try await ProcessHarness.with("backup-restore") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3)
            let jobs = try await JobMasterCluster.prepare(harness, count: 1, masters: cluster)
            var jobProcess = try await jobs.start(jobs.members[0], in: harness)
            var processes: [String: TestProcess] = [:]
            func startMasters(_ arguments: [String], suffix: String) async throws {
                for member in cluster.members {
                    let process = try harness.start("strata-master", name: member.name + suffix,
                                                    properties: member.properties.merging(jobs.clientProperties) { _, job in job }, arguments: arguments)
                    try await process.waitUntilServing(at: member.rpc)
                    processes[member.name] = process
                }
            }
            try await startMasters([], suffix: "")
            let worker = try await WorkerNode.prepare(harness, cluster: cluster)
            try await worker.start(in: harness)
            let client = try MasterHATests.client(cluster)
            try await DataPathTests.waitForWorkers(client, count: 1)
            // Persisted files with bytes, a Strata-only tree, a mount, attributes.
            var contents: [String: [UInt8]] = [:]
            for index in 0..<5 {
                let data = DataPathTests.bytes(100_000 + index, seed: UInt8(index))
                try await DataPathTests.write(client, "/kept/file\(index)", data, .cacheThrough)
                contents["/kept/file\(index)"] = data
            }
            _ = try await client.createDirectory("/only-in-strata/a/b", recursive: true)
            for index in 0..<50 { _ = try await client.createFile("/only-in-strata/a/b/empty\(index)") }
            let mounted = harness.directory + "/other-ufs"
            try FileManager.default.createDirectory(atPath: mounted, withIntermediateDirectories: true)
            try Data("outside\n".utf8).write(to: URL(fileURLWithPath: mounted + "/outside.txt"))
            _ = try await client.createDirectory("/mnt")
            try await client.mount("/mnt/other", ufsURI: mounted, readOnly: true)
            var pin = SetAttributeRequest(path: "/kept/file1")
            pin.pinned = true
            _ = try await client.setAttribute(pin)
            _ = try JobServiceTests.writeFiles(harness.directory + "/source", count: 2, size: 10)
            let (copied, copyOutput) = try await JobServiceTests.cli(harness, jobs.clientProperties, ["job", "copy", "--async", harness.directory + "/source", harness.directory + "/copy"])
            #expect(copied == 0, "\(copyOutput)")
            let before = try await Self.snapshot(client)

            let (status, output) = try await MasterHATests.cli(harness, cluster, ["fsadmin", "backup"])
            #expect(status == 0 && !output.contains("Note:"), "\(output)")
            let file = try #require(Self.backupFiles(cluster.underStorage + "/strata_backups").first)
            let backupPath = cluster.underStorage + "/strata_backups/" + file

            // Everything stopped; every journal formatted again.
            for process in processes.values { _ = try await process.stop() }
            _ = try await jobProcess.stop()
            for member in cluster.members + jobs.members {
                let format = try harness.start("strata", name: member.name + "-reformat", properties: member.properties, arguments: ["format"])
                #expect(try await format.waitForExit() == 0, "\(format.log())")
            }

            // A cut-short backup: refused at start-up, nothing imported.
            let bytes = try Data(contentsOf: URL(fileURLWithPath: backupPath))
            let short = harness.directory + "/short-backup.gz"
            try bytes.prefix(bytes.count - 40).write(to: URL(fileURLWithPath: short))
            let refused = try harness.start("strata-master", name: "refused", properties: cluster.members[0].properties, arguments: ["-i", short])
            #expect(try await refused.waitForExit(timeout: .seconds(30)) != 0)
            #expect(refused.log().contains("cannot restore:") && refused.log().contains("truncated"), "\(refused.log())")

            try await startMasters(["-i", backupPath], suffix: "-restored")
            jobProcess = try harness.start("strata-jobmaster", name: "jobmaster1-restored", properties: jobs.members[0].properties, arguments: ["-i", backupPath])
            try await jobProcess.waitUntilServing(at: jobs.members[0].rpc)
            let leader = try await cluster.leader()
            try await JournalNodeTests.waitUntil("the leader restoring the backup") {
                processes[leader.name]!.log().contains("Restored ")
            }
            let restoredLine = processes[leader.name]!.log().split(separator: "\n").first { $0.contains("Restored ") } ?? ""
            #expect(restoredLine.contains("entries from backup \(backupPath)"), "\(restoredLine)")
            #expect(try await Self.snapshot(client) == before)
            for (path, data) in contents { #expect(try await DataPathTests.read(client, path) == data, "\(path)") }
            #expect(try await DataPathTests.read(client, "/mnt/other/outside.txt") == Array("outside\n".utf8))
            try await JournalNodeTests.waitUntil("the job master restoring the job table") { jobProcess.log().contains("Restored 1 entries from backup") }
            let (listed, listing) = try await JobServiceTests.cli(harness, jobs.clientProperties, ["job", "ls"])
            #expect(listed == 0 && listing.contains("UfsCopy"), "\(listing)")
            // The others, leading later, find the journal restored and leave it.
            let other = cluster.members.first { $0.name != leader.name }!
            _ = try await processes[leader.name]!.stop()
            let newLeader = try await cluster.leader(excluding: [leader.name])
            try await JournalNodeTests.waitUntil("the new leader deciding not to restore") {
                processes[newLeader.name]!.log().contains("not restoring from backup")
            }
            #expect(!processes[other.name]!.log().contains("Restored "))
            #expect(try await Self.snapshot(client) == before)
            await client.close()
        }
    }

    /// Daily backups: taken by the leader's delegate at strata.master.daily.backup.time (here a
    /// few seconds from now, with seconds), then only the newest .files.retained are kept. A time
    /// that is not one stops the master with a line naming the property.
    @Test func dailyBackupsAreTakenAndPruned() async throws {
        try await ProcessHarness.with("backup-daily") { harness in
            let formatter = DateFormatter()
            formatter.dateFormat = "HH:mm:ss"
            formatter.timeZone = TimeZone(identifier: "UTC")
            let at = formatter.string(from: Date().addingTimeInterval(8))
            let cluster = try await MasterCluster.prepare(harness, count: 2, extra: [
                "strata.master.daily.backup.enabled": "true", "strata.master.daily.backup.time": at,
                "strata.master.daily.backup.files.retained": "2",
            ])
            let folder = cluster.underStorage + "/strata_backups"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let old = (1...3).map { "strata-backup-2020-01-0\($0)-157\($0)000000000.gz" }
            for name in old { _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: Data([0x1f, 0x8b])) }
            for member in cluster.members { try await cluster.start(member, in: harness) }
            let client = try MasterHATests.client(cluster)
            _ = try await client.createDirectory("/daily")
            try await JournalNodeTests.waitUntil("the daily backup", timeout: .seconds(40)) {
                Self.backupFiles(folder).contains { !old.contains($0) }
            }
            try await JournalNodeTests.waitUntil("the older backups pruned") { Self.backupFiles(folder).count == 2 }
            let kept = Self.backupFiles(folder)
            #expect(kept.contains(old[2]) && !kept.contains(old[0]) && !kept.contains(old[1]), "\(kept)")
            let fresh = try #require(kept.first { !old.contains($0) })
            let backup = try await Backup.read(from: folder + "/" + fresh)
            #expect((backup.section(.namespace)?.entries ?? 0) >= 2)

            var bad = cluster.members[0].properties
            let ports = try await ProcessHarness.freePorts(3)
            bad["strata.home"] = harness.directory + "/bad-daily-home"
            bad["strata.master.rpc.port"] = String(ports[0])
            bad["strata.master.web.port"] = String(ports[1])
            bad["strata.master.embedded.journal.port"] = String(ports[2])
            bad["strata.master.daily.backup.time"] = "25:99"
            let refused = try harness.start("strata-master", name: "bad-daily", properties: bad)
            #expect(try await refused.waitForExit(timeout: .seconds(30)) != 0)
            #expect(refused.log().contains("strata.master.daily.backup.time='25:99' is not a time of day"), "\(refused.log())")
            await client.close()
        }
    }
}
