import Foundation
import StrataClient
import StrataCore
import StrataJournal
import StrataTesting
import StrataWire
import Testing

/// High availability on the UFS journal: real master processes sharing a journal folder, a real
/// ZooKeeper server (Debian's package) electing the leader.
@Suite(.serialized) struct UFSJournalTests {
    static func client(_ cluster: MasterCluster) throws -> FileSystemClient {
        // A short attempt deadline: a paused leader must not hold a call for long.
        var overrides: [PropertyKey: String] = [.userRpcRetryMaxDuration: "60s", .userRpcDeadline: "3s"]
        for (name, value) in cluster.clientProperties {
            if let key = PropertyKey.named(name) { overrides[key] = value }
        }
        let configuration = try Configuration.defaults(overrides: overrides)
        return FileSystemClient(locator: try MasterLocator.configured(configuration), configuration: configuration)
    }

    static func info(_ member: MasterCluster.Member) async -> MasterInfo? {
        let client = RPCClient(address: member.rpc, frameSizeMaxBytes: 1 << 20, connectTimeout: .milliseconds(500))
        let info = try? await client.call(FileSystemMethods.getMasterInfo, GetServiceInfoRequest(), deadline: .seconds(2))
        await client.close()
        return info
    }

    static func waitForApplied(_ member: MasterCluster.Member, atLeast index: UInt64, timeout: Duration = .seconds(30)) async throws -> MasterInfo {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let info = await info(member), info.appliedIndex >= index { return info }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("\(member.name) did not apply index \(index) within \(timeout)")
    }

    /// The journal's valid records, read as a standby reads them (what `readJournal` prints).
    static func records(_ cluster: MasterCluster) throws -> [(epoch: UInt64, index: UInt64)] {
        let folder = cluster.members[0].properties["strata.master.journal.folder"]!
        let identity = try JournalIdentity.read(from: folder)
        let journal = UFSJournalFolder(folder: folder, identity: identity)
        return try journal.validRecords().map { ($0.term, $0.index) }
    }

    @Test func failoverWalkthroughOnTheUFSJournal() async throws {
        try await ProcessHarness.with("ufs-failover") { harness in
            let zooKeeper = try await ZooKeeperEnsemble.start(harness)
            let cluster = try await MasterCluster.prepareUFS(harness, count: 3, zooKeeper: zooKeeper)
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let leader = try await cluster.leader()
            // A worker finds the masters through ZooKeeper and reports to each.
            let worker = try await WorkerNode.prepare(harness, cluster: cluster)
            try await worker.start(in: harness)
            let client = try Self.client(cluster)
            #expect(try await client.currentLeader() == leader.rpc)
            let bytes = DataPathTests.bytes(3 << 20, seed: 7)
            try await DataPathTests.write(client, "/data/blob", bytes, .cacheThrough)
            _ = try await client.createDirectory("/data/logs", recursive: true)
            for index in 0..<20 {
                _ = try await client.createFile("/data/logs/f\(index)")
                _ = try await client.completeFile("/data/logs/f\(index)", lengthBytes: Int64(index))
            }
            // A standby answers with NOT_LEADER and the leader's address from ZooKeeper.
            let standby = cluster.members.first { $0.name != leader.name }!
            let direct = RPCClient(address: standby.rpc, frameSizeMaxBytes: 1 << 20)
            let refused = await #expect(throws: RPCError.self) { try await direct.call(FileSystemMethods.getStatus, PathRequest(path: "/data")) }
            #expect(refused?.code == .notLeader)
            #expect(refused?.leaderHint == leader.rpc.description)
            await direct.close()
            // Standbys tail the log.
            let leaderInfo = try #require(await Self.info(leader))
            #expect(leaderInfo.journalType == "UFS")
            #expect(leaderInfo.zooKeeperAddress == zooKeeper.connectString)
            #expect(leaderInfo.masters.count == 3)
            _ = try await Self.waitForApplied(standby, atLeast: leaderInfo.appliedIndex)

            processes[leader.name]!.kill()
            let killedAt = ContinuousClock.now
            let newLeader = try await cluster.leader(excluding: [leader.name], timeout: .seconds(30))
            print("UFS failover: \(leader.rpc) killed, \(newLeader.rpc) leads after \(ContinuousClock.now - killedAt)")
            let listed = try await client.list("/data/logs")
            #expect(listed.map(\.name).sorted() == (0..<20).map { "f\($0)" }.sorted())
            #expect(try await client.status("/data/logs/f7").lengthBytes == 7)
            #expect(try await DataPathTests.read(client, "/data/blob") == bytes, "cached blocks are found through the new leader")
            for index in 0..<10 { _ = try await client.createFile("/data/after-\(index)") }
            let newInfo = try #require(await Self.info(newLeader))
            #expect(newInfo.term > leaderInfo.term, "a new leader takes a new epoch")

            // The killed master comes back as a standby and catches up.
            processes[leader.name] = try await cluster.start(leader, in: harness, suffix: "-restarted")
            let caughtUp = try await Self.waitForApplied(leader, atLeast: newInfo.appliedIndex)
            #expect(caughtUp.thisRole == "STANDBY")
            #expect(caughtUp.inodeCount == newInfo.inodeCount)

            // Every record is in sequence, epochs never go back.
            let records = try Self.records(cluster)
            #expect(records.map(\.index) == Array(1...UInt64(records.count)))
            #expect(zip(records, records.dropFirst()).allSatisfy { $0.epoch <= $1.epoch })

            // The shell finds the leader through a strata://zk@… authority and shows ZooKeeper.
            let shellProperties = ["strata.home": harness.directory + "/shell"]
            let shell = try harness.start("strata", name: "shell-leader", properties: shellProperties,
                                          arguments: ["fs", "leader", "strata://zk@\(zooKeeper.connectString.replacingOccurrences(of: ",", with: ";"))/"])
            #expect(try await shell.waitForExit(timeout: .seconds(30)) == 0, "\(shell.log())")
            #expect(shell.log().contains(newLeader.rpc.description), "\(shell.log())")
            #expect(shell.log().contains("ZooKeeper address: \(zooKeeper.connectString)"), "\(shell.log())")
            let report = try harness.start("strata", name: "shell-report", properties: cluster.clientProperties.merging(shellProperties) { $1 },
                                           arguments: ["fsadmin", "report"])
            #expect(try await report.waitForExit(timeout: .seconds(30)) == 0, "\(report.log())")
            #expect(report.log().contains("Journal type: UFS"), "\(report.log())")
            #expect(report.log().contains("ZooKeeper address: \(zooKeeper.connectString)"), "\(report.log())")
            await client.close()
        }
    }

    /// A leader whose process is gone (kill -9: its RPC port refuses connections) is replaced
    /// well before its ZooKeeper session would expire: the standby behind it removes its election
    /// node. A paused leader (SIGSTOP: its port still accepts connections) is not replaced: it is
    /// waited out as before, and leads on when it resumes within its session.
    @Test func aLeaderWhoseProcessIsGoneIsReplacedBeforeItsSessionExpires() async throws {
        try await ProcessHarness.with("ufs-gone-leader") { harness in
            let zooKeeper = try await ZooKeeperEnsemble.start(harness)
            let sessionTimeout = Duration.seconds(30)
            let (cluster, processes, leader) = try await Self.startCluster(harness, zooKeeper, count: 2, sessionTimeout: sessionTimeout)
            let standby = cluster.members.first { $0.name != leader.name }!
            let client = try Self.client(cluster)
            _ = try await client.createFile("/before")

            processes[leader.name]!.signal(SIGSTOP)
            try await Task.sleep(for: .seconds(3))
            #expect(await Self.info(standby)?.thisRole == "STANDBY", "a paused leader was replaced before its session expired")
            processes[leader.name]!.signal(SIGCONT)
            _ = try await client.createFile("/after-pause")
            #expect(await Self.info(standby)?.thisRole == "STANDBY", "the resumed leader leads on")

            processes[leader.name]!.kill()
            let killedAt = ContinuousClock.now
            // Well inside the session timeout: without the check this waits for the session.
            let newLeader = try await cluster.leader(excluding: [leader.name], timeout: sessionTimeout / 2)
            let took = ContinuousClock.now - killedAt
            print("UFS journal: \(leader.rpc) killed, \(newLeader.rpc) leads after \(took) (session timeout \(sessionTimeout))")
            #expect(newLeader.name == standby.name)
            _ = try await client.createFile("/after-kill")
            #expect(try await client.list("/").map(\.name).sorted() == ["after-kill", "after-pause", "before"])
            await client.close()
        }
    }

    /// Starts `count` UFS masters and returns them with their processes and the leader.
    static func startCluster(_ harness: ProcessHarness, _ zooKeeper: ZooKeeperEnsemble, count: Int, policy: String = "SESSION",
                             sessionTimeout: Duration = .seconds(3), extra: [String: String] = [:])
        async throws -> (MasterCluster, [String: TestProcess], MasterCluster.Member) {
        let cluster = try await MasterCluster.prepareUFS(harness, count: count, zooKeeper: zooKeeper, sessionTimeout: sessionTimeout,
                                                         policy: policy, extra: extra)
        var processes: [String: TestProcess] = [:]
        for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
        return (cluster, processes, try await cluster.leader(timeout: .seconds(30)))
    }

    @Test func zooKeeperRestartedWhileMastersRun() async throws {
        try await ProcessHarness.with("ufs-zk-restart") { harness in
            let zooKeeper = try await ZooKeeperEnsemble.start(harness)
            // SESSION policy: a restart shorter than the session timeout keeps the same leader
            // and epoch (the session is recovered).
            let (cluster, _, leader) = try await Self.startCluster(harness, zooKeeper, count: 2, sessionTimeout: .seconds(8))
            let client = try Self.client(cluster)
            _ = try await client.createDirectory("/before")
            let before = try #require(await Self.info(leader))
            zooKeeper.kill(1)
            try await Task.sleep(for: .seconds(1))
            try await zooKeeper.restart(1)
            _ = try await client.createDirectory("/after")
            let after = try #require(await Self.info(leader))
            #expect(after.thisRole == "LEADER")
            #expect(after.term == before.term, "the same session, the same epoch")
            #expect(try await client.exists("/before"))
            await client.close()
        }
    }

    @Test func standardPolicyStepsDownOnAnyInterruption() async throws {
        try await ProcessHarness.with("ufs-standard") { harness in
            let zooKeeper = try await ZooKeeperEnsemble.start(harness)
            let (cluster, _, leader) = try await Self.startCluster(harness, zooKeeper, count: 2, policy: "STANDARD", sessionTimeout: .seconds(8))
            let client = try Self.client(cluster)
            _ = try await client.createDirectory("/before")
            let before = try #require(await Self.info(leader))
            zooKeeper.kill(1)
            // The leader stops serving as soon as it notices, long before its session could expire.
            let deadline = ContinuousClock.now + .seconds(6)
            var stepped = false
            while ContinuousClock.now < deadline && !stepped {
                stepped = await Self.info(leader).map { $0.thisRole != "LEADER" } ?? false
                if !stepped { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(stepped, "a STANDARD leader steps down on a disconnection")
            try await zooKeeper.restart(1)
            // It queued again behind the other master, which now leads in a newer epoch.
            let next = try await cluster.leader(timeout: .seconds(30))
            _ = try await client.createDirectory("/after")
            let after = try #require(await Self.info(next))
            #expect(after.term > before.term)
            #expect(next.name != leader.name)
            #expect(try await client.exists("/before"))
            await client.close()
        }
    }

    /// A leader paused past its session timeout under each policy: the other master takes a new
    /// epoch; when the paused one resumes, whatever it had queued is refused, it steps down, and
    /// the journal holds no record of its epoch after the new epoch began.
    @Test(arguments: ["SESSION", "STANDARD"])
    func pausedLeaderIsFencedAndStepsDown(policy: String) async throws {
        try await ProcessHarness.with("ufs-paused-\(policy)") { harness in
            let zooKeeper = try await ZooKeeperEnsemble.start(harness)
            let (cluster, processes, leader) = try await Self.startCluster(harness, zooKeeper, count: 2, policy: policy, sessionTimeout: .seconds(2))
            let client = try Self.client(cluster)
            for index in 0..<10 { _ = try await client.createFile("/before-\(index)") }
            let oldEpoch = try #require(await Self.info(leader)).term

            processes[leader.name]!.signal(SIGSTOP)
            // Requests sent to the paused leader wait in its socket until it resumes.
            let direct = RPCClient(address: leader.rpc, frameSizeMaxBytes: 1 << 20)
            let queued = Task {
                var outcomes: [Bool] = []
                for index in 0..<5 {
                    let request = CreateFileRequest(path: "/queued-\(index)", recursive: false, blockSizeBytes: 0,
                                                    operation: OperationIdentifier(client: 77, sequence: UInt64(index + 1)))
                    outcomes.append((try? await direct.call(FileSystemMethods.createFile, request, deadline: .seconds(60))) != nil)
                }
                return outcomes
            }
            let next = try await cluster.leader(excluding: [leader.name], timeout: .seconds(30))
            for index in 0..<10 { _ = try await client.createFile("/after-\(index)") }
            let newEpoch = try #require(await Self.info(next)).term
            #expect(newEpoch > oldEpoch)

            processes[leader.name]!.signal(SIGCONT)
            let outcomes = await queued.value
            #expect(outcomes == [false, false, false, false, false], "a deposed leader acknowledges nothing")
            // It notices and becomes a standby that follows the new leader.
            let deadline = ContinuousClock.now + .seconds(20)
            var role = ""
            while ContinuousClock.now < deadline {
                role = await Self.info(leader)?.thisRole ?? ""
                if role == "STANDBY" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(role == "STANDBY")
            _ = try await Self.waitForApplied(leader, atLeast: try #require(await Self.info(next)).appliedIndex)
            for index in 0..<5 { #expect(try await !client.exists("/queued-\(index)")) }

            let records = try Self.records(cluster)
            let firstNew = try #require(records.first { $0.epoch == newEpoch })
            #expect(!records.contains { $0.epoch == oldEpoch && $0.index > firstNew.index }, "no record of the old epoch after the new one began")
            #expect(records.map(\.index) == Array(1...UInt64(records.count)))
            await direct.close()
            await client.close()
        }
    }

    /// Checkpoints written by the standby remove the logs they cover; a standby that was down
    /// through all of it catches up from the checkpoint; a whole-cluster restart starts from it.
    @Test func checkpointsLogGarbageCollectionAndCatchUpAfterAnOutage() async throws {
        try await ProcessHarness.with("ufs-checkpoint") { harness in
            let zooKeeper = try await ZooKeeperEnsemble.start(harness)
            var (cluster, processes, leader) = try await Self.startCluster(harness, zooKeeper, count: 3, extra: [
                "strata.master.journal.checkpoint.period.entries": "100",
                "strata.master.journal.log.size.bytes.max": "4KB",
            ])
            let client = try Self.client(cluster)
            let absent = cluster.members.first { $0.name != leader.name }!
            _ = try await processes[absent.name]!.stop()
            for index in 0..<400 { _ = try await client.createFile("/f\(index)") }
            let folder = cluster.members[0].properties["strata.master.journal.folder"]!
            let applied = try #require(await Self.info(leader)).appliedIndex
            // The remaining standby checkpoints and removes the logs its checkpoints cover.
            let deadline = ContinuousClock.now + .seconds(20)
            var checkpoints: [String] = []
            var logs: [String] = []
            while ContinuousClock.now < deadline {
                checkpoints = try FileManager.default.contentsOfDirectory(atPath: folder + "/checkpoints").filter { $0.hasSuffix(".snap") }
                logs = try FileManager.default.contentsOfDirectory(atPath: folder + "/logs")
                if checkpoints.count == 2 && !logs.contains(where: { $0.hasPrefix("log-00000000000000000001-") }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(checkpoints.count == 2, "\(checkpoints)")
            #expect(!logs.contains { $0.hasPrefix("log-00000000000000000001-") }, "the first log is covered and removed: \(logs.sorted())")
            let records = try Self.records(cluster)
            #expect(records.first!.index > 1)
            #expect(records.last!.index == applied)

            // The master that was down restarts from the checkpoint and the logs after it.
            processes[absent.name] = try await cluster.start(absent, in: harness, suffix: "-back")
            let caughtUp = try await Self.waitForApplied(absent, atLeast: applied)
            #expect(caughtUp.inodeCount == 401)
            #expect(processes[absent.name]!.log().contains("restored UFS journal checkpoint"), "\(processes[absent.name]!.log())")

            // fsadmin journal checkpoint on the UFS journal.
            let shell = try harness.start("strata", name: "checkpoint", properties: cluster.clientProperties.merging(["strata.home": harness.directory + "/shell"]) { $1 },
                                          arguments: ["fsadmin", "journal", "checkpoint"])
            #expect(try await shell.waitForExit(timeout: .seconds(30)) == 0, "\(shell.log())")

            // Whole-cluster restart: every file is there.
            for member in cluster.members { _ = try? await processes[member.name]!.stop() }
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness, suffix: "-again") }
            _ = try await cluster.leader(timeout: .seconds(30))
            let again = try Self.client(cluster)
            #expect(try await again.list("/").count == 400)
            await again.close()
            await client.close()
        }
    }

    /// A single master has no standby to checkpoint: the secondary master does, and removes the
    /// logs; the master restarts from that checkpoint; readJournal prints the UFS journal.
    @Test func secondaryMasterCheckpointsASingleMaster() async throws {
        try await ProcessHarness.with("ufs-secondary") { harness in
            let zooKeeper = try await ZooKeeperEnsemble.start(harness)
            var (cluster, processes, leader) = try await Self.startCluster(harness, zooKeeper, count: 1, extra: [
                "strata.master.journal.checkpoint.period.entries": "50",
                "strata.master.journal.log.size.bytes.max": "4KB",
            ])
            let ports = try await ProcessHarness.freePorts(2)
            var secondaryProperties = leader.properties
            secondaryProperties["strata.secondary.master.rpc.port"] = String(ports[0])
            secondaryProperties["strata.secondary.master.web.port"] = String(ports[1])
            let secondary = try harness.start("strata-secondary-master", name: "secondary", properties: secondaryProperties)
            let secondaryInfo = try await secondary.waitUntilServing(at: HostAndPort(host: "127.0.0.1", port: ports[0]))
            #expect(secondaryInfo.role == "SECONDARY")
            let client = try Self.client(cluster)
            for index in 0..<200 { _ = try await client.createFile("/s\(index)") }
            let folder = leader.properties["strata.master.journal.folder"]!
            let deadline = ContinuousClock.now + .seconds(20)
            var checkpoints: [String] = []
            while ContinuousClock.now < deadline {
                checkpoints = try FileManager.default.contentsOfDirectory(atPath: folder + "/checkpoints").filter { $0.hasSuffix(".snap") }
                if checkpoints.count >= 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(checkpoints.count == 2, "\(checkpoints)")
            #expect(secondary.log().contains("checkpoint at index"), "\(secondary.log())")
            #expect(try Self.records(cluster).first!.index > 1, "logs covered by the checkpoints are removed")
            // The master never leaves leadership to the secondary.
            #expect(try await cluster.leader().name == leader.name)

            _ = try await processes[leader.name]!.stop()
            _ = try await secondary.stop()
            let dump = try harness.start("strata", name: "read-journal", properties: leader.properties, arguments: ["readJournal"])
            #expect(try await dump.waitForExit(timeout: .seconds(30)) == 0, "\(dump.log())")
            #expect(dump.log().contains("# UFS journal"), "\(dump.log())")
            #expect(dump.log().contains("# checkpoint at index"), "\(dump.log())")
            processes[leader.name] = try await cluster.start(leader, in: harness, suffix: "-again")
            #expect(processes[leader.name]!.log().contains("restored UFS journal checkpoint"))
            _ = try await cluster.leader(timeout: .seconds(30))
            #expect(try await client.list("/").count == 200)
            await client.close()
        }
    }

    @Test func threeServerEnsembleSurvivesLosingAServer() async throws {
        try await ProcessHarness.with("ufs-ensemble") { harness in
            let zooKeeper = try await ZooKeeperEnsemble.start(harness, count: 3)
            let (cluster, processes, leader) = try await Self.startCluster(harness, zooKeeper, count: 3)
            let client = try Self.client(cluster)
            _ = try await client.createDirectory("/one")
            zooKeeper.kill(1)
            zooKeeper.kill(2)
            try await zooKeeper.restart(2)
            _ = try await client.createDirectory("/two")
            processes[leader.name]!.kill()
            let next = try await cluster.leader(excluding: [leader.name], timeout: .seconds(30))
            #expect(next.name != leader.name)
            _ = try await client.createDirectory("/three")
            #expect(try await client.list("/").map(\.name).sorted() == ["one", "three", "two"])
            await client.close()
        }
    }

    @Test func embeddedJournalWithZooKeeperIsRefused() async throws {
        try await ProcessHarness.with("ufs-refused") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1, extra: [
                "strata.zookeeper.enabled": "true", "strata.zookeeper.address": "127.0.0.1:2181",
            ])
            let master = try harness.start("strata-master", name: "refused", properties: cluster.members[0].properties)
            #expect(try await master.waitForExit(timeout: .seconds(20)) != 0)
            #expect(master.log().contains("strata.zookeeper.enabled=true cannot be combined with strata.master.journal.type=EMBEDDED"), "\(master.log())")
        }
    }
}
