import Foundation
import StrataCore
import Testing
@testable import StrataJob

/// Seeded random runs of the job table through submissions, interrupted plans, heartbeats,
/// lost and returning workers, partial failures, cancellations and purges, checking after every
/// record that the table is consistent, that replaying the records (or restoring a snapshot
/// midway) gives the same table, and that once the faults stop every job finishes. A failure
/// prints the seed; replay one with `STRATA_JOB_SEED=N swift test --filter JobSimulationTests`.
@Suite struct JobSimulationTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func randomRunsStayConsistentAndFinish() async throws {
        // CPU-bound: on a thread of its own, so that process tests running beside it are not
        // starved of the cooperative pool's threads.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread {
                do {
                    try self.runSeeds()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }

    func runSeeds() throws {
        let seeds: [UInt64]
        if let one = ProcessInfo.processInfo.environment["STRATA_JOB_SEED"].flatMap(UInt64.init) {
            seeds = [one]
        } else {
            seeds = Array(1...UInt64(ProcessInfo.processInfo.environment["STRATA_JOB_SEEDS"].flatMap(Int.init) ?? 300))
        }
        for seed in seeds {
            try run(seed: seed)
        }
    }

    func run(seed: UInt64) throws {
        var random = SplitMix(state: seed)
        var table = JobTable(operationsRememberedMax: 50)
        var records: [JobRecord] = []
        var time: Int64 = 1_000
        let workers = (1...4).map { JobTable.Worker(id: UInt64($0), address: "w\($0)", freeSlots: 3, hasBlockStore: $0 != 4) }
        var live = Set(workers.map(\.id))
        var snapshotAt: (index: Int, bytes: [UInt8])? = nil

        func apply(_ command: JobCommand, operation: OperationID? = nil) {
            time += Int64.random(in: 1...50, using: &random)
            let record = JobRecord(operationID: operation, timeMilliseconds: time, command: command)
            records.append(record)
            _ = table.apply(record)
            check(table, seed: seed, live: live, workers: workers)
        }

        func heartbeat(_ worker: JobTable.Worker) {
            var view = worker
            view.freeSlots = max(0, worker.freeSlots - table.runningAttempts(on: worker.id).count)
            let assignments = table.assignments(for: view, live: workers.filter { live.contains($0.id) })
            // As the job master does: one entry for a heartbeat's assignments (or one each).
            if Bool.random(using: &random) && assignments.count > 1 {
                apply(.batch(assignments))
            } else {
                for command in assignments { apply(command) }
            }
        }

        func finishSome() {
            let running = workers.flatMap { table.runningAttempts(on: $0.id) }
            guard let key = running.randomElement(using: &random) else { return }
            let task = table.job(key.job)!.tasks[key.task]
            let failures = Int.random(in: 0...9, using: &random) == 0 ? min(1, task.itemCount) : 0
            let failed = (0..<failures).map { FailedItem(path: "file\($0)", error: "bad") }
            apply(.taskFinished(key, TaskResult(filesDone: task.itemCount - failures, bytesDone: task.totalBytes, failed: failed, failedCount: failures)))
        }

        for step in 0..<250 {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<12:
                var requests: [JobRequest] = []
                for _ in 0..<Int.random(in: 1...2, using: &random) {
                    let plan: JobPlan = Bool.random(using: &random)
                        ? .load(path: "/d", replication: Int.random(in: 1...2, using: &random))
                        : .ufsCopy(source: "/in", destination: "/out", overwrite: false)
                    requests.append(JobRequest(plan: plan, batchSize: Int.random(in: 1...6, using: &random), activeTasksMax: Int.random(in: 1...4, using: &random)))
                }
                let operation = OperationID(client: 1, sequence: UInt64.random(in: 1...30, using: &random))
                apply(.submit(requests, capacity: 12, retentionMilliseconds: 2_000, attemptsMax: 3), operation: operation)
            case 12..<22:
                guard let id = table.jobsToPlan.randomElement(using: &random), let job = table.job(id) else { continue }
                let items = (0..<Int.random(in: 0...20, using: &random)).map { JobItem(relativePath: "f\($0)", lengthBytes: Int64($0)) }
                let plans = JobTable.split(items, batchSize: job.request.batchSize, replication: job.request.plan.replication)
                let half = plans.count / 2
                apply(.addTasks(job: id, Array(plans.prefix(half)), replacing: true))
                if Int.random(in: 0..<4, using: &random) == 0 { continue } // a fail-over: planned again later
                apply(.addTasks(job: id, Array(plans.dropFirst(half)), replacing: false))
                apply(.planned(job: id))
            case 22..<24:
                guard let id = table.jobsToPlan.randomElement(using: &random) else { continue }
                apply(.planFailed(job: id, error: "source missing"))
            case 24..<55:
                guard let worker = workers.filter({ live.contains($0.id) }).randomElement(using: &random) else { continue }
                heartbeat(worker)
            case 55..<80:
                finishSome()
            case 80..<86:
                guard let worker = workers.filter({ live.contains($0.id) }).randomElement(using: &random) else { continue }
                for key in table.lostAttempts(live: live.subtracting([worker.id])) { apply(.taskFailed(key, error: "job worker \(worker.address) lost")) }
                live.remove(worker.id)
            case 86..<92:
                guard let worker = workers.filter({ !live.contains($0.id) }).randomElement(using: &random) else { continue }
                live.insert(worker.id)
            case 92..<95:
                guard let job = table.activeJobs.randomElement(using: &random) else { continue }
                apply(.cancel(job: job.id), operation: OperationID(client: 2, sequence: job.id))
            case 95..<97:
                let expired = table.expiredJobs(nowMilliseconds: time, retentionMilliseconds: 2_000)
                if !expired.isEmpty { apply(.purge(expired)) }
            default:
                // A late report of an attempt that no longer counts changes nothing.
                guard let job = table.allJobs.randomElement(using: &random), !job.tasks.isEmpty else { continue }
                let before = JobCodec.encodeSnapshot(table)
                let key = TaskKey(job: job.id, task: 0, attempt: job.tasks[0].attempts + 1)
                let outcome = table.apply(JobRecord(timeMilliseconds: time, command: .taskFinished(key, TaskResult(filesDone: 1, bytesDone: 1, failed: [], failedCount: 0))))
                #expect(outcome == .ignored, "seed \(seed): a report of a future attempt was taken")
                #expect(JobCodec.encodeSnapshot(table) == before, "seed \(seed)")
            }
            if step == 120 { snapshotAt = (records.count, JobCodec.encodeSnapshot(table)) }
        }

        // The faults stop: every worker is back, plans complete, tasks run to the end.
        live = Set(workers.map(\.id))
        for _ in 0..<2_000 where !table.activeJobs.isEmpty {
            for id in table.jobsToPlan {
                let job = table.job(id)!
                apply(.addTasks(job: id, JobTable.split([JobItem(relativePath: "x", lengthBytes: 1)], batchSize: job.request.batchSize,
                                                        replication: job.request.plan.replication), replacing: true))
                apply(.planned(job: id))
            }
            for worker in workers { heartbeat(worker) }
            finishSome()
        }
        #expect(table.activeJobs.isEmpty, "seed \(seed): jobs never finished: \(table.activeJobs.map { "\($0.id) \($0.status) \($0.tasks.map { "\($0.status)/\($0.attempts)" })" })")

        // Determinism: the same records give the same table, from scratch or from a snapshot.
        var replayed = JobTable(operationsRememberedMax: 50)
        for record in records { _ = replayed.apply(record) }
        #expect(JobCodec.encodeSnapshot(replayed) == JobCodec.encodeSnapshot(table), "seed \(seed): replay differs")
        if let (index, bytes) = snapshotAt {
            var restored = try JobCodec.decodeSnapshot(bytes, operationsRememberedMax: 50)
            for record in records[index...] { _ = restored.apply(record) }
            #expect(JobCodec.encodeSnapshot(restored) == JobCodec.encodeSnapshot(table), "seed \(seed): restored snapshot diverges")
        }
    }

    func check(_ table: JobTable, seed: UInt64, live: Set<UInt64>, workers: [JobTable.Worker]) {
        for job in table.allJobs {
            let where_ = "seed \(seed) job \(job.id)"
            #expect(job.filesDone + job.failedCount <= job.totalFiles || !job.planned, "\(where_): \(job.filesDone)+\(job.failedCount) of \(job.totalFiles)")
            if job.status == .running { #expect(job.planned, "\(where_): running unplanned") }
            if job.status.isFinished {
                #expect(job.tasks.allSatisfy { $0.status.isFinished && $0.items.isEmpty }, "\(where_): finished with live tasks")
            }
            if job.status == .completed {
                #expect(job.tasks.allSatisfy { $0.status == .completed } && job.failedCount == 0 && job.filesDone == job.totalFiles, "\(where_)")
            }
            if job.status == .failed {
                let exhausted = job.tasks.contains { $0.status == .failed && $0.attempts == job.attemptsMax }
                #expect(exhausted || job.failedCount > 0 || job.error == "source missing", "\(where_): failed without cause: \(job.error)")
            }
            #expect(job.runningTasks <= job.request.activeTasksMax, "\(where_): too many active tasks")
            for task in job.tasks {
                #expect(task.attempts <= job.attemptsMax, "\(where_) task \(task.index): \(task.attempts) attempts")
                if task.status == .running { #expect(task.worker != nil, "\(where_) task \(task.index): running nowhere") }
                if job.request.plan.needsBlockStore, task.status == .running, let worker = task.worker {
                    #expect(workers.first { $0.id == worker }?.hasBlockStore == true, "\(where_): a load on a worker without a block store")
                }
                if job.request.plan.replication > 1, task.status == .running || task.status == .completed, let worker = task.worker {
                    let clash = job.tasks.contains { $0.index != task.index && $0.group == task.group && $0.worker == worker
                        && ($0.status == .running || $0.status == .completed) }
                    #expect(!clash, "\(where_): two replicas of group \(task.group) on worker \(worker)")
                }
            }
        }
        for worker in workers where !live.contains(worker.id) {
            #expect(table.runningAttempts(on: worker.id).isEmpty, "seed \(seed): attempts still running on lost worker \(worker.id)")
        }
    }
}
