import NIOCore
import StrataFuzzSupport
@testable import StrataWire

/// The frame decoder on arbitrary bytes: any split of the stream into reads gives the same
/// frames, a decoded frame re-encodes to bytes that decode to the same frame, and nothing traps.
func check(_ input: [UInt8]) {
    guard let (selector, bytes) = FuzzTarget.split(input) else { return }
    let frameSizeMaxBytes = 1 << 16
    // All at once.
    var whole = ByteBuffer(bytes: bytes)
    var frames: [Frame] = []
    var failed = false
    while true {
        do {
            guard let frame = try FrameDecoder.decodeFrame(from: &whole, frameSizeMaxBytes: frameSizeMaxBytes) else { break }
            frames.append(frame)
        } catch {
            failed = true
            break
        }
    }
    // In two reads, split where the selector says: the same frames, the same verdict.
    let cut = bytes.isEmpty ? 0 : Int(selector) % (bytes.count + 1)
    var stream = ByteBuffer(bytes: bytes[..<cut])
    var again: [Frame] = []
    var failedAgain = false
    var fed = false
    while true {
        do {
            if let frame = try FrameDecoder.decodeFrame(from: &stream, frameSizeMaxBytes: frameSizeMaxBytes) {
                again.append(frame)
                continue
            }
        } catch {
            failedAgain = true
            break
        }
        guard !fed else { break }
        stream.writeBytes(bytes[cut...])
        fed = true
    }
    precondition(frames == again && failed == failedAgain,
                 "split at \(cut) of \(bytes.count): \(frames.count) frames (failed \(failed)) whole, \(again.count) (failed \(failedAgain)) in two reads")
    // Round trip.
    for frame in frames {
        var encoded = ByteBuffer()
        frame.encodeHeader(into: &encoded)
        encoded.writeImmutableBuffer(frame.body)
        encoded.writeImmutableBuffer(frame.payload)
        let decoded = try? FrameDecoder.decodeFrame(from: &encoded, frameSizeMaxBytes: frameSizeMaxBytes)
        precondition(decoded == frame, "frame \(frame) does not survive a round trip")
    }
}

/// Whole frames as peers send them: a request with a body, a stream item with a payload, two
/// frames back to back.
func seeds() -> [[UInt8]] {
    func encoded(_ frames: [Frame]) -> [UInt8] {
        var buffer = ByteBuffer()
        for frame in frames {
            frame.encodeHeader(into: &buffer)
            buffer.writeImmutableBuffer(frame.body)
            buffer.writeImmutableBuffer(frame.payload)
        }
        return Array(buffer.readableBytesView)
    }
    let request = Frame(kind: .request, callID: 7, method: 0x0001_0001, argument: 30_000, body: ByteBuffer(bytes: [0x0A, 0x03, 0x61, 0x62, 0x63]))
    let item = Frame(kind: .streamItem, callID: 7, method: 0x0001_0002, body: ByteBuffer(bytes: [0x08, 0x01]), payload: ByteBuffer(bytes: Array(repeating: 0xEE, count: 64)))
    let end = Frame(kind: .streamEnd, status: .notFound, callID: 7, method: 0x0001_0002)
    return [[0] + encoded([request]), [17] + encoded([item]), [40] + encoded([item, end]), [3] + encoded([request, item, end])]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt { FuzzTarget.fuzz(start, count, check) }

#if !STRATA_FUZZ
@main struct Replay {
    static func main() { FuzzTarget.replay(check, seeds: seeds) }
}
#endif
