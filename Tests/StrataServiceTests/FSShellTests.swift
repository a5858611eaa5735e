import Foundation
import StrataJournal
import StrataTesting
import Testing

/// The `strata fs` and `fsadmin` commands against a real master, with the flags users of
/// Alluxio's shell expect.
@Suite struct FSShellTests {
    @Test func shellCommandsAgainstAMaster() async throws {
        try await ProcessHarness.with("fs-shell") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1)
            try await cluster.start(cluster.members[0], in: harness)
            func fs(_ arguments: String..., status expected: Int32 = 0) async throws -> String {
                let (status, output) = try await MasterHATests.cli(harness, cluster, arguments)
                #expect(status == expected, "strata \(arguments.joined(separator: " ")): \(output)")
                return output
            }
            #expect(try await fs("fs", "mkdir", "/a/b/c", "/x").contains("Successfully created directory /a/b/c"))
            #expect(try await fs("fs", "touch", "/a/b/f1", "/a/f2").contains("/a/f2 has been created"))
            let recursive = try await fs("fs", "ls", "-R", "-h", "/a")
            let listed = recursive.split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) ?? "" }
            #expect(listed == ["/a/b", "/a/b/c", "/a/b/f1", "/a/f2"], "\(recursive)")
            #expect(try await fs("fs", "ls", "/a").split(separator: "\n").count == 2)
            #expect(try await fs("fs", "stat", "/a/f2").contains("/a/f2 is a file path."))
            #expect(try await fs("fs", "count", "/a").contains("2                        2"))
            _ = try await fs("fs", "test", "-d", "/a/b")
            _ = try await fs("fs", "test", "-e", "/nope", status: 1)
            _ = try await fs("fs", "test", "-z", "/a/f2")
            #expect(try await fs("fs", "cat", "/a/b/f1").isEmpty, "a touched file is complete (one CreateFile) and reads as empty")
            #expect(try await fs("fs", "mv", "/a/f2", "/x").contains("Renamed /a/f2 to /x/f2"))
            _ = try await fs("fs", "test", "-f", "/x/f2")

            // rm of a non-empty directory needs -R, and says which path.
            #expect(try await fs("fs", "rm", "/a", status: 1).contains("/a"))
            #expect(try await fs("fs", "rm", "-R", "/a").contains("/a has been removed"))
            _ = try await fs("fs", "test", "-e", "/a", status: 1)

            // Mount another folder: its files appear; unmount hides them again.
            let other = harness.directory + "/other-ufs"
            try FileManager.default.createDirectory(atPath: other + "/sub", withIntermediateDirectories: true)
            try "0123456789".write(toFile: other + "/ten.txt", atomically: true, encoding: .utf8)
            #expect(try await fs("fs", "mount", "--readonly", "/mnt", other).contains("Mounted \(other) at /mnt"))
            let mounted = try await fs("fs", "ls", "/mnt")
            #expect(mounted.contains("/mnt/ten.txt") && mounted.contains("/mnt/sub"), "\(mounted)")
            #expect(try await fs("fs", "stat", "/mnt").contains("mountPoint:   true"))
            #expect(try await fs("fs", "du", "-s", "/mnt").contains("10"))
            #expect(try await fs("fs", "rm", "/mnt/ten.txt", status: 1).contains("read-only"))
            #expect(FileManager.default.fileExists(atPath: other + "/ten.txt"))
            #expect(try await fs("fs", "mount", "/mnt", other, status: 1).contains("/mnt"))
            #expect(try await fs("fs", "mount", "/gone", harness.directory + "/missing", status: 1).contains("missing"))
            #expect(try await fs("fs", "unmount", "/mnt").contains("Unmounted /mnt"))
            _ = try await fs("fs", "test", "-e", "/mnt", status: 1)

            let member = cluster.members[0]
            #expect(try await fs("fs", "leader") == member.rpc.description + "\n")
            #expect(try await fs("fs", "masterInfo").contains("Current leader master: \(member.rpc)"))
            let report = try await fs("fsadmin", "report")
            #expect(report.contains("Leader master: \(member.rpc)") && report.contains("Journal type: EMBEDDED"), "\(report)")
            #expect(report.contains("Cluster id: \(cluster.clusterID)"))
            // Bad input names what was wrong.
            #expect(try await fs("fs", "mkdir", "/bad/../path", status: 1).contains("/bad/../path"))
            #expect(try await fs("fs", "touch", "/no/parent/file", status: 1).contains("/no/parent"))
        }
    }
}

/// `strata formatMasters` formats every master listed in conf/masters with one cluster id.
@Suite struct FormatMastersTests {
    @Test func formatsEveryLocalMasterWithOneClusterID() async throws {
        try await ProcessHarness.with("format-masters") { harness in
            let conf = harness.directory + "/conf-ha"
            try FileManager.default.createDirectory(atPath: conf, withIntermediateDirectories: true)
            try "strata.master.mount.table.root.ufs=\(harness.directory)/ufs\n".write(toFile: conf + "/strata-site.properties", atomically: true, encoding: .utf8)
            var masters = "# three masters on this host, each with its own journal\n\n"
            for index in 1...3 {
                masters += "localhost  strata.master.rpc.port=\(19_000 + index)   strata.master.journal.folder=\(harness.directory)/m\(index)/journal  # m\(index)\n"
                // Something already there is erased.
                try FileManager.default.createDirectory(atPath: "\(harness.directory)/m\(index)/journal", withIntermediateDirectories: true)
                try "old".write(toFile: "\(harness.directory)/m\(index)/journal/leftover", atomically: true, encoding: .utf8)
            }
            try masters.write(toFile: conf + "/masters", atomically: true, encoding: .utf8)
            let format = try harness.start("strata", name: "format-masters", properties: [:], arguments: ["formatMasters"],
                                           environment: ["STRATA_CONF_DIR": conf])
            try #require(try await format.waitForExit() == 0, "\(format.log())")
            #expect(format.log().contains("Formatted 3 master journal(s) (cluster ids derived from the configured quorums)"), "\(format.log())")
            let identities = try (1...3).map { try JournalIdentity.read(from: "\(harness.directory)/m\($0)/journal") }
            #expect(Set(identities.map(\.clusterID)).count == 1)
            #expect(Set(identities.map(\.storageID)).count == 3)
            #expect(!FileManager.default.fileExists(atPath: "\(harness.directory)/m1/journal/leftover"))

            // A line with an unknown property is named by file and line; nothing is formatted.
            try (masters + "localhost strata.master.rpc.prot=1\n").write(toFile: conf + "/masters", atomically: true, encoding: .utf8)
            let bad = try harness.start("strata", name: "format-masters-bad", properties: [:], arguments: ["formatMasters"],
                                        environment: ["STRATA_CONF_DIR": conf])
            #expect(try await bad.waitForExit() != 0)
            #expect(bad.log().contains("unknown property strata.master.rpc.prot in \(conf)/masters:6"), "\(bad.log())")
            #expect(try JournalIdentity.read(from: "\(harness.directory)/m1/journal") == identities[0])
        }
    }

    /// `formatJournal -s`, run by every container and unit at each start: an empty journal is
    /// formatted once, a formatted one never again, and one holding files it cannot account for
    /// is refused rather than erased. Several processes sharing one (UFS) folder at once format it once.
    @Test func skipFormattedFormatsOnceAndNeverErases() async throws {
        try await ProcessHarness.with("format-skip") { harness in
            let folder = harness.directory + "/journal"
            func format(_ name: String, _ extra: [String: String] = [:]) throws -> TestProcess {
                try harness.start("strata", name: name, properties: ["strata.master.journal.folder": folder,
                                                                    "strata.master.mount.table.root.ufs": harness.directory] .merging(extra) { $1 },
                                  arguments: ["formatJournal", "--job", "-s"])
            }
            let first = try format("first")
            try #require(try await first.waitForExit() == 0, "\(first.log())")
            #expect(first.log().contains("Formatted journal \(folder) "), "\(first.log())")
            let identity = try JournalIdentity.read(from: folder)
            let jobIdentity = try JournalIdentity.read(from: folder + "/JobJournal")
            try "entries".write(toFile: folder + "/log-kept", atomically: true, encoding: .utf8)

            let again = try format("again")
            try #require(try await again.waitForExit() == 0, "\(again.log())")
            #expect(again.log().contains("Journal \(folder) is already formatted"), "\(again.log())")
            #expect(try JournalIdentity.read(from: folder) == identity)
            #expect(try JournalIdentity.read(from: folder + "/JobJournal") == jobIdentity)
            #expect(FileManager.default.fileExists(atPath: folder + "/log-kept"), "a formatted journal's files were erased")

            // Files but no identity (it was deleted or the volume holds something else): refused, kept.
            try FileManager.default.removeItem(atPath: folder + "/" + "journal.meta")
            let refused = try format("refused")
            #expect(try await refused.waitForExit() != 0)
            #expect(refused.log().contains("journal folder \(folder) holds log-kept but no journal identity: not formatting it"), "\(refused.log())")
            #expect(FileManager.default.fileExists(atPath: folder + "/log-kept"))

            // A damaged identity: refused too.
            try Data("not an identity".utf8).write(to: URL(fileURLWithPath: folder + "/JobJournal/journal.meta"))
            try FileManager.default.removeItem(atPath: folder + "/log-kept")
            let damaged = try harness.start("strata", name: "damaged", properties: ["strata.master.journal.folder": folder],
                                            arguments: ["formatJournal", "--job-only", "-s"])
            #expect(try await damaged.waitForExit() != 0)
            #expect(damaged.log().contains("not formatting it, since that would erase it"), "\(damaged.log())")

            // A fresh disk's lost+found and the empty folders of a format cut short hold nothing.
            let fresh = harness.directory + "/fresh"
            for name in ["lost+found", "logs", "epochs"] {
                try FileManager.default.createDirectory(atPath: fresh + "/" + name, withIntermediateDirectories: true)
            }
            try "x".write(toFile: fresh + "/lost+found/#1234", atomically: true, encoding: .utf8)
            let onFresh = try harness.start("strata", name: "format-fresh", properties: ["strata.master.journal.folder": fresh],
                                            arguments: ["formatJournal", "-s"])
            try #require(try await onFresh.waitForExit() == 0, "\(onFresh.log())")
            #expect(onFresh.log().contains("Formatted journal \(fresh) "), "\(onFresh.log())")

            // Four processes on one shared UFS journal folder at once: one formats it.
            let shared = harness.directory + "/shared-journal"
            let racers = try (0..<4).map { index in
                try harness.start("strata", name: "ufs-\(index)", properties: [
                    "strata.master.journal.folder": shared, "strata.master.journal.type": "UFS",
                    "strata.zookeeper.enabled": "true", "strata.zookeeper.address": "127.0.0.1:2181",
                    "strata.master.rpc.addresses": "a:19998,b:19998,c:19998"],
                    arguments: ["formatJournal", "-s"])
            }
            var formatted = 0
            for racer in racers {
                try #require(try await racer.waitForExit() == 0, "\(racer.log())")
                if racer.log().contains("Formatted UFS journal") { formatted += 1 }
            }
            #expect(formatted == 1, "\(racers.map { $0.log() })")
        }
    }
}
