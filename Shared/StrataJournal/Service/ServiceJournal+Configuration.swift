import Foundation
import Logging
import ServiceLifecycle
import StrataRaft
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
            let address = domain.journalAddress(configuration)
            if domain.journalNodeAddresses(configuration).contains(address) {
                throw ConfigurationError(.invalidValue, "this \(domain.serviceName)'s journal address \(address) is among the journal nodes of \(domain.journalAddressesKey.name) (the addresses after the \(domain.rpcAddresses(configuration).count) of \(domain.rpcAddressesKey.name)): list the \(domain.serviceName)s first, in the order of \(domain.rpcAddressesKey.name), then the journal nodes")
            }
            return try await openEmbedded(domain: domain, address: address, configuration: configuration, identity: identity,
                                          stateMachine: stateMachine, logger: logger)
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

extension ServiceJournals {
    static func openEmbedded(domain: JournalDomain, address: HostAndPort, configuration: Configuration, identity: JournalIdentity,
                             stateMachine: any ReplicatedStateMachine, logger: Logger) async throws -> OpenedServiceJournal {
        let journalConfiguration = try RaftNodeConfiguration(properties: configuration, domain: domain, address: address, clusterID: identity.clusterID)
        let directory = MemberDirectory(configured: try domain.rpcAddressOfJournal(configuration))
        let node = try await RaftNode(configuration: journalConfiguration, stateMachine: stateMachine, logger: logger)
        return OpenedServiceJournal(journal: EmbeddedServiceJournal(node: node, directory: directory, domain: domain),
                                    directory: directory, identity: identity, journalHandlers: { node.register(into: &$0) })
    }

    /// Opens this journal node's member of `domain`'s quorum: it votes and keeps the log (and the
    /// snapshots the leader ships), and runs no service. Its address must be among the journal
    /// nodes of `domain`'s journal addresses (after the members with an RPC address).
    public static func openJournalNode(domain: JournalDomain, configuration: Configuration, logger: Logger) async throws -> JournalNodeMember {
        guard kind(configuration) == .embedded else {
            throw ConfigurationError(.invalidValue, "a journal node is a member of an embedded-journal quorum; strata.master.journal.type is \(kind(configuration).rawValue)")
        }
        let address = HostAndPort(host: configuration.string(.journalNodeHostname), port: configuration.integer(domain.journalPortKey))
        guard domain.journalNodeAddresses(configuration).contains(address) else {
            let rpcs = domain.rpcAddresses(configuration).count
            throw ConfigurationError(.invalidValue, "this journal node's \(domain.rawValue) journal address \(address) is not among the journal nodes of \(domain.journalAddressesKey.name) (\(domain.journalAddresses(configuration).map(\.description).joined(separator: ","))): list it there after the \(rpcs) \(domain.serviceName) address(es) that \(domain.rpcAddressesKey.name) pairs with")
        }
        let folder = configuration.string(domain.journalFolderKey)
        let expected = configuration.isSet(.clusterID) ? try JournalIdentity.clusterID(fromHex: configuration.string(.clusterID)) : nil
        let identity = try JournalIdentity.read(from: folder, expectedClusterID: expected)
        var journalConfiguration = try RaftNodeConfiguration(properties: configuration, domain: domain, address: address, clusterID: identity.clusterID)
        journalConfiguration.keepsOwnState = false
        let node = try await RaftNode(configuration: journalConfiguration, stateMachine: JournalNodeStateMachine(), logger: logger)
        let journal = EmbeddedServiceJournal(node: node, directory: MemberDirectory(configured: try domain.rpcAddressOfJournal(configuration)), domain: domain)
        return JournalNodeMember(journal: journal, handlers: { node.register(into: &$0) })
    }
}

/// A journal node's member of one quorum: its journal (run it as a foundation service) and the
/// handlers of its journal port.
public struct JournalNodeMember: Sendable {
    public let journal: EmbeddedServiceJournal
    public let handlers: @Sendable (inout RPCHandlers) -> Void
    public var domain: JournalDomain { journal.domain }
}

/// A journal node's state machine: it holds nothing (a journal node keeps the log and the
/// snapshots the leader ships, and never serves), so it never takes a snapshot of its own.
struct JournalNodeStateMachine: ReplicatedStateMachine {
    func apply(_ entries: [LogEntry]) async {}
    func snapshot() async -> @Sendable () -> [UInt8] {
        preconditionFailure("a journal node takes no snapshot of its own (RaftNodeConfiguration.keepsOwnState is false)")
    }
    func restore(_ data: [UInt8]) async throws {}
}

/// A journaled service's member opened from its configuration: the seam around its state
/// machine and the lifecycle services every journaled process runs beside its own.
public struct OpenedJournaledService<StateMachine: OutcomeStateMachine>: Sendable {
    public let journaled: JournaledService<StateMachine>
    public let journal: OpenedServiceJournal
    /// The journal as a service: list it as the process's foundation (started first, stopped last).
    public var foundation: [any Service] { [JournalService(journal: journal.journal)] }
    /// With `strata.master.journal.exit.on.demotion`, the watcher that exits once this member stops leading.
    public let watchers: [any Service]

    /// `-i BACKUP`: reads and checks the backup whole (a damaged or incomplete one stops the
    /// start-up with a line that says why, before anything is imported) and returns the service
    /// that restores its `section` once this member leads on a journal holding nothing yet.
    public func restoring(from path: String?, section kind: Backup.SectionKind, emptyEntries: UInt64, logger: Logger) async throws -> [any Service] {
        guard let path else { return [] }
        let backup: Backup
        do { backup = try await Backup.read(from: path) } catch { throw BackupError("cannot restore: \(error.message)") }
        guard let section = backup.section(kind) else { throw BackupError("cannot restore: backup \(path) holds no \(kind)") }
        logger.info("backup \(path): \(backup); its \(kind) is restored if this \(journaled.domain.serviceName) is the first to lead on a formatted journal")
        return [StateImportService(journaled: journaled, data: section.data, entries: section.entries, source: path, emptyEntries: emptyEntries, logger: logger)]
    }

    /// The journal port's handlers (embedded journal only) added to `handlers`, keyed by endpoint name.
    public func handlers(_ handlers: [String: @Sendable (inout RPCHandlers) -> Void]) -> [String: @Sendable (inout RPCHandlers) -> Void] {
        var all = handlers
        if let journalHandlers = journal.journalHandlers { all["embedded-journal"] = journalHandlers }
        return all
    }
}

extension ServiceJournals {
    /// Opens `domain`'s journal for this process (restoring `stateMachine`) and the seam over it.
    /// An entry the state machine cannot apply stops the member — from the first replayed at
    /// start-up on — after backing up its state as `section` (see `CorruptEntryHandler`).
    public static func openService<StateMachine: OutcomeStateMachine>(
        domain: JournalDomain, configuration: Configuration, stateMachine: StateMachine, section: Backup.SectionKind,
        methods: JournaledServiceMethods, logger: Logger
    ) async throws -> OpenedJournaledService<StateMachine> {
        let folder = configuration.string(domain.journalFolderKey)
        let expected = configuration.isSet(.clusterID) ? try JournalIdentity.clusterID(fromHex: configuration.string(.clusterID)) : nil
        let identity = try JournalIdentity.read(from: folder, expectedClusterID: expected)
        await stateMachine.setCorruptEntryHandler(.stopping(
            stateMachine, clusterID: identity.clusterID, domain: domain, section: section, folder: folder + ".backup-when-corrupted",
            backUp: configuration.boolean(.masterJournalBackupWhenCorrupted), logger: logger))
        let opened = try await open(domain: domain, configuration: configuration, stateMachine: stateMachine, logger: logger)
        let journaled = JournaledService(journal: opened.journal, stateMachine: stateMachine, directory: opened.directory,
                                         thisRPCAddress: domain.rpcAddress(configuration), clusterID: opened.identity.clusterID,
                                         methods: methods, logger: logger)
        var watchers: [any Service] = []
        if configuration.boolean(.masterJournalExitOnDemotion) {
            watchers.append(DemotionWatcher(journal: opened.journal) {
                logger.notice("lost leadership; exiting (strata.master.journal.exit.on.demotion=true)")
                exit(0)
            })
        }
        return OpenedJournaledService(journaled: journaled, journal: opened, watchers: watchers)
    }
}
