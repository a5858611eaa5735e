import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import StrataBenchSupport
import StrataClient
import StrataCore
import StrataTesting
import StrataWire
import StrataZooKeeper

// Strata's masters beside ZooKeeper and etcd, on this machine, in one run, with the same load
// shapes: a 3-server ZooKeeper ensemble (Debian's `zookeeper`), a 3-member etcd cluster (Debian's
// `etcd-server`) and a 3-master Strata cluster on the embedded journal, all fsyncing, one at a
// time, each driven from this process with 1 and 64 requests outstanding:
//   create   ZooKeeper create of an empty node | etcd put of a new key  | Strata CreateFile (empty)
//   read     ZooKeeper sync + get              | etcd linearizable range | Strata GetFileStatus
//   list     ZooKeeper getChildren of 100      | etcd range of a 100-key prefix | Strata ListStatus of 100
// (ZooKeeper's plain get, served from a possibly stale server, is printed for reference.)
// ZooKeeper and Strata multiplex every outstanding request on one session / connection; etcd is
// reached through its JSON gateway over HTTP/1.1 (no gRPC library here), one keep-alive
// connection per outstanding request.
// Each case runs for `seconds` after a one-second warm-up; every case records the CPU the servers
// and this load generator used (from /proc) and the machine's steal time. With `--runs N` the
// whole comparison repeats N times and the summary gives each figure's median.
//
// Then fail-over: the leader killed (-9) or stopped (SIGSTOP), `--failovers` times each, on every
// system (Strata on both journals: `strata` embedded, `strata-ufs` on a UFS journal with a
// ZooKeeper ensemble electing): the time from the signal to the first write acknowledged after it,
// one writer retrying (ZooKeeper's and etcd's writer talk to a follower that survives).
//
//   strata-bench-compare [--seconds S] [--runs N] [--outstanding 1,64] [--failovers N]
//                        [--systems zookeeper,etcd,strata,strata-ufs] [--ops create,read,get,list]

let options = BenchOptions()
let seconds = Double(options.value("--seconds", "5")) ?? 5
let runs = Int(options.value("--runs", "3")) ?? 3
let outstandingCases = options.value("--outstanding", "1,64").split(separator: ",").compactMap { Int($0) }
let systems = options.value("--systems", "zookeeper,etcd,strata,strata-ufs").split(separator: ",").map(String.init)
/// Which load cases to run (all by default; one alone is handy under a profiler).
let operations = Set(options.value("--ops", "create,read,get,list").split(separator: ",").map(String.init))
let warmup = 1.0
let failoverTrials = Int(options.value("--failovers", "3")) ?? 3
/// The UFS journal's ZooKeeper session timeout in this benchmark (the product's default is 60 s):
/// a SIGSTOP'd leader is replaced only when its session expires; a killed one (its RPC port
/// refuses connections) as soon as the standby behind it notices, whatever the timeout.
let ufsSessionTimeout: Duration = .seconds(10)

// MARK: CPU accounting

/// Clock ticks of CPU a process has used (user + system), from /proc/PID/stat.
func cpuTicks(_ pid: Int32) -> Int64 {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = text.lastIndex(of: ")") else { return 0 }
    // Fields after the command name: state is field 3, utime 14, stime 15.
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return 0 }
    return user + system
}

/// The machine's CPU ticks from /proc/stat: total, busy (not idle or waiting for I/O) and steal.
func machineTicks() -> (total: Int64, busy: Int64, steal: Int64) {
    guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return (0, 0, 0) }
    // user nice system idle iowait irq softirq steal guest guest_nice (guests are within user).
    let values = Array(line.split(separator: " ").dropFirst().compactMap { Int64($0) }.prefix(8))
    guard values.count == 8 else { return (0, 0, 0) }
    let total = values.reduce(0, +)
    return (total, total - values[3] - values[4] - values[7], values[7])
}

let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
let cores = Double(ProcessInfo.processInfo.activeProcessorCount)

/// Where the CPU went during one load case: servers, generator and everything else on the
/// machine in cores busy, steal in percent of the machine's CPU.
struct CPUSplit {
    var servers: Double
    var generator: Double
    var other: Double
    var steal: Double
    var text: String {
        "servers \(format(servers, 2)), generator \(format(generator, 2)), other \(format(other, 2)) cores; steal \(format(steal, 1))%"
    }
}

func measuringCPU<T>(servers: [Int32], _ body: () async throws -> T) async rethrows -> (T, CPUSplit) {
    let self_ = getpid()
    let serversBefore = servers.map(cpuTicks).reduce(0, +), generatorBefore = cpuTicks(self_), machineBefore = machineTicks()
    let started = ContinuousClock.now
    let result = try await body()
    let elapsed = (ContinuousClock.now - started).seconds
    let serversAfter = servers.map(cpuTicks).reduce(0, +), generatorAfter = cpuTicks(self_), machineAfter = machineTicks()
    let total = Double(machineAfter.total - machineBefore.total)
    let serversCores = Double(serversAfter - serversBefore) / ticksPerSecond / elapsed
    let generatorCores = Double(generatorAfter - generatorBefore) / ticksPerSecond / elapsed
    let busyCores = Double(machineAfter.busy - machineBefore.busy) / ticksPerSecond / elapsed
    return (result, CPUSplit(servers: serversCores, generator: generatorCores, other: max(0, busyCores - serversCores - generatorCores),
                             steal: total > 0 ? Double(machineAfter.steal - machineBefore.steal) / total * 100 : 0))
}

// MARK: Load

func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : String(repeating: " ", count: width - text.count) + text }

/// One load case's figures.
struct Figure {
    var opsPerSecond: Double
    var p50: Double
    var p99: Double
    var cpu: CPUSplit
    /// Operations that failed (counted apart, not in the rate or latencies), and the first error.
    var errors: Int
    var firstError: String?
}

/// Runs `operation(slot, sequence)` from `outstanding` concurrent tasks: a warm-up, then `seconds`
/// measured. A failed operation is counted as an error and the task goes on, as a client would
/// retry; the figure reports the errors beside the rate.
func load(outstanding: Int, servers: [Int32], _ operation: @escaping @Sendable (Int, Int) async throws -> Void) async throws -> Figure {
    let sequence = NIOLockedValueBox(0)
    let failures = NIOLockedValueBox<(count: Int, first: String?)>((0, nil))
    func run(for duration: Double, record: Bool) async -> [Double] {
        let end = ContinuousClock.now + .milliseconds(Int64(duration * 1000))
        return await withTaskGroup(of: [Double].self) { group in
            for slot in 0..<outstanding {
                group.addTask {
                    var latencies: [Double] = []
                    latencies.reserveCapacity(record ? 100_000 : 0)
                    while ContinuousClock.now < end {
                        let next = sequence.withLockedValue { $0 += 1; return $0 }
                        let started = ContinuousClock.now
                        do {
                            try await operation(slot, next)
                        } catch {
                            if record { failures.withLockedValue { $0 = ($0.count + 1, $0.first ?? "\(error)") } }
                            continue
                        }
                        if record { latencies.append((ContinuousClock.now - started).seconds * 1000) }
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for await part in group { all += part }
            return all
        }
    }
    _ = await run(for: warmup, record: false)
    let started = ContinuousClock.now
    let (latencies, cpu) = await measuringCPU(servers: servers) { await run(for: seconds, record: true).sorted() }
    let elapsed = (ContinuousClock.now - started).seconds
    let failed = failures.withLockedValue { $0 }
    return Figure(opsPerSecond: Double(latencies.count) / elapsed,
                  p50: latencies.isEmpty ? 0 : latencies[latencies.count / 2],
                  p99: latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, latencies.count * 99 / 100)], cpu: cpu,
                  errors: failed.count, firstError: failed.first)
}

/// figures[system][operation][outstanding] = one figure per run.
nonisolated(unsafe) var figures: [String: [String: [Int: [Figure]]]] = [:]

func record(_ system: String, _ operation: String, _ outstanding: Int, _ figure: Figure) {
    figures[system, default: [:]][operation, default: [:]][outstanding, default: []].append(figure)
    print(pad(system, 10) + pad(operation, 10) + pad("\(outstanding)", 6) + pad(format(figure.opsPerSecond, 0), 10)
          + pad(format(figure.p50, 2), 9) + pad(format(figure.p99, 2), 9) + "   " + figure.cpu.text
          + (figure.errors == 0 ? "" : "   \(figure.errors) ERRORS, first: \(figure.firstError ?? "")"))
}

/// Runs one system's load cases: for each outstanding count, `prepare` it, then each named
/// operation `cases(outstanding)` gives, recorded under the system's name.
func runLoadCases(_ system: String, servers: [Int32], prepare: (Int) async throws -> Void = { _ in },
                  _ cases: (Int) -> [(name: String, operation: @Sendable (Int, Int) async throws -> Void)]) async throws {
    // What the servers burn with no load at all (heartbeats, timers): the floor under every case.
    let (_, idle) = try await measuringCPU(servers: servers) { try await Task.sleep(for: .seconds(2)) }
    print(pad(system, 10) + pad("idle", 10) + pad("-", 6) + pad("-", 10) + pad("-", 9) + pad("-", 9) + "   " + idle.text)
    for outstanding in outstandingCases {
        try await prepare(outstanding)
        for (name, operation) in cases(outstanding) where operations.contains(name) {
            record(system, name, outstanding, try await load(outstanding: outstanding, servers: servers, operation))
        }
    }
}

// MARK: Fail-over

enum FailureKind: String, CaseIterable { case kill = "kill -9", stop = "SIGSTOP" }

/// failovers[system][kind] = milliseconds from the signal to the next acknowledged write, per trial.
nonisolated(unsafe) var failovers: [String: [FailureKind: [Double]]] = [:]

/// `trials` fail-overs of each kind: `leader()` names the leader and how to signal it and bring it
/// back; `write(sequence)` makes one write, throwing if it fails (it is retried at once).
func measureFailovers(_ system: String, leader: () async throws -> (name: String, signal: (Int32) -> Void, revive: (FailureKind) async throws -> Void),
                      write: @escaping @Sendable (Int) async throws -> Void) async throws {
    var sequence = 1_000_000
    for kind in FailureKind.allCases {
        for trial in 1...failoverTrials {
            // A healthy cluster first: a write goes through.
            try await eventually(60, "\(system) to take writes before fail-over trial \(trial)") {
                sequence += 1
                return (try? await write(sequence)) != nil
            }
            let (name, signal, revive) = try await leader()
            let started = ContinuousClock.now
            signal(kind == .kill ? SIGKILL : SIGSTOP)
            var attempts = 0
            while true {
                sequence += 1
                attempts += 1
                if (try? await write(sequence)) != nil { break }
                guard ContinuousClock.now - started < .seconds(120) else { throw BenchError("\(system): no write acknowledged within 120 s of \(kind.rawValue) of \(name)") }
                try await Task.sleep(for: .milliseconds(5))
            }
            let took = (ContinuousClock.now - started).seconds * 1000
            failovers[system, default: [:]][kind, default: []].append(took)
            print(pad(system, 10) + "  \(kind.rawValue) of the leader (\(name)): next write acknowledged after \(format(took, 0)) ms (\(attempts) attempts)")
            try await revive(kind)
        }
    }
}

// MARK: ZooKeeper

func benchZooKeeper(run: Int) async throws {
    try await ProcessHarness.with("bench-compare-zookeeper") { harness in
        let ensemble = try await ZooKeeperEnsemble.start(harness, count: 3)
        let servers = harness.runningProcesses(named: "zookeeper").map(\.pid)
        let session = try await ZooKeeperSession.connect(.init(servers: ensemble.connectString.split(separator: ",").map(String.init),
                                                               sessionTimeout: .seconds(10), connectionTimeout: .seconds(10)))
        try await session.createParents("/bench/list")
        for child in 0..<100 { try await session.create("/bench/list/c\(child)") }
        try await session.create("/bench/point")
        try await runLoadCases("zookeeper", servers: servers, prepare: { try await session.createParents("/bench/create-\(run)-\($0)") }) { outstanding in [
            ("create", { _, sequence in try await session.create("/bench/create-\(run)-\(outstanding)/n\(sequence)") }),
            ("read", { _, _ in
                try await session.sync("/bench/point")
                _ = try await session.data("/bench/point")
            }),
            ("get", { _, _ in _ = try await session.data("/bench/point") }),
            ("list", { _, _ in
                let children = try await session.children("/bench/list")
                guard children.count == 100 else { throw BenchError("getChildren gave \(children.count) children, not 100") }
            }),
        ] }
        await session.close()
        guard run == 1, failoverTrials > 0 else { return }
        // The writer's session lives on a follower, which is never signalled; when a fail-over
        // made the writer's server the leader, the writer moves to another server.
        let writer = NIOLockedValueBox<(id: Int, session: ZooKeeperSession)?>(nil)
        func writerAvoiding(_ leader: Int) async throws {
            if let current = writer.withLockedValue({ $0 }), current.id != leader { return }
            if let current = writer.withLockedValue({ $0 }) { await current.session.close() }
            let server = ensemble.servers.first { $0.id != leader }!
            let session = try await ZooKeeperSession.connect(.init(servers: ["127.0.0.1:\(server.clientPort)"], sessionTimeout: .seconds(10),
                                                                   connectionTimeout: .seconds(10), operationTimeout: .seconds(3)))
            try await session.createParents("/bench/failover")
            writer.withLockedValue { $0 = (server.id, session) }
        }
        guard let first = await ensemble.leaderID() else { throw BenchError("no ZooKeeper server leads") }
        try await writerAvoiding(first)
        try await measureFailovers("zookeeper", leader: {
            guard let id = await ensemble.leaderID() else { throw BenchError("no ZooKeeper server leads") }
            try await writerAvoiding(id)
            return ("server \(id)", { signal in ensemble.process(id)?.signal(signal) }, { kind in
                if kind == .kill { try await ensemble.restart(id) } else { ensemble.process(id)?.signal(SIGCONT) }
                // Back as a follower: a resumed leader answers "Mode: leader" until it notices.
                try await eventually(60, "ZooKeeper server \(id) to follow again") { await ensemble.mode(of: id) == "follower" }
            })
        }, write: { sequence in
            guard let session = writer.withLockedValue({ $0?.session }) else { throw BenchError("no writer session") }
            _ = try await session.create("/bench/failover/n\(sequence)")
        })
        await writer.withLockedValue({ $0?.session })?.close()
    }
}

// MARK: etcd

func benchEtcd(run: Int) async throws {
    try await ProcessHarness.with("bench-compare-etcd") { harness in
        let ports = try await ProcessHarness.freePorts(6)
        let clientPorts = Array(ports[0..<3]), peerPorts = Array(ports[3..<6])
        for position in 0..<3 {
            let directory = harness.directory + "/etcd-\(position + 1)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            _ = try harness.startExternal(Etcd.executable, name: "etcd-\(position + 1)", directory: directory, arguments: Etcd.memberArguments(
                position: position, clientPorts: clientPorts, peerPorts: peerPorts, dataDirectory: directory + "/data"))
        }
        try await eventually(30, "etcd to elect a leader") { await Etcd.leader(clientPorts) != nil }
        let servers = harness.runningProcesses(named: "etcd").map(\.pid)
        // Clients spread over the members, as etcd's clients balance over their endpoints.
        var connections: [EtcdConnection] = []
        for slot in 0..<(outstandingCases.max() ?? 1) { connections.append(try await EtcdConnection(port: clientPorts[slot % 3])) }
        let pool = connections
        for child in 0..<100 { _ = try await pool[0].post("/v3/kv/put", "{\"key\":\"\(Etcd.base64("/bench/list/c\(child)"))\",\"value\":\"\"}") }
        _ = try await pool[0].post("/v3/kv/put", "{\"key\":\"\(Etcd.base64("/bench/point"))\",\"value\":\"\"}")
        let listRange = "{\"key\":\"\(Etcd.base64("/bench/list/"))\",\"range_end\":\"\(Etcd.base64("/bench/list0"))\"}"
        let pointRange = "{\"key\":\"\(Etcd.base64("/bench/point"))\"}"
        try await runLoadCases("etcd", servers: servers) { outstanding in [
            ("create", { slot, sequence in
                let body = try await pool[slot].post("/v3/kv/put", "{\"key\":\"\(Etcd.base64("/bench/create-\(run)-\(outstanding)/n\(sequence)"))\",\"value\":\"\"}")
                guard body.contains("{") else { throw BenchError("etcd put answered nothing") }
            }),
            ("read", { slot, _ in
                let body = try await pool[slot].post("/v3/kv/range", pointRange)
                guard body.contains("\"count\":\"1\"") else { throw BenchError("etcd range of /bench/point: \(body.prefix(200))") }
            }),
            ("list", { slot, _ in
                let body = try await pool[slot].post("/v3/kv/range", listRange)
                guard body.contains("\"count\":\"100\"") else { throw BenchError("etcd range of /bench/list/: \(body.prefix(200))") }
            }),
        ] }
        for connection in pool { await connection.close() }
        guard run == 1, failoverTrials > 0 else { return }
        // The writer talks to a follower, which is never signalled, with a 500 ms deadline per
        // attempt (etcd holds a request whose leader died until its own timeout).
        let writer = NIOLockedValueBox<(position: Int, connection: EtcdConnection?)>((0, nil))
        func writerAvoiding(_ leader: Int) {
            writer.withLockedValue { current in
                if current.position == leader || current.connection == nil {
                    let old = current.connection
                    Task { await old?.close() }
                    current = ((leader + 1) % 3, nil)
                }
            }
        }
        try await measureFailovers("etcd", leader: {
            guard let position = await Etcd.leader(clientPorts) else { throw BenchError("no etcd member leads") }
            writerAvoiding(position)
            let process = harness.runningProcesses(named: "etcd-\(position + 1)").last!
            return ("member \(position + 1)", { signal in process.signal(signal) }, { kind in
                if kind == .kill {
                    let directory = harness.directory + "/etcd-\(position + 1)"
                    _ = try harness.startExternal(Etcd.executable, name: "etcd-\(position + 1)", directory: directory, arguments: Etcd.memberArguments(
                        position: position, clientPorts: clientPorts, peerPorts: peerPorts, dataDirectory: directory + "/data"))
                } else {
                    process.signal(SIGCONT)
                }
                try await eventually(30, "etcd member \(position + 1) to serve again") {
                    guard let connection = try? await EtcdConnection(port: clientPorts[position]) else { return false }
                    defer { Task { await connection.close() } }
                    return (try? await connection.post("/v3/kv/range", pointRange, deadline: .seconds(1))) != nil
                }
                // Back as a follower: a resumed leader says it leads until it notices.
                try await eventually(30, "etcd member \(position + 1) to follow again") {
                    guard let leader = await Etcd.leader(clientPorts) else { return false }
                    return leader != position
                }
            })
        }, write: { sequence in
            var (position, connection) = writer.withLockedValue { $0 }
            if connection == nil {
                connection = try await EtcdConnection(port: clientPorts[position])
                writer.withLockedValue { $0.connection = connection }
            }
            do {
                _ = try await connection!.post("/v3/kv/put", "{\"key\":\"\(Etcd.base64("/bench/failover/n\(sequence)"))\",\"value\":\"\"}", deadline: .milliseconds(500))
            } catch {
                writer.withLockedValue { if $0.connection === connection { $0.connection = nil } }
                await connection!.close()
                throw error
            }
        })
        await writer.withLockedValue({ $0.connection })?.close()
    }
}

// MARK: Strata

/// Strata's fail-overs: the leading master signalled; one writer (a FileSystemClient that knows
/// every master, as users' clients do) creates files and retries.
func strataFailovers(_ system: String, cluster: MasterCluster, harness: ProcessHarness, client: FileSystemClient) async throws {
    _ = try await client.createDirectory("/bench/failover", recursive: true, allowExists: true)
    let restarts = NIOLockedValueBox(0)
    try await measureFailovers(system, leader: {
        let member = try await cluster.leader()
        guard let process = harness.runningProcesses(named: member.name).last else { throw BenchError("no process for \(member.name)") }
        return (member.name, { signal in process.signal(signal) }, { kind in
            if kind == .kill {
                let restart = restarts.withLockedValue { $0 += 1; return $0 }
                try await cluster.start(member, in: harness, suffix: "-r\(restart)")
            } else {
                process.signal(SIGCONT)
                try await process.waitUntilServing(at: member.rpc)
            }
            // Back as a follower: a resumed leader says it leads until it hears a newer term.
            try await eventually(30, "\(member.name) to follow again") {
                let info = try? await RPCClient.with(member.rpc, frameSizeMaxBytes: 1 << 20) { (client) async throws(RPCError) -> ServiceInfo in
                    try await client.call(ServiceMethods.getServiceInfo, GetServiceInfoRequest(), deadline: .seconds(1))
                }
                return info.map { $0.role != "LEADER" } ?? false
            }
        })
    }, write: { sequence in _ = try await client.createFile("/bench/failover/n\(sequence)") })
}

func strataClient(_ cluster: MasterCluster) throws -> FileSystemClient {
    let configuration = try Configuration.defaults(overrides: [
        .masterRpcAddresses: cluster.members.map(\.rpc.description).joined(separator: ","),
        .userRpcRetryMaxDuration: "30s",
    ])
    return FileSystemClient(masters: cluster.members.map(\.rpc), configuration: configuration)
}

func benchStrata(run: Int) async throws {
    try await ProcessHarness.with("bench-compare-strata") { harness in
        let cluster = try await MasterCluster.prepare(harness, count: 3)
        for member in cluster.members { try await cluster.start(member, in: harness) }
        _ = try await cluster.leader()
        let servers = harness.runningProcesses(named: "master").map(\.pid)
        let client = try strataClient(cluster)
        _ = try await client.createDirectory("/bench/list", recursive: true)
        for child in 0..<100 { _ = try await client.createFile("/bench/list/c\(child)") }
        _ = try await client.createFile("/bench/point")
        try await runLoadCases("strata", servers: servers, prepare: { _ = try await client.createDirectory("/bench/create-\($0)", recursive: true) }) { outstanding in [
            ("create", { _, sequence in _ = try await client.createFile("/bench/create-\(outstanding)/n\(sequence)") }),
            ("read", { _, _ in _ = try await client.status("/bench/point") }),
            ("list", { _, _ in
                let entries = try await client.list("/bench/list")
                guard entries.count == 100 else { throw BenchError("ListStatus gave \(entries.count) entries, not 100") }
            }),
        ] }
        if run == 1 && failoverTrials > 0 { try await strataFailovers("strata", cluster: cluster, harness: harness, client: client) }
        await client.close()
    }
}

/// Strata on a UFS journal (a shared folder, a 3-server ZooKeeper ensemble electing): fail-over only.
func benchStrataUFS() async throws {
    try await ProcessHarness.with("bench-compare-strata-ufs") { harness in
        let ensemble = try await ZooKeeperEnsemble.start(harness, count: 3)
        let cluster = try await MasterCluster.prepareUFS(harness, count: 3, zooKeeper: ensemble, sessionTimeout: ufsSessionTimeout)
        for member in cluster.members { try await cluster.start(member, in: harness) }
        _ = try await cluster.leader()
        let client = try strataClient(cluster)
        try await strataFailovers("strata-ufs", cluster: cluster, harness: harness, client: client)
        await client.close()
    }
}

// MARK: Main

print("strata-bench-compare: \(runs) run(s), \(format(seconds, 0)) s per case after \(format(warmup, 0)) s of warm-up, \(Int(cores)) cores")
print(pad("system", 10) + pad("op", 10) + pad("outst", 6) + pad("ops/s", 10) + pad("p50 ms", 9) + pad("p99 ms", 9) + "   CPU (cores busy, of \(Int(cores)))")
do {
    for run in 1...runs {
        print("run \(run) of \(runs)")
        if systems.contains("zookeeper") { try await benchZooKeeper(run: run) }
        if systems.contains("etcd") { try await benchEtcd(run: run) }
        if systems.contains("strata") { try await benchStrata(run: run) }
        if run == 1 && failoverTrials > 0 && systems.contains("strata-ufs") { try await benchStrataUFS() }
    }
} catch {
    FileHandle.standardError.write(Data("strata-bench-compare: \(error)\n".utf8))
    exit(1)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

print("")
print("medians of \(runs) run(s); ÷zk, ÷etcd = Strata's ops/s over the peer's (higher is better; ZooKeeper's read is sync + get, etcd's a linearizable range)")
print(pad("op", 8) + pad("outst", 6) + pad("strata/s", 10) + pad("zk/s", 10) + pad("etcd/s", 10) + pad("÷zk", 7) + pad("÷etcd", 7)
      + "   p50/p99 ms: strata | zk | etcd" + "        servers' cores: strata | zk | etcd")
for operation in ["create", "read", "list"] {
    for outstanding in outstandingCases {
        let bySystem = ["strata", "zookeeper", "etcd"].map { figures[$0]?[operation]?[outstanding] ?? [] }
        guard bySystem.contains(where: { !$0.isEmpty }) else { continue }
        let rates = bySystem.map { median($0.map(\.opsPerSecond)) }
        func rate(_ index: Int) -> String { bySystem[index].isEmpty ? "-" : format(rates[index], 0) }
        func ratio(_ index: Int) -> String { rates[0] > 0 && rates[index] > 0 ? format(rates[0] / rates[index], 2) : "-" }
        func latency(_ index: Int) -> String {
            bySystem[index].isEmpty ? "-" : "\(format(median(bySystem[index].map(\.p50)), 2))/\(format(median(bySystem[index].map(\.p99)), 2))"
        }
        func cores(_ index: Int) -> String { bySystem[index].isEmpty ? "-" : format(median(bySystem[index].map(\.cpu.servers)), 2) }
        print(pad(operation, 8) + pad("\(outstanding)", 6) + pad(rate(0), 10) + pad(rate(1), 10) + pad(rate(2), 10) + pad(ratio(1), 7) + pad(ratio(2), 7)
              + "   " + [latency(0), latency(1), latency(2)].joined(separator: " | ") + "    " + [cores(0), cores(1), cores(2)].joined(separator: " | "))
    }
}
if let gets = figures["zookeeper"]?["get"] {
    print("zookeeper plain get (no sync, may be stale): " + outstandingCases.compactMap { outstanding in
        gets[outstanding].map { "\(outstanding) outstanding \(format(median($0.map(\.opsPerSecond)), 0))/s" }
    }.joined(separator: ", "))
}
let steal = figures.values.flatMap { $0.values.flatMap { $0.values.flatMap { $0.map(\.cpu.steal) } } }
if !failovers.isEmpty {
    print("")
    print("fail-over: signal to the next acknowledged write, median (min–max) of \(failoverTrials) trials; ratio = Strata's time over the peer's (lower is better)")
    for kind in FailureKind.allCases {
        func figure(_ system: String) -> Double? { failovers[system]?[kind].map(median) }
        func text(_ system: String) -> String {
            guard let trials = failovers[system]?[kind], !trials.isEmpty else { return "-" }
            return "\(format(median(trials), 0)) ms (\(format(trials.min()!, 0))–\(format(trials.max()!, 0)))"
        }
        print("  \(kind.rawValue) of the leader: " + ["strata", "strata-ufs", "zookeeper", "etcd"].map { "\($0) \(text($0))" }.joined(separator: ", "))
        let ratios = ["strata", "strata-ufs"].flatMap { strata in ["zookeeper", "etcd"].compactMap { peer -> String? in
            guard let s = figure(strata), let p = figure(peer), p > 0 else { return nil }
            return "\(strata)÷\(peer) \(format(s / p, 2))"
        } }
        if !ratios.isEmpty { print("    " + ratios.joined(separator: ", ")) }
    }
    print("  (strata-ufs: ZooKeeper session timeout \(ufsSessionTimeout); the product's default is 60 s)")
}
let failedCases = figures.flatMap { system, operations in operations.flatMap { operation, byOutstanding in
    byOutstanding.flatMap { outstanding, runs in runs.filter { $0.errors > 0 }.map { "\(system) \(operation) at \(outstanding) outstanding: \($0.errors) errors (\($0.firstError ?? ""))" } }
} }
print(failedCases.isEmpty ? "errors: none" : "ERRORS (not counted in the rates above):\n  " + failedCases.joined(separator: "\n  "))
let other = figures.values.flatMap { $0.values.flatMap { $0.values.flatMap { $0.map(\.cpu.other) } } }
print("other processes: median \(format(median(other), 2)), highest \(format(other.max() ?? 0, 2)) cores busy during the measured cases (a quiet machine shows ~0)")
print("steal: median \(format(median(steal), 1))%, highest \(format(steal.max() ?? 0, 1))% of the machine's CPU during the measured cases")
