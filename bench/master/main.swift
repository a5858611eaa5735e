import Foundation
import NIOConcurrencyHelpers
import StrataBenchSupport
import StrataClient
import StrataCore
import StrataJournal
import StrataNamespace
import StrataWire

// Master stress benchmark, modelled on Alluxio's StressMasterBench: a 3-master HA cluster on
// loopback (fsync on); for each operation — CreateFile, GetFileStatus, ListDir, RenameFile,
// DeleteFile — `threads` clients run for `duration` after a `warmup`, printing ops/s and
// p50/p99 latency. Then `files` empty files are created and the leader's RSS growth per file
// printed, and the time from restarting every master (after a checkpoint) to serving again.
//
//   strata-bench-master [--threads N] [--duration S] [--warmup S] [--files N] [--workdir DIR] [--keep]
//                       [--journal EMBEDDED|UFS] [--session-timeout MS] [--failovers N]
//   strata-bench-master --scale N[,N...] [--workdir DIR] [--keep]
//
// --keep leaves the work directory (the masters' journals and logs) in place.
// --journal UFS runs the masters on a UFS journal in a shared folder, a ZooKeeper server (Debian's
// package, started here) electing the leader with the given session timeout.
// --failovers N measures N fail-overs: kill -9 of the leader → the next acknowledged create.
// --scale measures, for each N, a namespace of N empty files (made here as a backup, restored
// with -i, as creating millions through RPC would take an hour): the leader's RSS per file
// beside the same cluster holding nothing, restart to serving, and fail-over after kill -9.

let options = BenchOptions()
func option(_ name: String, _ fallback: String) -> String { options.value(name, fallback) }
let threads = Int(option("--threads", "16")) ?? 16
let duration = Double(option("--duration", "5")) ?? 5
let warmup = Double(option("--warmup", "1")) ?? 1
let fileCount = Int(option("--files", "1000000")) ?? 1_000_000
let workDirectory = option("--workdir", NSTemporaryDirectory() + "strata-bench-master-\(getpid())")
let binaries = options.binaryDirectory
let journalType = option("--journal", "EMBEDDED").uppercased()
let sessionTimeoutMilliseconds = Int(option("--session-timeout", "3000")) ?? 3000
let failovers = Int(option("--failovers", "0")) ?? 0
let scales = option("--scale", "").split(separator: ",").compactMap { Int($0) }
nonisolated(unsafe) var zooKeeperProcess: Process?
let jobMaster = BenchProcess(name: "jobmaster", executable: binaries + "/strata-jobmaster",
                             environment: ["STRATA_CONF_DIR": workDirectory + "/master1/conf", "PATH": "/usr/bin:/bin"],
                             logPath: workDirectory + "/master1/jobmaster.log")

// MARK: Cluster

/// One master: its RPC address and its process.
struct Master {
    let home: String
    let rpc: HostAndPort
    let process: BenchProcess

    init(home: String, rpc: HostAndPort) {
        self.home = home
        self.rpc = rpc
        process = BenchProcess(name: (home as NSString).lastPathComponent, executable: binaries + "/strata-master",
                               environment: ["STRATA_CONF_DIR": home + "/conf", "PATH": "/usr/bin:/bin"], logPath: home + "/master.log")
    }
}

/// A ZooKeeper server from Debian's package, for the UFS journal; waits until it answers.
func startZooKeeper(port: Int) throws {
    let directory = workDirectory + "/zookeeper"
    try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
    try """
        tickTime=200
        dataDir=\(directory)/data
        clientPort=\(port)
        clientPortAddress=127.0.0.1
        admin.enableServer=false
        minSessionTimeout=400
        maxSessionTimeout=120000
        """.write(toFile: directory + "/zoo.cfg", atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/java")
    process.arguments = ["-Xmx256m", "-cp", "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar",
                         "org.apache.zookeeper.server.quorum.QuorumPeerMain", directory + "/zoo.cfg"]
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    zooKeeperProcess = process
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/bin/bash")
        probe.arguments = ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(port) && echo srvr >&3 && grep -q Mode <&3"]
        probe.standardError = FileHandle.nullDevice
        try probe.run()
        probe.waitUntilExit()
        if probe.terminationStatus == 0 { return }
        Thread.sleep(forTimeInterval: 0.2)
    }
    throw BenchError("ZooKeeper did not start on port \(port)")
}

func makeCluster() async throws -> ([Master], FileSystemClient) {
    try? FileManager.default.removeItem(atPath: workDirectory)
    let ufs = workDirectory + "/ufs"
    try FileManager.default.createDirectory(atPath: ufs, withIntermediateDirectories: true)
    let base = 21_500 + Int(getpid() % 200) * 10
    let rpcs = (0..<3).map { HostAndPort(host: "127.0.0.1", port: base + $0) }
    let journals = (0..<3).map { HostAndPort(host: "127.0.0.1", port: base + 3 + $0) }
    let clusterID = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    // One job master beside master1 (backups hold the job table too).
    let jobBase = base + 2_000
    var journalProperties = """

        strata.job.master.hostname=127.0.0.1
        strata.job.master.bind.host=127.0.0.1
        strata.job.master.rpc.port=\(jobBase)
        strata.job.master.web.port=\(jobBase + 1)
        strata.job.master.embedded.journal.port=\(jobBase + 2)
        strata.job.master.rpc.addresses=127.0.0.1:\(jobBase)
        strata.job.master.embedded.journal.addresses=127.0.0.1:\(jobBase + 2)
        """
    if journalType == "UFS" {
        let zooKeeperPort = base + 9
        try startZooKeeper(port: zooKeeperPort)
        journalProperties = """

            strata.master.journal.type=UFS
            strata.master.journal.folder=\(workDirectory)/shared-journal
            strata.zookeeper.enabled=true
            strata.zookeeper.address=127.0.0.1:\(zooKeeperPort)
            strata.zookeeper.session.timeout=\(sessionTimeoutMilliseconds)ms
            strata.master.journal.tailer.sleep.time=50ms
            """
    }
    var masters: [Master] = []
    for position in 0..<3 {
        let home = workDirectory + "/master\(position + 1)"
        try FileManager.default.createDirectory(atPath: home + "/conf", withIntermediateDirectories: true)
        let properties = """
            strata.home=\(home)
            strata.master.hostname=127.0.0.1
            strata.master.bind.host=127.0.0.1
            strata.master.rpc.port=\(rpcs[position].port)
            strata.master.web.port=\(base + 6 + position)
            strata.master.embedded.journal.port=\(journals[position].port)
            strata.master.embedded.journal.addresses=\(journals.map(\.description).joined(separator: ","))
            strata.master.rpc.addresses=\(rpcs.map(\.description).joined(separator: ","))
            strata.master.mount.table.root.ufs=\(ufs)
            strata.cluster.id=\(clusterID)
            strata.log.level=WARNING
            """ + journalProperties
        try properties.write(toFile: home + "/conf/strata-site.properties", atomically: true, encoding: .utf8)
        if journalType == "UFS" && position > 0 {
            masters.append(Master(home: home, rpc: rpcs[position]))
            continue
        }
        try formatMaster(home)
        let master = Master(home: home, rpc: rpcs[position])
        masters.append(master)
    }
    for master in masters { try master.process.start() }
    if journalType == "EMBEDDED" { try jobMaster.start() }
    let configuration = try Configuration.defaults(overrides: [.userRpcRetryMaxDuration: "60s", .userRpcDeadline: "5s"])
    // On the UFS journal the client finds the leader through ZooKeeper, as clients there do.
    let locator: MasterLocator = journalType == "UFS"
        ? .zooKeeper(ZooKeeperMasterLocator(servers: [HostAndPort(host: "127.0.0.1", port: base + 9)], configuration: configuration))
        : .addresses(rpcs)
    let client = FileSystemClient(locator: locator, configuration: configuration)
    _ = try await client.waitForLeader()
    return (masters, client)
}

/// `strata format` for the master whose home is `home`.
func formatMaster(_ home: String) throws {
    let format = Process()
    format.executableURL = URL(fileURLWithPath: binaries + "/strata")
    format.arguments = ["format"]
    format.environment = ["STRATA_CONF_DIR": home + "/conf"]
    format.standardOutput = FileHandle.nullDevice
    try format.run()
    format.waitUntilExit()
    guard format.terminationStatus == 0 else { throw BenchError("strata format failed for \(home)") }
}

// MARK: Measurement

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func format(_ value: Double, _ digits: Int) -> String {
    let scale = pow(10, Double(digits))
    return String((value * scale).rounded() / scale)
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// Runs `operation(thread, sequence)` from `threads` tasks: warm-up, then the measured period;
/// a thread stops early once its sequence passes `limit(thread)` (nothing left to rename, say).
/// Returns how many operations each thread completed.
@discardableResult
func measure(_ name: String, limit: @escaping @Sendable (Int) -> Int = { _ in Int.max },
             _ operation: @escaping @Sendable (Int, Int) async throws -> Void) async throws -> [Int] {
    let sequences = NIOLockedValueBox([Int](repeating: 0, count: threads))
    func run(for seconds: Double, record: Bool) async throws -> [Double] {
        let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        return try await withThrowingTaskGroup(of: [Double].self) { group in
            for thread in 0..<threads {
                group.addTask {
                    var latencies: [Double] = []
                    while ContinuousClock.now < end {
                        let sequence = sequences.withLockedValue { $0[thread] += 1; return $0[thread] }
                        if sequence > limit(thread) { break }
                        let started = ContinuousClock.now
                        try await operation(thread, sequence)
                        if record { latencies.append(milliseconds(ContinuousClock.now - started)) }
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all
        }
    }
    _ = try await run(for: warmup, record: false)
    let started = ContinuousClock.now
    let latencies = try await run(for: duration, record: true).sorted()
    let elapsed = min(duration, milliseconds(ContinuousClock.now - started) / 1000)
    let p50 = latencies.isEmpty ? 0 : latencies[latencies.count / 2]
    let p99 = latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
    print(pad(name, 14) + pad(format(Double(latencies.count) / elapsed, 0), 12) + pad(format(p50, 2), 10) + pad(format(p99, 2), 10))
    return sequences.withLockedValue { $0 }
}

// MARK: Backup and restore

/// A client that waits out masters restarting or checkpointing a large namespace (minutes at
/// 10M files; they refuse connections until their journal is restored).
func patientClient(_ masters: [Master]) throws -> FileSystemClient {
    FileSystemClient(masters: masters.map(\.rpc), configuration: try Configuration.defaults(
        overrides: [.userRpcRetryMaxDuration: "600s", .userRpcRetryRefusedDurationMax: "300s"]))
}

/// The leading master and its inode count, or nil while none leads (each asked directly: a
/// client with retries would wait for a leader instead of saying there is none yet).
func leaderInodes(_ masters: [Master]) async -> (Master, UInt64)? {
    for master in masters {
        let one = RPCClient(address: master.rpc, frameSizeMaxBytes: 1 << 20, connectTimeout: .milliseconds(200))
        let info = try? await one.call(FileSystemMethods.getMasterInfo, GetServiceInfoRequest(), deadline: .seconds(5))
        await one.close()
        if let info, info.thisRole == "LEADER" { return (master, info.inodeCount) }
    }
    return nil
}

/// Creates from `threads` tasks under /during until `done` says so; returns creates per second.
func createsPerSecond(_ client: FileSystemClient, tag: String, until done: @escaping @Sendable () async -> Bool) async throws -> Double {
    let started = ContinuousClock.now
    let counts = try await withThrowingTaskGroup(of: Int.self) { group in
        for thread in 0..<threads {
            group.addTask {
                _ = try await client.createDirectory("/during/\(tag)/t\(thread)", recursive: true, allowExists: true)
                var count = 0
                while !(await done()) {
                    _ = try await client.createFile("/during/\(tag)/t\(thread)/f\(count)")
                    count += 1
                }
                return count
            }
        }
        return try await group.reduce(0, +)
    }
    return Double(counts) / (milliseconds(ContinuousClock.now - started) / 1000)
}

/// A delegated backup of the namespace while clients create files, beside the same load with no
/// backup; then every journal formatted and the masters started with -i: time to restore.
func backupAndRestore(_ client: FileSystemClient, inodes: Int) async throws {
    print("")
    let quietEnd = ContinuousClock.now + .seconds(5)
    let quiet = try await createsPerSecond(client, tag: "quiet") { ContinuousClock.now >= quietEnd }
    let started = ContinuousClock.now
    var status = try await client.call(FileSystemMethods.backup, BackupRequest())
    guard let host = HostAndPort(parsing: status.host) else { throw BenchError("backup taken by '\(status.host)'") }
    let taker = RPCClient(address: host, frameSizeMaxBytes: 1 << 20)
    let ended = NIOLockedValueBox(false)
    async let during = createsPerSecond(client, tag: "busy") { ended.withLockedValue { $0 } }
    while status.state == .running {
        try await Task.sleep(for: .milliseconds(50))
        status = try await taker.call(FileSystemMethods.backupStatus, BackupStatusRequest(id: status.id))
    }
    let took = milliseconds(ContinuousClock.now - started) / 1000
    ended.withLockedValue { $0 = true }
    let busy = try await during
    await taker.close()
    guard status.state == .completed else { throw BenchError("backup failed: \(status.error)") }
    print("backup of \(status.entries) entries (delegated to \(status.delegated ? "a standby" : "the leader")): \(format(took, 1))s, \(format(Double(status.entries) / took, 0)) entries/s, \(status.bytes / 1_048_576) MiB" + (status.note.isEmpty ? "" : " (\(status.note))"))
    print("leader creates/s, \(threads) threads: \(format(quiet, 0)) without a backup, \(format(busy, 0)) during the delegated backup")

    // Restore: every journal formatted, the masters started with -i.
    jobMaster.stop()
    for master in masters { master.process.stop() }
    for master in masters { try formatMaster(master.home) }
    try jobMaster.start()
    let restoreStarted = ContinuousClock.now
    var restored: [BenchProcess] = []
    for master in masters {
        let process = BenchProcess(name: master.process.name + "-restored", executable: master.process.executable, arguments: ["-i", status.path],
                                   environment: master.process.environment, logPath: master.process.logPath)
        try process.start()
        restored.append(process)
    }
    var inodeCount: UInt64 = 0
    while inodeCount < status.entries {
        try await Task.sleep(for: .milliseconds(100))
        if let (_, count) = await leaderInodes(masters) { inodeCount = count }
        guard ContinuousClock.now - restoreStarted < .seconds(1800) else { throw BenchError("no restore within 30 minutes (\(inodeCount) inodes)") }
    }
    let restoreTook = milliseconds(ContinuousClock.now - restoreStarted) / 1000
    print("restore of \(status.entries) entries (-i, from process start to the leader holding them): \(format(restoreTook, 1))s, \(format(Double(status.entries) / restoreTook, 0)) entries/s")
    for process in restored { process.stop() }
    for master in masters { try master.process.start() }
}

// MARK: Scale

/// A backup holding `files` empty, complete files under /scale/d0 ... /scale/d15, made by
/// applying the records RPC creates would journal.
func scaleBackup(files: Int) throws -> String {
    var namespace = Namespace(rootUFS: workDirectory + "/ufs", timeMilliseconds: 1_700_000_000_000)
    let directories = 16
    var time: Int64 = 1_700_000_000_000
    func apply(_ command: NamespaceCommand) throws {
        time += 1
        if case .failure(let error) = namespace.apply(NamespaceRecord(operationID: nil, timeMilliseconds: time, command: command)) { throw error }
    }
    var options = CreateOptions()
    options.recursive = true
    for directory in 0..<directories { try apply(.createDirectory(try StrataPath("/scale/d\(directory)"), options)) }
    options.recursive = false
    for index in 0..<files {
        let path = try StrataPath("/scale/d\(index % directories)/f\(index / directories)")
        try apply(.createFile(path, options))
        try apply(.completeFile(path, lengthBytes: 0, blockIDs: [], persistence: .notPersisted))
    }
    let encodeStarted = ContinuousClock.now
    let data = namespace.encodedSnapshot()
    let encodeTook = milliseconds(ContinuousClock.now - encodeStarted) / 1000
    let decodeStarted = ContinuousClock.now
    let decoded = try Namespace(snapshot: data)
    let decodeTook = milliseconds(ContinuousClock.now - decodeStarted) / 1000
    print("snapshot of \(decoded.inodeCount) inodes, \(data.count / 1_048_576) MiB: encoded in \(format(encodeTook, 2))s, decoded in \(format(decodeTook, 2))s (\(format(Double(decoded.inodeCount) / decodeTook, 0)) inodes/s, one thread)")
    let backup = Backup(clusterID: (0..<16).map { _ in UInt8.random(in: 0...255) }, createdMilliseconds: UInt64(time), journalIndex: 0,
                        sections: [Backup.Section(kind: .namespace, entries: UInt64(namespace.inodeCount), data: data)])
    let path = workDirectory + "/scale-\(files).gz"
    var encoded = try backup.encoded()
    try Data(encoded.readBytes(length: encoded.readableBytes)!).write(to: URL(fileURLWithPath: path))
    return path
}

func measureScale(_ masters: [Master], _ client: FileSystemClient) async throws {
    print("strata-bench-master --scale: 3 masters (embedded journal, fsync on), \(ProcessInfo.processInfo.activeProcessorCount) cores")
    try await Task.sleep(for: .seconds(3))
    guard let (emptyLeader, emptyCount) = await leaderInodes(masters) else { throw BenchError("no leader") }
    let emptyRSS = emptyLeader.process.residentBytes()
    print("empty namespace (\(emptyCount) inodes): leader RSS \(emptyRSS / 1_048_576) MiB")
    var current = masters.map(\.process)
    for files in scales {
        let generated = ContinuousClock.now
        let backup = try scaleBackup(files: files)
        let size = (try? FileManager.default.attributesOfItem(atPath: backup)[.size] as? Int) ?? 0
        print("")
        print("\(files) files: backup made in \(format(milliseconds(ContinuousClock.now - generated) / 1000, 1))s (\(size / 1_048_576) MiB compressed)")
        jobMaster.stop()
        for process in current { process.stop() }
        for master in masters { try formatMaster(master.home) }
        try jobMaster.start()
        let restoreStarted = ContinuousClock.now
        current = masters.map { BenchProcess(name: $0.process.name + "-scale", executable: $0.process.executable, arguments: ["-i", backup],
                                             environment: $0.process.environment, logPath: $0.process.logPath) }
        for process in current { try process.start() }
        var leader: (Master, UInt64)?
        while true {
            try await Task.sleep(for: .milliseconds(200))
            leader = await leaderInodes(masters)
            if let leader, leader.1 >= UInt64(files) { break }
            guard ContinuousClock.now - restoreStarted < .seconds(1800) else { throw BenchError("no restore of \(files) files within 30 minutes") }
        }
        print("restore (-i, process start to the leader holding them): \(format(milliseconds(ContinuousClock.now - restoreStarted) / 1000, 1))s")
        let patient = try patientClient(masters)
        try await patient.checkpoint()
        await patient.close()
        // Restart every master from the checkpoint; time to the first listing.
        for process in current { process.stop() }
        current = masters.map(\.process)
        let restarted = ContinuousClock.now
        for process in current { try process.start() }
        let fresh = try patientClient(masters)
        let listed = try await fresh.list("/scale")
        let restartTook = milliseconds(ContinuousClock.now - restarted)
        print("restart to serving (from a checkpoint): \(format(restartTook, 0)) ms, \(format(Double(files) / restartTook * 1000, 0)) inodes/s (listed \(listed.count) directories)")
        try await Task.sleep(for: .seconds(3))
        guard let (loaded, _) = await leaderInodes(masters) else { throw BenchError("no leader after restart") }
        let rss = loaded.process.residentBytes()
        print("leader RSS \(rss / 1_048_576) MiB (empty: \(emptyRSS / 1_048_576) MiB): \(format(Double(rss - emptyRSS) / Double(files), 0)) bytes per file")
        // Fail-over with the namespace loaded: kill -9 the leader, time to the next acknowledged create.
        _ = try await fresh.createFile("/scale/failover-warm")
        let killed = ContinuousClock.now
        loaded.process.kill9()
        _ = try await fresh.createFile("/scale/failover")
        print("fail-over (kill -9 of the leader -> next acknowledged create): \(format(milliseconds(ContinuousClock.now - killed), 0)) ms")
        try loaded.process.start()
        await fresh.close()
        try? FileManager.default.removeItem(atPath: backup)
    }
}

// MARK: Main

let (masters, client) = try await makeCluster()
if !scales.isEmpty {
    do { try await measureScale(masters, client) } catch { print("strata-bench-master: \(error)") }
    await client.close()
    jobMaster.stop()
    for master in masters { master.process.stop() }
    if !options.arguments.contains("--keep") { try? FileManager.default.removeItem(atPath: workDirectory) }
    exit(0)
}
do {
    let journalText = journalType == "UFS" ? "UFS journal, ZooKeeper session timeout \(sessionTimeoutMilliseconds) ms" : "embedded journal"
    print("strata-bench-master: 3 masters (\(journalText), fsync on), \(threads) threads, \(duration)s per operation after \(warmup)s warm-up, \(ProcessInfo.processInfo.activeProcessorCount) cores")
    print(pad("operation", 14) + pad("ops/s", 12) + pad("p50 ms", 10) + pad("p99 ms", 10))
    for thread in 0..<threads { _ = try await client.createDirectory("/stress/t\(thread)", recursive: true) }
    let createdCount = NIOLockedValueBox([Int](repeating: 0, count: threads))
    try await measure("CreateFile") { thread, sequence in
        _ = try await client.createFile("/stress/t\(thread)/f\(sequence)")
        _ = try await client.completeFile("/stress/t\(thread)/f\(sequence)", lengthBytes: 0)
        createdCount.withLockedValue { $0[thread] = max($0[thread], sequence) }
    }
    let created = createdCount.withLockedValue { $0 }
    try await measure("GetFileStatus") { thread, sequence in
        _ = try await client.status("/stress/t\(thread)/f\(1 + sequence % max(1, created[thread]))")
    }
    _ = try await client.createDirectory("/list", recursive: true)
    for index in 0..<100 { _ = try await client.createFile("/list/f\(index)") }
    try await measure("ListDir") { _, _ in
        _ = try await client.list("/list")
    }
    let renamedCount = NIOLockedValueBox([Int](repeating: 0, count: threads))
    try await measure("RenameFile", limit: { created[$0] }) { thread, sequence in
        _ = try await client.rename("/stress/t\(thread)/f\(sequence)", to: "/stress/t\(thread)/r\(sequence)")
        renamedCount.withLockedValue { $0[thread] = max($0[thread], sequence) }
    }
    let renamed = renamedCount.withLockedValue { $0 }
    try await measure("DeleteFile", limit: { renamed[$0] }) { thread, sequence in
        try await client.delete("/stress/t\(thread)/r\(sequence)")
    }

    // Fail-over: kill -9 the leader, time until a create is acknowledged (by the next leader).
    if failovers > 0 {
        print("")
        var times: [Double] = []
        for round in 0..<failovers {
            let leaderAddress = try await client.waitForLeader()
            guard let leader = masters.first(where: { $0.rpc == leaderAddress }) else { throw BenchError("leader \(leaderAddress) unknown") }
            _ = try await client.createFile("/failover-warm-\(round)")
            let killed = ContinuousClock.now
            leader.process.kill9()
            _ = try await client.createFile("/failover-\(round)")
            let took = milliseconds(ContinuousClock.now - killed)
            times.append(took)
            print("fail-over \(round + 1): leader \(leader.rpc) killed -> next acknowledged create after \(format(took, 0)) ms")
            try leader.process.start()
            try await Task.sleep(for: .seconds(2))
        }
        let sorted = times.sorted()
        print("fail-over (kill -9 -> next acknowledged create), \(failovers) rounds: median \(format(sorted[sorted.count / 2], 0)) ms, max \(format(sorted.last!, 0)) ms"
              + (journalType == "UFS" ? "; ZooKeeper session timeout \(sessionTimeoutMilliseconds) ms" : ""))
    }

    // Memory per file on the leader.
    if fileCount > 0 {
        let leaderAddress = try await client.waitForLeader()
        guard let leader = masters.first(where: { $0.rpc == leaderAddress }) else { throw BenchError("leader \(leaderAddress) unknown") }
        _ = try await client.createDirectory("/rss", recursive: true)
        let before = leader.process.residentBytes()
        let perThread = fileCount / threads
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for thread in 0..<threads {
                group.addTask {
                    _ = try await client.createDirectory("/rss/d\(thread)", allowExists: true)
                    for index in 0..<perThread {
                        _ = try await client.createFile("/rss/d\(thread)/f\(index)")
                        _ = try await client.completeFile("/rss/d\(thread)/f\(index)", lengthBytes: 0)
                    }
                }
            }
            try await group.waitForAll()
        }
        let created = perThread * threads
        let elapsed = milliseconds(ContinuousClock.now - started) / 1000
        let after = leader.process.residentBytes()
        print("")
        print("\(created) empty files in \(format(elapsed, 1))s (\(format(Double(created) / elapsed, 0)) files/s); leader RSS \(before / 1_048_576) MiB -> \(after / 1_048_576) MiB: \(format(Double(after - before) / Double(created), 0)) bytes per file")

        // Restart to serving: checkpoint, stop every master, start them, time until a listing works.
        try await client.checkpoint()
        for master in masters { master.process.stop() }
        let restarted = ContinuousClock.now
        for master in masters { try master.process.start() }
        let fresh = try patientClient(masters)
        let listed = try await fresh.list("/rss/d0")
        print("restart to serving (\(created + 100 + threads) inodes, from a checkpoint): \(format(milliseconds(ContinuousClock.now - restarted), 0)) ms (listed \(listed.count) files)")
        if journalType == "EMBEDDED" { try await backupAndRestore(fresh, inodes: created) }
        await fresh.close()
    }
} catch {
    print("strata-bench-master: \(error)")
    jobMaster.stop()
    for master in masters { master.process.stop() }
    zooKeeperProcess?.terminate()
    exit(1)
}
await client.close()
jobMaster.stop()
for master in masters { master.process.stop() }
zooKeeperProcess?.terminate()
if options.arguments.contains("--keep") {
    print("masters' journals and logs kept in \(workDirectory)")
} else {
    try? FileManager.default.removeItem(atPath: workDirectory)
}
