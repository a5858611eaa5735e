import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StrataBenchSupport
import StrataCore
import StrataWire

// Embedded-journal benchmark: a 3-member Strata group (the journal test service, fsync on)
// beside a 3-member etcd cluster started here, both on loopback, both with 100ms heartbeats and a
// 1–2s election timeout.
//   (a)/(b) commits/s and p50/p99 commit latency, 1 KiB entries, 1 and 64 concurrent proposers;
//   (c) leader failure → next commit, over N trials: kill -9, and SIGSTOP (a silent failure);
//   (d) catch-up: a member killed (-9), N entries committed without it, then restarted: the
//       time until it has applied them all, for a Strata journal node (2 masters' worth of
//       serving members + 1 journal node), a Strata serving follower, and an etcd follower.
//
//   strata-bench-journal [--seconds N] [--trials N] [--catchup-entries N] [--workdir DIR] [--skip-etcd] [--catchup-only]

let options = BenchOptions()
func option(_ name: String) -> String? { options.value(name) }
let seconds = Double(option("--seconds") ?? "5") ?? 5
let trials = Int(option("--trials") ?? "20") ?? 20
let catchUpEntries = Int(option("--catchup-entries") ?? "100000") ?? 100_000
let workDirectory = option("--workdir") ?? NSTemporaryDirectory() + "strata-bench-journal-\(getpid())"
let binaryDirectory = options.binaryDirectory
let payload = [UInt8](repeating: 0x61, count: 1024)

// MARK: Processes

/// A member's process, started.
func startedChild(name: String, executable: String, arguments: [String], logPath: String) throws -> BenchProcess {
    let child = BenchProcess(name: name, executable: executable, arguments: arguments, logPath: logPath)
    try child.start()
    return child
}

func freePorts(_ count: Int) async throws -> [Int] {
    var channels: [any Channel] = []
    for _ in 0..<count {
        channels.append(try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get())
    }
    let ports = channels.compactMap { $0.localAddress?.port }
    for channel in channels { try await channel.close() }
    return ports
}

// MARK: Systems under test

/// What the benchmark needs from a replicated log: commit one entry, find the leader, and the
/// members' processes.
protocol Cluster: Sendable {
    var name: String { get }
    var members: [BenchProcess] { get }
    func leaderIndex() async -> Int?
    /// Commits one 1 KiB entry through member `index`; throws if it did not.
    func commit(through index: Int, key: String, deadline: Duration) async throws
    func waitHealthy(_ index: Int) async throws
    /// The highest Raft term any member reports (each election raises it).
    func term() async -> UInt64
    /// The index member `index` has applied, if it answers.
    func appliedIndex(_ index: Int) async -> UInt64?
}

final class StrataCluster: Cluster, @unchecked Sendable {
    static let propose = RPCMethod<EchoRequest, EchoResponse>(id: 0x00FE_0001, name: "TestService.Propose")
    static let status = RPCMethod<EchoRequest, EchoResponse>(id: 0x00FE_0002, name: "TestService.Status")
    let name = "strata"
    let members: [BenchProcess]
    let clients: [RPCClient]

    /// With `journalNode`, the third member is a journal node (votes and keeps the log, serves nothing).
    init(journalNode: Bool = false) async throws {
        let ports = try await freePorts(3)
        let addresses = ports.map { "127.0.0.1:\($0)" }
        var members: [BenchProcess] = []
        let prefix = journalNode ? "strata-jn" : "strata"
        for (position, address) in addresses.enumerated() {
            members.append(try startedChild(name: "\(prefix)-\(position + 1)", executable: binaryDirectory + "/strata-journal-test-service",
                                     arguments: ["--member", address, "--members", addresses.joined(separator: ","),
                                                 "--dir", workDirectory + "/\(prefix)-\(position + 1)",
                                                 "--heartbeat-ms", "100", "--election-timeout-ms", "1000"]
                                         + (journalNode ? ["--non-serving", addresses[2]] : []),
                                     logPath: workDirectory + "/\(prefix)-\(position + 1).log"))
        }
        self.members = members
        clients = ports.map { RPCClient(address: HostAndPort(host: "127.0.0.1", port: $0), frameSizeMaxBytes: 16 << 20, connectTimeout: .milliseconds(200)) }
    }

    func leaderIndex() async -> Int? {
        for (position, client) in clients.enumerated() {
            if let status = try? await client.call(Self.status, EchoRequest(data: []), deadline: .milliseconds(300)),
               String(decoding: status.data, as: UTF8.self).hasPrefix("LEADER") { return position }
        }
        return nil
    }

    func term() async -> UInt64 {
        var highest: UInt64 = 0
        for client in clients {
            if let status = try? await client.call(Self.status, EchoRequest(data: []), deadline: .milliseconds(300)) {
                let fields = String(decoding: status.data, as: UTF8.self).split(separator: " ")
                if fields.count > 1, let term = UInt64(fields[1]) { highest = max(highest, term) }
            }
        }
        return highest
    }

    func appliedIndex(_ index: Int) async -> UInt64? {
        guard let status = try? await clients[index].call(Self.status, EchoRequest(data: []), deadline: .milliseconds(300)) else { return nil }
        let fields = String(decoding: status.data, as: UTF8.self).split(separator: " ")
        return fields.count > 4 ? UInt64(fields[4]) : nil
    }

    func commit(through index: Int, key: String, deadline: Duration) async throws {
        _ = try await clients[index].call(Self.propose, EchoRequest(data: Array(key.utf8) + payload), deadline: deadline)
    }

    func waitHealthy(_ index: Int) async throws {
        for _ in 0..<200 {
            if (try? await clients[index].call(Self.status, EchoRequest(data: []), deadline: .milliseconds(300))) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("\(members[index].name) did not come up")
    }
}

final class EtcdCluster: Cluster, @unchecked Sendable {
    let name = "etcd"
    let members: [BenchProcess]
    let clientPorts: [Int]

    init() async throws {
        let ports = try await freePorts(6)
        let clientPorts = Array(ports[0..<3]), peerPorts = Array(ports[3..<6])
        var members: [BenchProcess] = []
        for position in 0..<3 {
            members.append(try startedChild(name: "etcd-\(position + 1)", executable: Etcd.executable, arguments: Etcd.memberArguments(
                position: position, clientPorts: clientPorts, peerPorts: peerPorts, dataDirectory: workDirectory + "/etcd-\(position + 1)"
            ), logPath: workDirectory + "/etcd-\(position + 1).log"))
        }
        self.members = members
        self.clientPorts = clientPorts
    }

    func leaderIndex() async -> Int? { await Etcd.leader(clientPorts) }

    func term() async -> UInt64 {
        var highest: UInt64 = 0
        for port in clientPorts {
            if let json = await Etcd.status(port: port),
               let header = json["header"] as? [String: Any], let term = header["raft_term"] as? String ?? (header["raft_term"] as? NSNumber)?.stringValue,
               let value = UInt64(term) {
                highest = max(highest, value)
            }
        }
        return highest
    }

    func appliedIndex(_ index: Int) async -> UInt64? {
        guard let json = await Etcd.status(port: clientPorts[index]) else { return nil }
        let value = json["raftAppliedIndex"] ?? json["raftIndex"]
        return (value as? String).flatMap(UInt64.init) ?? (value as? NSNumber)?.uint64Value
    }

    func commit(through index: Int, key: String, deadline: Duration) async throws {
        let body = "{\"key\":\"\(Data(key.utf8).base64EncodedString())\",\"value\":\"\(Data(payload).base64EncodedString())\"}"
        let response = try await EtcdConnection.post(port: clientPorts[index], "/v3/kv/put", body, deadline: deadline)
        guard response.contains("\"revision\"") else { throw BenchError("etcd put failed: \(response.prefix(200))") }
    }

    func waitHealthy(_ index: Int) async throws {
        for _ in 0..<200 {
            if let json = await Etcd.status(port: clientPorts[index]), json["leader"] != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("\(members[index].name) did not come up")
    }
}

// MARK: Measurements

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

func waitForLeader(_ cluster: any Cluster, timeout: Duration = .seconds(30)) async throws -> Int {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let leader = await cluster.leaderIndex() { return leader }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw BenchError("\(cluster.name): no leader within \(timeout)")
}

/// Commits from `proposers` concurrent loops against the leader for `seconds`.
func throughput(_ cluster: any Cluster, proposers: Int) async throws -> (perSecond: Double, p50: Double, p99: Double) {
    let leader = try await waitForLeader(cluster)
    let started = ContinuousClock.now
    let end = started + .milliseconds(Int64(seconds * 1000))
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for proposer in 0..<proposers {
            group.addTask {
                var latencies: [Double] = []
                var sequence = 0
                while ContinuousClock.now < end {
                    let sent = ContinuousClock.now
                    try await cluster.commit(through: leader, key: "t\(proposers)-\(proposer)-\(sequence)", deadline: .seconds(10))
                    latencies.append(milliseconds(ContinuousClock.now - sent))
                    sequence += 1
                }
                return latencies
            }
        }
        var all: [Double] = []
        for try await part in group { all += part }
        return all.sorted()
    }
    let elapsed = milliseconds(ContinuousClock.now - started) / 1000
    return (Double(latencies.count) / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99))
}

/// Fails the leader (kill -9, or SIGSTOP) and measures until an entry proposed after the failure
/// commits through a surviving member. Then brings the old leader back.
func failover(_ cluster: any Cluster, silent: Bool, trial: Int) async throws -> Double {
    let leader = try await waitForLeader(cluster)
    let survivors = (0..<cluster.members.count).filter { $0 != leader }
    try await cluster.commit(through: leader, key: "warm-\(trial)", deadline: .seconds(5))
    let failedAt = ContinuousClock.now
    if silent { cluster.members[leader].signal(SIGSTOP) } else { cluster.members[leader].kill9() }
    var attempt = 0
    var recovered: Double? = nil
    while recovered == nil && ContinuousClock.now - failedAt < .seconds(30) {
        let target = survivors[attempt % survivors.count]
        attempt += 1
        do {
            try await cluster.commit(through: target, key: "f-\(silent)-\(trial)-\(attempt)", deadline: .milliseconds(500))
            recovered = milliseconds(ContinuousClock.now - failedAt)
        } catch {
            try await Task.sleep(for: .milliseconds(5))
        }
    }
    if silent { cluster.members[leader].signal(SIGCONT) } else { try cluster.members[leader].start() }
    try await cluster.waitHealthy(leader)
    try await Task.sleep(for: .milliseconds(1500))
    guard let recovered else { throw BenchError("\(cluster.name): no commit within 30s of the leader's failure") }
    return recovered
}

/// Kills member `member` (-9), commits `catchUpEntries` entries from 64 proposers without it,
/// restarts it and times how long it takes to apply everything the leader had applied.
func catchUp(_ cluster: any Cluster, member: Int) async throws -> (seconds: Double, perSecond: Double) {
    let leader = try await waitForLeader(cluster)
    precondition(leader != member, "catching up the leader")
    cluster.members[member].kill9()
    let counter = NIOLockedValueBox(0)
    try await withThrowingTaskGroup(of: Void.self) { group in
        for proposer in 0..<64 {
            group.addTask {
                while true {
                    let sequence: Int? = counter.withLockedValue { count in
                        guard count < catchUpEntries else { return nil }
                        count += 1
                        return count
                    }
                    guard let sequence else { return }
                    try await cluster.commit(through: leader, key: "c-\(member)-\(proposer)-\(sequence)", deadline: .seconds(10))
                }
            }
        }
        try await group.waitForAll()
    }
    guard let target = await cluster.appliedIndex(leader) else { throw BenchError("\(cluster.name): the leader does not report its applied index") }
    let restarted = ContinuousClock.now
    try cluster.members[member].start()
    while true {
        if let applied = await cluster.appliedIndex(member), applied >= target { break }
        guard ContinuousClock.now - restarted < .seconds(300) else { throw BenchError("\(cluster.members[member].name) did not catch up within 300s") }
        try await Task.sleep(for: .milliseconds(10))
    }
    let seconds = milliseconds(ContinuousClock.now - restarted) / 1000
    return (seconds, Double(catchUpEntries) / seconds)
}

func format(_ value: Double, _ digits: Int = 1) -> String {
    let scale = pow(10, Double(digits))
    return String((value * scale).rounded() / scale)
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

// MARK: Main

try? FileManager.default.removeItem(atPath: workDirectory)
try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
var clusters: [any Cluster] = []
do {
    clusters.append(try await StrataCluster())
    if !options.arguments.contains("--skip-etcd") {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd") else { throw BenchError("etcd not installed (apt-get install etcd-server)") }
        clusters.append(try await EtcdCluster())
    }
    print("strata-bench-journal: 3 members each, loopback, fsync on, 1 KiB entries, \(seconds)s per load case, \(trials) failover trials, \(System.coreCount) cores")
    let catchUpOnly = options.arguments.contains("--catchup-only")
    print(pad("system", 8) + pad("proposers", 11) + pad("commits/s", 12) + pad("p50 ms", 10) + pad("p99 ms", 10))
    var electionNotes: [String] = []
    for cluster in clusters where !catchUpOnly {
        _ = try await waitForLeader(cluster)
        let termBefore = await cluster.term()
        for proposers in [1, 64] {
            let result = try await throughput(cluster, proposers: proposers)
            print(pad(cluster.name, 8) + pad(String(proposers), 11) + pad(format(result.perSecond, 0), 12) + pad(format(result.p50, 2), 10) + pad(format(result.p99, 2), 10))
        }
        let termAfter = await cluster.term()
        electionNotes.append("\(cluster.name): \(termAfter - termBefore) election(s) under load")
    }
    print(electionNotes.joined(separator: "; "))
    print("")
    print(pad("system", 8) + pad("failure", 10) + pad("median ms", 11) + pad("worst ms", 10))
    for cluster in clusters where !catchUpOnly {
        for silent in [false, true] {
            var times: [Double] = []
            for trial in 0..<trials { times.append(try await failover(cluster, silent: silent, trial: trial)) }
            times.sort()
            print(pad(cluster.name, 8) + pad(silent ? "SIGSTOP" : "kill -9", 10) + pad(format(percentile(times, 0.5), 0), 11) + pad(format(times.last ?? 0, 0), 10))
        }
    }
    if catchUpEntries > 0 {
        // Catch-up after a restart: everything written while the member was down (more than the
        // 64 MiB log cache at the default 100,000 KiB entries, so part is read back from disk).
        print("")
        print("catch-up of a member killed (-9) while \(catchUpEntries) entries of 1 KiB were committed, from its restart")
        print(pad("system", 8) + pad("member", 16) + pad("seconds", 10) + pad("entries/s", 12))
        let others = clusters
        let withJournalNode = try await StrataCluster(journalNode: true)
        clusters.append(withJournalNode)
        _ = try await waitForLeader(withJournalNode)
        let journalNode = try await catchUp(withJournalNode, member: 2)
        print(pad("strata", 8) + pad("journal node", 16) + pad(format(journalNode.seconds, 2), 10) + pad(format(journalNode.perSecond, 0), 12))
        for cluster in others {
            let leader = try await waitForLeader(cluster)
            let follower = (0..<cluster.members.count).first { $0 != leader }!
            let result = try await catchUp(cluster, member: follower)
            print(pad(cluster.name, 8) + pad("follower", 16) + pad(format(result.seconds, 2), 10) + pad(format(result.perSecond, 0), 12))
        }
    }
} catch {
    print("strata-bench-journal: \(error)")
    for cluster in clusters { for member in cluster.members { member.signal(SIGCONT); member.kill9() } }
    exit(1)
}
for cluster in clusters { for member in cluster.members { member.kill9() } }
try? FileManager.default.removeItem(atPath: workDirectory)
