import Crypto
import Foundation
import StrataClient
import StrataCore
import StrataJob
import StrataTesting
import StrataWire
import Testing

/// The job service with real processes: job masters on their own journaled quorum, job workers
/// in worker processes, jobs surviving a kill -9 of the leading job master, of a job worker,
/// and of every job master at once. A failure means jobs are lost, run twice, leave partial or
/// duplicate files, or fail when a retry would have saved them.
@Suite struct JobServiceTests {
    static func jobClient(_ cluster: JobMasterCluster) throws -> JobClient {
        var overrides: [PropertyKey: String] = [.userRpcRetryMaxDuration: "30s"]
        overrides[.jobMasterRpcAddresses] = cluster.clientProperties["strata.job.master.rpc.addresses"]
        return try JobClient(configuration: Configuration.defaults(overrides: overrides))
    }

    static func cli(_ harness: ProcessHarness, _ properties: [String: String], _ arguments: [String]) async throws -> (Int32, String) {
        let process = try harness.start("strata", name: "cli-\(UInt32.random(in: 0...UInt32.max))", properties: properties, arguments: arguments)
        let status = try await process.waitForExit(timeout: .seconds(180))
        return (status, process.log())
    }

    /// Waits for `condition` on the job, polling; returns the status that met it.
    static func waitFor(_ client: JobClient, job: UInt64, timeout: Duration = .seconds(120),
                        _ condition: (JobInfo) -> Bool) async throws -> JobInfo {
        let deadline = ContinuousClock.now + timeout
        var last: JobInfo?
        while ContinuousClock.now < deadline {
            if let info = try? await client.status(job, verbose: true) {
                last = info
                if condition(info) { return info }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("job \(job) did not reach the condition within \(timeout); last: \(last.map { "\($0.status) \($0.filesDone)/\($0.files) \($0.error)" } ?? "none")")
    }

    /// Writes `count` files of `size` random bytes under `folder`; returns name → SHA-256.
    static func writeFiles(_ folder: String, count: Int, size: Int) throws -> [String: String] {
        var digests: [String: String] = [:]
        let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? random.close() }
        for index in 0..<count {
            let name = "d\(index % 7)/file-\(index)"
            let bytes = random.readData(ofLength: size)
            let path = folder + "/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try bytes.write(to: URL(fileURLWithPath: path))
            digests[name] = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        }
        return digests
    }

    /// Every regular file under `folder` (relative name → SHA-256), hidden ones included.
    static func digests(_ folder: String) throws -> [String: String] {
        var result: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [:] }
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + relative))
            result[relative] = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        }
        return result
    }

    /// Job-service-only: three job masters and two job-worker-only workers, no file-system
    /// master. A copy of 500 files (over 500 MB) between two folders, the leading job master
    /// killed mid-job: the job completes on the new leader and the destination is byte-exact,
    /// with no partial, temporary or duplicate file.
    @Test func jobServiceOnlyCopySurvivesLeaderKill() async throws {
        try await ProcessHarness.with("job-only-copy") { harness in
            let cluster = try await JobMasterCluster.prepare(harness, count: 3)
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            for name in ["worker1", "worker2"] {
                let worker = try await WorkerNode.prepare(harness, clientProperties: cluster.clientProperties, name: name,
                                                          extra: ["strata.worker.block.enabled": "false", "strata.job.worker.threadpool.size": "2"])
                try await worker.start(in: harness)
            }
            let source = harness.directory + "/in", destination = harness.directory + "/out"
            let started = ContinuousClock.now
            let expected = try Self.writeFiles(source, count: 500, size: 1_050_000)
            print("job-only copy: 500 source files written in \(ContinuousClock.now - started)")
            let client = try Self.jobClient(cluster)

            let (status, output) = try await Self.cli(harness, cluster.clientProperties,
                                                      ["job", "copy", "--batch-size", "2", "--active-jobs", "2", "--async", source, destination])
            #expect(status == 0, "\(output)")
            let jobID = try #require(output.split(separator: "\n").first { $0.hasPrefix("Submitted") }
                .flatMap { $0.split(separator: " ").last }.flatMap { UInt64($0) }, "\(output)")
            _ = try await Self.waitFor(client, job: jobID) { $0.filesDone >= 40 }
            let leader = try await cluster.leader()
            processes[leader.name]!.kill()
            let killedAt = ContinuousClock.now
            let newLeader = try await cluster.leader(excluding: [leader.name])
            print("job master fail-over mid-job: \(leader.rpc) killed, \(newLeader.rpc) leads after \(ContinuousClock.now - killedAt)")
            let before = try await Self.waitFor(client, job: jobID) { _ in true }
            #expect(before.filesDone < 500, "the job ended before the leader was killed; the test proves nothing")
            let done = try await Self.waitFor(client, job: jobID) { $0.status.isFinished }
            print("job-only copy: job \(jobID) \(done.status) at \(ContinuousClock.now - started)")
            #expect(done.status == .completed, "\(done.error)")
            #expect(done.files == 500 && done.filesDone == 500 && done.filesFailed == 0)
            #expect(try Self.digests(destination) == expected, "the destination differs from the source (partial, temporary or duplicate files)")

            // The job's history is on every job master that is left.
            let (listStatus, listing) = try await Self.cli(harness, cluster.clientProperties, ["job", "ls"])
            #expect(listStatus == 0 && listing.contains("\(jobID)") && listing.contains("UfsCopy") && listing.contains("COMPLETED"), "\(listing)")
            await client.close()
        }
    }

    /// Starts a job-service-only cluster: three job masters and `workers` job-worker-only workers.
    static func jobOnlyCluster(_ harness: ProcessHarness, workers: Int, extra: [String: String] = [:], poolSize: Int = 2)
        async throws -> (JobMasterCluster, [String: TestProcess], [WorkerNode]) {
        let cluster = try await JobMasterCluster.prepare(harness, count: 3, extra: extra)
        var processes: [String: TestProcess] = [:]
        for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
        var nodes: [WorkerNode] = []
        for index in 1...max(1, workers) where workers > 0 {
            let worker = try await WorkerNode.prepare(harness, clientProperties: cluster.clientProperties, name: "worker\(index)",
                                                      extra: ["strata.worker.block.enabled": "false", "strata.job.worker.threadpool.size": String(poolSize)])
            processes[worker.name] = try await worker.start(in: harness)
            nodes.append(worker)
        }
        return (cluster, processes, nodes)
    }

    static func submittedJob(_ output: String) throws -> UInt64 {
        try #require(output.split(separator: "\n").first { $0.hasPrefix("Submitted") }
            .flatMap { $0.split(separator: " ").last }.flatMap { UInt64($0) }, "no job id in: \(output)")
    }

    /// A job worker killed with kill -9 in the middle of a task: once it is lost (no heartbeat
    /// for strata.job.master.worker.timeout) its tasks run again on the other worker and the job
    /// completes, byte-exact.
    @Test func lostJobWorkersTasksRunElsewhere() async throws {
        try await ProcessHarness.with("job-worker-lost") { harness in
            let (cluster, processes, workers) = try await Self.jobOnlyCluster(harness, workers: 2)
            let source = harness.directory + "/in", destination = harness.directory + "/out"
            let expected = try Self.writeFiles(source, count: 60, size: 4 << 20)
            let client = try Self.jobClient(cluster)
            let (status, output) = try await Self.cli(harness, cluster.clientProperties,
                                                      ["job", "copy", "--batch-size", "3", "--async", source, destination])
            #expect(status == 0, "\(output)")
            let jobID = try Self.submittedJob(output)
            let victim = workers[0].jobWorkerRPC.description
            _ = try await Self.waitFor(client, job: jobID) { info in info.tasks.contains { $0.status == .running && $0.worker == victim } }
            processes[workers[0].name]!.kill()
            let done = try await Self.waitFor(client, job: jobID) { $0.status.isFinished }
            #expect(done.status == .completed, "\(done.error)")
            #expect(done.filesDone == 60 && done.filesFailed == 0)
            let retried = done.tasks.filter { $0.attempts > 1 }
            #expect(!retried.isEmpty, "no task was retried after its worker was killed")
            #expect(retried.allSatisfy { $0.worker == workers[1].jobWorkerRPC.description && $0.status == .completed })
            #expect(try Self.digests(destination) == expected)
            await client.close()
        }
    }

    /// Cancel, a full job table, every job master restarted with its history, and bad input, in
    /// one job-service-only cluster: each refusal is one clear line and a non-zero exit.
    @Test func cancelCapacityRestartAndBadInput() async throws {
        try await ProcessHarness.with("job-history") { harness in
            let (cluster, processes, _) = try await Self.jobOnlyCluster(harness, workers: 1, extra: ["strata.job.master.job.capacity": "3"], poolSize: 1)
            let properties = cluster.clientProperties.merging(["strata.user.rpc.retry.max.duration": "5s"]) { _, new in new }
            let client = try Self.jobClient(cluster)
            let source = harness.directory + "/in"
            _ = try Self.writeFiles(source, count: 40, size: 2 << 20)

            // Cancel: the running tasks stop, no more files appear.
            let (copyStatus, copyOutput) = try await Self.cli(harness, properties,
                                                              ["job", "copy", "--batch-size", "1", "--active-jobs", "1", "--async", source, harness.directory + "/canceled"])
            #expect(copyStatus == 0, "\(copyOutput)")
            let canceledJob = try Self.submittedJob(copyOutput)
            _ = try await Self.waitFor(client, job: canceledJob) { $0.filesDone >= 1 }
            // The job worker is held while the cancel goes in: on a quiet machine the 40 copies
            // could otherwise all finish before the CLI has started.
            let worker = try #require(processes["worker1"])
            worker.signal(SIGSTOP)
            let (cancelStatus, cancelOutput) = try await Self.cli(harness, properties, ["job", "cancel", String(canceledJob)])
            worker.signal(SIGCONT)
            #expect(cancelStatus == 0 && cancelOutput.contains("Canceled job \(canceledJob)"), "\(cancelOutput)")
            let canceled = try await client.status(canceledJob, verbose: true)
            #expect(canceled.status == .canceled)
            try await Task.sleep(for: .seconds(1))
            let copied = try Self.digests(harness.directory + "/canceled").count
            try await Task.sleep(for: .seconds(1))
            #expect(try Self.digests(harness.directory + "/canceled").count == copied, "files kept appearing after the job was canceled")
            #expect(copied < 40)

            // Two more jobs fill the table (capacity 3; finished jobs stay for the retention time).
            for index in 0..<2 {
                let (status, output) = try await Self.cli(harness, properties, ["job", "copy", source + "/d1", harness.directory + "/copy\(index)"])
                #expect(status == 0 && output.contains("Command") && output.contains("is COMPLETED"), "\(output)")
            }
            let (fullStatus, fullOutput) = try await Self.cli(harness, properties, ["job", "copy", source + "/d2", harness.directory + "/copy9"])
            #expect(fullStatus != 0)
            #expect(fullOutput.contains("the job table is full: it holds 3 jobs and strata.job.master.job.capacity is 3"), "\(fullOutput)")

            // Every job master killed and restarted: the history is intact.
            let before = try await client.list()
            #expect(before.count == 3)
            for member in cluster.members { processes[member.name]!.kill() }
            for member in cluster.members { try await cluster.start(member, in: harness, suffix: "-restarted") }
            let after = try await client.list()
            #expect(after.map(\.id) == before.map(\.id))
            #expect(after.map(\.status) == [.canceled, .completed, .completed])
            #expect(after.map(\.filesDone) == before.map(\.filesDone))

            // Bad input: one line each, non-zero exit, nothing submitted.
            let cases: [([String], String)] = [
                (["job", "stat", "4242"], "job 4242 does not exist (or was purged)"),
                (["job", "copy", harness.directory + "/missing", harness.directory + "/x"], "does not exist in under storage"),
                (["job", "copy", source, source + "/inside"], "is inside source"),
                (["job", "copy", source, harness.directory + "/copy0"], "exists; use --overwrite"),
                (["job", "stat", "not-a-number"], "invalid job id 'not-a-number'"),
            ]
            for (arguments, message) in cases {
                let (status, output) = try await Self.cli(harness, properties, arguments)
                #expect(status != 0, "\(arguments)")
                #expect(output.contains(message), "\(arguments): \(output)")
                #expect(output.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count == 1, "\(arguments): \(output)")
            }
            #expect(try await client.list().count == 3, "a refused command left a job behind")
            for member in cluster.members { _ = try? await processes[member.name + "-restarted"]?.stop() }
            await client.close()
            // Unreachable job masters: the error names the addresses tried.
            for process in harness.runningProcesses(named: "jobmaster") { process.kill() }
            let (downStatus, downOutput) = try await Self.cli(harness, properties, ["job", "ls"])
            #expect(downStatus != 0)
            for member in cluster.members { #expect(downOutput.contains(member.rpc.description), "\(downOutput)") }
        }
    }

    /// The full deployment: three masters, three job masters, two workers. A distributedLoad of
    /// 200 files with the leading job master killed mid-job completes on the new leader with
    /// every block cached.
    @Test func distributedLoadSurvivesJobMasterKill() async throws {
        try await ProcessHarness.with("job-load") { harness in
            let masters = try await MasterCluster.prepare(harness, count: 3)
            for member in masters.members { try await masters.start(member, in: harness) }
            let cluster = try await JobMasterCluster.prepare(harness, count: 3, masters: masters)
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            for name in ["worker1", "worker2"] {
                let worker = try await WorkerNode.prepare(harness, clientProperties: cluster.clientProperties, name: name,
                                                          extra: ["strata.job.worker.threadpool.size": "2"])
                try await worker.start(in: harness)
            }
            // Files in under storage only: persisted, cached nowhere.
            _ = try Self.writeFiles(masters.underStorage + "/data", count: 200, size: 200_000)
            let fileSystem = try MasterHATests.client(masters)
            try await DataPathTests.waitForWorkers(fileSystem, count: 2)
            let client = try Self.jobClient(cluster)

            let (status, output) = try await Self.cli(harness, cluster.clientProperties,
                                                      ["fs", "distributedLoad", "--batch-size", "2", "--active-jobs", "2", "--async", "/data"])
            #expect(status == 0, "\(output)")
            let jobID = try Self.submittedJob(output)
            _ = try await Self.waitFor(client, job: jobID) { $0.filesDone >= 20 }
            let leader = try await cluster.leader()
            processes[leader.name]!.kill()
            let newLeader = try await cluster.leader(excluding: [leader.name])
            let midway = try await client.status(jobID)
            #expect(midway.filesDone < 200, "the job ended before the leader was killed; the test proves nothing")
            let done = try await Self.waitFor(client, job: jobID) { $0.status.isFinished }
            #expect(done.status == .completed, "\(done.error)")

            let (statStatus, stat) = try await Self.cli(harness, cluster.clientProperties, ["job", "stat", String(jobID)])
            #expect(statStatus == 0 && stat.contains("Status: COMPLETED") && stat.contains("Files: 200 of 200 done"), "\(stat)")
            for file in try await fileSystem.list("/data", recursive: true) where !file.isDirectory {
                let blocks = try await fileSystem.fileBlocks(file.path)
                #expect(blocks.blocks.allSatisfy { !$0.locations.isEmpty }, "\(file.path) is not cached")
            }
            print("distributedLoad: leader \(leader.rpc) killed at \(midway.filesDone)/200 files, \(newLeader.rpc) finished it")

            // More replicas than job workers with a block store: the job waits one worker timeout
            // (3s here) for more to report, then fails with a line that says why.
            let started = ContinuousClock.now
            let (shortStatus, short) = try await Self.cli(harness, cluster.clientProperties, ["fs", "distributedLoad", "--replication", "3", "/data"])
            #expect(shortStatus != 0 && short.contains("replication 3 needs as many job workers with a block store; 2 were live"), "\(short)")
            #expect(ContinuousClock.now - started >= .seconds(3), "the job did not wait for job workers to report")
            await client.close()
            await fileSystem.close()
        }
    }

    /// On the UFS journal: the job journal in `<journal folder>/JobJournal`, ZooKeeper electing at
    /// /strata/job_election and publishing /strata/job_leader. The leading job master killed
    /// mid-copy: the other takes over once its ZooKeeper session lapses and the job completes.
    @Test func ufsJournalJobMastersFailOverThroughZooKeeper() async throws {
        try await ProcessHarness.with("job-ufs") { harness in
            let zooKeeper = try await ZooKeeperEnsemble.start(harness)
            let shared = harness.directory + "/shared-journal"
            let (cluster, processes, _) = try await Self.jobOnlyCluster(harness, workers: 1, extra: [
                "strata.master.journal.type": "UFS",
                "strata.master.journal.folder": shared,
                "strata.zookeeper.enabled": "true",
                "strata.zookeeper.address": zooKeeper.connectString,
                "strata.zookeeper.session.timeout": "3000ms",
                "strata.zookeeper.connection.timeout": "10s",
                "strata.master.journal.tailer.sleep.time": "50ms",
            ])
            #expect(FileManager.default.fileExists(atPath: shared + "/JobJournal/epoch"), "the job journal is not a UFS journal in <journal folder>/JobJournal")
            let leader = try await cluster.leader()
            let (leaderStatus, leaderOutput) = try await Self.cli(harness, cluster.clientProperties, ["job", "leader"])
            #expect(leaderStatus == 0 && leaderOutput.hasPrefix(leader.rpc.description), "\(leaderOutput)")
            #expect(leaderOutput.contains("ZooKeeper address: \(zooKeeper.connectString)"), "\(leaderOutput)")
            let (quorumStatus, quorumOutput) = try await Self.cli(harness, cluster.clientProperties, ["fsadmin", "journal", "quorum", "info", "-domain", "JOB_MASTER"])
            #expect(quorumStatus != 0 && quorumOutput.contains("the job master journal is UFS; quorum commands apply to the EMBEDDED journal"), "\(quorumOutput)")

            let source = harness.directory + "/in", destination = harness.directory + "/out"
            let expected = try Self.writeFiles(source, count: 80, size: 1 << 20)
            var clientProperties: [PropertyKey: String] = [.userRpcRetryMaxDuration: "60s", .userRpcDeadline: "3s"]
            for (name, value) in cluster.clientProperties { if let key = PropertyKey.named(name) { clientProperties[key] = value } }
            let client = try JobClient(configuration: Configuration.defaults(overrides: clientProperties))
            let (status, output) = try await Self.cli(harness, cluster.clientProperties,
                                                      ["job", "copy", "--batch-size", "1", "--active-jobs", "1", "--async", source, destination])
            #expect(status == 0, "\(output)")
            let jobID = try Self.submittedJob(output)
            _ = try await Self.waitFor(client, job: jobID) { $0.filesDone >= 5 }
            let current = try await cluster.leader()
            processes[current.name]!.kill()
            let newLeader = try await cluster.leader(excluding: [current.name], timeout: .seconds(30))
            let done = try await Self.waitFor(client, job: jobID) { $0.status.isFinished }
            #expect(done.status == .completed, "\(done.error)")
            #expect(try Self.digests(destination) == expected)
            let (afterStatus, afterOutput) = try await Self.cli(harness, cluster.clientProperties, ["job", "leader"])
            #expect(afterStatus == 0 && afterOutput.hasPrefix(newLeader.rpc.description), "\(afterOutput)")
            await client.close()
        }
    }
}
