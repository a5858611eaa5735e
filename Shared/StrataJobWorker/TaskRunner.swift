import Foundation
import Logging
import NIOCore
import StrataClient
import StrataCore
import StrataJob
import StrataUFS
import StrataWire
import StrataWorker

/// Runs one attempt of a task, file by file: a file that fails is listed and its siblings go
/// on; a failure that would hit every file (the masters unreachable) fails the attempt, so the
/// job master retries it. Destination files appear only complete: under storage through writes
/// that become visible on commit, Strata files under a temporary name renamed into place.
public struct TaskRunner: Sendable {
    /// The file-system masters (for every plan but UfsCopy).
    let fileSystem: FileSystemClient
    /// This process's block worker, for loads; nil on a job-worker-only host.
    public let blockWorker: BlockWorker?
    /// The block worker's address as the masters list block locations.
    let blockWorkerAddress: WorkerAddress?
    let dataOptions: DataOptions
    let logger: Logger
    /// Bytes copied per read of a source (a bounded buffer, whatever the file's size).
    static let copyChunkBytes = 4 << 20

    public init(fileSystem: FileSystemClient, blockWorker: BlockWorker?, blockWorkerAddress: WorkerAddress?, dataOptions: DataOptions, logger: Logger) {
        self.fileSystem = fileSystem
        self.blockWorker = blockWorker
        self.blockWorkerAddress = blockWorkerAddress
        self.dataOptions = dataOptions
        self.logger = logger
    }

    func close() async { await fileSystem.close() }

    /// A failure of one file, as opposed to one that fails the attempt.
    struct FileFailure: Error {
        let message: String
    }

    /// A failure that would fail every file: the attempt fails and is retried.
    struct AttemptFailure: Error {
        let message: String
    }

    func run(_ assignment: TaskAssignment, progress: @Sendable (Int, Int64) -> Void, isCanceled: @Sendable () -> Bool) async -> TaskOutcome {
        var outcome = TaskOutcome(key: assignment.key)
        var filesDone = 0
        var bytesDone: Int64 = 0
        var failed: [FailedItem] = []
        for item in assignment.items {
            if isCanceled() { break }
            let source = item.path(under: assignment.source)
            do {
                bytesDone += try await runItem(assignment, item, source: source)
                filesDone += 1
            } catch let failure as FileFailure {
                failed.append(FailedItem(path: source, error: failure.message))
            } catch let failure as AttemptFailure {
                outcome.failed = true
                outcome.error = failure.message
                return outcome
            } catch {
                failed.append(FailedItem(path: source, error: "\(error)"))
            }
            progress(filesDone, bytesDone)
        }
        outcome.filesDone = UInt32(clamping: filesDone)
        outcome.bytesDone = bytesDone
        outcome.failedFiles = Array(failed.prefix(JobTable.failedItemsKeptMax))
        outcome.filesFailed = UInt32(clamping: failed.count)
        return outcome
    }

    /// Classifies an RPC failure: the masters or a worker unreachable fail the attempt; anything
    /// about the file itself fails the file.
    static func classify(_ error: RPCError, _ context: String) -> any Error {
        switch error.code {
        case .unavailable, .deadlineExceeded, .notLeader: AttemptFailure(message: "\(context): \(error.message)")
        default: FileFailure(message: error.message)
        }
    }

    private func runItem(_ assignment: TaskAssignment, _ item: JobItem, source: String) async throws -> Int64 {
        let destination = item.path(under: assignment.destination)
        do {
            switch assignment.kind {
            case .load: return try await load(source, replication: Int(assignment.replication))
            case .persist: return try await persist(source)
            case .copy: return try await copy(source, to: destination, overwrite: assignment.overwrite, key: assignment.key)
            case .move: return try await move(source, to: destination, overwrite: assignment.overwrite, key: assignment.key)
            case .ufsCopy: return try await ufsCopy(source, to: destination, overwrite: assignment.overwrite, attempt: assignment.key.attempt)
            }
        } catch let error as RPCError {
            throw Self.classify(error, source)
        } catch let error as UnderStorageError {
            throw FileFailure(message: error.message)
        }
    }

    // MARK: Load

    /// Caches every block of `path` here unless it is cached here already or on `replication`
    /// workers; a block cached nowhere is read from under storage.
    private func load(_ path: String, replication: Int) async throws -> Int64 {
        guard let blockWorker, let local = blockWorkerAddress else {
            throw AttemptFailure(message: "this job worker has no block store (strata.worker.block.enabled=false)")
        }
        let blocks = try await fileSystem.fileBlocks(path)
        guard blocks.info.completed else { throw FileFailure(message: "\(path) is incomplete") }
        var loaded: Int64 = 0
        for block in blocks.blocks {
            let holders = block.locations.map(\.address)
            if holders.contains(where: { $0.host == local.host && $0.rpcPort == local.rpcPort }) || holders.count >= replication { continue }
            var request = ReadBlockRequest()
            request.blockID = block.blockID
            request.blockLengthBytes = block.lengthBytes
            var source: HostAndPort? = nil
            if blocks.info.persistenceState == "PERSISTED" && !blocks.info.ufsPath.isEmpty {
                request.ufsPath = blocks.info.ufsPath
                request.ufsOffset = block.offset
            } else if let holder = holders.first {
                source = HostAndPort(host: holder.host, port: Int(holder.rpcPort))
            } else {
                throw FileFailure(message: "block \(block.blockID) of \(path) is cached nowhere and \(path) is not persisted")
            }
            do {
                _ = try await blockWorker.loadBlock(request, from: source)
            } catch let error as RPCError {
                throw FileFailure(message: "cannot cache block \(block.blockID) of \(path): \(error.message)")
            } catch {
                throw FileFailure(message: "cannot cache block \(block.blockID) of \(path): \(error)")
            }
            loaded += block.lengthBytes
        }
        return blocks.info.lengthBytes
    }

    // MARK: Persist

    /// Writes `path` to its under-storage location (visible only once complete) and records it
    /// as persisted; a file persisted already is done.
    private func persist(_ path: String) async throws -> Int64 {
        let info = try await fileSystem.status(path)
        guard !info.isDirectory else { return 0 }
        guard info.completed else { throw FileFailure(message: "\(path) is still being written") }
        if info.persistenceState == "PERSISTED" { return info.lengthBytes }
        guard !info.ufsPath.isEmpty else { throw FileFailure(message: "\(path) has no under-storage location") }
        let (ufs, relative) = try underStorage(at: info.ufsPath)
        let writer = try await ufs.create(relative, mode: UInt16(truncatingIfNeeded: info.mode & 0o777))
        do {
            var offset: Int64 = 0
            try await fileSystem.readFile(path, options: dataOptions) { chunk in
                try await writer.write(chunk, at: offset)
                offset += Int64(chunk.readableBytes)
            }
            guard offset == info.lengthBytes else { throw FileFailure(message: "read \(offset) of \(info.lengthBytes) bytes of \(path)") }
            try await writer.commit()
        } catch {
            await writer.abort()
            throw error
        }
        var request = SetAttributeRequest(path: path)
        request.persistenceState = "PERSISTED"
        _ = try await fileSystem.setAttribute(request)
        return info.lengthBytes
    }

    // MARK: Copy and move within Strata

    /// The name an attempt writes a copy under before renaming it into place: hidden, and
    /// different for every attempt, so an earlier attempt's leftover never becomes the file.
    static func temporaryPath(_ destination: String, _ key: TaskKey, attempt: Int) -> String {
        let slash = destination.lastIndex(of: "/")!
        let parent = destination[..<slash]
        let name = destination[destination.index(after: slash)...]
        return "\(parent)/.strata_tmp_\(key.job)_\(key.task)_\(attempt)_\(name)"
    }

    private func copy(_ source: String, to destination: String, overwrite: Bool, key: TaskKey) async throws -> Int64 {
        let info = try await fileSystem.status(source)
        guard !info.isDirectory else { return 0 }
        guard info.completed else { throw FileFailure(message: "\(source) is still being written") }
        let existing = try await optionalStatus(destination)
        if let existing {
            // An earlier attempt of this task may have copied it before its worker was lost.
            if key.attempt > 1 && existing.completed && !existing.isDirectory && existing.lengthBytes == info.lengthBytes && !overwrite {
                return info.lengthBytes
            }
            guard overwrite else { throw FileFailure(message: "destination \(destination) exists (use --overwrite)") }
            guard !existing.isDirectory else { throw FileFailure(message: "destination \(destination) is a directory") }
        }
        for earlier in 1..<max(1, key.attempt) { try? await fileSystem.delete(Self.temporaryPath(destination, key, attempt: earlier)) }
        let temporary = Self.temporaryPath(destination, key, attempt: key.attempt)
        try? await fileSystem.delete(temporary)
        do {
            var offset: Int64 = 0
            var options = dataOptions
            options.blockSizeBytes = info.blockSizeBytes > 0 ? info.blockSizeBytes : options.blockSizeBytes
            let fileSystem = self.fileSystem
            try await fileSystem.writeFile(temporary, options: options) {
                guard offset < info.lengthBytes else { return nil }
                var buffer = ByteBuffer()
                let length = min(Int64(Self.copyChunkBytes), info.lengthBytes - offset)
                try await fileSystem.readFile(source, options: options, offset: offset, length: length) { chunk in
                    var chunk = chunk
                    buffer.writeBuffer(&chunk)
                }
                guard Int64(buffer.readableBytes) == length else {
                    throw FileFailure(message: "\(source) gave \(buffer.readableBytes) of \(length) bytes at offset \(offset)")
                }
                offset += length
                return buffer
            }
            if existing != nil { try await fileSystem.delete(destination) }
            _ = try await fileSystem.rename(temporary, to: destination)
        } catch {
            try? await fileSystem.delete(temporary)
            throw error
        }
        return info.lengthBytes
    }

    /// Within a mount, a rename; across mounts, a copy then a delete of the source. Directories
    /// the move leaves empty are removed up to the source's root.
    private func move(_ source: String, to destination: String, overwrite: Bool, key: TaskKey) async throws -> Int64 {
        // (No `catch … where` here: Swift 6.3 crashes compiling it in this function.)
        let found = try await optionalStatus(source)
        guard let info = found else {
            // An earlier attempt moved it already.
            if key.attempt > 1, let moved = try await optionalStatus(destination), moved.completed { return moved.lengthBytes }
            throw FileFailure(message: "\(source) does not exist")
        }
        if let existing = try await optionalStatus(destination) {
            guard overwrite else { throw FileFailure(message: "destination \(destination) exists (use --overwrite)") }
            guard !existing.isDirectory else { throw FileFailure(message: "destination \(destination) is a directory") }
            try await fileSystem.delete(destination)
        }
        try await createParent(of: destination)
        if try await renamed(source, to: destination) { return info.lengthBytes }
        // Another mount: copy, then remove the source.
        _ = try await copy(source, to: destination, overwrite: true, key: key)
        try await fileSystem.delete(source)
        return info.lengthBytes
    }

    /// The status of `path`, nil if it does not exist.
    private func optionalStatus(_ path: String) async throws(RPCError) -> FileInfo? {
        do {
            return try await fileSystem.status(path)
        } catch {
            if error.code == .notFound { return nil }
            throw error
        }
    }

    /// Renames within a mount; false when the namespace refuses because the paths are in different mounts.
    private func renamed(_ source: String, to destination: String) async throws(RPCError) -> Bool {
        do {
            _ = try await fileSystem.rename(source, to: destination)
            return true
        } catch {
            if error.code == .permissionDenied { return false }
            throw error
        }
    }

    private func createParent(of path: String) async throws {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        _ = try await fileSystem.createDirectory(String(path[..<slash]), recursive: true, allowExists: true)
    }

    // MARK: Under storage to under storage

    private func ufsCopy(_ source: String, to destination: String, overwrite: Bool, attempt: Int) async throws -> Int64 {
        let (sourceUFS, sourcePath) = try underStorage(at: source)
        let (destinationUFS, destinationPath) = try underStorage(at: destination)
        let reader = try await sourceUFS.openForReading(sourcePath)
        do {
            if let existing = try destinationUFS.status(destinationPath) {
                if !overwrite {
                    // An earlier attempt of this task may have written it before its worker was lost.
                    if attempt > 1 && !existing.isDirectory && existing.lengthBytes == reader.sizeBytes {
                        await reader.close()
                        return reader.sizeBytes
                    }
                    throw FileFailure(message: "destination \(destination) exists (use --overwrite)")
                }
                guard !existing.isDirectory else { throw FileFailure(message: "destination \(destination) is a directory") }
            }
            let writer = try await destinationUFS.create(destinationPath, mode: nil)
            do {
                var offset: Int64 = 0
                while offset < reader.sizeBytes {
                    let chunk = try await reader.read(at: offset, count: Int(min(Int64(Self.copyChunkBytes), reader.sizeBytes - offset)))
                    guard chunk.readableBytes > 0 else { throw FileFailure(message: "\(source) ended at \(offset) of \(reader.sizeBytes) bytes") }
                    try await writer.write(chunk, at: offset)
                    offset += Int64(chunk.readableBytes)
                }
                try await writer.commit()
            } catch {
                await writer.abort()
                throw error
            }
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
        return reader.sizeBytes
    }
}
