import ServiceLifecycle
import StrataBlock
import StrataClient
import StrataCore
import StrataRuntime
import StrataWire
import StrataWorker

// strata-worker: the block worker (which also hosts the job-worker role). It caches blocks in
// its tiers, serves reads and writes on its RPC/data port, and reports to every master.
await ServiceProcess.main(ServiceProcessDescription(
    kind: .worker, hostname: .workerHostname,
    web: ServiceEndpoint(name: "web", bindHost: .workerBindHost, port: .workerWebPort),
    endpoints: { _ in
        [
            ServiceEndpoint(name: "rpc", bindHost: .workerBindHost, port: .workerRpcPort),
            ServiceEndpoint(name: "job-worker-rpc", bindHost: .workerBindHost, port: .jobWorkerRpcPort),
        ]
    },
    prepare: { context in
        let configuration = context.configuration
        let tiers: [TierLayout]
        do { tiers = try TieredStorageConfiguration.tiers(configuration) } catch { throw ServiceStartError("\(error)") }
        let store: BlockStore
        do {
            store = try await BlockStore(tiers: tiers, dataFolder: configuration.string(.workerDataFolder), logger: context.logger)
        } catch {
            throw ServiceStartError("worker storage: \(error)")
        }
        let worker = BlockWorker(store: store, logger: context.logger)
        // With ZooKeeper, the masters are those in the election (asked again every few seconds).
        let locator: MasterLocator
        do { locator = try MasterLocator.configured(configuration) } catch { throw ServiceStartError("\(error)") }
        var masters: [HostAndPort] = []
        var discover: (@Sendable () async -> [HostAndPort])? = nil
        switch locator {
        case .addresses(let addresses): masters = addresses
        case .zooKeeper(let zooKeeper): discover = { await zooKeeper.masters() }
        }
        let address = WorkerAddress(host: configuration.string(.workerHostname), rpcPort: UInt32(configuration.integer(.workerRpcPort)),
                                    webPort: UInt32(configuration.integer(.workerWebPort)))
        let sync = MasterSync(masters: masters, discover: discover, worker: worker, address: address,
                              interval: configuration.duration(.workerBlockHeartbeatInterval),
                              frameSizeMaxBytes: Int(configuration.sizeBytes(.networkMaxInboundMessageSize)), logger: context.logger)
        await worker.setAnnounce { sequence in await sync.announce(through: sequence) }
        let web = WorkerWebUI(worker: worker, sync: sync, address: address, configuration: configuration, metrics: context.metrics)
        return ServiceParts(handlers: ["rpc": { worker.register(into: &$0) }], services: [sync, WorkerShutdown(worker: worker)],
                            web: { await web.handle($0) })
    }
))

/// Closes open block and under-storage writes when the worker stops.
struct WorkerShutdown: Service {
    let worker: BlockWorker
    func run() async throws {
        try? await gracefulShutdown()
        await worker.shutdown()
    }
}
