import Foundation
import Logging
import ServiceLifecycle
import StrataCore
import StrataJournal
import StrataMaster
import StrataRuntime
import StrataUFS

// strata-master: the file-system master. Its RPC port serves clients (the journal leader serves;
// standbys answer NOT_LEADER with the leader's address); its embedded-journal port carries the
// MASTER quorum's Raft traffic.
await ServiceProcess.main(ServiceProcessDescription(
    kind: .master, hostname: .masterHostname,
    web: ServiceEndpoint(name: "web", bindHost: .masterBindHost, port: .masterWebPort),
    endpoints: { _ in
        [
            ServiceEndpoint(name: "rpc", bindHost: .masterBindHost, port: .masterRpcPort),
            ServiceEndpoint(name: "embedded-journal", bindHost: .masterBindHost, port: .masterEmbeddedJournalPort),
        ]
    },
    prepare: { context in
        let configuration = context.configuration
        guard configuration.string(.masterJournalType) == "EMBEDDED" else {
            throw ServiceStartError("strata.master.journal.type=\(configuration.string(.masterJournalType)) is not available in this build; use EMBEDDED")
        }
        let folder = configuration.string(.masterJournalFolder)
        // With strata.cluster.id configured, the journal must belong to that cluster.
        let expected = configuration.isSet(.clusterID) ? try JournalIdentity.clusterID(fromHex: configuration.string(.clusterID)) : nil
        let identity = try JournalIdentity.read(from: folder, expectedClusterID: expected)
        let hostname = configuration.string(.masterHostname)
        let journalAddress = HostAndPort(host: hostname, port: configuration.integer(.masterEmbeddedJournalPort))
        let rpcAddress = HostAndPort(host: hostname, port: configuration.integer(.masterRpcPort))
        let journalConfiguration = try RaftNodeConfiguration(properties: configuration, domain: .master, address: journalAddress, clusterID: identity.clusterID)

        let rootUFS = configuration.string(.masterMountTableRootUFS)
        do {
            try openUnderFileSystem(rootUFS).checkAccessible()
        } catch {
            throw ServiceStartError("root under storage (strata.master.mount.table.root.ufs): \(error)")
        }
        let rpcAddresses = try MasterAddresses.rpcAddressOfJournal(configuration)
        let stateMachine = NamespaceStateMachine(rootUFS: rootUFS, logger: context.logger)
        let node = try await RaftNode(configuration: journalConfiguration, stateMachine: stateMachine, logger: context.logger)
        let master = FileSystemMaster(node: node, stateMachine: stateMachine, rpcAddressOfJournal: rpcAddresses,
                                      thisRPCAddress: rpcAddress, clusterID: identity.clusterID, rootUFS: rootUFS, logger: context.logger)
        let blockMaster = BlockMaster(fileSystem: master, workerTimeout: configuration.duration(.masterWorkerTimeout), logger: context.logger)
        var services: [any Service] = [JournalService(node: node), BlockMasterService(blockMaster: blockMaster)]
        if configuration.boolean(.masterJournalExitOnDemotion) {
            let logger = context.logger
            services.append(DemotionWatcher(node: node) {
                logger.notice("lost leadership; exiting (strata.master.journal.exit.on.demotion=true)")
                exit(0)
            })
        }
        let web = MasterWebUI(fileSystem: master, blockMaster: blockMaster, configuration: configuration, metrics: context.metrics)
        return ServiceParts(
            handlers: ["rpc": { master.register(into: &$0); blockMaster.register(into: &$0) }, "embedded-journal": { node.register(into: &$0) }],
            services: services,
            role: { await master.role() },
            web: { await web.handle($0) })
    }
))

