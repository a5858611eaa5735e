import StrataCore
import StrataZooKeeper

extension UFSJournalOptions {
    /// The UFS journal of this master, from Strata properties.
    public init(properties: Configuration, identity: JournalIdentity) throws(ConfigurationError) {
        self.init(folder: properties.string(.masterJournalFolder), identity: identity)
        logSizeMaxBytes = Int(properties.sizeBytes(.masterJournalLogSizeBytesMax))
        guard logSizeMaxBytes >= 4096 else {
            throw ConfigurationError(.invalidValue, "\(PropertyKey.masterJournalLogSizeBytesMax.name) must be at least 4KB, not \(logSizeMaxBytes) bytes")
        }
        entrySizeMaxBytes = Int(properties.sizeBytes(.masterEmbeddedJournalEntrySizeMax))
        tailInterval = properties.duration(.masterJournalTailerSleepTime)
        guard tailInterval > .zero else {
            throw ConfigurationError(.invalidValue, "\(PropertyKey.masterJournalTailerSleepTime.name) must be positive")
        }
        checkpointPeriodEntries = UInt64(properties.integer(.masterJournalCheckpointPeriodEntries))
        checkpointsRetained = properties.integer(.masterJournalCheckpointsRetained)
        sync = !properties.boolean(.masterEmbeddedJournalUnsafeFlushEnabled)
    }
}

extension ZooKeeperElectionOptions {
    /// This master's candidacy (`candidate`: its RPC address), from Strata properties.
    public init(properties: Configuration, candidate: String) throws(ConfigurationError) {
        for key in [PropertyKey.zookeeperElectionPath, .zookeeperLeaderPath] {
            let path = properties.string(key)
            guard path.hasPrefix("/"), path.count > 1, !path.hasSuffix("/") else {
                throw ConfigurationError(.invalidValue, "\(key.name) must be an absolute ZooKeeper path such as /strata/election, not '\(path)'")
            }
        }
        self.init(session: try ZooKeeperSession.Options(properties: properties),
                  electionPath: properties.string(.zookeeperElectionPath), leaderPath: properties.string(.zookeeperLeaderPath),
                  policy: LeaderConnectionErrorPolicy(rawValue: properties.string(.zookeeperLeaderConnectionErrorPolicy).uppercased()) ?? .session,
                  candidateData: candidate)
    }
}
