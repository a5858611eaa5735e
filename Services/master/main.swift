import Foundation
import Logging
import ServiceLifecycle
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
        if configuration.string(.masterJournalType) == "EMBEDDED" {
            endpoints.append(ServiceEndpoint(name: "embedded-journal", bindHost: .masterBindHost, port: .masterEmbeddedJournalPort))
        }
        return endpoints
    },
    prepare: { context in
        let configuration = context.configuration
        let journalType = configuration.string(.masterJournalType)
        let zooKeeper = configuration.boolean(.zookeeperEnabled)
        if journalType == "EMBEDDED" && zooKeeper {
            throw ServiceStartError("strata.zookeeper.enabled=true cannot be combined with strata.master.journal.type=EMBEDDED: the embedded journal elects its own leader; use strata.master.journal.type=UFS with ZooKeeper, or disable ZooKeeper")
        }
        if journalType == "UFS" && !zooKeeper {
            throw ServiceStartError("strata.master.journal.type=UFS needs ZooKeeper to elect the leader: set strata.zookeeper.enabled=true and strata.zookeeper.address")
        }
        let folder = configuration.string(.masterJournalFolder)
        // With strata.cluster.id configured, the journal must belong to that cluster.
        let expected = configuration.isSet(.clusterID) ? try JournalIdentity.clusterID(fromHex: configuration.string(.clusterID)) : nil
        let identity = try JournalIdentity.read(from: folder, expectedClusterID: expected)
        let hostname = configuration.string(.masterHostname)
        let rpcAddress = HostAndPort(host: hostname, port: configuration.integer(.masterRpcPort))

        let rootUFS = configuration.string(.masterMountTableRootUFS)
        do {
            try openUnderFileSystem(rootUFS).checkAccessible()
        } catch {
            throw ServiceStartError("root under storage (strata.master.mount.table.root.ufs): \(error)")
        }
        let stateMachine = NamespaceStateMachine(rootUFS: rootUFS, logger: context.logger)
        let journal: any MasterJournal
        let directory: MasterDirectory
        var handlers: [String: @Sendable (inout RPCHandlers) -> Void] = [:]
        if journalType == "EMBEDDED" {
            let journalAddress = HostAndPort(host: hostname, port: configuration.integer(.masterEmbeddedJournalPort))
            let journalConfiguration = try RaftNodeConfiguration(properties: configuration, domain: .master, address: journalAddress, clusterID: identity.clusterID)
            directory = MasterDirectory(configured: try MasterAddresses.rpcAddressOfJournal(configuration))
            let node = try await RaftNode(configuration: journalConfiguration, stateMachine: stateMachine, logger: context.logger)
            journal = EmbeddedMasterJournal(node: node, directory: directory)
            handlers["embedded-journal"] = { node.register(into: &$0) }
        } else {
            directory = MasterDirectory(configured: [:])
            let ufsOptions = try UFSJournalOptions(properties: configuration, identity: identity)
            let ufsJournal = try await UFSJournal(options: ufsOptions, stateMachine: stateMachine, logger: context.logger)
            let election = ZooKeeperLeaderElection(options: try ZooKeeperElectionOptions(properties: configuration, candidate: rpcAddress.description),
                                                   logger: context.logger)
            journal = UFSMasterJournal(journal: ufsJournal, election: election, logger: context.logger)
        }
        let master = FileSystemMaster(journal: journal, stateMachine: stateMachine, directory: directory,
                                      thisRPCAddress: rpcAddress, clusterID: identity.clusterID, rootUFS: rootUFS, logger: context.logger)
        let blockMaster = BlockMaster(fileSystem: master, workerTimeout: configuration.duration(.masterWorkerTimeout), logger: context.logger)
        var services: [any Service] = [JournalService(journal: journal), BlockMasterService(blockMaster: blockMaster)]
        if configuration.boolean(.masterJournalExitOnDemotion) {
            let logger = context.logger
            services.append(DemotionWatcher(journal: journal) {
                logger.notice("lost leadership; exiting (strata.master.journal.exit.on.demotion=true)")
                exit(0)
            })
        }
        let web = MasterWebUI(fileSystem: master, blockMaster: blockMaster, configuration: configuration, metrics: context.metrics)
        handlers["rpc"] = { master.register(into: &$0); blockMaster.register(into: &$0) }
        return ServiceParts(
            handlers: handlers,
            services: services,
            role: { await master.role() },
            web: { await web.handle($0) })
    }
))
