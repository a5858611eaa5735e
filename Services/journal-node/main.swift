import StrataCore
import StrataJournal
import StrataRuntime

// strata-journal-node: a voting member of the MASTER and/or JOB_MASTER quorum that runs no master
// (strata.journal.node.domains). It keeps each quorum's log and the snapshots the leader ships,
// and never serves clients: when it wins an election it brings a serving member up to date and
// hands leadership to it. Its web port shows its members' state (/, /api/v1/journal), /health
// and /metrics.
await ServiceProcess.main(ServiceProcessDescription(
    kind: .journalNode, hostname: .journalNodeHostname,
    web: ServiceEndpoint(name: "web", bindHost: .journalNodeBindHost, port: .journalNodeWebPort),
    endpoints: { configuration in
        JournalDomain.journalNodeDomains(configuration).map { domain in
            ServiceEndpoint(name: JournalNodeWebUI.endpointName(domain), bindHost: .journalNodeBindHost, port: domain.journalPortKey)
        }
    },
    prepare: { context in
        var members: [JournalNodeMember] = []
        for domain in JournalDomain.journalNodeDomains(context.configuration) {
            members.append(try await ServiceJournals.openJournalNode(domain: domain, configuration: context.configuration, logger: context.logger))
        }
        let web = JournalNodeWebUI(members: members, configuration: context.configuration, metrics: context.metrics)
        return ServiceParts(
            handlers: Dictionary(uniqueKeysWithValues: members.map { (JournalNodeWebUI.endpointName($0.domain), $0.handlers) }),
            foundation: members.map { JournalService(journal: $0.journal) },
            role: { await web.role() },
            web: { await web.handle($0) })
    }
))
