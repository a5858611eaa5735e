import Logging
import ServiceLifecycle
import StrataCore
import StrataJournal
import StrataMaster
import StrataRuntime
import StrataUFS

// strata-secondary-master: replays the UFS journal like a standby and writes its checkpoints
// (then removes the logs they cover), but never runs for leader. With a single master there is
// no standby to do this, so the log would otherwise grow without end.
await ServiceProcess.main(ServiceProcessDescription(
    kind: .secondaryMaster, hostname: .masterHostname,
    web: ServiceEndpoint(name: "web", bindHost: .masterBindHost, port: .secondaryMasterWebPort),
    endpoints: { _ in [ServiceEndpoint(name: "rpc", bindHost: .masterBindHost, port: .secondaryMasterRpcPort)] },
    prepare: { context in
        let configuration = context.configuration
        guard configuration.string(.masterJournalType) == "UFS" else {
            throw ServiceStartError("the secondary master checkpoints a UFS journal (strata.master.journal.type=UFS); with the EMBEDDED journal every master checkpoints its own")
        }
        let folder = configuration.string(.masterJournalFolder)
        let expected = configuration.isSet(.clusterID) ? try JournalIdentity.clusterID(fromHex: configuration.string(.clusterID)) : nil
        let identity = try JournalIdentity.read(from: folder, expectedClusterID: expected)
        var options = try UFSJournalOptions(properties: configuration, domain: .master, identity: identity)
        options.mayLead = false
        options.takesCheckpoints = true
        let stateMachine = NamespaceStateMachine(rootUFS: configuration.string(.masterMountTableRootUFS), logger: context.logger)
        let journal = try await UFSJournal(options: options, stateMachine: stateMachine, logger: context.logger)
        return ServiceParts(foundation: [SecondaryJournalService(journal: journal)], role: { "SECONDARY" })
    }
))

/// Runs the journal (replay and checkpoints) until graceful shutdown.
struct SecondaryJournalService: Service {
    let journal: UFSJournal

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await journal.run() }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        await journal.shutdown()
    }
}
