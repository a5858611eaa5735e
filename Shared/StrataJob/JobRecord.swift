import StrataCore

/// A change to the job table. Each is one journal entry; applying it is deterministic: every
/// setting it depends on (capacity, retention, attempts) travels in the record, so members with
/// different configuration still agree.
public enum JobCommand: Sendable, Equatable {
    /// Adds the jobs of one command (CREATED, not planned yet). Finished jobs older than
    /// `retentionMilliseconds` are purged first; beyond `capacity` jobs the submission is refused.
    case submit([JobRequest], capacity: Int, retentionMilliseconds: Int64, attemptsMax: Int)
    /// Adds planned tasks to a job being planned; `replacing` drops what an interrupted planning
    /// (a fail-over) had added before.
    case addTasks(job: UInt64, [TaskPlan], replacing: Bool)
    /// Every task is known: the job runs (or completes at once, with nothing to do).
    case planned(job: UInt64)
    /// The plan could not be made (a missing source, say): the job fails with `error`.
    case planFailed(job: UInt64, error: String)
    /// Starts attempt `key.attempt` of a task on a job worker.
    case assign(TaskKey, worker: UInt64, address: String)
    /// The attempt ran to its end (individual files may have failed).
    case taskFinished(TaskKey, TaskResult)
    /// The attempt failed as a whole (its job worker was lost, or it could not run): the task is
    /// retried on another job worker while attempts remain, else its job fails.
    case taskFailed(TaskKey, error: String)
    case cancel(job: UInt64)
    /// Drops finished jobs (retention passed).
    case purge([UInt64])
    /// Several commands in one journal entry (one fsync), applied in order: a heartbeat's
    /// outcomes or assignments, a small job's tasks and its end of planning. Not nested.
    case batch([JobCommand])
}

/// One journal entry of the job table: the command, the leader's clock when it was proposed
/// (so every member stamps the same times), and the client operation it carries out.
public struct JobRecord: Sendable, Equatable {
    public var operationID: OperationID?
    public var timeMilliseconds: Int64
    public var command: JobCommand

    public init(operationID: OperationID? = nil, timeMilliseconds: Int64, command: JobCommand) {
        self.operationID = operationID
        self.timeMilliseconds = timeMilliseconds
        self.command = command
    }
}

/// Why a record was refused, naming the job or the limit.
public struct JobError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: UInt8, Sendable, Equatable {
        case notFound = 1
        case capacityExceeded = 2
        case invalidArgument = 3
        case failedPrecondition = 4
    }
    public let code: Code
    public let message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// What applying a record produced.
public enum JobOutcome: Sendable, Equatable {
    /// A submission: the command id and its jobs' ids.
    case submitted(commandID: UInt64, jobs: [UInt64])
    case done
    /// A task report that no longer applies (an older attempt, a finished job): nothing changed.
    case ignored
    case failure(JobError)
    /// A batch's outcomes, one per command.
    case results([JobOutcome])
}
