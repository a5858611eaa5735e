import NIOCore
import StrataCore

/// What a frame is for. Values are part of the wire format (docs/wire-protocol.md).
public enum FrameKind: UInt8, Sendable, CaseIterable {
    /// Client → server: start call `callID` of `method`; `argument` is the deadline budget in ms.
    case request = 1
    /// Server → client: the single answer of a unary call.
    case response = 2
    /// Server → client: one item of a server-streaming call.
    case streamItem = 3
    /// Server → client: the end of a server-streaming call, with its status.
    case streamEnd = 4
    /// Client → server: the caller gave up on `callID` (deadline or cancellation).
    case cancel = 5
    /// Client → server: the caller can take `argument` more items of stream `callID`.
    case windowUpdate = 6
}

/// One frame: a fixed 36-byte header, a protobuf body and an optional raw payload.
///
/// Header layout (big-endian):
/// ```
///  0  magic          u32  0x53545241 ("STRA")
///  4  version        u8   1
///  5  kind           u8   FrameKind
///  6  status         u8   StatusCode (responses and stream ends; 0 otherwise)
///  7  flags          u8   0 (reserved)
///  8  call id        u64
/// 16  method         u32
/// 20  argument       u32  request: deadline budget in ms (0 = none); window update: credit
/// 24  body length    u32
/// 28  payload length u32
/// 32  checksum       u32  CRC-32 (zlib) of bytes 0..<32, then the body, then the payload
/// ```
public struct Frame: Sendable, Equatable {
    public static let magic: UInt32 = 0x5354_5241
    public static let headerSizeBytes = 36

    public var kind: FrameKind
    public var status: StatusCode
    public var callID: UInt64
    public var method: UInt32
    public var argument: UInt32
    /// The protobuf-encoded message.
    public var body: ByteBuffer
    /// Raw bytes after the body (block data), so that bulk data is not copied through protobuf.
    public var payload: ByteBuffer

    public init(
        kind: FrameKind, status: StatusCode = .ok, callID: UInt64, method: UInt32, argument: UInt32 = 0,
        body: ByteBuffer = ByteBuffer(), payload: ByteBuffer = ByteBuffer()
    ) {
        self.kind = kind
        self.status = status
        self.callID = callID
        self.method = method
        self.argument = argument
        self.body = body
        self.payload = payload
    }

    /// Total encoded size in bytes.
    public var sizeBytes: Int { Self.headerSizeBytes + body.readableBytes + payload.readableBytes }

    /// The header bytes of this frame, checksum included.
    func encodeHeader(into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(Self.magic)
        buffer.writeInteger(StrataVersion.wireProtocol)
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(UInt8(truncatingIfNeeded: status.rawValue))
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(callID)
        buffer.writeInteger(method)
        buffer.writeInteger(argument)
        buffer.writeInteger(UInt32(body.readableBytes))
        buffer.writeInteger(UInt32(payload.readableBytes))
        var crc = Checksum.crc32(0, buffer.getSlice(at: start, length: 32)!)
        crc = Checksum.crc32(crc, body)
        crc = Checksum.crc32(crc, payload)
        buffer.writeInteger(crc)
    }
}

/// Decodes frames from a byte stream, rejecting anything malformed.
///
/// The size check happens as soon as the header has arrived, so an oversized frame is refused
/// before its body is buffered.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame
    public let frameSizeMaxBytes: Int

    public init(frameSizeMaxBytes: Int) {
        precondition(frameSizeMaxBytes >= Frame.headerSizeBytes, "frame size max \(frameSizeMaxBytes) below header size")
        self.frameSizeMaxBytes = frameSizeMaxBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.decodeFrame(from: &buffer, frameSizeMaxBytes: frameSizeMaxBytes) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Takes one whole frame off the front of `buffer`, or returns nil if more bytes are needed.
    public static func decodeFrame(from buffer: inout ByteBuffer, frameSizeMaxBytes: Int) throws(WireError) -> Frame? {
        // Check the magic and version as soon as they arrive, so a stranger speaking another
        // protocol is turned away at once rather than after a full header's worth of bytes.
        let start = buffer.readerIndex
        if buffer.readableBytes >= 4 {
            let magic = buffer.getInteger(at: start, as: UInt32.self)!
            guard magic == Frame.magic else {
                throw WireError(.badMagic, "bad frame magic 0x\(String(magic, radix: 16)) (expected 0x53545241 'STRA'): not a Strata peer?")
            }
        }
        if buffer.readableBytes >= 5 {
            let version = buffer.getInteger(at: start + 4, as: UInt8.self)!
            guard version == StrataVersion.wireProtocol else {
                throw WireError(.unsupportedVersion, "unsupported wire protocol version \(version) (this build speaks \(StrataVersion.wireProtocol))")
            }
        }
        guard buffer.readableBytes >= Frame.headerSizeBytes else { return nil }
        let kindByte = buffer.getInteger(at: start + 5, as: UInt8.self)!
        guard let kind = FrameKind(rawValue: kindByte) else {
            throw WireError(.unknownFrameKind, "unknown frame kind \(kindByte)")
        }
        let statusByte = buffer.getInteger(at: start + 6, as: UInt8.self)!
        guard let status = StatusCode(rawValue: Int32(statusByte)) else {
            throw WireError(.unknownFrameKind, "unknown status code \(statusByte) in \(kind) frame")
        }
        let flags = buffer.getInteger(at: start + 7, as: UInt8.self)!
        guard flags == 0 else { throw WireError(.badFlags, "reserved frame flags set: 0x\(String(flags, radix: 16))") }
        let callID = buffer.getInteger(at: start + 8, as: UInt64.self)!
        let method = buffer.getInteger(at: start + 16, as: UInt32.self)!
        let argument = buffer.getInteger(at: start + 20, as: UInt32.self)!
        let bodyLength = Int(buffer.getInteger(at: start + 24, as: UInt32.self)!)
        let payloadLength = Int(buffer.getInteger(at: start + 28, as: UInt32.self)!)
        let checksum = buffer.getInteger(at: start + 32, as: UInt32.self)!
        let total = Frame.headerSizeBytes + bodyLength + payloadLength
        guard total <= frameSizeMaxBytes else {
            throw WireError(.frameTooLarge, "frame of \(total) bytes (call \(callID)) exceeds the maximum of \(frameSizeMaxBytes) bytes (strata.network.max.inbound.message.size)")
        }
        guard buffer.readableBytes >= total else { return nil }
        var crc = Checksum.crc32(0, buffer.getSlice(at: start, length: 32)!)
        let body = buffer.getSlice(at: start + Frame.headerSizeBytes, length: bodyLength)!
        let payload = buffer.getSlice(at: start + Frame.headerSizeBytes + bodyLength, length: payloadLength)!
        crc = Checksum.crc32(crc, body)
        crc = Checksum.crc32(crc, payload)
        guard crc == checksum else {
            throw WireError(.checksumMismatch, "checksum mismatch in \(kind) frame of call \(callID): header says 0x\(String(checksum, radix: 16)), content is 0x\(String(crc, radix: 16))")
        }
        buffer.moveReaderIndex(forwardBy: total)
        return Frame(kind: kind, status: status, callID: callID, method: method, argument: argument, body: body, payload: payload)
    }
}

/// Writes frames as header, body and payload without copying the body or payload.
public final class FrameEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = Frame
    public typealias OutboundOut = ByteBuffer

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        var header = context.channel.allocator.buffer(capacity: Frame.headerSizeBytes)
        frame.encodeHeader(into: &header)
        let hasBody = frame.body.readableBytes > 0
        let hasPayload = frame.payload.readableBytes > 0
        context.write(wrapOutboundOut(header), promise: hasBody || hasPayload ? nil : promise)
        if hasBody { context.write(wrapOutboundOut(frame.body), promise: hasPayload ? nil : promise) }
        if hasPayload { context.write(wrapOutboundOut(frame.payload), promise: promise) }
    }
}
