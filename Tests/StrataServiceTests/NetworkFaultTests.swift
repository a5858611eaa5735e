import Foundation
import StrataClient
import StrataCore
import StrataTesting
import StrataWire
import Testing

/// Masters each on a host of their own (network namespaces on a bridge), with faults that hit
/// one host: a leader partitioned from the others, one-way cuts, a link slowed to a trickle.
/// Needs root; skipped otherwise.
@Suite(.enabled(if: getuid() == 0, "network namespaces need root"))
struct NetworkFaultTests {
    static func withNetworkCluster(_ name: String, hosts: Int = 3,
                                   _ body: (ProcessHarness, TestNetwork, MasterCluster, [String: TestProcess]) async throws -> Void) async throws {
        try await ProcessHarness.with(name) { harness in
            let network = try TestNetwork.create(hosts: hosts, namePrefix: "master")
            defer { network.close() }
            let cluster = try await MasterCluster.prepare(harness, count: hosts, network: network)
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            try await body(harness, network, cluster, processes)
            for process in processes.values { process.kill() }
        }
    }

    /// The leader is cut off from the other masters (clients still reach everyone). The majority
    /// elects a new leader within about two seconds, the old one answers no read or write with
    /// what it knows (its view may be stale), the client moves on by itself, and after healing the
    /// old leader follows and catches up.
    @Test func partitionedLeaderStandsDownAndTheMajorityGoesOn() async throws {
        try await Self.withNetworkCluster("net-partition") { _, network, cluster, _ in
            let leader = try await cluster.leader()
            let leaderHost = leader.host!.host
            let client = try MasterHATests.client(cluster)
            _ = try await client.createDirectory("/before")

            try network.partition([[leaderHost], network.hosts.filter { $0 != leaderHost }])
            let cut = ContinuousClock.now
            let newLeader = try await cluster.leader(excluding: [leader.name], timeout: .seconds(15))
            let electedAfter = ContinuousClock.now - cut
            _ = try await client.createDirectory("/during")
            let writtenAfter = ContinuousClock.now - cut
            print("partition: \(newLeader.name) leads \(electedAfter) after \(leader.name) was cut off; the client's create done after \(writtenAfter)")
            #expect(electedAfter < .seconds(5), "the majority took \(electedAfter) to elect")

            // The old leader must not answer from its stale state: /during exists now.
            let old = RPCClient(address: leader.rpc, frameSizeMaxBytes: 1 << 20, connectTimeout: .seconds(1))
            for _ in 0..<3 {
                do {
                    let answer = try await old.call(FileSystemMethods.getStatus, PathRequest(path: "/during"), deadline: .seconds(2))
                    Issue.record("the cut-off old leader answered a read: \(answer)")
                } catch let error as RPCError {
                    #expect(error.code != .notFound, "the cut-off old leader served a stale read: \(error)")
                }
                do {
                    _ = try await old.call(FileSystemMethods.createDirectory,
                                           CreateDirectoryRequest(path: "/from-old", recursive: false, allowExists: false, operation: client.nextOperation()),
                                           deadline: .seconds(2))
                    Issue.record("the cut-off old leader acknowledged a write")
                } catch {}
            }
            await old.close()

            try network.heal()
            try await eventually(20, "the old leader follows the new one") {
                let views = await client.probeAll()
                return views.filter { $0.1?.thisRole == "LEADER" }.count == 1
                    && views.first { $0.0 == leader.rpc }?.1?.thisRole == "STANDBY"
                    && Set(views.compactMap { $0.1?.appliedIndex }).count == 1
            }
            let names = Set(try await client.list("/").map(\.name))
            #expect(names == ["before", "during"], "\(names)")
            await client.close()
        }
    }

    /// One-way cuts: the leader can send to a follower but hears nothing back, and another
    /// follower hears nothing from anyone; the group still commits, and heals completely.
    @Test func oneWayCutsAndASlowLinkKeepTheGroupCommitting() async throws {
        try await Self.withNetworkCluster("net-oneway") { _, network, cluster, _ in
            let leader = try await cluster.leader()
            let client = try MasterHATests.client(cluster)
            let others = network.hosts.filter { $0 != leader.host!.host }
            try network.cut(from: others[0], to: leader.host!.host)
            try network.limitRate(others[1], kilobitsPerSecond: 2_000)
            for index in 0..<30 { _ = try await client.createDirectory("/oneway/\(index)", recursive: true) }
            try network.heal()
            try await eventually(20, "every master applied the same") {
                let views = await client.probeAll()
                return views.allSatisfy { $0.1 != nil } && Set(views.compactMap { $0.1?.appliedIndex }).count == 1
            }
            #expect(try await client.list("/oneway").count == 30)
            await client.close()
        }
    }

    /// Added latency (the delay proxy): 150 ms each way on one follower's connections, then on
    /// the leader's. A call to the delayed host takes at least a round trip of it; the group
    /// commits at the speed of its fastest majority while a follower is slow, and goes on while
    /// the leader is (its connections are reset when the delay starts: the others may elect one
    /// of themselves); after healing, calls are fast again and everyone converges.
    @Test func addedLatencySlowsTheDelayedHostOnly() async throws {
        try await Self.withNetworkCluster("net-delay") { _, network, cluster, _ in
            let leader = try await cluster.leader()
            let client = try MasterHATests.client(cluster)
            _ = try await client.createDirectory("/before")
            let follower = cluster.members.first { $0.name != leader.name }!
            let proxy = ProcessHarness.binaryDirectory + "/strata-delay-proxy"
            func infoTime(_ member: MasterCluster.Member) async throws -> Duration {
                let rpc = RPCClient(address: member.rpc, frameSizeMaxBytes: 1 << 20, connectTimeout: .seconds(2))
                defer { Task { await rpc.close() } }
                _ = try await rpc.call(FileSystemMethods.getMasterInfo, GetServiceInfoRequest(), deadline: .seconds(5))  // connected
                let started = ContinuousClock.now
                _ = try await rpc.call(FileSystemMethods.getMasterInfo, GetServiceInfoRequest(), deadline: .seconds(5))
                return ContinuousClock.now - started
            }
            func creates(_ prefix: String) async throws -> Duration {
                let started = ContinuousClock.now
                for index in 0..<10 { _ = try await client.createDirectory("/\(prefix)/\(index)", recursive: true) }
                return (ContinuousClock.now - started) / 10
            }
            let before = try await infoTime(follower)
            let fast = try await creates("fast")

            try network.delay(follower.host!.host, by: .milliseconds(150), ports: [19200, 19998], proxy: proxy)
            let delayedInfo = try await infoTime(follower)
            let withSlowFollower = try await creates("slow-follower")
            try network.heal()

            try network.delay(leader.host!.host, by: .milliseconds(150), ports: [19200, 19998], proxy: proxy)
            let delayedLeaderInfo = try await infoTime(leader)
            let withSlowLeader = try await creates("slow-leader")
            let leaderDuring = try await cluster.leader()
            try network.heal()
            let after = try await infoTime(follower)
            func ms(_ duration: Duration) -> String { String(format: "%.1f ms", duration.seconds * 1000) }
            print("delay 150 ms: a call to the delayed follower \(ms(delayedInfo)) (before \(ms(before)), after \(ms(after))); "
                  + "a create \(ms(fast)) normally, \(ms(withSlowFollower)) with the follower delayed, "
                  + "\(ms(withSlowLeader)) with the leader delayed (a call to it \(ms(delayedLeaderInfo)); \(leaderDuring.name) led then, \(leader.name) before)")
            #expect(delayedInfo >= .milliseconds(300), "a call to the delayed host took \(delayedInfo)")
            #expect(withSlowFollower < .milliseconds(150), "a slow follower slowed the group's commits to \(withSlowFollower)")
            #expect(delayedLeaderInfo >= .milliseconds(300), "a call to the delayed leader took \(delayedLeaderInfo)")
            #expect(after < .milliseconds(100), "calls stayed slow after healing: \(after)")
            try await eventually(20, "every master applied the same") {
                let views = await client.probeAll()
                return views.allSatisfy { $0.1 != nil } && Set(views.compactMap { $0.1?.appliedIndex }).count == 1
            }
            #expect(try await client.list("/slow-leader").count == 10)
            await client.close()
        }
    }
}
