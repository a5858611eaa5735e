import ArgumentParser
import NIOCore
import NIOPosix

/// A TCP proxy that holds every byte for a fixed time before passing it on, both ways: added
/// latency for the fault campaign, since this kernel has no `netem`. `TestNetwork.delay` runs one
/// per host and redirects the connections to delay through it (iptables REDIRECT).
@main
struct DelayProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata-delay-proxy",
        abstract: "Forward TCP connections, delaying every byte in both directions.")

    @Option(help: "Milliseconds each byte is held, in each direction.")
    var delayMs: Int

    @Option(parsing: .upToNextOption, help: "LISTEN_PORT=HOST:PORT: accept on LISTEN_PORT (all addresses), connect to HOST:PORT.")
    var forward: [String]

    struct Route {
        let listenPort: Int
        let host: String
        let port: Int
    }

    func routes() throws -> [Route] {
        try forward.map { text in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let listen = Int(parts[0]), (1...65535).contains(listen),
                  let colon = parts[1].lastIndex(of: ":"), let port = Int(parts[1][parts[1].index(after: colon)...]), (1...65535).contains(port)
            else { throw ValidationError("--forward takes LISTEN_PORT=HOST:PORT, not '\(text)'") }
            return Route(listenPort: listen, host: String(parts[1][..<colon]), port: port)
        }
    }

    func validate() throws {
        guard (0...60_000).contains(delayMs) else { throw ValidationError("--delay-ms must be 0–60000, got \(delayMs)") }
        guard !forward.isEmpty else { throw ValidationError("--forward names no route") }
        _ = try routes()
    }

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let delay = TimeAmount.milliseconds(Int64(delayMs))
        var servers: [any Channel] = []
        for route in try routes() {
            let server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { inbound in
                    ClientBootstrap(group: inbound.eventLoop)
                        .channelOption(.socketOption(.tcp_nodelay), value: 1)
                        .connectTimeout(.seconds(2))
                        .channelInitializer { outbound in
                            outbound.eventLoop.makeCompletedFuture { try outbound.pipeline.syncOperations.addHandler(DelayedRelay(delay: delay, to: inbound)) }
                        }
                        .connect(host: route.host, port: route.port)
                        .flatMapThrowing { outbound in
                            try inbound.pipeline.syncOperations.addHandler(DelayedRelay(delay: delay, to: outbound))
                        }
                }
                .bind(host: "0.0.0.0", port: route.listenPort)
                .get()
            servers.append(server)
        }
        print("strata-delay-proxy: \(delayMs) ms each way on \(forward.joined(separator: ", "))")
        for server in servers { try await server.closeFuture.get() }
    }
}

/// Passes what one side reads to the other `delay` later, in order; a close follows the data
/// read before it.
final class DelayedRelay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let delay: TimeAmount
    let peer: any Channel
    private var queue: [(due: NIODeadline, bytes: ByteBuffer?)] = []  // nil: close
    private var drainScheduled = false

    init(delay: TimeAmount, to peer: any Channel) {
        self.delay = delay
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        enqueue(unwrapInboundIn(data), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        enqueue(nil, context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func enqueue(_ bytes: ByteBuffer?, context: ChannelHandlerContext) {
        queue.append((.now() + delay, bytes))
        scheduleDrain(context: context)
    }

    private func scheduleDrain(context: ChannelHandlerContext) {
        guard !drainScheduled, let first = queue.first else { return }
        drainScheduled = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(deadline: first.due) {
            let (relay, context) = bound.value
            relay.drainScheduled = false
            relay.drain(context: context)
        }
    }

    private func drain(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        var wrote = false
        while let first = queue.first, first.due <= now {
            queue.removeFirst()
            guard let bytes = first.bytes else {
                peer.close(promise: nil)
                queue = []
                return
            }
            peer.write(bytes, promise: nil)
            wrote = true
        }
        if wrote { peer.flush() }
        scheduleDrain(context: context)
    }
}
