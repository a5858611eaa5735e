import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle
import StrataClient
import StrataCore
import StrataJob
import StrataWire

/// The job-worker role of a worker process: reports to the leading job master every heartbeat
/// interval (found like a client finds it, through addresses or ZooKeeper), runs the tasks the
/// answers carry on a bounded pool (`strata.job.worker.threadpool.size`), and reports each
/// attempt's outcome until a leader has journaled it — so tasks keep running, and their results
/// arrive, across a job-master fail-over.
public final class JobWorker: Service, Sendable {
    struct Running: Sendable {
        var filesDone = 0
        var bytesDone: Int64 = 0
        var canceled = false
    }

    struct State: Sendable {
        var running: [TaskKey: Running] = [:]
        /// Outcomes not yet acknowledged by a leader.
        var finished: [TaskKey: TaskOutcome] = [:]
        var leader: String?
        var reachable: Bool?
    }

    let jobMasters: ServiceClient
    let runner: TaskRunner
    /// Host and job-worker RPC port: with them the leader knows this worker.
    public let address: HostAndPort
    let session = UInt64.random(in: 1...UInt64.max)
    public let poolSize: Int
    let interval: Duration
    let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let doorbell = Doorbell()
    /// Finished outcomes kept while no leader acknowledges them; beyond it the oldest are dropped
    /// (their tasks are retried when this worker is declared lost).
    static let finishedKeptMax = 10_000

    public init(jobMasters: ServiceClient, runner: TaskRunner, address: HostAndPort, poolSize: Int, interval: Duration, logger: Logger) {
        precondition(poolSize >= 1, "a job worker needs at least one task slot")
        self.jobMasters = jobMasters
        self.runner = runner
        self.address = address
        self.poolSize = poolSize
        self.interval = interval
        self.logger = logger
    }

    /// What the web UI shows: the leader reported to, and the attempts running.
    public var status: (leader: String?, running: [String]) {
        state.withLockedValue { ($0.leader, $0.running.keys.sorted().map(\.description)) }
    }

    public func run() async throws {
        let (starts, startsContinuation) = AsyncStream.makeStream(of: TaskAssignment.self)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await cancelWhenGracefulShutdown { await self.reportLoop(starts: startsContinuation) }
                startsContinuation.finish()
            }
            for await assignment in starts {
                group.addTask { await self.execute(assignment) }
            }
            // Graceful shutdown: running tasks stop between files; what they did is redone by
            // the attempt that replaces them.
            state.withLockedValue { state in for key in state.running.keys { state.running[key]?.canceled = true } }
        }
        await jobMasters.close()
        await runner.close()
    }

    private func reportLoop(starts: AsyncStream<TaskAssignment>.Continuation) async {
        while !Task.isCancelled {
            await report(starts: starts)
            await doorbell.wait(upTo: interval)
        }
    }

    private func report(starts: AsyncStream<TaskAssignment>.Continuation) async {
        var heartbeat = JobWorkerHeartbeat()
        heartbeat.host = address.host
        heartbeat.rpcPort = UInt32(address.port)
        heartbeat.session = session
        heartbeat.poolSize = UInt32(poolSize)
        heartbeat.blockStore = runner.blockWorker != nil
        state.withLockedValue { state in
            heartbeat.running = state.running.sorted { $0.key < $1.key }.map {
                TaskProgress(key: $0.key, filesDone: UInt32(clamping: $0.value.filesDone), bytesDone: $0.value.bytesDone)
            }
            heartbeat.finished = Array(state.finished.values.sorted { $0.key < $1.key }.prefix(JobWorkerHeartbeat.finishedMax))
        }
        let response: JobWorkerHeartbeatResponse
        do {
            response = try await jobMasters.call(JobMasterMethods.workerHeartbeat, heartbeat, deadline: .seconds(10))
        } catch {
            let first = state.withLockedValue { state in
                defer { state.reachable = false }
                return state.reachable != false
            }
            if first { logger.warning("cannot report to the job master: \(error.message)") }
            jobMasters.forgetLeader()
            return
        }
        let leader = try? await jobMasters.currentLeader()
        let toStart: [TaskAssignment] = state.withLockedValue { state in
            if state.reachable != true || state.leader != leader?.description {
                logger.info("reporting to job master \(leader?.description ?? "?")")
            }
            state.reachable = true
            state.leader = leader?.description
            for key in response.acknowledged { state.finished[key] = nil }
            for key in response.cancel where state.running[key] != nil {
                state.running[key]?.canceled = true
                logger.info("\(key): stopping (canceled, or no longer wanted)")
            }
            var started: [TaskAssignment] = []
            for assignment in response.assignments where state.running[assignment.key] == nil && state.finished[assignment.key] == nil {
                guard state.running.count < poolSize else { break }
                state.running[assignment.key] = Running()
                started.append(assignment)
            }
            return started
        }
        for assignment in toStart {
            logger.info("\(assignment.key): \(assignment.kind.name) of \(assignment.items.count) files starts")
            starts.yield(assignment)
        }
    }

    private func execute(_ assignment: TaskAssignment) async {
        let key = assignment.key
        Gauge(label: "strata_job_worker_active_tasks").record(state.withLockedValue { $0.running.count })
        let outcome = await runner.run(assignment, progress: { [state] files, bytes in
            state.withLockedValue { state in
                state.running[key]?.filesDone = files
                state.running[key]?.bytesDone = bytes
            }
        }, isCanceled: { [state] in state.withLockedValue { $0.running[key]?.canceled ?? true } })
        let canceled = state.withLockedValue { state -> Bool in
            let canceled = state.running.removeValue(forKey: key)?.canceled ?? true
            if !canceled {
                state.finished[key] = outcome
                if state.finished.count > Self.finishedKeptMax, let oldest = state.finished.keys.min() { state.finished[oldest] = nil }
            }
            return canceled
        }
        Counter(label: "strata_job_worker_tasks_total", dimensions: [("outcome", canceled ? "canceled" : outcome.failed ? "failed" : "finished")]).increment()
        if canceled {
            logger.info("\(key): stopped")
        } else if outcome.failed {
            logger.warning("\(key): failed: \(outcome.error)")
        } else {
            logger.info("\(key): \(outcome.filesDone) files done\(outcome.filesFailed > 0 ? ", \(outcome.filesFailed) failed" : "")")
        }
        doorbell.ring()
    }
}
