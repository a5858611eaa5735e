import StrataCore

/// Binary encodings of job-table journal records and snapshots: versioned, deterministic.
///
/// A record is `format (u8) | kind (u8) | operation id? | time | fields…`; a snapshot is
/// `format (u8) | next id | jobs | remembered operations`. Integrity (CRC) is the journal's job.
/// Counts are checked against what remains to read, so damaged input is an error, never a trap
/// or a huge allocation.
public enum JobCodec {
    public static let recordFormat: UInt8 = 1
    public static let snapshotFormat: UInt8 = 1

    // MARK: Records

    public static func encode(_ record: JobRecord) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(recordFormat)
        writer.write(kind(of: record.command))
        writer.write(record.operationID != nil)
        if let id = record.operationID {
            writer.write(id.client)
            writer.write(id.sequence)
        }
        writer.write(record.timeMilliseconds)
        writeBody(record.command, &writer)
        return writer.bytes
    }

    static func kind(of command: JobCommand) -> UInt8 {
        switch command {
        case .submit: 1
        case .addTasks: 2
        case .planned: 3
        case .planFailed: 4
        case .assign: 5
        case .taskFinished: 6
        case .taskFailed: 7
        case .cancel: 8
        case .purge: 9
        case .batch: 10
        }
    }

    static func writeBody(_ command: JobCommand, _ writer: inout ByteWriter) {
        switch command {
        case .submit(let requests, let capacity, let retention, let attemptsMax):
            writer.write(UInt32(requests.count))
            for request in requests { write(request, &writer) }
            writer.write(UInt64(capacity))
            writer.write(retention)
            writer.write(UInt32(attemptsMax))
        case .addTasks(let job, let plans, let replacing):
            writer.write(job)
            writer.write(replacing)
            writer.write(UInt32(plans.count))
            for plan in plans {
                writer.write(UInt32(plan.group))
                write(plan.items, &writer)
            }
        case .planned(let job), .cancel(let job):
            writer.write(job)
        case .planFailed(let job, let error):
            writer.write(job)
            writer.write(error)
        case .assign(let key, let worker, let address):
            write(key, &writer)
            writer.write(worker)
            writer.write(address)
        case .taskFinished(let key, let result):
            write(key, &writer)
            write(result, &writer)
        case .taskFailed(let key, let error):
            write(key, &writer)
            writer.write(error)
        case .purge(let ids):
            writer.write(UInt32(ids.count))
            for id in ids { writer.write(id) }
        case .batch(let commands):
            writer.write(UInt32(commands.count))
            for command in commands {
                writer.write(kind(of: command))
                writeBody(command, &writer)
            }
        }
    }

    public static func decodeRecord(_ bytes: [UInt8]) throws(JobError) -> JobRecord {
        var reader = ByteReader(bytes)
        guard let format = reader.read(UInt8.self) else { throw malformed("empty job record") }
        guard format == recordFormat else { throw malformed("job record format \(format) is not supported (this build reads \(recordFormat))") }
        guard let kind = reader.read(UInt8.self), let hasOperation = reader.readBool() else { throw malformed("truncated job record header") }
        var operation: OperationID? = nil
        if hasOperation {
            guard let client = reader.read(UInt64.self), let sequence = reader.read(UInt64.self) else { throw malformed("truncated operation id") }
            operation = OperationID(client: client, sequence: sequence)
        }
        guard let time = reader.read(Int64.self) else { throw malformed("truncated job record time") }
        let command = try readBody(kind: kind, &reader, nested: false)
        guard reader.remaining == 0 else { throw malformed("\(reader.remaining) unexpected bytes after a job record") }
        return JobRecord(operationID: operation, timeMilliseconds: time, command: command)
    }

    static func readBody(kind: UInt8, _ reader: inout ByteReader, nested: Bool) throws(JobError) -> JobCommand {
        switch kind {
        case 1:
            let count = try readCount(&reader, elementBytesMin: 8)
            var requests: [JobRequest] = []
            for _ in 0..<count { requests.append(try readRequest(&reader)) }
            guard let capacity = reader.read(UInt64.self), let retention = reader.read(Int64.self), let attempts = reader.read(UInt32.self) else {
                throw malformed("truncated submit record")
            }
            return .submit(requests, capacity: Int(clamping: capacity), retentionMilliseconds: retention, attemptsMax: Int(attempts))
        case 2:
            guard let job = reader.read(UInt64.self), let replacing = reader.readBool() else { throw malformed("truncated addTasks record") }
            let count = try readCount(&reader, elementBytesMin: 8)
            var plans: [TaskPlan] = []
            for _ in 0..<count {
                guard let group = reader.read(UInt32.self) else { throw malformed("truncated task plan") }
                plans.append(TaskPlan(group: Int(group), items: try readItems(&reader)))
            }
            return .addTasks(job: job, plans, replacing: replacing)
        case 3:
            return .planned(job: try read(UInt64.self, &reader))
        case 4:
            let job = try read(UInt64.self, &reader)
            return .planFailed(job: job, error: try readString(&reader))
        case 5:
            let key = try readKey(&reader)
            let worker = try read(UInt64.self, &reader)
            return .assign(key, worker: worker, address: try readString(&reader))
        case 6:
            let key = try readKey(&reader)
            return .taskFinished(key, try readResult(&reader))
        case 7:
            let key = try readKey(&reader)
            return .taskFailed(key, error: try readString(&reader))
        case 8:
            return .cancel(job: try read(UInt64.self, &reader))
        case 9:
            let count = try readCount(&reader, elementBytesMin: 8)
            var ids: [UInt64] = []
            for _ in 0..<count { ids.append(try read(UInt64.self, &reader)) }
            return .purge(ids)
        case 10 where !nested:
            let count = try readCount(&reader, elementBytesMin: 9)
            var commands: [JobCommand] = []
            for _ in 0..<count { commands.append(try readBody(kind: try read(UInt8.self, &reader), &reader, nested: true)) }
            return .batch(commands)
        case 10:
            throw malformed("a batch inside a batch")
        default:
            throw malformed("unknown job record kind \(kind)")
        }
    }

    // MARK: Snapshots

    public static func encodeSnapshot(_ table: JobTable) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(snapshotFormat)
        writer.write(table.nextID)
        let jobs = table.allJobs
        writer.write(UInt32(jobs.count))
        for job in jobs { write(job, &writer) }
        let operations = table.operationOrder[table.operationOrderStart...].filter { table.recentOperations[$0] != nil }
        writer.write(UInt32(operations.count))
        for id in operations {
            writer.write(id.client)
            writer.write(id.sequence)
            write(table.recentOperations[id]!, &writer)
        }
        return writer.bytes
    }

    public static func decodeSnapshot(_ bytes: [UInt8], operationsRememberedMax: Int = 10_000) throws(JobError) -> JobTable {
        var reader = ByteReader(bytes)
        guard let format = reader.read(UInt8.self) else { throw malformed("empty job-table snapshot") }
        guard format == snapshotFormat else { throw malformed("job-table snapshot format \(format) is not supported (this build reads \(snapshotFormat))") }
        var table = JobTable(operationsRememberedMax: operationsRememberedMax)
        table.nextID = try read(UInt64.self, &reader)
        let count = try readCount(&reader, elementBytesMin: 32)
        table.order.reserveCapacity(count)
        for _ in 0..<count {
            let job = try readJob(&reader)
            guard table.jobs[job.id] == nil, job.id > (table.order.last ?? 0) else { throw malformed("job \(job.id) out of order in a snapshot") }
            table.jobs[job.id] = job
            table.order.append(job.id)
            if !job.status.isFinished { table.unfinished.insert(job.id) }
        }
        let operations = try readCount(&reader, elementBytesMin: 17)
        for _ in 0..<operations {
            let client = try read(UInt64.self, &reader)
            let sequence = try read(UInt64.self, &reader)
            let id = OperationID(client: client, sequence: sequence)
            table.recentOperations[id] = try readOutcome(&reader)
            table.operationOrder.append(id)
        }
        guard reader.remaining == 0 else { throw malformed("\(reader.remaining) unexpected bytes after a job-table snapshot") }
        return table
    }

    // MARK: Pieces

    static func write(_ request: JobRequest, _ writer: inout ByteWriter) {
        writer.write(request.plan.kind.rawValue)
        writer.write(request.plan.source)
        writer.write(request.plan.destination)
        writer.write(request.plan.overwrite)
        writer.write(UInt32(request.plan.replication))
        writer.write(UInt32(request.batchSize))
        writer.write(UInt32(request.activeTasksMax))
    }

    static func readRequest(_ reader: inout ByteReader) throws(JobError) -> JobRequest {
        let rawKind = try read(UInt8.self, &reader)
        guard let kind = JobPlan.Kind(rawValue: rawKind) else { throw malformed("unknown plan kind \(rawKind)") }
        let source = try readString(&reader)
        let destination = try readString(&reader)
        guard let overwrite = reader.readBool() else { throw malformed("truncated job request") }
        let replication = Int(try read(UInt32.self, &reader))
        let batchSize = Int(try read(UInt32.self, &reader))
        let activeTasksMax = Int(try read(UInt32.self, &reader))
        let plan: JobPlan
        switch kind {
        case .load: plan = .load(path: source, replication: replication)
        case .persist: plan = .persist(path: source)
        case .copy: plan = .copy(source: source, destination: destination, overwrite: overwrite)
        case .move: plan = .move(source: source, destination: destination, overwrite: overwrite)
        case .ufsCopy: plan = .ufsCopy(source: source, destination: destination, overwrite: overwrite)
        }
        return JobRequest(plan: plan, batchSize: batchSize, activeTasksMax: activeTasksMax)
    }

    static func write(_ items: [JobItem], _ writer: inout ByteWriter) {
        writer.write(UInt32(items.count))
        for item in items {
            writer.write(item.relativePath)
            writer.write(item.lengthBytes)
        }
    }

    static func readItems(_ reader: inout ByteReader) throws(JobError) -> [JobItem] {
        let count = try readCount(&reader, elementBytesMin: 12)
        var items: [JobItem] = []
        items.reserveCapacity(count)
        // Lengths are of files: not negative, and summing to an Int64 (a task totals them).
        var total: Int64 = 0
        for _ in 0..<count {
            let path = try readString(&reader)
            let length = try read(Int64.self, &reader)
            let (sum, overflow) = total.addingReportingOverflow(length)
            guard length >= 0, !overflow else {
                throw malformed("item \(path) has length \(length): negative, or the items' lengths overflow their total")
            }
            total = sum
            items.append(JobItem(relativePath: path, lengthBytes: length))
        }
        return items
    }

    static func write(_ key: TaskKey, _ writer: inout ByteWriter) {
        writer.write(key.job)
        writer.write(UInt32(key.task))
        writer.write(UInt32(key.attempt))
    }

    static func readKey(_ reader: inout ByteReader) throws(JobError) -> TaskKey {
        let job = try read(UInt64.self, &reader)
        let task = try read(UInt32.self, &reader)
        return TaskKey(job: job, task: Int(task), attempt: Int(try read(UInt32.self, &reader)))
    }

    static func write(_ failed: [FailedItem], _ writer: inout ByteWriter) {
        writer.write(UInt32(failed.count))
        for item in failed {
            writer.write(item.path)
            writer.write(item.error)
        }
    }

    static func readFailed(_ reader: inout ByteReader) throws(JobError) -> [FailedItem] {
        let count = try readCount(&reader, elementBytesMin: 8)
        var failed: [FailedItem] = []
        for _ in 0..<count {
            let path = try readString(&reader)
            failed.append(FailedItem(path: path, error: try readString(&reader)))
        }
        return failed
    }

    static func write(_ result: TaskResult, _ writer: inout ByteWriter) {
        writer.write(UInt64(result.filesDone))
        writer.write(result.bytesDone)
        writer.write(UInt64(result.failedCount))
        write(result.failed, &writer)
    }

    static func readResult(_ reader: inout ByteReader) throws(JobError) -> TaskResult {
        let files = try read(UInt64.self, &reader)
        let bytes = try read(Int64.self, &reader)
        let failedCount = try read(UInt64.self, &reader)
        return TaskResult(filesDone: Int(clamping: files), bytesDone: bytes, failed: try readFailed(&reader), failedCount: Int(clamping: failedCount))
    }

    static func write(_ job: Job, _ writer: inout ByteWriter) {
        writer.write(job.id)
        writer.write(job.commandID)
        write(job.request, &writer)
        writer.write(job.status.rawValue)
        writer.write(job.error)
        writer.write(job.planned)
        writer.write(UInt32(job.attemptsMax))
        writer.write(job.createTimeMilliseconds)
        writer.write(job.lastUpdateMilliseconds)
        writer.write(job.endTimeMilliseconds)
        writer.write(UInt64(job.totalFiles))
        writer.write(job.totalBytes)
        writer.write(UInt64(job.filesDone))
        writer.write(job.bytesDone)
        writer.write(UInt64(job.failedCount))
        write(job.failedFiles, &writer)
        writer.write(UInt32(job.tasks.count))
        for task in job.tasks {
            writer.write(UInt32(task.group))
            write(task.items, &writer)
            writer.write(UInt64(task.itemCount))
            writer.write(task.totalBytes)
            writer.write(task.status.rawValue)
            writer.write(UInt32(task.attempts))
            writer.write(task.worker ?? 0)
            writer.write(task.workerAddress)
            writer.write(UInt32(task.triedWorkers.count))
            for worker in task.triedWorkers { writer.write(worker) }
            writer.write(task.error)
            writer.write(task.result != nil)
            if let result = task.result { write(result, &writer) }
            writer.write(task.startTimeMilliseconds)
            writer.write(task.endTimeMilliseconds)
        }
    }

    static func readJob(_ reader: inout ByteReader) throws(JobError) -> Job {
        let id = try read(UInt64.self, &reader)
        let commandID = try read(UInt64.self, &reader)
        let request = try readRequest(&reader)
        let status = try readStatus(&reader)
        let error = try readString(&reader)
        guard let planned = reader.readBool() else { throw malformed("truncated job \(id)") }
        let attemptsMax = Int(try read(UInt32.self, &reader))
        var job = Job(id: id, commandID: commandID, request: request, attemptsMax: attemptsMax, timeMilliseconds: try read(Int64.self, &reader))
        job.status = status
        job.error = error
        job.planned = planned
        job.lastUpdateMilliseconds = try read(Int64.self, &reader)
        job.endTimeMilliseconds = try read(Int64.self, &reader)
        job.totalFiles = Int(clamping: try read(UInt64.self, &reader))
        job.totalBytes = try read(Int64.self, &reader)
        job.filesDone = Int(clamping: try read(UInt64.self, &reader))
        job.bytesDone = try read(Int64.self, &reader)
        job.failedCount = Int(clamping: try read(UInt64.self, &reader))
        job.failedFiles = try readFailed(&reader)
        let taskCount = try readCount(&reader, elementBytesMin: 40)
        job.tasks.reserveCapacity(taskCount)
        for index in 0..<taskCount {
            let group = Int(try read(UInt32.self, &reader))
            var task = JobTask(index: index, group: group, items: try readItems(&reader))
            task.itemCount = Int(clamping: try read(UInt64.self, &reader))
            task.totalBytes = try read(Int64.self, &reader)
            task.status = try readStatus(&reader)
            task.attempts = Int(try read(UInt32.self, &reader))
            let worker = try read(UInt64.self, &reader)
            task.worker = worker == 0 ? nil : worker
            task.workerAddress = try readString(&reader)
            let tried = try readCount(&reader, elementBytesMin: 8)
            for _ in 0..<tried { task.triedWorkers.append(try read(UInt64.self, &reader)) }
            task.error = try readString(&reader)
            guard let hasResult = reader.readBool() else { throw malformed("truncated task \(index) of job \(id)") }
            if hasResult { task.result = try readResult(&reader) }
            task.startTimeMilliseconds = try read(Int64.self, &reader)
            task.endTimeMilliseconds = try read(Int64.self, &reader)
            job.tasks.append(task)
        }
        return job
    }

    static func write(_ outcome: JobOutcome, _ writer: inout ByteWriter) {
        switch outcome {
        case .submitted(let commandID, let jobs):
            writer.write(UInt8(1))
            writer.write(commandID)
            writer.write(UInt32(jobs.count))
            for job in jobs { writer.write(job) }
        case .done:
            writer.write(UInt8(2))
        case .ignored:
            writer.write(UInt8(3))
        case .failure(let error):
            writer.write(UInt8(4))
            writer.write(error.code.rawValue)
            writer.write(error.message)
        case .results(let outcomes):
            writer.write(UInt8(5))
            writer.write(UInt32(outcomes.count))
            for outcome in outcomes { write(outcome, &writer) }
        }
    }

    static func readOutcome(_ reader: inout ByteReader) throws(JobError) -> JobOutcome {
        switch try read(UInt8.self, &reader) {
        case 1:
            let commandID = try read(UInt64.self, &reader)
            let count = try readCount(&reader, elementBytesMin: 8)
            var jobs: [UInt64] = []
            for _ in 0..<count { jobs.append(try read(UInt64.self, &reader)) }
            return .submitted(commandID: commandID, jobs: jobs)
        case 2: return .done
        case 3: return .ignored
        case 4:
            let raw = try read(UInt8.self, &reader)
            guard let code = JobError.Code(rawValue: raw) else { throw malformed("unknown job error code \(raw)") }
            return .failure(JobError(code, try readString(&reader)))
        case 5:
            let count = try readCount(&reader, elementBytesMin: 1)
            var outcomes: [JobOutcome] = []
            for _ in 0..<count {
                let outcome = try readOutcome(&reader)
                if case .results = outcome { throw malformed("nested batch outcomes") }
                outcomes.append(outcome)
            }
            return .results(outcomes)
        case let other:
            throw malformed("unknown job outcome kind \(other)")
        }
    }

    static func readStatus(_ reader: inout ByteReader) throws(JobError) -> JobStatus {
        let raw = try read(UInt8.self, &reader)
        guard let status = JobStatus(rawValue: raw) else { throw malformed("unknown job status \(raw)") }
        return status
    }

    static func read<T: FixedWidthInteger>(_ type: T.Type, _ reader: inout ByteReader) throws(JobError) -> T {
        guard let value = reader.read(type) else { throw malformed("truncated job data at offset \(reader.offset)") }
        return value
    }

    static func readString(_ reader: inout ByteReader) throws(JobError) -> String {
        guard let text = reader.readString() else { throw malformed("truncated or oversized string at offset \(reader.offset)") }
        return text
    }

    /// A count of elements that each take at least `elementBytesMin` bytes: more than the input
    /// can hold is damage, not a reason to allocate.
    static func readCount(_ reader: inout ByteReader, elementBytesMin: Int) throws(JobError) -> Int {
        let count = Int(try read(UInt32.self, &reader))
        guard count * elementBytesMin <= reader.remaining else {
            throw malformed("count \(count) at offset \(reader.offset - 4) exceeds the \(reader.remaining) bytes left")
        }
        return count
    }

    static func malformed(_ message: String) -> JobError { JobError(.invalidArgument, message) }
}
