import Foundation
import Logging
import ServiceLifecycle
import StrataClient
import StrataCore
import StrataJournal
import StrataMaster
import StrataRuntime
import StrataUFS
import StrataWire

// strata-master: the file-system master. Its RPC port serves clients (the leader serves;
// standbys answer NOT_LEADER with the leader's address). On the embedded journal its journal port
// carries the MASTER quorum's Raft traffic; on the UFS journal the journal is a shared folder and
// ZooKeeper elects the leader.
await ServiceProcess.main(ServiceProcessDescription(
    kind: .master, hostname: .masterHostname,
    web: ServiceEndpoint(name: "web", bindHost: .masterBindHost, port: .masterWebPort),
    endpoints: { configuration in
        var endpoints = [ServiceEndpoint(name: "rpc", bindHost: .masterBindHost, port: .masterRpcPort)]
        if ServiceJournals.usesEmbeddedJournal(configuration) {
            endpoints.append(ServiceEndpoint(name: "embedded-journal", bindHost: .masterBindHost, port: .masterEmbeddedJournalPort))
        }
        return endpoints
    },
    restores: true,
    prepare: { context in
        let configuration = context.configuration
        try ServiceJournals.validate(configuration)
        let schedule = configuration.boolean(.masterDailyBackupEnabled) ? try DailyBackupService.Schedule(configuration: configuration) : nil
        let rootUFS = configuration.string(.masterMountTableRootUFS)
        do {
            try openUnderFileSystem(rootUFS).checkAccessible()
        } catch {
            throw ServiceStartError("root under storage (strata.master.mount.table.root.ufs): \(error)")
        }
        let stateMachine = NamespaceStateMachine(rootUFS: rootUFS, logger: context.logger)
        let opened = try await ServiceJournals.openService(domain: .master, configuration: configuration, stateMachine: stateMachine,
                                                           section: .namespace, methods: FileSystemMaster.journaledMethods, logger: context.logger)
        let master = FileSystemMaster(journaled: opened.journaled, rootUFS: rootUFS, logger: context.logger)
        let restoring = try await opened.restoring(from: context.importPath, section: .namespace, emptyEntries: 1, logger: context.logger)
        let blockMaster = BlockMaster(namespace: master, workerTimeout: configuration.duration(.masterWorkerTimeout), logger: context.logger)
        // Backups hold the job table too, asked of the leading job master (within ten seconds).
        let jobConfiguration = try configuration.setting(.userRpcRetryMaxDuration, to: "10s")
        let jobs = JobClient(locator: try MasterLocator.configured(jobConfiguration, domain: .jobMaster), configuration: jobConfiguration)
        let backups = MasterBackups(master: master, settings: MasterBackups.Settings(configuration: configuration),
                                    exportJobTable: { try await jobs.exportTable() }, logger: context.logger)
        let daily: [any Service] = schedule.map { [DailyBackupService(backups: backups, schedule: $0)] } ?? []
        let web = MasterWebUI(fileSystem: master, blockMaster: blockMaster, configuration: configuration, metrics: context.metrics)
        return ServiceParts(
            handlers: opened.handlers(["rpc": { master.register(into: &$0); blockMaster.register(into: &$0); backups.register(into: &$0) }]),
            foundation: opened.foundation,
            services: [BlockMasterService(blockMaster: blockMaster), OwnedTasksService(backups.background)] + opened.watchers + restoring + daily,
            role: { await master.role() },
            web: { await web.handle($0) })
    }
))
