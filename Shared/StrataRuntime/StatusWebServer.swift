import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import StrataCore
import StrataWire

/// The process's web port: health, identity, configuration and metrics for every process; the
/// service's own pages (the web UI) and JSON API for everything else.
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
        metrics: PrometheusCollectorRegistry, pages: WebHandler?,
        onRunning: @escaping @Sendable (Int) async -> Void
    ) -> some Service {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
        }
        // Everything else: the service's own pages and API.
        let serve: @Sendable (Request) async -> Response = { request in
            var query: [String: String] = [:]
            for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
            guard let pages, let answer = await pages(WebRequest(path: request.uri.path, query: query)) else {
                return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "no page at \(request.uri.path)\n")))
            }
            var headers = HTTPFields()
            headers[.contentType] = answer.contentType
            return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        // The router does not fall back from /api/v1/… to a wildcard, so the service's pages are
        // served by a middleware when no route of the shell's matched.
        router.add(middleware: ServicePagesMiddleware(serve: serve))
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

/// Hands requests no shell route answers to the service's pages.
struct ServicePagesMiddleware<Context: RequestContext>: RouterMiddleware {
    let serve: @Sendable (Request) async -> Response

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return await serve(request)
        }
    }
}
