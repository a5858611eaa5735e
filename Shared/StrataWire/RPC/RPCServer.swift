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
    fileprivate let outbound: NIOAsyncChannelOutboundWriter<Frame>
    fileprivate let frameSizeMaxBytes: Int

    /// Sends one item (and optional raw payload). Suspends while the caller has no credit left;
    /// throws `.cancelled` once the caller has cancelled or disconnected.
    public func send(_ item: Item, payload: ByteBuffer = ByteBuffer()) async throws(RPCError) {
        try await calls.acquireCredit(callID)
        let body: ByteBuffer
        do { body = try item.encoded() } catch { throw RPCError(.internal, "cannot encode stream item: \(error)") }
        let frame = Frame(kind: .streamItem, callID: callID, method: method, body: body, payload: payload)
        guard frame.sizeBytes <= frameSizeMaxBytes else {
            throw RPCError(.internal, "stream item of \(frame.sizeBytes) bytes exceeds the frame size maximum \(frameSizeMaxBytes)")
        }
        do { try await outbound.write(frame) } catch { throw RPCError(.cancelled, "connection closed while streaming: \(error)") }
    }
}

/// The handlers one server answers, by method id. Built before the server starts, then fixed.
public struct RPCHandlers: Sendable {
    typealias Unary = @Sendable (Frame, RPCContext) async throws -> ByteBuffer
    typealias Streaming = @Sendable (Frame, RPCContext, ServerCallTable, NIOAsyncChannelOutboundWriter<Frame>, Int) async throws -> Void

    var unary: [UInt32: Unary] = [:]
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

    /// Answers the streaming `method` with `handler`, which sends items through the writer.
    public mutating func register<Request, Item>(
        _ method: RPCStreamMethod<Request, Item>,
        _ handler: @escaping @Sendable (Request, RPCContext, RPCStreamWriter<Item>) async throws -> Void
    ) {
        precondition(names[method.id] == nil, "method id 0x\(String(method.id, radix: 16)) registered twice")
        names[method.id] = method.name
        streaming[method.id] = { frame, context, calls, outbound, frameSizeMaxBytes in
            let request = try Request(decoding: frame.body)
            let writer = RPCStreamWriter<Item>(callID: frame.callID, method: frame.method, calls: calls,
                                               outbound: outbound, frameSizeMaxBytes: frameSizeMaxBytes)
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
/// Each connection is read by one task; each request runs in its own child task, so slow calls
/// do not hold up others on the same connection. A malformed frame closes only its connection.
public final class RPCServer: Sendable {
    private let channel: NIOAsyncChannel<NIOAsyncChannel<Frame, Frame>, Never>
    private let accepted: AcceptedConnections<Frame, Frame>
    private let handlers: RPCHandlers
    private let frameSizeMaxBytes: Int
    private let logger: Logger
    /// The call tables of the connections being served, for the overdue-call watchdog.
    private let served = NIOLockedValueBox<[ObjectIdentifier: (remote: String, calls: ServerCallTable)]>([:])
    /// A call still unanswered this long after its caller's deadline is reported as stuck.
    private let overdueGrace: Duration
    /// How many calls have been reported as stuck (for tests; the log and metric say which).
    let overdueReported = NIOLockedValueBox(0)
    /// The address the server listens on (with the real port when bound to port 0).
    public let localAddress: HostAndPort
    /// Metric handles per method (and status), made once: looking a handle up by its labels on
    /// every call cost more than the call's own work.
    private let durationTimers: [UInt32: Metrics.Timer]
    private let requestCounters = NIOLockedValueBox<[UInt64: Counter]>([:])

    private init(channel: NIOAsyncChannel<NIOAsyncChannel<Frame, Frame>, Never>, accepted: AcceptedConnections<Frame, Frame>,
                 handlers: RPCHandlers, frameSizeMaxBytes: Int, logger: Logger, localAddress: HostAndPort, overdueGrace: Duration) {
        self.overdueGrace = overdueGrace
        self.channel = channel
        self.accepted = accepted
        self.handlers = handlers
        self.frameSizeMaxBytes = frameSizeMaxBytes
        self.logger = logger
        self.localAddress = localAddress
        durationTimers = handlers.names.mapValues { Metrics.Timer(label: "strata_rpc_duration_seconds", dimensions: [("method", $0)]) }
    }

    private func requestCounter(method: UInt32, name: String, status: StatusCode) -> Counter {
        let key = UInt64(method) << 32 | UInt64(UInt32(truncatingIfNeeded: status.rawValue))
        return requestCounters.withLockedValue { counters in
            if let known = counters[key] { return known }
            let made = Counter(label: "strata_rpc_requests_total", dimensions: [("method", name), ("status", status.description)])
            counters[key] = made
            return made
        }
    }

    /// Binds `host:port` (port 0 picks a free port). Fails with a one-line `RPCBindError`.
    public static func bind(
        host: String, port: Int, handlers: RPCHandlers, frameSizeMaxBytes: Int, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, overdueGrace: Duration = .seconds(30)
    ) async throws(RPCBindError) -> RPCServer {
        let channel: NIOAsyncChannel<NIOAsyncChannel<Frame, Frame>, Never>
        let accepted = AcceptedConnections<Frame, Frame>()
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 256)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .bind(host: host, port: port) { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(frameSizeMaxBytes: frameSizeMaxBytes)))
                        try child.pipeline.syncOperations.addHandler(FrameEncoder())
                        let connection = try NIOAsyncChannel<Frame, Frame>(wrappingChannelSynchronously: child)
                        guard accepted.admit(connection) else {
                            // The server is stopping: refuse the connection (its writer must still
                            // be finished; a failed initializer alone leaves the socket open).
                            connection.outbound.finish()
                            child.close(promise: nil)
                            throw ChannelError.ioOnClosedChannel
                        }
                        return connection
                    }
                }
        } catch let error as IOError where error.errnoCode == 98 /* EADDRINUSE */ {
            throw RPCBindError(address: "\(host):\(port)", reason: "address already in use")
        } catch let error as IOError {
            throw RPCBindError(address: "\(host):\(port)", reason: error.description)
        } catch {
            throw RPCBindError(address: "\(host):\(port)", reason: "\(error)")
        }
        let bound = channel.channel.localAddress?.port ?? port
        return RPCServer(channel: channel, accepted: accepted, handlers: handlers, frameSizeMaxBytes: frameSizeMaxBytes,
                         logger: logger, localAddress: HostAndPort(host: host, port: bound), overdueGrace: overdueGrace)
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

    /// Accepts and serves connections until the calling task is cancelled; then closes the port.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { watching in
            watching.addTask { await self.reportOverdueCalls() }
            defer { watching.cancelAll() }
            try await acceptAndServe()
        }
    }

    /// Logs (once each) calls whose handlers have not answered long after the caller stopped
    /// waiting. Handlers bound their waits by the deadline, so such a call is stuck, and its
    /// caller sees a connection that reads and never answers.
    private func reportOverdueCalls() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: overdueGrace / 6) } catch { return }
            let now = ContinuousClock.now
            for (remote, calls) in served.withLockedValue({ Array($0.values) }) {
                for call in calls.overdue(now: now, grace: overdueGrace) {
                    let method = handlers.names[call.method] ?? "method 0x\(String(call.method, radix: 16))"
                    overdueReported.withLockedValue { $0 += 1 }
                    Counter(label: "strata_rpc_calls_overdue_total", dimensions: [("method", method)]).increment()
                    logger.warning("RPC call \(call.callID) (\(method)) from \(remote) still unanswered \(call.age.milliseconds) ms after it arrived, \(overdueGrace.milliseconds) ms past its caller's deadline: its handler is stuck")
                }
            }
        }
    }

    private func acceptAndServe() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            do {
                try await channel.executeThenClose { connections in
                    for try await connection in connections where accepted.take(connection) {
                        group.addTask { await self.serve(connection) }
                    }
                }
            } catch {
                await accepted.closeAll()
                throw error
            }
            await accepted.closeAll()
        }
    }

    private func serve(_ connection: NIOAsyncChannel<Frame, Frame>) async {
        let remote = connection.channel.remoteAddress?.description ?? "unknown peer"
        let calls = ServerCallTable()
        let key = ObjectIdentifier(calls)
        served.withLockedValue { $0[key] = (remote, calls) }
        defer { served.withLockedValue { _ = $0.removeValue(forKey: key) } }
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await withThrowingDiscardingTaskGroup { group in
                    defer { calls.closeAll() }
                    for try await frame in inbound {
                        switch frame.kind {
                        case .request:
                            let deadline = frame.argument == 0 ? nil : ContinuousClock.now + .milliseconds(Int64(frame.argument))
                            guard calls.begin(frame.callID, method: frame.method, deadline: deadline) else {
                                let status = RpcStatus(code: .unavailable, message: "more than \(RPCLimits.callsInFlightMaxPerConnection) calls in flight on one connection")
                                try await outbound.write(Self.statusFrame(status, kind: .response, for: frame))
                                continue
                            }
                            group.addTask { await self.handle(frame, deadline: deadline, remote: remote, calls: calls, outbound: outbound) }
                        case .cancel:
                            calls.cancel(frame.callID)
                        case .windowUpdate:
                            calls.grant(frame.callID, credit: frame.argument)
                        case .response, .streamItem, .streamEnd:
                            throw WireError(.unexpectedFrame, "a client sent a \(frame.kind) frame (call \(frame.callID))")
                        }
                    }
                }
            }
        } catch is CancellationError {
            logger.debug("closing connection from \(remote): server stopping")
        } catch {
            logger.warning("closing connection from \(remote): \(error)")
        }
    }

    private func handle(_ frame: Frame, deadline: ContinuousClock.Instant?, remote: String, calls: ServerCallTable,
                        outbound: NIOAsyncChannelOutboundWriter<Frame>) async {
        defer { calls.end(frame.callID) }
        let started = ContinuousClock.now
        let method = handlers.names[frame.method] ?? "unknown"
        var outcome = StatusCode.ok
        defer {
            requestCounter(method: frame.method, name: method, status: outcome).increment()
            (durationTimers[frame.method] ?? Metrics.Timer(label: "strata_rpc_duration_seconds", dimensions: [("method", method)])).record(since: started)
        }
        let context = RPCContext(callID: frame.callID, method: frame.method, deadline: deadline,
                                 remoteAddress: remote, payload: frame.payload, logger: logger)
        if let handler = handlers.unary[frame.method] {
            var response: Frame
            do {
                let body = try await handler(frame, context)
                response = Frame(kind: .response, callID: frame.callID, method: frame.method, body: body)
                if response.sizeBytes > frameSizeMaxBytes {
                    response = Self.statusFrame(RpcStatus(code: .internal, message: "response of \(response.sizeBytes) bytes exceeds the frame size maximum \(frameSizeMaxBytes)"), kind: .response, for: frame)
                }
            } catch {
                let status = Self.status(for: error, method: handlers.names[frame.method])
                outcome = status.code
                response = Self.statusFrame(status, kind: .response, for: frame)
            }
            try? await outbound.write(response)
        } else if let handler = handlers.streaming[frame.method] {
            var end = Frame(kind: .streamEnd, callID: frame.callID, method: frame.method)
            do {
                try await handler(frame, context, calls, outbound, frameSizeMaxBytes)
            } catch {
                let status = Self.status(for: error, method: handlers.names[frame.method])
                outcome = status.code
                end = Self.statusFrame(status, kind: .streamEnd, for: frame)
            }
            try? await outbound.write(end)
        } else {
            outcome = .unimplemented
            let status = RpcStatus(code: .unimplemented, message: "unknown method 0x\(String(frame.method, radix: 16))")
            try? await outbound.write(Self.statusFrame(status, kind: .response, for: frame))
        }
    }

    private static func status(for error: any Error, method: String?) -> RpcStatus {
        switch error {
        case let error as RPCError:
            return RpcStatus(code: error.code, message: error.message, leaderHint: error.leaderHint ?? "")
        case let error as WireError:
            return RpcStatus(code: .invalidArgument, message: "malformed request for \(method ?? "method"): \(error.message)")
        default:
            return RpcStatus(code: .internal, message: "\(method ?? "method") failed: \(error)")
        }
    }

    static func statusFrame(_ status: RpcStatus, kind: FrameKind, for request: Frame) -> Frame {
        // An RpcStatus is small and made of plain text, so encoding cannot fail.
        let body = (try? status.encoded()) ?? ByteBuffer()
        return Frame(kind: kind, status: status.code, callID: request.callID, method: request.method, body: body)
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
