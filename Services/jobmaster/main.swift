import StrataCore
import StrataRuntime

// strata-jobmaster: the job master, with its own Raft quorum on the job-master journal port.
await ServiceProcess.main(ServiceProcessDescription(
    kind: .jobMaster, hostname: .jobMasterHostname,
    web: ServiceEndpoint(name: "web", bindHost: .jobMasterBindHost, port: .jobMasterWebPort)
) { _ in
    [
        ServiceEndpoint(name: "rpc", bindHost: .jobMasterBindHost, port: .jobMasterRpcPort),
        ServiceEndpoint(name: "embedded-journal", bindHost: .jobMasterBindHost, port: .jobMasterEmbeddedJournalPort),
    ]
})
