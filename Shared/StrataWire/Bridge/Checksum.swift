import CWire
import NIOCore

/// CRC-32 (zlib's values, IEEE polynomial; computed by libdeflate) over frame headers, bodies
/// and payloads.
public enum Checksum {
    /// Continues `crc` over the readable bytes of `buffer`.
    public static func crc32(_ crc: UInt32, _ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
            return strata_wire_crc32(crc, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
    }

    /// Continues `crc` over `bytes`.
    public static func crc32(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return crc }
            return strata_wire_crc32(crc, base, buffer.count)
        }
    }
}
