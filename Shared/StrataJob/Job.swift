/// A job's (or a task's) state. Raw values travel on the wire and in the journal.
public enum JobStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Submitted; being planned (jobs), or waiting for a job worker (tasks).
    case created = 1
    case running = 2
    case completed = 3
    case failed = 4
    case canceled = 5

    public var isFinished: Bool { self == .completed || self == .failed || self == .canceled }

    public var description: String {
        switch self {
        case .created: "CREATED"
        case .running: "RUNNING"
        case .completed: "COMPLETED"
        case .failed: "FAILED"
        case .canceled: "CANCELED"
        }
    }
}

/// What a job does. Paths are Strata paths (`/a/b`) except for `ufsCopy`, whose are
/// under-storage locations (`/data/in`, `file:///data/in`) and which needs no file-system master.
public enum JobPlan: Sendable, Equatable {
    /// Cache every block of every file under `path` on `replication` job workers' block stores.
    case load(path: String, replication: Int)
    /// Write every file under `path` that is not persisted yet through to under storage.
    case persist(path: String)
    /// Copy the tree at `source` to `destination` within Strata (across mounts too).
    case copy(source: String, destination: String, overwrite: Bool)
    /// Move the tree at `source` to `destination` (a rename within a mount, else copy then delete).
    case move(source: String, destination: String, overwrite: Bool)
    /// Copy an under-storage tree to another under-storage location.
    case ufsCopy(source: String, destination: String, overwrite: Bool)

    public enum Kind: UInt8, Sendable, CaseIterable {
        case load = 1, persist = 2, copy = 3, move = 4, ufsCopy = 5

        /// Alluxio's plan names, as `job ls` shows them.
        public var name: String {
            switch self {
            case .load: "Load"
            case .persist: "Persist"
            case .copy: "Copy"
            case .move: "Move"
            case .ufsCopy: "UfsCopy"
            }
        }
    }

    public var kind: Kind {
        switch self {
        case .load: .load
        case .persist: .persist
        case .copy: .copy
        case .move: .move
        case .ufsCopy: .ufsCopy
        }
    }

    /// Where the items' relative paths start.
    public var source: String {
        switch self {
        case .load(let path, _), .persist(let path): path
        case .copy(let source, _, _), .move(let source, _, _), .ufsCopy(let source, _, _): source
        }
    }

    public var destination: String {
        switch self {
        case .load, .persist: ""
        case .copy(_, let destination, _), .move(_, let destination, _), .ufsCopy(_, let destination, _): destination
        }
    }

    public var overwrite: Bool {
        switch self {
        case .load, .persist: false
        case .copy(_, _, let overwrite), .move(_, _, let overwrite), .ufsCopy(_, _, let overwrite): overwrite
        }
    }

    /// Copies of each file a load asks for (1 for other plans).
    public var replication: Int {
        if case .load(_, let replication) = self { return replication }
        return 1
    }

    /// Whether its tasks need a job worker with a block store (loads cache blocks locally).
    public var needsBlockStore: Bool { kind == .load }

    /// Alluxio's configuration description, as `job stat` shows it.
    public var description: String {
        switch self {
        case .load(let path, let replication): "LoadConfig{filePath=\(path), replication=\(replication)}"
        case .persist(let path): "PersistConfig{filePath=\(path)}"
        case .copy(let source, let destination, let overwrite): "CopyConfig{source=\(source), destination=\(destination), overwrite=\(overwrite)}"
        case .move(let source, let destination, let overwrite): "MoveConfig{source=\(source), destination=\(destination), overwrite=\(overwrite)}"
        case .ufsCopy(let source, let destination, let overwrite): "UfsCopyConfig{source=\(source), destination=\(destination), overwrite=\(overwrite)}"
        }
    }
}

/// One job as submitted: the plan and how to split and pace it.
public struct JobRequest: Sendable, Equatable {
    public var plan: JobPlan
    /// Files per task.
    public var batchSize: Int
    /// Tasks of this job running at once (`--active-jobs`).
    public var activeTasksMax: Int

    public static let batchSizeMax = 10_000
    public static let activeTasksMaxLimit = 100_000

    public init(plan: JobPlan, batchSize: Int, activeTasksMax: Int) {
        self.plan = plan
        self.batchSize = batchSize
        self.activeTasksMax = activeTasksMax
    }
}

/// One unit of work: a file, by its path relative to the plan's source ("" for the source
/// itself), and its size.
public struct JobItem: Sendable, Equatable {
    public var relativePath: String
    public var lengthBytes: Int64

    public init(relativePath: String, lengthBytes: Int64) {
        self.relativePath = relativePath
        self.lengthBytes = lengthBytes
    }
}

extension JobItem {
    /// This item's path under `root` (a Strata path or an under-storage location alike).
    public func path(under root: String) -> String {
        guard !relativePath.isEmpty else { return root }
        return root.hasSuffix("/") ? root + relativePath : root + "/" + relativePath
    }
}

/// A file that failed, and why.
public struct FailedItem: Sendable, Equatable {
    public var path: String
    public var error: String

    public init(path: String, error: String) {
        self.path = path
        self.error = error
    }
}

/// What a planner decided a task holds: its files, and its group (tasks of one group — the
/// replicas of one batch of a load — never run on the same job worker).
public struct TaskPlan: Sendable, Equatable {
    public var group: Int
    public var items: [JobItem]

    public init(group: Int, items: [JobItem]) {
        self.group = group
        self.items = items
    }
}

/// How one attempt of a task ended, as its job worker reports it.
public struct TaskResult: Sendable, Equatable {
    public var filesDone: Int
    public var bytesDone: Int64
    /// Files that failed (their siblings went on); at most `JobTable.failedItemsKeptMax` are kept.
    public var failed: [FailedItem]
    public var failedCount: Int

    public init(filesDone: Int, bytesDone: Int64, failed: [FailedItem], failedCount: Int) {
        self.filesDone = filesDone
        self.bytesDone = bytesDone
        self.failed = failed
        self.failedCount = failedCount
    }
}

/// Names one attempt of one task: what a job worker runs and reports.
public struct TaskKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var job: UInt64
    public var task: Int
    public var attempt: Int

    public init(job: UInt64, task: Int, attempt: Int) {
        self.job = job
        self.task = task
        self.attempt = attempt
    }

    public static func < (left: TaskKey, right: TaskKey) -> Bool {
        (left.job, left.task, left.attempt) < (right.job, right.task, right.attempt)
    }

    public var description: String { "job \(job) task \(task) attempt \(attempt)" }
}

/// A task of a job.
public struct JobTask: Sendable, Equatable {
    public var index: Int
    public var group: Int
    /// The files; dropped once the job finishes (the counts stay), so a retained job is small.
    public var items: [JobItem]
    public var itemCount: Int
    public var totalBytes: Int64
    public var status: JobStatus = .created
    /// Attempts started so far (the current one, when running).
    public var attempts = 0
    /// The job worker of the current (or last) attempt.
    public var worker: UInt64?
    public var workerAddress = ""
    /// Job workers an earlier attempt was lost on or failed on: tried last.
    public var triedWorkers: [UInt64] = []
    public var error = ""
    public var result: TaskResult?
    public var startTimeMilliseconds: Int64 = 0
    public var endTimeMilliseconds: Int64 = 0

    public init(index: Int, group: Int, items: [JobItem]) {
        self.index = index
        self.group = group
        self.items = items
        self.itemCount = items.count
        self.totalBytes = items.reduce(0) { $0 + $1.lengthBytes }
    }
}

/// One job in the table.
public struct Job: Sendable, Equatable {
    public var id: UInt64
    public var commandID: UInt64
    public var request: JobRequest
    public var status: JobStatus = .created
    public var error = ""
    /// Set once every task is known (a job is planned in several records).
    public var planned = false
    public var tasks: [JobTask] = []
    public var attemptsMax: Int
    public var createTimeMilliseconds: Int64
    public var lastUpdateMilliseconds: Int64
    public var endTimeMilliseconds: Int64 = 0
    public var totalFiles = 0
    public var totalBytes: Int64 = 0
    public var filesDone = 0
    public var bytesDone: Int64 = 0
    public var failedFiles: [FailedItem] = []
    public var failedCount = 0

    public init(id: UInt64, commandID: UInt64, request: JobRequest, attemptsMax: Int, timeMilliseconds: Int64) {
        self.id = id
        self.commandID = commandID
        self.request = request
        self.attemptsMax = attemptsMax
        self.createTimeMilliseconds = timeMilliseconds
        self.lastUpdateMilliseconds = timeMilliseconds
    }

    public var name: String { request.plan.kind.name }
    public var runningTasks: Int { tasks.reduce(0) { $0 + ($1.status == .running ? 1 : 0) } }
}
