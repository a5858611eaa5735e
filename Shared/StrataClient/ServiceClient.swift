import NIOConcurrencyHelpers
import StrataCore
import StrataWire
import Synchronization

/// A client of one journaled service (the file-system masters, the job masters): finds the
/// leader (probing every member in parallel, or through ZooKeeper), follows NOT_LEADER hints, and
/// retries through fail-over with the one retry policy (`strata.user.rpc.retry.*`). Every
/// mutation carries an operation id that stays the same across its retries, so a request retried
/// after a fail-over neither fails with ALREADY_EXISTS nor happens twice.
public final class ServiceClient: Sendable {
    public let locator: MasterLocator
    public let domain: JournalDomain
    public let clientID: UInt64
    let configuration: Configuration
    private let infoMethod: RPCMethod<GetServiceInfoRequest, MasterInfo>
    private let sequence = Atomic<UInt64>(0)
    private let policy: RetryPolicy
    private let clients = NIOLockedValueBox<[HostAndPort: RPCClient]>([:])
    private let leader = NIOLockedValueBox<HostAndPort?>(nil)
    /// Per-attempt deadline: short enough that a dead member does not eat the retry budget.
    let attemptDeadline: Duration

    /// - Parameter infoMethod: the service's MasterInfo call, which says who leads.
    public init(locator: MasterLocator, domain: JournalDomain, infoMethod: RPCMethod<GetServiceInfoRequest, MasterInfo>,
                configuration: Configuration) {
        self.locator = locator
        self.domain = domain
        self.infoMethod = infoMethod
        self.configuration = configuration
        self.clientID = UInt64.random(in: 1...UInt64.max)
        self.policy = RetryPolicy(baseSleep: configuration.duration(.userRpcRetryBaseSleep),
                                  maxSleep: configuration.duration(.userRpcRetryMaxSleep),
                                  maxDuration: configuration.duration(.userRpcRetryMaxDuration),
                                  attemptsMax: 1_000)
        self.attemptDeadline = min(configuration.duration(.userRpcDeadline), .seconds(30))
    }

    /// The members known now: the configured ones, or those in the ZooKeeper election.
    public func members() async -> [HostAndPort] {
        switch locator {
        case .addresses(let addresses): addresses
        case .zooKeeper(let zooKeeper): await zooKeeper.masters()
        }
    }

    public func close() async {
        if case .zooKeeper(let zooKeeper) = locator { await zooKeeper.close() }
        for client in clients.withLockedValue({ Array($0.values) }) { await client.close() }
    }

    /// A new operation id for one mutation (shared by all its retries).
    public func nextOperation() -> OperationIdentifier {
        OperationIdentifier(client: clientID, sequence: sequence.add(1, ordering: .relaxed).newValue)
    }

    // MARK: Calls with leader discovery and retries

    /// Calls `method` on the leader, retrying retriable failures until the retry budget is spent.
    public func call<Request, Response>(_ method: RPCMethod<Request, Response>, _ request: Request,
                                        deadline: Duration? = nil) async throws(RPCError) -> Response {
        try await withRetries(method.name) { () async throws(RPCError) -> Response in
            try await self.client(try await self.currentLeader()).call(method, request, deadline: deadline ?? self.attemptDeadline)
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

    /// Forgets the leader known, so that the next call looks for it again.
    public func forgetLeader() {
        leader.withLockedValue { $0 = nil }
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

    /// The leader: the last one known, else found by asking every member at once.
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
        throw RPCError(.unavailable, "no leading \(domain.serviceName) among \(locator.description) (\(reached) of \(infos.count) reachable)")
    }

    /// Every member's own view (nil for those that do not answer within a second).
    public func probeAll() async -> [(HostAndPort, MasterInfo?)] {
        let members = await members()
        let method = infoMethod
        return await withTaskGroup(of: (HostAndPort, MasterInfo?).self) { group in
            for member in members {
                group.addTask {
                    let info = try? await self.client(member).call(method, GetServiceInfoRequest(), deadline: .seconds(1))
                    return (member, info)
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
}
