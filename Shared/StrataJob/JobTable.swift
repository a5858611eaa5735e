import StrataCore

/// The job service's state: jobs, their tasks and attempts, grouped by command, as a
/// deterministic value type (like the namespace).
///
/// Every change is a `JobRecord` applied through `apply(_:)`, which depends only on the table
/// and the record, so every job master that applies the same records holds the same table.
/// What to do next — which task a job worker should run, which attempts were lost with their
/// worker, which finished jobs have outlived their retention — are decisions of this type too
/// (`assignments`, `lostAttempts`, `expiredJobs`): the leader turns them into records. No I/O,
/// no clocks: times arrive in the records.
public struct JobTable: Sendable {
    /// Failed files kept per job (and per task result): the rest are counted, not listed.
    public static let failedItemsKeptMax = 1000
    /// Operation ids remembered for idempotent retries; the oldest are forgotten first.
    public let operationsRememberedMax: Int

    // Internal (not private) so that the snapshot codec can restore them.
    var jobs: [UInt64: Job] = [:]
    /// Job ids in ascending order (ids only grow).
    var order: [UInt64] = []
    var orderStart = 0
    /// Jobs not finished yet: the only ones decisions look at.
    var unfinished: Set<UInt64> = []
    var nextID: UInt64 = 1
    var recentOperations: [OperationID: JobOutcome] = [:]
    var operationOrder: [OperationID] = []
    var operationOrderStart = 0

    public init(operationsRememberedMax: Int = 10_000) {
        precondition(operationsRememberedMax > 0, "must remember at least one operation")
        self.operationsRememberedMax = operationsRememberedMax
    }

    // MARK: Reads

    public var count: Int { jobs.count }
    public func job(_ id: UInt64) -> Job? { jobs[id] }

    /// Every job, oldest first.
    public var allJobs: [Job] { order[orderStart...].compactMap { jobs[$0] } }

    /// The jobs not finished yet, oldest first.
    public var activeJobs: [Job] { unfinished.sorted().compactMap { jobs[$0] } }

    /// The jobs one command submitted, in order.
    public func jobs(ofCommand commandID: UInt64) -> [Job] {
        // A command's jobs have the ids right after the command's own id.
        var result: [Job] = []
        var id = commandID + 1
        while let job = jobs[id], job.commandID == commandID {
            result.append(job)
            id += 1
        }
        return result
    }

    /// How many jobs are in each state.
    public func counts() -> [JobStatus: Int] {
        var counts: [JobStatus: Int] = [:]
        for job in jobs.values { counts[job.status, default: 0] += 1 }
        return counts
    }

    /// Jobs submitted but not planned yet: the leader plans them.
    public var jobsToPlan: [UInt64] { unfinished.sorted().filter { jobs[$0]?.planned == false } }

    /// Whether `key` is the attempt its task runs now.
    public func isCurrent(_ key: TaskKey) -> Bool {
        guard let job = jobs[key.job], job.status == .running, job.tasks.indices.contains(key.task) else { return false }
        let task = job.tasks[key.task]
        return task.status == .running && task.attempts == key.attempt
    }

    /// The attempts running on `worker` now.
    public func runningAttempts(on worker: UInt64) -> [TaskKey] {
        var result: [TaskKey] = []
        for id in unfinished.sorted() {
            guard let job = jobs[id], job.status == .running else { continue }
            for task in job.tasks where task.status == .running && task.worker == worker {
                result.append(TaskKey(job: id, task: task.index, attempt: task.attempts))
            }
        }
        return result
    }

    // MARK: Applying records

    /// Applies one journal record. A record whose operation id was already applied returns the
    /// first outcome again and changes nothing.
    public mutating func apply(_ record: JobRecord) -> JobOutcome {
        if let id = record.operationID, let earlier = recentOperations[id] { return earlier }
        let outcome: JobOutcome
        do {
            outcome = try execute(record.command, time: record.timeMilliseconds)
        } catch {
            outcome = .failure(error)
        }
        if let id = record.operationID { remember(id, outcome) }
        return outcome
    }

    private mutating func remember(_ id: OperationID, _ outcome: JobOutcome) {
        recentOperations[id] = outcome
        operationOrder.append(id)
        if operationOrder.count - operationOrderStart > operationsRememberedMax {
            recentOperations[operationOrder[operationOrderStart]] = nil
            operationOrderStart += 1
            if operationOrderStart > operationsRememberedMax {
                operationOrder.removeFirst(operationOrderStart)
                operationOrderStart = 0
            }
        }
    }

    private mutating func execute(_ command: JobCommand, time: Int64) throws(JobError) -> JobOutcome {
        switch command {
        case .submit(let requests, let capacity, let retention, let attemptsMax):
            return try submit(requests, capacity: capacity, retention: retention, attemptsMax: attemptsMax, time: time)
        case .addTasks(let id, let plans, let replacing):
            var job = try existing(id)
            guard job.status == .created, !job.planned else {
                throw JobError(.failedPrecondition, "job \(id) is \(job.status), not being planned")
            }
            if replacing { job.tasks = [] }
            for plan in plans {
                job.tasks.append(JobTask(index: job.tasks.count, group: plan.group, items: plan.items))
            }
            job.lastUpdateMilliseconds = time
            jobs[id] = job
            return .done
        case .planned(let id):
            var job = try existing(id)
            guard job.status == .created, !job.planned else {
                throw JobError(.failedPrecondition, "job \(id) is \(job.status), not being planned")
            }
            job.planned = true
            job.totalFiles = job.tasks.reduce(0) { $0 + $1.itemCount }
            job.totalBytes = job.tasks.reduce(0) { $0 + $1.totalBytes }
            job.lastUpdateMilliseconds = time
            if job.tasks.isEmpty {
                finish(&job, .completed, error: "", time: time)
            } else {
                job.status = .running
            }
            jobs[id] = job
            return .done
        case .planFailed(let id, let error):
            var job = try existing(id)
            guard job.status == .created else { return .ignored }
            finish(&job, .failed, error: error, time: time)
            jobs[id] = job
            return .done
        case .assign(let key, let worker, let address):
            guard var job = jobs[key.job], job.status == .running, job.tasks.indices.contains(key.task) else { return .ignored }
            var task = job.tasks[key.task]
            guard task.status == .created, key.attempt == task.attempts + 1 else { return .ignored }
            task.status = .running
            task.attempts = key.attempt
            task.worker = worker
            task.workerAddress = address
            task.startTimeMilliseconds = time
            job.tasks[key.task] = task
            job.lastUpdateMilliseconds = time
            jobs[key.job] = job
            return .done
        case .taskFinished(let key, let result):
            guard isCurrent(key), var job = jobs[key.job] else { return .ignored }
            var task = job.tasks[key.task]
            var kept = result
            kept.failed = Array(result.failed.prefix(Self.failedItemsKeptMax))
            kept.failedCount = max(result.failedCount, result.failed.count)
            task.status = .completed
            task.result = kept
            task.endTimeMilliseconds = time
            job.tasks[key.task] = task
            job.filesDone += kept.filesDone
            job.bytesDone += kept.bytesDone
            job.failedCount += kept.failedCount
            job.failedFiles.append(contentsOf: kept.failed.prefix(max(0, Self.failedItemsKeptMax - job.failedFiles.count)))
            job.lastUpdateMilliseconds = time
            if job.tasks.allSatisfy({ $0.status == .completed }) {
                if job.failedCount > 0 {
                    finish(&job, .failed, error: "\(job.failedCount) of \(job.totalFiles) files failed", time: time)
                } else {
                    finish(&job, .completed, error: "", time: time)
                }
            }
            jobs[key.job] = job
            return .done
        case .taskFailed(let key, let error):
            guard isCurrent(key), var job = jobs[key.job] else { return .ignored }
            var task = job.tasks[key.task]
            task.error = error
            task.endTimeMilliseconds = time
            if let worker = task.worker, !task.triedWorkers.contains(worker) { task.triedWorkers.append(worker) }
            job.lastUpdateMilliseconds = time
            if task.attempts >= job.attemptsMax {
                task.status = .failed
                job.tasks[key.task] = task
                finish(&job, .failed, error: "task \(key.task) failed after \(task.attempts) attempt\(task.attempts == 1 ? "" : "s"): \(error)", time: time)
            } else {
                task.status = .created
                job.tasks[key.task] = task
            }
            jobs[key.job] = job
            return .done
        case .cancel(let id):
            var job = try existing(id)
            guard !job.status.isFinished else {
                throw JobError(.failedPrecondition, "job \(id) is already \(job.status)")
            }
            finish(&job, .canceled, error: "canceled", time: time)
            jobs[id] = job
            return .done
        case .purge(let ids):
            for id in ids where jobs[id]?.status.isFinished == true { remove(id) }
            return .done
        case .batch(let commands):
            var results: [JobOutcome] = []
            results.reserveCapacity(commands.count)
            for command in commands {
                if case .batch = command {
                    results.append(.failure(JobError(.invalidArgument, "batches do not nest")))
                    continue
                }
                do { results.append(try execute(command, time: time)) } catch { results.append(.failure(error)) }
            }
            return .results(results)
        }
    }

    private mutating func submit(_ requests: [JobRequest], capacity: Int, retention: Int64, attemptsMax: Int,
                                 time: Int64) throws(JobError) -> JobOutcome {
        guard !requests.isEmpty else { throw JobError(.invalidArgument, "a command needs at least one job") }
        guard attemptsMax >= 1 else { throw JobError(.invalidArgument, "task attempts must be at least 1, not \(attemptsMax)") }
        for request in requests { try Self.validate(request) }
        for id in expiredJobs(nowMilliseconds: time, retentionMilliseconds: retention) { remove(id) }
        guard jobs.count + requests.count <= capacity else {
            throw JobError(.capacityExceeded, "the job table is full: it holds \(jobs.count) jobs and strata.job.master.job.capacity is \(capacity); finished jobs leave it \(retention / 1000)s after they end (strata.job.master.finished.job.retention.time), or cancel running ones")
        }
        // Ids look like Alluxio's (the submission time in ms) and only grow.
        let commandID = max(nextID, UInt64(max(0, time)))
        var ids: [UInt64] = []
        for (offset, request) in requests.enumerated() {
            let id = commandID + 1 + UInt64(offset)
            jobs[id] = Job(id: id, commandID: commandID, request: request, attemptsMax: attemptsMax, timeMilliseconds: time)
            order.append(id)
            unfinished.insert(id)
            ids.append(id)
        }
        nextID = commandID + 1 + UInt64(requests.count)
        return .submitted(commandID: commandID, jobs: ids)
    }

    /// Checks a request on its own (limits, a destination inside its source), as a submission does.
    public static func validate(_ request: JobRequest) throws(JobError) {
        guard (1...JobRequest.batchSizeMax).contains(request.batchSize) else {
            throw JobError(.invalidArgument, "batch size \(request.batchSize) is outside 1...\(JobRequest.batchSizeMax)")
        }
        guard (1...JobRequest.activeTasksMaxLimit).contains(request.activeTasksMax) else {
            throw JobError(.invalidArgument, "active jobs \(request.activeTasksMax) is outside 1...\(JobRequest.activeTasksMaxLimit)")
        }
        guard !request.plan.source.isEmpty else { throw JobError(.invalidArgument, "\(request.plan.kind.name) needs a source path") }
        switch request.plan {
        case .load(_, let replication):
            guard (1...100).contains(replication) else { throw JobError(.invalidArgument, "replication \(replication) is outside 1...100") }
        case .persist:
            break
        case .copy(let source, let destination, _), .move(let source, let destination, _), .ufsCopy(let source, let destination, _):
            guard !destination.isEmpty else { throw JobError(.invalidArgument, "\(request.plan.kind.name) needs a destination") }
            let trimmedSource = source.hasSuffix("/") ? String(source.dropLast()) : source
            guard destination != trimmedSource, !destination.hasPrefix(trimmedSource + "/") else {
                throw JobError(.invalidArgument, "destination \(destination) is inside source \(source)")
            }
        }
    }

    private func existing(_ id: UInt64) throws(JobError) -> Job {
        guard let job = jobs[id] else { throw JobError(.notFound, "job \(id) does not exist (or was purged)") }
        return job
    }

    /// Ends a job: unfinished tasks are canceled and every task's files dropped (counts stay).
    private mutating func finish(_ job: inout Job, _ status: JobStatus, error: String, time: Int64) {
        precondition(status.isFinished, "finishing job \(job.id) as \(status)")
        job.status = status
        job.error = error
        job.endTimeMilliseconds = time
        job.lastUpdateMilliseconds = time
        for index in job.tasks.indices {
            if !job.tasks[index].status.isFinished {
                job.tasks[index].status = .canceled
                job.tasks[index].endTimeMilliseconds = time
            }
            job.tasks[index].items = []
        }
        unfinished.remove(job.id)
    }

    private mutating func remove(_ id: UInt64) {
        jobs[id] = nil
        unfinished.remove(id)
        // Purged jobs are the oldest finished ones; drop leading ids that are gone.
        while orderStart < order.count, jobs[order[orderStart]] == nil { orderStart += 1 }
        // Keep `order` within a constant factor of the jobs held (purges leave holes when an
        // older job is still running).
        if order.count - orderStart > 2 * jobs.count + 1024 {
            order = order[orderStart...].filter { jobs[$0] != nil }
            orderStart = 0
        }
    }

    // MARK: Decisions

    /// A job worker as the leader sees it when deciding what it should run.
    public struct Worker: Sendable, Equatable {
        public var id: UInt64
        public var address: String
        public var freeSlots: Int
        public var hasBlockStore: Bool

        public init(id: UInt64, address: String, freeSlots: Int, hasBlockStore: Bool) {
            self.id = id
            self.address = address
            self.freeSlots = freeSlots
            self.hasBlockStore = hasBlockStore
        }
    }

    /// The attempts `worker` should start now, oldest job first, as `assign` commands: within
    /// its free slots and each job's active-task limit; a load task never on a worker that runs
    /// or ran another replica of its batch; a task that failed on this worker left for another
    /// live worker that can run it, if there is one.
    public func assignments(for worker: Worker, live: [Worker]) -> [JobCommand] {
        var slots = worker.freeSlots
        guard slots > 0 else { return [] }
        var commands: [JobCommand] = []
        for id in unfinished.sorted() {
            guard let job = jobs[id], job.status == .running else { continue }
            let needsBlockStore = job.request.plan.needsBlockStore
            guard !needsBlockStore || worker.hasBlockStore else { continue }
            var running = job.runningTasks
            let capable = live.filter { !needsBlockStore || $0.hasBlockStore }
            // Groups this worker holds a replica of: in the table, or given it just now.
            var heldGroups = Set<Int>()
            if job.request.plan.replication > 1 {
                for other in job.tasks where Self.holds(job, group: other.group, worker: worker.id) { heldGroups.insert(other.group) }
            }
            for task in job.tasks where task.status == .created {
                guard running < job.request.activeTasksMax else { break }
                if job.request.plan.replication > 1 && heldGroups.contains(task.group) { continue }
                // Leave a retry to another live worker that could take it, if there is one.
                if task.triedWorkers.contains(worker.id), capable.contains(where: { other in
                    other.id != worker.id && other.freeSlots > 0 && !task.triedWorkers.contains(other.id)
                        && !(job.request.plan.replication > 1 && Self.holds(job, group: task.group, worker: other.id))
                }) { continue }
                commands.append(.assign(TaskKey(job: id, task: task.index, attempt: task.attempts + 1), worker: worker.id, address: worker.address))
                heldGroups.insert(task.group)
                running += 1
                slots -= 1
                if slots == 0 { return commands }
            }
        }
        return commands
    }

    /// Whether `worker` runs or ran a replica of `group` of `job`.
    static func holds(_ job: Job, group: Int, worker: UInt64) -> Bool {
        job.tasks.contains { $0.group == group && $0.worker == worker && ($0.status == .running || $0.status == .completed) }
    }

    /// Running attempts whose job worker is not among `live`: lost with it.
    public func lostAttempts(live: Set<UInt64>) -> [TaskKey] {
        var lost: [TaskKey] = []
        for id in unfinished.sorted() {
            guard let job = jobs[id], job.status == .running else { continue }
            for task in job.tasks where task.status == .running {
                if let worker = task.worker, !live.contains(worker) {
                    lost.append(TaskKey(job: id, task: task.index, attempt: task.attempts))
                }
            }
        }
        return lost
    }

    /// Finished jobs whose retention has passed, oldest first.
    public func expiredJobs(nowMilliseconds: Int64, retentionMilliseconds: Int64) -> [UInt64] {
        var expired: [UInt64] = []
        for id in order[orderStart...] {
            guard let job = jobs[id], job.status.isFinished, job.endTimeMilliseconds + retentionMilliseconds <= nowMilliseconds else { continue }
            expired.append(id)
        }
        return expired
    }

    // MARK: Planning

    /// Splits `items` (sorted by path, so every planner splits alike) into tasks of `batchSize`
    /// files; a load with replication `r` gets `r` tasks per batch, one group per batch.
    public static func split(_ items: [JobItem], batchSize: Int, replication: Int) -> [TaskPlan] {
        precondition(batchSize >= 1 && replication >= 1, "batch size \(batchSize), replication \(replication)")
        let sorted = items.sorted { $0.relativePath < $1.relativePath }
        var plans: [TaskPlan] = []
        for (group, start) in stride(from: 0, to: sorted.count, by: batchSize).enumerated() {
            let batch = Array(sorted[start..<min(sorted.count, start + batchSize)])
            for _ in 0..<replication { plans.append(TaskPlan(group: group, items: batch)) }
        }
        return plans
    }
}
