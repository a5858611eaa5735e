import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 keep-alive connection to etcd's JSON gateway, one request at a time.
public final class EtcdConnection: @unchecked Sendable {
    /// Completes each request's promise with the response body (or fails it on a non-200 status).
    private final class Responses: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        var pending: EventLoopPromise<ByteBuffer>?
        var status: HTTPResponseStatus = .ok
        var body = ByteBuffer()

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = head.status
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                let promise = pending
                pending = nil
                if status == .ok { promise?.succeed(body) } else { promise?.fail(BenchError("etcd answered \(status): \(String(buffer: body).prefix(200))")) }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            pending?.fail(error)
            pending = nil
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            pending?.fail(BenchError("etcd closed the connection"))
            pending = nil
        }
    }

    private let channel: any Channel
    private let responses: Responses
    private let port: Int

    public init(port: Int, connectTimeout: Duration = .seconds(2)) async throws {
        let responses = Responses()
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(responses)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        self.responses = responses
        self.port = port
    }

    /// POSTs `json` to `path` and returns the response body. Past `deadline` the request fails
    /// and the connection is closed (it cannot be used again).
    public func post(_ path: String, _ json: String, deadline: Duration? = nil) async throws -> String {
        let channel = channel, responses = responses, port = port
        let body = try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<ByteBuffer> in
            let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
            guard channel.isActive else {
                promise.fail(BenchError("the connection to etcd is closed"))
                return promise.futureResult
            }
            precondition(responses.pending == nil, "one request at a time per connection")
            responses.pending = promise
            if let deadline {
                let timer = channel.eventLoop.scheduleTask(in: TimeAmount(deadline)) {
                    responses.pending?.fail(BenchError("no answer from etcd within \(deadline)"))
                    responses.pending = nil
                    channel.close(promise: nil)
                }
                promise.futureResult.whenComplete { _ in timer.cancel() }
            }
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
            head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(json.utf8.count))
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: json))), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            return promise.futureResult
        }.get()
        return String(buffer: body)
    }

    /// One request on a connection of its own (connected within `deadline` too), then closed.
    public static func post(port: Int, _ path: String, _ json: String, deadline: Duration) async throws -> String {
        let connection = try await EtcdConnection(port: port, connectTimeout: deadline)
        defer { Task { await connection.close() } }
        return try await connection.post(path, json, deadline: deadline)
    }

    public func close() async { try? await channel.close() }
}

extension Etcd {
    public static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// The status of the member taking clients on `port` (`/v3/maintenance/status`), parsed.
    public static func status(port: Int, deadline: Duration = .milliseconds(300)) async -> [String: Any]? {
        guard let body = try? await EtcdConnection.post(port: port, "/v3/maintenance/status", "{}", deadline: deadline) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }

    /// The member that leads, by its position in `clientPorts`, from each member's status.
    public static func leader(_ clientPorts: [Int]) async -> Int? {
        for (position, port) in clientPorts.enumerated() {
            guard let json = await status(port: port), let header = json["header"] as? [String: Any],
                  let member = header["member_id"] as? String, let leader = json["leader"] as? String else { continue }
            if member == leader { return position }
        }
        return nil
    }
}
