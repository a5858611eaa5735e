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
}
