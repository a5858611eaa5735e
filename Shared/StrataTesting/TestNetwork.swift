import Foundation
import NIOConcurrencyHelpers
import StrataCore
import Synchronization

/// One host of a `TestNetwork`: a network namespace with its own address on the bridge.
public struct NetworkHost: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let namespace: String
    public let address: String
    /// This host's end of its link, in the root namespace (for rate limits).
    let link: String
    public var description: String { "\(name) (\(address))" }
}

/// Hosts for the processes of a test cluster: each a network namespace with its own address on
/// a bridge, so that a fault hits one host and not the machine. The test itself (its clients)
/// runs in the root namespace and reaches every host through the bridge's address (`gateway`).
///
/// Faults, each undone by `heal()`:
/// - `cut(from:to:)` drops what one host sends to another (one-way); `partition` cuts every
///   pair across groups both ways (majority/minority splits; a host left in no group keeps
///   talking to everyone: a bridge node); `isolate` cuts a host from every other and from the
///   clients;
/// - `limitRate` caps a host's link with `tbf`;
/// - `delay` adds latency to a host's connections through `strata-delay-proxy` (this kernel has
///   no `netem` for delay or loss).
///
/// Needs root (`ip netns`, `iptables`). Everything is removed by `close()`, and leftovers of a
/// killed run with the same names are removed on creation.
public final class TestNetwork: Sendable {
    public let hosts: [NetworkHost]
    /// The bridge's own address: what hosts see as the clients' address.
    public let gateway: String
    public let bridge: String
    private let faults = NIOLockedValueBox<Set<String>>([])
    /// The delay proxies running (one per host while a `delay` holds).
    private let proxies = NIOLockedValueBox<[Process]>([])
    /// A delayed service port P is redirected to the proxy's port P + this.
    public static let proxyPortOffset = 10_000

    private static let created = Atomic<Int>(0)

    /// Makes `count` hosts on a new bridge, on a /24 of 10.77–10.78 not in use.
    public static func create(hosts count: Int, namePrefix: String = "host") throws -> TestNetwork {
        precondition((1...200).contains(count), "a test network has 1–200 hosts, not \(count)")
        guard getuid() == 0 else { throw HarnessError("network namespaces need root (ip netns, iptables)") }
        for _ in 0..<50 {
            let slot = (Int(getpid()) &* 7 &+ created.add(1, ordering: .relaxed).newValue) % 500
            let bridge = "stb\(slot)"
            if (try? HostCommand.run(["/usr/sbin/ip", "link", "show", bridge])) != nil { continue }  // another run's
            return try TestNetwork(slot: slot, count: count, namePrefix: namePrefix)
        }
        throw HarnessError("no free test-network slot (stb0–stb499 all in use?)")
    }

    private init(slot: Int, count: Int, namePrefix: String) throws {
        let subnet = "10.\(77 + slot / 250).\(slot % 250)"
        bridge = "stb\(slot)"
        gateway = "\(subnet).1"
        hosts = (0..<count).map { position in
            NetworkHost(name: "\(namePrefix)\(position + 1)", namespace: "st\(slot)h\(position + 1)", address: "\(subnet).\(position + 10)",
                        link: "stv\(slot)h\(position + 1)")
        }
        do {
            try HostCommand.run(["/usr/sbin/ip", "link", "add", bridge, "type", "bridge"])
            try HostCommand.run(["/usr/sbin/ip", "addr", "add", "\(gateway)/24", "dev", bridge])
            try HostCommand.run(["/usr/sbin/ip", "link", "set", bridge, "up"])
            for host in hosts {
                _ = try? HostCommand.run(["/usr/sbin/ip", "netns", "delete", host.namespace])  // a killed run's leftover
                try HostCommand.run(["/usr/sbin/ip", "netns", "add", host.namespace])
                try HostCommand.run(["/usr/sbin/ip", "link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace])
                try HostCommand.run(["/usr/sbin/ip", "link", "set", host.link, "master", bridge, "up"])
                try HostCommand.run(["/usr/sbin/ip", "-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
                try HostCommand.run(["/usr/sbin/ip", "-n", host.namespace, "link", "set", "eth0", "up"])
                try HostCommand.run(["/usr/sbin/ip", "-n", host.namespace, "link", "set", "lo", "up"])
                try HostCommand.run(["/usr/sbin/ip", "-n", host.namespace, "route", "add", "default", "via", gateway])
            }
        } catch {
            close()
            throw error
        }
    }

    /// Removes every host and the bridge.
    public func close() {
        stopProxies()
        for host in hosts { _ = try? HostCommand.run(["/usr/sbin/ip", "netns", "delete", host.namespace]) }
        _ = try? HostCommand.run(["/usr/sbin/ip", "link", "delete", bridge])
    }

    /// The command that runs `executable` with `arguments` on `host` (`ip netns exec`, which
    /// execs it: the process's pid is the one signals should reach).
    public func command(on host: NetworkHost, _ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        ("/usr/sbin/ip", ["netns", "exec", host.namespace, executable] + arguments)
    }

    // MARK: Faults

    /// `to` drops every packet from `from` (one-way: `to` still reaches `from`, but gets no answer).
    public func cut(from: NetworkHost, to: NetworkHost) throws {
        try drop(on: to, from: from.address)
    }

    /// Cuts every pair of hosts in different groups, both ways.
    public func partition(_ groups: [[NetworkHost]]) throws {
        for (position, group) in groups.enumerated() {
            for other in groups[(position + 1)...] {
                for a in group {
                    for b in other {
                        try cut(from: a, to: b)
                        try cut(from: b, to: a)
                    }
                }
            }
        }
    }

    /// Cuts `host` from every other host and from the clients (the gateway), both ways.
    public func isolate(_ host: NetworkHost) throws {
        try partition([[host], hosts.filter { $0 != host }])
        try drop(on: host, from: gateway)
    }

    /// Cuts `host` off from the clients only (both ways): the cluster still reaches it.
    public func isolateFromClients(_ host: NetworkHost) throws {
        try drop(on: host, from: gateway)
    }

    /// Cuts `host` off from one service on the gateway (its TCP `port`, both ways): say, a
    /// master from ZooKeeper, while clients still reach it. The service hears nothing from the
    /// host, so a session the host holds there expires.
    public func cutFromGateway(_ host: NetworkHost, port: Int) throws {
        let rule = "port \(host.namespace) \(port)"
        guard faults.withLockedValue({ $0.insert(rule).inserted }) else { return }
        try HostCommand.run(["/usr/sbin/ip", "netns", "exec", host.namespace, "iptables", "-A", "INPUT", "-s", gateway, "-p", "tcp", "--sport", "\(port)", "-j", "DROP"])
        try HostCommand.run(["/usr/sbin/ip", "netns", "exec", host.namespace, "iptables", "-A", "OUTPUT", "-d", gateway, "-p", "tcp", "--dport", "\(port)", "-j", "DROP"])
    }

    /// Caps what `host` receives over its link at `kilobitsPerSecond` (tbf on the bridge side).
    public func limitRate(_ host: NetworkHost, kilobitsPerSecond: Int) throws {
        try HostCommand.run(["/usr/sbin/tc", "qdisc", "replace", "dev", host.link, "root", "tbf", "rate", "\(kilobitsPerSecond)kbit",
                      "burst", "32kbit", "latency", "400ms"])
        faults.withLockedValue { _ = $0.insert("rate \(host.link)") }
    }

    /// Adds `delay` each way to every TCP connection to or from `victim` on the service `ports`
    /// (where each host's services listen), whoever opened it. Each host runs a delay proxy
    /// (`proxy`, the `strata-delay-proxy` executable) that forwards port P + `proxyPortOffset` to
    /// its own port P; iptables REDIRECTs there every connection arriving at `victim`'s ports,
    /// and at the other hosts' ports those coming from `victim`. Connections `victim` had are
    /// reset, so that they form again through the proxies.
    public func delay(_ victim: NetworkHost, by delay: Duration, ports: [Int], proxy: String) throws {
        guard faults.withLockedValue({ $0.insert("delay").inserted }) else { return }
        let milliseconds = delay.milliseconds
        for host in hosts {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", host.namespace, proxy, "--delay-ms", String(milliseconds), "--forward"]
                + ports.map { "\($0 + Self.proxyPortOffset)=\(host.address):\($0)" }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            proxies.withLockedValue { $0.append(process) }
        }
        // The proxies listen before any connection is sent their way.
        for host in hosts {
            for port in ports { try waitForListener(on: host, port: port + Self.proxyPortOffset) }
        }
        for host in hosts {
            for port in ports {
                let source = host == victim ? [] : ["-s", victim.address]
                try HostCommand.run(["/usr/sbin/ip", "netns", "exec", host.namespace, "iptables", "-t", "nat", "-A", "PREROUTING"] + source
                             + ["-p", "tcp", "--dport", "\(port)", "-j", "REDIRECT", "--to-ports", "\(port + Self.proxyPortOffset)"])
            }
        }
        for port in ports {
            _ = try? HostCommand.run(["/usr/sbin/ip", "netns", "exec", victim.namespace, "ss", "-K", "( sport = :\(port) or dport = :\(port) )"])
        }
    }

    private func waitForListener(on host: NetworkHost, port: Int) throws {
        for _ in 0..<200 {
            let listening = (try? HostCommand.run(["/usr/sbin/ip", "netns", "exec", host.namespace, "ss", "-Hltn", "sport = :\(port)"])) ?? ""
            if !listening.isEmpty { return }
            usleep(20_000)
        }
        throw HarnessError("the delay proxy on \(host) did not listen on port \(port) within 4 s")
    }

    private func stopProxies() {
        let running = proxies.withLockedValue { proxies in
            defer { proxies = [] }
            return proxies
        }
        for process in running where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Undoes every fault: all packets flow, no rate limits.
    public func heal() throws {
        let active = faults.withLockedValue { faults in
            defer { faults = [] }
            return faults
        }
        for fault in active {
            let parts = fault.split(separator: " ").map(String.init)
            if parts[0] == "rate" {
                _ = try? HostCommand.run(["/usr/sbin/tc", "qdisc", "del", "dev", parts[1], "root"])
            }
        }
        for host in hosts {
            try HostCommand.run(["/usr/sbin/ip", "netns", "exec", host.namespace, "iptables", "-F", "INPUT"])
            try HostCommand.run(["/usr/sbin/ip", "netns", "exec", host.namespace, "iptables", "-F", "OUTPUT"])
        }
        if active.contains("delay") {
            // Connections through the proxies end with them; new ones go direct.
            for host in hosts { try HostCommand.run(["/usr/sbin/ip", "netns", "exec", host.namespace, "iptables", "-t", "nat", "-F", "PREROUTING"]) }
            stopProxies()
        }
    }

    private func drop(on host: NetworkHost, from address: String) throws {
        let rule = "drop \(host.namespace) \(address)"
        guard faults.withLockedValue({ $0.insert(rule).inserted }) else { return }
        try HostCommand.run(["/usr/sbin/ip", "netns", "exec", host.namespace, "iptables", "-A", "INPUT", "-s", address, "-j", "DROP"])
    }
}
