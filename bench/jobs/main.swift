import Foundation
import StrataClient
import StrataBenchSupport
import StrataCore
import StrataJob
import StrataWire

// Job-service benchmark: one master, three job masters (their own quorum, fsync on) and one
// worker with a MEM tier on /dev/shm, on loopback.
//   1. Load 1 GiB from under storage, in 1 MB files and in 64 MB files: `fs load` (the client
//      loading file by file) beside `fs distributedLoad` (the job service), and `cp -r` of the same
//      files into /dev/shm (page cache to tmpfs, what a load does without Strata) as the bound.
//   2. 10,000 tiny files: one job of all of them (files/s), and 10,000 one-file jobs in one
//      command (jobs/s).
//   3. Job-master fail-over mid-job: kill -9 of the leading job master -> the next task journaled
//      as completed, several rounds.
//   4. Bytes of job-master RSS per retained (finished) job: the leader restarted from a checkpoint
//      holding every job, beside the same process started with an empty table.
//
//   strata-bench-jobs [--gib N] [--tiny N] [--failovers N] [--workdir DIR] [--keep]

let options = BenchOptions()
func option(_ name: String, _ fallback: String) -> String { options.value(name, fallback) }
let gibibytes = Int(option("--gib", "1")) ?? 1
let tinyCount = Int(option("--tiny", "10000")) ?? 10_000
let failovers = Int(option("--failovers", "5")) ?? 5
let workDirectory = option("--workdir", NSTemporaryDirectory() + "strata-bench-jobs-\(getpid())")
let binaries = options.binaryDirectory
let ramdisk = "/dev/shm/strata-bench-jobs-\(getpid())"

func run(_ executable: String, _ arguments: [String], conf: String) throws -> (Int32, Double) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : binaries + "/" + executable)
    process.arguments = arguments
    process.environment = ["STRATA_CONF_DIR": conf, "PATH": "/usr/bin:/bin"]
    process.standardOutput = FileHandle.nullDevice
    let started = Date()
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus, Date().timeIntervalSince(started))
}

func format(_ value: Double, _ digits: Int) -> String {
    let scale = pow(10, Double(digits))
    return String((value * scale).rounded() / scale)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

// MARK: Cluster

try? FileManager.default.removeItem(atPath: workDirectory)
let ufs = workDirectory + "/ufs"
try FileManager.default.createDirectory(atPath: ufs, withIntermediateDirectories: true)
try FileManager.default.createDirectory(atPath: ramdisk, withIntermediateDirectories: true)
let base = 23_000 + Int(getpid() % 300) * 20
let masterRPC = HostAndPort(host: "127.0.0.1", port: base)
let jobRPCs = (0..<3).map { HostAndPort(host: "127.0.0.1", port: base + 3 + $0) }
let jobJournals = (0..<3).map { HostAndPort(host: "127.0.0.1", port: base + 6 + $0) }
let clusterID = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
let shared = """
    strata.master.hostname=127.0.0.1
    strata.master.bind.host=127.0.0.1
    strata.master.rpc.port=\(masterRPC.port)
    strata.master.web.port=\(base + 1)
    strata.master.embedded.journal.port=\(base + 2)
    strata.master.embedded.journal.addresses=127.0.0.1:\(base + 2)
    strata.master.rpc.addresses=\(masterRPC)
    strata.master.mount.table.root.ufs=\(ufs)
    strata.job.master.hostname=127.0.0.1
    strata.job.master.bind.host=127.0.0.1
    strata.job.master.embedded.journal.addresses=\(jobJournals.map(\.description).joined(separator: ","))
    strata.job.master.rpc.addresses=\(jobRPCs.map(\.description).joined(separator: ","))
    strata.job.master.worker.heartbeat.interval=200ms
    strata.cluster.id=\(clusterID)
    strata.log.level=WARNING
    strata.worker.hostname=127.0.0.1
    strata.worker.bind.host=127.0.0.1
    strata.worker.rpc.port=\(base + 12)
    strata.worker.web.port=\(base + 13)
    strata.job.worker.rpc.port=\(base + 14)
    strata.worker.tieredstore.level0.dirs.path=\(ramdisk)
    strata.worker.tieredstore.level0.dirs.quota=\(gibibytes * 3 + 1)GB
    strata.worker.block.heartbeat.interval=200ms
    strata.user.file.writetype.default=CACHE_THROUGH
    """
func daemon(_ executable: String, _ name: String, _ extra: String) throws -> BenchProcess {
    let home = workDirectory + "/" + name
    try FileManager.default.createDirectory(atPath: home + "/conf", withIntermediateDirectories: true)
    try (shared + "\nstrata.home=\(home)\n" + extra).write(toFile: home + "/conf/strata-site.properties", atomically: true, encoding: .utf8)
    if executable != "strata-worker" {
        guard try run("strata", ["format"], conf: home + "/conf").0 == 0 else { throw BenchError("strata format failed for \(name)") }
    }
    return BenchProcess(name: name, executable: binaries + "/" + executable, environment: ["STRATA_CONF_DIR": home + "/conf", "PATH": "/usr/bin:/bin"],
                        logPath: home + "/\(executable).log")
}

let master = try daemon("strata-master", "master", "")
let jobMasters = try (0..<3).map { index in
    try daemon("strata-jobmaster", "jobmaster\(index + 1)", """
        strata.job.master.rpc.port=\(jobRPCs[index].port)
        strata.job.master.web.port=\(base + 9 + index)
        strata.job.master.embedded.journal.port=\(jobJournals[index].port)
        """)
}
let worker = try daemon("strata-worker", "worker", "")
let conf = workDirectory + "/master/conf"
let configuration = try Configuration.defaults(overrides: [
    .userRpcRetryMaxDuration: "60s", .masterRpcAddresses: masterRPC.description,
    .jobMasterRpcAddresses: jobRPCs.map(\.description).joined(separator: ","),
])
let fileSystem = FileSystemClient(masters: [masterRPC], configuration: configuration)
let jobs = JobClient(locator: .addresses(jobRPCs), configuration: configuration)

func cleanUp() {
    for daemon in [worker] + jobMasters + [master] { daemon.stop() }
    try? FileManager.default.removeItem(atPath: ramdisk)
    if !options.arguments.contains("--keep") { try? FileManager.default.removeItem(atPath: workDirectory) }
}

func leadingJobMaster() async throws -> BenchProcess {
    let leader = try await jobs.service.waitForLeader()
    guard let index = jobRPCs.firstIndex(of: leader) else { throw BenchError("unknown job master \(leader)") }
    return jobMasters[index]
}

/// Submits `requests` as one command and waits for it; returns the seconds it took.
func timedCommand(_ requests: [JobRequest]) async throws -> Double {
    let started = ContinuousClock.now
    let submitted = try await jobs.submit(requests)
    let final = try await jobs.waitForCommand(submitted.commandID, interval: .milliseconds(20)) { _ in }
    guard final.status == .completed else { throw BenchError("command \(submitted.commandID) \(final.status): \(final.jobs.first { !$0.error.isEmpty }?.error ?? "")") }
    return seconds(ContinuousClock.now - started)
}

func writeUnderStorage(_ folder: String, files: Int, size: Int) throws {
    let directory = ufs + folder
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
    let chunk = random.readData(ofLength: min(size, 64 << 20))
    try random.close()
    for index in 0..<files {
        var data = chunk
        data.replaceSubrange(0..<8, with: (0..<8).map { UInt8(truncatingIfNeeded: UInt64(index) >> (8 * $0)) })
        if size > chunk.count {
            _ = FileManager.default.createFile(atPath: directory + "/f\(index)", contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/f\(index)"))
            for _ in 0..<(size / chunk.count) { try handle.write(contentsOf: data) }
            try handle.close()
        } else {
            try data.write(to: URL(fileURLWithPath: directory + "/f\(index)"))
        }
    }
}

do {
    try master.start()
    for jobMaster in jobMasters { try jobMaster.start() }
    try worker.start()
    _ = try await fileSystem.waitForLeader()
    _ = try await jobs.service.waitForLeader()
    for _ in 0..<100 {
        if (try? await fileSystem.workers().count) == 1 { break }
        try await Task.sleep(for: .milliseconds(100))
    }
    try await Task.sleep(for: .seconds(1)) // the job worker registers with the job master
    print("strata-bench-jobs: 1 master, 3 job masters (embedded journal, fsync on), 1 worker (MEM tier on /dev/shm, 10 job-worker slots), \(ProcessInfo.processInfo.activeProcessorCount) cores")

    // 1. Loads.
    let total = gibibytes << 30
    print("")
    let emptyRSS = try await leadingJobMaster().residentBytes()
    print("load \(gibibytes) GiB from under storage       files   fs load               distributedLoad       cp -r to /dev/shm")
    for (label, size) in [("1 MB files", 1 << 20), ("64 MB files", 64 << 20)] {
        let folder = "/load-\(size >> 20)m"
        let count = total / size
        try writeUnderStorage(folder, files: count, size: size)
        let copy = ramdisk + "-copy"
        let (catStatus, catSeconds) = try run("/bin/sh", ["-c", "cp -r \(ufs)\(folder) \(copy) && sync \(copy)"], conf: conf)
        try? FileManager.default.removeItem(atPath: copy)
        guard catStatus == 0 else { throw BenchError("cp failed") }
        let (loadStatus, loadSeconds) = try run("strata", ["fs", "load", folder], conf: conf)
        guard loadStatus == 0 else { throw BenchError("fs load \(folder) failed") }
        guard try run("strata", ["fs", "free", folder], conf: conf).0 == 0 else { throw BenchError("fs free \(folder) failed") }
        try await Task.sleep(for: .seconds(1))
        let jobSeconds = try await timedCommand([JobRequest(plan: .load(path: folder, replication: 1), batchSize: max(1, min(20, count / 20)), activeTasksMax: 3000)])
        let mib = Double(total >> 20)
        func rate(_ seconds: Double) -> String { "\(format(seconds, 2))s \(format(mib / seconds, 0)) MiB/s" }
        print("  " + label.padding(toLength: 34, withPad: " ", startingAt: 0) + "\(count)".padding(toLength: 8, withPad: " ", startingAt: 0)
              + rate(loadSeconds).padding(toLength: 22, withPad: " ", startingAt: 0) + rate(jobSeconds).padding(toLength: 22, withPad: " ", startingAt: 0) + rate(catSeconds))
        guard try run("strata", ["fs", "free", folder], conf: conf).0 == 0 else { throw BenchError("fs free \(folder) failed") }
    }

    // 2. Tiny files: one job of all, then one job each.
    try writeUnderStorage("/tiny", files: tinyCount, size: 1024)
    let oneJob = try await timedCommand([JobRequest(plan: .load(path: "/tiny", replication: 1), batchSize: 20, activeTasksMax: 3000)])
    _ = try run("strata", ["fs", "free", "/tiny"], conf: conf)
    let requests = (0..<tinyCount).map { JobRequest(plan: .load(path: "/tiny/f\($0)", replication: 1), batchSize: 1, activeTasksMax: 1) }
    let manyJobs = try await timedCommand(requests)
    print("")
    print("\(tinyCount) tiny (1 KB) files: one job of all of them in \(format(oneJob, 2))s (\(format(Double(tinyCount) / oneJob, 0)) files/s); "
          + "\(tinyCount) one-file jobs in one command in \(format(manyJobs, 2))s (\(format(Double(tinyCount) / manyJobs, 0)) jobs/s)")

    // 4. Memory per retained job: every job master checkpointed and restarted, so that what the
    // leader holds is the table (not the log or the outcomes of the run).
    _ = try await jobs.service.call(JobMasterMethods.checkpoint, GetServiceInfoRequest(), deadline: .seconds(120))
    for jobMaster in jobMasters { jobMaster.stop() }
    for jobMaster in jobMasters { try jobMaster.start() }
    jobs.service.forgetLeader()
    let retained = try await jobs.summary().counts.reduce(0, +)
    try await Task.sleep(for: .seconds(2))
    let restartedRSS = try await leadingJobMaster().residentBytes()
    print("job master RSS: \(emptyRSS >> 20) MiB started with an empty table, \(restartedRSS >> 20) MiB restarted from a checkpoint of \(retained) finished jobs: "
          + "\(format(Double(restartedRSS - emptyRSS) / Double(max(1, retained)), 0)) bytes per retained job")
    try await Task.sleep(for: .seconds(2)) // the job worker finds the leader again

    // 3. Fail-over mid-job.
    if failovers > 0 {
        print("")
        var times: [Double] = []
        try writeUnderStorage("/failover", files: 2000, size: 4096)
        for round in 0..<failovers {
            _ = try run("strata", ["fs", "free", "/failover"], conf: conf)
            let submitted = try await jobs.submit([JobRequest(plan: .load(path: "/failover", replication: 1), batchSize: 1, activeTasksMax: 2)])
            let job = submitted.jobIDs[0]
            while (try await jobs.status(job)).tasksCompleted < 50 { try await Task.sleep(for: .milliseconds(10)) }
            let victim = try await leadingJobMaster()
            let before = try await jobs.status(job).tasksCompleted
            let killed = ContinuousClock.now
            victim.kill9()
            jobs.service.forgetLeader()
            while true {
                if let status = try? await jobs.status(job), status.tasksCompleted > before || status.status.isFinished { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            let took = seconds(ContinuousClock.now - killed) * 1000
            times.append(took)
            print("fail-over \(round + 1): leading job master killed -> next task journaled as completed after \(format(took, 0)) ms")
            _ = try await jobs.cancel(job)
            try victim.start()
            try await Task.sleep(for: .seconds(2))
        }
        let sorted = times.sorted()
        print("job-master fail-over mid-job (kill -9 -> next task completion), \(failovers) rounds: median \(format(sorted[sorted.count / 2], 0)) ms, max \(format(sorted.last!, 0)) ms")
    }
} catch {
    print("strata-bench-jobs: \(error)")
    cleanUp()
    exit(1)
}
await jobs.close()
await fileSystem.close()
cleanUp()
