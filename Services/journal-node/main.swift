import StrataCore
import StrataRuntime

// strata-journal-node: a voting member of the MASTER and/or JOB_MASTER quorum that runs no master.
// It listens on the journal port of each quorum it belongs to (strata.journal.node.domains).
await ServiceProcess.main(ServiceProcessDescription(
    kind: .journalNode, hostname: .journalNodeHostname,
    web: ServiceEndpoint(name: "web", bindHost: .journalNodeBindHost, port: .journalNodeWebPort)
) { configuration in
    let domains = configuration.string(.journalNodeDomains).uppercased().split(separator: ",").map { $0.trimmingWhitespace() }
    var endpoints: [ServiceEndpoint] = []
    if domains.contains("MASTER") {
        endpoints.append(ServiceEndpoint(name: "master-journal", bindHost: .journalNodeBindHost, port: .masterEmbeddedJournalPort))
    }
    if domains.contains("JOB_MASTER") {
        endpoints.append(ServiceEndpoint(name: "job-master-journal", bindHost: .journalNodeBindHost, port: .jobMasterEmbeddedJournalPort))
    }
    return endpoints
})
