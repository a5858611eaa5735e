import Foundation
import StrataCore
import StrataWire

/// One member of a group of journaled service processes (masters, job masters) on loopback.
public struct ServiceGroupMember: Sendable {
    public let name: String
    public let rpc: HostAndPort
    public let journal: HostAndPort
    public let web: Int
    public let properties: [String: String]
    /// The network namespace it runs in, if the group is on a `TestNetwork`.
    public var host: (network: TestNetwork, host: NetworkHost)? = nil
}

/// What MasterCluster and JobMasterCluster share: a member's own properties under the service's
/// property prefix, `strata format` for it, starting it, and finding the leader.
enum ServiceGroup {
    /// `name`'s properties: `shared` plus its home, host and ports under `prefix`
    /// (`strata.master`, `strata.job.master`), formatted with `strata format`.
    static func formatMember(_ harness: ProcessHarness, name: String, prefix: String, rpc: HostAndPort, journal: HostAndPort, web: Int,
                             shared: [String: String], host: (network: TestNetwork, host: NetworkHost)? = nil) async throws -> ServiceGroupMember {
        var properties = shared
        properties["strata.home"] = harness.directory + "/" + name
        properties["\(prefix).hostname"] = rpc.host
        properties["\(prefix).bind.host"] = rpc.host
        properties["\(prefix).rpc.port"] = String(rpc.port)
        properties["\(prefix).embedded.journal.port"] = String(journal.port)
        properties["\(prefix).web.port"] = String(web)
        let format = try harness.start("strata", name: name + "-format", properties: properties, arguments: ["format"])
        guard try await format.waitForExit() == 0 else { throw HarnessError("strata format for \(name) failed:\n\(format.log())") }
        return ServiceGroupMember(name: name, rpc: rpc, journal: journal, web: web, properties: properties, host: host)
    }

    /// `count` members named `namePrefix1…`, on fresh loopback ports, or each on its host of
    /// `network` (the first `count`) on the default ports.
    static func formatMembers(_ harness: ProcessHarness, count: Int, namePrefix: String, prefix: String, network: TestNetwork? = nil,
                              defaultPorts: (rpc: Int, journal: Int, web: Int) = (19998, 19200, 19999),
                              shared: (_ rpcs: [HostAndPort], _ journals: [HostAndPort]) -> [String: String])
        async throws -> (members: [ServiceGroupMember], shared: [String: String]) {
        let rpcs: [HostAndPort], journals: [HostAndPort], webs: [Int]
        if let network {
            precondition(network.hosts.count >= count, "\(count) members on \(network.hosts.count) hosts")
            rpcs = network.hosts.prefix(count).map { HostAndPort(host: $0.address, port: defaultPorts.rpc) }
            journals = network.hosts.prefix(count).map { HostAndPort(host: $0.address, port: defaultPorts.journal) }
            webs = Array(repeating: defaultPorts.web, count: count)
        } else {
            let ports = try await ProcessHarness.freePorts(count * 3)
            rpcs = (0..<count).map { HostAndPort(host: "127.0.0.1", port: ports[$0]) }
            journals = (0..<count).map { HostAndPort(host: "127.0.0.1", port: ports[count + $0]) }
            webs = Array(ports[(2 * count)...])
        }
        let properties = shared(rpcs, journals)
        var members: [ServiceGroupMember] = []
        for position in 0..<count {
            members.append(try await formatMember(harness, name: "\(namePrefix)\(position + 1)", prefix: prefix, rpc: rpcs[position],
                                                  journal: journals[position], web: webs[position], shared: properties,
                                                  host: network.map { ($0, $0.hosts[position]) }))
        }
        return (members, properties)
    }

    /// Journal nodes of one quorum (`domain`), named `journalnode1…`, at `journals` with web ports
    /// `webs`, formatted with `strata formatJournal --journal-node`. Their `rpc` is their journal
    /// address (where they answer ServiceInfo).
    static func formatJournalNodes(_ harness: ProcessHarness, domain: String, journalPortKey: String, journals: [HostAndPort], webs: [Int],
                                   shared: [String: String], hosts: [(network: TestNetwork, host: NetworkHost)] = []) async throws -> [ServiceGroupMember] {
        var nodes: [ServiceGroupMember] = []
        for (position, journal) in journals.enumerated() {
            let name = "journalnode\(position + 1)"
            var properties = shared
            properties["strata.home"] = harness.directory + "/" + name
            properties["strata.journal.node.hostname"] = journal.host
            properties["strata.journal.node.bind.host"] = journal.host
            properties["strata.journal.node.domains"] = domain
            properties[journalPortKey] = String(journal.port)
            properties["strata.journal.node.web.port"] = String(webs[position])
            let format = try harness.start("strata", name: name + "-format", properties: properties, arguments: ["formatJournal", "--journal-node"])
            guard try await format.waitForExit() == 0 else { throw HarnessError("strata formatJournal --journal-node for \(name) failed:\n\(format.log())") }
            nodes.append(ServiceGroupMember(name: name, rpc: journal, journal: journal, web: webs[position], properties: properties,
                                            host: position < hosts.count ? hosts[position] : nil))
        }
        return nodes
    }

    /// Starts (or restarts) `member`'s process and waits until it serves.
    static func start(_ executable: String, _ member: ServiceGroupMember, in harness: ProcessHarness, suffix: String,
                      environment: [String: String] = [:]) async throws -> TestProcess {
        let process = try harness.start(executable, name: member.name + suffix, properties: member.properties, environment: environment, host: member.host)
        try await process.waitUntilServing(at: member.rpc)
        return process
    }

    /// The member whose process says it leads (ServiceInfo role), waiting up to `timeout`.
    static func leader(of members: [ServiceGroupMember], what: String, excluding excluded: Set<String>, timeout: Duration) async throws -> ServiceGroupMember {
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
        throw HarnessError("no \(what) leads within \(timeout)")
    }
}
