import Logging
import NIOCore
import NIOPosix
import StrataCore
import StrataWire
import StrataZooKeeper

/// What a master does when its ZooKeeper connection is interrupted while it leads
/// (`strata.zookeeper.leader.connection.error.policy`).
public enum LeaderConnectionErrorPolicy: String, Sendable {
    /// Keep leading while the same session can still be recovered: step down only when it expires
    /// (or, not knowing, once disconnected for a whole session timeout).
    case session = "SESSION"
    /// Step down on any interruption and queue again behind the other candidates.
    case standard = "STANDARD"
}

public struct ZooKeeperElectionOptions: Sendable {
    public var session: ZooKeeperSession.Options
    public var electionPath: String
    public var leaderPath: String
    public var policy: LeaderConnectionErrorPolicy
    /// What this candidate publishes (its RPC address), in its election node and, when it leads,
    /// in the leader node.
    public var candidateData: String
    /// How often a candidate checks that the candidate ahead of it still has a process (its RPC
    /// port accepts connections); zero: never (wait for its session to expire).
    public var probeInterval: Duration

    public init(session: ZooKeeperSession.Options, electionPath: String, leaderPath: String,
                policy: LeaderConnectionErrorPolicy, candidateData: String, probeInterval: Duration = .milliseconds(100)) {
        self.session = session
        self.electionPath = electionPath
        self.leaderPath = leaderPath
        self.policy = policy
        self.candidateData = candidateData
        self.probeInterval = probeInterval
    }
}

/// Leader election over ZooKeeper: every candidate creates an ephemeral sequential node under the
/// election path; the lowest sequence leads and publishes its address at the leader path; each
/// other candidate watches only its predecessor (no herd on a change). Leadership ends when the
/// session expires, or on any disconnection under the STANDARD policy.
///
/// A candidate whose process is gone (killed: its RPC port refuses connections) keeps its node
/// until its session expires — up to the session timeout. Its successor does not wait: it checks
/// the predecessor's RPC port every `probeInterval`, and on two refusals in a row removes the
/// predecessor's node itself. Safe: a process that was only slow is fenced by the journal's new
/// epoch, and a paused (SIGSTOP) or unreachable one does not refuse connections, so it is waited
/// out as before.
public actor ZooKeeperLeaderElection {
    public nonisolated let options: ZooKeeperElectionOptions
    /// True when this candidate becomes leader, false when it stops (newest 16 kept).
    public nonisolated let leadership: AsyncStream<Bool>
    private let leadershipContinuation: AsyncStream<Bool>.Continuation
    private var leading = false
    private var session: ZooKeeperSession?
    private var logger: Logger
    private var cachedLeader: (address: String?, at: ContinuousClock.Instant)?

    public init(options: ZooKeeperElectionOptions, logger: Logger) {
        self.options = options
        self.logger = logger
        (leadership, leadershipContinuation) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(16))
    }

    public var isLeader: Bool { leading }

    private func setLeading(_ value: Bool, _ reason: String) {
        guard value != leading else { return }
        leading = value
        logger.notice(value ? "ZooKeeper election: leading (\(reason))" : "ZooKeeper election: not leading (\(reason))")
        leadershipContinuation.yield(value)
    }

    /// Takes part in the election until cancelled; reconnects (a new session) after expiry.
    public func run() async {
        var backoff: Duration = .milliseconds(200)
        while !Task.isCancelled {
            let session: ZooKeeperSession
            do {
                session = try await ZooKeeperSession.connect(options.session)
            } catch {
                logger.warning("ZooKeeper election: \(error); retrying in \(backoff)")
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
                continue
            }
            backoff = .milliseconds(200)
            self.session = session
            logger[metadataKey: "zkSession"] = "\(String(UInt64(bitPattern: session.sessionID), radix: 16))"
            do {
                try await participate(session)
            } catch {
                if !Task.isCancelled {
                    logger.warning("ZooKeeper election: \(error)")
                    try? await Task.sleep(for: .milliseconds(200)) // not a busy loop if it keeps failing
                }
            }
            setLeading(false, session.isExpired ? "the ZooKeeper session expired" : "left the election")
            self.session = nil
            await session.close()
        }
        setLeading(false, "stopping")
        leadershipContinuation.finish()
    }

    /// Leaves the election at once (its node goes with the session), so that another candidate
    /// takes over without waiting for a session timeout.
    public func resign() async {
        setLeading(false, "resigning")
        await session?.close()
    }

    private func sequence(_ name: String) -> Int64 { Int64(name.split(separator: "-").last ?? "") ?? Int64.max }

    /// Returns when the session expired (or an operation failed for good).
    private func participate(_ session: ZooKeeperSession) async throws {
        try await session.createParents(options.electionPath)
        let leaderParent = String(options.leaderPath[..<(options.leaderPath.lastIndex(of: "/") ?? options.leaderPath.startIndex)])
        if !leaderParent.isEmpty { try await session.createParents(leaderParent) }
        var node = try await enter(session)
        while !Task.isCancelled {
            let connected = session.isConnected ? true : await session.waitConnected(timeout: options.session.sessionTimeout)
            guard connected else {
                if session.isExpired || session.lastEvent == .closed { return }
                continue
            }
            let children = try await session.children(options.electionPath).sorted { sequence($0) < sequence($1) }
            guard let position = children.firstIndex(of: node) else {
                // Our node is gone while the session lives (removed by hand): enter again.
                node = try await enter(session)
                continue
            }
            if position == 0 {
                // The leader node is written once this master serves (`publish()`), so that
                // clients do not find a leader still taking over.
                setLeading(true, "lowest election node \(node)")
                guard try await holdLeadership(session) else { return }
                // STANDARD policy after an interruption: queue again behind the others.
                try? await session.delete(options.electionPath + "/" + node)
                node = try await enter(session)
                continue
            }
            let predecessor = options.electionPath + "/" + children[position - 1]
            let (stat, watch) = try await session.existsWatching(predecessor)
            guard stat != nil else { continue }
            let address = options.probeInterval > .zero
                ? (try? await session.data(predecessor)).flatMap { HostAndPort(parsing: String(decoding: $0.0, as: UTF8.self)) } : nil
            let outcome = await firstOf(watch: watch, orSessionNotConnected: session, orGone: address)
            if session.isExpired { return }
            if outcome == .predecessorGone, let address {
                logger.notice("ZooKeeper election: \(address) (election node \(children[position - 1])) refuses connections, its process is gone: removing its election node instead of waiting for its session to expire")
                do {
                    try await session.delete(predecessor)
                } catch where error.code == .noNode {
                } catch {
                    logger.warning("ZooKeeper election: could not remove \(predecessor): \(error)")
                }
            }
        }
    }

    private func enter(_ session: ZooKeeperSession) async throws -> String {
        let created = try await session.create(options.electionPath + "/candidate-", data: Array(options.candidateData.utf8), mode: .ephemeralSequential)
        return String(created.split(separator: "/").last ?? "")
    }

    /// Publishes this master at the leader path, once it serves as leader; nothing if it no
    /// longer leads (or has no session).
    public func publish() async {
        guard leading, let session, session.isConnected else { return }
        do {
            try await publishLeader(session)
        } catch {
            logger.warning("could not publish the leader address at \(options.leaderPath): \(error)")
        }
    }

    /// Writes this leader's address at the leader path, replacing a node an older leader's
    /// session left behind.
    private func publishLeader(_ session: ZooKeeperSession) async throws {
        let data = Array(options.candidateData.utf8)
        if let stat = try await session.exists(options.leaderPath) {
            if stat.ephemeralOwner == session.sessionID {
                try await session.setData(options.leaderPath, data)
                return
            }
            do { try await session.delete(options.leaderPath) } catch where error.code == .noNode {}
        }
        do {
            try await session.create(options.leaderPath, data: data, mode: .ephemeral)
        } catch where error.code == .nodeExists {
            try await session.setData(options.leaderPath, data)
        }
        cachedLeader = nil
    }

    /// While leading: returns false when the session expired (leadership over), true when the
    /// STANDARD policy requires stepping down and queueing again.
    private func holdLeadership(_ session: ZooKeeperSession) async throws -> Bool {
        while !Task.isCancelled {
            // Wait for any change of the connection.
            while session.isConnected && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
            if session.isExpired || session.lastEvent == .closed || session.lastEvent == .authenticationFailed {
                setLeading(false, "the ZooKeeper session ended")
                return false
            }
            switch options.policy {
            case .standard:
                setLeading(false, "ZooKeeper connection interrupted (STANDARD policy)")
                guard await session.waitConnected(timeout: options.session.sessionTimeout * 2) else { return false }
                if let stat = try? await session.exists(options.leaderPath), stat.ephemeralOwner == session.sessionID {
                    try? await session.delete(options.leaderPath)
                }
                return true
            case .session:
                logger.warning("ZooKeeper connection interrupted; leading on while the session may recover (SESSION policy)")
                if await session.waitConnected(timeout: options.session.sessionTimeout) {
                    logger.notice("ZooKeeper session recovered; still leading")
                    continue
                }
                // Disconnected for a whole session timeout: the servers have most likely ended
                // the session and another candidate may lead; stop serving until we know.
                setLeading(false, "disconnected from ZooKeeper for a whole session timeout")
                guard await session.waitConnected(timeout: .seconds(3600)) else { return false }
                return true
            }
        }
        return false
    }

    private enum WaitOutcome { case changed, notConnected, predecessorGone }

    /// Waits for the watch to fire, the session to stop being connected, or (given its address)
    /// the predecessor's process to be found gone.
    private func firstOf(watch: AsyncStream<ZooKeeperWatchEvent>, orSessionNotConnected session: ZooKeeperSession,
                         orGone address: HostAndPort?) async -> WaitOutcome {
        let interval = options.probeInterval
        let logger = logger
        return await withTaskGroup(of: WaitOutcome?.self) { group in
            group.addTask {
                for await _ in watch { break } // fired, or ended with the session
                return .changed
            }
            group.addTask {
                while session.isConnected && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
                return .notConnected
            }
            if let address, let own = HostAndPort(parsing: options.candidateData) {
                group.addTask {
                    // A refusal proves the process gone only if this candidate's own published
                    // address is reachable the same way: with a published address nothing listens
                    // on (a misconfigured host name), every candidate would look gone to the next
                    // and they would remove each other's nodes in turn.
                    if await Self.refusesConnections(own) {
                        logger.warning("ZooKeeper election: this candidate's own address \(own) refuses connections, so refusals from the one ahead prove nothing; waiting for its session instead of checking it")
                        while (try? await Task.sleep(for: .seconds(3600))) != nil {}
                        return nil
                    }
                    var refusals = 0
                    while (try? await Task.sleep(for: interval)) != nil {
                        refusals = await Self.refusesConnections(address) ? refusals + 1 : 0
                        if refusals >= 2 { return .predecessorGone }
                    }
                    return nil
                }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .changed
        }
    }

    /// Whether nothing listens at `address` (the connection is refused, not merely unanswered).
    static func refusesConnections(_ address: HostAndPort) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(500))
                .connect(host: address.host, port: address.port).get()
            try? await channel.close()
            return false
        } catch {
            return RPCClient.isRefusal(error)
        }
    }

    // MARK: Lookups

    /// The leader's published address (cached for half a second), nil if none.
    public func leaderAddress() async -> String? {
        if let cached = cachedLeader, ContinuousClock.now - cached.at < .milliseconds(500) { return cached.address }
        guard let session, session.isConnected else { return nil }
        let address = (try? await session.data(options.leaderPath)).map { String(decoding: $0.0, as: UTF8.self) }
        cachedLeader = (address, ContinuousClock.now)
        return address
    }

    /// Every candidate's published address, in election order.
    public func candidates() async -> [String] {
        guard let session, session.isConnected,
              let children = try? await session.children(options.electionPath) else { return [] }
        var result: [String] = []
        for child in children.sorted(by: { sequence($0) < sequence($1) }) {
            if let data = try? await session.data(options.electionPath + "/" + child).0 { result.append(String(decoding: data, as: UTF8.self)) }
        }
        return result
    }
}
