import Foundation
import StrataCore
import StrataWire

/// A group of real `strata-jobmaster` processes on loopback, each formatted on its own (as on
/// separate hosts) with one cluster id, for job-service tests. With `masters`, they plan against
/// those file-system masters; without, the deployment is job-service-only.
public struct JobMasterCluster: Sendable {
    public struct Member: Sendable {
        public let name: String
        public let rpc: HostAndPort
        public let journal: HostAndPort
        public let web: Int
        public let properties: [String: String]
    }

    public let members: [Member]
    /// Properties a client, a worker or the CLI needs to find these job masters (and the
    /// file-system masters, if any).
    public let clientProperties: [String: String]

    public static func prepare(_ harness: ProcessHarness, count: Int, masters: MasterCluster? = nil,
                               extra: [String: String] = [:]) async throws -> JobMasterCluster {
        let ports = try await ProcessHarness.freePorts(count * 3)
        let rpcs = (0..<count).map { HostAndPort(host: "127.0.0.1", port: ports[$0]) }
        let journals = (0..<count).map { HostAndPort(host: "127.0.0.1", port: ports[count + $0]) }
        var shared = masters?.clientProperties ?? [
            "strata.cluster.id": (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined(),
            // Nothing listens here: a job-service-only deployment has no file-system master.
            "strata.master.rpc.addresses": "127.0.0.1:1",
            "strata.master.embedded.journal.addresses": "127.0.0.1:2",
        ]
        shared["strata.job.master.embedded.journal.addresses"] = journals.map(\.description).joined(separator: ",")
        shared["strata.job.master.rpc.addresses"] = rpcs.map(\.description).joined(separator: ",")
        shared["strata.job.master.worker.heartbeat.interval"] = "200ms"
        shared["strata.job.master.worker.timeout"] = "3s"
        shared.merge(extra) { _, new in new }
        var members: [Member] = []
        for position in 0..<count {
            let name = "jobmaster\(position + 1)"
            var properties = shared
            properties["strata.home"] = harness.directory + "/" + name
            properties["strata.job.master.hostname"] = "127.0.0.1"
            properties["strata.job.master.bind.host"] = "127.0.0.1"
            properties["strata.job.master.rpc.port"] = String(rpcs[position].port)
            properties["strata.job.master.embedded.journal.port"] = String(journals[position].port)
            properties["strata.job.master.web.port"] = String(ports[2 * count + position])
            members.append(Member(name: name, rpc: rpcs[position], journal: journals[position], web: ports[2 * count + position], properties: properties))
            let format = try harness.start("strata", name: name + "-format", properties: properties, arguments: ["format"])
            guard try await format.waitForExit() == 0 else { throw HarnessError("strata format for \(name) failed:\n\(format.log())") }
        }
        return JobMasterCluster(members: members, clientProperties: shared)
    }

    @discardableResult
    public func start(_ member: Member, in harness: ProcessHarness, suffix: String = "") async throws -> TestProcess {
        let process = try harness.start("strata-jobmaster", name: member.name + suffix, properties: member.properties)
        try await process.waitUntilServing(at: member.rpc)
        return process
    }

    /// The member whose process says it leads (ServiceInfo role), waiting up to `timeout`.
    public func leader(excluding excluded: Set<String> = [], timeout: Duration = .seconds(20)) async throws -> Member {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for member in members where !excluded.contains(member.name) {
                let client = RPCClient(address: member.rpc, frameSizeMaxBytes: 1 << 20, connectTimeout: .milliseconds(300))
                let info = try? await client.call(ServiceMethods.getServiceInfo, GetServiceInfoRequest(), deadline: .milliseconds(500))
                await client.close()
                if info?.role == "LEADER" { return member }
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw HarnessError("no job master leads within \(timeout)")
    }
}
