import Foundation
import Logging
import Metrics
import ServiceLifecycle
import StrataCore
import StrataJob
import StrataWire

/// The leading job master's background work, as a service: planning submitted jobs (listing
/// their files and journaling the tasks in chunks), retrying the tasks of job workers that
/// stopped reporting, purging finished jobs past their retention, and the job metrics.
public struct JobMasterWork: Service {
    let master: JobMaster
    /// Largest share of a journal entry one chunk of planned tasks may take.
    static let planChunkBytesMax = 2 << 20
    static let roundInterval: Duration = .milliseconds(250)

    public init(master: JobMaster) { self.master = master }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.planningLoop() }
                group.addTask { await self.maintenanceLoop() }
            }
        }
    }

    // MARK: Planning

    /// Jobs planned at once: their listings overlap, and their records share fsyncs.
    static let planningConcurrency = 8

    private func planningLoop() async {
        while !Task.isCancelled {
            await master.doorbell.wait(upTo: Self.roundInterval)
            guard master.journaled.isLeader, let since = master.leaderSince.withLockedValue({ $0 }) else { continue }
            let pending = await master.stateMachine.table.jobsToPlan
            await withTaskGroup(of: Void.self) { group in
                var next = pending.makeIterator()
                func addNext() -> Bool {
                    guard !Task.isCancelled, master.journaled.isLeader, let id = next.next() else { return false }
                    group.addTask { await self.plan(id, leadingFor: ContinuousClock.now - since) }
                    return true
                }
                for _ in 0..<Self.planningConcurrency where !addNext() { break }
                while await group.next() != nil { _ = addNext() }
            }
        }
    }

    private func plan(_ id: UInt64, leadingFor: Duration) async {
        guard let job = await master.stateMachine.table.job(id) else { return }
        let request = job.request
        let started = ContinuousClock.now
        let plans: [TaskPlan]
        do throws(RPCError) {
            if request.plan.needsBlockStore {
                // Job workers report to a new leader within a few heartbeats, and a starting worker
                // once it is up: a job short of them waits (still CREATED) for one worker timeout
                // from its submission, and a few heartbeats of this leader, before it fails.
                let capable = master.registry.withLockedValue { $0.entries.filter(\.hasBlockStore).count }
                if capable < request.plan.replication {
                    let waited = Duration.milliseconds(Int64(Date().timeIntervalSince1970 * 1000) - job.createTimeMilliseconds)
                    guard waited >= master.settings.workerTimeout, leadingFor >= master.settings.heartbeatInterval * 3 else { return }
                    throw RPCError(.failedPrecondition, "\(request.plan.kind.name) with replication \(request.plan.replication) needs as many job workers with a block store; \(capable) \(capable == 1 ? "was" : "were") live for \(DurationText.format(master.settings.workerTimeout)) (strata.job.master.worker.timeout)")
                }
            }
            let items = try await master.planner.items(for: request.plan)
            plans = JobTable.split(items, batchSize: request.batchSize, replication: request.plan.replication)
        } catch {
            do throws(RPCError) {
                try await master.propose(.planFailed(job: id, error: error.message))
                master.logger.warning("job \(id) (\(job.name)) failed to plan: \(error.message)")
                Counter(label: "strata_job_failed_total").increment()
            } catch {
                master.logger.info("job \(id) left for the next leader to plan: \(error.message)")
            }
            return
        }
        do throws(RPCError) {
            var chunk: [TaskPlan] = []
            var chunkBytes = 0
            var first = true
            for plan in plans {
                let bytes = plan.items.reduce(16) { $0 + $1.relativePath.utf8.count + 12 }
                if !chunk.isEmpty && chunkBytes + bytes > Self.planChunkBytesMax {
                    try await master.propose(.addTasks(job: id, chunk, replacing: first))
                    first = false
                    chunk = []
                    chunkBytes = 0
                }
                chunk.append(plan)
                chunkBytes += bytes
            }
            // The last chunk and the end of planning in one entry (a small job: one entry in all).
            let outcome = try await master.propose(.batch([.addTasks(job: id, chunk, replacing: first), .planned(job: id)]))
            guard case .results(let results) = outcome, results.allSatisfy({ $0 == .done }) else {
                master.logger.info("job \(id) was not planned: \(outcome)")
                return
            }
            let files = plans.reduce(0) { $0 + $1.items.count }
            master.logger.info("job \(id) (\(job.name)) planned in \(ContinuousClock.now - started): \(files) files in \(plans.count) tasks")
            if plans.isEmpty { Counter(label: "strata_job_completed_total").increment() }
        } catch {
            master.logger.info("job \(id) left for the next leader to plan: \(error.message)")
        }
    }

    // MARK: Lost workers, retention, metrics

    private func maintenanceLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.roundInterval)
            guard master.journaled.isLeader else {
                if master.leaderSince.withLockedValue({ $0 }) != nil {
                    master.leaderSince.withLockedValue { $0 = nil }
                    master.registry.withLockedValue { $0.removeAll() }
                }
                continue
            }
            let since = master.leaderSince.withLockedValue { since in
                if since == nil {
                    since = .now
                    master.registry.withLockedValue { $0.removeAll() }
                }
                return since!
            }
            await retryLostTasks(leadingFor: ContinuousClock.now - since)
            await purge()
            await recordMetrics()
        }
    }

    private func retryLostTasks(leadingFor: Duration) async {
        let timeout = master.settings.workerTimeout
        let lost = master.registry.withLockedValue { $0.expire(nowMilliseconds: master.monotonicMilliseconds, timeoutMilliseconds: timeout.milliseconds) }
        for worker in lost {
            master.logger.warning("job worker \(worker.address) is lost: no heartbeat for \(DurationText.format(timeout)) (strata.job.master.worker.timeout)")
        }
        let table = await master.stateMachine.table
        var live = master.registry.withLockedValue { $0.live }
        // A new leader has not heard from anybody yet: give every worker a timeout to report.
        if leadingFor < timeout {
            for job in table.activeJobs { for task in job.tasks where task.status == .running { if let worker = task.worker { live.insert(worker) } } }
        }
        for key in table.lostAttempts(live: live) {
            let address = table.job(key.job)?.tasks[key.task].workerAddress ?? "?"
            do {
                try await master.propose(.taskFailed(key, error: "job worker \(address) lost: no heartbeat for \(DurationText.format(timeout))"))
                master.logger.warning("\(key) was running on lost job worker \(address); it will be retried on another job worker")
                if let job = await master.stateMachine.table.job(key.job), job.status.isFinished { master.noteEnd(job) }
            } catch {
                return
            }
        }
    }

    private func purge() async {
        let expired = await master.stateMachine.table.expiredJobs(nowMilliseconds: master.nowMilliseconds,
                                                                  retentionMilliseconds: master.settings.retention.milliseconds)
        guard !expired.isEmpty else { return }
        for start in stride(from: 0, to: expired.count, by: 10_000) {
            do {
                try await master.propose(.purge(Array(expired[start..<min(expired.count, start + 10_000)])))
            } catch {
                return
            }
        }
        master.logger.info("purged \(expired.count) finished jobs past their retention (strata.job.master.finished.job.retention.time)")
    }

    private func recordMetrics() async {
        let table = await master.stateMachine.table
        let active = table.activeJobs
        Gauge(label: "strata_job_running").record(active.filter { $0.status == .running }.count)
        Gauge(label: "strata_job_jobs").record(table.count)
        var tasks: [JobStatus: Int] = [:]
        for job in active { for task in job.tasks { tasks[task.status, default: 0] += 1 } }
        for status in [JobStatus.created, .running] {
            Gauge(label: "strata_job_tasks", dimensions: [("state", status.description)]).record(tasks[status] ?? 0)
        }
        Gauge(label: "strata_job_workers_live").record(master.registry.withLockedValue { $0.live.count })
    }
}
