import Foundation
import NIOConcurrencyHelpers
import StrataClient
import StrataCore
import StrataTesting
import StrataWire
import Testing

/// Journal nodes (`strata-journal-node`): voting members of the MASTER quorum that keep the log
/// and run no master. Two masters and one journal node tolerate any single failure.
@Suite struct JournalNodeTests {
    /// The names under `path` as the master at `web` sees them (a standby answers from its own
    /// replicated namespace).
    static func names(web: Int, path: String) async throws -> Set<String> {
        let listing = try await WebUITests.json("http://127.0.0.1:\(web)/api/v1/browse?path=\(path)")
        return Set((listing["entries"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
    }

    /// The journal node's report of its MASTER member.
    static func report(_ node: MasterCluster.Member) async throws -> [String: Any] {
        let (status, body) = try await WebUITests.get("http://127.0.0.1:\(node.web)/api/v1/journal")
        guard status == 200, let reports = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]],
              let master = reports.first(where: { $0["domain"] as? String == "MASTER" }) else {
            throw HarnessError("journal node \(node.name): \(status) \(body)")
        }
        return master
    }

    static func masterInfo(_ member: MasterCluster.Member) async -> MasterInfo? {
        let client = RPCClient(address: member.rpc, frameSizeMaxBytes: 1 << 20, connectTimeout: .milliseconds(300))
        let info = try? await client.call(FileSystemMethods.getMasterInfo, GetServiceInfoRequest(), deadline: .seconds(2))
        await client.close()
        return info
    }

    /// Two masters and a journal node, formatted and started, and a client of the masters.
    static func started(_ harness: ProcessHarness, extra: [String: String] = [:]) async throws
        -> (MasterCluster, [String: TestProcess], FileSystemClient) {
        let cluster = try await MasterCluster.prepare(harness, count: 2, journalNodes: 1, extra: extra)
        var processes: [String: TestProcess] = [:]
        for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
        for node in cluster.journalNodes { processes[node.name] = try await cluster.startJournalNode(node, in: harness) }
        return (cluster, processes, try MasterHATests.client(cluster))
    }

    /// Waits until `condition` holds, polling.
    static func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("\(what) did not happen within \(timeout)")
    }

    /// Creates files under /load from four tasks until stopped; every create the client
    /// acknowledged is recorded, every failure too.
    final class Writer: Sendable {
        let acknowledged = NIOLockedValueBox<[String]>([])
        let failures = NIOLockedValueBox<[String]>([])
        let stopped = NIOLockedValueBox(false)

        func run(_ client: FileSystemClient) async {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var index = 0
                        while !self.stopped.withLockedValue({ $0 }) {
                            let name = "w\(worker)-\(index)"
                            index += 1
                            do {
                                _ = try await client.createFile("/load/" + name)
                                self.acknowledged.withLockedValue { $0.append(name) }
                            } catch {
                                self.failures.withLockedValue { $0.append("\(name): \(error)") }
                            }
                        }
                    }
                }
            }
        }

        var count: Int { acknowledged.withLockedValue { $0.count } }

        /// Waits until `more` creates beyond those acknowledged now are acknowledged.
        func waitFor(_ more: Int, _ what: String) async throws {
            let target = count + more
            try await JournalNodeTests.waitUntil("\(more) more acknowledged creates \(what)") { self.count >= target }
        }
    }

    /// Under a steady write load, kill -9 each of the three members in turn (restarting it each
    /// time): writes go on, and every acknowledged create is on both masters; the journal node's
    /// log stays bounded by the snapshots the leader ships it.
    @Test func twoMastersAndAJournalNodeSurviveAnySingleKill() async throws {
        try await ProcessHarness.with("journal-node-kills") { harness in
            let (cluster, started, client) = try await Self.started(harness, extra: ["strata.master.journal.checkpoint.period.entries": "100"])
            var processes = started
            let node = cluster.journalNodes[0]
            _ = try await client.createDirectory("/load")
            let writer = Writer()
            let writing = Task { await writer.run(client) }

            for (round, victim) in (cluster.members + [node]).enumerated() {
                try await writer.waitFor(40, "before \(victim.name) is killed")
                processes[victim.name]!.kill()
                try await writer.waitFor(40, "with \(victim.name) down")
                processes[victim.name] = victim.name.hasPrefix("journalnode")
                    ? try await cluster.startJournalNode(victim, in: harness, suffix: "-round\(round)")
                    : try await cluster.start(victim, in: harness, suffix: "-round\(round)")
                // Back in the quorum and caught up before the next member goes down.
                let leader = try await cluster.leader()
                try await writer.waitFor(20, "after \(victim.name) restarted")
                let target = try #require(await Self.masterInfo(leader)).commitIndex
                if victim.name == node.name {
                    try await Self.waitUntil("the journal node catching up to \(target)") {
                        (try await Self.report(node)["appliedIndex"] as? Int ?? 0) >= Int(target)
                    }
                } else {
                    try await Self.waitUntil("\(victim.name) catching up to \(target)") {
                        (await Self.masterInfo(victim)?.appliedIndex ?? 0) >= target
                    }
                }
                print("journal node test: \(victim.name) killed and restarted; \(writer.count) creates acknowledged")
            }
            writer.stopped.withLockedValue { $0 = true }
            await writing.value
            #expect(writer.failures.withLockedValue { $0 } == [], "creates failed across the kills")

            let acknowledged = Set(writer.acknowledged.withLockedValue { $0 })
            let leader = try await cluster.leader()
            let commit = try #require(await Self.masterInfo(leader)).commitIndex
            for member in cluster.members {
                try await Self.waitUntil("\(member.name) applying \(commit)") { (await Self.masterInfo(member)?.appliedIndex ?? 0) >= commit }
                let names = try await Self.names(web: member.web, path: "/load")
                #expect(names == acknowledged, "\(member.name): \(acknowledged.subtracting(names).count) acknowledged creates missing, \(names.subtracting(acknowledged).count) extra")
            }
            let report = try await Self.report(node)
            let snapshotIndex = report["snapshotIndex"] as? Int ?? 0, lastIndex = report["lastIndex"] as? Int ?? 0
            #expect(report["role"] as? String == "FOLLOWER", "\(report)")
            #expect(snapshotIndex > 0 && lastIndex - snapshotIndex < 1_000, "the journal node's log is not bounded by shipped snapshots: \(report)")
            #expect(processes[node.name]!.log().contains("journal opened"))
            let masterLogs = harness.runningProcesses(named: "master").map { $0.log() }.joined()
            #expect(masterLogs.contains("shipped snapshot"), "no leader shipped a snapshot to the journal node")

            // Its web port: a status page, /health, metrics.
            let page = try await WebUITests.chromium(["--dump-dom", "http://127.0.0.1:\(node.web)/"])
            #expect(page.contains("Strata journal node") && page.contains("MASTER quorum") && page.contains(">FOLLOWER<"), "\(page.prefix(3000))")
            #expect(try await WebUITests.get("http://127.0.0.1:\(node.web)/health") == (200, "OK\n"))
            #expect(try await WebUITests.get("http://127.0.0.1:\(node.web)/metrics").1.contains("strata_journal_applied_index"))

            // The quorum report marks the journal node.
            let (status, quorum) = try await MasterHATests.cli(harness, cluster, ["fsadmin", "journal", "quorum", "info"])
            #expect(status == 0 && quorum.contains("\(node.journal) (journal node)") && quorum.contains("Quorum size\t: 3"), "\(quorum)")
            await client.close()
        }
    }

    /// Both masters stopped; the journal node holds entries one of them lacks. That master,
    /// restarted alone beside the journal node, catches up from it (the journal node leads just
    /// long enough to hand leadership over) and serves every file.
    @Test func aMasterCatchesUpFromTheJournalNode() async throws {
        try await ProcessHarness.with("journal-node-catch-up") { harness in
            let (cluster, started, client) = try await Self.started(harness)
            var processes = started
            let node = cluster.journalNodes[0]
            _ = try await client.createDirectory("/a")
            for index in 0..<20 { _ = try await client.createFile("/a/before-\(index)") }

            let leader = try await cluster.leader()
            let behind = cluster.members.first { $0.name != leader.name }!
            processes[behind.name]!.kill()
            // Acknowledged by the leader and the journal node only.
            for index in 0..<50 { _ = try await client.createFile("/a/while-down-\(index)") }
            _ = try await processes[leader.name]!.stop()

            processes[behind.name] = try await cluster.start(behind, in: harness, suffix: "-alone")
            let newLeader = try await cluster.leader(timeout: .seconds(30))
            #expect(newLeader.name == behind.name)
            let names = try await client.list("/a").map(\.name)
            #expect(Set(names) == Set((0..<20).map { "before-\($0)" } + (0..<50).map { "while-down-\($0)" }), "\(names.count) files")
            let nodeLog = processes[node.name]!.log()
            #expect(nodeLog.contains("role LEADER"), "the journal node never led, so it did not hand over: \(nodeLog.suffix(2000))")
            let report = try await Self.report(node)
            #expect(report["role"] as? String == "FOLLOWER", "\(report)")
            await client.close()
        }
    }

    /// A journal node whose disk was wiped (formatted again: another storage id) is refused as
    /// the member it was, with a line telling the operator what to do; once removed from the
    /// quorum it joins as a new member and counts again.
    @Test func aWipedJournalNodeIsRefusedUntilRemovedAndAddedAgain() async throws {
        try await ProcessHarness.with("journal-node-wiped") { harness in
            let (cluster, started, client) = try await Self.started(harness)
            var processes = started
            let node = cluster.journalNodes[0]
            for index in 0..<20 { _ = try await client.createFile("/f\(index)") }

            _ = try await processes[node.name]!.stop()
            let format = try harness.start("strata", name: "journalnode-reformat", properties: node.properties, arguments: ["formatJournal", "--journal-node"])
            #expect(try await format.waitForExit() == 0, "\(format.log())")
            let refused = try harness.start("strata-journal-node", name: node.name + "-wiped", properties: node.properties)
            #expect(try await refused.waitForExit(timeout: .seconds(30)) != 0, "a wiped journal node started as the member it was")
            #expect(refused.log().contains("its disk was wiped or replaced") && refused.log().contains("quorum remove -domain MASTER -address \(node.journal)"),
                    "\(refused.log().suffix(2000))")

            let (removeStatus, removed) = try await MasterHATests.cli(harness, cluster, ["fsadmin", "journal", "quorum", "remove", "-domain", "MASTER", "-address", node.journal.description])
            #expect(removeStatus == 0, "\(removed)")
            processes[node.name] = try await cluster.startJournalNode(node, in: harness, suffix: "-added")
            try await Self.waitUntil("the journal node voting again") {
                let (status, quorum) = try await MasterHATests.cli(harness, cluster, ["fsadmin", "journal", "quorum", "info"])
                let line = quorum.split(separator: "\n").first { $0.contains("(journal node)") }
                return status == 0 && quorum.contains("Quorum size\t: 3") && line?.contains("| yes") == true
            }
            // It counts: with one master down, the other and the journal node still commit.
            let leader = try await cluster.leader()
            let standby = cluster.members.first { $0.name != leader.name }!
            processes[standby.name]!.kill()
            for index in 0..<10 { _ = try await client.createFile("/after-\(index)") }
            #expect(try await client.list("/").count == 30)
            await client.close()
        }
    }

    /// A journal node in the JOB_MASTER quorum of a job-service-only deployment: two job masters
    /// and the journal node; the leading job master killed mid-copy, the other (with the journal
    /// node's vote) finishes the job.
    @Test func aJournalNodeVotesInTheJobMasterQuorum() async throws {
        try await ProcessHarness.with("journal-node-jobs") { harness in
            let cluster = try await JobMasterCluster.prepare(harness, count: 2, journalNodes: 1)
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            try await cluster.startJournalNode(cluster.journalNodes[0], in: harness)
            let worker = try await WorkerNode.prepare(harness, clientProperties: cluster.clientProperties, name: "worker1",
                                                      extra: ["strata.worker.block.enabled": "false", "strata.job.worker.threadpool.size": "2"])
            let workerProcess = try await worker.start(in: harness)
            let source = harness.directory + "/in", destination = harness.directory + "/out"
            let expected = try JobServiceTests.writeFiles(source, count: 60, size: 100_000)
            let client = try JobServiceTests.jobClient(cluster)
            let (status, output) = try await JobServiceTests.cli(harness, cluster.clientProperties,
                                                                 ["job", "copy", "--batch-size", "1", "--active-jobs", "1", "--async", source, destination])
            #expect(status == 0, "\(output)")
            let jobID = try JobServiceTests.submittedJob(output)
            _ = try await JobServiceTests.waitFor(client, job: jobID) { $0.filesDone >= 5 }
            // The job worker is held (SIGSTOP) across the fail-over, so the job cannot end before
            // the new leader has it; then it goes on.
            workerProcess.signal(SIGSTOP)
            let leader = try await cluster.leader()
            processes[leader.name]!.kill()
            let newLeader = try await cluster.leader(excluding: [leader.name])
            #expect(newLeader.name != leader.name)
            #expect(try await client.status(jobID).filesDone < 60, "the job ended before the leader was killed; the test proves nothing")
            workerProcess.signal(SIGCONT)
            let done = try await JobServiceTests.waitFor(client, job: jobID) { $0.status.isFinished }
            #expect(done.status == .completed && done.filesDone == 60, "\(done.status) \(done.error)")
            #expect(try JobServiceTests.digests(destination) == expected)
            let (quorumStatus, quorum) = try await JobServiceTests.cli(harness, cluster.clientProperties,
                                                                       ["fsadmin", "journal", "quorum", "info", "-domain", "JOB_MASTER"])
            #expect(quorumStatus == 0 && quorum.contains("\(cluster.journalNodes[0].journal) (journal node)"), "\(quorum)")
            await client.close()
        }
    }

    /// The journal addresses list the masters first, then the journal nodes: a master configured
    /// among the journal nodes, and a journal node paired with an RPC address, refuse to start
    /// and say how to order the list.
    @Test func misplacedMembersRefuseToStart() async throws {
        try await ProcessHarness.with("journal-node-order") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 2, journalNodes: 1)
            var master = cluster.members[1].properties
            master["strata.master.rpc.addresses"] = cluster.members[0].rpc.description
            let refusedMaster = try harness.start("strata-master", name: "misplaced-master", properties: master)
            #expect(try await refusedMaster.waitForExit(timeout: .seconds(30)) != 0)
            #expect(refusedMaster.log().contains("is among the journal nodes") && refusedMaster.log().contains("list the masters first"), "\(refusedMaster.log())")
            var node = cluster.journalNodes[0].properties
            node["strata.master.rpc.addresses"] = (cluster.members.map(\.rpc.description) + ["127.0.0.1:1"]).joined(separator: ",")
            let refusedNode = try harness.start("strata-journal-node", name: "misplaced-node", properties: node)
            #expect(try await refusedNode.waitForExit(timeout: .seconds(30)) != 0)
            #expect(refusedNode.log().contains("is not among the journal nodes"), "\(refusedNode.log())")
        }
    }
}
