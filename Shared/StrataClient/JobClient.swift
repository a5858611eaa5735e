import StrataCore
import StrataJob
import StrataWire

/// A client of the job masters: submits jobs, follows them, cancels them. Finds the leading job
/// master like `FileSystemClient` finds the leading master (addresses or ZooKeeper, with the
/// same retry policy through a fail-over).
public final class JobClient: Sendable {
    public let service: ServiceClient

    /// - Parameter waiting: told, while a call waits for a leading job master, what it waits for.
    public init(locator: MasterLocator, configuration: Configuration, waiting: ServiceClient.WaitingReporter? = nil) {
        service = ServiceClient(locator: locator, domain: .jobMaster, infoMethod: JobMasterMethods.getMasterInfo,
                                configuration: configuration, waiting: waiting)
    }

    /// From the configuration: `strata.job.master.rpc.addresses` (by default the job masters'
    /// journal hosts, by default the masters' hosts), or ZooKeeper's job leader node.
    public convenience init(configuration: Configuration, waiting: ServiceClient.WaitingReporter? = nil) throws(ConfigurationError) {
        self.init(locator: try MasterLocator.configured(configuration, domain: .jobMaster), configuration: configuration, waiting: waiting)
    }

    public func close() async { await service.close() }

    /// Submits the jobs of one command; returns the command id and the jobs' ids.
    public func submit(_ jobs: [JobRequest]) async throws(RPCError) -> SubmitJobsResponse {
        try await service.call(JobMasterMethods.submit, SubmitJobsRequest(jobs: jobs, operation: service.nextOperation()))
    }

    public func status(_ id: UInt64, verbose: Bool = false) async throws(RPCError) -> JobInfo {
        try await service.call(JobMasterMethods.getStatus, JobIdRequest(id: id, verbose: verbose))
    }

    public func list(limit: UInt32 = 0) async throws(RPCError) -> [JobInfo] {
        try await service.call(JobMasterMethods.list, ListJobsRequest(limit: limit)).jobs
    }

    public func cancel(_ id: UInt64) async throws(RPCError) -> JobInfo {
        try await service.call(JobMasterMethods.cancel, JobIdRequest(id: id, operation: service.nextOperation()))
    }

    public func commandStatus(_ id: UInt64, verbose: Bool = false) async throws(RPCError) -> CommandStatus {
        try await service.call(JobMasterMethods.getCommandStatus, JobIdRequest(id: id, verbose: verbose))
    }

    /// The job table as of the leader's applied index (for a backup).
    public func exportTable() async throws(RPCError) -> ExportedJobTable {
        try await service.call(JobMasterMethods.exportTable, GetServiceInfoRequest())
    }

    public func summary() async throws(RPCError) -> JobServiceSummary {
        try await service.call(JobMasterMethods.summary, GetServiceInfoRequest())
    }

    /// Polls a command until every job in it finished, handing each new status to `progress`;
    /// returns the final status.
    public func waitForCommand(_ id: UInt64, interval: Duration = .milliseconds(250),
                               progress: (CommandStatus) -> Void) async throws(RPCError) -> CommandStatus {
        while true {
            let status = try await commandStatus(id)
            progress(status)
            if status.status.isFinished { return status }
            try? await Task.sleep(for: interval)
        }
    }
}
