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
        let ports = try await ProcessHarness.freePorts(3)
        var properties = cluster.clientProperties
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
                          properties: properties, tierDirectories: directories)
    }

    @discardableResult
    public func start(in harness: ProcessHarness, suffix: String = "") async throws -> TestProcess {
        let process = try harness.start("strata-worker", name: name + suffix, properties: properties)
        try await process.waitUntilServing(at: rpc)
        return process
    }
}
