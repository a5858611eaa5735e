import Foundation
import StrataCore
import StrataWire

/// A group of real `strata-master` processes on loopback, formatted with one cluster id and
/// sharing one under-storage folder, for HA tests.
public struct MasterCluster: Sendable {
    public typealias Member = ServiceGroupMember

    public let members: [Member]
    /// Journal nodes of the MASTER quorum (`rpc` is their journal address, where they answer
    /// ServiceInfo).
    public var journalNodes: [Member] = []
    public let underStorage: String
    public let clusterID: String
    /// Properties a client (or the CLI) needs to find these masters.
    public let clientProperties: [String: String]

    /// Prepares (formats) `count` masters and `journalNodes` journal nodes of their quorum; start
    /// them with `start(_:in:)` and `startJournalNode(_:in:)`.
    /// With `derivingClusterID`, `strata.cluster.id` is not set: each master's format derives it
    /// from the configured quorum (and `clusterID` is empty).
    /// With `network`, each master runs on its own host of it (on the default ports).
    public static func prepare(_ harness: ProcessHarness, count: Int, journalNodes: Int = 0, extra: [String: String] = [:],
                               derivingClusterID: Bool = false, network: TestNetwork? = nil) async throws -> MasterCluster {
        // Journal nodes: on free loopback ports, or on the hosts after the masters'.
        let nodeHosts = network.map { network in (0..<journalNodes).map { (network, network.hosts[count + $0]) } } ?? []
        precondition(network == nil || network!.hosts.count >= count + journalNodes, "\(count) masters and \(journalNodes) journal nodes on \(network!.hosts.count) hosts")
        let nodePorts = network == nil ? try await ProcessHarness.freePorts(journalNodes * 2)
            : Array(repeating: 19200, count: journalNodes) + Array(repeating: 19300, count: journalNodes)
        let nodeJournals = network == nil ? (0..<journalNodes).map { HostAndPort(host: "127.0.0.1", port: nodePorts[$0]) }
            : nodeHosts.map { HostAndPort(host: $0.1.address, port: 19200) }
        let underStorage = harness.directory + "/ufs"
        try FileManager.default.createDirectory(atPath: underStorage, withIntermediateDirectories: true)
        let clusterID = derivingClusterID ? "" : (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let (members, shared) = try await ServiceGroup.formatMembers(harness, count: count, namePrefix: "master", prefix: "strata.master",
                                                                     network: network) { rpcs, journals in
            [
                "strata.master.embedded.journal.addresses": (journals + nodeJournals).map(\.description).joined(separator: ","),
                "strata.master.rpc.addresses": rpcs.map(\.description).joined(separator: ","),
                "strata.master.mount.table.root.ufs": underStorage,
                "strata.cluster.id": clusterID,
            ].filter { !($0.key == "strata.cluster.id" && derivingClusterID) }.merging(extra) { _, new in new }
        }
        var cluster = MasterCluster(members: members, underStorage: underStorage, clusterID: clusterID, clientProperties: shared)
        cluster.journalNodes = try await ServiceGroup.formatJournalNodes(harness, domain: "MASTER", journalPortKey: "strata.master.embedded.journal.port",
                                                                         journals: nodeJournals, webs: Array(nodePorts.dropFirst(journalNodes)), shared: shared,
                                                                         hosts: nodeHosts)
        return cluster
    }

    /// Starts (or restarts) a journal node and waits until it serves.
    @discardableResult
    public func startJournalNode(_ node: Member, in harness: ProcessHarness, suffix: String = "") async throws -> TestProcess {
        try await ServiceGroup.start("strata-journal-node", node, in: harness, suffix: suffix)
    }

    /// Prepares (formats) `count` masters on a UFS journal in one shared folder, ZooKeeper (`zooKeeper`)
    /// electing the leader. The client properties find the leader through ZooKeeper.
    public static func prepareUFS(_ harness: ProcessHarness, count: Int, zooKeeper: ZooKeeperEnsemble,
                                  sessionTimeout: Duration = .seconds(3), policy: String = "SESSION",
                                  extra: [String: String] = [:], network: TestNetwork? = nil) async throws -> MasterCluster {
        let properties: [String: String] = [
            "strata.master.journal.type": "UFS",
            "strata.master.journal.folder": harness.directory + "/shared-journal",
            "strata.zookeeper.enabled": "true",
            "strata.zookeeper.address": zooKeeper.connectString,
            "strata.zookeeper.session.timeout": "\(sessionTimeout.milliseconds)ms",
            "strata.zookeeper.connection.timeout": "10s",
            "strata.zookeeper.leader.connection.error.policy": policy,
            "strata.master.journal.tailer.sleep.time": "50ms",
        ].merging(extra) { _, new in new }
        return try await prepare(harness, count: count, extra: properties, network: network)
    }

    /// Prepares (formats) one more master configured, as the reference's procedure for adding a
    /// master to a live quorum says, with every existing member plus itself; the existing
    /// members' configuration is left as it is. Returns the grown cluster and the new member.
    public func addingMember(_ harness: ProcessHarness) async throws -> (MasterCluster, Member) {
        let ports = try await ProcessHarness.freePorts(3)
        let rpc = HostAndPort(host: "127.0.0.1", port: ports[0])
        let journal = HostAndPort(host: "127.0.0.1", port: ports[1])
        let name = "master\(members.count + 1)"
        var properties = clientProperties
        properties["strata.master.embedded.journal.addresses"] = (members.map(\.journal) + [journal]).map(\.description).joined(separator: ",")
        properties["strata.master.rpc.addresses"] = (members.map(\.rpc) + [rpc]).map(\.description).joined(separator: ",")
        var client = clientProperties
        client["strata.master.rpc.addresses"] = properties["strata.master.rpc.addresses"]
        client["strata.master.embedded.journal.addresses"] = properties["strata.master.embedded.journal.addresses"]
        let member = try await ServiceGroup.formatMember(harness, name: name, prefix: "strata.master", rpc: rpc, journal: journal, web: ports[2],
                                                         shared: properties)
        return (MasterCluster(members: members + [member], underStorage: underStorage, clusterID: clusterID, clientProperties: client), member)
    }

    /// Starts (or restarts) `member`'s process and waits until it serves; `environment` adds to
    /// its environment (say, libfaketime's, for a skewed clock).
    @discardableResult
    public func start(_ member: Member, in harness: ProcessHarness, suffix: String = "", environment: [String: String] = [:]) async throws -> TestProcess {
        try await ServiceGroup.start("strata-master", member, in: harness, suffix: suffix, environment: environment)
    }

    /// The member whose process says it leads (ServiceInfo role), waiting up to `timeout`.
    public func leader(excluding excluded: Set<String> = [], timeout: Duration = .seconds(20)) async throws -> Member {
        try await ServiceGroup.leader(of: members, what: "master", excluding: excluded, timeout: timeout)
    }
}
