import StrataCore
import StrataZooKeeper

extension UFSJournalOptions {
    /// The UFS journal of this process's `domain`, from Strata properties (the job masters' folder
    /// is its own; every other setting is shared with the masters').
    public init(properties: Configuration, domain: JournalDomain, identity: JournalIdentity) throws(ConfigurationError) {
        self.init(folder: properties.string(domain.journalFolderKey), identity: identity)
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
    /// This process's candidacy in `domain`'s election (`candidate`: its RPC address), from
    /// Strata properties.
    public init(properties: Configuration, domain: JournalDomain, candidate: String) throws(ConfigurationError) {
        for key in [domain.electionPathKey, domain.leaderPathKey] {
            let path = properties.string(key)
            guard path.hasPrefix("/"), path.count > 1, !path.hasSuffix("/") else {
                throw ConfigurationError(.invalidValue, "\(key.name) must be an absolute ZooKeeper path such as /strata/election, not '\(path)'")
            }
        }
        self.init(session: try ZooKeeperSession.Options(properties: properties),
                  electionPath: properties.string(domain.electionPathKey), leaderPath: properties.string(domain.leaderPathKey),
                  policy: LeaderConnectionErrorPolicy(rawValue: properties.string(.zookeeperLeaderConnectionErrorPolicy).uppercased()) ?? .session,
                  candidateData: candidate,
                  probeInterval: properties.duration(.zookeeperLeaderProbeInterval))
    }
}
