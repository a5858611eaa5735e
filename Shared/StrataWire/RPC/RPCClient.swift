import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StrataCore
import Synchronization

/// A client of one Strata process: many concurrent calls multiplexed on one TCP connection.
///
/// The connection is made on first use and made again after it breaks (a server restart, say):
/// calls in flight when it breaks fail with UNAVAILABLE, later calls reconnect. Retrying is the
/// caller's choice (see `RetryPolicy`), because only the caller knows whether a call is idempotent.
public final class RPCClient: Sendable {
    public let address: HostAndPort
    private let group: any EventLoopGroup
    private let frameSizeMaxBytes: Int
    private let connectTimeout: Duration
    private let defaultDeadline: Duration
    private let connection = NIOLockedValueBox<EventLoopFuture<RPCConnection>?>(nil)
    /// The connection once made, so that a call finds it without waiting on the future (which,
    /// even fulfilled, costs a trip through the event loop and back).
    private let established = NIOLockedValueBox<RPCConnection?>(nil)
    private let onDisconnect: (@Sendable () -> Void)?
    private let logger: Logger?

    /// - Parameter onDisconnect: called whenever an established connection closes — the earliest
    ///   sign that the peer process died (the journal uses it to detect a lost leader).
    /// - Parameter logger: where a connection closed for answering nothing is reported.
    public init(
        address: HostAndPort, frameSizeMaxBytes: Int, connectTimeout: Duration = .seconds(3),
        defaultDeadline: Duration = .seconds(30), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onDisconnect: (@Sendable () -> Void)? = nil, logger: Logger? = nil
    ) {
        self.logger = logger
        self.address = address
        self.group = group
        self.frameSizeMaxBytes = frameSizeMaxBytes
        self.connectTimeout = connectTimeout
        self.defaultDeadline = defaultDeadline
        self.onDisconnect = onDisconnect
    }

    /// A client configured from `strata.network.*` and `strata.user.rpc.deadline`.
    public convenience init(address: HostAndPort, configuration: Configuration) {
        self.init(address: address,
                  frameSizeMaxBytes: Int(configuration.sizeBytes(.networkMaxInboundMessageSize)),
                  connectTimeout: configuration.duration(.networkConnectTimeout),
                  defaultDeadline: configuration.duration(.userRpcDeadline))
    }

    /// Calls `method` and waits for its response, at most until `deadline` from now.
    public func call<Request, Response>(
        _ method: RPCMethod<Request, Response>, _ request: Request, payload: ByteBuffer = ByteBuffer(),
        deadline: Duration? = nil
    ) async throws(RPCError) -> Response {
        let budget = deadline ?? defaultDeadline
        let frame = try requestFrame(method.id, method.name, request, payload: payload, budget: budget)
        let connection = try await connect()
        let response = try await connection.unary(frame, budget: budget, methodName: method.name)
        guard response.status == .ok else { throw RPCError(status: try decodeStatus(response, method.name)) }
        do {
            return try Response(decoding: response.body)
        } catch {
            throw RPCError(.internal, "malformed \(method.name) response from \(address): \(error)")
        }
    }

    /// Starts the streaming `method`; the returned sequence yields items until the server ends
    /// the stream. The deadline covers the whole stream. Leaving the loop early cancels the call.
    /// With `itemTimeout`, the call also fails (DEADLINE_EXCEEDED, and is cancelled at the server)
    /// when the server, while allowed to send, sends nothing for that long: a hung server is
    /// detected in that time rather than at the deadline.
    public func stream<Request, Item>(
        _ method: RPCStreamMethod<Request, Item>, _ request: Request, deadline: Duration? = nil, itemTimeout: Duration? = nil
    ) async throws(RPCError) -> RPCResponseStream<Item> {
        let budget = deadline ?? defaultDeadline
        let frame = try requestFrame(method.id, method.name, request, payload: ByteBuffer(), budget: budget)
        let connection = try await connect()
        let frames = try await connection.stream(frame, budget: budget, itemTimeout: itemTimeout, methodName: method.name)
        return RPCResponseStream(frames: frames, connection: connection, callID: frame.callID,
                                 methodName: method.name, address: address)
    }

    /// Closes the connection, failing calls in flight with UNAVAILABLE.
    /// Runs `body` with a client of `address` and closes it afterwards, whatever `body` does: for
    /// a client used within one scope.
    public static func with<T>(_ address: HostAndPort, frameSizeMaxBytes: Int, connectTimeout: Duration = .seconds(3),
                               _ body: (RPCClient) async throws(RPCError) -> T) async throws(RPCError) -> T {
        let client = RPCClient(address: address, frameSizeMaxBytes: frameSizeMaxBytes, connectTimeout: connectTimeout)
        let result: Result<T, RPCError>
        do throws(RPCError) { result = .success(try await body(client)) } catch { result = .failure(error) }
        await client.close()
        return try result.get()
    }

    public func close() async {
        established.withLockedValue { $0 = nil }
        let current = connection.withLockedValue { current in
            defer { current = nil }
            return current
        }
        guard let current, let live = try? await current.get() else { return }
        try? await live.channel.close()
    }

    private func requestFrame<Request: WireMessage>(
        _ methodID: UInt32, _ name: String, _ request: Request, payload: ByteBuffer, budget: Duration
    ) throws(RPCError) -> Frame {
        guard budget > .zero else { throw RPCError(.deadlineExceeded, "\(name) to \(address): deadline already passed") }
        let body: ByteBuffer
        do { body = try request.encoded() } catch { throw RPCError(.invalidArgument, "cannot encode \(name) request: \(error)") }
        let milliseconds = UInt32(clamping: max(budget.milliseconds, 1))
        let frame = Frame(kind: .request, callID: RPCConnection.nextCallID(), method: methodID,
                          argument: milliseconds, body: body, payload: payload)
        guard frame.sizeBytes <= frameSizeMaxBytes else {
            throw RPCError(.invalidArgument, "\(name) request of \(frame.sizeBytes) bytes exceeds the frame size maximum of \(frameSizeMaxBytes) bytes")
        }
        return frame
    }

    private func decodeStatus(_ frame: Frame, _ name: String) throws(RPCError) -> RpcStatus {
        do { return try RpcStatus(decoding: frame.body) } catch {
            throw RPCError(.internal, "malformed status in \(name) response from \(address): \(error)")
        }
    }

    /// The live connection, made now if there is none or the last one broke.
    private func connect() async throws(RPCError) -> RPCConnection {
        if let live = established.withLockedValue({ $0 }), live.isUsable { return live }
        for _ in 0..<2 {
            let future = connection.withLockedValue { current in
                if let current { return current }
                let made = makeConnection()
                current = made
                return made
            }
            do {
                let live = try await future.get()
                if live.isUsable {
                    established.withLockedValue { current in if current?.isUsable != true { current = live } }
                    return live
                }
            } catch {
                connection.withLockedValue { current in if current === future { current = nil } }
                throw RPCError(.unavailable, "cannot connect to \(address): \(Self.describe(error))", connectionRefused: Self.isRefusal(error))
            }
            connection.withLockedValue { current in if current === future { current = nil } }
        }
        throw RPCError(.unavailable, "connection to \(address) closed while connecting")
    }

    private func makeConnection() -> EventLoopFuture<RPCConnection> {
        let frameSizeMaxBytes = frameSizeMaxBytes
        let address = address
        let logger = logger
        let retired = NIOLockedValueBox(false)
        let future = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(connectTimeout.milliseconds))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(frameSizeMaxBytes: frameSizeMaxBytes)))
                    try channel.pipeline.syncOperations.addHandler(FrameEncoder())
                    try channel.pipeline.syncOperations.addHandler(RPCClientHandler(peer: address.description, retired: retired, logger: logger))
                }
            }
            .connect(host: address.host, port: address.port)
            .map { RPCConnection(channel: $0, retired: retired) }
        // Forget a connection once it closes, so the next call reconnects.
        future.whenSuccess { [connection, established, onDisconnect] live in
            live.channel.closeFuture.whenComplete { _ in
                connection.withLockedValue { current in if current === future { current = nil } }
                established.withLockedValue { current in if current === live { current = nil } }
                onDisconnect?()
            }
        }
        return future
    }

    /// Whether connecting failed because nothing listens at the address.
    public static func isRefusal(_ error: any Error) -> Bool {
        if let error = error as? NIOConnectionError {
            return !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { isRefusal($0.error) }
        }
        return (error as? IOError)?.errnoCode == ECONNREFUSED
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            if error.dnsAAAAError != nil || error.dnsAError != nil { return "host name not found" }
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case 111: return "connection refused"
            case 113: return "no route to host"
            default: return error.description
            }
        }
        if error is ChannelError, case .connectTimeout = error as! ChannelError { return "connection timed out" }
        return "\(error)"
    }
}

/// The items of a server-streaming call, with flow control: the client grants the server more
/// credit as items are consumed, so at most `RPCLimits.streamWindowItems` are ever buffered.
public struct RPCResponseStream<Item: WireMessage>: AsyncSequence, Sendable {
    public struct Element: Sendable {
        public let message: Item
        /// Raw bytes that followed the item's body.
        public let payload: ByteBuffer
    }

    let frames: AsyncThrowingStream<Frame, any Error>
    let connection: RPCConnection
    let callID: UInt64
    let methodName: String
    let address: HostAndPort

    public func makeAsyncIterator() -> Iterator {
        Iterator(frames: frames.makeAsyncIterator(), connection: connection, callID: callID,
                 methodName: methodName, address: address, abandonment: Abandonment(connection: connection, callID: callID))
    }

    /// Cancels the call at the server when the consumer stops iterating before the end.
    final class Abandonment: Sendable {
        let connection: RPCConnection
        let callID: UInt64
        let finished = Atomic<Bool>(false)

        init(connection: RPCConnection, callID: UInt64) {
            self.connection = connection
            self.callID = callID
        }

        deinit {
            if !finished.load(ordering: .relaxed) { connection.cancel(callID) }
        }
    }

    public struct Iterator: AsyncIteratorProtocol {
        var frames: AsyncThrowingStream<Frame, any Error>.Iterator
        let connection: RPCConnection
        let callID: UInt64
        let methodName: String
        let address: HostAndPort
        let abandonment: Abandonment
        var consumedSinceGrant: UInt32 = 0
        var finished = false

        public mutating func next() async throws(RPCError) -> Element? {
            guard !finished else { return nil }
            let frame: Frame?
            do { frame = try await frames.next() } catch let error as RPCError {
                finish()
                throw error
            } catch {
                finish()
                throw RPCError(.internal, "\(error)")
            }
            guard let frame else {
                finish()
                return nil
            }
            switch frame.kind {
            case .streamItem:
                consumedSinceGrant += 1
                if consumedSinceGrant >= RPCLimits.streamWindowItems / 2 {
                    connection.grant(callID, credit: consumedSinceGrant)
                    consumedSinceGrant = 0
                }
                do {
                    return Element(message: try Item(decoding: frame.body), payload: frame.payload)
                } catch {
                    throw RPCError(.internal, "malformed \(methodName) stream item from \(address): \(error)")
                }
            default:
                finish()
                guard frame.status == .ok else {
                    let status = (try? RpcStatus(decoding: frame.body)) ?? RpcStatus(code: frame.status, message: "\(methodName) failed")
                    throw RPCError(status: status)
                }
                return nil
            }
        }

        private mutating func finish() {
            finished = true
            abandonment.finished.store(true, ordering: .relaxed)
        }
    }
}

/// One TCP connection of an `RPCClient` and the calls waiting on it.
final class RPCConnection: Sendable {
    let channel: any Channel
    /// Shared with the connection's handler, which sets it once it has decided to close.
    let retired: NIOLockedValueBox<Bool>
    /// Open, and not about to be closed: a call may be sent on it.
    var isUsable: Bool { channel.isActive && !retired.withLockedValue { $0 } }
    private static let callIDs = Atomic<UInt64>(0)
    /// Calls written from callers' threads, sent in batches with one flush each.
    private let outbox: LoopOutbox<(RPCClientHandler.OutboundCall, EventLoopPromise<Void>)>

    /// Made on the channel's event loop.
    init(channel: any Channel, retired: NIOLockedValueBox<Bool>) {
        self.channel = channel
        self.retired = retired
        outbox = LoopOutbox(eventLoop: channel.eventLoop) { calls in
            for (call, promise) in calls { channel.write(call, promise: promise) }
            channel.flush()
        }
    }

    /// Writes `call` on the event loop; many callers' requests leave in one system call, not
    /// one each. A caller already on the loop writes at once: sending it through the outbox
    /// costs another trip round the loop (x64 calls with tasks on the event loops: 66–71k/s
    /// direct, 43k/s through the outbox, `strata-bench-rpc --nio-executor`).
    private func send(_ call: RPCClientHandler.OutboundCall, promise: EventLoopPromise<Void>) {
        if channel.eventLoop.inEventLoop {
            channel.writeAndFlush(call, promise: promise)
        } else {
            outbox.post((call, promise))
        }
    }

    /// Call ids are unique per process, so a late response can never be taken for another call.
    static func nextCallID() -> UInt64 { callIDs.add(1, ordering: .relaxed).newValue }

    func unary(_ frame: Frame, budget: Duration, methodName: String) async throws(RPCError) -> Frame {
        let promise = channel.eventLoop.makePromise(of: Frame.self)
        let call = RPCClientHandler.OutboundCall(frame: frame, responder: .unary(promise),
                                                 deadline: .now() + .milliseconds(budget.milliseconds), methodName: methodName)
        // If the pipeline is already gone the handler never sees the call; fail it here instead.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            promise.fail(RPCError(.unavailable, "\(methodName): connection closed (\(error))"))
        }
        send(call, promise: written)
        let callID = frame.callID
        do {
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: { [self] in
                cancel(callID)
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.unavailable, "\(methodName): \(RPCClient.describe(error))")
        }
    }

    func stream(_ frame: Frame, budget: Duration, itemTimeout: Duration?, methodName: String) async throws(RPCError) -> AsyncThrowingStream<Frame, any Error> {
        // The server never sends more than the window without more credit, so the buffer is bounded.
        let (frames, continuation) = AsyncThrowingStream<Frame, any Error>.makeStream(
            bufferingPolicy: .bufferingOldest(Int(RPCLimits.streamWindowItems) + 1))
        let callID = frame.callID
        continuation.onTermination = { [self] termination in
            if case .cancelled = termination { cancel(callID) }
        }
        let call = RPCClientHandler.OutboundCall(frame: frame, responder: .stream(continuation),
                                                 deadline: .now() + .milliseconds(budget.milliseconds), methodName: methodName,
                                                 itemTimeout: itemTimeout.map { .milliseconds(max($0.milliseconds, 1)) })
        channel.writeAndFlush(call).whenFailure { error in
            continuation.finish(throwing: RPCError(.unavailable, "\(methodName): connection closed (\(error))"))
        }
        return frames
    }

    /// Gives up on `callID`: its waiter fails with `.cancelled` and the server is told.
    func cancel(_ callID: UInt64) {
        channel.pipeline.triggerUserOutboundEvent(RPCClientHandler.CancelCall(callID: callID), promise: nil)
    }

    func grant(_ callID: UInt64, credit: UInt32) {
        channel.writeAndFlush(RPCClientHandler.OutboundCall(
            frame: Frame(kind: .windowUpdate, callID: callID, method: 0, argument: credit),
            responder: .none, deadline: nil, methodName: "window update"), promise: nil)
    }
}

/// The client end of the protocol, on the connection's event loop: matches responses to calls
/// by call id, enforces deadlines, and fails every waiting call when the connection closes.
final class RPCClientHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = OutboundCall
    typealias OutboundOut = Frame

    enum Responder: Sendable {
        case unary(EventLoopPromise<Frame>)
        case stream(AsyncThrowingStream<Frame, any Error>.Continuation)
        case none
    }

    struct OutboundCall: Sendable {
        let frame: Frame
        let responder: Responder
        let deadline: NIODeadline?
        let methodName: String
        /// For a stream: fail it when the server sends nothing this long while it has credit.
        var itemTimeout: TimeAmount? = nil
    }

    struct CancelCall: Sendable {
        let callID: UInt64
    }

    private struct Pending {
        let responder: Responder
        let deadline: NIODeadline?
        /// When the call was written (a connection silent since then is dead).
        let sent: NIODeadline
        let methodName: String
        /// A stream's item timeout, the items the server may still send (its credit), and the
        /// timer running while that credit is positive.
        var itemTimeout: TimeAmount? = nil
        var credit: UInt32 = RPCLimits.streamWindowItems
        var itemTimer: Scheduled<Void>? = nil
    }

    private let peer: String
    private var pending: [UInt64: Pending] = [:]
    /// The one timer enforcing the pending calls' deadlines, and when it fires.
    private var deadlineTimer: (deadline: NIODeadline, timer: Scheduled<Void>)?
    private var closed = false
    /// Set (from the event loop) when this handler decides to close the connection, before the
    /// call that made it decide hears why: `RPCConnection.isUsable` reads it from callers' threads.
    let retired: NIOLockedValueBox<Bool>
    /// When the last frame arrived from the server (the connection's start before any did).
    private var lastReceived = NIODeadline.now()

    private let logger: Logger?

    init(peer: String, retired: NIOLockedValueBox<Bool>, logger: Logger?) {
        self.peer = peer
        self.retired = retired
        self.logger = logger
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let call = unwrapOutboundIn(data)
        if case .none = call.responder {
            if call.frame.kind == .windowUpdate, pending[call.frame.callID] != nil {
                // The consumer granted credit: the server owes items again.
                pending[call.frame.callID]!.credit += call.frame.argument
                armItemTimer(call.frame.callID, context: context)
            }
            context.write(wrapOutboundOut(call.frame), promise: promise)
            return
        }
        guard !closed else {
            fail(call.responder, RPCError(.unavailable, "\(call.methodName): connection to \(peer) is closed"))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let callID = call.frame.callID
        precondition(pending[callID] == nil, "call id \(callID) already in flight")
        pending[callID] = Pending(responder: call.responder, deadline: call.deadline, sent: .now(), methodName: call.methodName,
                                  itemTimeout: call.itemTimeout)
        if let deadline = call.deadline { armDeadlineTimer(for: deadline, context: context) }
        armItemTimer(callID, context: context)
        context.write(wrapOutboundOut(call.frame), promise: promise)
    }

    /// Makes the connection's one deadline timer fire by `deadline`. Calls share the timer
    /// (scheduling and cancelling one per call cost a heap insertion and a lock on the event
    /// loop each): when it fires it fails the calls whose deadlines have passed and sets itself
    /// for the earliest of the rest. Calls mostly share a budget, so a later call rarely moves it.
    private func armDeadlineTimer(for deadline: NIODeadline, context: ChannelHandlerContext) {
        if let current = deadlineTimer, current.deadline <= deadline { return }
        deadlineTimer?.timer.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadlineTimer = (deadline, context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.deadlineTimer = nil
            handler.expireCalls(context: context)
        })
    }

    /// Fails every call whose deadline has passed, then re-arms the timer for the others.
    private func expireCalls(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        var next: NIODeadline? = nil
        var expired: [(callID: UInt64, sent: NIODeadline, methodName: String)] = []
        for (callID, call) in pending {
            guard let deadline = call.deadline else { continue }
            if deadline <= now {
                expired.append((callID, call.sent, call.methodName))
            } else if next.map({ deadline < $0 }) ?? true {
                next = deadline
            }
        }
        var silentSince: (sent: NIODeadline, methodName: String)? = nil
        for call in expired.sorted(by: { $0.sent < $1.sent }) {
            // Nothing at all has come back on this connection since the call went out: the
            // connection is dead whatever the server's state (a stuck server-side connection
            // answers nothing while the process serves others). Close it, so that the next
            // call connects anew instead of timing out on it forever — retired before the
            // caller hears of the deadline, so that its next call cannot pick it up again
            // in the moment before the close takes effect.
            if silentSince == nil && lastReceived < call.sent && !closed {
                silentSince = (call.sent, call.methodName)
                retired.withLockedValue { $0 = true }
            }
            finish(call.callID, context: context, sendCancel: true,
                   error: RPCError(.deadlineExceeded, "\(call.methodName) to \(peer): deadline exceeded"))
        }
        if let silentSince {
            Counter(label: "strata_rpc_client_silent_connections_closed_total").increment()
            logger?.warning("closing the connection to \(peer): nothing came back on it since \(silentSince.methodName) was sent, \((now - silentSince.sent).nanoseconds / 1_000_000) ms ago; the next call connects anew")
            context.close(promise: nil)
        } else if let next {
            armDeadlineTimer(for: next, context: context)
        }
    }

    /// (Re)starts the item timer of stream `callID` if it has one and the server has credit;
    /// stops it when the server has none (then it waits for the consumer, not the server).
    private func armItemTimer(_ callID: UInt64, context: ChannelHandlerContext) {
        guard let call = pending[callID], let timeout = call.itemTimeout else { return }
        call.itemTimer?.cancel()
        pending[callID]!.itemTimer = nil
        guard call.credit > 0 else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        pending[callID]!.itemTimer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            handler.finish(callID, context: context, sendCancel: true,
                           error: RPCError(.deadlineExceeded, "\(call.methodName) to \(handler.peer): nothing received for \(timeout.nanoseconds / 1_000_000) ms (the server may be hung)"))
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let cancel = event as? CancelCall {
            let name = pending[cancel.callID]?.methodName ?? "call"
            finish(cancel.callID, context: context, sendCancel: true, error: RPCError(.cancelled, "\(name) cancelled by the caller"))
            promise?.succeed(())
            return
        }
        context.triggerUserOutboundEvent(event, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        lastReceived = .now()
        switch frame.kind {
        case .response:
            guard let call = pending.removeValue(forKey: frame.callID) else { return } // late: already timed out
            call.itemTimer?.cancel()
            if case .unary(let promise) = call.responder { promise.succeed(frame) }
        case .streamItem:
            guard let call = pending[frame.callID] else { return }
            if call.itemTimeout != nil {
                pending[frame.callID]!.credit = call.credit > 0 ? call.credit - 1 : 0
                armItemTimer(frame.callID, context: context)
            }
            if case .stream(let continuation) = call.responder {
                if case .dropped = continuation.yield(frame) {
                    // The server sent beyond the window it was granted: a protocol violation.
                    context.fireErrorCaught(WireError(.unexpectedFrame, "\(peer) overran the stream window of call \(frame.callID)"))
                }
            }
        case .streamEnd:
            guard let call = pending.removeValue(forKey: frame.callID) else { return }
            call.itemTimer?.cancel()
            if case .stream(let continuation) = call.responder {
                continuation.yield(frame)
                continuation.finish()
            }
        case .request, .cancel, .windowUpdate:
            context.fireErrorCaught(WireError(.unexpectedFrame, "\(peer) sent a \(frame.kind) frame to a client"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RPCError(.unavailable, "connection to \(peer) failed: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RPCError(.unavailable, "connection to \(peer) closed"))
        context.fireChannelInactive()
    }

    private func finish(_ callID: UInt64, context: ChannelHandlerContext, sendCancel: Bool, error: RPCError) {
        guard let call = pending.removeValue(forKey: callID) else { return }
        call.itemTimer?.cancel()
        fail(call.responder, error)
        if sendCancel && !closed {
            context.writeAndFlush(wrapOutboundOut(Frame(kind: .cancel, callID: callID, method: 0)), promise: nil)
        }
    }

    private func failAll(_ error: RPCError) {
        closed = true
        deadlineTimer?.timer.cancel()
        deadlineTimer = nil
        let calls = pending
        pending.removeAll()
        for (_, call) in calls {
            call.itemTimer?.cancel()
            fail(call.responder, RPCError(error.code, "\(call.methodName): \(error.message)"))
        }
    }

    private func fail(_ responder: Responder, _ error: RPCError) {
        switch responder {
        case .unary(let promise): promise.fail(error)
        case .stream(let continuation): continuation.finish(throwing: error)
        case .none: break
        }
    }
}
