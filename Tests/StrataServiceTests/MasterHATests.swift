import Foundation
import NIOConcurrencyHelpers
import StrataClient
import StrataCore
import StrataJournal
import StrataTesting
import StrataWire
import Testing

/// The reference fail-over story with real master processes: format, start three masters, one
/// leads, standbys replay, kill -9 the leader, a standby takes over, every file is still there.
@Suite struct MasterHATests {
    static func client(_ cluster: MasterCluster) throws -> FileSystemClient {
        let configuration = try Configuration.defaults(overrides: [
            .masterRpcAddresses: cluster.members.map(\.rpc.description).joined(separator: ","),
            .userRpcRetryMaxDuration: "30s",
        ])
        return FileSystemClient(masters: cluster.members.map(\.rpc), configuration: configuration)
    }

    @Test func failoverWalkthrough() async throws {
        try await ProcessHarness.with("master-failover") { harness in
            // Frequent checkpoints, so that the killed master comes back behind a compacted log.
            let cluster = try await MasterCluster.prepare(harness, count: 3, extra: ["strata.master.journal.checkpoint.period.entries": "25"])
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let leader = try await cluster.leader()
            let client = try Self.client(cluster)
            _ = try await client.createDirectory("/data/logs", recursive: true)
            for index in 0..<20 {
                _ = try await client.createFile("/data/logs/f\(index)")
                _ = try await client.completeFile("/data/logs/f\(index)", lengthBytes: Int64(index))
            }
            // A standby answers clients with NOT_LEADER and the leader's address.
            let standby = cluster.members.first { $0.name != leader.name }!
            let direct = RPCClient(address: standby.rpc, frameSizeMaxBytes: 1 << 20)
            let refused = await #expect(throws: RPCError.self) {
                try await direct.call(FileSystemMethods.getStatus, PathRequest(path: "/data"))
            }
            #expect(refused?.code == .notLeader)
            #expect(refused?.leaderHint == leader.rpc.description)
            await direct.close()

            processes[leader.name]!.kill()
            let killedAt = ContinuousClock.now
            let newLeader = try await cluster.leader(excluding: [leader.name])
            let failover = ContinuousClock.now - killedAt
            print("master failover: \(leader.rpc) killed, \(newLeader.rpc) leads after \(failover)")
            #expect(failover < .seconds(5))
            let listed = try await client.list("/data/logs")
            #expect(listed.map(\.name).sorted() == (0..<20).map { "f\($0)" }.sorted())
            #expect(try await client.status("/data/logs/f7").lengthBytes == 7)
            for index in 0..<60 { _ = try await client.createFile("/data/after-\(index)") }

            // The killed master restarts and catches up from a snapshot: the log it missed is gone.
            let restarted = try await cluster.start(leader, in: harness, suffix: "-restarted")
            let restartedInfo = try await waitForApplied(leader, atLeast: try await appliedIndex(newLeader))
            #expect(restartedInfo.thisRole == "STANDBY")
            #expect(restarted.log().contains("installed snapshot"), "\(restarted.log())")
            #expect(restartedInfo.inodeCount == (try await appliedInfo(newLeader)).inodeCount)
            await client.close()
        }
    }

    @Test func createsAcrossAKilledLeaderAreAllThereOnce() async throws {
        try await ProcessHarness.with("master-creates") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3)
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let firstLeader = try await cluster.leader()
            let client = try Self.client(cluster)
            _ = try await client.createDirectory("/c")
            let acknowledged = NIOLockedValueBox(0)
            let failures = NIOLockedValueBox<[String]>([])
            let leaderProcess = processes[firstLeader.name]!
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for index in stride(from: worker, to: 200, by: 4) {
                            do {
                                _ = try await client.createFile("/c/file-\(index)")
                            } catch {
                                failures.withLockedValue { $0.append("file-\(index): \(error)") }
                            }
                            let count = acknowledged.withLockedValue { $0 += 1; return $0 }
                            if count == 100 { leaderProcess.kill() }
                        }
                    }
                }
                try await group.waitForAll()
            }
            // Retries across the failover reuse their operation ids: none fails with ALREADY_EXISTS.
            #expect(failures.withLockedValue { $0 } == [])
            let names = try await client.list("/c").map(\.name)
            #expect(names.count == 200)
            #expect(Set(names) == Set((0..<200).map { "file-\($0)" }))
            let newLeader = try await cluster.leader(excluding: [firstLeader.name])
            #expect(newLeader.name != firstLeader.name)
            await client.close()
        }
    }

    @Test func checkpointThenFullRestartKeepsTheNamespace() async throws {
        try await ProcessHarness.with("master-checkpoint") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3)
            var processes: [TestProcess] = []
            for member in cluster.members { processes.append(try await cluster.start(member, in: harness)) }
            let client = try Self.client(cluster)
            for index in 0..<30 { _ = try await client.createDirectory("/k/d\(index)", recursive: true) }
            try await client.checkpoint()
            // Every master checkpointed, not only the leader.
            for member in cluster.members {
                let snapshots = (try? FileManager.default.contentsOfDirectory(atPath: member.properties["strata.home"]! + "/journal/snapshots")) ?? []
                #expect(snapshots.contains { $0.hasSuffix(".snap") }, "\(member.name): \(snapshots)")
            }
            for index in 30..<35 { _ = try await client.createDirectory("/k/d\(index)", recursive: true) }
            let checkpointed = try await cluster.leader()
            for process in processes { #expect(try await process.stop() == 0) }

            // readJournal on a stopped master: the entries after the checkpoint as text, and the
            // checkpoint's namespace.
            let output = harness.directory + "/read-journal"
            let read = try harness.start("strata", name: "read-journal", properties: checkpointed.properties,
                                         arguments: ["readJournal", "-outputDir", output])
            try #require(try await read.waitForExit() == 0, "\(read.log())")
            let edits = try String(contentsOfFile: output + "/edits.txt", encoding: .utf8)
            #expect(edits.contains("CREATE_DIRECTORY /k/d34 recursive=true"))
            #expect(edits.contains("# snapshot at index"))
            let checkpoint = try String(contentsOfFile: output + "/checkpoint.txt", encoding: .utf8)
            #expect(checkpoint.contains("/k/d0\n"))
            #expect(!checkpoint.contains("/k/d34"))

            for member in cluster.members { try await cluster.start(member, in: harness, suffix: "-again") }
            #expect(try await client.list("/k").count == 35)
            await client.close()
        }
    }

    @Test func underStorageFilesAppearAndBadInputIsNamed() async throws {
        try await ProcessHarness.with("master-ufs") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1)
            try FileManager.default.createDirectory(atPath: cluster.underStorage + "/imported/deeper", withIntermediateDirectories: true)
            try "twelve bytes".write(toFile: cluster.underStorage + "/imported/notes.txt", atomically: true, encoding: .utf8)
            try await cluster.start(cluster.members[0], in: harness)
            let client = try Self.client(cluster)
            let listed = try await client.list("/imported")
            #expect(listed.map(\.name) == ["deeper", "notes.txt"])
            #expect(listed.first { $0.name == "notes.txt" }?.lengthBytes == 12)
            #expect(listed.first { $0.name == "notes.txt" }?.persistenceState == "PERSISTED")
            let invalid = await #expect(throws: RPCError.self) { try await client.createDirectory("/a/../b") }
            #expect(invalid?.code == .invalidArgument)
            #expect(invalid?.message.contains("/a/../b") == true)
            let missing = await #expect(throws: RPCError.self) { try await client.createFile("/no/parent/f") }
            #expect(missing?.code == .notFound)
            #expect(missing?.message.contains("/no/parent") == true)
            let long = await #expect(throws: RPCError.self) { try await client.createFile("/" + String(repeating: "n", count: 300)) }
            #expect(long?.code == .invalidArgument)
            await client.close()
        }
    }

    @Test func aMasterPointedAtAnotherClustersJournalRefuses() async throws {
        try await ProcessHarness.with("master-wrong-cluster") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1)
            var properties = cluster.members[0].properties
            properties["strata.cluster.id"] = String(repeating: "ab", count: 16)
            let master = try harness.start("strata-master", name: "master1", properties: properties)
            try #require(try await master.waitForExit() == 2)
            let lines = master.log().split(separator: "\n")
            #expect(lines.count == 1)
            #expect(lines.first?.contains("belongs to cluster \(cluster.clusterID), not \(String(repeating: "ab", count: 16))") == true, "\(master.log())")
        }
    }

    /// Runs the CLI against `cluster`; returns its exit status and output.
    static func cli(_ harness: ProcessHarness, _ cluster: MasterCluster, _ arguments: [String]) async throws -> (Int32, String) {
        let process = try harness.start("strata", name: "cli-\(UInt32.random(in: 0...UInt32.max))", properties: cluster.clientProperties, arguments: arguments)
        let status = try await process.waitForExit(timeout: .seconds(60))
        return (status, process.log())
    }

    @Test func quorumInfoElectAndRemove() async throws {
        try await ProcessHarness.with("master-quorum") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3)
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let leader = try await cluster.leader()
            let (infoStatus, info) = try await Self.cli(harness, cluster, ["fsadmin", "journal", "quorum", "info", "-domain", "MASTER"])
            try #require(infoStatus == 0, "\(info)")
            #expect(info.contains("Quorum size\t: 3"))
            #expect(info.contains("Quorum leader\t: \(leader.journal)"))
            #expect(info.components(separatedBy: "AVAILABLE").count - 1 == 3)

            // Elect a standby: the command returns once it leads, and says so.
            let target = cluster.members.first { $0.name != leader.name }!
            let (electStatus, elect) = try await Self.cli(harness, cluster, ["fsadmin", "journal", "quorum", "elect", "-domain", "MASTER", "-address", target.journal.description])
            try #require(electStatus == 0, "\(elect)")
            #expect(elect.contains("Successfully elected \(target.journal) as the new leader"))
            #expect(try await cluster.leader().name == target.name)

            // A member gone for good is seen as unavailable and removed; the other two carry on.
            let gone = cluster.members.first { $0.name != target.name }!
            processes[gone.name]!.kill()
            var unavailable = false
            for _ in 0..<100 where !unavailable {
                let (_, output) = try await Self.cli(harness, cluster, ["fsadmin", "journal", "quorum", "info"])
                unavailable = output.split(separator: "\n").contains { $0.hasPrefix("UNAVAILABLE") && $0.hasSuffix("| " + gone.journal.description) }
                if !unavailable { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(unavailable)
            let (removeStatus, removed) = try await Self.cli(harness, cluster, ["fsadmin", "journal", "quorum", "remove", "-domain", "MASTER", "-address", gone.journal.description])
            try #require(removeStatus == 0, "\(removed)")
            #expect(removed.contains("Quorum size\t: 2"))
            #expect(removed.contains("Removed \(gone.journal) from the MASTER quorum"))
            #expect(!removed.split(separator: "\n").contains { $0.hasSuffix("| " + gone.journal.description) })
            let client = try Self.client(cluster)
            _ = try await client.createDirectory("/still-writable")
            await client.close()

            let (badStatus, bad) = try await Self.cli(harness, cluster, ["fsadmin", "journal", "quorum", "elect", "-address", "127.0.0.1:1"])
            #expect(badStatus != 0)
            #expect(bad.contains("127.0.0.1:1 is not a member of the MASTER quorum"))
        }
    }

    /// The reference's procedure: a new master configured with every member plus itself starts,
    /// joins as a learner, catches up and becomes a voter; it can then lead with the whole
    /// namespace, and the grown quorum tolerates the loss of an original member.
    @Test func aFourthMasterJoinsLive() async throws {
        try await ProcessHarness.with("master-join") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3, extra: ["strata.master.journal.checkpoint.period.entries": "40"])
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let client = try Self.client(cluster)
            for index in 0..<60 { _ = try await client.createDirectory("/grow/d\(index)", recursive: true) }
            await client.close()

            let (grown, added) = try await cluster.addingMember(harness)
            processes[added.name] = try await grown.start(added, in: harness)
            var joined = ""
            for _ in 0..<100 {
                let (_, output) = try await Self.cli(harness, grown, ["fsadmin", "journal", "quorum", "info", "-domain", "MASTER"])
                joined = output
                if output.contains("Quorum size\t: 4"), output.split(separator: "\n").contains(where: { $0.contains("| yes") && $0.hasSuffix("| " + added.journal.description) }) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            try #require(joined.contains("Quorum size\t: 4"), "\(joined)\n\(processes[added.name]!.log())")
            #expect(processes[added.name]!.log().contains("joined the group through"))

            // The new member leads: everything written before it existed is there.
            let (electStatus, elect) = try await Self.cli(harness, grown, ["fsadmin", "journal", "quorum", "elect", "-address", added.journal.description])
            try #require(electStatus == 0, "\(elect)")
            #expect(try await grown.leader().name == added.name)
            let grownClient = try Self.client(grown)
            #expect(try await grownClient.list("/grow").count == 60)

            // Four voters: losing one original member leaves a working quorum of three.
            processes["master1"]!.kill()
            for index in 60..<70 { _ = try await grownClient.createDirectory("/grow/d\(index)") }
            #expect(try await grownClient.list("/grow").count == 70)
            let (_, report) = try await Self.cli(harness, grown, ["fs", "masterInfo"])
            #expect(report.contains(added.rpc.description), "\(report)")
            await grownClient.close()
        }
    }

    @Test func exitOnDemotion() async throws {
        try await ProcessHarness.with("master-demotion") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3, extra: ["strata.master.journal.exit.on.demotion": "true"])
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let leader = try await cluster.leader()
            let target = cluster.members.first { $0.name != leader.name }!
            let (status, output) = try await Self.cli(harness, cluster, ["fsadmin", "journal", "quorum", "elect", "-address", target.journal.description])
            try #require(status == 0, "\(output)")
            // The demoted master exits by itself.
            #expect(try await processes[leader.name]!.waitForExit(timeout: .seconds(10)) == 0)
            #expect(processes[leader.name]!.log().contains("exiting (strata.master.journal.exit.on.demotion=true)"))
            #expect(processes[target.name]!.isRunning)
        }
    }

    func appliedIndex(_ member: MasterCluster.Member) async throws -> UInt64 {
        try await appliedInfo(member).appliedIndex
    }

    func appliedInfo(_ member: MasterCluster.Member) async throws -> MasterInfo {
        let client = RPCClient(address: member.rpc, frameSizeMaxBytes: 1 << 20)
        let info = try? await client.call(FileSystemMethods.getMasterInfo, GetServiceInfoRequest())
        await client.close()
        guard let info else { throw HarnessError("\(member.rpc) did not answer GetMasterInfo") }
        return info
    }

    func waitForApplied(_ member: MasterCluster.Member, atLeast index: UInt64) async throws -> MasterInfo {
        let client = RPCClient(address: member.rpc, frameSizeMaxBytes: 1 << 20)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let info = try? await client.call(FileSystemMethods.getMasterInfo, GetServiceInfoRequest()), info.appliedIndex >= index {
                await client.close()
                return info
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await client.close()
        throw HarnessError("\(member.rpc) did not apply index \(index) within 20s")
    }

    /// Three masters each formatted on its own (`strata format` per host) with no strata.cluster.id:
    /// they derive one cluster id from the configured quorum, accept each other and elect a leader.
    @Test func mastersFormattedEachOnItsOwnAgreeOnTheClusterID() async throws {
        try await ProcessHarness.with("derived-cluster-id") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3, derivingClusterID: true)
            let ids = try cluster.members.map { try JournalIdentity.read(from: harness.directory + "/" + $0.name + "/journal").clusterIDText }
            #expect(Set(ids).count == 1, "\(ids)")
            var processes: [TestProcess] = []
            for member in cluster.members { processes.append(try await cluster.start(member, in: harness)) }
            let client = try Self.client(cluster)
            _ = try await client.createDirectory("/derived")
            let leader = try await cluster.leader()
            let reported = await JournalNodeTests.masterInfo(leader)?.clusterID.map { String(format: "%02x", $0) }.joined()
            #expect(reported == ids.first)
            await client.close()
        }
    }
}
