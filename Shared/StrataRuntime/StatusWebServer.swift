import Hummingbird
import Logging
import ServiceLifecycle
import StrataCore
import StrataWire

/// The process's web port: health and identity as JSON now; the web UI (issue #6) grows here.
///
/// `GET /health` answers 200 `OK` once the process serves (503 before), for load balancers,
/// compose health checks and systemd; `GET /api/v1/info` and `GET /api/v1/configuration` give
/// the same data as the GetServiceInfo and GetConfiguration RPCs.
enum StatusWebServer {
    struct Info: ResponseEncodable {
        let kind: String
        let version: String
        let nodeId: String
        let hostname: String
        let pid: UInt32
        let serving: Bool
        let role: String
        let uptimeMs: UInt64
        let ports: [String: UInt32]
    }

    struct Property: ResponseEncodable {
        let name: String
        let value: String
        let source: String
        let type: String
    }

    static func make(
        identity: ServiceIdentity, configuration: Configuration, host: String, port: Int, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void
    ) -> some Service {
        let router = Router()
        router.get("/health") { _, _ -> Response in
            identity.serving.withLockedValue { $0 }
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "OK\n")))
                : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "STARTING\n")))
        }
        router.get("/api/v1/info") { _, _ -> Info in
            let info = await identity.currentInfo()
            return Info(kind: info.kind.description, version: info.version, nodeId: info.nodeID, hostname: info.hostname,
                        pid: info.pid, serving: info.serving, role: info.role, uptimeMs: info.uptimeMilliseconds,
                        ports: Dictionary(info.ports.map { ($0.name, $0.port) }, uniquingKeysWith: { first, _ in first }))
        }
        router.get("/api/v1/configuration") { _, _ -> [Property] in
            PropertyKey.registry.map { key in
                let entry = configuration.entry(key)
                return Property(name: key.name, value: entry?.text ?? "", source: entry?.source.description ?? "UNSET", type: key.type.description)
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: identity.kind.description),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
