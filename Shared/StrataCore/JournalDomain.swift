/// Which quorum a journaled service belongs to: the file-system masters' (MASTER) or the job
/// masters' (JOB_MASTER). Each names the properties that place its members, so the code that
/// opens a journal, finds a leader or formats a folder is written once for both.
public enum JournalDomain: String, Sendable, CaseIterable {
    case master = "MASTER"
    case jobMaster = "JOB_MASTER"

    /// "master" or "job master", for messages.
    public var serviceName: String { self == .master ? "master" : "job master" }

    public var hostnameKey: PropertyKey { self == .master ? .masterHostname : .jobMasterHostname }
    public var bindHostKey: PropertyKey { self == .master ? .masterBindHost : .jobMasterBindHost }
    public var rpcPortKey: PropertyKey { self == .master ? .masterRpcPort : .jobMasterRpcPort }
    public var webPortKey: PropertyKey { self == .master ? .masterWebPort : .jobMasterWebPort }
    public var journalPortKey: PropertyKey { self == .master ? .masterEmbeddedJournalPort : .jobMasterEmbeddedJournalPort }
    public var journalAddressesKey: PropertyKey { self == .master ? .masterEmbeddedJournalAddresses : .jobMasterEmbeddedJournalAddresses }
    public var rpcAddressesKey: PropertyKey { self == .master ? .masterRpcAddresses : .jobMasterRpcAddresses }
    public var journalFolderKey: PropertyKey { self == .master ? .masterJournalFolder : .jobMasterJournalFolder }
    public var electionPathKey: PropertyKey { self == .master ? .zookeeperElectionPath : .zookeeperJobElectionPath }
    public var leaderPathKey: PropertyKey { self == .master ? .zookeeperLeaderPath : .zookeeperJobLeaderPath }

    /// This process's member address in the quorum: its hostname with the journal port.
    public func journalAddress(_ configuration: Configuration) -> HostAndPort {
        HostAndPort(host: configuration.string(hostnameKey), port: configuration.integer(journalPortKey))
    }

    /// This process's RPC address: its hostname with the RPC port.
    public func rpcAddress(_ configuration: Configuration) -> HostAndPort {
        HostAndPort(host: configuration.string(hostnameKey), port: configuration.integer(rpcPortKey))
    }

    /// Every member's embedded-journal address. The job masters' default, as Alluxio's, is the
    /// masters' journal hosts with `strata.job.master.embedded.journal.port`.
    public func journalAddresses(_ configuration: Configuration) -> [HostAndPort] {
        if let explicit = configuration.addresses(journalAddressesKey) { return explicit }
        switch self {
        case .master:
            return [journalAddress(configuration)]
        case .jobMaster:
            let port = configuration.integer(.jobMasterEmbeddedJournalPort)
            let masters = configuration.addresses(.masterEmbeddedJournalAddresses) ?? [JournalDomain.master.journalAddress(configuration)]
            return Self.unique(masters.map { HostAndPort(host: $0.host, port: port) })
        }
    }

    /// Embedded-journal address → RPC address of every serving member. The RPC addresses list the
    /// serving members in the order of the journal addresses, which list them first and then the
    /// journal nodes (members without an RPC address); by default each journal host serves on the
    /// RPC port and there are no journal nodes.
    public func rpcAddressOfJournal(_ configuration: Configuration) throws(ConfigurationError) -> [HostAndPort: HostAndPort] {
        let journals = journalAddresses(configuration)
        var result: [HostAndPort: HostAndPort] = [:]
        if let rpcs = configuration.addresses(rpcAddressesKey) {
            guard rpcs.count <= journals.count else {
                throw ConfigurationError(.invalidValue, "\(rpcAddressesKey.name) lists \(rpcs.count) addresses but \(journalAddressesKey.name) only \(journals.count): every \(serviceName) has a journal address (journal nodes follow the \(serviceName)s there)")
            }
            for (journal, rpc) in zip(journals, rpcs) { result[journal] = rpc }
        } else {
            let port = configuration.integer(rpcPortKey)
            for journal in journals { result[journal] = HostAndPort(host: journal.host, port: port) }
        }
        return result
    }

    /// The journal nodes of the quorum: the journal addresses after the ones the RPC addresses
    /// pair with (none unless `rpcAddressesKey` is set and shorter).
    public func journalNodeAddresses(_ configuration: Configuration) -> [HostAndPort] {
        guard let rpcs = configuration.addresses(rpcAddressesKey) else { return [] }
        return Array(journalAddresses(configuration).dropFirst(rpcs.count))
    }

    /// The quorums a journal node belongs to (`strata.journal.node.domains`).
    public static func journalNodeDomains(_ configuration: Configuration) -> [JournalDomain] {
        let names = configuration.string(.journalNodeDomains).uppercased().split(separator: ",").map { $0.trimmingWhitespace() }
        return allCases.filter { names.contains($0.rawValue) }
    }

    /// The RPC addresses clients try, in order.
    public func rpcAddresses(_ configuration: Configuration) -> [HostAndPort] {
        if let explicit = configuration.addresses(rpcAddressesKey) { return explicit }
        let port = configuration.integer(rpcPortKey)
        return Self.unique(journalAddresses(configuration).map { HostAndPort(host: $0.host, port: port) })
    }

    private static func unique(_ addresses: [HostAndPort]) -> [HostAndPort] {
        var seen = Set<HostAndPort>()
        return addresses.filter { seen.insert($0).inserted }
    }
}
