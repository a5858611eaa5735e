import NIOCore
import NIOEmbedded
import Testing
@testable import StrataWire

/// The framing layer: whatever arrives, a frame comes out whole and checked, or the connection
/// gets a typed error. A failure here means corrupt or hostile input could reach a handler.
@Suite struct FrameCodecTests {
    static let frameSizeMaxBytes = 1 << 20

    func sampleFrame(_ callID: UInt64 = 7, body: [UInt8] = Array("body".utf8), payload: [UInt8] = Array("raw".utf8)) -> Frame {
        Frame(kind: .request, callID: callID, method: 0x0001_0003, argument: 1500,
              body: ByteBuffer(bytes: body), payload: ByteBuffer(bytes: payload))
    }

    func encode(_ frames: [Frame]) throws -> ByteBuffer {
        let channel = EmbeddedChannel(handler: FrameEncoder())
        var out = ByteBuffer()
        for frame in frames {
            try channel.writeOutbound(frame)
            while var piece = try channel.readOutbound(as: ByteBuffer.self) { out.writeBuffer(&piece) }
        }
        _ = try channel.finish()
        return out
    }

    func decoderChannel() -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(frameSizeMaxBytes: Self.frameSizeMaxBytes)))
    }

    @Test func roundTrip() throws {
        let frame = sampleFrame()
        let bytes = try encode([frame])
        #expect(bytes.readableBytes == Frame.headerSizeBytes + 4 + 3)
        let channel = decoderChannel()
        try channel.writeInbound(bytes)
        #expect(try channel.readInbound(as: Frame.self) == frame)
        #expect(try channel.finish().isClean)
    }

    @Test func emptyBodyAndPayload() throws {
        let frame = Frame(kind: .cancel, callID: 1, method: 0)
        let channel = decoderChannel()
        try channel.writeInbound(try encode([frame]))
        #expect(try channel.readInbound(as: Frame.self) == frame)
    }

    @Test func fragmentedInputByteByByte() throws {
        let frame = sampleFrame(body: Array(repeating: 0xAB, count: 300))
        let bytes = try encode([frame])
        let channel = decoderChannel()
        for byte in bytes.readableBytesView {
            #expect(try channel.readInbound(as: Frame.self) == nil)
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(try channel.readInbound(as: Frame.self) == frame)
    }

    @Test func coalescedFramesInOneRead() throws {
        let frames = (1...5).map { sampleFrame(UInt64($0), body: Array(repeating: UInt8($0), count: $0 * 10)) }
        let channel = decoderChannel()
        try channel.writeInbound(try encode(frames))
        for frame in frames { #expect(try channel.readInbound(as: Frame.self) == frame) }
        #expect(try channel.readInbound(as: Frame.self) == nil)
    }

    func decodeError(_ bytes: ByteBuffer, frameSizeMaxBytes: Int = FrameCodecTests.frameSizeMaxBytes) -> WireError? {
        var buffer = bytes
        do {
            _ = try FrameDecoder.decodeFrame(from: &buffer, frameSizeMaxBytes: frameSizeMaxBytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func garbageIsRejected() throws {
        let garbage = ByteBuffer(string: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(decodeError(garbage)?.code == .badMagic)
        // Through the channel handler the error surfaces as a pipeline error.
        let channel = decoderChannel()
        #expect(throws: WireError.self) { try channel.writeInbound(garbage) }
    }

    @Test func badChecksumIsRejected() throws {
        var bytes = try encode([sampleFrame()])
        let last = bytes.writerIndex - 1
        bytes.setInteger(bytes.getInteger(at: last, as: UInt8.self)! ^ 0xFF, at: last)
        let error = decodeError(bytes)
        #expect(error?.code == .checksumMismatch)
        #expect(error?.message.contains("call 7") == true)
    }

    @Test func corruptHeaderFieldsAreRejected() throws {
        let good = try encode([sampleFrame()])
        var version = good
        version.setInteger(UInt8(9), at: 4)
        #expect(decodeError(version)?.code == .unsupportedVersion)
        var kind = good
        kind.setInteger(UInt8(200), at: 5)
        #expect(decodeError(kind)?.code == .unknownFrameKind)
        var flags = good
        flags.setInteger(UInt8(1), at: 7)
        #expect(decodeError(flags)?.code == .badFlags)
        var method = good
        method.setInteger(UInt32(0xDEAD), at: 16)
        #expect(decodeError(method)?.code == .checksumMismatch)
    }

    @Test func oversizedFrameIsRejectedFromItsHeaderAlone() throws {
        var header = ByteBuffer()
        var frame = sampleFrame()
        frame.body = ByteBuffer(repeating: 0, count: 2000)
        frame.encodeHeader(into: &header)
        // Only the header has arrived; the decoder must not wait for 2000 bytes it would refuse.
        let error = decodeError(header, frameSizeMaxBytes: 1000)
        #expect(error?.code == .frameTooLarge)
        #expect(error?.message.contains("exceeds the maximum of 1000 bytes") == true)
    }

    @Test func partialHeaderWaits() throws {
        var bytes = try encode([sampleFrame()])
        var partial = bytes.readSlice(length: 20)!
        #expect(try FrameDecoder.decodeFrame(from: &partial, frameSizeMaxBytes: 1000) == nil)
        #expect(partial.readableBytes == 20)
    }
}
