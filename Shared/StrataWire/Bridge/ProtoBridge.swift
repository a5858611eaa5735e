import CWire
import NIOCore

// The protobuf-c bridge. This file and Checksum.swift are the only places in Strata that touch
// protobuf-c pointers: everything else sees `ProtoMessage` values and the Swift message types.
//
// The bridge is generic: it walks protobuf-c's message descriptors (field numbers, types,
// offsets) to build C structs from a `ProtoMessage` and to read them back, so adding a message
// means adding it to a .proto file and a Swift type, never more pointer code.

/// A handle to the protobuf-c descriptor of one message type.
public struct ProtoDescriptor: @unchecked Sendable, CustomStringConvertible {
    // Points at an immutable C global emitted by protoc-c, so sharing it across threads is safe.
    fileprivate let pointer: UnsafePointer<ProtobufCMessageDescriptor>

    /// The descriptor of the message with this full protobuf name, such as `strata.ServiceInfo`.
    /// A missing name is a programmer error: the .proto file and the Swift type disagree.
    public init(_ fullName: String) {
        guard let pointer = strata_wire_descriptor_named(fullName) else {
            preconditionFailure("no protobuf-c descriptor for message \(fullName); run scripts/gen-proto")
        }
        precondition(pointer.pointee.magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "bad descriptor magic for \(fullName)")
        self.pointer = pointer
    }

    /// The full protobuf name, such as `strata.ServiceInfo`.
    public var description: String { String(cString: pointer.pointee.name) }

    /// Field numbers and their protobuf type names, for checks in tests.
    public var fieldTypes: [UInt32: String] {
        var result: [UInt32: String] = [:]
        for index in 0..<Int(pointer.pointee.n_fields) {
            let field = pointer.pointee.fields[index]
            result[field.id] = ProtoBridge.typeName(field.type)
        }
        return result
    }
}

enum ProtoBridge {
    /// Serializes `message` as the protobuf message `descriptor`, appending to `buffer`.
    static func encode(_ message: ProtoMessage, as descriptor: ProtoDescriptor, into buffer: inout ByteBuffer) throws(WireError) {
        let arena = Arena()
        let root = try build(message, descriptor.pointer, arena)
        let cMessage = root.assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(cMessage)
        if size == 0 { return }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
            let written = protobuf_c_message_pack(cMessage, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            precondition(written == size, "protobuf-c packed \(written) bytes of \(size) for \(descriptor)")
            return written
        }
    }

    /// Parses the readable bytes of `buffer` as the protobuf message `descriptor`.
    static func decode(_ buffer: ByteBuffer, as descriptor: ProtoDescriptor) throws(WireError) -> ProtoMessage {
        let result: ProtoMessage? = buffer.withUnsafeReadableBytes { bytes in
            // protobuf-c wants a non-null pointer even for an empty message.
            var empty: UInt8 = 0
            let unpacked: UnsafeMutablePointer<ProtobufCMessage>?
            if let base = bytes.baseAddress, bytes.count > 0 {
                unpacked = protobuf_c_message_unpack(descriptor.pointer, nil, bytes.count, base.assumingMemoryBound(to: UInt8.self))
            } else {
                unpacked = withUnsafePointer(to: &empty) { protobuf_c_message_unpack(descriptor.pointer, nil, 0, $0) }
            }
            guard let unpacked else { return nil }
            defer { protobuf_c_message_free_unpacked(unpacked, nil) }
            return read(UnsafeRawPointer(unpacked), descriptor.pointer)
        }
        guard let result else {
            throw WireError(.malformedBody, "malformed protobuf body for \(descriptor) (\(buffer.readableBytes) bytes)")
        }
        return result
    }

    // MARK: Building C structs

    /// Memory handed to protobuf-c while packing one message; freed all at once. Allocations are
    /// carved out of zeroed chunks (one malloc per chunk, not per field); a request larger than a
    /// chunk gets a chunk of its own.
    private final class Arena {
        static let chunkBytes = 4096
        private var chunks: [UnsafeMutableRawPointer] = []
        private var next: UnsafeMutableRawPointer?
        private var remaining = 0

        func allocate(_ byteCount: Int) -> UnsafeMutableRawPointer {
            let size = (max(byteCount, 1) + 15) & ~15
            if size > remaining || next == nil {
                let chunkSize = max(size, Self.chunkBytes)
                let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 16)
                chunk.initializeMemory(as: UInt8.self, repeating: 0, count: chunkSize)
                chunks.append(chunk)
                if size >= Self.chunkBytes { return chunk } // keep the current chunk for small requests
                next = chunk
                remaining = chunkSize
            }
            let memory = next!
            next = memory + size
            remaining -= size
            return memory
        }

        deinit { for chunk in chunks { chunk.deallocate() } }
    }

    private static func build(
        _ message: ProtoMessage, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, _ arena: Arena
    ) throws(WireError) -> UnsafeMutableRawPointer {
        let memory = arena.allocate(descriptor.pointee.sizeof_message)
        guard let initialize = descriptor.pointee.message_init else {
            preconditionFailure("descriptor \(String(cString: descriptor.pointee.name)) has no init function")
        }
        initialize(memory.assumingMemoryBound(to: ProtobufCMessage.self))
        for (number, value) in message.fields {
            guard let field = protobuf_c_message_descriptor_get_field(descriptor, UInt32(number)) else {
                preconditionFailure("message \(String(cString: descriptor.pointee.name)) has no field \(number)")
            }
            try store(value, field, memory, arena, descriptor)
        }
        return memory
    }

    private static func store(
        _ value: ProtoValue, _ field: UnsafePointer<ProtobufCFieldDescriptor>, _ base: UnsafeMutableRawPointer,
        _ arena: Arena, _ owner: UnsafePointer<ProtobufCMessageDescriptor>
    ) throws(WireError) {
        let type = field.pointee.type
        if field.pointee.label == PROTOBUF_C_LABEL_REPEATED {
            guard case .repeated(let items) = value else { mismatch(value, field, owner) }
            let size = elementSize(type)
            let array = arena.allocate(size * items.count)
            for (index, item) in items.enumerated() {
                try storeElement(item, field, array + index * size, arena, owner)
            }
            base.storeBytes(of: items.count, toByteOffset: Int(field.pointee.quantifier_offset), as: Int.self)
            base.storeBytes(of: items.isEmpty ? nil : array, toByteOffset: Int(field.pointee.offset), as: UnsafeMutableRawPointer?.self)
            return
        }
        try storeElement(value, field, base + Int(field.pointee.offset), arena, owner)
        if field.pointee.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 {
            base.storeBytes(of: field.pointee.id, toByteOffset: Int(field.pointee.quantifier_offset), as: UInt32.self)
        } else if field.pointee.label == PROTOBUF_C_LABEL_OPTIONAL && hasPresenceFlag(type) {
            base.storeBytes(of: Int32(1), toByteOffset: Int(field.pointee.quantifier_offset), as: Int32.self)
        }
    }

    private static func storeElement(
        _ value: ProtoValue, _ field: UnsafePointer<ProtobufCFieldDescriptor>, _ slot: UnsafeMutableRawPointer,
        _ arena: Arena, _ owner: UnsafePointer<ProtobufCMessageDescriptor>
    ) throws(WireError) {
        switch (field.pointee.type, value) {
        case (PROTOBUF_C_TYPE_INT32, .int(let v)), (PROTOBUF_C_TYPE_SINT32, .int(let v)),
             (PROTOBUF_C_TYPE_SFIXED32, .int(let v)), (PROTOBUF_C_TYPE_ENUM, .int(let v)):
            guard let narrow = Int32(exactly: v) else { throw outOfRange(v, field, owner) }
            slot.storeBytes(of: narrow, as: Int32.self)
        case (PROTOBUF_C_TYPE_UINT32, .uint(let v)), (PROTOBUF_C_TYPE_FIXED32, .uint(let v)):
            guard let narrow = UInt32(exactly: v) else { throw outOfRange(v, field, owner) }
            slot.storeBytes(of: narrow, as: UInt32.self)
        case (PROTOBUF_C_TYPE_INT64, .int(let v)), (PROTOBUF_C_TYPE_SINT64, .int(let v)), (PROTOBUF_C_TYPE_SFIXED64, .int(let v)):
            slot.storeBytes(of: v, as: Int64.self)
        case (PROTOBUF_C_TYPE_UINT64, .uint(let v)), (PROTOBUF_C_TYPE_FIXED64, .uint(let v)):
            slot.storeBytes(of: v, as: UInt64.self)
        case (PROTOBUF_C_TYPE_BOOL, .bool(let v)):
            slot.storeBytes(of: Int32(v ? 1 : 0), as: Int32.self)
        case (PROTOBUF_C_TYPE_FLOAT, .float(let v)):
            slot.storeBytes(of: v, as: Float.self)
        case (PROTOBUF_C_TYPE_DOUBLE, .double(let v)):
            slot.storeBytes(of: v, as: Double.self)
        case (PROTOBUF_C_TYPE_STRING, .string(var v)):
            // Copied straight from the string's own UTF-8 storage (made contiguous if it is not).
            let text: UnsafeMutableRawPointer? = v.withUTF8 { utf8 in
                guard !utf8.contains(0) else { return nil }
                let text = arena.allocate(utf8.count + 1)
                if let base = utf8.baseAddress { text.copyMemory(from: base, byteCount: utf8.count) }
                return text
            }
            guard let text else {
                throw WireError(.invalidField, "field \(fieldName(field, owner)) contains a NUL character")
            }
            slot.storeBytes(of: text, as: UnsafeMutableRawPointer.self)
        case (PROTOBUF_C_TYPE_BYTES, .bytes(let v)):
            let data = arena.allocate(v.count)
            data.copyMemory(from: v, byteCount: v.count)
            slot.storeBytes(of: ProtobufCBinaryData(len: v.count, data: data.assumingMemoryBound(to: UInt8.self)),
                            as: ProtobufCBinaryData.self)
        case (PROTOBUF_C_TYPE_MESSAGE, .message(let nested)):
            let nestedDescriptor = field.pointee.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
            let built = try build(nested, nestedDescriptor, arena)
            slot.storeBytes(of: built, as: UnsafeMutableRawPointer.self)
        default:
            mismatch(value, field, owner)
        }
    }

    // MARK: Reading C structs

    private static func read(
        _ base: UnsafeRawPointer, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    ) -> ProtoMessage {
        var message = ProtoMessage()
        message.fields.reserveCapacity(Int(descriptor.pointee.n_fields))
        for index in 0..<Int(descriptor.pointee.n_fields) {
            let field = descriptor.pointee.fields + index
            let number = field.pointee.id
            if field.pointee.label == PROTOBUF_C_LABEL_REPEATED {
                let count = base.load(fromByteOffset: Int(field.pointee.quantifier_offset), as: Int.self)
                guard count > 0, let array = base.load(fromByteOffset: Int(field.pointee.offset), as: UnsafeRawPointer?.self)
                else { continue }
                let size = elementSize(field.pointee.type)
                var items: [ProtoValue] = []
                items.reserveCapacity(count)
                for item in 0..<count {
                    if let value = readElement(field, array + item * size) { items.append(value) }
                }
                message.fields.appendAbsent(number, .repeated(items))
                continue
            }
            if field.pointee.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 {
                let chosen = base.load(fromByteOffset: Int(field.pointee.quantifier_offset), as: UInt32.self)
                if chosen != number { continue }
            } else if field.pointee.label == PROTOBUF_C_LABEL_OPTIONAL && hasPresenceFlag(field.pointee.type) {
                if base.load(fromByteOffset: Int(field.pointee.quantifier_offset), as: Int32.self) == 0 { continue }
            }
            if let value = readElement(field, base + Int(field.pointee.offset)) { message.fields.appendAbsent(number, value) }
        }
        return message
    }

    private static func readElement(_ field: UnsafePointer<ProtobufCFieldDescriptor>, _ slot: UnsafeRawPointer) -> ProtoValue? {
        switch field.pointee.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_ENUM:
            return .int(Int64(slot.load(as: Int32.self)))
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            return .uint(UInt64(slot.load(as: UInt32.self)))
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            return .int(slot.load(as: Int64.self))
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            return .uint(slot.load(as: UInt64.self))
        case PROTOBUF_C_TYPE_BOOL:
            return .bool(slot.load(as: Int32.self) != 0)
        case PROTOBUF_C_TYPE_FLOAT:
            return .float(slot.load(as: Float.self))
        case PROTOBUF_C_TYPE_DOUBLE:
            return .double(slot.load(as: Double.self))
        case PROTOBUF_C_TYPE_STRING:
            guard let text = slot.load(as: UnsafePointer<CChar>?.self) else { return nil }
            return .string(String(cString: text))
        case PROTOBUF_C_TYPE_BYTES:
            let data = slot.load(as: ProtobufCBinaryData.self)
            guard data.len > 0, let bytes = data.data else { return .bytes([]) }
            return .bytes(Array(UnsafeBufferPointer(start: bytes, count: data.len)))
        case PROTOBUF_C_TYPE_MESSAGE:
            guard let nested = slot.load(as: UnsafeRawPointer?.self) else { return nil }
            let nestedDescriptor = field.pointee.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
            return .message(read(nested, nestedDescriptor))
        default:
            preconditionFailure("unknown protobuf-c field type \(field.pointee.type.rawValue)")
        }
    }

    // MARK: Helpers

    private static func elementSize(_ type: ProtobufCType) -> Int {
        switch type {
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64,
             PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE:
            return 8
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_MESSAGE:
            return MemoryLayout<UnsafeRawPointer>.stride
        case PROTOBUF_C_TYPE_BYTES:
            return MemoryLayout<ProtobufCBinaryData>.stride
        default:
            return 4
        }
    }

    /// protobuf-c keeps a `has_` flag for optional scalars and bytes; strings and messages use NULL.
    private static func hasPresenceFlag(_ type: ProtobufCType) -> Bool {
        type != PROTOBUF_C_TYPE_STRING && type != PROTOBUF_C_TYPE_MESSAGE
    }

    static func typeName(_ type: ProtobufCType) -> String {
        switch type {
        case PROTOBUF_C_TYPE_INT32: "int32"
        case PROTOBUF_C_TYPE_SINT32: "sint32"
        case PROTOBUF_C_TYPE_SFIXED32: "sfixed32"
        case PROTOBUF_C_TYPE_INT64: "int64"
        case PROTOBUF_C_TYPE_SINT64: "sint64"
        case PROTOBUF_C_TYPE_SFIXED64: "sfixed64"
        case PROTOBUF_C_TYPE_UINT32: "uint32"
        case PROTOBUF_C_TYPE_FIXED32: "fixed32"
        case PROTOBUF_C_TYPE_UINT64: "uint64"
        case PROTOBUF_C_TYPE_FIXED64: "fixed64"
        case PROTOBUF_C_TYPE_FLOAT: "float"
        case PROTOBUF_C_TYPE_DOUBLE: "double"
        case PROTOBUF_C_TYPE_BOOL: "bool"
        case PROTOBUF_C_TYPE_ENUM: "enum"
        case PROTOBUF_C_TYPE_STRING: "string"
        case PROTOBUF_C_TYPE_BYTES: "bytes"
        case PROTOBUF_C_TYPE_MESSAGE: "message"
        default: "unknown"
        }
    }

    private static func fieldName(_ field: UnsafePointer<ProtobufCFieldDescriptor>, _ owner: UnsafePointer<ProtobufCMessageDescriptor>) -> String {
        "\(String(cString: owner.pointee.name)).\(String(cString: field.pointee.name))"
    }

    private static func outOfRange<T>(_ value: T, _ field: UnsafePointer<ProtobufCFieldDescriptor>, _ owner: UnsafePointer<ProtobufCMessageDescriptor>) -> WireError {
        WireError(.invalidField, "value \(value) out of range for \(typeName(field.pointee.type)) field \(fieldName(field, owner))")
    }

    /// A Swift type stored a value of the wrong kind: the Swift mapping and the .proto disagree.
    private static func mismatch(_ value: ProtoValue, _ field: UnsafePointer<ProtobufCFieldDescriptor>, _ owner: UnsafePointer<ProtobufCMessageDescriptor>) -> Never {
        let repeated = field.pointee.label == PROTOBUF_C_LABEL_REPEATED ? "repeated " : ""
        preconditionFailure("field \(fieldName(field, owner)) is \(repeated)\(typeName(field.pointee.type)) but was given \(value)")
    }
}
