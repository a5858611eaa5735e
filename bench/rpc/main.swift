import Logging
import NIOCore
import NIOPosix
import StrataCore
import StrataWire

// RPC round trips per second on loopback for a small request, with 1 and 64 concurrent callers,
// beside a minimal raw TCP echo measured in the same run: the floor for this machine.
//
//   swift run -c release strata-bench-rpc [seconds-per-case] [--nio-executor] [--callers 1,64]
//
// --nio-executor runs Swift concurrency's tasks on NIO's event loops (NIO's documented global
// executor take-over) instead of the default pool: the difference is what the thread hops between
// the pool and the event loops cost (Strata's processes use the default pool).
//
// The raw echo sends fixed 36-byte messages (the size of a Strata frame header) and keeps 1 or
// 64 of them in flight on one connection; Strata sends 1 or 64 concurrent Echo calls with a
// 32-byte payload over one multiplexed connection, each a full protobuf-c encode/decode, frame
// checksum and call-id dispatch on both sides.

let takeover = CommandLine.arguments.contains("--nio-executor") ? NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() : false
let secondsPerCase = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 3 : 3
let group = MultiThreadedEventLoopGroup.singleton
let messageSizeBytes = 36

// MARK: Raw TCP echo

final class EchoServerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }
    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
}

/// Keeps `inflight` messages in flight until `deadline`, counting round trips and timing each.
final class EchoClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let inflight: Int
    let deadline: NIODeadline
    let done: EventLoopPromise<(count: Int, latencies: [Int64])>
    var pendingBytes = 0
    var sentAt: [NIODeadline] = []
    var count = 0
    var latencies: [Int64] = []
    var stopping = false

    init(inflight: Int, deadline: NIODeadline, done: EventLoopPromise<(count: Int, latencies: [Int64])>) {
        self.inflight = inflight
        self.deadline = deadline
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        for _ in 0..<inflight { send(context) }
        context.flush()
    }

    func send(_ context: ChannelHandlerContext) {
        sentAt.append(.now())
        context.write(wrapOutboundOut(ByteBuffer(repeating: 0x5A, count: messageSizeBytes)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pendingBytes += unwrapInboundIn(data).readableBytes
        let now = NIODeadline.now()
        while pendingBytes >= messageSizeBytes {
            pendingBytes -= messageSizeBytes
            count += 1
            latencies.append((now - sentAt.removeFirst()).nanoseconds / 1000)
            if now < deadline { send(context) } else { stopping = true }
        }
        if stopping && sentAt.isEmpty {
            done.succeed((count, latencies))
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
}

func rawEcho(inflight: Int) async throws -> Result {
    let server = try await ServerBootstrap(group: group)
        .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EchoServerHandler()) }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    let port = server.localAddress!.port!
    let eventLoop = group.next()
    let done = eventLoop.makePromise(of: (count: Int, latencies: [Int64]).self)
    let started = ContinuousClock.now
    let deadline = NIODeadline.now() + .milliseconds(Int64(secondsPerCase * 1000))
    _ = try await ClientBootstrap(group: eventLoop)
        .channelOption(.tcpOption(.tcp_nodelay), value: 1)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(EchoClientHandler(inflight: inflight, deadline: deadline, done: done))
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    let (count, latencies) = try await done.futureResult.get()
    let elapsed = ContinuousClock.now - started
    try await server.close()
    return Result(count: count, elapsed: elapsed, latenciesMicroseconds: latencies)
}

// MARK: Strata RPC

/// `immediate`: the echo handler runs on the connection's event loop as the request is read
/// (`registerImmediate`); otherwise in a task of its own, as every handler that waits does.
func strataRPC(callers: Int, immediate: Bool) async throws -> Result {
    var handlers = RPCHandlers()
    if immediate {
        handlers.registerImmediate(ServiceMethods.echo) { request, _ in EchoResponse(data: request.data) }
    } else {
        handlers.register(ServiceMethods.echo) { request, _ in EchoResponse(data: request.data) }
    }
    let server = try await RPCServer.bind(host: "127.0.0.1", port: 0, handlers: handlers, frameSizeMaxBytes: 1 << 20,
                                          logger: Logger(label: "bench"))
    return try await withThrowingTaskGroup(of: Void.self) { serving in
        serving.addTask { try await server.run() }
        let client = RPCClient(address: server.localAddress, frameSizeMaxBytes: 1 << 20)
        let request = EchoRequest(data: Array(repeating: 0x5A, count: 32))
        _ = try await client.call(ServiceMethods.echo, request) // connect and warm up
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int64(secondsPerCase * 1000))
        let perCaller = try await withThrowingTaskGroup(of: [Int64].self) { callersGroup in
            for _ in 0..<callers {
                callersGroup.addTask {
                    var latencies: [Int64] = []
                    latencies.reserveCapacity(200_000)
                    while ContinuousClock.now < deadline {
                        let sent = ContinuousClock.now
                        _ = try await client.call(ServiceMethods.echo, request)
                        latencies.append((ContinuousClock.now - sent).microseconds)
                    }
                    return latencies
                }
            }
            var all: [[Int64]] = []
            for try await latencies in callersGroup { all.append(latencies) }
            return all
        }
        let elapsed = ContinuousClock.now - started
        await client.close()
        serving.cancelAll()
        let latencies = perCaller.flatMap { $0 }
        return Result(count: latencies.count, elapsed: elapsed, latenciesMicroseconds: latencies)
    }
}

// MARK: Report

struct Result {
    let count: Int
    let elapsed: Duration
    let latenciesMicroseconds: [Int64]

    var perSecond: Double { Double(count) / (Double(elapsed.milliseconds) / 1000) }

    func percentile(_ fraction: Double) -> Int64 {
        let sorted = latenciesMicroseconds.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}

extension Duration {
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

func row(_ name: String, _ result: Result) -> String {
    pad(name, 26) + pad(String(Int(result.perSecond.rounded())), 12) + pad(String(result.percentile(0.5)), 10)
        + pad(String(result.percentile(0.99)), 10)
}

print("strata-bench-rpc: \(secondsPerCase)s per case, loopback, \(System.coreCount) cores, tasks on \(takeover ? "the event loops (--nio-executor)" : "the default pool")")
print(pad("case", 26) + pad("ops/s", 12) + pad("p50 µs", 10) + pad("p99 µs", 10))
var ratios: [String] = []
// --callers picks the concurrency cases (to profile one with `perf record`).
let callerCases = CommandLine.arguments.firstIndex(of: "--callers").flatMap { index in
    index + 1 < CommandLine.arguments.count ? CommandLine.arguments[index + 1].split(separator: ",").compactMap { Int($0) } : nil
} ?? [1, 64]
for concurrency in callerCases {
    let raw = try await rawEcho(inflight: concurrency)
    print(row("raw TCP echo x\(concurrency)", raw))
    let rpc = try await strataRPC(callers: concurrency, immediate: false)
    print(row("strata RPC echo x\(concurrency)", rpc))
    let immediate = try await strataRPC(callers: concurrency, immediate: true)
    print(row("  immediate handler x\(concurrency)", immediate))
    ratios.append("x\(concurrency): strata/raw = \(formatRatio(rpc.perSecond / raw.perSecond)) (immediate \(formatRatio(immediate.perSecond / raw.perSecond)))")
}
print(ratios.joined(separator: "; "))

func formatRatio(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
}
