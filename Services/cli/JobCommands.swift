import ArgumentParser
import Foundation
import StrataClient
import StrataCore
import StrataJob
import StrataWire

/// `strata job …`: the job service.
struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Submit, follow and cancel jobs of the job service.",
        subcommands: [JobListCommand.self, JobStatCommand.self, JobCancelCommand.self, JobLeaderCommand.self,
                      JobCommandStatusCommand.self, JobCopyCommand.self])
}

/// Connects to the job masters named by the configuration.
enum JobContext {
    /// Runs `body` with a job client, closing it afterwards; RPC errors become one-line failures.
    static func with<T>(_ body: (JobClient) async throws -> T) async throws -> T {
        let configuration = try CommandContext.loadConfiguration()
        let client: JobClient
        do { client = try JobClient(configuration: configuration, waiting: CommandContext.reportWaiting) } catch { throw CommandFailure(error.message) }
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch let error as RPCError {
            await client.close()
            throw CommandFailure(error.message)
        } catch {
            await client.close()
            throw error
        }
    }

    static func jobID(_ text: String) throws -> UInt64 {
        guard let id = UInt64(text) else { throw CommandFailure("invalid job id '\(text)': expected a number such as 1613673433929") }
        return id
    }

    /// The path of a `/path` or `strata://…/path` argument (the job masters plan against the
    /// file-system masters they are configured with).
    static func strataPath(_ text: String) throws -> String {
        do { return try StrataURI(parsing: text).path } catch { throw CommandFailure(error.description) }
    }

    /// Submits one command's jobs and, unless `async`, follows them to the end with progress;
    /// a command that does not complete is a failure (non-zero exit) listing what failed.
    static func run(_ jobs: [JobRequest], async: Bool, describe: String) async throws {
        try await with { client in
            let submitted = try await client.submit(jobs)
            print("Submitted \(describe): command \(submitted.commandID), job\(submitted.jobIDs.count == 1 ? "" : "s") \(submitted.jobIDs.map(String.init).joined(separator: ", "))")
            guard !async else {
                print("Follow it with: strata job getCmdStatus \(submitted.commandID)")
                return
            }
            let printer = ProgressPrinter()
            let final = try await client.waitForCommand(submitted.commandID) { printer.show($0) }
            printer.finish(final)
            try CommandStatusPrinter.print(final, verbose: true)
        }
    }
}

/// Shows a command's progress: files and bytes done of the total and the rate — a bar redrawn
/// in place on a terminal, a line every few seconds otherwise.
final class ProgressPrinter: @unchecked Sendable {
    // Used from one task (the waiting command).
    private let terminal = isatty(STDOUT_FILENO) == 1
    private let started = ContinuousClock.now
    private var lastLine = ""
    private var lastPrinted = ContinuousClock.now - .seconds(60)
    private var drew = false

    func show(_ status: CommandStatus) {
        let files = status.jobs.reduce(UInt64(0)) { $0 + UInt64($1.files) }
        let done = status.jobs.reduce(UInt64(0)) { $0 + UInt64($1.filesDone) }
        let failed = status.jobs.reduce(UInt64(0)) { $0 + UInt64($1.filesFailed) }
        let bytes = status.jobs.reduce(Int64(0)) { $0 + $1.bytes }
        let bytesDone = status.jobs.reduce(Int64(0)) { $0 + $1.bytesDone }
        let planned = status.jobs.allSatisfy(\.planned)
        let seconds = max(0.001, Double((ContinuousClock.now - started).milliseconds) / 1000)
        let rate = ByteSize.format(Int64(Double(bytesDone) / seconds)) + "/s"
        let line = planned
            ? "\(done)/\(files) files\(failed > 0 ? " (\(failed) failed)" : ""), \(ByteSize.format(bytesDone))/\(ByteSize.format(bytes)), \(rate)"
            : "planning…"
        if terminal {
            let width = 30
            let filled = files == 0 ? (planned ? width : 0) : Int(done * UInt64(width) / max(files, 1))
            let bar = "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "]"
            FileHandle.standardOutput.write(Data("\r\(bar) \(line)\u{1B}[K".utf8))
            drew = true
        } else if line != lastLine && ContinuousClock.now - lastPrinted >= .seconds(2) {
            Swift.print("Progress: \(line)")
            lastPrinted = .now
        }
        lastLine = line
    }

    func finish(_ status: CommandStatus) {
        show(status)
        if drew { FileHandle.standardOutput.write(Data("\n".utf8)) } else if !terminal { Swift.print("Progress: \(lastLine)") }
    }
}

/// `getCmdStatus` output, as Alluxio prints it.
enum CommandStatusPrinter {
    static func print(_ status: CommandStatus, verbose: Bool) throws {
        let completed = status.jobs.reduce(UInt64(0)) { $0 + UInt64($1.filesDone) }
        let failed = status.jobs.reduce(UInt64(0)) { $0 + UInt64($1.filesFailed) }
        Swift.print("Get command status information below: ")
        Swift.print("Command \(status.commandID) is \(status.status).")
        Swift.print("Total completed file count is \(completed), failed file count is \(failed)")
        for job in status.jobs where !job.error.isEmpty {
            Swift.print("Job \(job.id) (\(job.name)) \(job.status): \(job.error)")
        }
        if verbose {
            let failures = status.jobs.flatMap(\.failedFiles)
            if !failures.isEmpty {
                Swift.print("Failed files:")
                for file in failures.prefix(100) { Swift.print("  \(file.path): \(file.error)") }
                if failed > 100 { Swift.print("  … and \(failed - 100) more") }
            }
        }
        Swift.print("Finished the calculation of the statistics for all jobs.")
        switch status.status {
        case .completed, .running, .created: return
        case .failed, .canceled:
            let reason = status.jobs.first { !$0.error.isEmpty }?.error ?? "\(status.status)"
            throw CommandFailure("command \(status.commandID) \(status.status == .failed ? "failed" : "was canceled"): \(reason)")
        }
    }
}

struct JobListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the jobs the job master keeps: id, name, status.")

    func run() async throws {
        try await JobContext.with { client in
            for job in try await client.list() {
                print(Format.pad(String(job.id), 16) + Format.pad(job.name, 10) + job.status.description)
            }
        }
    }
}

struct JobStatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stat", abstract: "Show a job: its configuration, status and progress (-v: every task).")
    @Flag(name: .customShort("v"), help: "Show every task.") var verbose = false
    @Argument(help: "The job id.") var id: String

    func run() async throws {
        let id = try JobContext.jobID(id)
        try await JobContext.with { client in
            let job = try await client.status(id, verbose: verbose)
            print("ID: \(job.id)")
            print("Name: \(job.name)")
            print("Description: \(job.description)")
            print("Status: \(job.status)")
            if !job.error.isEmpty { print("Error: \(job.error)") }
            print("Command: \(job.commandID)")
            print("Files: \(job.filesDone) of \(job.files) done\(job.filesFailed > 0 ? ", \(job.filesFailed) failed" : "")\(job.planned ? "" : " (planning)")")
            print("Bytes: \(ByteSize.format(job.bytesDone)) of \(ByteSize.format(job.bytes))")
            print("Tasks: \(job.taskCount) (\(job.tasksCompleted) completed, \(job.tasksRunning) running)")
            print("Created: \(Format.date(job.createTimeMilliseconds))")
            if job.endTimeMilliseconds > 0 { print("Ended: \(Format.date(job.endTimeMilliseconds))") }
            for task in job.tasks {
                print("Task \(task.index)")
                print("\tWorker: \(task.worker.isEmpty ? "none yet" : task.worker)")
                print("\tStatus: \(task.status)")
                print("\tAttempts: \(task.attempts)")
                print("\tFiles: \(task.filesDone) of \(task.files)\(task.filesFailed > 0 ? ", \(task.filesFailed) failed" : "")")
                if !task.error.isEmpty { print("\tError: \(task.error)") }
            }
            if !job.failedFiles.isEmpty {
                print("Failed files:")
                for file in job.failedFiles { print("  \(file.path): \(file.error)") }
            }
        }
    }
}

struct JobCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a job: its running tasks stop, its files done stay.")
    @Argument(help: "The job id.") var id: String

    func run() async throws {
        let id = try JobContext.jobID(id)
        try await JobContext.with { client in
            let job = try await client.cancel(id)
            print("Canceled job \(job.id) (\(job.name)): \(job.filesDone) of \(job.files) files were done")
        }
    }
}

struct JobLeaderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "leader", abstract: "Print the leading job master's RPC address.")

    func run() async throws {
        try await JobContext.with { client in
            print(try await client.service.waitForLeader().description)
            if let zooKeeper = client.service.locator.zooKeeperAddress { print("ZooKeeper address: \(zooKeeper)") }
        }
    }
}

struct JobCommandStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "getCmdStatus", abstract: "Show the status of the jobs one command submitted (-v: the files that failed).")
    @Flag(name: .customShort("v"), help: "List the files that failed.") var verbose = false
    @Argument(help: "The command id printed when it was submitted.") var id: String

    func run() async throws {
        let id = try JobContext.jobID(id)
        try await JobContext.with { client in
            try CommandStatusPrinter.print(try await client.commandStatus(id, verbose: verbose), verbose: verbose)
        }
    }
}

/// Options every submitting command shares.
struct SubmitOptions: ParsableArguments {
    @Flag(name: .long, help: "Return once submitted instead of waiting for the end.") var async = false
}

/// How a job's files are split into tasks, and how many run at once.
struct TaskOptions: ParsableArguments {
    @Option(name: .customLong("batch-size"), help: "Files per task.") var batchSize = 20
    @Option(name: .customLong("active-jobs"), help: "Tasks of each job running at once.") var activeJobs = 3000

    func request(_ plan: JobPlan) -> JobRequest { JobRequest(plan: plan, batchSize: batchSize, activeTasksMax: activeJobs) }
}

struct JobCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy", abstract: "Copy an under-storage tree to another under-storage location (no file-system master needed).",
        discussion: "SRC and DST are local or shared folders (/data/in, file:///data/in). Files appear at DST only complete. Without --overwrite an existing DST is refused.")
    @Flag(name: .long, help: "Replace files that exist at the destination.") var overwrite = false
    @OptionGroup var tasks: TaskOptions
    @OptionGroup var submit: SubmitOptions
    @Argument(help: "Source location.") var source: String
    @Argument(help: "Destination location.") var destination: String

    func run() async throws {
        let request = tasks.request(.ufsCopy(source: source, destination: destination, overwrite: overwrite))
        try await JobContext.run([request], async: submit.async, describe: "UfsCopy \(source) to \(destination)")
    }
}

// MARK: fs distributed…

struct DistributedLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributedLoad", abstract: "Cache files under paths on job workers' block stores, through the job service.")
    @Option(name: .long, help: "Workers each block is cached on.") var replication = 1
    @OptionGroup var tasks: TaskOptions
    @OptionGroup var submit: SubmitOptions
    @Argument(help: "Paths (/a/b or strata://…/a/b).") var paths: [String]

    func run() async throws {
        guard !paths.isEmpty else { throw CommandFailure("distributedLoad needs at least one path") }
        let requests = try paths.map { tasks.request(.load(path: try JobContext.strataPath($0), replication: replication)) }
        try await JobContext.run(requests, async: submit.async, describe: "Load of \(paths.joined(separator: ", "))")
    }
}

struct DistributedCpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributedCp", abstract: "Copy a file or directory within Strata (across mounts too), through the job service.",
        discussion: "DST becomes the copy of SRC; without --overwrite an existing DST is refused. Files appear at DST only complete.")
    @Flag(name: .long, help: "Replace files that exist in the destination.") var overwrite = false
    @OptionGroup var tasks: TaskOptions
    @OptionGroup var submit: SubmitOptions
    @Argument(help: "Source path.") var source: String
    @Argument(help: "Destination path.") var destination: String

    func run() async throws {
        let source = try JobContext.strataPath(source), destination = try JobContext.strataPath(destination)
        let request = tasks.request(.copy(source: source, destination: destination, overwrite: overwrite))
        try await JobContext.run([request], async: submit.async, describe: "Copy \(source) to \(destination)")
    }
}

struct DistributedMvCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributedMv", abstract: "Move a file or directory within Strata (across mounts too), through the job service.",
        discussion: "Within a mount each file is renamed; across mounts it is copied, then removed. Directories left empty are removed at the end.")
    @Flag(name: .long, help: "Replace files that exist in the destination.") var overwrite = false
    @OptionGroup var tasks: TaskOptions
    @Argument(help: "Source path.") var source: String
    @Argument(help: "Destination path.") var destination: String

    func run() async throws {
        let sourcePath = try JobContext.strataPath(source), destinationPath = try JobContext.strataPath(destination)
        let request = tasks.request(.move(source: sourcePath, destination: destinationPath, overwrite: overwrite))
        try await JobContext.run([request], async: false, describe: "Move \(sourcePath) to \(destinationPath)")
        // Every file moved: what is left of the source is empty directories.
        try await FSContext.with([source]) { client, paths in
            guard let remaining = try? await client.list(paths[0], recursive: true) else { return }
            if remaining.allSatisfy(\.isDirectory), (try? await client.status(paths[0]))?.isDirectory == true {
                try await client.delete(paths[0], recursive: true)
            }
        }
    }
}
