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

/// The file-system API's messages survive the protobuf-c round trip, including the attribute
/// presence flags of SetAttributeRequest (protoc-c has no proto3 `optional`).
@Suite struct FileSystemMessageCodecTests {
    func roundTrip<M: WireMessage>(_ message: M) throws -> M { try M(decoding: try message.encoded()) }

    @Test func fileSystemMessages() throws {
        var info = FileInfo()
        info.id = 42; info.path = "/a/b"; info.name = "b"; info.isDirectory = false; info.lengthBytes = 1 << 40
        info.blockSizeBytes = 64 << 20; info.blockIDs = [1, UInt64.max]; info.completed = true
        info.creationTimeMilliseconds = -5; info.modificationTimeMilliseconds = 1_790_000_000_000; info.mode = 0o644
        info.owner = "alice"; info.group = "staff"; info.ttlMilliseconds = -1; info.pinned = true
        info.replicationMin = 1; info.replicationMax = -1; info.persistenceState = "PERSISTED"; info.ufsFingerprint = "12:34"
        info.isMountPoint = true; info.childCount = 7; info.ufsPath = "/data/a/b"
        #expect(try roundTrip(info) == info)
        #expect(try roundTrip(FileInfoResponse(info: info)) == FileInfoResponse(info: info))
        #expect(try roundTrip(FileInfoResponse(info: nil)) == FileInfoResponse(info: nil))
        #expect(try roundTrip(FileInfoBatch(infos: [info, FileInfo()])).infos.count == 2)
        let operation = OperationIdentifier(client: 9, sequence: 3)
        #expect(try roundTrip(CreateDirectoryRequest(path: "/d", recursive: true, allowExists: true, operation: operation)).operation == operation)
        #expect(try roundTrip(CreateFileRequest(path: "/f", recursive: true, blockSizeBytes: 1024, operation: operation)) == CreateFileRequest(path: "/f", recursive: true, blockSizeBytes: 1024, operation: operation))
        #expect(try roundTrip(CompleteFileRequest(path: "/f", lengthBytes: 9, blockIDs: [4], operation: nil)).operation == nil)
        #expect(try roundTrip(DeleteRequest(path: "/x", recursive: true, operation: operation)) == DeleteRequest(path: "/x", recursive: true, operation: operation))
        #expect(try roundTrip(RenameRequest(source: "/a", destination: "/b", operation: operation)) == RenameRequest(source: "/a", destination: "/b", operation: operation))
        #expect(try roundTrip(MountRequest(path: "/m", ufsURI: "/data", readOnly: true, shared: true, operation: operation)) == MountRequest(path: "/m", ufsURI: "/data", readOnly: true, shared: true, operation: operation))
        #expect(try roundTrip(ListStatusRequest(path: "/", recursive: true)) == ListStatusRequest(path: "/", recursive: true))
        #expect(try roundTrip(ExistsResponse(exists: true)) == ExistsResponse(exists: true))

        var attributes = SetAttributeRequest(path: "/p")
        #expect(try roundTrip(attributes) == attributes) // nothing set stays nothing set
        attributes.pinned = false
        attributes.ttlMilliseconds = 0
        attributes.mode = 0
        attributes.owner = ""
        attributes.replicationMax = -1
        attributes.recursive = true
        attributes.operation = operation
        let back = try roundTrip(attributes)
        #expect(back == attributes) // set-to-default values are kept apart from unset ones
        #expect(back.group == nil && back.replicationMin == nil)

        var master = MasterInfo()
        master.leaderRPCAddress = "h:19998"; master.journalType = "EMBEDDED"; master.term = 3; master.clusterID = Array(repeating: 7, count: 16)
        master.masters = [MasterMember(rpcAddress: "h:19998", journalAddress: "h:19200", role: "LEADER", appliedIndex: 9, term: 3, voter: true)]
        master.thisRPCAddress = "h:19998"; master.thisRole = "LEADER"; master.commitIndex = 9; master.appliedIndex = 9
        master.inodeCount = 100; master.rootUFS = "/ufs"; master.startTimeMilliseconds = 1
        #expect(try roundTrip(master) == master)
    }
}
