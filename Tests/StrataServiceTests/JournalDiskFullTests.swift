import Foundation
import StrataClient
import StrataCore
import StrataTesting
import StrataWire
import Testing

/// A master whose journal disk fills up (a small tmpfs under the journal, filled on purpose):
/// writes fail with an error naming the journal, nothing acknowledged is lost, nothing is left
/// half-written, and the master serves again once space returns — by itself.
@Suite(.serialized) struct JournalDiskFullTests {
    static func journalFolder(_ member: MasterCluster.Member) -> String {
        member.properties["strata.home"]! + "/journal"
    }

    static func client(_ cluster: MasterCluster, refusedMax: String = "10s") throws -> FileSystemClient {
        var overrides: [PropertyKey: String] = [
            .masterRpcAddresses: cluster.members.map(\.rpc.description).joined(separator: ","),
            .userRpcRetryMaxDuration: "60s",
            .userRpcRetryRefusedDurationMax: refusedMax,
        ]
        for (name, value) in cluster.clientProperties {
            if let key = PropertyKey.named(name) { overrides[key] = value }
        }
        let configuration = try Configuration.defaults(overrides: overrides)
        return FileSystemClient(locator: try MasterLocator.configured(configuration), configuration: configuration)
    }

    @Test func aSingleMasterRefusesWritesWithTheReasonAndServesAgainWhenSpaceReturns() async throws {
        try await ProcessHarness.with("disk-full-single") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1)
            let member = cluster.members[0]
            let folder = Self.journalFolder(member)
            let disk = try SmallDisk.mount(over: folder, sizeBytes: 4 << 20)
            defer { disk.unmount() }
            var process = try await cluster.start(member, in: harness)
            let client = try Self.client(cluster)
            for index in 0..<20 { _ = try await client.createDirectory("/before/\(index)", recursive: true) }

            try disk.fill()
            // The segment's last page may still have room for a few records: write until the
            // journal refuses.
            let shortClient = try Self.client(cluster, refusedMax: "1s")
            var refusal: RPCError? = nil
            for index in 0..<400 where refusal == nil {
                do { _ = try await shortClient.createDirectory("/slack/\(index)", recursive: true) } catch let error as RPCError { refusal = error }
            }
            await shortClient.close()
            #expect(refusal?.code == .resourceExhausted, "\(String(describing: refusal))")
            let refused = try await ClientFaultTests.timedCLI(
                ["fs", "mkdir", "/during"],
                environment: ["STRATA_MASTER_RPC_ADDRESSES": member.rpc.description, "STRATA_USER_RPC_RETRY_REFUSED_DURATION_MAX": "3s"])
            let last = refused.errorLines.last?.1 ?? ""
            print("disk full: `strata fs mkdir` ended after \(String(format: "%.2f", refused.seconds)) s with status \(refused.status): \(last)")
            #expect(refused.status != 0)
            #expect(refused.seconds < 15, "the CLI took \(refused.seconds) s to give up")
            #expect(last.contains("No space left on device") && last.contains(folder), "\(refused.errorLines)")
            #expect(refused.errorLines.contains { $0.0 < 1.5 && $0.1.contains("No space left on device") },
                    "the CLI did not say within a second and a half why it waits: \(refused.errorLines)")
            #expect(process.log().contains("the journal cannot write"), "the master logged nothing about its full disk")
            #expect(process.isRunning, "the master exited on a full disk:\n\(process.log())")

            disk.free()
            let freed = ContinuousClock.now
            _ = try await client.createDirectory("/after")
            print("disk full: a write succeeded \(String(format: "%.2f", (ContinuousClock.now - freed).seconds)) s after space returned")
            #expect(process.log().contains("the journal writes again"))

            // kill -9: everything acknowledged is there after a restart, and nothing needed repair.
            process.kill()
            _ = try await process.waitForExit()
            process = try await cluster.start(member, in: harness, suffix: "-restarted")
            let names = Set(try await client.list("/").map(\.name))
            #expect(names.isSuperset(of: ["before", "after"]), "\(names)")
            #expect(try await client.list("/before").count == 20)
            #expect(!process.log().contains("journal repaired"), "\(process.log())")
            await client.close()
        }
    }

    @Test func aLeaderWhoseDiskFillsIsReplacedAndCatchesUpWhenSpaceReturns() async throws {
        try await ProcessHarness.with("disk-full-quorum") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3)
            var disks: [String: SmallDisk] = [:]
            for member in cluster.members {
                disks[member.name] = try SmallDisk.mount(over: Self.journalFolder(member), sizeBytes: 4 << 20)
            }
            defer { for disk in disks.values { disk.unmount() } }
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let leader = try await cluster.leader()
            let client = try Self.client(cluster)
            _ = try await client.createDirectory("/before")

            try disks[leader.name]!.fill()
            // The first writes may still fit in the last page of the leader's segment; then it
            // cannot write, stops sending, and the others elect a leader with room.
            var slowest: Duration = .zero
            for index in 0..<200 {
                let started = ContinuousClock.now
                _ = try await client.createDirectory("/during/\(index)", recursive: true)
                slowest = max(slowest, ContinuousClock.now - started)
            }
            let newLeader = try await cluster.leader(excluding: [leader.name])
            print("disk full on the leader: 200 creates, the slowest took \(String(format: "%.2f", slowest.seconds)) s; new leader \(newLeader.name)")
            #expect(slowest < .seconds(5), "a write waited \(slowest) for a leader with room")
            #expect(processes[leader.name]!.isRunning)
            #expect(processes[leader.name]!.log().contains("the journal cannot write"))

            disks[leader.name]!.free()
            _ = try await client.createDirectory("/after")
            let target = try #require(await UFSJournalTests.info(newLeader)).appliedIndex
            _ = try await UFSJournalTests.waitForApplied(leader, atLeast: target)
            #expect(processes[leader.name]!.log().contains("the journal writes again"))
            #expect(Set(try await client.list("/").map(\.name)).isSuperset(of: ["before", "during", "after"]))
            #expect(try await client.list("/during").count == 200)
            await client.close()
        }
    }
}

extension JournalDiskFullTests {
    /// The UFS journal's shared folder fills up: the leader keeps its election, refuses writes
    /// with the reason, takes a new epoch once there is room, and a standby that takes over after
    /// a kill -9 finds every acknowledged write past the half-written batch.
    @Test func aFullUFSJournalFolderRefusesWritesAndTheLeaderResumesWhenSpaceReturns() async throws {
        try await ProcessHarness.with("disk-full-ufs") { harness in
            let zooKeeper = try await ZooKeeperEnsemble.start(harness, count: 1)
            let cluster = try await MasterCluster.prepareUFS(harness, count: 2, zooKeeper: zooKeeper, sessionTimeout: .seconds(3))
            let folder = cluster.members[0].properties["strata.master.journal.folder"]!
            let disk = try SmallDisk.mount(over: folder, sizeBytes: 4 << 20)
            defer { disk.unmount() }
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let leader = try await cluster.leader(timeout: .seconds(30))
            let client = try UFSJournalTests.client(cluster)
            var acknowledged: [String] = []
            for index in 0..<20 { _ = try await client.createDirectory("/before\(index)"); acknowledged.append("before\(index)") }

            try disk.fill()
            let shortClient = try Self.client(cluster, refusedMax: "3s")
            let filled = ContinuousClock.now
            var refusal: RPCError? = nil
            for index in 0..<400 where refusal == nil {
                do {
                    _ = try await shortClient.createDirectory("/slack\(index)")
                    acknowledged.append("slack\(index)")
                } catch let error as RPCError { refusal = error }
            }
            await shortClient.close()
            print("UFS journal folder full: refused after \(String(format: "%.2f", (ContinuousClock.now - filled).seconds)) s: \(refusal?.description ?? "-")")
            #expect(refusal?.code == .resourceExhausted, "\(String(describing: refusal))")
            #expect(refusal?.message.contains(folder) == true && refusal?.message.contains("No space left on device") == true)
            #expect(try await cluster.leader(timeout: .seconds(5)).name == leader.name, "leadership moved while the folder was full")

            disk.free()
            let freed = ContinuousClock.now
            _ = try await client.createDirectory("/after")
            acknowledged.append("after")
            print("UFS journal folder full: a write succeeded \(String(format: "%.2f", (ContinuousClock.now - freed).seconds)) s after space returned")
            #expect(processes[leader.name]!.log().contains("the journal writes again"))

            processes[leader.name]!.kill()
            let standby = try await cluster.leader(excluding: [leader.name], timeout: .seconds(30))
            let names = Set(try await client.list("/").map(\.name))
            #expect(names.isSuperset(of: acknowledged), "lost: \(Set(acknowledged).subtracting(names).sorted())")
            print("UFS journal folder full: \(standby.name) took over with all \(acknowledged.count) acknowledged writes")
            await client.close()
        }
    }
}
