import Foundation
import StrataCore
import StrataTesting
import Testing

/// bin/strata-start.sh and bin/strata-stop.sh: a local HA cluster (three masters, three job
/// masters and a worker on this host, from conf/masters and conf/workers) started, used, stopped
/// and started again.
@Suite struct ScriptTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Runs a bin/ script to completion (output to a file, waiting without blocking a thread).
    static func run(_ script: String, _ arguments: [String], conf: String) async throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repository + "/bin/" + script] + arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRATA_") }
        environment["STRATA_CONF_DIR"] = conf
        environment["STRATA_BIN_DIR"] = ProcessHarness.binaryDirectory
        process.environment = environment
        let outputPath = conf + "/../\(script)-\(UInt32.random(in: 0...UInt32.max)).out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try output.close()
        let deadline = ContinuousClock.now + .seconds(120)
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw HarnessError("\(script) \(arguments) did not finish within 120s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return (process.terminationStatus, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    @Test func localHAClusterStartsStopsAndRestarts() async throws {
        try await ProcessHarness.with("scripts") { harness in
            let ports = try await ProcessHarness.freePorts(21)
            let conf = harness.directory + "/conf"
            try FileManager.default.createDirectory(atPath: conf, withIntermediateDirectories: true)
            let journals = (0..<3).map { "127.0.0.1:\(ports[6 + $0])" }.joined(separator: ",")
            let rpcs = (0..<3).map { "127.0.0.1:\(ports[$0])" }.joined(separator: ",")
            let jobJournals = (0..<3).map { "127.0.0.1:\(ports[18 + $0])" }.joined(separator: ",")
            let jobRPCs = (0..<3).map { "127.0.0.1:\(ports[12 + $0])" }.joined(separator: ",")
            let site = """
            strata.work.dir=\(harness.directory)/shared
            strata.master.hostname=127.0.0.1
            strata.master.bind.host=127.0.0.1
            strata.master.embedded.journal.addresses=\(journals)
            strata.master.rpc.addresses=\(rpcs)
            strata.job.master.hostname=127.0.0.1
            strata.job.master.bind.host=127.0.0.1
            strata.job.master.embedded.journal.addresses=\(jobJournals)
            strata.job.master.rpc.addresses=\(jobRPCs)
            strata.job.master.worker.heartbeat.interval=200ms
            strata.master.mount.table.root.ufs=\(harness.directory)/ufs
            strata.worker.hostname=127.0.0.1
            strata.worker.bind.host=127.0.0.1
            strata.worker.tieredstore.level0.dirs.path=\(harness.directory)/ramdisk
            strata.worker.ramdisk.size=64MB
            strata.worker.block.heartbeat.interval=200ms

            """
            try site.write(toFile: conf + "/strata-site.properties", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: harness.directory + "/ufs", withIntermediateDirectories: true)
            var masters = "# three masters on this host\n"
            for index in 0..<3 {
                masters += "localhost strata.master.rpc.port=\(ports[index]) strata.master.web.port=\(ports[3 + index]) "
                    + "strata.master.embedded.journal.port=\(ports[6 + index]) strata.work.dir=\(harness.directory)/master\(index + 1) "
                    + "strata.job.master.rpc.port=\(ports[12 + index]) strata.job.master.web.port=\(ports[15 + index]) "
                    + "strata.job.master.embedded.journal.port=\(ports[18 + index])\n"
            }
            try masters.write(toFile: conf + "/masters", atomically: true, encoding: .utf8)
            try "localhost strata.worker.rpc.port=\(ports[9]) strata.worker.web.port=\(ports[10]) strata.job.worker.rpc.port=\(ports[11])\n"
                .write(toFile: conf + "/workers", atomically: true, encoding: .utf8)

            let (started, startOutput) = try await Self.run("strata-start.sh", ["local", "NoMount", "-f"], conf: conf)
            try #require(started == 0, "\(startOutput)")
            #expect(startOutput.components(separatedBy: "Started master-").count - 1 == 3, "\(startOutput)")
            #expect(startOutput.components(separatedBy: "Started job-master-").count - 1 == 3, "\(startOutput)")
            #expect(startOutput.contains("Starting the job service here"), "\(startOutput)")
            #expect(startOutput.contains("Started worker-\(ports[9])"))
            #expect(startOutput.contains("Leading master: 127.0.0.1:"))
            #expect(startOutput.contains("Leading job master: 127.0.0.1:"), "\(startOutput)")
            for index in 1...3 {
                #expect(FileManager.default.fileExists(atPath: "\(harness.directory)/master\(index)/logs/master-\(ports[index - 1]).log"))
            }

            let client = conf // the client reads the same site file
            let write = try harness.start("strata", name: "write", properties: [:], arguments: ["fs", "copyFromLocal", conf + "/masters", "/masters.txt"],
                                          environment: ["STRATA_CONF_DIR": client])
            #expect(try await write.waitForExit(timeout: .seconds(60)) == 0, "\(write.log())")
            // The worker runs the job-worker role too: a distributedLoad through the started job service completes.
            let load = try harness.start("strata", name: "load", properties: [:], arguments: ["fs", "distributedLoad", "/masters.txt"],
                                         environment: ["STRATA_CONF_DIR": client])
            #expect(try await load.waitForExit(timeout: .seconds(60)) == 0, "\(load.log())")
            #expect(load.log().contains("is COMPLETED"), "\(load.log())")

            let (stopped, stopOutput) = try await Self.run("strata-stop.sh", ["local"], conf: conf)
            #expect(stopped == 0, "\(stopOutput)")
            #expect(stopOutput.components(separatedBy: "Stopped ").count - 1 == 7, "\(stopOutput)")
            #expect(!FileManager.default.fileExists(atPath: "\(harness.directory)/master1/logs/master-\(ports[0]).pid"))

            // Started again without -f: the journal and the worker's blocks are still there.
            let (restarted, restartOutput) = try await Self.run("strata-start.sh", ["local"], conf: conf)
            try #require(restarted == 0, "\(restartOutput)")
            let read = try harness.start("strata", name: "read", properties: [:], arguments: ["fs", "cat", "/masters.txt"],
                                         environment: ["STRATA_CONF_DIR": client])
            #expect(try await read.waitForExit(timeout: .seconds(60)) == 0)
            #expect(read.log() == masters, "\(read.log())")
            let (stoppedAgain, stoppedAgainOutput) = try await Self.run("strata-stop.sh", ["all"], conf: conf)
            #expect(stoppedAgain == 0)
            #expect(stoppedAgainOutput.contains("Stopping the job service too"), "\(stoppedAgainOutput)")

            let (bad, badOutput) = try await Self.run("strata-start.sh", ["everything"], conf: conf)
            #expect(bad == 1)
            #expect(badOutput.contains("unknown argument 'everything'"))
        }
    }

    /// Two masters and a journal node from conf/masters and conf/journal-nodes: formatted
    /// together (one cluster id), started, in the quorum as a journal node, stopped.
    @Test func journalNodesStartAndStopFromTheirHostsFile() async throws {
        try await ProcessHarness.with("scripts-journal-node") { harness in
            let ports = try await ProcessHarness.freePorts(8)
            let conf = harness.directory + "/conf"
            try FileManager.default.createDirectory(atPath: conf, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: harness.directory + "/ufs", withIntermediateDirectories: true)
            let site = """
            strata.master.hostname=127.0.0.1
            strata.master.bind.host=127.0.0.1
            strata.master.embedded.journal.addresses=127.0.0.1:\(ports[4]),127.0.0.1:\(ports[5]),127.0.0.1:\(ports[6])
            strata.master.rpc.addresses=127.0.0.1:\(ports[0]),127.0.0.1:\(ports[1])
            strata.master.mount.table.root.ufs=\(harness.directory)/ufs
            strata.journal.node.hostname=127.0.0.1
            strata.journal.node.bind.host=127.0.0.1

            """
            try site.write(toFile: conf + "/strata-site.properties", atomically: true, encoding: .utf8)
            var masters = ""
            for index in 0..<2 {
                masters += "localhost strata.master.rpc.port=\(ports[index]) strata.master.web.port=\(ports[2 + index]) "
                    + "strata.master.embedded.journal.port=\(ports[4 + index]) strata.work.dir=\(harness.directory)/master\(index + 1)\n"
            }
            try masters.write(toFile: conf + "/masters", atomically: true, encoding: .utf8)
            try "# one journal node on this host\nlocalhost strata.master.embedded.journal.port=\(ports[6]) strata.journal.node.web.port=\(ports[7]) strata.work.dir=\(harness.directory)/jn1\n"
                .write(toFile: conf + "/journal-nodes", atomically: true, encoding: .utf8)

            let (started, startOutput) = try await Self.run("strata-start.sh", ["masters", "-f"], conf: conf)
            try #require(started == 0, "\(startOutput)")
            #expect(startOutput.contains("Formatted 2 master journal(s) and 1 journal node(s) (cluster ids derived from the configured quorums)"), "\(startOutput)")
            let (nodeStarted, nodeOutput) = try await Self.run("strata-start.sh", ["journal_nodes"], conf: conf)
            try #require(nodeStarted == 0, "\(nodeOutput)")
            #expect(nodeOutput.contains("Started journal-node-\(ports[7])"), "\(nodeOutput)")
            // The log is opened by the node's background shell, which may run after the script ends.
            try await eventually(10, "the journal node's log file") {
                FileManager.default.fileExists(atPath: "\(harness.directory)/jn1/logs/journal-node-\(ports[7]).log")
            }
            let deadline = ContinuousClock.now + .seconds(30)
            var quorum = ""
            repeat {
                let info = try harness.start("strata", name: "quorum-\(UInt32.random(in: 0...UInt32.max))", properties: [:],
                                             arguments: ["fsadmin", "journal", "quorum", "info"], environment: ["STRATA_CONF_DIR": conf])
                _ = try await info.waitForExit(timeout: .seconds(30))
                quorum = info.log()
                if quorum.split(separator: "\n").contains(where: { $0.hasPrefix("AVAILABLE") && $0.hasSuffix("127.0.0.1:\(ports[6]) (journal node)") }) { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < deadline
            #expect(quorum.contains("127.0.0.1:\(ports[6]) (journal node)") && quorum.contains("Quorum size\t: 3"), "\(quorum)")
            #expect(quorum.split(separator: "\n").contains { $0.hasPrefix("AVAILABLE") && $0.hasSuffix("(journal node)") }, "\(quorum)")

            // A backup, then the masters formatted and started again from it with -i.
            func cli(_ arguments: [String]) async throws -> (Int32, String) {
                let process = try harness.start("strata", name: "cli-\(UInt32.random(in: 0...UInt32.max))", properties: [:], arguments: arguments,
                                                environment: ["STRATA_CONF_DIR": conf])
                let status = try await process.waitForExit(timeout: .seconds(60))
                return (status, process.log())
            }
            #expect(try await cli(["fs", "mkdir", "/kept-by-the-backup"]).0 == 0)
            let (backedUp, backup) = try await cli(["fsadmin", "backup"])
            #expect(backedUp == 0, "\(backup)")
            let file = try #require(backup.split(separator: "\n").first { $0.hasPrefix("Backup complete: ") }.map { String($0.dropFirst("Backup complete: ".count)) })
            for action in ["journal_nodes", "masters"] {
                let (stopped, stopOutput) = try await Self.run("strata-stop.sh", [action], conf: conf)
                #expect(stopped == 0, "\(stopOutput)")
            }
            // formatMasters formats the journal node too; it is started again after the masters.
            let (restarted, restartOutput) = try await Self.run("strata-start.sh", ["masters", "-f", "-i", file], conf: conf)
            try #require(restarted == 0, "\(restartOutput)")
            let (nodeRestarted, nodeRestartOutput) = try await Self.run("strata-start.sh", ["journal_nodes"], conf: conf)
            try #require(nodeRestarted == 0, "\(nodeRestartOutput)")
            let deadline2 = ContinuousClock.now + .seconds(30)
            var listing = ""
            repeat {
                listing = try await cli(["fs", "ls", "/"]).1
                if listing.contains("/kept-by-the-backup") { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < deadline2
            #expect(listing.contains("/kept-by-the-backup"), "the masters started with -i did not restore the backup: \(listing)")

            let (nodeStopped, nodeStopOutput) = try await Self.run("strata-stop.sh", ["journal_nodes"], conf: conf)
            #expect(nodeStopped == 0 && nodeStopOutput.contains("Stopped journal-node-\(ports[7])"), "\(nodeStopOutput)")
            let (stopped, stopOutput) = try await Self.run("strata-stop.sh", ["masters"], conf: conf)
            #expect(stopped == 0 && stopOutput.components(separatedBy: "Stopped master-").count - 1 == 2, "\(stopOutput)")
        }
    }

    @Test func theConfigurationTemplateIsValid() async throws {
        try await ProcessHarness.with("template") { harness in
            let conf = harness.directory + "/conf"
            try FileManager.default.createDirectory(atPath: conf, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Self.repository + "/conf/strata-site.properties.template", toPath: conf + "/strata-site.properties")
            let check = try harness.start("strata", name: "getconf", properties: [:], arguments: ["getConf", "strata.worker.tieredstore.level0.dirs.path"],
                                          environment: ["STRATA_CONF_DIR": conf])
            #expect(try await check.waitForExit() == 0, "\(check.log())")
            #expect(check.log() == "/mnt/ramdisk\n")
            let masters = try HostsFile.read(Self.repository + "/conf/masters")
            #expect(masters.entries.map(\.host) == ["localhost"])
        }
    }
}

extension ScriptTests {
    @Test func copyDirSkipsThisMachineAndNamesHostsItCannotReach() async throws {
        try await ProcessHarness.with("copydir") { harness in
            let conf = harness.directory + "/conf"
            try FileManager.default.createDirectory(atPath: conf, withIntermediateDirectories: true)
            try "localhost\n".write(toFile: conf + "/masters", atomically: true, encoding: .utf8)
            try "localhost\nno-such-host.invalid\n".write(toFile: conf + "/workers", atomically: true, encoding: .utf8)
            let copy = try harness.start("strata", name: "copydir", properties: [:], arguments: ["copyDir", conf],
                                         environment: ["STRATA_CONF_DIR": conf])
            #expect(try await copy.waitForExit(timeout: .seconds(60)) == 1)
            let log = copy.log()
            #expect(log.contains("Skipping localhost: this machine"), "\(log)")
            #expect(log.contains("RSYNC'ing \(conf) to no-such-host.invalid"), "\(log)")
            #expect(log.contains("copying \(conf) failed for no-such-host.invalid"), "\(log)")
        }
    }
}
