import StrataCore
import Testing
@testable import StrataJob

/// The job table's semantics: planning, assignment, retries, failure, cancellation, retention
/// and capacity. A failure here means job masters could lose or mis-report jobs, or run a task
/// twice at once, or fail a job a retry would have saved.
@Suite struct JobTableTests {
    static let capacity = 1_000
    static let retention: Int64 = 60_000

    func items(_ count: Int, bytes: Int64 = 10) -> [JobItem] {
        (0..<count).map { JobItem(relativePath: String(format: "f%04d", $0), lengthBytes: bytes) }
    }

    func load(_ path: String = "/data", replication: Int = 1, batch: Int = 10, active: Int = 100) -> JobRequest {
        JobRequest(plan: .load(path: path, replication: replication), batchSize: batch, activeTasksMax: active)
    }

    @discardableResult
    func apply(_ table: inout JobTable, _ command: JobCommand, time: Int64 = 1_000, operation: OperationID? = nil) -> JobOutcome {
        table.apply(JobRecord(operationID: operation, timeMilliseconds: time, command: command))
    }

    /// Submits one job and plans it with `files` files; returns its id.
    func planned(_ table: inout JobTable, _ request: JobRequest, files: Int, time: Int64 = 1_000, attemptsMax: Int = 3) -> UInt64 {
        guard case .submitted(_, let jobs) = apply(&table, .submit([request], capacity: Self.capacity, retentionMilliseconds: Self.retention, attemptsMax: attemptsMax), time: time) else {
            Issue.record("submit failed")
            return 0
        }
        let plans = JobTable.split(items(files), batchSize: request.batchSize, replication: request.plan.replication)
        apply(&table, .addTasks(job: jobs[0], plans, replacing: true), time: time)
        apply(&table, .planned(job: jobs[0]), time: time)
        return jobs[0]
    }

    func worker(_ id: UInt64, slots: Int = 10, blockStore: Bool = true) -> JobTable.Worker {
        JobTable.Worker(id: id, address: "w\(id):30001", freeSlots: slots, hasBlockStore: blockStore)
    }

    /// Applies every assignment the table decides for `worker`; returns the attempts started.
    @discardableResult
    func assign(_ table: inout JobTable, _ worker: JobTable.Worker, live: [JobTable.Worker]? = nil, time: Int64 = 2_000) -> [TaskKey] {
        var keys: [TaskKey] = []
        for command in table.assignments(for: worker, live: live ?? [worker]) {
            guard case .assign(let key, _, _) = command else { continue }
            #expect(apply(&table, command, time: time) == .done)
            keys.append(key)
        }
        return keys
    }

    func finish(_ table: inout JobTable, _ key: TaskKey, failed: [FailedItem] = [], time: Int64 = 3_000) {
        let task = table.job(key.job)!.tasks[key.task]
        let result = TaskResult(filesDone: task.itemCount - failed.count, bytesDone: task.totalBytes, failed: failed, failedCount: failed.count)
        #expect(apply(&table, .taskFinished(key, result), time: time) == .done)
    }

    @Test func aJobIsPlannedRunAndCompleted() {
        var table = JobTable()
        let id = planned(&table, load(batch: 10), files: 25)
        var job = table.job(id)!
        #expect(job.status == .running)
        #expect(job.tasks.count == 3)
        #expect(job.totalFiles == 25 && job.totalBytes == 250)
        let keys = assign(&table, worker(7))
        #expect(keys.map(\.task) == [0, 1, 2] && keys.allSatisfy { $0.attempt == 1 })
        #expect(assign(&table, worker(7)).isEmpty, "running tasks are not handed out twice")
        for key in keys { finish(&table, key) }
        job = table.job(id)!
        #expect(job.status == .completed)
        #expect(job.filesDone == 25 && job.bytesDone == 250)
        #expect(job.tasks.allSatisfy { $0.items.isEmpty && $0.itemCount > 0 }, "a finished job keeps counts, not file lists")
        #expect(table.activeJobs.isEmpty)
    }

    @Test func idsLookLikeAlluxiosAndCommandsGroupJobs() {
        var table = JobTable()
        let outcome = apply(&table, .submit([load("/a"), load("/b")], capacity: 10, retentionMilliseconds: 1, attemptsMax: 1), time: 1_600_000_000_000)
        #expect(outcome == .submitted(commandID: 1_600_000_000_000, jobs: [1_600_000_000_001, 1_600_000_000_002]))
        #expect(table.jobs(ofCommand: 1_600_000_000_000).map(\.request.plan.source) == ["/a", "/b"])
        // An earlier clock (a new leader's) never reuses an id.
        let next = apply(&table, .submit([load("/c")], capacity: 10, retentionMilliseconds: 1, attemptsMax: 1), time: 5)
        #expect(next == .submitted(commandID: 1_600_000_000_003, jobs: [1_600_000_000_004]))
    }

    @Test func aRetriedSubmissionIsOneSubmission() {
        var table = JobTable()
        let operation = OperationID(client: 9, sequence: 1)
        let first = apply(&table, .submit([load()], capacity: 10, retentionMilliseconds: 1, attemptsMax: 1), operation: operation)
        let again = apply(&table, .submit([load()], capacity: 10, retentionMilliseconds: 1, attemptsMax: 1), time: 9_000, operation: operation)
        #expect(first == again)
        #expect(table.count == 1)
    }

    @Test func aLostWorkersTaskIsRetriedElsewhere() {
        var table = JobTable()
        let id = planned(&table, load(batch: 10), files: 10)
        let first = assign(&table, worker(1))
        #expect(first.count == 1)
        // Worker 1 is gone: its attempt is lost.
        #expect(table.lostAttempts(live: [2]) == first)
        #expect(apply(&table, .taskFailed(first[0], error: "job worker w1:30001 lost")) == .done)
        #expect(table.job(id)!.status == .running)
        // Worker 1 (back) would rather leave it to worker 2.
        #expect(assign(&table, worker(1), live: [worker(1), worker(2)]).isEmpty)
        let second = assign(&table, worker(2), live: [worker(1), worker(2)])
        #expect(second == [TaskKey(job: id, task: 0, attempt: 2)])
        // The lost attempt's late report changes nothing.
        let stale = TaskResult(filesDone: 10, bytesDone: 100, failed: [], failedCount: 0)
        #expect(apply(&table, .taskFinished(first[0], stale)) == .ignored)
        finish(&table, second[0])
        let job = table.job(id)!
        #expect(job.status == .completed)
        #expect(job.tasks[0].attempts == 2 && job.tasks[0].workerAddress == "w2:30001")
        #expect(job.filesDone == 10, "files are counted once, by the attempt that counts")
    }

    @Test func aJobFailsOnlyWhenATaskExhaustsItsAttempts() {
        var table = JobTable()
        let id = planned(&table, load(batch: 5), files: 10, attemptsMax: 2)
        let keys = assign(&table, worker(1))
        #expect(keys.count == 2)
        apply(&table, .taskFailed(keys[0], error: "lost"))
        #expect(table.job(id)!.status == .running)
        let retry = assign(&table, worker(1))
        #expect(retry == [TaskKey(job: id, task: 0, attempt: 2)], "with no other worker, the same one retries")
        apply(&table, .taskFailed(retry[0], error: "disk full"))
        let job = table.job(id)!
        #expect(job.status == .failed)
        #expect(job.error == "task 0 failed after 2 attempts: disk full")
        #expect(job.tasks[1].status == .canceled, "the other tasks stop with the job")
    }

    @Test func failedFilesDoNotFailTheirSiblings() {
        var table = JobTable()
        let id = planned(&table, load(batch: 4), files: 8)
        let keys = assign(&table, worker(1))
        finish(&table, keys[0], failed: [FailedItem(path: "/data/f0001", error: "not persisted")])
        #expect(table.job(id)!.status == .running)
        finish(&table, keys[1])
        let job = table.job(id)!
        #expect(job.status == .failed)
        #expect(job.error == "1 of 8 files failed")
        #expect(job.filesDone == 7)
        #expect(job.failedFiles == [FailedItem(path: "/data/f0001", error: "not persisted")])
    }

    @Test func replicasOfABatchRunOnDifferentWorkers() {
        var table = JobTable()
        let id = planned(&table, load(replication: 2, batch: 10), files: 20)
        #expect(table.job(id)!.tasks.map(\.group) == [0, 0, 1, 1])
        let onOne = assign(&table, worker(1))
        #expect(onOne.map(\.task) == [0, 2], "one replica of each batch")
        let onTwo = assign(&table, worker(2))
        #expect(onTwo.map(\.task) == [1, 3])
        #expect(assign(&table, worker(3)).isEmpty)
    }

    @Test func loadsNeedABlockStoreAndActiveTasksAreBounded() {
        var table = JobTable()
        _ = planned(&table, load(batch: 1, active: 2), files: 5)
        #expect(assign(&table, worker(1, blockStore: false)).isEmpty)
        #expect(assign(&table, worker(1, slots: 1)).count == 1)
        #expect(assign(&table, worker(2)).count == 1, "the job's second active task")
        #expect(assign(&table, worker(3)).isEmpty, "two tasks of the job run already")
    }

    @Test func cancelStopsAJob() {
        var table = JobTable()
        let id = planned(&table, load(batch: 1), files: 3)
        let keys = assign(&table, worker(1))
        #expect(apply(&table, .cancel(job: id)) == .done)
        #expect(table.job(id)!.status == .canceled)
        #expect(table.job(id)!.tasks.allSatisfy { $0.status == .canceled })
        #expect(!table.isCurrent(keys[0]), "the worker's report is no longer wanted")
        guard case .failure(let error) = apply(&table, .cancel(job: id)) else { Issue.record("cancel of a canceled job"); return }
        #expect(error.message == "job \(id) is already CANCELED")
        guard case .failure(let missing) = apply(&table, .cancel(job: 42)) else { Issue.record("cancel of a missing job"); return }
        #expect(missing.code == .notFound && missing.message == "job 42 does not exist (or was purged)")
    }

    @Test func capacityAndRetention() {
        var table = JobTable()
        let submit = JobCommand.submit([load()], capacity: 2, retentionMilliseconds: 10_000, attemptsMax: 1)
        guard case .submitted(_, let first) = apply(&table, submit, time: 1_000) else { Issue.record("submit"); return }
        _ = apply(&table, submit, time: 1_001)
        guard case .failure(let full) = apply(&table, submit, time: 1_002) else { Issue.record("a full table accepted a job"); return }
        #expect(full.code == .capacityExceeded)
        #expect(full.message.contains("the job table is full: it holds 2 jobs and strata.job.master.job.capacity is 2"))
        // A finished job leaves the table once its retention has passed, making room.
        apply(&table, .planned(job: first[0]), time: 2_000)
        #expect(table.job(first[0])!.status == .completed)
        #expect(table.expiredJobs(nowMilliseconds: 11_999, retentionMilliseconds: 10_000).isEmpty)
        #expect(table.expiredJobs(nowMilliseconds: 12_000, retentionMilliseconds: 10_000) == first)
        guard case .submitted = apply(&table, submit, time: 12_000) else { Issue.record("no room after retention"); return }
        #expect(table.job(first[0]) == nil)
        #expect(table.count == 2)
    }

    @Test func badRequestsAreRefusedWithTheirReason() {
        var table = JobTable()
        let cases: [(JobRequest, String)] = [
            (JobRequest(plan: .copy(source: "/a", destination: "/a/b", overwrite: false), batchSize: 1, activeTasksMax: 1), "destination /a/b is inside source /a"),
            (JobRequest(plan: .ufsCopy(source: "/x/", destination: "/x", overwrite: false), batchSize: 1, activeTasksMax: 1), "destination /x is inside source /x/"),
            (JobRequest(plan: .load(path: "/a", replication: 0), batchSize: 1, activeTasksMax: 1), "replication 0 is outside 1...100"),
            (JobRequest(plan: .persist(path: "/a"), batchSize: 0, activeTasksMax: 1), "batch size 0 is outside 1...10000"),
        ]
        for (request, message) in cases {
            guard case .failure(let error) = apply(&table, .submit([request], capacity: 10, retentionMilliseconds: 1, attemptsMax: 1)) else {
                Issue.record("accepted \(request)")
                continue
            }
            #expect(error.message == message)
        }
        #expect(table.count == 0)
    }

    @Test func aPlanInterruptedByAFailOverIsReplaced() {
        var table = JobTable()
        guard case .submitted(_, let jobs) = apply(&table, .submit([load(batch: 2)], capacity: 10, retentionMilliseconds: 1, attemptsMax: 1)) else { return }
        apply(&table, .addTasks(job: jobs[0], JobTable.split(items(4), batchSize: 2, replication: 1), replacing: true))
        #expect(table.jobsToPlan == jobs)
        // The new leader plans again from the start.
        apply(&table, .addTasks(job: jobs[0], JobTable.split(items(4), batchSize: 2, replication: 1), replacing: true))
        apply(&table, .planned(job: jobs[0]))
        #expect(table.job(jobs[0])!.tasks.count == 2)
        #expect(table.jobsToPlan.isEmpty)
    }

    @Test func recordsAndSnapshotsRoundTrip() throws {
        var table = JobTable()
        let id = planned(&table, JobRequest(plan: .ufsCopy(source: "/in", destination: "/out", overwrite: true), batchSize: 3, activeTasksMax: 7), files: 7)
        let keys = assign(&table, worker(3))
        finish(&table, keys[0], failed: [FailedItem(path: "/in/f0000", error: "boom")])
        apply(&table, .taskFailed(keys[1], error: "lost"))
        let commands: [JobCommand] = [
            .submit([load(), JobRequest(plan: .move(source: "/a", destination: "/b", overwrite: false), batchSize: 2, activeTasksMax: 3)],
                    capacity: 5, retentionMilliseconds: 7, attemptsMax: 2),
            .addTasks(job: 4, [TaskPlan(group: 1, items: items(2))], replacing: false),
            .planned(job: 4), .planFailed(job: 4, error: "no such path"),
            .assign(TaskKey(job: 1, task: 2, attempt: 3), worker: 9, address: "h:1"),
            .taskFinished(TaskKey(job: 1, task: 0, attempt: 1), TaskResult(filesDone: 1, bytesDone: 2, failed: [FailedItem(path: "p", error: "e")], failedCount: 1)),
            .taskFailed(TaskKey(job: 1, task: 0, attempt: 1), error: "x"), .cancel(job: 3), .purge([1, 2, 3]),
            .batch([.planned(job: 4), .assign(TaskKey(job: 4, task: 0, attempt: 1), worker: 2, address: "w"), .purge([])]),
        ]
        for command in commands {
            let record = JobRecord(operationID: OperationID(client: 1, sequence: 2), timeMilliseconds: 77, command: command)
            #expect(try JobCodec.decodeRecord(JobCodec.encode(record)) == record)
        }
        let bytes = JobCodec.encodeSnapshot(table)
        let restored = try JobCodec.decodeSnapshot(bytes)
        #expect(JobCodec.encodeSnapshot(restored) == bytes)
        #expect(restored.job(id) == table.job(id))
        #expect(restored.activeJobs.map(\.id) == [id])
    }

    @Test func aBatchAppliesInOrderWithAnOutcomeEach() {
        var table = JobTable()
        guard case .submitted(_, let jobs) = apply(&table, .submit([load(batch: 2)], capacity: 10, retentionMilliseconds: 1, attemptsMax: 1)) else { return }
        let id = jobs[0]
        let outcome = apply(&table, .batch([
            .addTasks(job: id, JobTable.split(items(4), batchSize: 2, replication: 1), replacing: true),
            .planned(job: id),
            .assign(TaskKey(job: id, task: 0, attempt: 1), worker: 1, address: "w1"),
            .assign(TaskKey(job: id, task: 0, attempt: 1), worker: 2, address: "w2"),
            .cancel(job: 999),
            .batch([]),
        ]))
        guard case .results(let results) = outcome else { Issue.record("a batch answered \(outcome)"); return }
        #expect(results.count == 6)
        #expect(Array(results.prefix(3)) == [.done, .done, .done])
        #expect(results[3] == .ignored, "the second assignment of the same attempt does nothing")
        #expect(results[4] == .failure(JobError(.notFound, "job 999 does not exist (or was purged)")))
        #expect(results[5] == .failure(JobError(.invalidArgument, "batches do not nest")))
        #expect(table.job(id)!.tasks[0].workerAddress == "w1")
    }

    @Test func damagedInputIsAnErrorNotATrap() {
        let record = JobCodec.encode(JobRecord(timeMilliseconds: 1, command: .addTasks(job: 1, [TaskPlan(group: 0, items: items(3))], replacing: true)))
        for length in 0..<record.count {
            #expect(throws: JobError.self) { try JobCodec.decodeRecord(Array(record.prefix(length))) }
        }
        var huge = record
        huge[28] = 0xff // the item count (format, kind, operation flag, time, job, replacing, plan count, group come first)
        #expect(throws: JobError.self) { try JobCodec.decodeRecord(huge) }
        #expect(throws: JobError.self) { try JobCodec.decodeSnapshot([1, 0, 0]) }
    }
}
