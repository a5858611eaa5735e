import StrataCore
import StrataRaft

extension RaftNodeConfiguration {
    /// Ticks are short so that leader-loss detection and heartbeats stay precise; timeouts are
    /// whole numbers of ticks.
    static let tickIntervalMaxMilliseconds: Int64 = 50

    /// The configuration of this process's member of `domain`'s quorum, from Strata properties.
    /// Timing, flush, segment, snapshot and checkpoint settings are the `strata.master.*` ones for
    /// both domains (the job master's journal is tuned like the master's).
    public init(properties: Configuration, domain: JournalDomain, address: HostAndPort, clusterID: [UInt8]) throws(ConfigurationError) {
        let members = domain.journalAddresses(properties)
        guard members.contains(address) else {
            throw ConfigurationError(.invalidValue, "this process's journal address \(address) is not in \(domain.journalAddressesKey.name) (\(members.map(\.description).joined(separator: ",")))")
        }
        self.init(address: address, members: members, directory: properties.string(domain.journalFolderKey), clusterID: clusterID)
        nonServing = domain.journalNodeAddresses(properties)
        domainName = domain.rawValue

        let heartbeat = properties.duration(.masterEmbeddedJournalHeartbeatInterval).milliseconds
        let electionMin = properties.duration(.masterEmbeddedJournalElectionTimeoutMin).milliseconds
        let electionMax = properties.duration(.masterEmbeddedJournalElectionTimeoutMax).milliseconds
        guard heartbeat > 0, electionMin > heartbeat, electionMax >= electionMin else {
            throw ConfigurationError(.invalidValue, "need 0 < \(PropertyKey.masterEmbeddedJournalHeartbeatInterval.name) (\(heartbeat)ms) < \(PropertyKey.masterEmbeddedJournalElectionTimeoutMin.name) (\(electionMin)ms) <= \(PropertyKey.masterEmbeddedJournalElectionTimeoutMax.name) (\(electionMax)ms)")
        }
        let tick = max(1, min(Self.tickIntervalMaxMilliseconds, heartbeat / 2))
        tickInterval = .milliseconds(tick)
        options.heartbeatIntervalTicks = Int(max(1, heartbeat / tick))
        options.electionTimeoutTicks = Int(max(Int64(options.heartbeatIntervalTicks + 1), electionMin / tick))
        options.electionTimeoutMaxTicks = Int(max(Int64(options.electionTimeoutTicks + 1), electionMax / tick))
        options.entrySizeMaxBytes = Int(properties.sizeBytes(.masterEmbeddedJournalEntrySizeMax))
        segmentSizeMaxBytes = Int(properties.sizeBytes(.masterEmbeddedJournalSegmentSize))
        options.logCacheBytesMax = Int(properties.sizeBytes(.masterEmbeddedJournalLogCacheSize))
        snapshotChunkSizeBytes = Int(properties.sizeBytes(.masterEmbeddedJournalSnapshotReplicationChunkSize))
        compressSnapshots = properties.string(.masterEmbeddedJournalSnapshotReplicationCompressionType) == "ZLIB"
        sync = !properties.boolean(.masterEmbeddedJournalUnsafeFlushEnabled)
        flushBatchTime = properties.duration(.masterJournalFlushBatchTime)
        checkpointPeriodEntries = UInt64(properties.integer(.masterJournalCheckpointPeriodEntries))
        snapshotsRetained = properties.integer(.masterEmbeddedJournalSnapshotsRetained)
        frameSizeMaxBytes = Int(properties.sizeBytes(.networkMaxInboundMessageSize))
    }
}
