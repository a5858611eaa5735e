import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle
import StrataCore
import StrataJournal
import StrataNamespace
import StrataWire

/// Workers and blocks on a master: takes every worker's heartbeats (standbys too), tells
/// clients where a file's blocks are, and — as the leader — sends workers their commands: free
/// and delete blocks, persist files written ASYNC_THROUGH, and the list of pinned blocks.
public final class BlockMaster: Sendable {
    let namespace: any NamespaceAccess
    let journaled: JournaledService<NamespaceStateMachine>
    var stateMachine: NamespaceStateMachine { journaled.stateMachine }
    let workerTimeoutMilliseconds: Int64
    let logger: Logger
    private let state = NIOLockedValueBox(BlockMasterState())
    private let started = ContinuousClock.now
    /// Files sent to a worker to persist, with when (ms): sent again after `persistRetryMilliseconds`.
    private let persisting = NIOLockedValueBox<[UInt64: Int64]>([:])
    private let pinned = NIOLockedValueBox<(version: UInt64, blocks: [UInt64])>((0, []))
    private let waitingToPersist = NIOLockedValueBox<[Inode]>([])
    /// Files with a replication minimum or maximum (refreshed when attributes change), and
    /// blocks being copied (block → when asked, ms), asked again after `replicateRetryMilliseconds`.
    private let replicated = NIOLockedValueBox<[(inode: Inode, path: StrataPath)]>([])
    private let replicating = NIOLockedValueBox<[UInt64: Int64]>([:])
    static let replicateRetryMilliseconds: Int64 = 30_000
    static let persistRetryMilliseconds: Int64 = 60_000
    static let persistsPerRoundMax = 256

    public init(namespace: any NamespaceAccess, workerTimeout: Duration, logger: Logger) {
        self.namespace = namespace
        self.journaled = namespace.journaled
        self.workerTimeoutMilliseconds = workerTimeout.milliseconds
        self.logger = logger
    }

    var nowMilliseconds: Int64 {
        (ContinuousClock.now - started).milliseconds
    }

    var isLeader: Bool { journaled.isLeader }

    // MARK: Handlers

    public func register(into handlers: inout RPCHandlers) {
        handlers.register(BlockMasterMethods.workerHeartbeat) { request, _ in try await self.heartbeat(request) }
        handlers.register(BlockMasterMethods.getWorkers) { _, _ in
            try await self.journaled.ensureLeader()
            return self.workerList()
        }
        handlers.register(BlockMasterMethods.getFileBlocks) { request, _ in
            return self.fileBlocks(try await self.namespace.resolvedFileInfo(request.path))
        }
        handlers.register(BlockMasterMethods.free) { request, _ in try await self.free(request) }
        handlers.register(BlockMasterMethods.persist) { request, _ in try await self.persist(request) }
    }

    func heartbeat(_ request: WorkerHeartbeatRequest) async throws(RPCError) -> WorkerHeartbeatResponse {
        let now = nowMilliseconds
        let outcome = state.withLockedValue { $0.heartbeat(request, nowMilliseconds: now) }
        var response = WorkerHeartbeatResponse()
        response.leader = isLeader
        switch outcome {
        case .refused(let reason):
            throw RPCError(.invalidArgument, reason)
        case .registerFirst:
            logger.info("worker \(request.address) (\(request.workerID)) is new or was lost; asking for a full block report")
            response.commands = [WorkerCommand(kind: .register)]
            return response
        case .accepted:
            break
        }
        if request.report == .fullFirst { logger.info("worker \(request.address) registered: \(request.added.count) blocks in the first report") }
        guard response.leader else { return response }
        if !request.persistedFiles.isEmpty { await recordPersisted(request.persistedFiles) }
        if !request.added.isEmpty { await deleteOrphans(Set(request.added.map(\.blockID))) }
        response.commands = state.withLockedValue { $0.takeCommands(for: request.workerID) }
        let (version, blocks) = pinned.withLockedValue { $0 }
        response.pinnedVersion = version
        if request.pinnedVersion != version {
            response.pinnedChanged = true
            response.pinnedBlocks = blocks
        }
        return response
    }

    func workerList() -> WorkerList {
        let now = nowMilliseconds
        return WorkerList(workers: state.withLockedValue { state in
            state.workers.values.sorted { $0.id < $1.id }.map { worker in
                var info = WorkerInfo()
                info.id = worker.id
                info.address = worker.address
                info.state = worker.lost ? "LOST" : "LIVE"
                info.tiers = worker.tiers
                info.blockCount = UInt64(worker.blocks.count)
                info.lastHeartbeatMillisecondsAgo = now - worker.lastHeartbeatMilliseconds
                info.startTimeMilliseconds = worker.startTimeMilliseconds
                return info
            }
        })
    }

    /// The blocks of a file with where each is cached. Block ids follow from the file's id
    /// (`BlockIDs`), so files loaded from under storage have blocks too.
    func fileBlocks(_ info: FileInfo) -> FileBlocksResponse {
        guard !info.isDirectory, info.blockSizeBytes > 0 else { return FileBlocksResponse(info: info, blocks: []) }
        let count = info.completed ? Int((info.lengthBytes + info.blockSizeBytes - 1) / info.blockSizeBytes) : info.blockIDs.count
        let blocks: [FileBlockInfo] = state.withLockedValue { state in
            (0..<count).map { index in
                let id = index < info.blockIDs.count ? info.blockIDs[index] : BlockIDs.block(file: info.id, index: index)
                let offset = Int64(index) * info.blockSizeBytes
                let length = min(info.blockSizeBytes, max(0, info.lengthBytes - offset))
                let locations = state.locations(of: id).map { BlockLocation(workerID: $0.worker.id, address: $0.worker.address, tier: $0.tier) }
                return FileBlockInfo(blockID: id, offset: offset, lengthBytes: length, locations: locations)
            }
        }
        return FileBlocksResponse(info: info, blocks: blocks)
    }

    /// Block ids of a completed file, as `fileBlocks` derives them.
    static func blockIDs(of inode: Inode) -> [UInt64] {
        guard !inode.isDirectory, inode.blockSizeBytes > 0 else { return [] }
        if !inode.blockIDs.isEmpty { return inode.blockIDs }
        let count = Int((inode.lengthBytes + inode.blockSizeBytes - 1) / inode.blockSizeBytes)
        return (0..<count).map { BlockIDs.block(file: inode.id, index: $0) }
    }

    // MARK: Free and persist

    func free(_ request: FreeRequest) async throws(RPCError) -> FreeResponse {
        let top = try await namespace.resolvedFileInfo(request.path)
        let path = try FileSystemMaster.path(request.path)
        guard !top.isDirectory || request.recursive else {
            throw RPCError(.failedPrecondition, "\(path) is a directory; free it recursively (-R)")
        }
        let files = try await namespace.files(under: path)
        var blocks: [UInt64] = []
        for file in files where file.inode.completed {
            guard file.inode.persistence == .persisted else {
                throw RPCError(.failedPrecondition, "cannot free \(file.path): it is not persisted (its only copy is cached)")
            }
            if file.inode.pinned {
                guard request.forced else { throw RPCError(.failedPrecondition, "cannot free pinned file \(file.path); unpin it or free with -f") }
                var options = SetAttributeOptions()
                options.pinned = false
                try await namespace.setAttribute(file.path, options)
            }
            blocks += Self.blockIDs(of: file.inode)
        }
        let freed = state.withLockedValue { $0.removeEverywhere(blocks, kind: .free) }
        logger.info("free \(path): \(files.count) files, \(freed) cached block copies to drop")
        return FreeResponse(files: UInt64(files.count), blocks: UInt64(freed))
    }

    /// `fs persist`: marks completed, not yet persisted files under the path TO_BE_PERSISTED; the
    /// leader then has a worker that holds their blocks write them to under storage.
    func persist(_ request: PathRequest) async throws(RPCError) -> FileInfoResponse {
        _ = try await namespace.resolvedFileInfo(request.path)
        let path = try FileSystemMaster.path(request.path)
        for file in try await namespace.files(under: path) where file.inode.persistence == .notPersisted {
            guard file.inode.completed else { throw RPCError(.failedPrecondition, "cannot persist \(file.path): it is still being written") }
            var options = SetAttributeOptions()
            options.persistence = .toBePersisted
            try await namespace.setAttribute(file.path, options)
        }
        return FileInfoResponse(info: try await namespace.resolvedFileInfo(request.path))
    }

    private func recordPersisted(_ files: [UInt64]) async {
        for file in files {
            persisting.withLockedValue { $0[file] = nil }
            waitingToPersist.withLockedValue { $0.removeAll { $0.id == file } }
            guard let inode = await stateMachine.inode(id: file), inode.persistence == .toBePersisted,
                  let path = await stateMachine.path(of: file) else { continue }
            var options = SetAttributeOptions()
            options.persistence = .persisted
            do {
                try await namespace.setAttribute(path, options)
                logger.info("persisted \(path)")
            } catch {
                logger.warning("cannot record \(path) as persisted: \(error)")
            }
        }
    }

    /// Queues deletion of blocks whose file is gone (or shorter): deleted files' cached blocks.
    private func deleteOrphans(_ blocks: Set<UInt64>) async {
        let counts = await stateMachine.blockCounts(of: Set(blocks.map(BlockIDs.file(of:))))
        let orphans = blocks.filter { block in
            guard let count = counts[BlockIDs.file(of: block)] else { return true }
            return BlockIDs.index(of: block) >= count
        }
        guard !orphans.isEmpty else { return }
        let queued = state.withLockedValue { $0.removeEverywhere(orphans.sorted(), kind: .delete) }
        logger.info("deleting \(queued) cached copies of \(orphans.count) blocks whose files are gone")
    }

    // MARK: Background work

    /// Twice a second: lost-worker detection (all masters); as the leader, persistence
    /// scheduling, and — when the namespace changed — the pinned list and dropping cached
    /// blocks of deleted files.
    public func run() async {
        var round = 0
        var seenRemovals: UInt64 = 0
        var seenAttributeChanges: UInt64 = 0
        var seenPersistenceRequests: UInt64 = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(500))
            round += 1
            let now = nowMilliseconds
            let lost = state.withLockedValue { $0.detectLost(nowMilliseconds: now, timeoutMilliseconds: workerTimeoutMilliseconds) }
            let (live, lostCount) = state.withLockedValue { state in (state.liveWorkers.count, state.workers.count - state.liveWorkers.count) }
            Gauge(label: "strata_master_workers", dimensions: [("state", "live")]).record(live)
            Gauge(label: "strata_master_workers", dimensions: [("state", "lost")]).record(lostCount)
            Gauge(label: "strata_master_inodes").record(await stateMachine.inodeCount)
            for worker in lost { logger.warning("worker \(worker.address) is lost: no heartbeat for \(workerTimeoutMilliseconds) ms") }
            guard isLeader else {
                persisting.withLockedValue { $0 = [:] }
                // Rescan everything when (if) this master leads.
                seenPersistenceRequests = 0
                seenRemovals = 0
                seenAttributeChanges = 0
                continue
            }
            let persistenceRequests = await stateMachine.persistenceRequests
            let rescan = persistenceRequests != seenPersistenceRequests || (round % 20 == 0 && !waitingToPersist.withLockedValue { $0.isEmpty })
            seenPersistenceRequests = persistenceRequests
            await schedulePersists(now: now, rescan: rescan)
            let (removals, attributeChanges) = (await stateMachine.removals, await stateMachine.attributeChanges)
            if attributeChanges != seenAttributeChanges || round % 30 == 1 {
                seenAttributeChanges = attributeChanges
                await refreshPinned()
                await refreshReplicated()
            }
            await checkReplication(now: now)
            if removals != seenRemovals || round % 60 == 0 {
                seenRemovals = removals
                await deleteOrphans(Set(state.withLockedValue { $0.locations.keys }))
            }
        }
    }

    /// Sends PERSIST commands for files waiting to be persisted. The namespace is scanned for
    /// them only when files were marked since the last scan, or every 10 s while some wait.
    private func schedulePersists(now: Int64, rescan: Bool) async {
        if rescan {
            let found = await stateMachine.files(.waitingToPersist)
            waitingToPersist.withLockedValue { $0 = found }
        }
        let waiting = waitingToPersist.withLockedValue { $0 }
        guard !waiting.isEmpty else { return }
        persisting.withLockedValue { inFlight in
            let ids = Set(waiting.map(\.id))
            inFlight = inFlight.filter { ids.contains($0.key) }
        }
        var sent = 0
        for inode in waiting where sent < Self.persistsPerRoundMax {
            if let since = persisting.withLockedValue({ $0[inode.id] }), now - since < Self.persistRetryMilliseconds { continue }
            let blocks = Self.blockIDs(of: inode)
            let holder: UInt64? = state.withLockedValue { state in
                let live = state.liveWorkers.map(\.id)
                guard let first = blocks.first else { return live.first }
                var candidates = Set(state.locations(of: first).map(\.worker.id))
                for block in blocks.dropFirst() { candidates.formIntersection(state.locations(of: block).map(\.worker.id)) }
                return candidates.sorted().first
            }
            guard let holder, let path = await stateMachine.path(of: inode.id) else { continue }
            let info = await namespace.fileInfo(FileStatus(inode: inode, path: path))
            var command = WorkerCommand(kind: .persist, blockIDs: blocks)
            command.fileID = inode.id
            command.ufsPath = info.ufsPath
            command.lengthBytes = inode.lengthBytes
            command.blockSizeBytes = inode.blockSizeBytes
            state.withLockedValue { $0.enqueue(command, for: holder) }
            persisting.withLockedValue { $0[inode.id] = now }
            sent += 1
        }
    }

    private func refreshReplicated() async {
        let files = await stateMachine.files(.replicationBounded)
        var found: [(Inode, StrataPath)] = []
        for inode in files {
            if let path = await stateMachine.path(of: inode.id) { found.append((inode, path)) }
        }
        replicated.withLockedValue { $0 = found }
    }

    /// Keeps each block of files with replication bounds cached on between min and max live
    /// workers: a worker lacking it is told to copy it (from a worker that has it, else from
    /// under storage); copies beyond the maximum are freed.
    private func checkReplication(now: Int64) async {
        let files = replicated.withLockedValue { $0 }
        guard !files.isEmpty else { return }
        for (inode, path) in files {
            let blocks = Self.blockIDs(of: inode)
            let info = await namespace.fileInfo(FileStatus(inode: inode, path: path))
            state.withLockedValue { state in
                let live = state.liveWorkers
                for (index, block) in blocks.enumerated() {
                    let holders = state.locations(of: block).map(\.worker)
                    let length = min(inode.blockSizeBytes, inode.lengthBytes - Int64(index) * inode.blockSizeBytes)
                    if holders.count < Int(inode.replicationMin) {
                        if let asked = replicating.withLockedValue({ $0[block] }), now - asked < Self.replicateRetryMilliseconds { continue }
                        guard !holders.isEmpty || inode.persistence == .persisted else { continue } // nothing to copy from
                        let targets = live.filter { worker in !holders.contains { $0.id == worker.id } }
                        for target in targets.prefix(Int(inode.replicationMin) - holders.count) {
                            var command = WorkerCommand(kind: .replicate, blockIDs: [block])
                            command.fileID = inode.id
                            command.lengthBytes = length
                            command.blockSizeBytes = inode.blockSizeBytes
                            command.ufsPath = inode.persistence == .persisted ? info.ufsPath : ""
                            command.source = holders.first.map(\.address.description) ?? ""
                            state.enqueue(command, for: target.id)
                        }
                        replicating.withLockedValue { $0[block] = now }
                    } else if inode.replicationMax >= 0 && holders.count > Int(inode.replicationMax) {
                        for extra in holders.sorted(by: { $0.id > $1.id }).prefix(holders.count - Int(inode.replicationMax)) {
                            state.enqueue(WorkerCommand(kind: .free, blockIDs: [block]), for: extra.id)
                        }
                    } else {
                        replicating.withLockedValue { $0[block] = nil }
                    }
                }
            }
        }
    }

    private func refreshPinned() async {
        let files = await stateMachine.files(.pinned)
        let blocks = files.flatMap { Self.blockIDs(of: $0) }.sorted()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for block in blocks { hash = (hash ^ block) &* 0x0100_0000_01b3 }
        pinned.withLockedValue { $0 = (blocks.isEmpty ? 0 : hash | 1, blocks) }
    }
}

/// Runs the block master's background work as a service.
public struct BlockMasterService: Service {
    let blockMaster: BlockMaster
    public init(blockMaster: BlockMaster) { self.blockMaster = blockMaster }
    public func run() async throws {
        await cancelWhenGracefulShutdown { await blockMaster.run() }
    }
}
