import StrataCore

/// Where the masters are: their embedded-journal addresses and the RPC address of each.
public enum MasterAddresses {
    /// Embedded-journal address → RPC address. `strata.master.rpc.addresses` lists RPC addresses
    /// in the order of `strata.master.embedded.journal.addresses`; by default each master's RPC
    /// address is its journal host with `strata.master.rpc.port`.
    public static func rpcAddressOfJournal(_ configuration: Configuration) throws(ConfigurationError) -> [HostAndPort: HostAndPort] {
        let journals = configuration.addresses(.masterEmbeddedJournalAddresses) ?? []
        var result: [HostAndPort: HostAndPort] = [:]
        if let rpcs = configuration.addresses(.masterRpcAddresses) {
            guard rpcs.count == journals.count else {
                throw ConfigurationError(.invalidValue, "strata.master.rpc.addresses lists \(rpcs.count) addresses but strata.master.embedded.journal.addresses lists \(journals.count)")
            }
            for (journal, rpc) in zip(journals, rpcs) { result[journal] = rpc }
        } else {
            let port = configuration.integer(.masterRpcPort)
            for journal in journals { result[journal] = HostAndPort(host: journal.host, port: port) }
        }
        return result
    }

    /// The RPC addresses clients try, in order.
    public static func rpcAddresses(_ configuration: Configuration) -> [HostAndPort] {
        if let explicit = configuration.addresses(.masterRpcAddresses) { return explicit }
        let port = configuration.integer(.masterRpcPort)
        let journals = configuration.addresses(.masterEmbeddedJournalAddresses) ?? []
        var seen = Set<HostAndPort>()
        return journals.map { HostAndPort(host: $0.host, port: port) }.filter { seen.insert($0).inserted }
    }
}
