import Logging
import StrataCore
import StrataWire

/// A journal opened for a service from its configuration, with what the process needs around
/// it: the journal port's handlers (embedded only), the member directory and the identity.
public struct OpenedServiceJournal: Sendable {
    public let journal: any ServiceJournal
    public let directory: MemberDirectory
    public let identity: JournalIdentity
    /// Registers the Raft transport on the embedded-journal port; nil for the UFS journal.
    public let journalHandlers: (@Sendable (inout RPCHandlers) -> Void)?
}

/// Opening the journal of a domain's member, one way for every journaled service.
public enum ServiceJournals {
    /// The journal kind configured (`strata.master.journal.type`; the job masters run on the same kind).
    public static func kind(_ configuration: Configuration) -> JournalKind {
        JournalKind(rawValue: configuration.string(.masterJournalType)) ?? .embedded
    }

    /// Whether the process binds an embedded-journal port for `domain`.
    public static func usesEmbeddedJournal(_ configuration: Configuration) -> Bool {
        kind(configuration) == .embedded
    }

    /// Checks the journal settings that must agree with each other, with a message that says what to change.
    public static func validate(_ configuration: Configuration) throws(ConfigurationError) {
        let zooKeeper = configuration.boolean(.zookeeperEnabled)
        switch kind(configuration) {
        case .embedded where zooKeeper:
            throw ConfigurationError(.invalidValue, "strata.zookeeper.enabled=true cannot be combined with strata.master.journal.type=EMBEDDED: the embedded journal elects its own leader; use strata.master.journal.type=UFS with ZooKeeper, or disable ZooKeeper")
        case .ufs where !zooKeeper:
            throw ConfigurationError(.invalidValue, "strata.master.journal.type=UFS needs ZooKeeper to elect the leader: set strata.zookeeper.enabled=true and strata.zookeeper.address")
        default:
            return
        }
    }

    /// Opens this process's member of `domain`'s journal (restoring `stateMachine` from it).
    /// With `strata.cluster.id` set, the journal must belong to that cluster.
    public static func open(domain: JournalDomain, configuration: Configuration, stateMachine: any ReplicatedStateMachine,
                            logger: Logger) async throws -> OpenedServiceJournal {
        try validate(configuration)
        let folder = configuration.string(domain.journalFolderKey)
        let expected = configuration.isSet(.clusterID) ? try JournalIdentity.clusterID(fromHex: configuration.string(.clusterID)) : nil
        let identity = try JournalIdentity.read(from: folder, expectedClusterID: expected)
        let rpcAddress = domain.rpcAddress(configuration)
        switch kind(configuration) {
        case .embedded:
            let journalConfiguration = try RaftNodeConfiguration(properties: configuration, domain: domain,
                                                                 address: domain.journalAddress(configuration), clusterID: identity.clusterID)
            let directory = MemberDirectory(configured: try domain.rpcAddressOfJournal(configuration))
            let node = try await RaftNode(configuration: journalConfiguration, stateMachine: stateMachine, logger: logger)
            return OpenedServiceJournal(journal: EmbeddedServiceJournal(node: node, directory: directory, domain: domain),
                                        directory: directory, identity: identity, journalHandlers: { node.register(into: &$0) })
        case .ufs:
            let options = try UFSJournalOptions(properties: configuration, domain: domain, identity: identity)
            let journal = try await UFSJournal(options: options, stateMachine: stateMachine, logger: logger)
            let election = ZooKeeperLeaderElection(
                options: try ZooKeeperElectionOptions(properties: configuration, domain: domain, candidate: rpcAddress.description), logger: logger)
            return OpenedServiceJournal(journal: UFSServiceJournal(journal: journal, election: election, domain: domain, logger: logger),
                                        directory: MemberDirectory(configured: [:]), identity: identity, journalHandlers: nil)
        }
    }
}
