import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StrataCore

/// What a handler knows about the call it serves.
public struct RPCContext: Sendable {
    public let callID: UInt64
    public let method: UInt32
    /// When the caller stops waiting; handlers that wait (for a commit, say) bound their waits by it.
    public let deadline: ContinuousClock.Instant?
    public let remoteAddress: String
    /// Raw bytes that followed the request body (block data).
    public let payload: ByteBuffer
    public let logger: Logger
}

/// Sends the items of one server-streaming call, waiting for the caller's flow-control credit.
public struct RPCStreamWriter<Item: WireMessage>: Sendable {
    fileprivate let callID: UInt64
    fileprivate let method: UInt32
    fileprivate let calls: ServerCallTable
    fileprivate let connection: ServerConnectionWriter
    fileprivate let frameSizeMaxBytes: Int

    /// Sends one item (and optional raw payload). Suspends while the caller has no credit left;
    /// throws `.cancelled` once the caller has cancelled or disconnected. At most the credit
    /// window's items are ever queued on the connection.
    public func send(_ item: Item, payload: ByteBuffer = ByteBuffer()) async throws(RPCError) {
        try await calls.acquireCredit(callID)
        let body: ByteBuffer
        do { body = try item.encoded() } catch { throw RPCError(.internal, "cannot encode stream item: \(error)") }
        let frame = Frame(kind: .streamItem, callID: callID, method: method, body: body, payload: payload)
        guard frame.sizeBytes <= frameSizeMaxBytes else {
            throw RPCError(.internal, "stream item of \(frame.sizeBytes) bytes exceeds the frame size maximum \(frameSizeMaxBytes)")
        }
        connection.write(frame)
    }
}

/// The handlers one server answers, by method id. Built before the server starts, then fixed.
public struct RPCHandlers: Sendable {
    typealias Unary = @Sendable (Frame, RPCContext) async throws -> ByteBuffer
    typealias Immediate = @Sendable (Frame, RPCContext) throws -> ByteBuffer
    typealias Streaming = @Sendable (Frame, RPCContext, ServerCallTable, ServerConnectionWriter, Int) async throws -> Void

    var unary: [UInt32: Unary] = [:]
    var immediate: [UInt32: Immediate] = [:]
    var streaming: [UInt32: Streaming] = [:]
    var names: [UInt32: String] = [:]

    public init() {}

    /// Answers `method` with `handler`. Throwing an `RPCError` answers with its status.
    public mutating func register<Request, Response>(
        _ method: RPCMethod<Request, Response>,
        _ handler: @escaping @Sendable (Request, RPCContext) async throws -> Response
    ) {
        precondition(names[method.id] == nil, "method id 0x\(String(method.id, radix: 16)) registered twice")
        names[method.id] = method.name
        unary[method.id] = { frame, context in
            let request = try Request(decoding: frame.body)
            return try await handler(request, context).encoded()
        }
    }

    /// Answers `method` with a handler that never waits: it runs on the connection's event loop
    /// as the request is read, with no task made for it, and its response goes out with the
    /// others of the same read. For quick work only (it holds up the connection while it runs).
    public mutating func registerImmediate<Request, Response>(
        _ method: RPCMethod<Request, Response>,
        _ handler: @escaping @Sendable (Request, RPCContext) throws -> Response
    ) {
        precondition(names[method.id] == nil, "method id 0x\(String(method.id, radix: 16)) registered twice")
        names[method.id] = method.name
        immediate[method.id] = { frame, context in
            let request = try Request(decoding: frame.body)
            return try handler(request, context).encoded()
        }
    }

    /// Answers the streaming `method` with `handler`, which sends items through the writer.
    public mutating func register<Request, Item>(
        _ method: RPCStreamMethod<Request, Item>,
        _ handler: @escaping @Sendable (Request, RPCContext, RPCStreamWriter<Item>) async throws -> Void
    ) {
        precondition(names[method.id] == nil, "method id 0x\(String(method.id, radix: 16)) registered twice")
        names[method.id] = method.name
        streaming[method.id] = { frame, context, calls, connection, frameSizeMaxBytes in
            let request = try Request(decoding: frame.body)
            let writer = RPCStreamWriter<Item>(callID: frame.callID, method: frame.method, calls: calls,
                                               connection: connection, frameSizeMaxBytes: frameSizeMaxBytes)
            try await handler(request, context, writer)
        }
    }
}

/// Why a server could not start listening.
public struct RPCBindError: Error, CustomStringConvertible {
    public let address: String
    public let reason: String
    public var description: String { "cannot listen on \(address): \(reason)" }
}

/// An RPC server bound to one port. `run()` serves until the task is cancelled.
///
/// Each connection is served by a channel handler on its event loop: requests are decoded there,
/// each handled in a task of its own (so slow calls do not hold up others on the connection; an
/// immediate handler runs in place), and responses written back there, flushed once per read or
/// per batch of responses rather than once each. A malformed frame closes only its connection.
public final class RPCServer: Sendable {
    private let channel: any Channel
    private let shared: ServerShared
    private let connections: ServerConnections
    /// The address the server listens on (with the real port when bound to port 0).
    public let localAddress: HostAndPort
    /// How many calls have been reported as stuck (for tests; the log and metric say which).
    var overdueReported: NIOLockedValueBox<Int> { shared.overdueReported }

    private init(channel: any Channel, shared: ServerShared, connections: ServerConnections, localAddress: HostAndPort) {
        self.channel = channel
        self.shared = shared
        self.connections = connections
        self.localAddress = localAddress
    }

    /// Binds `host:port` (port 0 picks a free port). Fails with a one-line `RPCBindError`.
    public static func bind(
        host: String, port: Int, handlers: RPCHandlers, frameSizeMaxBytes: Int, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, overdueGrace: Duration = .seconds(30)
    ) async throws(RPCBindError) -> RPCServer {
        let shared = ServerShared(handlers: handlers, frameSizeMaxBytes: frameSizeMaxBytes, logger: logger, overdueGrace: overdueGrace)
        let connections = ServerConnections()
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 256)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        // Refused once the server is stopping.
                        let calls = ServerCallTable()
                        let remote = child.remoteAddress?.description ?? "unknown peer"
                        guard connections.admit(child, calls: calls, remote: remote) else {
                            // A failed initializer alone leaves the accepted socket open.
                            child.close(promise: nil)
                            throw ChannelError.ioOnClosedChannel
                        }
                        try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(frameSizeMaxBytes: frameSizeMaxBytes)))
                        try child.pipeline.syncOperations.addHandler(FrameEncoder())
                        try child.pipeline.syncOperations.addHandler(RPCServerConnectionHandler(
                            shared: shared, calls: calls, remote: remote))
                    }
                }
                .bind(host: host, port: port).get()
        } catch let error as IOError where error.errnoCode == 98 /* EADDRINUSE */ {
            throw RPCBindError(address: "\(host):\(port)", reason: "address already in use")
        } catch let error as IOError {
            throw RPCBindError(address: "\(host):\(port)", reason: error.description)
        } catch {
            throw RPCBindError(address: "\(host):\(port)", reason: "\(error)")
        }
        let bound = channel.localAddress?.port ?? port
        return RPCServer(channel: channel, shared: shared, connections: connections, localAddress: HostAndPort(host: host, port: bound))
    }

    /// Fails with the same one-line `RPCBindError` as `bind` if `host:port` cannot be bound now.
    public static func checkPortFree(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws(RPCBindError) {
        guard port != 0 else { return }
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port).get()
            try await channel.close()
        } catch let error as IOError where error.errnoCode == 98 /* EADDRINUSE */ {
            throw RPCBindError(address: "\(host):\(port)", reason: "address already in use")
        } catch {
            throw RPCBindError(address: "\(host):\(port)", reason: "\(error)")
        }
    }

    /// Serves until the calling task is cancelled; then stops accepting, closes every
    /// connection, cancels the calls still running and returns once they have all ended.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { watching in
            watching.addTask { await self.reportOverdueCalls() }
            await withTaskCancellationHandler {
                try? await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
            watching.cancelAll()
        }
        try? await channel.close()
        await connections.closeAll()
    }

    /// Logs (once each) calls whose handlers have not answered long after the caller stopped
    /// waiting. Handlers bound their waits by the deadline, so such a call is stuck, and its
    /// caller sees a connection that reads and never answers.
    private func reportOverdueCalls() async {
        let grace = shared.overdueGrace
        while !Task.isCancelled {
            do { try await Task.sleep(for: grace / 6) } catch { return }
            let now = ContinuousClock.now
            connections.forgetEnded()
            for (remote, calls) in connections.served() {
                for call in calls.overdue(now: now, grace: grace) {
                    let method = shared.handlers.names[call.method] ?? "method 0x\(String(call.method, radix: 16))"
                    shared.overdueReported.withLockedValue { $0 += 1 }
                    Counter(label: "strata_rpc_calls_overdue_total", dimensions: [("method", method)]).increment()
                    shared.logger.warning("RPC call \(call.callID) (\(method)) from \(remote) still unanswered \(call.age.milliseconds) ms after it arrived, \(grace.milliseconds) ms past its caller's deadline: its handler is stuck")
                }
            }
        }
    }
}

/// What every connection of one server shares: the handlers, limits and metric handles.
final class ServerShared: Sendable {
    let handlers: RPCHandlers
    let frameSizeMaxBytes: Int
    let logger: Logger
    /// A call still unanswered this long after its caller's deadline is reported as stuck.
    let overdueGrace: Duration
    let overdueReported = NIOLockedValueBox(0)
    /// Metric handles per method (and status), made once: looking a handle up by its labels on
    /// every call cost more than the call's own work.
    private let durationTimers: [UInt32: Metrics.Timer]
    private let requestCounters = NIOLockedValueBox<[UInt64: Counter]>([:])

    init(handlers: RPCHandlers, frameSizeMaxBytes: Int, logger: Logger, overdueGrace: Duration) {
        self.handlers = handlers
        self.frameSizeMaxBytes = frameSizeMaxBytes
        self.logger = logger
        self.overdueGrace = overdueGrace
        durationTimers = handlers.names.mapValues { Metrics.Timer(label: "strata_rpc_duration_seconds", dimensions: [("method", $0)]) }
    }

    func record(method: UInt32, status: StatusCode, since started: ContinuousClock.Instant) {
        let name = handlers.names[method] ?? "unknown"
        let key = UInt64(method) << 32 | UInt64(UInt32(truncatingIfNeeded: status.rawValue))
        let counter = requestCounters.withLockedValue { counters in
            if let known = counters[key] { return known }
            let made = Counter(label: "strata_rpc_requests_total", dimensions: [("method", name), ("status", status.description)])
            counters[key] = made
            return made
        }
        counter.increment()
        (durationTimers[method] ?? Metrics.Timer(label: "strata_rpc_duration_seconds", dimensions: [("method", name)])).record(since: started)
    }

    /// Runs a unary or streaming call in its task and writes its answer.
    func handle(_ frame: Frame, deadline: ContinuousClock.Instant?, remote: String, calls: ServerCallTable,
                connection: ServerConnectionWriter) async {
        defer { calls.end(frame.callID) }
        let started = ContinuousClock.now
        var outcome = StatusCode.ok
        defer { record(method: frame.method, status: outcome, since: started) }
        let context = RPCContext(callID: frame.callID, method: frame.method, deadline: deadline,
                                 remoteAddress: remote, payload: frame.payload, logger: logger)
        if let handler = handlers.unary[frame.method] {
            let response: Frame
            do {
                response = answer(try await handler(frame, context), to: frame)
            } catch {
                let status = status(for: error, method: frame.method)
                outcome = status.code
                response = Self.statusFrame(status, kind: .response, for: frame)
            }
            connection.write(response)
        } else if let handler = handlers.streaming[frame.method] {
            var end = Frame(kind: .streamEnd, callID: frame.callID, method: frame.method)
            do {
                try await handler(frame, context, calls, connection, frameSizeMaxBytes)
            } catch {
                let status = status(for: error, method: frame.method)
                outcome = status.code
                end = Self.statusFrame(status, kind: .streamEnd, for: frame)
            }
            connection.write(end)
        }
    }

    /// The response frame carrying `body`, or an INTERNAL status if it is too large to send.
    func answer(_ body: ByteBuffer, to frame: Frame) -> Frame {
        let response = Frame(kind: .response, callID: frame.callID, method: frame.method, body: body)
        guard response.sizeBytes > frameSizeMaxBytes else { return response }
        return Self.statusFrame(RpcStatus(code: .internal, message: "response of \(response.sizeBytes) bytes exceeds the frame size maximum \(frameSizeMaxBytes)"), kind: .response, for: frame)
    }

    func status(for error: any Error, method: UInt32) -> RpcStatus {
        let name = handlers.names[method]
        switch error {
        case let error as RPCError:
            return RpcStatus(code: error.code, message: error.message, leaderHint: error.leaderHint ?? "")
        case let error as WireError:
            return RpcStatus(code: .invalidArgument, message: "malformed request for \(name ?? "method"): \(error.message)")
        default:
            return RpcStatus(code: .internal, message: "\(name ?? "method") failed: \(error)")
        }
    }

    static func statusFrame(_ status: RpcStatus, kind: FrameKind, for request: Frame) -> Frame {
        // An RpcStatus is small and made of plain text, so encoding cannot fail.
        let body = (try? status.encoded()) ?? ByteBuffer()
        return Frame(kind: kind, status: status.code, callID: request.callID, method: request.method, body: body)
    }
}

/// The connections a server serves, with their call tables: refused once the server stops,
/// closed at the stop, and their running calls cancelled and waited for.
final class ServerConnections: Sendable {
    private struct State {
        var open = true
        var connections: [ObjectIdentifier: (channel: any Channel, calls: ServerCallTable, remote: String)] = [:]
        /// Connections whose close has completed.
        var closed: Set<ObjectIdentifier> = []
    }
    private let state = NIOLockedValueBox(State())

    /// Keeps `channel`; false (refuse it) once the server is stopping.
    func admit(_ channel: any Channel, calls: ServerCallTable, remote: String) -> Bool {
        let key = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state in
            guard state.open else { return false }
            state.connections[key] = (channel, calls, remote)
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.state.withLockedValue { _ = $0.closed.insert(key) } } }
        return admitted
    }

    /// Drops the connections that are closed and whose calls have all ended. A closed connection
    /// whose handler still runs stays, so that a stuck call is still reported (and cancelled at
    /// the stop). Closed means closed, not inactive: a connection admitted while its channel is
    /// still being set up is not active yet, and dropping it then left it open after the stop.
    func forgetEnded() {
        state.withLockedValue { state in
            let closed = state.closed
            state.connections = state.connections.filter { !closed.contains($0.key) || !$0.value.calls.isEmpty }
            state.closed = closed.filter { state.connections[$0] != nil }
        }
    }

    /// The remote address and call table of every connection being served.
    func served() -> [(remote: String, calls: ServerCallTable)] {
        state.withLockedValue { state in
            state.connections.values.map { ($0.remote, $0.calls) }
        }
    }

    /// Refuses new connections, closes every open one, cancels the calls still running on them
    /// and waits until each has ended.
    func closeAll() async {
        let all = state.withLockedValue { state in
            state.open = false
            return Array(state.connections.values)
        }
        for (channel, _, _) in all { try? await channel.close() }
        let tasks = all.flatMap { $0.calls.runningTasks() }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}

/// Writes frames on one server connection from the handlers' tasks: they reach its event loop in
/// batches, each written and flushed at once.
struct ServerConnectionWriter: Sendable {
    fileprivate let outbox: LoopOutbox<Frame>

    func write(_ frame: Frame) { outbox.post(frame) }
}

/// One server connection, on its event loop: dispatches requests, cancels and credit grants;
/// writes responses with coalesced flushes.
final class RPCServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    private let shared: ServerShared
    private let calls: ServerCallTable
    private let remote: String
    private var context: ChannelHandlerContext?
    private var writer: ServerConnectionWriter?

    init(shared: ServerShared, calls: ServerCallTable, remote: String) {
        self.shared = shared
        self.calls = calls
        self.remote = remote
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        writer = ServerConnectionWriter(outbox: LoopOutbox(eventLoop: context.eventLoop) { frames in
            let handler = bound.value
            guard let context = handler.context else { return }
            for frame in frames { context.write(handler.wrapOutboundOut(frame), promise: nil) }
            context.flush()
        })
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes an answer made during a read (immediate handlers, refusals); the read's end
    /// (`channelReadComplete`) flushes it with the others.
    private func send(_ frame: Frame) {
        context?.write(wrapOutboundOut(frame), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.kind {
        case .request:
            request(frame)
        case .cancel:
            calls.cancel(frame.callID)
        case .windowUpdate:
            calls.grant(frame.callID, credit: frame.argument)
        case .response, .streamItem, .streamEnd:
            context.fireErrorCaught(WireError(.unexpectedFrame, "a client sent a \(frame.kind) frame (call \(frame.callID))"))
        }
    }

    private func request(_ frame: Frame) {
        guard let writer else { return }
        let deadline = frame.argument == 0 ? nil : ContinuousClock.now + .milliseconds(Int64(frame.argument))
        if let handler = shared.handlers.immediate[frame.method] {
            let started = ContinuousClock.now
            let context = RPCContext(callID: frame.callID, method: frame.method, deadline: deadline,
                                     remoteAddress: remote, payload: frame.payload, logger: shared.logger)
            var outcome = StatusCode.ok
            do {
                send(shared.answer(try handler(frame, context), to: frame))
            } catch {
                let status = shared.status(for: error, method: frame.method)
                outcome = status.code
                send(ServerShared.statusFrame(status, kind: .response, for: frame))
            }
            shared.record(method: frame.method, status: outcome, since: started)
            return
        }
        guard shared.handlers.unary[frame.method] != nil || shared.handlers.streaming[frame.method] != nil else {
            shared.record(method: frame.method, status: .unimplemented, since: .now)
            let status = RpcStatus(code: .unimplemented, message: "unknown method 0x\(String(frame.method, radix: 16))")
            send(ServerShared.statusFrame(status, kind: .response, for: frame))
            return
        }
        guard calls.begin(frame.callID, method: frame.method, deadline: deadline) else {
            let status = RpcStatus(code: .unavailable, message: "more than \(RPCLimits.callsInFlightMaxPerConnection) calls in flight on one connection")
            send(ServerShared.statusFrame(status, kind: .response, for: frame))
            return
        }
        let (shared, remote, calls) = (shared, remote, calls)
        let task = Task { await shared.handle(frame, deadline: deadline, remote: remote, calls: calls, connection: writer) }
        calls.attach(task, to: frame.callID)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        calls.closeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.logger.warning("closing connection from \(remote): \(error)")
        context.close(promise: nil)
    }
}

/// The calls in flight on one server connection: their count, stream credit and cancellation.
final class ServerCallTable: Sendable {
    private struct Call {
        var credit: UInt32 = RPCLimits.streamWindowItems
        var cancelled = false
        var waiter: CheckedContinuation<Void, any Error>?
        var method: UInt32 = 0
        var started = ContinuousClock.now
        var deadline: ContinuousClock.Instant?
        var reportedOverdue = false
        /// The task running the call's handler (for the server's stop).
        var task: Task<Void, Never>?
    }
    private struct State {
        var calls: [UInt64: Call] = [:]
        var closed = false
    }
    private let state = NIOLockedValueBox(State())

    /// Registers a new call; false when the connection already has too many in flight.
    func begin(_ callID: UInt64, method: UInt32 = 0, deadline: ContinuousClock.Instant? = nil) -> Bool {
        state.withLockedValue { state in
            guard state.calls.count < RPCLimits.callsInFlightMaxPerConnection else { return false }
            state.calls[callID] = Call(cancelled: state.closed, method: method, deadline: deadline)
            return true
        }
    }

    /// The calls still unanswered `grace` after their caller's deadline passed (or, without a
    /// deadline, `grace` after they began), each reported once: a handler stuck for good.
    func overdue(now: ContinuousClock.Instant, grace: Duration) -> [(callID: UInt64, method: UInt32, age: Duration)] {
        state.withLockedValue { state in
            var found: [(callID: UInt64, method: UInt32, age: Duration)] = []
            for (callID, call) in state.calls where !call.reportedOverdue && now - (call.deadline ?? call.started) > grace {
                state.calls[callID]!.reportedOverdue = true
                found.append((callID, call.method, now - call.started))
            }
            return found
        }
    }

    /// Records the task running `callID`, unless the call has already ended.
    func attach(_ task: Task<Void, Never>, to callID: UInt64) {
        state.withLockedValue { state in
            if state.calls[callID] != nil { state.calls[callID]!.task = task }
        }
    }

    var isEmpty: Bool { state.withLockedValue { $0.calls.isEmpty } }

    /// The tasks of the calls still running.
    func runningTasks() -> [Task<Void, Never>] {
        state.withLockedValue { state in state.calls.values.compactMap(\.task) }
    }

    func end(_ callID: UInt64) {
        let waiter = state.withLockedValue { $0.calls.removeValue(forKey: callID)?.waiter }
        waiter?.resume(throwing: RPCError(.cancelled, "call \(callID) ended"))
    }

    func cancel(_ callID: UInt64) {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLockedValue { state in
            state.calls[callID]?.cancelled = true
            defer { state.calls[callID]?.waiter = nil }
            return state.calls[callID]?.waiter
        }
        waiter?.resume(throwing: RPCError(.cancelled, "call \(callID) cancelled by the caller"))
    }

    func grant(_ callID: UInt64, credit: UInt32) {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLockedValue { state in
            guard var call = state.calls[callID] else { return nil }
            call.credit = call.credit &+ credit
            let waiter = call.waiter
            if waiter != nil {
                call.waiter = nil
                call.credit -= 1
            }
            state.calls[callID] = call
            return waiter
        }
        waiter?.resume()
    }

    /// Wakes every waiting stream with `.cancelled`: the connection is gone.
    func closeAll() {
        let waiters: [CheckedContinuation<Void, any Error>] = state.withLockedValue { state in
            state.closed = true
            var waiters: [CheckedContinuation<Void, any Error>] = []
            for callID in state.calls.keys {
                state.calls[callID]!.cancelled = true
                if let waiter = state.calls[callID]!.waiter { waiters.append(waiter) }
                state.calls[callID]!.waiter = nil
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(throwing: RPCError(.cancelled, "connection closed")) }
    }

    /// Takes one unit of credit for `callID`, suspending until the caller grants more.
    func acquireCredit(_ callID: UInt64) async throws(RPCError) {
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, RPCError>? = state.withLockedValue { state in
                    guard var call = state.calls[callID] else { return .failure(RPCError(.cancelled, "call \(callID) is not in flight")) }
                    if call.cancelled { return .failure(RPCError(.cancelled, "call \(callID) cancelled by the caller")) }
                    precondition(call.waiter == nil, "two senders on stream \(callID)")
                    if call.credit > 0 {
                        call.credit -= 1
                        state.calls[callID] = call
                        return .success(())
                    }
                    call.waiter = continuation
                    state.calls[callID] = call
                    return nil
                }
                if let outcome { continuation.resume(with: outcome.mapError { $0 as any Error }) }
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.cancelled, "\(error)")
        }
    }
}
