import NIOCore
import StrataFuzzSupport
import StrataJournal
import StrataWire

/// Every message type through the protobuf-c bridge: the first byte picks the type, the rest is
/// its body. Whatever decodes must encode and decode back to an equal value; nothing traps.
let messageTypes: [any WireMessage.Type] = [
    BackupRequest.self,
    BackupStatus.self,
    BackupStatusRequest.self,
    BlockLocation.self,
    BlockReport.self,
    CacheBlockResponse.self,
    CommandStatus.self,
    CompleteFileRequest.self,
    ConfigProperty.self,
    CreateDirectoryRequest.self,
    CreateFileRequest.self,
    DeleteRequest.self,
    EchoRequest.self,
    EchoResponse.self,
    EmptyResponse.self,
    ExistsResponse.self,
    ExportedJobTable.self,
    FailedFileMessage.self,
    FileBlockInfo.self,
    FileBlocksResponse.self,
    FileInfo.self,
    FileInfoBatch.self,
    FileInfoResponse.self,
    FreeRequest.self,
    FreeResponse.self,
    GetConfigurationRequest.self,
    GetConfigurationResponse.self,
    GetServiceInfoRequest.self,
    JobIdRequest.self,
    JobInfo.self,
    JobList.self,
    JobRequestMessage.self,
    JobServiceSummary.self,
    JobWorkerHeartbeat.self,
    JobWorkerHeartbeatResponse.self,
    JobWorkerInfo.self,
    JoinQuorumRequest.self,
    JoinQuorumResponse.self,
    ListJobsRequest.self,
    ListStatusRequest.self,
    LocalBlock.self,
    LocalBlockRequest.self,
    MasterInfo.self,
    MasterMember.self,
    MountRequest.self,
    NamedPort.self,
    PathRequest.self,
    QuorumChangeRequest.self,
    QuorumInfo.self,
    QuorumMemberInfo.self,
    RaftMessageBatch.self,
    RaftMessageBatchResponse.self,
    ReadBlockChunk.self,
    ReadBlockRequest.self,
    RenameRequest.self,
    RpcStatus.self,
    ServiceInfo.self,
    SetAttributeRequest.self,
    SnapshotChunk.self,
    SnapshotChunkResponse.self,
    SubmitJobsRequest.self,
    SubmitJobsResponse.self,
    TaskAssignment.self,
    TaskInfo.self,
    TaskKeyMessage.self,
    TaskOutcome.self,
    TaskProgress.self,
    TierUsage.self,
    WorkerAddress.self,
    WorkerCommand.self,
    WorkerHeartbeatRequest.self,
    WorkerHeartbeatResponse.self,
    WorkerInfo.self,
    WorkerList.self,
    WriteBlockRequest.self,
    WriteBlockResponse.self,
]

extension WireMessage {
    static func roundTrip(_ body: [UInt8]) {
        Self.roundTripped(Self.self, body)
    }

    private static func roundTripped<Message: WireMessage>(_: Message.Type, _ body: [UInt8]) {
        guard let decoded = try? Message(decoding: ByteBuffer(bytes: body)) else { return }
        let encoded: ByteBuffer
        do { encoded = try decoded.encoded() } catch {
            preconditionFailure("\(Message.descriptor) decoded from \(body.count) bytes but does not encode: \(error)")
        }
        let again = try? Message(decoding: encoded)
        precondition(again == decoded, "\(Message.descriptor) does not survive a round trip: \(decoded) became \(again.map { "\($0)" } ?? "undecodable")")
    }
}

func check(_ input: [UInt8]) {
    guard let (selector, body) = FuzzTarget.split(input) else { return }
    messageTypes[Int(selector) % messageTypes.count].roundTrip(body)
}

/// Every type's empty message, and a few filled in.
func seeds() -> [[UInt8]] {
    var seeds = messageTypes.indices.map { [UInt8($0)] }
    func seed<Message: WireMessage>(_ message: Message) -> [UInt8] {
        let index = messageTypes.firstIndex { $0 == Message.self }!
        return [UInt8(index)] + Array(try! message.encoded().readableBytesView)
    }
    var info = MasterInfo()
    info.leaderRPCAddress = "master1:19998"
    info.term = 7
    info.masters = [MasterMember(rpcAddress: "master1:19998", journalAddress: "master1:19200", role: "LEADER", appliedIndex: 40, term: 7, voter: true)]
    info.thisRole = "LEADER"
    seeds.append(seed(info))
    seeds.append(seed(EchoRequest(data: [1, 2, 3])))
    seeds.append(seed(PathRequest(path: "/a/b")))
    seeds.append(seed(RpcStatus(code: .notLeader, message: "standby", leaderHint: "master2:19998")))
    return seeds
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt { FuzzTarget.fuzz(start, count, check) }

#if !STRATA_FUZZ
@main struct Replay {
    static func main() { FuzzTarget.replay(check, seeds: seeds) }
}
#endif
