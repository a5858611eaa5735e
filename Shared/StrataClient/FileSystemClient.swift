import NIOConcurrencyHelpers
import StrataCore
import StrataWire
import Synchronization

/// A client of the file-system masters: finds the leader (probing every master in parallel),
/// follows NOT_LEADER hints, and retries through failover with bounded exponential backoff.
/// Every mutation carries an operation id that stays the same across its retries, so a create
/// retried after a failover neither fails with ALREADY_EXISTS nor happens twice.
public final class FileSystemClient: Sendable {
    public let locator: MasterLocator
    public let clientID: UInt64
    private let sequence = Atomic<UInt64>(0)
    private let policy: RetryPolicy
    private let configuration: Configuration
    private let clients = NIOLockedValueBox<[HostAndPort: RPCClient]>([:])
    private let leader = NIOLockedValueBox<HostAndPort?>(nil)
    private let workerClients = NIOLockedValueBox<[WorkerAddress: RPCClient]>([:])
    /// Per-attempt deadline: short enough that a dead master does not eat the retry budget.
    private let attemptDeadline: Duration

    public convenience init(masters: [HostAndPort], configuration: Configuration) {
        precondition(!masters.isEmpty, "a file-system client needs at least one master address")
        self.init(locator: .addresses(masters), configuration: configuration)
    }

    public init(locator: MasterLocator, configuration: Configuration) {
        self.locator = locator
        self.configuration = configuration
        self.clientID = UInt64.random(in: 1...UInt64.max)
        self.policy = RetryPolicy(baseSleep: configuration.duration(.userRpcRetryBaseSleep),
                                  maxSleep: configuration.duration(.userRpcRetryMaxSleep),
                                  maxDuration: configuration.duration(.userRpcRetryMaxDuration),
                                  attemptsMax: 1_000)
        self.attemptDeadline = min(configuration.duration(.userRpcDeadline), .seconds(30))
    }

    /// The masters known now: the configured ones, or those in the ZooKeeper election.
    public func masters() async -> [HostAndPort] {
        switch locator {
        case .addresses(let addresses): addresses
        case .zooKeeper(let zooKeeper): await zooKeeper.masters()
        }
    }

    public func close() async {
        if case .zooKeeper(let zooKeeper) = locator { await zooKeeper.close() }
        for client in clients.withLockedValue({ Array($0.values) }) { await client.close() }
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

    /// A new operation id for one mutation (shared by all its retries).
    public func nextOperation() -> OperationIdentifier {
        OperationIdentifier(client: clientID, sequence: sequence.add(1, ordering: .relaxed).newValue)
    }

    // MARK: Calls with leader discovery and retries

    /// Calls `method` on the leader, retrying retriable failures until the retry budget is spent.
    public func call<Request, Response>(_ method: RPCMethod<Request, Response>, _ request: Request) async throws(RPCError) -> Response {
        try await withRetries(method.name) { () async throws(RPCError) -> Response in
            try await self.client(try await self.currentLeader()).call(method, request, deadline: self.attemptDeadline)
        }
    }

    /// Streams `method` from the leader (retrying the whole stream on retriable failures).
    public func stream<Request, Item>(_ method: RPCStreamMethod<Request, Item>, _ request: Request) async throws(RPCError) -> [Item] {
        try await withRetries(method.name) { () async throws(RPCError) -> [Item] in
            var items: [Item] = []
            let stream = try await self.client(try await self.currentLeader()).stream(method, request, deadline: max(self.attemptDeadline, .seconds(60)))
            for try await element in stream { items.append(element.message) }
            return items
        }
    }

    /// The leader, waiting (with the retry policy) through an election if there is none yet.
    public func waitForLeader() async throws(RPCError) -> HostAndPort {
        try await withRetries("leader discovery") { () async throws(RPCError) -> HostAndPort in try await self.currentLeader() }
    }

    /// Runs `attempt` until it succeeds, fails with a non-retriable error, or the retry policy
    /// gives up. NOT_LEADER moves to the hinted leader (at once, the first times); UNAVAILABLE
    /// and DEADLINE_EXCEEDED forget the leader and back off.
    private func withRetries<T>(_ name: String, _ attempt: () async throws(RPCError) -> T) async throws(RPCError) -> T {
        let started = ContinuousClock.now
        var attempts = 0
        var generator = SystemRandomNumberGenerator()
        while true {
            attempts += 1
            let failure: RPCError
            do {
                return try await attempt()
            } catch {
                failure = error
                switch error.code {
                case .notLeader:
                    leader.withLockedValue { $0 = error.leaderHint.flatMap(HostAndPort.init(parsing:)) }
                    if error.leaderHint != nil && attempts < 3 { continue }
                case .unavailable, .deadlineExceeded:
                    leader.withLockedValue { $0 = nil }
                default:
                    throw error
                }
            }
            guard let delay = policy.delay(afterAttempt: attempts, elapsed: ContinuousClock.now - started, using: &generator) else {
                throw RPCError(failure.code == .notLeader ? .unavailable : failure.code, "\(name) failed after \(attempts) attempts: \(failure.message)")
            }
            if case .zooKeeper(let zooKeeper) = locator {
                await zooKeeper.waitForLeaderChange(upTo: delay)
            } else {
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// The leader: the last one known, else found by asking every master at once.
    public func currentLeader() async throws(RPCError) -> HostAndPort {
        if let known = leader.withLockedValue({ $0 }) { return known }
        if case .zooKeeper(let zooKeeper) = locator {
            let published = try await zooKeeper.leader()
            leader.withLockedValue { $0 = published }
            return published
        }
        let infos = await probeAll()
        var hinted: HostAndPort? = nil
        for (address, info) in infos {
            if let info, info.thisRole == "LEADER" {
                leader.withLockedValue { $0 = address }
                return address
            }
            if let hint = info.flatMap({ HostAndPort(parsing: $0.leaderRPCAddress) }) { hinted = hint }
        }
        if let hinted {
            leader.withLockedValue { $0 = hinted }
            return hinted
        }
        let reached = infos.filter { $0.1 != nil }.count
        throw RPCError(.unavailable, "no leading master among \(locator.description) (\(reached) reachable)")
    }

    /// Every master's own view (nil for those that do not answer within a second).
    public func probeAll() async -> [(HostAndPort, MasterInfo?)] {
        let masters = await masters()
        return await withTaskGroup(of: (HostAndPort, MasterInfo?).self) { group in
            for master in masters {
                group.addTask {
                    let info = try? await self.client(master).call(FileSystemMethods.getMasterInfo, GetServiceInfoRequest(), deadline: .seconds(1))
                    return (master, info)
                }
            }
            var results: [(HostAndPort, MasterInfo?)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0.description < $1.0.description }
        }
    }

    private func client(_ address: HostAndPort) -> RPCClient {
        clients.withLockedValue { clients in
            if let existing = clients[address] { return existing }
            let made = RPCClient(address: address, frameSizeMaxBytes: Int(configuration.sizeBytes(.networkMaxInboundMessageSize)),
                                 connectTimeout: min(configuration.duration(.networkConnectTimeout), .seconds(1)),
                                 defaultDeadline: attemptDeadline)
            clients[address] = made
            return made
        }
    }

    // MARK: File-system operations

    public func createDirectory(_ path: String, recursive: Bool = false, allowExists: Bool = false) async throws(RPCError) -> FileInfo? {
        try await call(FileSystemMethods.createDirectory, CreateDirectoryRequest(path: path, recursive: recursive, allowExists: allowExists, operation: nextOperation())).info
    }

    public func createFile(_ path: String, recursive: Bool = false, blockSizeBytes: Int64 = 0) async throws(RPCError) -> FileInfo? {
        try await call(FileSystemMethods.createFile, CreateFileRequest(path: path, recursive: recursive, blockSizeBytes: blockSizeBytes, operation: nextOperation())).info
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
