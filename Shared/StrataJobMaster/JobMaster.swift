import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import StrataCore
import StrataJob
import StrataJournal
import StrataWire

/// How the job master runs: the `strata.job.master.*` settings it puts into records (so that
/// every member applies them alike) and its timings.
public struct JobMasterSettings: Sendable {
    public var capacity: Int
    public var retention: Duration
    public var attemptsMax: Int
    public var workerTimeout: Duration
    public var heartbeatInterval: Duration

    public init(configuration: Configuration) {
        capacity = configuration.integer(.jobMasterJobCapacity)
        retention = configuration.duration(.jobMasterFinishedJobRetentionTime)
        attemptsMax = configuration.integer(.jobMasterTaskAttemptsMax)
        workerTimeout = configuration.duration(.jobMasterWorkerTimeout)
        heartbeatInterval = configuration.duration(.jobMasterWorkerHeartbeatInterval)
    }
}

/// The job master: serves the job API from the JOB_MASTER journal's leader (standbys answer
/// NOT_LEADER with the leader's address), takes job workers' heartbeats, and — as the leader —
/// plans submitted jobs, hands tasks to job workers, retries tasks of lost workers and purges
/// finished jobs. Every decision is the job table's; this turns them into journal records.
public final class JobMaster: Sendable {
    public let journaled: JournaledService<JobStateMachine>
    public var stateMachine: JobStateMachine { journaled.stateMachine }
    let planner: JobPlanner
    let settings: JobMasterSettings
    let logger: Logger
    /// The job workers heard from while this master leads (not journaled).
    let registry = NIOLockedValueBox(JobWorkerRegistry())
    /// When this master started leading (nil while a standby): lost-worker detection waits a
    /// worker timeout after that, so that workers have time to find the new leader.
    let leaderSince = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    /// Wakes the leader's loop early (a job was submitted).
    let doorbell = Doorbell()
    let started = ContinuousClock.now

    public static let journaledMethods = JournaledServiceMethods(
        info: JobMasterMethods.getMasterInfo, checkpoint: JobMasterMethods.checkpoint, checkpointLocal: JobMasterMethods.checkpointLocal)

    public init(journaled: JournaledService<JobStateMachine>, planner: JobPlanner, settings: JobMasterSettings, logger: Logger) {
        self.journaled = journaled
        self.planner = planner
        self.settings = settings
        self.logger = logger
    }

    var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
    /// Milliseconds on this process's monotonic clock, for worker liveness.
    var monotonicMilliseconds: Int64 { (ContinuousClock.now - started).milliseconds }

    public func role() -> String { journaled.role.rawValue }

    // MARK: Handlers

    public func register(into handlers: inout RPCHandlers) {
        handlers.register(JobMasterMethods.getMasterInfo) { _, _ in await self.journaled.info() }
        handlers.register(JobMasterMethods.exportTable) { _, _ in
            try await self.journaled.readyToRead()
            let exported = await self.journaled.exportState()
            return ExportedJobTable(data: exported.data, jobs: exported.entries, appliedIndex: exported.appliedIndex)
        }
        handlers.register(JobMasterMethods.submit) { request, _ in try await self.submit(request) }
        handlers.register(JobMasterMethods.getStatus) { request, _ in
            try await self.journaled.readyToRead()
            let table = await self.stateMachine.table
            guard let job = table.job(request.id) else { throw RPCError(.notFound, "job \(request.id) does not exist (or was purged)") }
            return self.info(job, verbose: request.verbose)
        }
        handlers.register(JobMasterMethods.list) { request, _ in
            try await self.journaled.readyToRead()
            let jobs = await self.stateMachine.table.allJobs
            let shown = request.limit == 0 ? jobs[...] : jobs.suffix(Int(request.limit))
            return JobList(jobs: shown.map { self.info($0, verbose: false) })
        }
        handlers.register(JobMasterMethods.cancel) { request, _ in
            let operation = request.operation.map { OperationID(client: $0.client, sequence: $0.sequence) }
            try await self.propose(.cancel(job: request.id), operation: operation)
            guard let job = await self.stateMachine.table.job(request.id) else { throw RPCError(.notFound, "job \(request.id) does not exist (or was purged)") }
            return self.info(job, verbose: false)
        }
        handlers.register(JobMasterMethods.getCommandStatus) { request, _ in
            try await self.journaled.readyToRead()
            let jobs = await self.stateMachine.table.jobs(ofCommand: request.id)
            guard !jobs.isEmpty else { throw RPCError(.notFound, "command \(request.id) does not exist (or its jobs were purged)") }
            return CommandStatus(commandID: request.id, status: Self.commandStatus(jobs), jobs: jobs.map { self.info($0, verbose: request.verbose) })
        }
        handlers.register(JobMasterMethods.summary) { _, _ in
            try await self.journaled.readyToRead()
            return self.summary(await self.stateMachine.table)
        }
        handlers.register(JobMasterMethods.workerHeartbeat) { request, _ in try await self.heartbeat(request) }
        journaled.register(into: &handlers)
    }

    /// A command is running until every job finished; then failed if any failed, canceled if
    /// any was canceled, else completed.
    static func commandStatus(_ jobs: [Job]) -> JobStatus {
        if jobs.contains(where: { !$0.status.isFinished }) { return jobs.contains { $0.status == .running } ? .running : .created }
        if jobs.contains(where: { $0.status == .failed }) { return .failed }
        if jobs.contains(where: { $0.status == .canceled }) { return .canceled }
        return .completed
    }

    // MARK: Proposals

    /// Journals `command`; a refusal by the job table is an RPC error naming the reason.
    @discardableResult
    func propose(_ command: JobCommand, operation: OperationID? = nil) async throws(RPCError) -> JobOutcome {
        let record = JobRecord(operationID: operation, timeMilliseconds: nowMilliseconds, command: command)
        let outcome = try await journaled.submit(JobCodec.encode(record))
        if case .failure(let error) = outcome {
            switch error.code {
            case .notFound: throw RPCError(.notFound, error.message)
            case .capacityExceeded: throw RPCError(.failedPrecondition, error.message)
            case .invalidArgument: throw RPCError(.invalidArgument, error.message)
            case .failedPrecondition: throw RPCError(.failedPrecondition, error.message)
            }
        }
        return outcome
    }

    func submit(_ request: SubmitJobsRequest) async throws(RPCError) -> SubmitJobsResponse {
        try await journaled.ensureLeader()
        guard !request.jobs.isEmpty else { throw RPCError(.invalidArgument, "a submission needs at least one job") }
        for job in request.jobs { try await planner.check(job) }
        let operation = request.operation.map { OperationID(client: $0.client, sequence: $0.sequence) }
        let outcome = try await propose(.submit(request.jobs, capacity: settings.capacity, retentionMilliseconds: settings.retention.milliseconds,
                                                attemptsMax: settings.attemptsMax), operation: operation)
        guard case .submitted(let commandID, let jobs) = outcome else {
            throw RPCError(.internal, "submission answered \(outcome)")
        }
        Counter(label: "strata_job_submitted_total").increment(by: jobs.count)
        for (id, job) in zip(jobs, request.jobs) { logger.info("job \(id) submitted: \(job.plan.description)") }
        doorbell.ring()
        return SubmitJobsResponse(commandID: commandID, jobIDs: jobs)
    }

    // MARK: Job workers

    func heartbeat(_ heartbeat: JobWorkerHeartbeat) async throws(RPCError) -> JobWorkerHeartbeatResponse {
        try await journaled.ensureLeader()
        guard !heartbeat.host.isEmpty, let port = Int(exactly: heartbeat.rpcPort), (1...65535).contains(port), heartbeat.poolSize > 0 else {
            throw RPCError(.invalidArgument, "a job worker heartbeat needs the worker's host, RPC port and pool size")
        }
        let address = HostAndPort(host: heartbeat.host, port: port)
        let id = address.stableID
        let running = Dictionary(heartbeat.running.map { ($0.key, JobWorkerRegistry.Progress(filesDone: Int($0.filesDone), bytesDone: $0.bytesDone)) },
                                 uniquingKeysWith: { first, _ in first })
        let isNew = registry.withLockedValue {
            $0.heartbeat(id: id, address: address.description, session: heartbeat.session, poolSize: Int(heartbeat.poolSize),
                         hasBlockStore: heartbeat.blockStore, running: running, nowMilliseconds: monotonicMilliseconds)
        }
        if isNew { logger.info("job worker \(address) registered (pool of \(heartbeat.poolSize), \(heartbeat.blockStore ? "with" : "without") a block store)") }
        var response = JobWorkerHeartbeatResponse()

        // Finished attempts: journal those that still count (in one entry); acknowledge all once
        // journaled.
        let current = await stateMachine.table
        var outcomes: [JobCommand] = []
        for outcome in heartbeat.finished.prefix(JobWorkerHeartbeat.finishedMax) {
            if current.isCurrent(outcome.key) {
                outcomes.append(outcome.failed
                    ? .taskFailed(outcome.key, error: outcome.error)
                    : .taskFinished(outcome.key, TaskResult(filesDone: Int(outcome.filesDone), bytesDone: outcome.bytesDone,
                                                            failed: outcome.failedFiles, failedCount: Int(outcome.filesFailed))))
            }
            response.acknowledged.append(outcome.key)
        }
        if !outcomes.isEmpty {
            try await propose(outcomes.count == 1 ? outcomes[0] : .batch(outcomes))
            await noteFinished(outcomes)
        }

        var table = await stateMachine.table
        let finishedKeys = Set(heartbeat.finished.map(\.key))
        // Attempts the worker runs that no longer count (canceled, reassigned): stop them.
        response.cancel = running.keys.filter { !table.isCurrent($0) }.sorted()
        // Attempts assigned to it that it does not know of (an answer lost, a restart): send again.
        var resent = 0
        for key in table.runningAttempts(on: id) where running[key] == nil && !finishedKeys.contains(key) {
            if let assignment = Self.assignment(key, in: table) { response.assignments.append(assignment) }
            resent += 1
        }
        // New work, within the worker's free slots, as the job table decides, in one entry.
        let busy = running.keys.filter { table.isCurrent($0) }.count + resent
        let freeSlots = max(0, Int(heartbeat.poolSize) - busy)
        if freeSlots > 0 {
            let live = registry.withLockedValue { registry in
                registry.entries.map { JobTable.Worker(id: $0.id, address: $0.address, freeSlots: max(0, $0.poolSize - $0.running.count), hasBlockStore: $0.hasBlockStore) }
            }
            let worker = JobTable.Worker(id: id, address: address.description, freeSlots: freeSlots, hasBlockStore: heartbeat.blockStore)
            let assignments = table.assignments(for: worker, live: live)
            if !assignments.isEmpty {
                let outcome = try await propose(.batch(assignments))
                guard case .results(let results) = outcome else { throw RPCError(.internal, "a batch answered \(outcome)") }
                table = await stateMachine.table
                // Another heartbeat may have handed a task out meanwhile: only what this entry
                // started is sent.
                for (command, result) in zip(assignments, results) where result == .done {
                    guard case .assign(let key, _, _) = command, let assignment = Self.assignment(key, in: table) else { continue }
                    response.assignments.append(assignment)
                }
            }
        }
        return response
    }

    static func assignment(_ key: TaskKey, in table: JobTable) -> TaskAssignment? {
        guard let job = table.job(key.job), job.tasks.indices.contains(key.task) else { return nil }
        let plan = job.request.plan
        var assignment = TaskAssignment(key: key, kind: plan.kind)
        assignment.source = plan.source
        assignment.destination = plan.destination
        assignment.overwrite = plan.overwrite
        assignment.items = job.tasks[key.task].items
        assignment.replication = UInt32(clamping: plan.replication)
        return assignment
    }

    /// Counts the ends of the jobs whose last tasks these outcomes were, in the metrics and the log.
    private func noteFinished(_ outcomes: [JobCommand]) async {
        let table = await stateMachine.table
        var jobs = Set<UInt64>()
        for outcome in outcomes {
            switch outcome {
            case .taskFinished(let key, _), .taskFailed(let key, _): jobs.insert(key.job)
            default: break
            }
        }
        for id in jobs.sorted() {
            guard let job = table.job(id), job.status.isFinished, job.endTimeMilliseconds == job.lastUpdateMilliseconds else { continue }
            noteEnd(job)
        }
    }

    func noteEnd(_ job: Job) {
        switch job.status {
        case .completed: Counter(label: "strata_job_completed_total").increment()
        case .failed: Counter(label: "strata_job_failed_total").increment()
        case .canceled: Counter(label: "strata_job_canceled_total").increment()
        default: return
        }
        logger.info("job \(job.id) (\(job.name)) \(job.status)\(job.error.isEmpty ? "" : ": \(job.error)"): \(job.filesDone) of \(job.totalFiles) files")
    }

    // MARK: Reports

    /// A job as the API shows it, with what its running tasks report so far.
    func info(_ job: Job, verbose: Bool) -> JobInfo {
        let progress = job.status == .running ? registry.withLockedValue { $0.progress(ofJob: job.id) } : JobWorkerRegistry.Progress(filesDone: 0, bytesDone: 0)
        var info = JobInfo()
        info.id = job.id
        info.name = job.name
        info.description = job.request.plan.description
        info.status = job.status
        info.error = job.error
        info.commandID = job.commandID
        info.createTimeMilliseconds = job.createTimeMilliseconds
        info.lastUpdateMilliseconds = job.lastUpdateMilliseconds
        info.endTimeMilliseconds = job.endTimeMilliseconds
        info.files = UInt32(clamping: job.totalFiles)
        info.bytes = job.totalBytes
        info.filesDone = UInt32(clamping: min(job.totalFiles, job.filesDone + progress.filesDone))
        info.bytesDone = min(job.totalBytes, job.bytesDone + progress.bytesDone)
        info.filesFailed = UInt32(clamping: job.failedCount)
        info.failedFiles = job.failedFiles
        info.taskCount = UInt32(clamping: job.tasks.count)
        info.planned = job.planned
        info.tasksRunning = UInt32(clamping: job.runningTasks)
        info.tasksCompleted = UInt32(clamping: job.tasks.filter { $0.status == .completed }.count)
        if verbose {
            info.tasks = job.tasks.map { task in
                var item = TaskInfo()
                item.index = UInt32(clamping: task.index)
                item.status = task.status
                item.worker = task.workerAddress
                item.attempts = UInt32(clamping: task.attempts)
                item.error = task.error
                item.files = UInt32(clamping: task.itemCount)
                item.bytes = task.totalBytes
                item.filesDone = UInt32(clamping: task.result?.filesDone ?? 0)
                item.bytesDone = task.result?.bytesDone ?? 0
                item.filesFailed = UInt32(clamping: task.result?.failedCount ?? 0)
                item.startTimeMilliseconds = task.startTimeMilliseconds
                item.endTimeMilliseconds = task.endTimeMilliseconds
                return item
            }
        }
        return info
    }

    func workers() -> [JobWorkerInfo] {
        let now = monotonicMilliseconds
        return registry.withLockedValue { $0.entries }.map { entry in
            var info = JobWorkerInfo()
            info.address = entry.address
            info.poolSize = UInt32(clamping: entry.poolSize)
            info.activeTasks = UInt32(clamping: entry.running.count)
            info.blockStore = entry.hasBlockStore
            info.lastHeartbeatMillisecondsAgo = now - entry.lastHeartbeatMilliseconds
            return info
        }
    }

    /// `fsadmin report jobservice`: workers, counts per status, and the 10 most recently
    /// modified, most recently failed and longest-running jobs.
    func summary(_ table: JobTable) -> JobServiceSummary {
        var summary = JobServiceSummary()
        summary.workers = workers()
        let counts = table.counts()
        summary.counts = (0...JobStatus.allCases.map { Int($0.rawValue) }.max()!).map { raw in
            JobStatus(rawValue: UInt8(raw)).map { UInt64(counts[$0] ?? 0) } ?? 0
        }
        let jobs = table.allJobs
        summary.recent = jobs.sorted { $0.lastUpdateMilliseconds > $1.lastUpdateMilliseconds }.prefix(10).map { info($0, verbose: false) }
        summary.failed = jobs.filter { $0.status == .failed }.sorted { $0.lastUpdateMilliseconds > $1.lastUpdateMilliseconds }.prefix(10).map { info($0, verbose: false) }
        summary.longest = jobs.filter { !$0.status.isFinished }.sorted { ($0.createTimeMilliseconds, $0.id) < ($1.createTimeMilliseconds, $1.id) }
            .prefix(10).map { info($0, verbose: false) }
        return summary
    }
}
