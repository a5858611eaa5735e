import Foundation
import Logging
import NIOCore
import Metrics
import Prometheus
import ServiceLifecycle
import StrataCore
import StrataWire

/// One listening port of a service process and the properties that place it.
public struct ServiceEndpoint: Sendable {
    /// The port's name in ServiceInfo: "rpc", "embedded-journal", "job-worker-rpc".
    public let name: String
    public let bindHost: PropertyKey
    public let port: PropertyKey

    public init(name: String, bindHost: PropertyKey, port: PropertyKey) {
        self.name = name
        self.bindHost = bindHost
        self.port = port
    }
}

/// What a service adds to the shell: RPC handlers per endpoint, long-running services, and
/// its current role for ServiceInfo.
public struct ServiceParts: Sendable {
    /// Registers handlers on the endpoint with this name ("rpc", "embedded-journal", …).
    public var handlers: [String: @Sendable (inout RPCHandlers) -> Void] = [:]
    /// What everything else stands on (the journal): started before the RPC servers and stopped
    /// after them, so nothing in flight proposes to a stopped journal.
    public var foundation: [any Service] = []
    /// Run beside the servers; they stop on graceful shutdown, before the servers.
    public var services: [any Service] = []
    /// The role reported in ServiceInfo ("LEADER", "STANDBY", …).
    public var role: (@Sendable () async -> String)?
    /// The service's web pages and JSON API (beside the shell's /health, /api/v1/info,
    /// /api/v1/configuration and /metrics).
    public var web: WebHandler?

    public init(handlers: [String: @Sendable (inout RPCHandlers) -> Void] = [:], foundation: [any Service] = [], services: [any Service] = [],
                role: (@Sendable () async -> String)? = nil, web: WebHandler? = nil) {
        self.handlers = handlers
        self.foundation = foundation
        self.services = services
        self.role = role
        self.web = web
    }
}

/// What a service needs from the shell to prepare its parts.
public struct ServiceContext: Sendable {
    public let configuration: Configuration
    public let logger: Logger
    public let nodeID: String
    /// The process's metrics in the Prometheus text format (for its Metrics page).
    public let metrics: @Sendable () -> String
    /// `-i BACKUP`: the backup to restore from, for services that restore (masters, job masters).
    public var importPath: String? = nil
}

/// A start-up failure a service reports: printed as one line, exit code 2.
public struct ServiceStartError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What distinguishes one service executable from another: its kind, the property naming its
/// host, the endpoints it binds given its configuration, and its own parts.
public struct ServiceProcessDescription: Sendable {
    public let kind: ServiceKind
    public let hostname: PropertyKey
    /// The web port (health and status now; the web UI later).
    public let web: ServiceEndpoint
    /// The RPC endpoints to bind; the first is the process's RPC port and part of its node id.
    public let endpoints: @Sendable (Configuration) -> [ServiceEndpoint]
    /// Builds the service's handlers and services (journal, namespace, …) before ports are bound.
    public let prepare: @Sendable (ServiceContext) async throws -> ServiceParts
    /// Whether `-i BACKUP` (restore from a backup) is an argument of this executable.
    public let restores: Bool

    public init(kind: ServiceKind, hostname: PropertyKey, web: ServiceEndpoint,
                endpoints: @escaping @Sendable (Configuration) -> [ServiceEndpoint], restores: Bool = false,
                prepare: @escaping @Sendable (ServiceContext) async throws -> ServiceParts = { _ in ServiceParts() }) {
        self.restores = restores
        self.kind = kind
        self.hostname = hostname
        self.web = web
        self.endpoints = endpoints
        self.prepare = prepare
    }
}

/// The shell every service executable runs: configuration, logging, RPC servers, and graceful
/// shutdown on SIGTERM/SIGINT through swift-service-lifecycle.
public enum ServiceProcess {
    /// Runs the process described by `description` until it is told to stop, then exits.
    /// Start-up failures (a bad property, a port in use) print one line and exit non-zero.
    public static func main(_ description: ServiceProcessDescription, arguments: [String] = CommandLine.arguments) async -> Never {
        let name = description.kind.description
        let configuration: Configuration
        var importPath: String?
        do {
            var (properties, rest) = try Configuration.splitPropertyArguments(Array(arguments.dropFirst()))
            if rest.contains("--help") || rest.contains("-h") {
                print("usage: \(name) [-Dstrata.property=value ...]\(description.restores ? " [-i BACKUP]" : "")\n\nConfiguration is read from $STRATA_CONF_DIR/strata-site.properties (else ./conf),\nthe environment (STRATA_MASTER_RPC_PORT=...) and -D arguments, in rising precedence.\(description.restores ? "\n-i BACKUP: on a formatted journal, the first to lead restores the backup (a file or under-storage location)." : "")")
                exit(0)
            }
            if description.restores, let flag = rest.firstIndex(of: "-i") {
                guard flag + 1 < rest.count else { fail(name, "-i needs the backup file to restore from", code: 2) }
                importPath = rest[flag + 1]
                rest.removeSubrange(flag...(flag + 1))
            }
            if rest.contains("--version") {
                print("\(name) \(StrataVersion.release)")
                exit(0)
            }
            if let unknown = rest.first {
                fail(name, "unknown argument '\(unknown)' (expected -Dstrata.property=value, --help or --version)", code: 2)
            }
            configuration = try Configuration.load(environment: ProcessInfo.processInfo.environment, arguments: properties)
        } catch {
            fail(name, "\(error)", code: 2)
        }

        StrataLogging.bootstrap(level: StrataLogging.level(named: configuration.string(.logLevel)))
        let endpoints = description.endpoints(configuration)
        precondition(!endpoints.isEmpty, "\(name) declares no endpoints")
        let hostname = configuration.string(description.hostname)
        let nodeID = "\(name.replacingOccurrences(of: "strata-", with: ""))@\(hostname):\(configuration.integer(endpoints[0].port))"
        let logger = Logger(label: nodeID)
        for warning in configuration.warnings { logger.warning("\(warning)") }

        // Check every port before preparing the service (which opens journals and logs), so that
        // a port in use is reported as the one and only line.
        for endpoint in endpoints + [description.web] {
            let host = configuration.string(endpoint.bindHost)
            let port = configuration.integer(endpoint.port)
            do {
                try await RPCServer.checkPortFree(host: host, port: port)
            } catch {
                fail(name, "\(error) (\(endpoint.port.name))", code: 1)
            }
        }
        // Metrics (swift-metrics) go to a Prometheus registry, exposed at /metrics.
        let metricsRegistry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metricsRegistry))
        let parts: ServiceParts
        do {
            parts = try await description.prepare(ServiceContext(configuration: configuration, logger: logger, nodeID: nodeID,
                                                                 metrics: { metricsRegistry.emitToString() }, importPath: importPath))
        } catch {
            fail(name, "\(error)", code: 2)
        }
        let identity = ServiceIdentity(kind: description.kind, nodeID: nodeID, hostname: hostname,
                                       startTime: Date(), startInstant: .now, role: parts.role)
        let standard = StandardHandlers.make(identity: identity, configuration: configuration)
        let frameSizeMaxBytes = Int(configuration.sizeBytes(.networkMaxInboundMessageSize))

        var servers: [RPCServer] = []
        for endpoint in endpoints {
            let host = configuration.string(endpoint.bindHost)
            let port = configuration.integer(endpoint.port)
            var handlers = standard
            parts.handlers[endpoint.name]?(&handlers)
            do {
                let server = try await RPCServer.bind(host: host, port: port, handlers: handlers,
                                                      frameSizeMaxBytes: frameSizeMaxBytes, logger: logger)
                servers.append(server)
                identity.ports.withLockedValue { $0.append(NamedPort(name: endpoint.name, port: UInt32(server.localAddress.port))) }
            } catch {
                fail(name, "\(error) (\(endpoint.port.name))", code: 1)
            }
        }
        let listening = servers.enumerated().map { "\(endpoints[$0.offset].name) \($0.element.localAddress)" }
        let webHost = configuration.string(description.web.bindHost)
        let webPort = configuration.integer(description.web.port)
        // The process serves once the web port is bound too; only then does it say so.
        let servingBell = Doorbell()
        let web = StatusWebServer.make(identity: identity, configuration: configuration, host: webHost, port: webPort,
                                       logger: logger, metrics: metricsRegistry, pages: parts.web) { [logger] boundPort in
            identity.ports.withLockedValue { $0.append(NamedPort(name: description.web.name, port: UInt32(boundPort))) }
            identity.serving.withLockedValue { $0 = true }
            logger.info("\(name) \(StrataVersion.release) serving (pid \(getpid())): \((listening + ["\(description.web.name) \(webHost):\(boundPort)"]).joined(separator: ", "))")
            logger.info("configuration from \(configuration.sitePropertiesPath ?? "defaults, environment and arguments (no strata-site.properties)")")
            // Serving (a standby answers too): a Type=notify unit becomes active only now.
            servingBell.ring()
        }

        // swift-service-lifecycle stops services in reverse order: the web port first, then the
        // service's own work, then the RPC servers, and the journal last.
        let group = ServiceGroup(
            services: parts.foundation + servers.map { RPCServerService(server: $0) } + parts.services + [web, SystemdNotifier(logger: logger, serving: servingBell)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        do {
            try await group.run()
        } catch {
            if !identity.serving.withLockedValue({ $0 }) {
                let reason = "\(error)".contains("Address already in use") ? "address already in use" : "\(error)"
                fail(name, "cannot listen on \(webHost):\(webPort): \(reason) (\(description.web.port.name))", code: 1)
            }
            logger.error("stopped with an error: \(error)")
            exit(1)
        }
        logger.info("\(name) stopped")
        exit(0)
    }

    private static func fail(_ name: String, _ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
        exit(code)
    }
}

/// An RPC server as a swift-service-lifecycle service: it stops accepting on graceful shutdown.
struct RPCServerService: Service {
    let server: RPCServer

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await server.run()
            }
        } catch is CancellationError {
            // Graceful shutdown: the port is closed and connections are gone.
        }
    }
}

/// Ends a service's `OwnedTasks` on graceful shutdown (before the servers and the journal stop),
/// waiting for them: put it among `ServiceParts.services`.
public struct OwnedTasksService: Service {
    let tasks: OwnedTasks

    public init(_ tasks: OwnedTasks) {
        self.tasks = tasks
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await tasks.shutdown()
    }
}
