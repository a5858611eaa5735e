import Foundation
import Logging
import NIOConcurrencyHelpers
import StrataCore
import StrataJournal
import StrataNamespace
import StrataRaft
import StrataUFS
import StrataWire

/// The file-system master: serves the namespace from the journal leader, answers standbys'
/// clients with NOT_LEADER and the leader's RPC address, and loads under-storage metadata on
/// first access (journaled, so every master sees it).
public final class FileSystemMaster: NamespaceAccess {
    /// The seam to the journal: leader gate, read barrier, proposals, checkpoints, quorum.
    public let journaled: JournaledService<NamespaceStateMachine>
    public var stateMachine: NamespaceStateMachine { journaled.stateMachine }
    var thisRPCAddress: HostAndPort { journaled.thisRPCAddress }
    let rootUFS: String
    let logger: Logger
    private let underStorage = NIOLockedValueBox<[String: any UnderFileSystem]>([:])

    /// The file-system master's view of the seam's RPC methods.
    public static let journaledMethods = JournaledServiceMethods(
        info: FileSystemMethods.getMasterInfo, checkpoint: FileSystemMethods.checkpoint, checkpointLocal: FileSystemMethods.checkpointLocal)

    public init(journaled: JournaledService<NamespaceStateMachine>, rootUFS: String, logger: Logger) {
        self.journaled = journaled
        self.rootUFS = rootUFS
        self.logger = logger
    }

    /// The role for ServiceInfo: LEADER when this master serves, else STANDBY.
    public func role() async -> String { journaled.role.rawValue }

    // MARK: Handlers

    public func register(into handlers: inout RPCHandlers) {
        handlers.register(FileSystemMethods.createDirectory) { request, _ in
            var options = CreateOptions()
            options.recursive = request.recursive
            options.allowExists = request.allowExists
            options.mode = UInt16(truncatingIfNeeded: request.mode)
            return FileInfoResponse(info: try await self.mutate(.createDirectory(try Self.path(request.path), options), request.operation))
        }
        handlers.register(FileSystemMethods.createFile) { request, _ in
            var options = CreateOptions()
            options.recursive = request.recursive
            options.mode = UInt16(truncatingIfNeeded: request.mode)
            options.blockSizeBytes = request.blockSizeBytes > 0 ? request.blockSizeBytes : 64 << 20
            options.ttlMilliseconds = request.ttlMilliseconds
            options.replicationMin = request.replicationMin
            options.replicationMax = request.replicationMax
            options.completeEmpty = request.completeEmpty
            return FileInfoResponse(info: try await self.mutate(.createFile(try Self.path(request.path), options), request.operation))
        }
        handlers.register(FileSystemMethods.completeFile) { request, _ in
            let persistence = try Self.persistence(request.persistenceState, for: request.path)
            return FileInfoResponse(info: try await self.mutate(.completeFile(try Self.path(request.path), lengthBytes: request.lengthBytes,
                                                                              blockIDs: request.blockIDs, persistence: persistence), request.operation))
        }
        handlers.register(FileSystemMethods.getStatus) { request, _ in
            let path = try Self.path(request.path)
            try await self.readyToRead()
            try await self.loadMetadata(along: path)
            return FileInfoResponse(info: try await self.info(path))
        }
        handlers.register(FileSystemMethods.exists) { request, _ in
            let path = try Self.path(request.path)
            try await self.readyToRead()
            try await self.loadMetadata(along: path)
            return ExistsResponse(exists: await self.stateMachine.inode(at: path) != nil)
        }
        handlers.register(FileSystemMethods.listStatus) { request, _, writer in
            let path = try Self.path(request.path)
            try await self.readyToRead()
            try await self.loadMetadata(along: path)
            if request.recursive { try await self.loadMetadata(below: path) }
            let statuses: [LocatedStatus]
            do { statuses = try await self.stateMachine.listLocated(path, recursive: request.recursive) } catch let error as NamespaceError { throw Self.rpcError(error) }
            var batch: [FileInfo] = []
            batch.reserveCapacity(min(statuses.count, FileInfoBatch.entriesMax))
            for status in statuses {
                batch.append(self.fileInfo(status))
                if batch.count == FileInfoBatch.entriesMax {
                    try await writer.send(FileInfoBatch(infos: batch))
                    batch = []
                }
            }
            if !batch.isEmpty || statuses.isEmpty { try await writer.send(FileInfoBatch(infos: batch)) }
        }
        handlers.register(FileSystemMethods.delete) { request, _ in
            let path = try Self.path(request.path)
            try await self.removeFromUnderStorage(path, recursive: request.recursive)
            _ = try await self.mutate(.delete(path, recursive: request.recursive), request.operation)
            return EmptyResponse()
        }
        handlers.register(FileSystemMethods.rename) { request, _ in
            let source = try Self.path(request.source), destination = try Self.path(request.destination)
            try await self.renameInUnderStorage(source, to: destination)
            return FileInfoResponse(info: try await self.mutate(.rename(source, to: destination), request.operation))
        }
        handlers.register(FileSystemMethods.setAttribute) { request, _ in
            var options = SetAttributeOptions()
            options.pinned = request.pinned
            options.ttlMilliseconds = request.ttlMilliseconds
            options.mode = request.mode.map { UInt16(truncatingIfNeeded: $0) }
            options.owner = request.owner
            options.group = request.group
            options.replicationMin = request.replicationMin
            options.replicationMax = request.replicationMax
            options.recursive = request.recursive
            if let state = request.persistenceState {
                options.persistence = try Self.persistence(state, for: request.path)
            }
            return FileInfoResponse(info: try await self.mutate(.setAttribute(try Self.path(request.path), options), request.operation))
        }
        handlers.register(FileSystemMethods.mount) { request, _ in
            let path = try Self.path(request.path)
            do {
                try self.underFileSystem(request.ufsURI).checkAccessible()
            } catch {
                throw RPCError(.invalidArgument, "cannot mount \(request.ufsURI) at \(path): \(error)")
            }
            return FileInfoResponse(info: try await self.mutate(.mount(path, ufsURI: request.ufsURI, readOnly: request.readOnly, shared: request.shared), request.operation))
        }
        handlers.register(FileSystemMethods.unmount) { request, _ in
            _ = try await self.mutate(.unmount(try Self.path(request.path)), request.operation)
            return EmptyResponse()
        }
        handlers.register(FileSystemMethods.getMasterInfo) { _, _ in await self.masterInfo() }
        journaled.register(into: &handlers)
    }

    // MARK: Mutations and reads

    /// Journals `command` and returns its outcome once applied.
    func mutate(_ command: NamespaceCommand, _ operation: OperationIdentifier?) async throws(RPCError) -> FileInfo? {
        let record = NamespaceRecord(operationID: operation.map { OperationID(client: $0.client, sequence: $0.sequence) },
                                     timeMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), command: command)
        switch try await journaled.submit(NamespaceCodec.encode(record)) {
        case .success(let status?): return await fileInfo(status)
        case .success(nil): return nil
        case .failure(let error): throw Self.rpcError(error)
        }
    }

    func readyToRead() async throws(RPCError) { try await journaled.readyToRead() }
    func ensureLeader() async throws(RPCError) { try await journaled.ensureLeader() }

    func info(_ path: StrataPath) async throws(RPCError) -> FileInfo {
        do { return fileInfo(try await stateMachine.located(path)) } catch { throw Self.rpcError(error) }
    }

    public func fileInfo(_ status: FileStatus) async -> FileInfo {
        fileInfo(await stateMachine.locate(status))
    }

    /// A status as the wire carries it, with its under-storage location.
    func fileInfo(_ located: LocatedStatus) -> FileInfo {
        let status = located.status
        let inode = status.inode
        var info = FileInfo()
        info.id = inode.id
        info.path = status.path.description
        info.name = status.path.isRoot ? "" : inode.name
        info.isDirectory = inode.isDirectory
        info.lengthBytes = inode.lengthBytes
        info.blockSizeBytes = inode.blockSizeBytes
        info.blockIDs = inode.blockIDs
        info.completed = inode.completed
        info.creationTimeMilliseconds = inode.creationTimeMilliseconds
        info.modificationTimeMilliseconds = inode.modificationTimeMilliseconds
        info.mode = UInt32(inode.mode)
        info.owner = inode.owner
        info.group = inode.group
        info.ttlMilliseconds = inode.ttlMilliseconds
        info.pinned = inode.pinned
        info.replicationMin = inode.replicationMin
        info.replicationMax = inode.replicationMax
        info.persistenceState = inode.persistence.description
        info.ufsFingerprint = inode.ufsFingerprint
        info.isMountPoint = inode.isMountPoint
        info.childCount = UInt64(inode.childCount)
        if let ufs = try? underFileSystem(located.ufsURI) { info.ufsPath = ufs.location(located.relative) }
        return info
    }

    // MARK: Under storage

    func underFileSystem(_ uri: String) throws(UnderStorageError) -> any UnderFileSystem {
        if let cached = underStorage.withLockedValue({ $0[uri] }) { return cached }
        let opened = try openUnderFileSystem(uri)
        underStorage.withLockedValue { $0[uri] = opened }
        return opened
    }

    /// Loads the under-storage listing of every directory along `path` that has not been loaded
    /// yet, so that a file that exists only in under storage becomes visible on first access.
    /// A name missing from a loaded directory is looked up in under storage too (it may have
    /// appeared there since), and the directory loaded again if it is there.
    func loadMetadata(along path: StrataPath) async throws(RPCError) {
        // One call into the namespace when nothing needs loading (the common case); each load
        // is followed by a fresh look, which then goes past the loaded directory.
        var checked: Set<StrataPath> = []
        while let step = await stateMachine.metadataStep(along: path) {
            switch step {
            case .load(let directory):
                guard checked.insert(directory).inserted else { return } // loaded, yet still unloaded: give up
                try await loadDirectory(directory)
            case .lookUp(let directory, let name, let ufsURI, let relative):
                guard checked.insert(directory).inserted, let ufs = try? underFileSystem(ufsURI), ufs.exists(relative + [name]) else { return }
                try await loadDirectory(directory)
            }
        }
    }

    /// Loads every unloaded directory below `path` (for recursive listings).
    func loadMetadata(below path: StrataPath) async throws(RPCError) {
        var pending = [path]
        var loaded = 0
        while let directory = pending.popLast(), loaded < 100_000 {
            guard let inode = await stateMachine.inode(at: directory), inode.isDirectory else { continue }
            if inode.persistence == .persisted && !inode.childrenLoaded {
                try await loadDirectory(directory)
                loaded += 1
            }
            for name in await stateMachine.childNames(directory) {
                if let child = try? directory.appending(name) { pending.append(child) }
            }
        }
    }

    private func loadDirectory(_ path: StrataPath) async throws(RPCError) {
        let (mount, relative) = await stateMachine.mount(containing: path)
        let entries: [UFSEntry]
        do {
            entries = try underFileSystem(mount.ufsURI).list(relative)
        } catch where error.code == .notFound {
            entries = []
        } catch {
            throw RPCError(.unavailable, "cannot list under storage for \(path): \(error)")
        }
        _ = try await mutate(.loadDirectory(path, entries: entries), nil)
    }

    private func removeFromUnderStorage(_ path: StrataPath, recursive: Bool) async throws(RPCError) {
        try await ensureLeader()
        guard let inode = await stateMachine.inode(at: path), inode.persistence == .persisted, !path.isRoot, !inode.isMountPoint else { return }
        if inode.isDirectory && inode.childCount > 0 && !recursive { return } // the namespace reports the error
        let (mount, relative) = await stateMachine.mount(containing: path)
        guard !mount.readOnly else { throw RPCError(.permissionDenied, "cannot delete \(path): mount \(mount.path) is read-only") }
        do { try underFileSystem(mount.ufsURI).delete(relative, recursive: recursive) } catch {
            throw RPCError(.unavailable, "cannot delete \(path) from under storage: \(error)")
        }
    }

    private func renameInUnderStorage(_ source: StrataPath, to destination: StrataPath) async throws(RPCError) {
        try await ensureLeader()
        guard let inode = await stateMachine.inode(at: source), inode.persistence == .persisted,
              await stateMachine.inode(at: destination) == nil else { return }
        let (sourceMount, sourceRelative) = await stateMachine.mount(containing: source)
        let (destinationMount, destinationRelative) = await stateMachine.mount(containing: destination)
        guard sourceMount.path == destinationMount.path else { return } // the namespace refuses it
        guard !sourceMount.readOnly else { throw RPCError(.permissionDenied, "cannot rename \(source): mount \(sourceMount.path) is read-only") }
        do { try underFileSystem(sourceMount.ufsURI).rename(sourceRelative, to: destinationRelative) } catch {
            throw RPCError(.unavailable, "cannot rename \(source) in under storage: \(error)")
        }
    }

    // MARK: Info

    func masterInfo() async -> MasterInfo {
        var info = await journaled.info()
        info.inodeCount = UInt64(await stateMachine.inodeCount)
        info.rootUFS = rootUFS
        return info
    }

    // MARK: NamespaceAccess

    public func resolvedFileInfo(_ text: String) async throws(RPCError) -> FileInfo {
        try await readyToRead()
        let path = try Self.path(text)
        try await loadMetadata(along: path)
        return try await info(path)
    }

    public func files(under path: StrataPath) async throws(RPCError) -> [FileStatus] {
        do { return try await stateMachine.list(path, recursive: true).filter { !$0.isDirectory } } catch { throw Self.rpcError(error) }
    }

    public func setAttribute(_ path: StrataPath, _ options: SetAttributeOptions) async throws(RPCError) {
        _ = try await mutate(.setAttribute(path, options), nil)
    }

    // MARK: Errors

    static func persistence(_ text: String, for path: String) throws(RPCError) -> PersistenceState {
        switch text {
        case "", "NOT_PERSISTED": return .notPersisted
        case "PERSISTED": return .persisted
        case "TO_BE_PERSISTED": return .toBePersisted
        default: throw RPCError(.invalidArgument, "unknown persistence state '\(text)' for \(path): expected NOT_PERSISTED, TO_BE_PERSISTED or PERSISTED")
        }
    }

    static func path(_ text: String) throws(RPCError) -> StrataPath {
        do { return try StrataPath(text) } catch { throw RPCError(.invalidArgument, error.message) }
    }

    static func rpcError(_ error: NamespaceError) -> RPCError {
        switch error.code {
        case .invalidPath, .invalidArgument, .notADirectory, .notAFile: RPCError(.invalidArgument, error.message)
        case .fileDoesNotExist: RPCError(.notFound, error.message)
        case .fileAlreadyExists: RPCError(.alreadyExists, error.message)
        case .directoryNotEmpty, .fileAlreadyCompleted, .fileIncomplete, .failedPrecondition: RPCError(.failedPrecondition, error.message)
        case .accessControl: RPCError(.permissionDenied, error.message)
        }
    }
}
