import Foundation
import NIOConcurrencyHelpers
import StrataCore
import StrataWire
import Synchronization

/// A client of one journaled service (the file-system masters, the job masters): finds the
/// leader (probing every member in parallel, or through ZooKeeper), follows NOT_LEADER hints, and
/// retries through fail-over with the one retry policy (`strata.user.rpc.retry.*`). Every
/// mutation carries an operation id that stays the same across its retries, so a request retried
/// after a fail-over neither fails with ALREADY_EXISTS nor happens twice.
///
/// Three things keep a caller from waiting on nobody:
/// - a call the leader has not answered within `strata.user.rpc.leader.check.interval` makes the
///   client ask the other members whether one of them now leads; if so the call is re-sent there
///   at once (a hung leader keeps its sockets open, so nothing else would tell);
/// - while it waits, the client reports what it waits for (each address and its error) through
///   `waiting`, first within a second, then every few seconds;
/// - when every address refuses connections for `strata.user.rpc.retry.refused.duration.max`,
///   nothing is running there: it gives up with one error instead of spending the retry budget;
///   the same when the leader keeps refusing the call for want of a resource
///   (RESOURCE_EXHAUSTED: its journal's disk is full).
public final class ServiceClient: Sendable {
    /// Receives a line saying what a call waits for, while it waits.
    public typealias WaitingReporter = @Sendable (String) -> Void
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
    private let leaderCheckInterval: Duration
    private let refusedDurationMax: Duration
    private let waiting: WaitingReporter?
    /// When the first report of a waiting call is due, then the interval between reports.
    static let firstReportAfter = Duration.milliseconds(800)
    static let reportInterval = Duration.seconds(5)

    /// - Parameter infoMethod: the service's MasterInfo call, which says who leads.
    /// - Parameter waiting: told, while a call waits, what it waits for (the CLI prints it).
    public init(locator: MasterLocator, domain: JournalDomain, infoMethod: RPCMethod<GetServiceInfoRequest, MasterInfo>,
                configuration: Configuration, waiting: WaitingReporter? = nil) {
        self.locator = locator
        self.waiting = waiting
        self.leaderCheckInterval = max(configuration.duration(.userRpcLeaderCheckInterval), .milliseconds(10))
        self.refusedDurationMax = configuration.duration(.userRpcRetryRefusedDurationMax)
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
            try await self.onLeader(method.name) { client throws(RPCError) in
                try await client.call(method, request, deadline: deadline ?? self.attemptDeadline)
            }
        }
    }

    /// Calls `method` on the leader and hands the answer to `accept`, which may turn it down with
    /// an UNAVAILABLE error when the cluster is expected to reach the state asked for soon (a
    /// worker registering with a newly elected leader). A turned-down answer is retried like a
    /// failed call, under the same policy and waiting reports.
    public func call<Request, Response, T: Sendable>(
        _ method: RPCMethod<Request, Response>, _ request: Request,
        until accept: @escaping @Sendable (Response) throws(RPCError) -> T
    ) async throws(RPCError) -> T {
        try await withRetries(method.name) { () async throws(RPCError) -> T in
            let response = try await self.onLeader(method.name) { client throws(RPCError) in
                try await client.call(method, request, deadline: self.attemptDeadline)
            }
            return try accept(response)
        }
    }

    /// Streams `method` from the leader (retrying the whole stream on retriable failures).
    public func stream<Request, Item>(_ method: RPCStreamMethod<Request, Item>, _ request: Request) async throws(RPCError) -> [Item] {
        try await withRetries(method.name) { () async throws(RPCError) -> [Item] in
            try await self.onLeader(method.name) { client throws(RPCError) in
                var items: [Item] = []
                let stream = try await client.stream(method, request, deadline: max(self.attemptDeadline, .seconds(60)))
                for try await element in stream { items.append(element.message) }
                return items
            }
        }
    }

    /// Runs `attempt` against the leader known (or found). If it has not finished within the
    /// leader check interval, asks the other members, at that interval, whether one of them now
    /// leads; if one does, the attempt is abandoned and fails with NOT_LEADER naming the new
    /// leader, which `withRetries` follows at once.
    private func onLeader<T: Sendable>(_ name: String, _ attempt: @escaping @Sendable (RPCClient) async throws(RPCError) -> T) async throws(RPCError) -> T {
        let target = try await currentLeader()
        let client = client(target)
        let interval = leaderCheckInterval
        let outcome: Result<T, RPCError> = await withTaskGroup(of: Result<T, RPCError>?.self) { group in
            group.addTask {
                do throws(RPCError) { return .success(try await attempt(client)) } catch { return .failure(error) }
            }
            group.addTask {
                while (try? await Task.sleep(for: interval)) != nil {
                    if let moved = await self.leaderElsewhere(than: target) {
                        return .failure(RPCError(.notLeader, "\(name): \(target) did not answer within \(interval); \(moved) leads now",
                                                 leaderHint: moved.description))
                    }
                }
                return nil  // cancelled: the attempt finished
            }
            var first: Result<T, RPCError>? = nil
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            return first!
        }
        return try outcome.get()
    }

    /// Another member that now leads (the highest term among those saying so), if any.
    private func leaderElsewhere(than target: HostAndPort) async -> HostAndPort? {
        if case .zooKeeper(let zooKeeper) = locator {
            guard let published = try? await zooKeeper.leader(), published != target else { return nil }
            return published
        }
        let others = await members().filter { $0 != target }
        guard !others.isEmpty else { return nil }
        let answers = await probe(others, stoppingAtLeader: true)
        return Self.leader(in: answers)
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
    /// and DEADLINE_EXCEEDED forget the leader and back off. Every address refusing connections
    /// for `refusedDurationMax` ends it early. While it waits, `waiting` hears why.
    private func withRetries<T: Sendable>(_ name: String, _ attempt: () async throws(RPCError) -> T) async throws(RPCError) -> T {
        guard let waiting else { return try await retrying(name, attempt, lastFailure: nil) }
        let lastFailure = NIOLockedValueBox<RPCError?>(nil)
        let domain = domain
        let started = ContinuousClock.now
        let result: Result<T, RPCError> = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var wait = Self.firstReportAfter
                while (try? await Task.sleep(for: wait)) != nil {
                    let seconds = (ContinuousClock.now - started).seconds
                    let why = lastFailure.withLockedValue { $0 }.map { $0.message } ?? "no answer yet"
                    waiting("waiting for the leading \(domain.serviceName) (\(name), \(String(format: "%.1f", seconds)) s): \(why)")
                    wait = Self.reportInterval
                }
            }
            defer { group.cancelAll() }
            do throws(RPCError) {
                return .success(try await retrying(name, attempt, lastFailure: lastFailure))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private func retrying<T>(_ name: String, _ attempt: () async throws(RPCError) -> T,
                             lastFailure: NIOLockedValueBox<RPCError?>?) async throws(RPCError) -> T {
        let started = ContinuousClock.now
        var attempts = 0
        var refusedSince: ContinuousClock.Instant? = nil
        // An attempt that failed with UNAVAILABLE or DEADLINE_EXCEEDED may still take effect.
        var earlierOutcomeUnknown = false
        var generator = SystemRandomNumberGenerator()
        while true {
            attempts += 1
            let failure: RPCError
            do {
                return try await attempt()
            } catch {
                failure = error
                lastFailure?.withLockedValue { $0 = error }
                switch error.code {
                case .notLeader:
                    leader.withLockedValue { $0 = error.leaderHint.flatMap(HostAndPort.init(parsing:)) }
                    if error.leaderHint != nil && attempts < 3 { continue }
                case .unavailable, .deadlineExceeded, .resourceExhausted:
                    leader.withLockedValue { $0 = nil }
                default:
                    throw error
                }
            }
            let now = ContinuousClock.now
            if failure.connectionRefused || failure.code == .resourceExhausted {
                let since = refusedSince ?? now
                refusedSince = since
                if now - since >= refusedDurationMax {
                    if failure.code == .resourceExhausted {
                        let unknown = earlierOutcomeUnknown ? " (an earlier attempt's outcome is unknown: it may still take effect)" : ""
                        throw RPCError(.resourceExhausted, "\(name) failed: the leading \(domain.serviceName) has refused it for \(refusedDurationMax): \(failure.message)\(unknown)")
                    }
                    throw RPCError(.unavailable, "\(name) failed: no \(domain.serviceName) is running at \(locator.description): "
                                   + "every address has refused connections for \(refusedDurationMax) (\(failure.message))", connectionRefused: true)
                }
            } else {
                refusedSince = nil
            }
            if failure.code == .unavailable || failure.code == .deadlineExceeded { earlierOutcomeUnknown = true }
            guard let delay = policy.delay(afterAttempt: attempts, elapsed: now - started, using: &generator) else {
                throw RPCError(failure.code == .notLeader ? .unavailable : failure.code, "\(name) failed after \(attempts) attempts: \(failure.message)")
            }
            if case .zooKeeper(let zooKeeper) = locator {
                await zooKeeper.waitForLeaderChange(upTo: delay)
            } else {
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// The leader: the last one known, else found by asking every member at once (answering as
    /// soon as one says it leads, not waiting for a hung member).
    public func currentLeader() async throws(RPCError) -> HostAndPort {
        if let known = leader.withLockedValue({ $0 }) { return known }
        if case .zooKeeper(let zooKeeper) = locator {
            let published = try await zooKeeper.leader()
            leader.withLockedValue { $0 = published }
            return published
        }
        let answers = await probe(await members(), stoppingAtLeader: true)
        if let found = Self.leader(in: answers) ?? Self.hintedLeader(in: answers) {
            leader.withLockedValue { $0 = found }
            return found
        }
        let refused = !answers.isEmpty && answers.allSatisfy { _, answer in
            if case .failure(let error) = answer { return error.connectionRefused }
            return false
        }
        let each = answers.map { address, answer in
            switch answer {
            case .success(let info): "\(address) \(info.thisRole.lowercased()) (no leader known)"
            case .failure(let error): "\(address) \(Self.shortReason(error))"
            }
        }
        throw RPCError(.unavailable, "no leading \(domain.serviceName): \(each.joined(separator: ", "))", connectionRefused: refused)
    }

    /// Every member's own view (nil for those that do not answer within a second).
    public func probeAll() async -> [(HostAndPort, MasterInfo?)] {
        await probe(await members(), stoppingAtLeader: false).map { ($0.0, try? $0.1.get()) }
    }

    /// Asks `members` at once for their view (each within a second), sorted by address. With
    /// `stoppingAtLeader`, returns as soon as one answers that it leads, abandoning the others.
    private func probe(_ members: [HostAndPort], stoppingAtLeader: Bool) async -> [(HostAndPort, Result<MasterInfo, RPCError>)] {
        let method = infoMethod
        return await withTaskGroup(of: (HostAndPort, Result<MasterInfo, RPCError>).self) { group in
            for member in members {
                group.addTask {
                    do throws(RPCError) {
                        return (member, .success(try await self.client(member).call(method, GetServiceInfoRequest(), deadline: .seconds(1))))
                    } catch {
                        return (member, .failure(error))
                    }
                }
            }
            var results: [(HostAndPort, Result<MasterInfo, RPCError>)] = []
            for await result in group {
                results.append(result)
                if stoppingAtLeader, case .success(let info) = result.1, info.thisRole == "LEADER" {
                    group.cancelAll()
                    break
                }
            }
            return results.sorted { $0.0.description < $1.0.description }
        }
    }

    /// The member that says it leads, the highest term first (a paused old leader may still say so).
    static func leader(in answers: [(HostAndPort, Result<MasterInfo, RPCError>)]) -> HostAndPort? {
        answers.compactMap { address, answer -> (HostAndPort, UInt64)? in
            guard case .success(let info) = answer, info.thisRole == "LEADER" else { return nil }
            return (address, info.term)
        }.max { $0.1 < $1.1 }?.0
    }

    /// The leader the members name, the highest term first.
    static func hintedLeader(in answers: [(HostAndPort, Result<MasterInfo, RPCError>)]) -> HostAndPort? {
        answers.compactMap { _, answer -> (HostAndPort, UInt64)? in
            guard case .success(let info) = answer, let hint = HostAndPort(parsing: info.leaderRPCAddress) else { return nil }
            return (hint, info.term)
        }.max { $0.1 < $1.1 }?.0
    }

    /// An error without the address it already names ("connection refused", "deadline exceeded").
    static func shortReason(_ error: RPCError) -> String {
        if let range = error.message.range(of: ": ", options: .backwards) { return String(error.message[range.upperBound...]) }
        return error.message
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
