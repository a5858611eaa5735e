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
            try await DataPathTests.eventually(20, "the old leader follows the new one") {
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
            try await DataPathTests.eventually(20, "every master applied the same") {
                let views = await client.probeAll()
                return views.allSatisfy { $0.1 != nil } && Set(views.compactMap { $0.1?.appliedIndex }).count == 1
            }
            #expect(try await client.list("/oneway").count == 30)
            await client.close()
        }
    }
}
