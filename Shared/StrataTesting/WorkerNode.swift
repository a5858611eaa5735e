import Foundation
import StrataCore

/// A real `strata-worker` process on loopback for data-path tests: its tiers live in the
/// harness directory (a MEM tier is an ordinary directory here; the start scripts mount a
/// ramfs for real deployments).
public struct WorkerNode: Sendable {
    public let name: String
    public let rpc: HostAndPort
    public let web: Int
    public let properties: [String: String]
    public let tierDirectories: [String]

    /// Prepares a worker reporting to `cluster`'s masters. `tiers` are (alias, quota) from the
    /// fastest down; `extra` adds or overrides properties.
    public static func prepare(_ harness: ProcessHarness, cluster: MasterCluster, name: String = "worker1",
                               tiers: [(alias: String, quota: String)] = [("MEM", "256MB")],
                               extra: [String: String] = [:]) async throws -> WorkerNode {
        try await prepare(harness, clientProperties: cluster.clientProperties, name: name, tiers: tiers, extra: extra)
    }

    /// Prepares a worker that finds the masters (and job masters) with `clientProperties`. With
    /// `strata.worker.block.enabled=false` in `extra` it runs the job-worker role alone; its
    /// serving port is then the job-worker RPC port (`jobWorkerRPC`).
    public static func prepare(_ harness: ProcessHarness, clientProperties: [String: String], name: String = "worker1",
                               tiers: [(alias: String, quota: String)] = [("MEM", "256MB")],
                               extra: [String: String] = [:]) async throws -> WorkerNode {
        let ports = try await ProcessHarness.freePorts(3)
        var properties = clientProperties
        properties["strata.home"] = harness.directory + "/" + name
        properties["strata.worker.hostname"] = "127.0.0.1"
        properties["strata.worker.bind.host"] = "127.0.0.1"
        properties["strata.worker.rpc.port"] = String(ports[0])
        properties["strata.worker.web.port"] = String(ports[1])
        properties["strata.job.worker.rpc.port"] = String(ports[2])
        properties["strata.worker.block.heartbeat.interval"] = "200ms"
        properties["strata.worker.tieredstore.levels"] = String(tiers.count)
        var directories: [String] = []
        for (level, tier) in tiers.enumerated() {
            let directory = harness.directory + "/" + name + "/" + tier.alias.lowercased()
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            directories.append(directory)
            properties["strata.worker.tieredstore.level\(level).alias"] = tier.alias
            properties["strata.worker.tieredstore.level\(level).dirs.path"] = directory
            properties["strata.worker.tieredstore.level\(level).dirs.quota"] = tier.quota
        }
        properties.merge(extra) { _, new in new }
        return WorkerNode(name: name, rpc: HostAndPort(host: "127.0.0.1", port: ports[0]), web: ports[1],
                          jobWorkerRPC: HostAndPort(host: "127.0.0.1", port: ports[2]), properties: properties, tierDirectories: directories)
    }

    public let jobWorkerRPC: HostAndPort

    init(name: String, rpc: HostAndPort, web: Int, jobWorkerRPC: HostAndPort, properties: [String: String], tierDirectories: [String]) {
        self.name = name
        self.rpc = rpc
        self.web = web
        self.jobWorkerRPC = jobWorkerRPC
        self.properties = properties
        self.tierDirectories = tierDirectories
    }

    @discardableResult
    public func start(in harness: ProcessHarness, suffix: String = "") async throws -> TestProcess {
        let process = try harness.start("strata-worker", name: name + suffix, properties: properties)
        try await process.waitUntilServing(at: properties["strata.worker.block.enabled"] == "false" ? jobWorkerRPC : rpc)
        return process
    }
}
