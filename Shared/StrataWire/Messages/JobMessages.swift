import StrataJob

/// Messages of job.proto: the job masters' API (service 0x0006), on the job master RPC port.
public enum JobMasterMethods {
    public static let getMasterInfo = RPCMethod<GetServiceInfoRequest, MasterInfo>(id: 0x0006_0001, name: "JobMaster.GetMasterInfo")
    /// The leader checkpoints its journal and has every other job master do the same.
    public static let checkpoint = RPCMethod<GetServiceInfoRequest, EmptyResponse>(id: 0x0006_0002, name: "JobMaster.Checkpoint")
    /// The job table as of the leader's applied index, for a file-system master's backup.
    public static let exportTable = RPCMethod<GetServiceInfoRequest, ExportedJobTable>(id: 0x0006_0004, name: "JobMaster.ExportTable")
    public static let checkpointLocal = RPCMethod<GetServiceInfoRequest, EmptyResponse>(id: 0x0006_0003, name: "JobMaster.CheckpointLocal")
    public static let submit = RPCMethod<SubmitJobsRequest, SubmitJobsResponse>(id: 0x0006_0010, name: "JobMaster.Submit")
    public static let getStatus = RPCMethod<JobIdRequest, JobInfo>(id: 0x0006_0011, name: "JobMaster.GetStatus")
    public static let list = RPCMethod<ListJobsRequest, JobList>(id: 0x0006_0012, name: "JobMaster.List")
    public static let cancel = RPCMethod<JobIdRequest, JobInfo>(id: 0x0006_0013, name: "JobMaster.Cancel")
    public static let getCommandStatus = RPCMethod<JobIdRequest, CommandStatus>(id: 0x0006_0014, name: "JobMaster.GetCommandStatus")
    public static let summary = RPCMethod<GetServiceInfoRequest, JobServiceSummary>(id: 0x0006_0015, name: "JobMaster.Summary")
    /// A job worker's report to the leading job master; the answer carries its new tasks.
    public static let workerHeartbeat = RPCMethod<JobWorkerHeartbeat, JobWorkerHeartbeatResponse>(id: 0x0006_0020, name: "JobMaster.WorkerHeartbeat")
}

extension ProtoMessage {
    fileprivate func status(_ number: UInt32) throws(WireError) -> JobStatus {
        let raw = int32(number)
        guard let status = JobStatus(rawValue: UInt8(clamping: raw)), raw > 0 else { throw WireError(.invalidField, "unknown job status \(raw) in field \(number)") }
        return status
    }

    fileprivate func kind(_ number: UInt32) throws(WireError) -> JobPlan.Kind {
        let raw = int32(number)
        guard let kind = JobPlan.Kind(rawValue: UInt8(clamping: raw)), raw > 0 else { throw WireError(.invalidField, "unknown job plan kind \(raw) in field \(number)") }
        return kind
    }

    fileprivate mutating func set(_ number: UInt32, status: JobStatus) { set(number, Int32(status.rawValue)) }
    fileprivate mutating func set(_ number: UInt32, kind: JobPlan.Kind) { set(number, Int32(kind.rawValue)) }
}

/// A job as submitted (`JobRequest` of the job table, on the wire).
public struct JobRequestMessage: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.JobRequest")
    public var request: JobRequest

    public init(_ request: JobRequest) { self.request = request }

    public init(proto: ProtoMessage) throws(WireError) {
        let source = proto.string(2), destination = proto.string(3), overwrite = proto.bool(5)
        let plan: JobPlan
        switch try proto.kind(1) {
        case .load: plan = .load(path: source, replication: Int(proto.uint32(4)))
        case .persist: plan = .persist(path: source)
        case .copy: plan = .copy(source: source, destination: destination, overwrite: overwrite)
        case .move: plan = .move(source: source, destination: destination, overwrite: overwrite)
        case .ufsCopy: plan = .ufsCopy(source: source, destination: destination, overwrite: overwrite)
        }
        request = JobRequest(plan: plan, batchSize: Int(proto.uint32(6)), activeTasksMax: Int(proto.uint32(7)))
    }

    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, kind: request.plan.kind); p.set(2, request.plan.source); p.set(3, request.plan.destination)
        p.set(4, UInt32(clamping: request.plan.replication)); p.set(5, request.plan.overwrite)
        p.set(6, UInt32(clamping: request.batchSize)); p.set(7, UInt32(clamping: request.activeTasksMax))
        return p
    }
}

public struct SubmitJobsRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.SubmitJobsRequest")
    public var jobs: [JobRequest]
    public var operation: OperationIdentifier?

    public init(jobs: [JobRequest], operation: OperationIdentifier?) { self.jobs = jobs; self.operation = operation }
    public init(proto: ProtoMessage) throws(WireError) {
        jobs = try proto.messages(1, as: JobRequestMessage.self).map(\.request); operation = proto.operation(2)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, jobs.map(JobRequestMessage.init)); p.set(2, operation: operation)
        return p
    }
}

public struct SubmitJobsResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.SubmitJobsResponse")
    public var commandID: UInt64
    public var jobIDs: [UInt64]
    public init(commandID: UInt64, jobIDs: [UInt64]) { self.commandID = commandID; self.jobIDs = jobIDs }
    public init(proto: ProtoMessage) throws(WireError) { commandID = proto.uint64(1); jobIDs = proto.uint64s(2) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, commandID); p.set(2, jobIDs)
        return p
    }
}

public struct JobIdRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.JobIdRequest")
    public var id: UInt64
    public var verbose = false
    public var operation: OperationIdentifier?
    public init(id: UInt64, verbose: Bool = false, operation: OperationIdentifier? = nil) { self.id = id; self.verbose = verbose; self.operation = operation }
    public init(proto: ProtoMessage) throws(WireError) { id = proto.uint64(1); verbose = proto.bool(2); operation = proto.operation(3) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, id); p.set(2, verbose); p.set(3, operation: operation)
        return p
    }
}

public struct FailedFileMessage: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.FailedFile")
    public var item: FailedItem
    public init(_ item: FailedItem) { self.item = item }
    public init(proto: ProtoMessage) throws(WireError) { item = FailedItem(path: proto.string(1), error: proto.string(2)) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, item.path); p.set(2, item.error)
        return p
    }
}

public struct TaskInfo: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.TaskInfo")
    public var index: UInt32 = 0
    public var status = JobStatus.created
    public var worker = ""
    public var attempts: UInt32 = 0
    public var error = ""
    public var files: UInt32 = 0
    public var bytes: Int64 = 0
    public var filesDone: UInt32 = 0
    public var bytesDone: Int64 = 0
    public var filesFailed: UInt32 = 0
    public var startTimeMilliseconds: Int64 = 0
    public var endTimeMilliseconds: Int64 = 0

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        index = proto.uint32(1); status = try proto.status(2); worker = proto.string(3); attempts = proto.uint32(4); error = proto.string(5)
        files = proto.uint32(6); bytes = proto.int64(7); filesDone = proto.uint32(8); bytesDone = proto.int64(9); filesFailed = proto.uint32(10)
        startTimeMilliseconds = proto.int64(11); endTimeMilliseconds = proto.int64(12)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, index); p.set(2, status: status); p.set(3, worker); p.set(4, attempts); p.set(5, error); p.set(6, files); p.set(7, bytes)
        p.set(8, filesDone); p.set(9, bytesDone); p.set(10, filesFailed); p.set(11, startTimeMilliseconds); p.set(12, endTimeMilliseconds)
        return p
    }
}

public struct JobInfo: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.JobInfo")
    public var id: UInt64 = 0
    public var name = ""
    public var description = ""
    public var status = JobStatus.created
    public var error = ""
    public var commandID: UInt64 = 0
    public var createTimeMilliseconds: Int64 = 0
    public var lastUpdateMilliseconds: Int64 = 0
    public var endTimeMilliseconds: Int64 = 0
    public var files: UInt32 = 0
    public var bytes: Int64 = 0
    public var filesDone: UInt32 = 0
    public var bytesDone: Int64 = 0
    public var filesFailed: UInt32 = 0
    public var failedFiles: [FailedItem] = []
    public var tasks: [TaskInfo] = []
    public var taskCount: UInt32 = 0
    public var planned = false
    public var tasksRunning: UInt32 = 0
    public var tasksCompleted: UInt32 = 0

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        id = proto.uint64(1); name = proto.string(2); description = proto.string(3); status = try proto.status(4); error = proto.string(5)
        commandID = proto.uint64(6); createTimeMilliseconds = proto.int64(7); lastUpdateMilliseconds = proto.int64(8); endTimeMilliseconds = proto.int64(9)
        files = proto.uint32(10); bytes = proto.int64(11); filesDone = proto.uint32(12); bytesDone = proto.int64(13); filesFailed = proto.uint32(14)
        failedFiles = try proto.messages(15, as: FailedFileMessage.self).map(\.item); tasks = try proto.messages(16, as: TaskInfo.self)
        taskCount = proto.uint32(17); planned = proto.bool(18); tasksRunning = proto.uint32(19); tasksCompleted = proto.uint32(20)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, id); p.set(2, name); p.set(3, description); p.set(4, status: status); p.set(5, error); p.set(6, commandID)
        p.set(7, createTimeMilliseconds); p.set(8, lastUpdateMilliseconds); p.set(9, endTimeMilliseconds); p.set(10, files); p.set(11, bytes)
        p.set(12, filesDone); p.set(13, bytesDone); p.set(14, filesFailed); p.set(15, failedFiles.map(FailedFileMessage.init)); p.set(16, tasks)
        p.set(17, taskCount); p.set(18, planned); p.set(19, tasksRunning); p.set(20, tasksCompleted)
        return p
    }
}

public struct ListJobsRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.ListJobsRequest")
    public var limit: UInt32
    public init(limit: UInt32 = 0) { self.limit = limit }
    public init(proto: ProtoMessage) throws(WireError) { limit = proto.uint32(1) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, limit)
        return p
    }
}

public struct JobList: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.JobList")
    public var jobs: [JobInfo]
    public init(jobs: [JobInfo]) { self.jobs = jobs }
    public init(proto: ProtoMessage) throws(WireError) { jobs = try proto.messages(1, as: JobInfo.self) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, jobs)
        return p
    }
}

public struct CommandStatus: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.CommandStatus")
    public var commandID: UInt64
    public var status: JobStatus
    public var jobs: [JobInfo]
    public init(commandID: UInt64, status: JobStatus, jobs: [JobInfo]) { self.commandID = commandID; self.status = status; self.jobs = jobs }
    public init(proto: ProtoMessage) throws(WireError) { commandID = proto.uint64(1); status = try proto.status(2); jobs = try proto.messages(3, as: JobInfo.self) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, commandID); p.set(2, status: status); p.set(3, jobs)
        return p
    }
}

public struct TaskKeyMessage: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.TaskKey")
    public var key: TaskKey
    public init(_ key: TaskKey) { self.key = key }
    public init(proto: ProtoMessage) throws(WireError) { key = TaskKey(job: proto.uint64(1), task: Int(proto.uint32(2)), attempt: Int(proto.uint32(3))) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, key.job); p.set(2, UInt32(clamping: key.task)); p.set(3, UInt32(clamping: key.attempt))
        return p
    }
}

public struct TaskProgress: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.TaskProgress")
    public var key: TaskKey
    public var filesDone: UInt32
    public var bytesDone: Int64
    public init(key: TaskKey, filesDone: UInt32, bytesDone: Int64) { self.key = key; self.filesDone = filesDone; self.bytesDone = bytesDone }
    public init(proto: ProtoMessage) throws(WireError) {
        key = try proto.message(1, as: TaskKeyMessage.self)?.key ?? TaskKey(job: 0, task: 0, attempt: 0)
        filesDone = proto.uint32(2); bytesDone = proto.int64(3)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, TaskKeyMessage(key)); p.set(2, filesDone); p.set(3, bytesDone)
        return p
    }
}

public struct TaskOutcome: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.TaskOutcome")
    public var key: TaskKey
    /// The attempt failed as a whole (not single files).
    public var failed = false
    public var error = ""
    public var filesDone: UInt32 = 0
    public var bytesDone: Int64 = 0
    public var failedFiles: [FailedItem] = []
    public var filesFailed: UInt32 = 0

    public init(key: TaskKey) { self.key = key }
    public init(proto: ProtoMessage) throws(WireError) {
        key = try proto.message(1, as: TaskKeyMessage.self)?.key ?? TaskKey(job: 0, task: 0, attempt: 0)
        failed = proto.bool(2); error = proto.string(3); filesDone = proto.uint32(4); bytesDone = proto.int64(5)
        failedFiles = try proto.messages(6, as: FailedFileMessage.self).map(\.item); filesFailed = proto.uint32(7)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, TaskKeyMessage(key)); p.set(2, failed); p.set(3, error); p.set(4, filesDone); p.set(5, bytesDone)
        p.set(6, failedFiles.map(FailedFileMessage.init)); p.set(7, filesFailed)
        return p
    }
}

public struct JobWorkerHeartbeat: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.JobWorkerHeartbeat")
    public var host = ""
    public var rpcPort: UInt32 = 0
    public var session: UInt64 = 0
    public var poolSize: UInt32 = 0
    public var blockStore = false
    public var running: [TaskProgress] = []
    public var finished: [TaskOutcome] = []
    /// Most outcomes one heartbeat carries (more wait for the next).
    public static let finishedMax = 1_000

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        host = proto.string(1); rpcPort = proto.uint32(2); session = proto.uint64(3); poolSize = proto.uint32(4); blockStore = proto.bool(5)
        running = try proto.messages(6, as: TaskProgress.self); finished = try proto.messages(7, as: TaskOutcome.self)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, host); p.set(2, rpcPort); p.set(3, session); p.set(4, poolSize); p.set(5, blockStore); p.set(6, running); p.set(7, finished)
        return p
    }
}

public struct TaskAssignment: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.TaskAssignment")
    public var key: TaskKey
    public var kind: JobPlan.Kind
    public var source = ""
    public var destination = ""
    public var overwrite = false
    public var items: [JobItem] = []
    public var replication: UInt32 = 1

    public init(key: TaskKey, kind: JobPlan.Kind) { self.key = key; self.kind = kind }
    public init(proto: ProtoMessage) throws(WireError) {
        key = try proto.message(1, as: TaskKeyMessage.self)?.key ?? TaskKey(job: 0, task: 0, attempt: 0)
        kind = try proto.kind(2); source = proto.string(3); destination = proto.string(4); overwrite = proto.bool(5)
        let paths = proto.strings(6), sizes = proto.int64s(7)
        guard paths.count == sizes.count else { throw WireError(.invalidField, "task \(key) lists \(paths.count) items but \(sizes.count) sizes") }
        items = zip(paths, sizes).map { JobItem(relativePath: $0, lengthBytes: $1) }
        replication = max(1, proto.uint32(8))
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, TaskKeyMessage(key)); p.set(2, kind: kind); p.set(3, source); p.set(4, destination); p.set(5, overwrite)
        // An item of the source itself has the empty relative path: a repeated string keeps it.
        p.fields[6] = items.isEmpty ? nil : .repeated(items.map { .string($0.relativePath) })
        p.set(7, items.map(\.lengthBytes)); p.set(8, replication)
        return p
    }
}

public struct JobWorkerHeartbeatResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.JobWorkerHeartbeatResponse")
    public var assignments: [TaskAssignment] = []
    public var cancel: [TaskKey] = []
    public var acknowledged: [TaskKey] = []

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        assignments = try proto.messages(1, as: TaskAssignment.self)
        cancel = try proto.messages(2, as: TaskKeyMessage.self).map(\.key); acknowledged = try proto.messages(3, as: TaskKeyMessage.self).map(\.key)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, assignments); p.set(2, cancel.map(TaskKeyMessage.init)); p.set(3, acknowledged.map(TaskKeyMessage.init))
        return p
    }
}

public struct JobWorkerInfo: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.JobWorkerInfo")
    public var address = ""
    public var poolSize: UInt32 = 0
    public var activeTasks: UInt32 = 0
    public var blockStore = false
    public var lastHeartbeatMillisecondsAgo: Int64 = 0

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        address = proto.string(1); poolSize = proto.uint32(2); activeTasks = proto.uint32(3); blockStore = proto.bool(4)
        lastHeartbeatMillisecondsAgo = proto.int64(5)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, address); p.set(2, poolSize); p.set(3, activeTasks); p.set(4, blockStore); p.set(5, lastHeartbeatMillisecondsAgo)
        return p
    }
}

public struct JobServiceSummary: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.JobServiceSummary")
    public var workers: [JobWorkerInfo] = []
    /// Jobs per status, indexed by the status's number.
    public var counts: [UInt64] = []
    public var recent: [JobInfo] = []
    public var failed: [JobInfo] = []
    public var longest: [JobInfo] = []

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        workers = try proto.messages(1, as: JobWorkerInfo.self); counts = proto.uint64s(2)
        recent = try proto.messages(3, as: JobInfo.self); failed = try proto.messages(4, as: JobInfo.self); longest = try proto.messages(5, as: JobInfo.self)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, workers); p.set(2, counts); p.set(3, recent); p.set(4, failed); p.set(5, longest)
        return p
    }

    public func count(_ status: JobStatus) -> UInt64 {
        Int(status.rawValue) < counts.count ? counts[Int(status.rawValue)] : 0
    }
}

public struct ExportedJobTable: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.ExportedJobTable")
    public var data: [UInt8]
    public var jobs: UInt64
    public var appliedIndex: UInt64

    public init(data: [UInt8], jobs: UInt64, appliedIndex: UInt64) {
        self.data = data; self.jobs = jobs; self.appliedIndex = appliedIndex
    }
    public init(proto: ProtoMessage) throws(WireError) {
        data = proto.bytes(1); jobs = proto.uint64(2); appliedIndex = proto.uint64(3)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, data); p.set(2, jobs); p.set(3, appliedIndex)
        return p
    }
}
