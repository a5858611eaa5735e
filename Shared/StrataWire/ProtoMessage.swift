import NIOCore

/// One field value of a protobuf message, as the bridge hands it over.
public enum ProtoValue: Sendable, Equatable {
    /// int32, sint32, sfixed32, int64, sint64, sfixed64 and enum fields.
    case int(Int64)
    /// uint32, fixed32, uint64 and fixed64 fields.
    case uint(UInt64)
    case bool(Bool)
    case float(Float)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case message(ProtoMessage)
    case repeated([ProtoValue])
}

/// The fields of a message, field number → value. Messages have a few dozen fields at most, so
/// they are kept as a small array in the order set (decoding sets them in descriptor order):
/// cheaper to build, read and drop than a hashed dictionary, which dominated encoding profiles.
public struct ProtoFields: Sendable, Equatable, Sequence {
    public struct Field: Sendable, Equatable {
        public let number: UInt32
        public var value: ProtoValue
    }
    private var entries: [Field] = []

    public init() {}

    public subscript(number: UInt32) -> ProtoValue? {
        get {
            for entry in entries where entry.number == number { return entry.value }
            return nil
        }
        set {
            if let position = entries.firstIndex(where: { $0.number == number }) {
                if let newValue { entries[position].value = newValue } else { entries.remove(at: position) }
            } else if let newValue {
                // Room for a typical message at once, not regrown at 1, 2, 4, 8 and 16 fields.
                if entries.capacity == 0 { entries.reserveCapacity(16) }
                entries.append(Field(number: number, value: newValue))
            }
        }
    }

    /// Adds a field known to be absent (the decoder visits each field number once).
    mutating func appendAbsent(_ number: UInt32, _ value: ProtoValue) {
        entries.append(Field(number: number, value: value))
    }

    mutating func reserveCapacity(_ count: Int) { entries.reserveCapacity(count) }

    public var count: Int { entries.count }

    public func makeIterator() -> some IteratorProtocol<(key: UInt32, value: ProtoValue)> {
        entries.lazy.map { (key: $0.number, value: $0.value) }.makeIterator()
    }

    /// Equal when they hold the same fields, whatever the order they were set in.
    public static func == (lhs: ProtoFields, rhs: ProtoFields) -> Bool {
        lhs.entries.count == rhs.entries.count && lhs.entries.allSatisfy { rhs[$0.number] == $0.value }
    }
}

/// A protobuf message as field number → value: what Swift message types map themselves to.
public struct ProtoMessage: Sendable, Equatable {
    public var fields = ProtoFields()

    public init() {}

    // MARK: Writing

    public mutating func set(_ number: UInt32, _ value: String) { fields[number] = .string(value) }
    public mutating func set(_ number: UInt32, _ value: Bool) { fields[number] = .bool(value) }
    public mutating func set(_ number: UInt32, _ value: UInt64) { fields[number] = .uint(value) }
    public mutating func set(_ number: UInt32, _ value: UInt32) { fields[number] = .uint(UInt64(value)) }
    public mutating func set(_ number: UInt32, _ value: Int64) { fields[number] = .int(value) }
    public mutating func set(_ number: UInt32, _ value: Int32) { fields[number] = .int(Int64(value)) }
    public mutating func set(_ number: UInt32, _ value: Double) { fields[number] = .double(value) }
    public mutating func set(_ number: UInt32, _ value: [UInt8]) { fields[number] = .bytes(value) }
    public mutating func set<E: RawRepresentable>(_ number: UInt32, _ value: E) where E.RawValue == Int32 {
        fields[number] = .int(Int64(value.rawValue))
    }
    public mutating func set<M: WireMessage>(_ number: UInt32, _ value: M?) {
        fields[number] = value.map { .message($0.proto) }
    }
    public mutating func set<M: WireMessage>(_ number: UInt32, _ values: [M]) {
        fields[number] = values.isEmpty ? nil : .repeated(values.map { .message($0.proto) })
    }
    public mutating func set(_ number: UInt32, _ values: [String]) {
        fields[number] = values.isEmpty ? nil : .repeated(values.map { .string($0) })
    }
    public mutating func set(_ number: UInt32, _ values: [UInt64]) {
        fields[number] = values.isEmpty ? nil : .repeated(values.map { .uint($0) })
    }
    public mutating func set(_ number: UInt32, _ values: [Int64]) {
        fields[number] = values.isEmpty ? nil : .repeated(values.map { .int($0) })
    }

    // MARK: Reading (absent fields read as proto3 defaults)

    public func string(_ number: UInt32) -> String {
        if case .string(let value)? = fields[number] { return value }
        return ""
    }
    public func bool(_ number: UInt32) -> Bool {
        if case .bool(let value)? = fields[number] { return value }
        return false
    }
    public func uint64(_ number: UInt32) -> UInt64 {
        if case .uint(let value)? = fields[number] { return value }
        return 0
    }
    public func uint32(_ number: UInt32) -> UInt32 { UInt32(truncatingIfNeeded: uint64(number)) }
    public func int64(_ number: UInt32) -> Int64 {
        if case .int(let value)? = fields[number] { return value }
        return 0
    }
    public func int32(_ number: UInt32) -> Int32 { Int32(truncatingIfNeeded: int64(number)) }
    public func double(_ number: UInt32) -> Double {
        if case .double(let value)? = fields[number] { return value }
        return 0
    }
    public func bytes(_ number: UInt32) -> [UInt8] {
        if case .bytes(let value)? = fields[number] { return value }
        return []
    }
    public func strings(_ number: UInt32) -> [String] {
        guard case .repeated(let items)? = fields[number] else { return [] }
        return items.compactMap { if case .string(let value) = $0 { value } else { nil } }
    }
    public func uint64s(_ number: UInt32) -> [UInt64] {
        guard case .repeated(let items)? = fields[number] else { return [] }
        return items.compactMap { if case .uint(let value) = $0 { value } else { nil } }
    }
    public func int64s(_ number: UInt32) -> [Int64] {
        guard case .repeated(let items)? = fields[number] else { return [] }
        return items.compactMap { if case .int(let value) = $0 { value } else { nil } }
    }
    /// The enum field `number`; a value this build does not know is an `invalidField` error.
    public func enumeration<E: RawRepresentable>(_ number: UInt32, as type: E.Type) throws(WireError) -> E where E.RawValue == Int32 {
        let raw = int32(number)
        guard let value = E(rawValue: raw) else {
            throw WireError(.invalidField, "unknown \(E.self) value \(raw) in field \(number)")
        }
        return value
    }
    public func message<M: WireMessage>(_ number: UInt32, as type: M.Type) throws(WireError) -> M? {
        guard case .message(let nested)? = fields[number] else { return nil }
        return try M(proto: nested)
    }
    public func messages<M: WireMessage>(_ number: UInt32, as type: M.Type) throws(WireError) -> [M] {
        guard case .repeated(let items)? = fields[number] else { return [] }
        var result: [M] = []
        result.reserveCapacity(items.count)
        for item in items {
            if case .message(let nested) = item { result.append(try M(proto: nested)) }
        }
        return result
    }
}

/// A Swift type that travels as a protobuf message compiled with protoc-c.
///
/// Conforming types name their descriptor and map themselves to and from `ProtoMessage`; the
/// bridge does the rest. Field numbers must match the .proto file; the codec round-trip test
/// of every message checks that they do.
public protocol WireMessage: Sendable, Equatable {
    static var descriptor: ProtoDescriptor { get }
    init(proto: ProtoMessage) throws(WireError)
    var proto: ProtoMessage { get }
}

extension WireMessage {
    /// Appends the protobuf encoding of this message to `buffer`.
    public func encode(into buffer: inout ByteBuffer) throws(WireError) {
        try ProtoBridge.encode(proto, as: Self.descriptor, into: &buffer)
    }

    /// The protobuf encoding of this message.
    public func encoded() throws(WireError) -> ByteBuffer {
        var buffer = ByteBuffer()
        try encode(into: &buffer)
        return buffer
    }

    /// Decodes a message from the readable bytes of `buffer`.
    public init(decoding buffer: ByteBuffer) throws(WireError) {
        try self.init(proto: ProtoBridge.decode(buffer, as: Self.descriptor))
    }
}
