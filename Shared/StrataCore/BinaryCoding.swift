/// Big-endian binary writing for Strata's own file formats (journal segments, snapshots).
///
/// Inlinable, so that each caller's integer types are specialized: as generic calls across the
/// module boundary, every byte went through protocol witnesses, and reading integers was a third
/// of a master's restart (snapshot decode and log replay).
public struct ByteWriter: Sendable {
    public var bytes: [UInt8] = []

    @inlinable public init() {}

    /// Makes room for `count` bytes in all, so that a large encoding grows its buffer once.
    @inlinable public mutating func reserveCapacity(_ count: Int) { bytes.reserveCapacity(count) }

    @inlinable public mutating func write<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        for shift in stride(from: (size - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }

    @inlinable public mutating func write(_ data: [UInt8]) { bytes.append(contentsOf: data) }

    /// A length-prefixed (u32) UTF-8 string.
    @inlinable public mutating func write(_ text: String) {
        write(UInt32(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    @inlinable public mutating func write(_ flag: Bool) { write(UInt8(flag ? 1 : 0)) }
}

/// Big-endian binary reading; every read returns nil rather than trapping on short input.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    @usableFromInline var position: Int

    /// How many bytes have been read.
    public var offset: Int { position }

    @inlinable public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.position = offset
    }

    @inlinable public var remaining: Int { bytes.count - position }

    /// Reads a UInt32 count of elements that each take at least `elementBytesMin` bytes; nil if
    /// the bytes left cannot hold that many (so a corrupt count never sizes an allocation).
    @inlinable public mutating func readCount(elementBytesMin: Int) -> Int? {
        precondition(elementBytesMin > 0, "elementBytesMin must be positive, got \(elementBytesMin)")
        guard let count = read(UInt32.self), Int(count) <= remaining / elementBytesMin else { return nil }
        return Int(count)
    }

    @inlinable public mutating func read<T: FixedWidthInteger>(_ type: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for index in position..<position + size { value = value << 8 | T(truncatingIfNeeded: bytes[index]) }
        position += size
        return value
    }

    @inlinable public mutating func read(count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// A length-prefixed string, at most `lengthMax` bytes.
    @inlinable public mutating func readString(lengthMax: Int = 1 << 20) -> String? {
        guard let length = read(UInt32.self), Int(length) <= lengthMax, remaining >= Int(length) else { return nil }
        defer { position += Int(length) }
        return String(decoding: bytes[position..<position + Int(length)], as: UTF8.self)
    }

    @inlinable public mutating func readBool() -> Bool? {
        guard let byte = read(UInt8.self), byte <= 1 else { return nil }
        return byte == 1
    }
}
