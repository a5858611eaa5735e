/// Big-endian binary writing for Strata's own file formats (journal segments, snapshots).
public struct ByteWriter: Sendable {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        for shift in stride(from: (size - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }

    public mutating func write(_ data: [UInt8]) { bytes.append(contentsOf: data) }

    /// A length-prefixed (u32) UTF-8 string.
    public mutating func write(_ text: String) {
        let utf8 = Array(text.utf8)
        write(UInt32(utf8.count))
        write(utf8)
    }

    public mutating func write(_ flag: Bool) { write(UInt8(flag ? 1 : 0)) }
}

/// Big-endian binary reading; every read returns nil rather than trapping on short input.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    /// Reads a UInt32 count of elements that each take at least `elementBytesMin` bytes; nil if
    /// the bytes left cannot hold that many (so a corrupt count never sizes an allocation).
    public mutating func readCount(elementBytesMin: Int) -> Int? {
        precondition(elementBytesMin > 0, "elementBytesMin must be positive, got \(elementBytesMin)")
        guard let count = read(UInt32.self), Int(count) <= remaining / elementBytesMin else { return nil }
        return Int(count)
    }

    public mutating func read<T: FixedWidthInteger>(_ type: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for byte in bytes[offset..<offset + size] { value = value << 8 | T(byte) }
        offset += size
        return value
    }

    public mutating func read(count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A length-prefixed string, at most `lengthMax` bytes.
    public mutating func readString(lengthMax: Int = 1 << 20) -> String? {
        guard let length = read(UInt32.self), Int(length) <= lengthMax, let utf8 = read(count: Int(length)) else { return nil }
        return String(decoding: utf8, as: UTF8.self)
    }

    public mutating func readBool() -> Bool? {
        guard let byte = read(UInt8.self), byte <= 1 else { return nil }
        return byte == 1
    }
}
