import Foundation
import NIOCore
import NIOFileSystem
import StrataCore
import StrataUFS
import StrataWire

/// How a write reaches storage (`strata.user.file.writetype.default`).
public enum WriteType: String, Sendable, CaseIterable {
    /// Only in a worker's cache: fast, lost with the worker.
    case mustCache = "MUST_CACHE"
    /// Cached and written to under storage before the write completes.
    case cacheThrough = "CACHE_THROUGH"
    /// Written to under storage only.
    case through = "THROUGH"
    /// Cached now, persisted to under storage in the background.
    case asyncThrough = "ASYNC_THROUGH"

    var caches: Bool { self != .through }
    var writesUnderStorage: Bool { self == .cacheThrough || self == .through }
    var persistenceState: String {
        switch self {
        case .mustCache: "NOT_PERSISTED"
        case .cacheThrough, .through: "PERSISTED"
        case .asyncThrough: "TO_BE_PERSISTED"
        }
    }
}

/// Whether a read leaves data cached (`strata.user.file.readtype.default`).
public enum ReadType: String, Sendable, CaseIterable {
    case cache = "CACHE"
    /// Cache, and move blocks read to the top tier.
    case cachePromote = "CACHE_PROMOTE"
    case noCache = "NO_CACHE"
}

/// Options of the data path, from the configuration unless given.
public struct DataOptions: Sendable {
    public var writeType: WriteType
    public var readType: ReadType
    public var blockSizeBytes: Int64
    public var chunkSizeBytes: Int
    public var writerWindow: Int
    public var shortCircuit: Bool
    /// Longest wait on a worker that owes a reader data before the next copy is tried.
    public var readTimeout: Duration
    /// Longest wait for a worker to acknowledge a chunk or a commit of a write.
    public var writeTimeout: Duration

    public init(_ configuration: Configuration) {
        writeType = WriteType(rawValue: configuration.string(.userFileWriteTypeDefault).uppercased()) ?? .asyncThrough
        readType = ReadType(rawValue: configuration.string(.userFileReadTypeDefault).uppercased()) ?? .cache
        blockSizeBytes = configuration.sizeBytes(.userBlockSizeBytesDefault)
        chunkSizeBytes = Int(min(configuration.sizeBytes(.userStreamingChunkSize), 8 << 20))
        writerWindow = configuration.integer(.userStreamingWriterWindow)
        shortCircuit = configuration.boolean(.userShortCircuitEnabled)
        readTimeout = max(configuration.duration(.userStreamingDataReadTimeout), .milliseconds(10))
        writeTimeout = max(configuration.duration(.userStreamingDataWriteTimeout), .milliseconds(10))
    }
}

extension FileSystemClient {
    // MARK: Workers and blocks

    public func workers() async throws(RPCError) -> [WorkerInfo] {
        try await call(BlockMasterMethods.getWorkers, GetServiceInfoRequest()).workers
    }

    public func fileBlocks(_ path: String) async throws(RPCError) -> FileBlocksResponse {
        try await call(BlockMasterMethods.getFileBlocks, PathRequest(path: path))
    }

    public func free(_ path: String, recursive: Bool, forced: Bool) async throws(RPCError) -> FreeResponse {
        try await call(BlockMasterMethods.free, FreeRequest(path: path, recursive: recursive, forced: forced))
    }

    public func persist(_ path: String) async throws(RPCError) -> StrataWire.FileInfo? {
        try await call(BlockMasterMethods.persist, PathRequest(path: path)).info
    }

    /// A live worker to write to: one on this host if there is one, else one picked at random.
    /// While the leader knows of none (workers register a heartbeat after a cluster starts or a
    /// new leader is elected), it asks again under the client's retry policy.
    func writeWorker() async throws(RPCError) -> WorkerAddress {
        try await service.call(BlockMasterMethods.getWorkers, GetServiceInfoRequest()) { response throws(RPCError) in
            let live = response.workers.filter { $0.state == "LIVE" }
            guard !live.isEmpty else {
                throw RPCError(.unavailable, "no live worker to write to: none is registered with the leading master")
            }
            if let local = live.first(where: { HostAndPort.isLocalHost($0.address.host) }) { return local.address }
            return live.randomElement()!.address
        }
    }

    // MARK: Writing

    /// Writes a new file from `next` (which returns chunks, then nil), as `options.writeType`
    /// says. Chunks stream to one worker with a window of calls in flight; each block is
    /// committed (durable on the worker) before the next starts, and the file is completed on
    /// the master only once every block is. A failure leaves no complete file behind: the
    /// incomplete file is deleted.
    @discardableResult
    public func writeFile(_ path: String, options: DataOptions, progress: (@Sendable (Int64) -> Void)? = nil,
                          from next: () async throws -> ByteBuffer?) async throws -> StrataWire.FileInfo {
        // The worker first: waiting for one must not leave an incomplete file behind.
        let worker = try await writeWorker()
        guard let created = try await call(FileSystemMethods.createFile, CreateFileRequest(
            path: path, recursive: true, blockSizeBytes: options.blockSizeBytes, operation: nextOperation())).info else {
            throw RPCError(.internal, "CreateFile of \(path) answered without a status")
        }
        let connection = workerClient(worker)
        let writer = BlockWriter(client: connection, worker: worker, file: created, options: options)
        do {
            while var chunk = try await next() {
                while chunk.readableBytes > 0 {
                    let room = Int(options.blockSizeBytes - writer.blockOffset)
                    let piece = chunk.readSlice(length: min(room, options.chunkSizeBytes, chunk.readableBytes))!
                    try await writer.append(piece)
                    progress?(writer.fileOffset)
                }
            }
            let blockIDs = try await writer.finish()
            guard let completed = try await call(FileSystemMethods.completeFile, CompleteFileRequest(
                path: path, lengthBytes: writer.fileOffset, blockIDs: blockIDs, operation: nextOperation(),
                persistenceState: options.writeType.persistenceState)).info else {
                throw RPCError(.internal, "CompleteFile of \(path) answered without a status")
            }
            return completed
        } catch {
            await writer.abort()
            try? await delete(path)
            if let rpc = error as? RPCError {
                throw RPCError(rpc.code, "writing \(path) through worker \(worker) failed: \(rpc.message)")
            }
            throw error
        }
    }

    // MARK: Reading

    /// Reads `length` bytes (to the end when nil) of `path` from `offset`, handing each chunk to
    /// `sink` in order. Each block comes from this host's worker files directly (short-circuit),
    /// from a worker that caches it, or — for a persisted file — through a worker that reads it
    /// from under storage (caching it unless the read type is NO_CACHE). A worker failing
    /// mid-block is replaced by the next source, from the byte where it stopped.
    public func readFile(_ path: String, options: DataOptions, offset: Int64 = 0, length: Int64? = nil,
                         sink: (ByteBuffer) async throws -> Void) async throws {
        let blocks = try await fileBlocks(path)
        let info = blocks.info
        guard !info.isDirectory else { throw RPCError(.invalidArgument, "\(path) is a directory") }
        guard info.completed else { throw RPCError(.failedPrecondition, "\(path) is incomplete (still being written, or its writer failed)") }
        guard offset >= 0 else { throw RPCError(.invalidArgument, "negative offset \(offset) reading \(path)") }
        let end = min(info.lengthBytes, length.map { offset + $0 } ?? info.lengthBytes)
        var liveWorkers: [WorkerAddress]? = nil
        var stalledWorkers: Set<WorkerAddress> = []
        for block in blocks.blocks where block.offset + block.lengthBytes > offset && block.offset < end {
            let from = max(0, offset - block.offset)
            let to = min(block.lengthBytes, end - block.offset)
            var position = from
            var sources: [(WorkerAddress?, ReadBlockRequest)] = []
            var request = ReadBlockRequest()
            request.blockID = block.blockID
            request.chunkSizeBytes = UInt32(options.chunkSizeBytes)
            request.promote = options.readType == .cachePromote
            request.cache = options.readType != .noCache
            request.blockLengthBytes = block.lengthBytes
            let cached = block.locations.sorted { HostAndPort.isLocalHost($0.address.host) && !HostAndPort.isLocalHost($1.address.host) }
            for location in cached { sources.append((location.address, request)) }
            if info.persistenceState == "PERSISTED" && !info.ufsPath.isEmpty {
                request.ufsPath = info.ufsPath
                request.ufsOffset = block.offset
                if liveWorkers == nil { liveWorkers = ((try? await workers()) ?? []).filter { $0.state == "LIVE" }.map(\.address) }
                let workers = liveWorkers!
                if let local = workers.first(where: { HostAndPort.isLocalHost($0.host) }) {
                    sources.append((local, request))
                } else if !workers.isEmpty {
                    sources.append((workers[Int(block.blockID % UInt64(workers.count))], request))
                }
                sources.append((nil, request)) // no worker can: read the under-storage file directly
            }
            guard !sources.isEmpty else {
                throw RPCError(.unavailable, "block \(block.blockID) of \(path) is not cached on any live worker and \(path) is not persisted")
            }
            var failures: [String] = []
            // A source that stalls (sends nothing within the read timeout) is skipped for the rest
            // of this read and tried again, with a longer wait, only if nothing else could serve.
            var stalledSources: [(WorkerAddress?, ReadBlockRequest)] = []
            for patience in [options.readTimeout, options.readTimeout * 10] where position < to {
                let round = patience == options.readTimeout ? sources : stalledSources
                for (worker, request) in round where position < to {
                    if patience == options.readTimeout, let worker, stalledWorkers.contains(worker) {
                        stalledSources.append((worker, request))
                        continue
                    }
                    do {
                        if let worker {
                            if options.shortCircuit && HostAndPort.isLocalHost(worker.host) && request.ufsPath.isEmpty,
                               try await readLocal(worker, request, from: &position, to: to, timeout: patience, sink: sink) {
                                continue
                            }
                            try await readRemote(worker, request, from: &position, to: to, timeout: patience, sink: sink)
                        } else {
                            try await readUnderStorage(request, from: &position, to: to, sink: sink)
                        }
                    } catch let error as RPCError {
                        failures.append("\(worker?.description ?? "under storage"): \(error.message)")
                        if error.code == .deadlineExceeded, let worker {
                            stalledWorkers.insert(worker)
                            if patience == options.readTimeout { stalledSources.append((worker, request)) }
                        }
                    }
                }
            }
            guard position >= to else {
                throw RPCError(.unavailable, "cannot read block \(block.blockID) of \(path): " + failures.joined(separator: "; "))
            }
        }
    }

    /// Short-circuit: open the worker's block file ourselves. False if the worker no longer has it.
    private func readLocal(_ worker: WorkerAddress, _ request: ReadBlockRequest, from position: inout Int64, to end: Int64,
                           timeout: Duration, sink: (ByteBuffer) async throws -> Void) async throws -> Bool {
        let connection = workerClient(worker)
        let local: LocalBlock
        do throws(RPCError) {
            local = try await connection.call(WorkerMethods.openLocalBlock, LocalBlockRequest(blockID: request.blockID, promote: request.promote),
                                              deadline: timeout)
        } catch where error.code == .deadlineExceeded {
            throw error  // a stalled worker: the caller moves on
        } catch {
            return false
        }
        let handle: ReadFileHandle
        do {
            handle = try await FileSystem.shared.openFile(forReadingAt: FilePath(local.path), options: OpenOptions.Read())
        } catch {
            _ = try? await connection.call(WorkerMethods.closeLocalBlock, LocalBlockRequest(blockID: request.blockID), deadline: timeout)
            return false
        }
        // The file stays readable through our handle even if the worker evicts it now.
        _ = try? await connection.call(WorkerMethods.closeLocalBlock, LocalBlockRequest(blockID: request.blockID), deadline: timeout)
        try await Self.stream(handle, named: local.path, blockStart: 0, from: &position, to: end, chunkSizeBytes: request.chunkSizeBytes, sink: sink)
        return true
    }

    /// Short-circuit reads take this much at a time (or the streaming chunk size, if larger):
    /// fewer trips to the file-system threads than the 1 MB a network chunk is.
    static let localReadSizeBytes: Int64 = 4 << 20

    /// Hands `handle`'s bytes of the block (which starts at `blockStart` in the file) from
    /// `position` to `end` to `sink` in chunks, advancing `position`; closes the handle. The next
    /// chunk is read while `sink` takes the current one (one read ahead).
    private static func stream(_ handle: ReadFileHandle, named name: String, blockStart: Int64, from position: inout Int64, to end: Int64,
                               chunkSizeBytes: UInt32, sink: (ByteBuffer) async throws -> Void) async throws {
        let readSize = max(Int64(chunkSizeBytes), localReadSizeBytes)
        func read(at offset: Int64) -> Task<ByteBuffer, any Error> {
            let length = min(readSize, end - offset)
            return Task { try await handle.readChunk(fromAbsoluteOffset: blockStart + offset, length: .bytes(length)) }
        }
        var ahead = position < end ? read(at: position) : nil
        do {
            while let current = ahead {
                ahead = nil
                let chunk = try await current.value
                guard chunk.readableBytes > 0 else { throw RPCError(.unavailable, "\(name) ends at \(blockStart + position), before the data it should hold") }
                let next = position + Int64(chunk.readableBytes)
                if next < end { ahead = read(at: next) }
                try await sink(chunk)
                position = next
            }
        } catch {
            if let ahead {
                ahead.cancel()
                _ = try? await ahead.value
            }
            try? await handle.close()
            throw error
        }
        try? await handle.close()
    }

    private func readRemote(_ worker: WorkerAddress, _ request: ReadBlockRequest, from position: inout Int64, to end: Int64,
                            timeout: Duration, sink: (ByteBuffer) async throws -> Void) async throws {
        var request = request
        request.offset = position
        request.lengthBytes = end - position
        // Read-through caching needs the whole block; a partial read through under storage does not cache.
        let stream = try await workerClient(worker).stream(WorkerMethods.readBlock, request, deadline: .seconds(600), itemTimeout: timeout)
        for try await element in stream {
            guard element.message.offset == position else {
                throw RPCError(.internal, "worker \(worker) sent block \(request.blockID) at offset \(element.message.offset), expected \(position)")
            }
            try await sink(element.payload)
            position += Int64(element.payload.readableBytes)
        }
        guard position >= end else { throw RPCError(.unavailable, "worker \(worker) ended block \(request.blockID) at \(position) of \(end)") }
    }

    private func readUnderStorage(_ request: ReadBlockRequest, from position: inout Int64, to end: Int64,
                                  sink: (ByteBuffer) async throws -> Void) async throws {
        let reader: UFSReader
        do {
            let (ufs, relative) = try underStorage(at: request.ufsPath)
            reader = try await ufs.openForReading(relative)
        } catch {
            throw RPCError(.unavailable, error.message)
        }
        do {
            while position < end {
                let chunk: ByteBuffer
                do {
                    chunk = try await reader.read(at: request.ufsOffset + position, count: Int(min(Int64(request.chunkSizeBytes), end - position)))
                } catch {
                    throw RPCError(.unavailable, error.message)
                }
                guard chunk.readableBytes > 0 else {
                    throw RPCError(.unavailable, "\(reader.location) ends at \(request.ufsOffset + position), before the data it should hold")
                }
                try await sink(chunk)
                position += Int64(chunk.readableBytes)
            }
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
    }

    /// Caches every block of `path` on a worker, reading from under storage where needed
    /// (`fs load`). Returns how many blocks were loaded (not counting those already cached).
    public func load(_ path: String) async throws -> Int {
        let blocks = try await fileBlocks(path)
        let info = blocks.info
        guard info.completed, !info.isDirectory else { throw RPCError(.invalidArgument, "\(path) is not a complete file") }
        var loaded = 0
        for block in blocks.blocks where block.locations.isEmpty {
            guard info.persistenceState == "PERSISTED", !info.ufsPath.isEmpty else {
                throw RPCError(.unavailable, "block \(block.blockID) of \(path) is cached nowhere and \(path) is not persisted")
            }
            let worker = try await writeWorker()
            var request = ReadBlockRequest()
            request.blockID = block.blockID
            request.ufsPath = info.ufsPath
            request.ufsOffset = block.offset
            request.blockLengthBytes = block.lengthBytes
            let response = try await workerClient(worker).call(WorkerMethods.cacheBlock, request, deadline: .seconds(600))
            if !response.alreadyCached { loaded += 1 }
        }
        return loaded
    }
}

/// Streams one file's blocks to one worker: chunks of a block go out with up to `window` calls
/// in flight (the worker writes each at its offset), the first chunk of each block alone (it
/// creates the block), and a commit once every chunk of the block is acknowledged.
final class BlockWriter: @unchecked Sendable {
    // Used by one writing task at a time (the caller of writeFile).
    let client: RPCClient
    let worker: WorkerAddress
    let file: StrataWire.FileInfo
    let options: DataOptions
    let session = UInt64.random(in: 1...UInt64.max)
    private(set) var fileOffset: Int64 = 0
    private(set) var blockOffset: Int64 = 0
    private var blockIndex = 0
    private var blockIDs: [UInt64] = []
    private var inFlight: [Task<Void, any Error>] = []

    init(client: RPCClient, worker: WorkerAddress, file: StrataWire.FileInfo, options: DataOptions) {
        self.client = client
        self.worker = worker
        self.file = file
        self.options = options
    }

    var currentBlock: UInt64 { BlockIDs.block(file: file.id, index: blockIndex) }

    func request(payloadOffset: Int64) -> WriteBlockRequest {
        var request = WriteBlockRequest()
        request.blockID = currentBlock
        request.offset = payloadOffset
        request.cache = options.writeType.caches
        request.expectedBytes = options.blockSizeBytes
        if options.writeType.writesUnderStorage {
            request.ufsPath = file.ufsPath
            request.ufsSession = session
            request.ufsOffset = fileOffset
            request.mode = file.mode
        }
        return request
    }

    func append(_ chunk: ByteBuffer) async throws {
        precondition(blockOffset + Int64(chunk.readableBytes) <= options.blockSizeBytes, "chunk crosses a block boundary")
        let call = request(payloadOffset: blockOffset)
        let first = blockOffset == 0 || fileOffset == 0
        if first { try await drain() }
        let client = self.client
        let timeout = options.writeTimeout
        let task = Task { _ = try await client.call(WorkerMethods.writeBlock, call, payload: chunk, deadline: timeout) }
        inFlight.append(task)
        if first || inFlight.count >= options.writerWindow { try await drain(keeping: first ? 0 : options.writerWindow / 2) }
        if blockOffset == 0 { blockIDs.append(currentBlock) }
        blockOffset += Int64(chunk.readableBytes)
        fileOffset += Int64(chunk.readableBytes)
        if blockOffset == options.blockSizeBytes { try await commitBlock() }
    }

    /// Waits for calls in flight until at most `keeping` remain; the first failure is thrown.
    private func drain(keeping: Int = 0) async throws {
        while inFlight.count > keeping {
            let task = inFlight.removeFirst()
            do { try await task.value } catch {
                for other in inFlight { other.cancel() }
                inFlight = []
                throw error
            }
        }
    }

    private func commitBlock() async throws {
        try await drain()
        if options.writeType.caches {
            var commit = WriteBlockRequest()
            commit.blockID = currentBlock
            commit.cache = true
            commit.offset = blockOffset
            commit.commit = true
            _ = try await client.call(WorkerMethods.writeBlock, commit, deadline: options.writeTimeout)
        }
        blockIndex += 1
        blockOffset = 0
    }

    /// Commits the last block and the under-storage file; returns the file's block ids.
    func finish() async throws -> [UInt64] {
        try await drain()
        if blockOffset > 0 { try await commitBlock() }
        if options.writeType.writesUnderStorage {
            var commit = WriteBlockRequest()
            commit.ufsPath = file.ufsPath
            commit.ufsSession = session
            commit.ufsOffset = fileOffset
            commit.ufsCommit = true
            commit.mode = file.mode
            _ = try await client.call(WorkerMethods.writeBlock, commit, deadline: options.writeTimeout)
        }
        return options.writeType.caches ? blockIDs : []
    }

    func abort() async {
        for task in inFlight { task.cancel() }
        inFlight = []
        var abort = WriteBlockRequest()
        abort.blockID = currentBlock
        abort.cache = options.writeType.caches
        abort.abort = true
        abort.ufsSession = session
        _ = try? await client.call(WorkerMethods.writeBlock, abort, deadline: min(options.writeTimeout, .seconds(5)))
    }
}
