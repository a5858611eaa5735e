import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle
import StrataBlock
import StrataCore
import StrataWire

/// Keeps every master informed: one loop per master sends a heartbeat each interval with the
/// block changes that master has not acknowledged yet (or a full report, in parts, when it asks
/// to register or fell too far behind). Only the leader's commands are carried out.
public final class MasterSync: Service, Sendable {
    /// The masters configured; with ZooKeeper, `discover` adds those that enter the election.
    let configuredMasters: [HostAndPort]
    let discover: (@Sendable () async -> [HostAndPort])?
    let worker: BlockWorker
    let address: WorkerAddress
    let interval: Duration
    let startTimeMilliseconds: Int64
    let logger: Logger
    let frameSizeMaxBytes: Int
    /// The change sequence each master has acknowledged; changes all have seen are dropped.
    private let acknowledged: NIOLockedValueBox<[HostAndPort: UInt64]>
    private let pinnedVersion = NIOLockedValueBox<UInt64>(0)
    /// Whether each master answered the last heartbeat, and which one leads (for the web UI).
    public let reachable = NIOLockedValueBox<[HostAndPort: Bool]>([:])
    public let leader = NIOLockedValueBox<HostAndPort?>(nil)
    /// The highest change sequence a leading master has acknowledged.
    private let leaderAcknowledged = NIOLockedValueBox<UInt64>(0)
    /// Rung when the leader acknowledges more; `announce` waits on it.
    private let acknowledgedBell = Doorbell()
    /// Wakes the loops for an early heartbeat.
    private let doorbells = NIOLockedValueBox<[HostAndPort: Doorbell]>([:])
    /// How often `discover` is asked for masters.
    static let discoveryInterval: Duration = .seconds(2)
    static let announceWaitMax: Duration = .seconds(3)

    public init(masters: [HostAndPort], discover: (@Sendable () async -> [HostAndPort])? = nil, worker: BlockWorker,
                address: WorkerAddress, interval: Duration, frameSizeMaxBytes: Int, logger: Logger) {
        self.configuredMasters = masters
        self.discover = discover
        self.worker = worker
        self.address = address
        self.interval = interval
        self.frameSizeMaxBytes = frameSizeMaxBytes
        self.startTimeMilliseconds = Int64(Date().timeIntervalSince1970 * 1000)
        self.logger = logger
        self.acknowledged = NIOLockedValueBox([:])
    }

    /// Reports changes up to `sequence` to every master now, and waits until the leader has
    /// them (at most `announceWaitMax`; the regular heartbeats carry them anyway).
    public func announce(through sequence: UInt64) async {
        for doorbell in doorbells.withLockedValue({ Array($0.values) }) { doorbell.ring() }
        let deadline = ContinuousClock.now + Self.announceWaitMax
        while leaderAcknowledged.withLockedValue({ $0 }) < sequence && ContinuousClock.now < deadline {
            await acknowledgedBell.wait(upTo: deadline - ContinuousClock.now)
        }
    }

    /// Every master known so far.
    public var masters: [HostAndPort] { doorbells.withLockedValue { Array($0.keys) }.sorted { $0.description < $1.description } }

    public func run() async throws {
        let (found, foundContinuation) = AsyncStream.makeStream(of: HostAndPort.self)
        for master in configuredMasters { foundContinuation.yield(master) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(10))
                    await self.worker.expireIdleWriters()
                }
            }
            if let discover {
                group.addTask {
                    while !Task.isCancelled {
                        for master in await discover() { foundContinuation.yield(master) }
                        try? await Task.sleep(for: Self.discoveryInterval)
                    }
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                foundContinuation.finish()
            }
            for await master in found {
                let isNew = doorbells.withLockedValue { bells in
                    guard bells[master] == nil else { return false }
                    bells[master] = Doorbell()
                    return true
                }
                guard isNew else { continue }
                acknowledged.withLockedValue { $0[master] = $0[master] ?? 0 }
                if discover != nil { logger.info("reporting to master \(master)") }
                group.addTask { await self.sync(with: master) }
            }
            group.cancelAll()
        }
    }

    private func sync(with master: HostAndPort) async {
        let client = RPCClient(address: master, frameSizeMaxBytes: frameSizeMaxBytes, connectTimeout: .seconds(1), defaultDeadline: .seconds(10))
        var needFullReport = true
        var acknowledgedSequence: UInt64 = 0
        var reachable: Bool? = nil
        while !Task.isCancelled {
            do {
                let response: WorkerHeartbeatResponse
                var reportedPersisted: [UInt64] = []
                if needFullReport {
                    (response, acknowledgedSequence, reportedPersisted) = try await sendFullReport(client)
                    needFullReport = false
                } else if let changes = await worker.store.changes(after: acknowledgedSequence) {
                    var request = await baseRequest()
                    request.report = .incremental
                    for change in changes {
                        if let tier = change.tier { request.added.append(BlockReport(blockID: change.block, tier: tier.rawValue)) } else { request.removed.append(change.block) }
                    }
                    reportedPersisted = request.persistedFiles
                    response = try await client.call(BlockMasterMethods.workerHeartbeat, request)
                    if let last = changes.last {
                        precondition(last.sequence > acknowledgedSequence, "block changes after \(acknowledgedSequence) ended at \(last.sequence)")
                        acknowledgedSequence = last.sequence
                    }
                } else {
                    needFullReport = true
                    continue
                }
                if reachable != true { logger.info("reporting to master \(master)") }
                reachable = true
                self.reachable.withLockedValue { $0[master] = true }
                if response.leader { leader.withLockedValue { $0 = master } }
                if response.commands.contains(where: { $0.kind == .register }) {
                    needFullReport = true
                    continue
                }
                await noteAcknowledged(master, acknowledgedSequence)
                if response.leader {
                    leaderAcknowledged.withLockedValue { $0 = max($0, acknowledgedSequence) }
                    acknowledgedBell.ring()
                    await worker.acknowledgePersisted(reportedPersisted)
                    if response.pinnedChanged {
                        await worker.store.setPinned(Set(response.pinnedBlocks))
                        pinnedVersion.withLockedValue { $0 = response.pinnedVersion }
                    }
                    await worker.execute(response.commands)
                }
            } catch {
                if reachable != false { logger.warning("cannot report to master \(master): \(error.message)") }
                reachable = false
                self.reachable.withLockedValue { $0[master] = false }
                // A master that restarted no longer knows us: it will ask for a full report.
            }
            await doorbells.withLockedValue { $0[master]! }.wait(upTo: interval)
        }
        await client.close()
    }

    private func baseRequest() async -> WorkerHeartbeatRequest {
        var request = WorkerHeartbeatRequest()
        request.workerID = address.workerID
        request.address = address
        request.startTimeMilliseconds = startTimeMilliseconds
        request.tiers = await worker.store.usage.map { TierUsage(alias: $0.alias.rawValue, capacityBytes: $0.capacityBytes, usedBytes: $0.usedBytes) }
        for tier in request.tiers {
            Gauge(label: "strata_worker_capacity_bytes", dimensions: [("tier", tier.alias)]).record(tier.capacityBytes)
            Gauge(label: "strata_worker_used_bytes", dimensions: [("tier", tier.alias)]).record(tier.usedBytes)
        }
        request.persistedFiles = await worker.persistedToReport()
        request.pinnedVersion = pinnedVersion.withLockedValue { $0 }
        return request
    }

    private func sendFullReport(_ client: RPCClient) async throws(RPCError) -> (WorkerHeartbeatResponse, UInt64, [UInt64]) {
        let (blocks, sequence) = await worker.store.fullReport()
        var response = WorkerHeartbeatResponse()
        var start = 0
        var persisted: [UInt64] = []
        repeat {
            var request = await baseRequest()
            persisted = request.persistedFiles
            request.report = start == 0 ? .fullFirst : .fullMore
            let end = min(blocks.count, start + WorkerHeartbeatRequest.blocksMax)
            request.added = blocks[start..<end].map { BlockReport(blockID: $0.0, tier: $0.1.rawValue) }
            response = try await client.call(BlockMasterMethods.workerHeartbeat, request)
            start = end
        } while start < blocks.count
        return (response, sequence, persisted)
    }

    private func noteAcknowledged(_ master: HostAndPort, _ sequence: UInt64) async {
        let lowest = acknowledged.withLockedValue { acknowledged in
            // A full report starts at the store's current sequence, never below what was
            // acknowledged (changes up to the lowest acknowledgement are trimmed).
            precondition(sequence >= acknowledged[master] ?? 0, "master \(master) acknowledged sequence \(sequence) after \(acknowledged[master] ?? 0)")
            acknowledged[master] = sequence
            return acknowledged.values.min() ?? 0
        }
        await worker.store.trimChanges(through: lowest)
    }
}
