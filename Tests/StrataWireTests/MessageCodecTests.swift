import NIOCore
import Testing
@testable import StrataWire

/// Every message must survive Swift → protobuf-c → bytes → protobuf-c → Swift unchanged. A
/// failure means a Swift type and its .proto disagree on a field number or type.
@Suite struct MessageCodecTests {
    func roundTrip<M: WireMessage>(_ message: M) throws -> M {
        let bytes = try message.encoded()
        return try M(decoding: bytes)
    }

    @Test func rpcStatus() throws {
        for code in StatusCode.allCases {
            let status = RpcStatus(code: code, message: "message for \(code) ✓", leaderHint: "h1:19998")
            #expect(try roundTrip(status) == status)
        }
    }

    @Test func serviceInfo() throws {
        let info = ServiceInfo(kind: .journalNode, version: "0.1.0", protocolVersion: 1, nodeID: "journal-node@h:19200",
                               hostname: "h", startTimeMilliseconds: 1_790_000_000_000, uptimeMilliseconds: UInt64.max,
                               serving: true, role: "STANDBY",
                               ports: [NamedPort(name: "rpc", port: 65535), NamedPort(name: "web", port: 1)], pid: 4242)
        #expect(try roundTrip(info) == info)
        #expect(try roundTrip(GetServiceInfoRequest()) == GetServiceInfoRequest())
        for kind in ServiceKind.allCases {
            var other = info
            other.kind = kind
            #expect(try roundTrip(other) == other)
        }
    }

    @Test func configurationMessages() throws {
        let request = GetConfigurationRequest(names: ["strata.master.rpc.port", "strata.home"])
        #expect(try roundTrip(request) == request)
        #expect(try roundTrip(GetConfigurationRequest()) == GetConfigurationRequest())
        let response = GetConfigurationResponse(properties: [
            ConfigProperty(name: "strata.master.rpc.port", value: "19998", source: "DEFAULT", summary: "Port.", type: "integer"),
            ConfigProperty(name: "strata.home", value: "", source: "UNSET", summary: "", type: "string"),
        ])
        #expect(try roundTrip(response) == response)
    }

    @Test func echoMessages() throws {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        let request = EchoRequest(data: bytes, repeatCount: 7, delayMilliseconds: 9)
        #expect(try roundTrip(request) == request)
        let response = EchoResponse(data: [], sequence: UInt32.max)
        #expect(try roundTrip(response) == response)
    }

    @Test func defaultsEncodeToNothing() throws {
        // proto3: a message of defaults is zero bytes on the wire, like any protobuf implementation.
        #expect(try EchoResponse(data: [], sequence: 0).encoded().readableBytes == 0)
    }

    @Test func knownBytesFromTheProtobufSpec() throws {
        // EchoResponse{sequence: 150} is field 2 varint: 0x10 0x96 0x01, as any encoder writes it.
        let encoded = try EchoResponse(data: [], sequence: 150).encoded()
        #expect(Array(encoded.readableBytesView) == [0x10, 0x96, 0x01])
        let decoded = try EchoResponse(decoding: ByteBuffer(bytes: [0x0A, 0x02, 0x68, 0x69, 0x10, 0x96, 0x01]))
        #expect(decoded == EchoResponse(data: Array("hi".utf8), sequence: 150))
    }

    @Test func malformedBodiesAreRejected() {
        // A length-delimited field claiming more bytes than there are.
        let error = #expect(throws: WireError.self) { try EchoRequest(decoding: ByteBuffer(bytes: [0x0A, 0x05, 0x01])) }
        #expect(error?.code == .malformedBody)
        #expect(error?.message.contains("strata.EchoRequest") == true)
    }

    @Test func unknownEnumValuesAreRejected() {
        // RpcStatus{code: 99}
        let error = #expect(throws: WireError.self) { try RpcStatus(decoding: ByteBuffer(bytes: [0x08, 99])) }
        #expect(error?.code == .invalidField)
    }

    @Test func stringsWithNulCannotBeEncoded() {
        let error = #expect(throws: WireError.self) { try RpcStatus(code: .internal, message: "a\u{0}b").encoded() }
        #expect(error?.code == .invalidField)
    }

    @Test func swiftFieldNumbersMatchTheProtoFiles() {
        #expect(ServiceInfo.descriptor.fieldTypes[1] == "enum")
        #expect(ServiceInfo.descriptor.fieldTypes[10] == "message")
        #expect(ServiceInfo.descriptor.fieldTypes.count == 11)
        #expect(EchoRequest.descriptor.description == "strata.EchoRequest")
    }
}
