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
    restores: true,
    prepare: { context in
        let configuration = context.configuration
        try ServiceJournals.validate(configuration)
        let stateMachine = JobStateMachine(logger: context.logger)
        let opened = try await ServiceJournals.openService(domain: .jobMaster, configuration: configuration, stateMachine: stateMachine,
                                                           section: .jobTable, methods: JobMaster.journaledMethods, logger: context.logger)
        let restoring = try await opened.restoring(from: context.importPath, section: .jobTable, emptyEntries: 0, logger: context.logger)
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
        let master = JobMaster(journaled: opened.journaled, planner: JobPlanner(fileSystem: fileSystem),
                               settings: JobMasterSettings(configuration: configuration), logger: context.logger)
        let web = JobMasterWebUI(master: master, configuration: configuration, metrics: context.metrics)
        return ServiceParts(
            handlers: opened.handlers(["rpc": { master.register(into: &$0) }]),
            foundation: opened.foundation,
            services: [JobMasterWork(master: master)] + opened.watchers + restoring,
            role: { master.role() },
            web: { await web.handle($0) })
    }
))
