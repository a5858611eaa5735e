import Foundation
import Logging
import ServiceLifecycle
import StrataClient
import StrataCore
import StrataJobMaster
import StrataJournal
import StrataRuntime
import StrataWire

// strata-jobmaster: the job master. Its RPC port serves the job API and job workers' reports
// (the leader serves; standbys answer NOT_LEADER with the leader's address). On the embedded
// journal its journal port carries the JOB_MASTER quorum's Raft traffic, a group of its own; on
// the UFS journal the job journal is a shared folder and ZooKeeper elects at its own path.
await ServiceProcess.main(ServiceProcessDescription(
    kind: .jobMaster, hostname: .jobMasterHostname,
    web: ServiceEndpoint(name: "web", bindHost: .jobMasterBindHost, port: .jobMasterWebPort),
    endpoints: { configuration in
        var endpoints = [ServiceEndpoint(name: "rpc", bindHost: .jobMasterBindHost, port: .jobMasterRpcPort)]
        if ServiceJournals.usesEmbeddedJournal(configuration) {
            endpoints.append(ServiceEndpoint(name: "embedded-journal", bindHost: .jobMasterBindHost, port: .jobMasterEmbeddedJournalPort))
        }
        return endpoints
    },
    prepare: { context in
        let configuration = context.configuration
        try ServiceJournals.validate(configuration)
        let stateMachine = JobStateMachine(logger: context.logger)
        let opened = try await ServiceJournals.open(domain: .jobMaster, configuration: configuration, stateMachine: stateMachine, logger: context.logger)
        let journaled = JournaledService(journal: opened.journal, stateMachine: stateMachine, directory: opened.directory,
                                         thisRPCAddress: JournalDomain.jobMaster.rpcAddress(configuration), clusterID: opened.identity.clusterID,
                                         methods: JobMaster.journaledMethods, logger: context.logger)
        // Planning asks the file-system masters for listings (every plan but UfsCopy); with none
        // reachable a plan fails within half a minute rather than the client's full retry budget.
        let fileSystemConfiguration = try configuration.setting(.userRpcRetryMaxDuration,
                                                                to: "\(min(configuration.duration(.userRpcRetryMaxDuration), .seconds(30)).milliseconds)ms")
        let fileSystem: FileSystemClient
        do {
            fileSystem = FileSystemClient(locator: try MasterLocator.configured(fileSystemConfiguration), configuration: fileSystemConfiguration)
        } catch {
            throw ServiceStartError("\(error)")
        }
        let master = JobMaster(journaled: journaled, planner: JobPlanner(fileSystem: fileSystem),
                               settings: JobMasterSettings(configuration: configuration), logger: context.logger)
        var services: [any Service] = [JobMasterWork(master: master)]
        if configuration.boolean(.masterJournalExitOnDemotion) {
            let logger = context.logger
            services.append(DemotionWatcher(journal: opened.journal) {
                logger.notice("lost leadership; exiting (strata.master.journal.exit.on.demotion=true)")
                exit(0)
            })
        }
        let web = JobMasterWebUI(master: master, configuration: configuration, metrics: context.metrics)
        var handlers: [String: @Sendable (inout RPCHandlers) -> Void] = ["rpc": { master.register(into: &$0) }]
        if let journalHandlers = opened.journalHandlers { handlers["embedded-journal"] = journalHandlers }
        return ServiceParts(
            handlers: handlers,
            foundation: [JournalService(journal: opened.journal)],
            services: services,
            role: { master.role() },
            web: { await web.handle($0) })
    }
))
