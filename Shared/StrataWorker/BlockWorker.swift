import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOFileSystem
import StrataBlock
import StrataCore
import StrataUFS
import StrataWire

/// The worker's data service: clients write blocks (and files in under storage) in chunks, read
/// blocks as streams (reading through from under storage and caching on the way), or — on the
/// same host — open block files themselves (short-circuit). Masters' commands (free, delete,
/// persist) arrive through `MasterSync`.
public actor BlockWorker {
    /// A file being written to under storage (CACHE_THROUGH, THROUGH).
    private struct UFSWrite {
        var writer: UFSWriter
        var path: String
        var writtenBytes: Int64
        var lastUsed: ContinuousClock.Instant
    }

    public let store: BlockStore
    private let logger: Logger
    private var ufsWriters: [UInt64: UFSWrite] = [:]
    private var blockWritersLastUsed: [BlockID: ContinuousClock.Instant] = [:]
    private var creating: Set<BlockID> = []
    /// Short-circuit leases: a block opened by a local client stays locked until it is closed
    /// or the lease runs out (a client that died does not pin a block forever).
    private var leases: [BlockID: [ContinuousClock.Instant]] = [:]
    static let leaseDuration: Duration = .seconds(30)
    static let idleWriterTimeout: Duration = .seconds(600)
    static let ufsWritersMax = 4096
    /// Files persisted on a master's command, reported until a leader has acknowledged them.
    private var persisted: Set<UInt64> = []
    private var persistingNow: Set<UInt64> = []
    private var replicatingNow: Set<BlockID> = []
    /// Persists, replications and lease expiries the master's commands started; ended by
    /// `shutdown()`.
    private let background = OwnedTasks()

    /// Called after a block is committed: waits (briefly) until the leading master knows it,
    /// so a reader right after a write finds the block (as Alluxio workers commit blocks to the
    /// master before acknowledging the writer).
    private var announce: (@Sendable (UInt64) async -> Void)?

    public init(store: BlockStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func setAnnounce(_ announce: @escaping @Sendable (UInt64) async -> Void) {
        self.announce = announce
    }

    private func announceCommitted() async {
        await announce?(await store.latestChangeSequence)
    }

    public nonisolated func register(into handlers: inout RPCHandlers) {
        handlers.register(WorkerMethods.writeBlock) { request, context in try await self.write(request, payload: context.payload) }
        handlers.register(WorkerMethods.readBlock) { request, _, writer in try await self.read(request, to: writer) }
        handlers.register(WorkerMethods.openLocalBlock) { request, _ in try await self.openLocal(request) }
        handlers.register(WorkerMethods.closeLocalBlock) { request, _ in
            await self.closeLocal(request.blockID)
            return EmptyResponse()
        }
        handlers.register(WorkerMethods.cacheBlock) { request, _ in try await self.cache(request) }
    }

    // MARK: Writing

    func write(_ request: WriteBlockRequest, payload: ByteBuffer) async throws(RPCError) -> WriteBlockResponse {
        let block = request.blockID
        if request.abort {
            if request.cache { await store.abortBlock(block) }
            blockWritersLastUsed[block] = nil
            if let write = ufsWriters.removeValue(forKey: request.ufsSession) { await write.writer.abort() }
            return WriteBlockResponse()
        }
        var response = WriteBlockResponse()
        if request.cache {
            do throws(BlockStoreError) {
                if blockWritersLastUsed[block] == nil {
                    // The first chunk of a block creates it; writers send it alone, then the rest.
                    guard creating.insert(block).inserted else {
                        throw BlockStoreError(.blockBusy, "block \(block) is being created; send its first chunk alone")
                    }
                    defer { precondition(creating.remove(block) != nil, "block \(block) left the creating set while it was being created") }
                    try await store.createBlock(block, expectedBytes: max(0, request.expectedBytes), tier: Int(request.tier))
                }
                blockWritersLastUsed[block] = .now
                if payload.readableBytes > 0 { try await store.write(block, offset: request.offset, payload) }
                if request.commit {
                    blockWritersLastUsed[block] = nil
                    response.tier = try await store.commitBlock(block, lengthBytes: request.offset).rawValue
                    await announceCommitted()
                }
                response.writtenBytes = await store.writtenBytes(block) ?? request.offset
            } catch {
                blockWritersLastUsed[block] = nil
                if let write = ufsWriters.removeValue(forKey: request.ufsSession) { await write.writer.abort() }
                throw RPCError(error.code == .noSpace || error.code == .blockBusy ? .unavailable : .failedPrecondition, "worker: \(error.message)")
            }
        }
        if !request.ufsPath.isEmpty {
            try await writeUnderStorage(request, payload: payload)
        }
        return response
    }

    private func writeUnderStorage(_ request: WriteBlockRequest, payload: ByteBuffer) async throws(RPCError) {
        let session = request.ufsSession
        guard session != 0 else { throw RPCError(.invalidArgument, "an under-storage write needs a session id") }
        if ufsWriters[session] == nil {
            guard ufsWriters.count < Self.ufsWritersMax else { throw RPCError(.unavailable, "too many files being written to under storage on this worker") }
            do {
                let (ufs, relative) = try underStorage(at: request.ufsPath)
                let writer = try await ufs.create(relative, mode: request.mode == 0 ? nil : UInt16(truncatingIfNeeded: request.mode & 0o777))
                ufsWriters[session] = UFSWrite(writer: writer, path: request.ufsPath, writtenBytes: 0, lastUsed: .now)
            } catch {
                throw RPCError(.unavailable, "worker: \(error.message)")
            }
        }
        guard let write = ufsWriters[session], write.path == request.ufsPath else {
            throw RPCError(.invalidArgument, "under-storage session \(session) writes another file")
        }
        do {
            if payload.readableBytes > 0 {
                try await write.writer.write(payload, at: request.ufsOffset)
                // Other chunks were written meanwhile: update the current record, not our copy.
                ufsWriters[session]?.writtenBytes += Int64(payload.readableBytes)
            }
        } catch {
            ufsWriters[session] = nil
            await write.writer.abort()
            throw RPCError(.unavailable, "worker: \(error.message)")
        }
        ufsWriters[session]?.lastUsed = .now
        guard request.ufsCommit, let current = ufsWriters[session] else { return }
        ufsWriters[session] = nil
        guard current.writtenBytes == request.ufsOffset else {
            await current.writer.abort()
            throw RPCError(.failedPrecondition, "worker: \(current.path) is incomplete: \(current.writtenBytes) of \(request.ufsOffset) bytes written")
        }
        do { try await current.writer.commit() } catch { throw RPCError(.unavailable, "worker: \(error.message)") }
    }

    // MARK: Reading

    func read(_ request: ReadBlockRequest, to writer: RPCStreamWriter<ReadBlockChunk>) async throws(RPCError) {
        let chunkSize = Int64(min(max(request.chunkSizeBytes, 4096), 8 << 20))
        if let stored = try? await store.openBlock(request.blockID, promote: request.promote) {
            Counter(label: "strata_worker_block_reads_total", dimensions: [("source", "cache")]).increment()
            let input: BlockSource
            do { input = try await BlockSource.blockFile(stored.path) } catch {
                await store.closeBlock(request.blockID)
                throw error
            }
            do {
                try await stream(input, from: request.offset, length: request.lengthBytes, total: stored.sizeBytes,
                                 blockOffset: 0, chunkSize: chunkSize, source: stored.tier.rawValue, to: writer)
            } catch {
                await input.close()
                await store.closeBlock(request.blockID)
                throw error
            }
            await input.close()
            await store.closeBlock(request.blockID)
            return
        }
        guard !request.ufsPath.isEmpty else {
            throw RPCError(.notFound, "block \(request.blockID) is not cached on this worker and no under-storage path was given")
        }
        Counter(label: "strata_worker_block_reads_total", dimensions: [("source", "under_storage")]).increment()
        // Read through from under storage; keep the block if the whole of it is read.
        let wholeBlock = request.offset == 0 && (request.lengthBytes < 0 || request.lengthBytes >= request.blockLengthBytes)
        var caching = false
        if request.cache && wholeBlock {
            caching = (try? await store.createBlock(request.blockID, expectedBytes: request.blockLengthBytes)) != nil
        }
        do throws(RPCError) {
            let input = try await BlockSource.underStorage(request.ufsPath)
            do throws(RPCError) {
                try await stream(input, from: request.offset, length: request.lengthBytes, total: request.blockLengthBytes,
                                 blockOffset: request.ufsOffset, chunkSize: chunkSize, source: "UFS", to: writer,
                                 caching: caching ? request.blockID : nil)
            } catch {
                await input.close()
                throw error
            }
            await input.close()
            if caching { try? await store.commitBlock(request.blockID, lengthBytes: request.blockLengthBytes) }
        } catch {
            if caching { await store.abortBlock(request.blockID) }
            throw error
        }
    }

    /// Streams `length` bytes (all to `total` when negative) from `offset` of the block whose
    /// data starts at `blockOffset` in `input`.
    private func stream(_ input: BlockSource, from offset: Int64, length: Int64, total: Int64, blockOffset: Int64, chunkSize: Int64,
                        source: String, to writer: RPCStreamWriter<ReadBlockChunk>, caching block: BlockID? = nil) async throws(RPCError) {
        guard offset >= 0, offset <= total else {
            throw RPCError(.invalidArgument, "offset \(offset) is outside the block (\(total) bytes)")
        }
        let end = length < 0 ? total : min(total, offset + length)
        var position = offset
        do {
            while position < end {
                let chunk = try await input.read(at: blockOffset + position, count: Int(min(chunkSize, end - position)))
                guard chunk.readableBytes > 0 else {
                    throw RPCError(.unavailable, "worker: \(input.name) ends at \(blockOffset + position), before the block's \(total) bytes")
                }
                if let block { try? await store.write(block, offset: position, chunk) }
                try await writer.send(ReadBlockChunk(offset: position, source: source), payload: chunk)
                position += Int64(chunk.readableBytes)
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.unavailable, "worker: cannot read \(input.name): \(error)")
        }
    }

    func openLocal(_ request: LocalBlockRequest) async throws(RPCError) -> LocalBlock {
        expireLeases()
        do {
            let stored = try await store.openBlock(request.blockID, promote: request.promote)
            Counter(label: "strata_worker_block_reads_total", dimensions: [("source", "short_circuit")]).increment()
            leases[request.blockID, default: []].append(.now + Self.leaseDuration)
            return LocalBlock(path: stored.path, lengthBytes: stored.sizeBytes, tier: stored.tier.rawValue)
        } catch {
            throw RPCError(.notFound, "worker: \(error.message)")
        }
    }

    func closeLocal(_ block: BlockID) async {
        guard var held = leases[block], !held.isEmpty else { return }
        held.removeFirst()
        leases[block] = held.isEmpty ? nil : held
        await store.closeBlock(block)
    }

    private func expireLeases() {
        let now = ContinuousClock.now
        for (block, expiries) in leases {
            let expired = expiries.filter { $0 < now }.count
            guard expired > 0 else { continue }
            let remaining = Array(expiries.filter { $0 >= now })
            leases[block] = remaining.isEmpty ? nil : remaining
            background.spawn { for _ in 0..<expired { await self.store.closeBlock(block) } }
        }
    }

    /// Caches a block here for a job (a load task running in this process): from under storage
    /// when `request.ufsPath` is set, else copied from the worker at `source`. Returns once the
    /// leading master knows the copy (or after the announce wait).
    public func loadBlock(_ request: ReadBlockRequest, from source: HostAndPort?) async throws -> CacheBlockResponse {
        if let tier = await store.tier(of: request.blockID) { return CacheBlockResponse(tier: tier.rawValue, alreadyCached: true) }
        if request.ufsPath.isEmpty, let source {
            try await copy(request.blockID, from: source, lengthBytes: request.blockLengthBytes)
            return CacheBlockResponse(tier: await store.tier(of: request.blockID)?.rawValue ?? "", alreadyCached: false)
        }
        return try await cache(request)
    }

    /// Caches a block from under storage without sending it anywhere (`fs load`).
    func cache(_ request: ReadBlockRequest) async throws(RPCError) -> CacheBlockResponse {
        if let tier = await store.tier(of: request.blockID) { return CacheBlockResponse(tier: tier.rawValue, alreadyCached: true) }
        guard !request.ufsPath.isEmpty else { throw RPCError(.invalidArgument, "block \(request.blockID): no under-storage path to load it from") }
        do {
            try await store.createBlock(request.blockID, expectedBytes: request.blockLengthBytes)
        } catch {
            if error.code == .blockBusy || error.code == .blockExists { return CacheBlockResponse(tier: "", alreadyCached: true) }
            throw RPCError(.unavailable, "worker: \(error.message)")
        }
        do {
            let source = try await BlockSource.underStorage(request.ufsPath)
            var position: Int64 = 0
            do {
                while position < request.blockLengthBytes {
                    let chunk = try await source.read(at: request.ufsOffset + position, count: Int(min(4 << 20, request.blockLengthBytes - position)))
                    guard chunk.readableBytes > 0 else { throw RPCError(.unavailable, "\(request.ufsPath) is shorter than expected") }
                    try await store.write(request.blockID, offset: position, chunk)
                    position += Int64(chunk.readableBytes)
                }
                await source.close()
            } catch {
                await source.close()
                throw error
            }
            let tier = try await store.commitBlock(request.blockID, lengthBytes: request.blockLengthBytes)
            await announceCommitted()
            return CacheBlockResponse(tier: tier.rawValue, alreadyCached: false)
        } catch let error as RPCError {
            await store.abortBlock(request.blockID)
            throw error
        } catch {
            await store.abortBlock(request.blockID)
            throw RPCError(.unavailable, "worker: cannot load block \(request.blockID) from \(request.ufsPath): \(error)")
        }
    }

    // MARK: Commands from the leading master

    func execute(_ commands: [WorkerCommand]) async {
        for command in commands {
            switch command.kind {
            case .free, .delete:
                await store.remove(command.blockIDs)
            case .persist:
                guard !persistingNow.contains(command.fileID), !persisted.contains(command.fileID) else { continue }
                persistingNow.insert(command.fileID)
                background.spawn { await self.persist(command) }
            case .replicate:
                guard let block = command.blockIDs.first, !replicatingNow.contains(block) else { continue }
                replicatingNow.insert(block)
                background.spawn { await self.replicate(command) }
            case .register:
                break
            }
        }
    }

    /// Writes a file's cached blocks, in order, to under storage (ASYNC_THROUGH).
    private func persist(_ command: WorkerCommand) async {
        defer { precondition(persistingNow.remove(command.fileID) != nil, "file \(command.fileID) was persisted without being marked as persisting") }
        do {
            let (ufs, relative) = try underStorage(at: command.ufsPath)
            let output = try await ufs.create(relative, mode: nil)
            var offset: Int64 = 0
            do {
                for block in command.blockIDs {
                    let stored = try await store.openBlock(block)
                    do {
                        try await copy(stored, to: output, at: offset)
                    } catch {
                        await store.closeBlock(block)
                        throw error
                    }
                    await store.closeBlock(block)
                    offset += stored.sizeBytes
                }
                guard offset == command.lengthBytes else {
                    throw BlockStoreError(.invalidArgument, "cached blocks hold \(offset) bytes, the file has \(command.lengthBytes)")
                }
                try await output.commit()
            } catch {
                await output.abort()
                throw error
            }
            precondition(persisted.insert(command.fileID).inserted, "file \(command.fileID) persisted twice before a leader acknowledged it")
            logger.info("persisted file \(command.fileID) to \(command.ufsPath) (\(offset) bytes)")
        } catch {
            logger.warning("cannot persist file \(command.fileID) to \(command.ufsPath): \(error)")
        }
    }

    private func copy(_ stored: BlockStore.ReadableBlock, to output: UFSWriter, at offset: Int64) async throws {
        let input = try await BlockSource.blockFile(stored.path)
        do {
            var position: Int64 = 0
            while position < stored.sizeBytes {
                let chunk = try await input.read(at: position, count: Int(min(4 << 20, stored.sizeBytes - position)))
                guard chunk.readableBytes > 0 else { throw BlockStoreError(.io, "block file \(stored.path) is shorter than \(stored.sizeBytes) bytes") }
                try await output.write(chunk, at: offset + position)
                position += Int64(chunk.readableBytes)
            }
        } catch {
            await input.close()
            throw error
        }
        await input.close()
    }

    /// Caches a copy of a block (a master keeping a file's replication minimum): streamed from
    /// the worker that has it, or read from under storage.
    private func replicate(_ command: WorkerCommand) async {
        guard let block = command.blockIDs.first else { return }
        defer { precondition(replicatingNow.remove(block) != nil, "block \(block) was replicated without being marked as replicating") }
        if await store.contains(block) { return }
        var request = ReadBlockRequest()
        request.blockID = block
        request.blockLengthBytes = command.lengthBytes
        request.ufsPath = command.ufsPath
        request.ufsOffset = Int64(BlockIDs.index(of: block)) * command.blockSizeBytes
        do {
            if let source = HostAndPort(parsing: command.source) {
                try await copy(block, from: source, lengthBytes: command.lengthBytes)
            } else {
                _ = try await cache(request)
            }
            logger.info("replicated block \(block) (\(command.source.isEmpty ? "from under storage" : "from \(command.source)"))")
        } catch {
            logger.warning("cannot replicate block \(block): \(error)")
        }
    }

    private func copy(_ block: BlockID, from source: HostAndPort, lengthBytes: Int64) async throws {
        let client = RPCClient(address: source, frameSizeMaxBytes: 16 << 20, connectTimeout: .seconds(2), defaultDeadline: .seconds(300))
        try await store.createBlock(block, expectedBytes: lengthBytes)
        do {
            var request = ReadBlockRequest()
            request.blockID = block
            request.cache = false
            for try await element in try await client.stream(WorkerMethods.readBlock, request, deadline: .seconds(300)) {
                try await store.write(block, offset: element.message.offset, element.payload)
            }
            try await store.commitBlock(block, lengthBytes: lengthBytes)
            await client.close()
            await announceCommitted()
        } catch {
            await store.abortBlock(block)
            await client.close()
            throw error
        }
    }

    /// Files persisted and not yet acknowledged by a leader.
    func persistedToReport() -> [UInt64] { persisted.sorted() }

    func acknowledgePersisted(_ files: [UInt64]) {
        persisted.subtract(files)
    }

    /// Drops writers idle for longer than `idleWriterTimeout` (their clients went away).
    func expireIdleWriters() async {
        let cutoff = ContinuousClock.now - Self.idleWriterTimeout
        for (session, write) in ufsWriters where write.lastUsed < cutoff {
            ufsWriters[session] = nil
            await write.writer.abort()
            logger.info("dropped an idle under-storage write of \(write.path)")
        }
        for (block, lastUsed) in blockWritersLastUsed where lastUsed < cutoff {
            blockWritersLastUsed[block] = nil
            await store.abortBlock(block)
        }
        expireLeases()
    }

    public func shutdown() async {
        await background.shutdown()
        for write in ufsWriters.values { await write.writer.abort() }
        ufsWriters = [:]
        await store.shutdown()
    }
}

/// Where a block's bytes are read from: the worker's own block file, or the file in under
/// storage (through the under-storage abstraction).
enum BlockSource: Sendable {
    case file(ReadFileHandle, path: String)
    case underStorage(UFSReader)

    static func blockFile(_ path: String) async throws(RPCError) -> BlockSource {
        do {
            return .file(try await FileSystem.shared.openFile(forReadingAt: FilePath(path), options: OpenOptions.Read()), path: path)
        } catch {
            throw RPCError(.unavailable, "worker: cannot open block file \(path): \(error)")
        }
    }

    static func underStorage(_ location: String) async throws(RPCError) -> BlockSource {
        do {
            let (ufs, relative) = try StrataUFS.underStorage(at: location)
            return .underStorage(try await ufs.openForReading(relative))
        } catch {
            throw RPCError(.unavailable, "worker: \(error.message)")
        }
    }

    var name: String {
        switch self {
        case .file(_, let path): path
        case .underStorage(let reader): reader.location
        }
    }

    func read(at offset: Int64, count: Int) async throws -> ByteBuffer {
        switch self {
        case .file(let handle, _): try await handle.readChunk(fromAbsoluteOffset: offset, length: .bytes(Int64(count)))
        case .underStorage(let reader): try await reader.read(at: offset, count: count)
        }
    }

    func close() async {
        switch self {
        case .file(let handle, _): try? await handle.close()
        case .underStorage(let reader): await reader.close()
        }
    }
}
