import StrataCore
import StrataRuntime

// strata-worker: the block worker, which also hosts the job-worker role.
await ServiceProcess.main(ServiceProcessDescription(
    kind: .worker, hostname: .workerHostname,
    web: ServiceEndpoint(name: "web", bindHost: .workerBindHost, port: .workerWebPort)
) { _ in
    [
        ServiceEndpoint(name: "rpc", bindHost: .workerBindHost, port: .workerRpcPort),
        ServiceEndpoint(name: "job-worker-rpc", bindHost: .workerBindHost, port: .jobWorkerRpcPort),
    ]
})
