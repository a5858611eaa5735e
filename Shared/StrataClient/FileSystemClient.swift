import NIOConcurrencyHelpers
import StrataCore
import StrataWire
import Synchronization

/// A client of the file-system masters: the namespace API and (FileData.swift) the data path
/// through workers, on top of a `ServiceClient` that finds the leader and retries through
/// fail-over.
public final class FileSystemClient: Sendable {
    public let service: ServiceClient
    private let configuration: Configuration
    private let workerClients = NIOLockedValueBox<[WorkerAddress: RPCClient]>([:])

    public convenience init(masters: [HostAndPort], configuration: Configuration) {
        precondition(!masters.isEmpty, "a file-system client needs at least one master address")
        self.init(locator: .addresses(masters), configuration: configuration)
    }

    /// - Parameter waiting: told, while a call waits for a leading master, what it waits for.
    public init(locator: MasterLocator, configuration: Configuration, waiting: ServiceClient.WaitingReporter? = nil) {
        self.service = ServiceClient(locator: locator, domain: .master, infoMethod: FileSystemMethods.getMasterInfo,
                                     configuration: configuration, waiting: waiting)
        self.configuration = configuration
    }

    public var locator: MasterLocator { service.locator }
    public var clientID: UInt64 { service.clientID }

    /// The masters known now: the configured ones, or those in the ZooKeeper election.
    public func masters() async -> [HostAndPort] { await service.members() }

    public func close() async {
        await service.close()
        for client in workerClients.withLockedValue({ Array($0.values) }) { await client.close() }
    }

    /// The connection to a worker's data port (one per worker, multiplexed).
    func workerClient(_ worker: WorkerAddress) -> RPCClient {
        workerClients.withLockedValue { clients in
            if let existing = clients[worker] { return existing }
            let made = RPCClient(address: HostAndPort(host: worker.host, port: Int(worker.rpcPort)),
                                 frameSizeMaxBytes: Int(configuration.sizeBytes(.networkMaxInboundMessageSize)),
                                 connectTimeout: min(configuration.duration(.networkConnectTimeout), .seconds(2)),
                                 defaultDeadline: .seconds(120))
            clients[worker] = made
            return made
        }
    }

    public func nextOperation() -> OperationIdentifier { service.nextOperation() }

    public func call<Request, Response>(_ method: RPCMethod<Request, Response>, _ request: Request) async throws(RPCError) -> Response {
        try await service.call(method, request)
    }

    public func stream<Request, Item>(_ method: RPCStreamMethod<Request, Item>, _ request: Request) async throws(RPCError) -> [Item] {
        try await service.stream(method, request)
    }

    public func waitForLeader() async throws(RPCError) -> HostAndPort { try await service.waitForLeader() }
    public func currentLeader() async throws(RPCError) -> HostAndPort { try await service.currentLeader() }
    public func probeAll() async -> [(HostAndPort, MasterInfo?)] { await service.probeAll() }

    // MARK: File-system operations

    public func createDirectory(_ path: String, recursive: Bool = false, allowExists: Bool = false) async throws(RPCError) -> FileInfo? {
        try await call(FileSystemMethods.createDirectory, CreateDirectoryRequest(path: path, recursive: recursive, allowExists: allowExists, operation: nextOperation())).info
    }

    /// Creates a file to be written and completed; with `completeEmpty`, an empty file complete
    /// at once (one call and one journal entry, as `fs touch` makes it).
    public func createFile(_ path: String, recursive: Bool = false, blockSizeBytes: Int64 = 0, completeEmpty: Bool = false) async throws(RPCError) -> FileInfo? {
        try await call(FileSystemMethods.createFile, CreateFileRequest(path: path, recursive: recursive, blockSizeBytes: blockSizeBytes,
                                                                       operation: nextOperation(), completeEmpty: completeEmpty)).info
    }

    public func completeFile(_ path: String, lengthBytes: Int64, blockIDs: [UInt64] = []) async throws(RPCError) -> FileInfo? {
        try await call(FileSystemMethods.completeFile, CompleteFileRequest(path: path, lengthBytes: lengthBytes, blockIDs: blockIDs, operation: nextOperation())).info
    }

    public func status(_ path: String) async throws(RPCError) -> FileInfo {
        guard let info = try await call(FileSystemMethods.getStatus, PathRequest(path: path)).info else {
            throw RPCError(.internal, "GetStatus of \(path) answered without a status")
        }
        return info
    }

    public func exists(_ path: String) async throws(RPCError) -> Bool {
        try await call(FileSystemMethods.exists, PathRequest(path: path)).exists
    }

    public func list(_ path: String, recursive: Bool = false) async throws(RPCError) -> [FileInfo] {
        try await stream(FileSystemMethods.listStatus, ListStatusRequest(path: path, recursive: recursive)).flatMap(\.infos)
    }

    public func delete(_ path: String, recursive: Bool = false) async throws(RPCError) {
        _ = try await call(FileSystemMethods.delete, DeleteRequest(path: path, recursive: recursive, operation: nextOperation()))
    }

    public func rename(_ source: String, to destination: String) async throws(RPCError) -> FileInfo? {
        try await call(FileSystemMethods.rename, RenameRequest(source: source, destination: destination, operation: nextOperation())).info
    }

    public func setAttribute(_ request: SetAttributeRequest) async throws(RPCError) -> FileInfo? {
        var request = request
        request.operation = nextOperation()
        return try await call(FileSystemMethods.setAttribute, request).info
    }

    public func mount(_ path: String, ufsURI: String, readOnly: Bool = false, shared: Bool = false) async throws(RPCError) {
        _ = try await call(FileSystemMethods.mount, MountRequest(path: path, ufsURI: ufsURI, readOnly: readOnly, shared: shared, operation: nextOperation()))
    }

    public func unmount(_ path: String) async throws(RPCError) {
        _ = try await call(FileSystemMethods.unmount, DeleteRequest(path: path, operation: nextOperation()))
    }

    public func checkpoint() async throws(RPCError) {
        _ = try await call(FileSystemMethods.checkpoint, GetServiceInfoRequest())
    }
}
