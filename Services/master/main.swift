import StrataCore
import StrataRuntime

// strata-master: the file-system master. Its RPC port serves clients; its embedded-journal port
// carries the MASTER quorum's Raft traffic when the journal is EMBEDDED.
await ServiceProcess.main(ServiceProcessDescription(
    kind: .master, hostname: .masterHostname,
    web: ServiceEndpoint(name: "web", bindHost: .masterBindHost, port: .masterWebPort)
) { configuration in
    var endpoints = [ServiceEndpoint(name: "rpc", bindHost: .masterBindHost, port: .masterRpcPort)]
    if configuration.string(.masterJournalType) == "EMBEDDED" {
        endpoints.append(ServiceEndpoint(name: "embedded-journal", bindHost: .masterBindHost, port: .masterEmbeddedJournalPort))
    }
    return endpoints
})
