import NIOConcurrencyHelpers
import StrataCore
import StrataWire
import StrataZooKeeper

/// Where a client looks for the members of a journaled service (the masters, the job masters):
/// a fixed list (probed in parallel), or ZooKeeper, where the leader publishes its RPC address and
/// every member enters the election with its own.
public enum MasterLocator: Sendable {
    case addresses([HostAndPort])
    case zooKeeper(ZooKeeperMasterLocator)

    /// From the configuration: ZooKeeper when `strata.zookeeper.enabled` (at `domain`'s election
    /// and leader paths), else `domain`'s configured RPC addresses.
    public static func configured(_ configuration: Configuration, domain: JournalDomain = .master) throws(ConfigurationError) -> MasterLocator {
        if configuration.boolean(.zookeeperEnabled) {
            return .zooKeeper(try ZooKeeperMasterLocator(properties: configuration, domain: domain))
        }
        let addresses = domain.rpcAddresses(configuration)
        guard !addresses.isEmpty else {
            throw ConfigurationError(.invalidValue, "no \(domain.serviceName) addresses: set \(domain.journalAddressesKey.name) or \(domain.rpcAddressesKey.name)")
        }
        return .addresses(addresses)
    }

    /// A description for messages: the addresses, or `zk@servers`.
    public var description: String {
        switch self {
        case .addresses(let addresses): addresses.map(\.description).joined(separator: ",")
        case .zooKeeper(let locator): "zk@" + locator.options.connectString
        }
    }

    /// The ZooKeeper servers, if the masters are found through ZooKeeper.
    public var zooKeeperAddress: String? {
        if case .zooKeeper(let locator) = self { return locator.options.connectString }
        return nil
    }
}

/// Reads the leader's address and the candidates from ZooKeeper, over one session opened on first
/// use (and opened again after it expires).
public final class ZooKeeperMasterLocator: Sendable {
    public let options: ZooKeeperSession.Options
    public let electionPath: String
    public let leaderPath: String
    private let session = NIOLockedValueBox<ZooKeeperSession?>(nil)

    public init(options: ZooKeeperSession.Options, electionPath: String, leaderPath: String) {
        self.options = options
        self.electionPath = electionPath
        self.leaderPath = leaderPath
    }

    public convenience init(properties: Configuration, domain: JournalDomain = .master) throws(ConfigurationError) {
        self.init(options: try ZooKeeperSession.Options(properties: properties),
                  electionPath: properties.string(domain.electionPathKey), leaderPath: properties.string(domain.leaderPathKey))
    }

    /// The ZooKeeper servers of a `strata://zk@…` authority, with the configured paths and timeouts.
    public convenience init(servers: [HostAndPort], configuration: Configuration, domain: JournalDomain = .master) {
        self.init(options: ZooKeeperSession.Options(servers: servers.map(\.description),
                                                    sessionTimeout: configuration.duration(.zookeeperSessionTimeout),
                                                    connectionTimeout: configuration.duration(.zookeeperConnectionTimeout)),
                  electionPath: configuration.string(domain.electionPathKey), leaderPath: configuration.string(domain.leaderPathKey))
    }

    private func connected() async throws(RPCError) -> ZooKeeperSession {
        if let current = session.withLockedValue({ $0 }), !current.isExpired, current.lastEvent != .closed { return current }
        do {
            let made = try await ZooKeeperSession.connect(options)
            let replaced = session.withLockedValue { box -> ZooKeeperSession? in
                defer { box = made }
                return box
            }
            await replaced?.close()
            return made
        } catch {
            throw RPCError(.unavailable, "cannot find the leader: \(error.message)")
        }
    }

    /// The leader's RPC address as published in ZooKeeper.
    public func leader() async throws(RPCError) -> HostAndPort {
        let zk = try await connected()
        let data: [UInt8]
        do {
            data = try await zk.data(leaderPath).0
        } catch where error.code == .noNode {
            throw RPCError(.unavailable, "no leader is registered in ZooKeeper \(options.connectString) at \(leaderPath) (an election may be under way)")
        } catch {
            throw RPCError(.unavailable, "cannot read the leader from ZooKeeper \(options.connectString): \(error.message)")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let address = HostAndPort(parsing: text) else {
            throw RPCError(.internal, "ZooKeeper node \(leaderPath) holds '\(text)', not a host:port")
        }
        return address
    }

    /// Waits until the leader node is created, deleted or rewritten, at most `timeout`: a client
    /// retrying through a fail-over tries again the moment the new leader publishes itself
    /// instead of sleeping out its back-off.
    public func waitForLeaderChange(upTo timeout: Duration) async {
        guard let zk = try? await connected(), let (_, watch) = try? await zk.existsWatching(leaderPath) else {
            try? await Task.sleep(for: timeout)
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in watch { return } }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Every master in the election (their RPC addresses), in election order.
    public func masters() async -> [HostAndPort] {
        guard let zk = try? await connected(), let children = try? await zk.children(electionPath) else { return [] }
        var result: [HostAndPort] = []
        for child in children.sorted(by: { ($0.split(separator: "-").last ?? "") < ($1.split(separator: "-").last ?? "") }) {
            if let data = try? await zk.data(electionPath + "/" + child).0, let address = HostAndPort(parsing: String(decoding: data, as: UTF8.self)),
               !result.contains(address) {
                result.append(address)
            }
        }
        return result
    }

    public func close() async {
        let current = session.withLockedValue { box -> ZooKeeperSession? in
            defer { box = nil }
            return box
        }
        await current?.close()
    }
}
