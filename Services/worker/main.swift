import ServiceLifecycle
import StrataBlock
import StrataClient
import StrataCore
import StrataJobWorker
import StrataRuntime
import StrataWire
import StrataWorker

// strata-worker: the block worker and the job worker. The block worker caches blocks in its
// tiers, serves reads and writes on its RPC/data port, and reports to every master; the job
// worker runs the job service's tasks. Either role may run alone: strata.worker.block.enabled=false
// for a job-service-only host, strata.job.worker.enabled=false for a host without jobs.
await ServiceProcess.main(ServiceProcessDescription(
    kind: .worker, hostname: .workerHostname,
    web: ServiceEndpoint(name: "web", bindHost: .workerBindHost, port: .workerWebPort),
    endpoints: { configuration in
        var endpoints: [ServiceEndpoint] = []
        if configuration.boolean(.workerBlockEnabled) {
            endpoints.append(ServiceEndpoint(name: "rpc", bindHost: .workerBindHost, port: .workerRpcPort))
        }
        if configuration.boolean(.jobWorkerEnabled) {
            endpoints.append(ServiceEndpoint(name: "job-worker-rpc", bindHost: .workerBindHost, port: .jobWorkerRpcPort))
        }
        return endpoints
    },
    prepare: { context in try await prepareWorker(context) }
))

/// Builds the roles this worker runs.
func prepareWorker(_ context: ServiceContext) async throws -> ServiceParts {
    let configuration = context.configuration
    guard configuration.boolean(.workerBlockEnabled) || configuration.boolean(.jobWorkerEnabled) else {
        throw ServiceStartError("strata.worker.block.enabled=false and strata.job.worker.enabled=false leave this worker nothing to do")
    }
    let hostname = configuration.string(.workerHostname)
    var parts = ServiceParts()
    var blockWorker: BlockWorker? = nil
    var blockAddress: WorkerAddress? = nil
    var sync: MasterSync? = nil
    if configuration.boolean(.workerBlockEnabled) {
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
        let address = WorkerAddress(host: hostname, rpcPort: UInt32(configuration.integer(.workerRpcPort)),
                                    webPort: UInt32(configuration.integer(.workerWebPort)))
        let masterSync = MasterSync(masters: masters, discover: discover, worker: worker, address: address,
                                    interval: configuration.duration(.workerBlockHeartbeatInterval),
                                    frameSizeMaxBytes: Int(configuration.sizeBytes(.networkMaxInboundMessageSize)), logger: context.logger)
        await worker.setAnnounce { sequence in await masterSync.announce(through: sequence) }
        parts.handlers["rpc"] = { worker.register(into: &$0) }
        parts.services += [masterSync, WorkerShutdown(worker: worker)]
        blockWorker = worker
        blockAddress = address
        sync = masterSync
    }
    var jobWorker: JobWorker? = nil
    if configuration.boolean(.jobWorkerEnabled) {
        // A heartbeat that finds no leader is tried again at the next interval, not retried
        // for the client's whole budget.
        let heartbeatConfiguration = try configuration.setting(.userRpcRetryMaxDuration, to: "5s")
        let jobMasters: ServiceClient
        let fileSystem: FileSystemClient
        do {
            jobMasters = ServiceClient(locator: try MasterLocator.configured(heartbeatConfiguration, domain: .jobMaster), domain: .jobMaster,
                                       infoMethod: JobMasterMethods.getMasterInfo, configuration: heartbeatConfiguration)
            fileSystem = FileSystemClient(locator: try MasterLocator.configured(configuration), configuration: configuration)
        } catch {
            throw ServiceStartError("\(error)")
        }
        let runner = TaskRunner(fileSystem: fileSystem, blockWorker: blockWorker, blockWorkerAddress: blockAddress,
                                dataOptions: DataOptions(configuration), logger: context.logger)
        let worker = JobWorker(jobMasters: jobMasters, runner: runner,
                               address: HostAndPort(host: hostname, port: configuration.integer(.jobWorkerRpcPort)),
                               poolSize: configuration.integer(.jobWorkerThreadpoolSize),
                               interval: configuration.duration(.jobMasterWorkerHeartbeatInterval), logger: context.logger)
        parts.services.append(worker)
        jobWorker = worker
    }
    var jobStatus: JobWorkerStatus? = nil
    if let jobWorker { jobStatus = { jobWorker.status } }
    let web = WorkerWebUI(worker: blockWorker, sync: sync, jobWorker: jobStatus,
                          address: blockAddress, configuration: configuration, metrics: context.metrics)
    parts.web = { await web.handle($0) }
    return parts
}

/// Closes open block and under-storage writes when the worker stops.
struct WorkerShutdown: Service {
    let worker: BlockWorker
    func run() async throws {
        try? await gracefulShutdown()
        await worker.shutdown()
    }
}
