import StrataCore
import Testing
@testable import StrataJournal

/// Strata properties become Raft timing in ticks; a bad combination is refused by name.
@Suite struct JournalConfigurationTests {
    let address = HostAndPort(host: "m1", port: 19200)

    @Test func defaultsGiveFastFailoverTiming() throws {
        let properties = try Configuration.defaults(overrides: [
            .masterEmbeddedJournalAddresses: "m1:19200,m2:19200,m3:19200", .home: "/srv/strata",
        ])
        let configuration = try RaftNodeConfiguration(properties: properties, domain: .master, address: address, clusterID: Array(repeating: 1, count: 16))
        #expect(configuration.members.count == 3)
        #expect(configuration.tickInterval == .milliseconds(50))
        #expect(configuration.options.heartbeatIntervalTicks == 2)      // 100ms
        #expect(configuration.options.electionTimeoutTicks == 20)       // 1s
        #expect(configuration.options.electionTimeoutMaxTicks == 40)    // 2s
        #expect(configuration.directory == "/srv/strata/journal")
        #expect(configuration.sync)
        #expect(!configuration.compressSnapshots)
        #expect(configuration.options.entrySizeMaxBytes == 10 << 20)
        #expect(configuration.checkpointPeriodEntries == 2_000_000)
    }

    @Test func settingsAreHonoured() throws {
        let properties = try Configuration.defaults(overrides: [
            .jobMasterEmbeddedJournalAddresses: "m1:19200,m2:20003",
            .masterEmbeddedJournalHeartbeatInterval: "20ms",
            .masterEmbeddedJournalElectionTimeoutMin: "300ms",
            .masterEmbeddedJournalElectionTimeoutMax: "600ms",
            .masterEmbeddedJournalUnsafeFlushEnabled: "true",
            .masterEmbeddedJournalSnapshotReplicationCompressionType: "zlib",
            .masterJournalCheckpointPeriodEntries: "500",
        ])
        let configuration = try RaftNodeConfiguration(properties: properties, domain: .jobMaster, address: address, clusterID: Array(repeating: 1, count: 16))
        #expect(configuration.tickInterval == .milliseconds(10))
        #expect(configuration.options.heartbeatIntervalTicks == 2)
        #expect(configuration.options.electionTimeoutTicks == 30)
        #expect(configuration.options.electionTimeoutMaxTicks == 60)
        #expect(!configuration.sync)
        #expect(configuration.compressSnapshots)
        #expect(configuration.checkpointPeriodEntries == 500)
    }

    @Test func inconsistentTimingIsRefused() throws {
        let properties = try Configuration.defaults(overrides: [
            .masterEmbeddedJournalHeartbeatInterval: "2s", .masterEmbeddedJournalElectionTimeoutMin: "1s",
        ])
        let error = #expect(throws: ConfigurationError.self) {
            try RaftNodeConfiguration(properties: properties, domain: .master, address: HostAndPort(host: "localhost", port: 19200), clusterID: Array(repeating: 1, count: 16))
        }
        #expect(error?.message.contains("strata.master.embedded.journal.heartbeat.interval") == true)
    }

    @Test func addressOutsideTheQuorumIsRefused() throws {
        let properties = try Configuration.defaults(overrides: [.masterEmbeddedJournalAddresses: "m2:19200,m3:19200"])
        let error = #expect(throws: ConfigurationError.self) {
            try RaftNodeConfiguration(properties: properties, domain: .master, address: address, clusterID: Array(repeating: 1, count: 16))
        }
        #expect(error?.message.contains("m1:19200 is not in strata.master.embedded.journal.addresses") == true)
    }

    /// Without strata.cluster.id, a quorum's cluster id comes from its configured addresses: the
    /// same on every host (whatever the order and this host's own name), another for another
    /// cluster, another for the other quorum and the other journal type.
    @Test func theClusterIDIsDerivedFromTheConfiguredQuorum() throws {
        func derived(_ overrides: [PropertyKey: String], _ domain: JournalDomain = .master) throws -> [UInt8] {
            JournalIdentity.derivedClusterID(domain: domain, configuration: try Configuration.defaults(overrides: overrides)).clusterID
        }
        let onM1 = try derived([.masterEmbeddedJournalAddresses: "m1:19200,m2:19200,m3:19200", .masterHostname: "m1"])
        let onM3 = try derived([.masterEmbeddedJournalAddresses: "m3:19200,m1:19200,m2:19200", .masterHostname: "m3"])
        #expect(onM1 == onM3 && onM1.count == 16)
        #expect(try derived([.masterEmbeddedJournalAddresses: "n1:19200,n2:19200,n3:19200"]) != onM1)
        #expect(try derived([.masterEmbeddedJournalAddresses: "m1:19200,m2:19200,m3:19200"], .jobMaster) != onM1)
        #expect(try derived([.masterEmbeddedJournalAddresses: "m1:19200,m2:19200,m3:19200", .masterJournalType: "UFS",
                             .masterRpcAddresses: "m1:19998,m2:19998,m3:19998"]) != onM1)
    }
}
