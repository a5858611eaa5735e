import StrataWire

/// What a master knows about workers and where blocks are, as a deterministic value: heartbeats
/// and the clock (milliseconds, passed in) go in; block locations, lost workers and commands
/// for workers come out. Not journaled — every master (standbys too) builds it from the reports
/// that every worker sends to every master, so a new leader already knows where blocks are.
public struct BlockMasterState: Sendable {
    public struct Worker: Sendable {
        public var id: UInt64
        public var address: WorkerAddress
        public var tiers: [TierUsage]
        public var lastHeartbeatMilliseconds: Int64
        public var startTimeMilliseconds: Int64
        public var lost: Bool
        /// Block → tier alias.
        public var blocks: [UInt64: String]
        /// Set once a full report arrived since the worker (re)appeared.
        public var registered: Bool
    }

    /// Commands queued for one worker, at most (older ones are dropped; the periodic checks
    /// queue them again).
    public static let commandsQueuedMax = 1_000
    public static let workersMax = 10_000

    public private(set) var workers: [UInt64: Worker] = [:]
    /// Block → workers holding it (live workers only).
    public private(set) var locations: [UInt64: Set<UInt64>] = [:]
    private var commands: [UInt64: [WorkerCommand]] = [:]

    public init() {}

    public enum HeartbeatOutcome: Equatable, Sendable {
        case accepted
        /// The master does not know the worker (or it restarted, or was lost): send a full report.
        case registerFirst
        case refused(String)
    }

    /// Applies a worker's report.
    public mutating func heartbeat(_ request: WorkerHeartbeatRequest, nowMilliseconds now: Int64) -> HeartbeatOutcome {
        let id = request.workerID
        guard id != 0, !request.address.host.isEmpty, request.address.rpcPort > 0 else {
            return .refused("worker heartbeat without an id or address")
        }
        let known = workers[id]
        let fresh = known == nil || known!.lost || known!.startTimeMilliseconds != request.startTimeMilliseconds || !known!.registered
        switch request.report {
        case .incremental, .fullMore:
            if fresh { return .registerFirst }
        case .fullFirst:
            guard known != nil || workers.count < Self.workersMax else { return .refused("too many workers (\(Self.workersMax))") }
            if let known { dropLocations(of: known) }
            workers[id] = Worker(id: id, address: request.address, tiers: request.tiers, lastHeartbeatMilliseconds: now,
                                 startTimeMilliseconds: request.startTimeMilliseconds, lost: false, blocks: [:], registered: true)
        }
        var worker = workers[id]!
        precondition(worker.registered && !worker.lost && worker.startTimeMilliseconds == request.startTimeMilliseconds,
                     "worker \(id) reported blocks without a registration for this start (registered \(worker.registered), lost \(worker.lost))")
        worker.address = request.address
        worker.tiers = request.tiers
        worker.lastHeartbeatMilliseconds = now
        for report in request.added {
            worker.blocks[report.blockID] = report.tier
            locations[report.blockID, default: []].insert(id)
        }
        for block in request.removed {
            worker.blocks[block] = nil
            locations[block]?.remove(id)
            if locations[block]?.isEmpty == true { locations[block] = nil }
        }
        workers[id] = worker
        return .accepted
    }

    /// Marks workers silent for `timeoutMilliseconds` as lost and forgets their blocks' locations.
    public mutating func detectLost(nowMilliseconds now: Int64, timeoutMilliseconds: Int64) -> [Worker] {
        var lost: [Worker] = []
        for (id, worker) in workers where !worker.lost && now - worker.lastHeartbeatMilliseconds > timeoutMilliseconds {
            precondition(worker.registered, "worker \(id) is neither lost nor registered")
            dropLocations(of: worker)
            workers[id]!.lost = true
            workers[id]!.registered = false
            workers[id]!.blocks = [:]
            commands[id] = nil
            lost.append(worker)
        }
        return lost.sorted { $0.id < $1.id }
    }

    private mutating func dropLocations(of worker: Worker) {
        for block in worker.blocks.keys {
            locations[block]?.remove(worker.id)
            if locations[block]?.isEmpty == true { locations[block] = nil }
        }
    }

    /// The live workers holding `block`, with the tier it is in on each.
    public func locations(of block: UInt64) -> [(worker: Worker, tier: String)] {
        (locations[block] ?? []).sorted().map { id in
            // Losing a worker drops its locations, and a location is added only with the block.
            guard let worker = workers[id], !worker.lost, let tier = worker.blocks[block] else {
                preconditionFailure("block \(block) is located on worker \(id), which \(workers[id] == nil ? "is unknown" : workers[id]!.lost ? "is lost" : "does not hold it")")
            }
            return (worker, tier)
        }
    }

    public var liveWorkers: [Worker] { workers.values.filter { !$0.lost }.sorted { $0.id < $1.id } }

    // MARK: Commands

    public mutating func enqueue(_ command: WorkerCommand, for worker: UInt64) {
        guard workers[worker] != nil else { return }
        var queue = commands[worker, default: []]
        queue.append(command)
        if queue.count > Self.commandsQueuedMax { queue.removeFirst(queue.count - Self.commandsQueuedMax) }
        commands[worker] = queue
    }

    public mutating func takeCommands(for worker: UInt64) -> [WorkerCommand] {
        commands.removeValue(forKey: worker) ?? []
    }

    /// Queues removal of `blocks` from every worker holding them.
    public mutating func removeEverywhere(_ blocks: [UInt64], kind: WorkerCommand.Kind) -> Int {
        var byWorker: [UInt64: [UInt64]] = [:]
        for block in blocks {
            for holder in locations[block] ?? [] { byWorker[holder, default: []].append(block) }
        }
        for (worker, blocks) in byWorker.sorted(by: { $0.key < $1.key }) {
            for part in stride(from: 0, to: blocks.count, by: 10_000) {
                enqueue(WorkerCommand(kind: kind, blockIDs: Array(blocks[part..<min(blocks.count, part + 10_000)])), for: worker)
            }
        }
        return byWorker.values.reduce(0) { $0 + $1.count }
    }
}

