import Foundation
import StrataCore
import StrataWire

/// A group of real `strata-jobmaster` processes on loopback, each formatted on its own (as on
/// separate hosts) with one cluster id, for job-service tests. With `masters`, they plan against
/// those file-system masters; without, the deployment is job-service-only.
public struct JobMasterCluster: Sendable {
    public typealias Member = ServiceGroupMember

    public let members: [Member]
    /// Journal nodes of the JOB_MASTER quorum.
    public var journalNodes: [Member] = []
    /// Properties a client, a worker or the CLI needs to find these job masters (and the
    /// file-system masters, if any).
    public let clientProperties: [String: String]

    /// With `network`, each job master runs on a host of its own (the first `count`) on the
    /// default ports (RPC 20001, web 20002, journal 20003); journal nodes are then not supported.
    public static func prepare(_ harness: ProcessHarness, count: Int, journalNodes: Int = 0, masters: MasterCluster? = nil,
                               extra: [String: String] = [:], network: TestNetwork? = nil) async throws -> JobMasterCluster {
        precondition(network == nil || journalNodes == 0, "job-master journal nodes on a test network are not supported")
        let nodePorts = try await ProcessHarness.freePorts(journalNodes * 2)
        let nodeJournals = (0..<journalNodes).map { HostAndPort(host: "127.0.0.1", port: nodePorts[$0]) }
        let (members, shared) = try await ServiceGroup.formatMembers(harness, count: count, namePrefix: "jobmaster", prefix: "strata.job.master",
                                                                     network: network, defaultPorts: (20001, 20003, 20002)) { rpcs, journals in
            var shared = masters?.clientProperties ?? [
                "strata.cluster.id": (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined(),
                // Nothing listens here: a job-service-only deployment has no file-system master.
                "strata.master.rpc.addresses": "127.0.0.1:1",
                "strata.master.embedded.journal.addresses": "127.0.0.1:2",
            ]
            shared["strata.job.master.embedded.journal.addresses"] = (journals + nodeJournals).map(\.description).joined(separator: ",")
            shared["strata.job.master.rpc.addresses"] = rpcs.map(\.description).joined(separator: ",")
            shared["strata.job.master.worker.heartbeat.interval"] = "200ms"
            shared["strata.job.master.worker.timeout"] = "3s"
            return shared.merging(extra) { _, new in new }
        }
        var cluster = JobMasterCluster(members: members, clientProperties: shared)
        cluster.journalNodes = try await ServiceGroup.formatJournalNodes(harness, domain: "JOB_MASTER", journalPortKey: "strata.job.master.embedded.journal.port",
                                                                         journals: nodeJournals, webs: Array(nodePorts.dropFirst(journalNodes)), shared: shared)
        return cluster
    }

    @discardableResult
    public func start(_ member: Member, in harness: ProcessHarness, suffix: String = "") async throws -> TestProcess {
        try await ServiceGroup.start("strata-jobmaster", member, in: harness, suffix: suffix)
    }

    /// Starts (or restarts) a journal node of the JOB_MASTER quorum and waits until it serves.
    @discardableResult
    public func startJournalNode(_ node: Member, in harness: ProcessHarness, suffix: String = "") async throws -> TestProcess {
        try await ServiceGroup.start("strata-journal-node", node, in: harness, suffix: suffix)
    }

    /// The member whose process says it leads (ServiceInfo role), waiting up to `timeout`.
    public func leader(excluding excluded: Set<String> = [], timeout: Duration = .seconds(20)) async throws -> Member {
        try await ServiceGroup.leader(of: members, what: "job master", excluding: excluded, timeout: timeout)
    }
}
