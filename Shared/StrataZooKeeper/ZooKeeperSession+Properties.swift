import StrataCore

extension ZooKeeperSession.Options {
    /// The ZooKeeper servers and timeouts from Strata properties.
    public init(properties: Configuration) throws(ConfigurationError) {
        guard let servers = properties.addresses(.zookeeperAddress), !servers.isEmpty else {
            throw ConfigurationError(.invalidValue, "strata.zookeeper.enabled=true needs \(PropertyKey.zookeeperAddress.name) (host:port of each ZooKeeper server, separated by commas)")
        }
        let session = properties.duration(.zookeeperSessionTimeout)
        let connection = properties.duration(.zookeeperConnectionTimeout)
        guard session > .zero, connection > .zero else {
            throw ConfigurationError(.invalidValue, "\(PropertyKey.zookeeperSessionTimeout.name) and \(PropertyKey.zookeeperConnectionTimeout.name) must be positive")
        }
        self.init(servers: servers.map(\.description), sessionTimeout: session, connectionTimeout: connection,
                  operationTimeout: max(session, .seconds(5)))
    }
}
