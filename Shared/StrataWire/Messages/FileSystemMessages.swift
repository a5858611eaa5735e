/// Messages of filesystem.proto: the file-system master's client API.

/// Methods of the file-system master (service 0x0003), on the master RPC port.
public enum FileSystemMethods {
    public static let createDirectory = RPCMethod<CreateDirectoryRequest, FileInfoResponse>(id: 0x0003_0001, name: "FileSystem.CreateDirectory")
    public static let createFile = RPCMethod<CreateFileRequest, FileInfoResponse>(id: 0x0003_0002, name: "FileSystem.CreateFile")
    public static let completeFile = RPCMethod<CompleteFileRequest, FileInfoResponse>(id: 0x0003_0003, name: "FileSystem.CompleteFile")
    public static let getStatus = RPCMethod<PathRequest, FileInfoResponse>(id: 0x0003_0004, name: "FileSystem.GetStatus")
    public static let listStatus = RPCStreamMethod<ListStatusRequest, FileInfoBatch>(id: 0x0003_0005, name: "FileSystem.ListStatus")
    public static let delete = RPCMethod<DeleteRequest, EmptyResponse>(id: 0x0003_0006, name: "FileSystem.Delete")
    public static let rename = RPCMethod<RenameRequest, FileInfoResponse>(id: 0x0003_0007, name: "FileSystem.Rename")
    public static let setAttribute = RPCMethod<SetAttributeRequest, FileInfoResponse>(id: 0x0003_0008, name: "FileSystem.SetAttribute")
    public static let mount = RPCMethod<MountRequest, FileInfoResponse>(id: 0x0003_0009, name: "FileSystem.Mount")
    public static let unmount = RPCMethod<DeleteRequest, EmptyResponse>(id: 0x0003_000A, name: "FileSystem.Unmount")
    public static let exists = RPCMethod<PathRequest, ExistsResponse>(id: 0x0003_000B, name: "FileSystem.Exists")
    public static let getMasterInfo = RPCMethod<GetServiceInfoRequest, MasterInfo>(id: 0x0003_000C, name: "FileSystem.GetMasterInfo")
    /// The leader checkpoints its journal and has every other master do the same.
    public static let checkpoint = RPCMethod<GetServiceInfoRequest, EmptyResponse>(id: 0x0003_000D, name: "FileSystem.Checkpoint")
    /// Checkpoints this master's journal (any master; what the leader asks of the others).
    public static let checkpointLocal = RPCMethod<GetServiceInfoRequest, EmptyResponse>(id: 0x0003_000E, name: "FileSystem.CheckpointLocal")
    /// The leader starts a backup (delegated to a standby unless told otherwise) and answers at once.
    public static let backup = RPCMethod<BackupRequest, BackupStatus>(id: 0x0003_0010, name: "FileSystem.Backup")
    /// A master (the delegate, or the leader itself) takes the backup the leader asked for.
    public static let backupLocal = RPCMethod<BackupRequest, BackupStatus>(id: 0x0003_0011, name: "FileSystem.BackupLocal")
    /// How a backup taken by this master is going.
    public static let backupStatus = RPCMethod<BackupStatusRequest, BackupStatus>(id: 0x0003_0012, name: "FileSystem.BackupStatus")
}

public struct OperationIdentifier: Sendable, Equatable {
    public var client: UInt64
    public var sequence: UInt64
    public init(client: UInt64, sequence: UInt64) {
        self.client = client
        self.sequence = sequence
    }
}

extension ProtoMessage {
    func operation(_ number: UInt32) -> OperationIdentifier? {
        guard case .message(let nested)? = fields[number] else { return nil }
        return OperationIdentifier(client: nested.uint64(1), sequence: nested.uint64(2))
    }

    mutating func set(_ number: UInt32, operation: OperationIdentifier?) {
        guard let operation else { return }
        var nested = ProtoMessage()
        nested.set(1, operation.client)
        nested.set(2, operation.sequence)
        fields[number] = .message(nested)
    }
}

public struct FileInfo: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.FileInfo")
    public var id: UInt64 = 0
    public var path = ""
    public var name = ""
    public var isDirectory = false
    public var lengthBytes: Int64 = 0
    public var blockSizeBytes: Int64 = 0
    public var blockIDs: [UInt64] = []
    public var completed = false
    public var creationTimeMilliseconds: Int64 = 0
    public var modificationTimeMilliseconds: Int64 = 0
    public var mode: UInt32 = 0
    public var owner = ""
    public var group = ""
    public var ttlMilliseconds: Int64 = -1
    public var pinned = false
    public var replicationMin: Int32 = 0
    public var replicationMax: Int32 = -1
    public var persistenceState = ""
    public var ufsFingerprint = ""
    public var isMountPoint = false
    public var childCount: UInt64 = 0
    public var ufsPath = ""

    public init() {}

    public init(proto: ProtoMessage) throws(WireError) {
        id = proto.uint64(1); path = proto.string(2); name = proto.string(3); isDirectory = proto.bool(4)
        lengthBytes = proto.int64(5); blockSizeBytes = proto.int64(6); blockIDs = proto.uint64s(7); completed = proto.bool(8)
        creationTimeMilliseconds = proto.int64(9); modificationTimeMilliseconds = proto.int64(10); mode = proto.uint32(11)
        owner = proto.string(12); group = proto.string(13); ttlMilliseconds = proto.int64(14); pinned = proto.bool(15)
        replicationMin = proto.int32(16); replicationMax = proto.int32(17); persistenceState = proto.string(18)
        ufsFingerprint = proto.string(19); isMountPoint = proto.bool(20); childCount = proto.uint64(21); ufsPath = proto.string(22)
    }

    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, id); p.set(2, path); p.set(3, name); p.set(4, isDirectory); p.set(5, lengthBytes); p.set(6, blockSizeBytes)
        p.set(7, blockIDs); p.set(8, completed); p.set(9, creationTimeMilliseconds); p.set(10, modificationTimeMilliseconds)
        p.set(11, mode); p.set(12, owner); p.set(13, group); p.set(14, ttlMilliseconds); p.set(15, pinned)
        p.set(16, replicationMin); p.set(17, replicationMax); p.set(18, persistenceState); p.set(19, ufsFingerprint)
        p.set(20, isMountPoint); p.set(21, childCount); p.set(22, ufsPath)
        return p
    }
}

public struct CreateDirectoryRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.CreateDirectoryRequest")
    public var path: String
    public var recursive = false
    public var allowExists = false
    public var mode: UInt32 = 0o755
    public var operation: OperationIdentifier?

    public init(path: String, recursive: Bool = false, allowExists: Bool = false, mode: UInt32 = 0o755, operation: OperationIdentifier? = nil) {
        self.path = path; self.recursive = recursive; self.allowExists = allowExists; self.mode = mode; self.operation = operation
    }
    public init(proto: ProtoMessage) throws(WireError) {
        path = proto.string(1); recursive = proto.bool(2); allowExists = proto.bool(3); mode = proto.uint32(4); operation = proto.operation(5)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, path); p.set(2, recursive); p.set(3, allowExists); p.set(4, mode); p.set(5, operation: operation)
        return p
    }
}

public struct CreateFileRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.CreateFileRequest")
    public var path: String
    public var recursive = false
    public var blockSizeBytes: Int64 = 0
    public var mode: UInt32 = 0o644
    public var ttlMilliseconds: Int64 = -1
    public var replicationMin: Int32 = 0
    public var replicationMax: Int32 = -1
    public var operation: OperationIdentifier?
    /// Create it empty and complete at once: one journal entry instead of two.
    public var completeEmpty = false

    public init(path: String, recursive: Bool = false, blockSizeBytes: Int64 = 0, operation: OperationIdentifier? = nil, completeEmpty: Bool = false) {
        self.path = path; self.recursive = recursive; self.blockSizeBytes = blockSizeBytes; self.operation = operation
        self.completeEmpty = completeEmpty
    }
    public init(proto: ProtoMessage) throws(WireError) {
        path = proto.string(1); recursive = proto.bool(2); blockSizeBytes = proto.int64(3); mode = proto.uint32(4)
        ttlMilliseconds = proto.int64(5); replicationMin = proto.int32(6); replicationMax = proto.int32(7); operation = proto.operation(8)
        completeEmpty = proto.bool(9)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, path); p.set(2, recursive); p.set(3, blockSizeBytes); p.set(4, mode); p.set(5, ttlMilliseconds)
        p.set(6, replicationMin); p.set(7, replicationMax); p.set(8, operation: operation); p.set(9, completeEmpty)
        return p
    }
}

public struct CompleteFileRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.CompleteFileRequest")
    public var path: String
    public var lengthBytes: Int64
    public var blockIDs: [UInt64]
    public var operation: OperationIdentifier?
    /// "" (NOT_PERSISTED), PERSISTED or TO_BE_PERSISTED.
    public var persistenceState: String

    public init(path: String, lengthBytes: Int64, blockIDs: [UInt64] = [], operation: OperationIdentifier? = nil, persistenceState: String = "") {
        self.path = path; self.lengthBytes = lengthBytes; self.blockIDs = blockIDs; self.operation = operation
        self.persistenceState = persistenceState
    }
    public init(proto: ProtoMessage) throws(WireError) {
        path = proto.string(1); lengthBytes = proto.int64(2); blockIDs = proto.uint64s(3); operation = proto.operation(4)
        persistenceState = proto.string(5)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, path); p.set(2, lengthBytes); p.set(3, blockIDs); p.set(4, operation: operation); p.set(5, persistenceState)
        return p
    }
}

public struct FileInfoResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.FileInfoResponse")
    public var info: FileInfo?
    public init(info: FileInfo?) { self.info = info }
    public init(proto: ProtoMessage) throws(WireError) { info = try proto.message(1, as: FileInfo.self) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, info)
        return p
    }
}

public struct PathRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.PathRequest")
    public var path: String
    public init(path: String) { self.path = path }
    public init(proto: ProtoMessage) throws(WireError) { path = proto.string(1) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, path)
        return p
    }
}

public struct ListStatusRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.ListStatusRequest")
    public var path: String
    public var recursive: Bool
    public init(path: String, recursive: Bool = false) { self.path = path; self.recursive = recursive }
    public init(proto: ProtoMessage) throws(WireError) { path = proto.string(1); recursive = proto.bool(2) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, path); p.set(2, recursive)
        return p
    }
}

public struct FileInfoBatch: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.FileInfoBatch")
    /// Most entries in one streamed batch.
    public static let entriesMax = 1000
    public var infos: [FileInfo]
    public init(infos: [FileInfo]) { self.infos = infos }
    public init(proto: ProtoMessage) throws(WireError) { infos = try proto.messages(1, as: FileInfo.self) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, infos)
        return p
    }
}

public struct DeleteRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.DeleteRequest")
    public var path: String
    public var recursive: Bool
    public var operation: OperationIdentifier?
    public init(path: String, recursive: Bool = false, operation: OperationIdentifier? = nil) {
        self.path = path; self.recursive = recursive; self.operation = operation
    }
    public init(proto: ProtoMessage) throws(WireError) { path = proto.string(1); recursive = proto.bool(2); operation = proto.operation(3) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, path); p.set(2, recursive); p.set(3, operation: operation)
        return p
    }
}

public struct RenameRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.RenameRequest")
    public var source: String
    public var destination: String
    public var operation: OperationIdentifier?
    public init(source: String, destination: String, operation: OperationIdentifier? = nil) {
        self.source = source; self.destination = destination; self.operation = operation
    }
    public init(proto: ProtoMessage) throws(WireError) { source = proto.string(1); destination = proto.string(2); operation = proto.operation(3) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, source); p.set(2, destination); p.set(3, operation: operation)
        return p
    }
}

public struct SetAttributeRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.SetAttributeRequest")
    public var path: String
    public var pinned: Bool?
    public var ttlMilliseconds: Int64?
    public var mode: UInt32?
    public var owner: String?
    public var group: String?
    public var replicationMin: Int32?
    public var replicationMax: Int32?
    public var recursive = false
    public var operation: OperationIdentifier?
    /// NOT_PERSISTED, TO_BE_PERSISTED or PERSISTED.
    public var persistenceState: String?

    public init(path: String) { self.path = path }
    public init(proto: ProtoMessage) throws(WireError) {
        path = proto.string(1)
        pinned = proto.bool(2) ? proto.bool(3) : nil
        ttlMilliseconds = proto.bool(4) ? proto.int64(5) : nil
        mode = proto.bool(6) ? proto.uint32(7) : nil
        owner = proto.bool(8) ? proto.string(9) : nil
        group = proto.bool(10) ? proto.string(11) : nil
        replicationMin = proto.bool(12) ? proto.int32(13) : nil
        replicationMax = proto.bool(14) ? proto.int32(15) : nil
        recursive = proto.bool(16)
        operation = proto.operation(17)
        persistenceState = proto.bool(18) ? proto.string(19) : nil
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, path)
        if let pinned { p.set(2, true); p.set(3, pinned) }
        if let ttlMilliseconds { p.set(4, true); p.set(5, ttlMilliseconds) }
        if let mode { p.set(6, true); p.set(7, mode) }
        if let owner { p.set(8, true); p.set(9, owner) }
        if let group { p.set(10, true); p.set(11, group) }
        if let replicationMin { p.set(12, true); p.set(13, replicationMin) }
        if let replicationMax { p.set(14, true); p.set(15, replicationMax) }
        p.set(16, recursive)
        p.set(17, operation: operation)
        if let persistenceState { p.set(18, true); p.set(19, persistenceState) }
        return p
    }
}

public struct MountRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.MountRequest")
    public var path: String
    public var ufsURI: String
    public var readOnly = false
    public var shared = false
    public var operation: OperationIdentifier?
    public init(path: String, ufsURI: String, readOnly: Bool = false, shared: Bool = false, operation: OperationIdentifier? = nil) {
        self.path = path; self.ufsURI = ufsURI; self.readOnly = readOnly; self.shared = shared; self.operation = operation
    }
    public init(proto: ProtoMessage) throws(WireError) {
        path = proto.string(1); ufsURI = proto.string(2); readOnly = proto.bool(3); shared = proto.bool(4); operation = proto.operation(5)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, path); p.set(2, ufsURI); p.set(3, readOnly); p.set(4, shared); p.set(5, operation: operation)
        return p
    }
}

public struct ExistsResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.ExistsResponse")
    public var exists: Bool
    public init(exists: Bool) { self.exists = exists }
    public init(proto: ProtoMessage) throws(WireError) { exists = proto.bool(1) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, exists)
        return p
    }
}

public struct EmptyResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.EmptyResponse")
    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {}
    public var proto: ProtoMessage { ProtoMessage() }
}

public struct MasterMember: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.MasterMember")
    public var rpcAddress: String
    public var journalAddress: String
    public var role: String
    public var appliedIndex: UInt64
    public var term: UInt64
    public var voter: Bool

    public init(rpcAddress: String, journalAddress: String, role: String, appliedIndex: UInt64, term: UInt64, voter: Bool) {
        self.rpcAddress = rpcAddress; self.journalAddress = journalAddress; self.role = role
        self.appliedIndex = appliedIndex; self.term = term; self.voter = voter
    }
    public init(proto: ProtoMessage) throws(WireError) {
        rpcAddress = proto.string(1); journalAddress = proto.string(2); role = proto.string(3)
        appliedIndex = proto.uint64(4); term = proto.uint64(5); voter = proto.bool(6)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, rpcAddress); p.set(2, journalAddress); p.set(3, role); p.set(4, appliedIndex); p.set(5, term); p.set(6, voter)
        return p
    }
}

public struct MasterInfo: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.MasterInfo")
    public var leaderRPCAddress = ""
    public var journalType = ""
    public var term: UInt64 = 0
    public var clusterID: [UInt8] = []
    public var masters: [MasterMember] = []
    public var thisRPCAddress = ""
    public var thisRole = ""
    public var commitIndex: UInt64 = 0
    public var appliedIndex: UInt64 = 0
    public var inodeCount: UInt64 = 0
    public var rootUFS = ""
    public var startTimeMilliseconds: UInt64 = 0
    /// The ZooKeeper servers electing the leader (UFS journal), else empty.
    public var zooKeeperAddress = ""

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        leaderRPCAddress = proto.string(1); journalType = proto.string(2); term = proto.uint64(3); clusterID = proto.bytes(4)
        masters = try proto.messages(5, as: MasterMember.self); thisRPCAddress = proto.string(6); thisRole = proto.string(7)
        commitIndex = proto.uint64(8); appliedIndex = proto.uint64(9); inodeCount = proto.uint64(10); rootUFS = proto.string(11)
        startTimeMilliseconds = proto.uint64(12); zooKeeperAddress = proto.string(13)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, leaderRPCAddress); p.set(2, journalType); p.set(3, term); p.set(4, clusterID); p.set(5, masters)
        p.set(6, thisRPCAddress); p.set(7, thisRole); p.set(8, commitIndex); p.set(9, appliedIndex); p.set(10, inodeCount)
        p.set(11, rootUFS); p.set(12, startTimeMilliseconds); p.set(13, zooKeeperAddress)
        return p
    }
}

public struct BackupRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.BackupRequest")
    public var directory = ""
    public var local = false
    public var allowLeader = false
    public var bypassDelegation = false
    public var id: UInt64 = 0
    public var appliedIndex: UInt64 = 0

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        directory = proto.string(1); local = proto.bool(2); allowLeader = proto.bool(3); bypassDelegation = proto.bool(4)
        id = proto.uint64(5); appliedIndex = proto.uint64(6)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, directory); p.set(2, local); p.set(3, allowLeader); p.set(4, bypassDelegation); p.set(5, id); p.set(6, appliedIndex)
        return p
    }
}

public struct BackupStatusRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.BackupStatusRequest")
    public var id: UInt64
    public init(id: UInt64) { self.id = id }
    public init(proto: ProtoMessage) throws(WireError) { id = proto.uint64(1) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, id)
        return p
    }
}

public struct BackupStatus: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.BackupStatus")
    public enum State: String, Sendable { case running = "RUNNING", completed = "COMPLETED", failed = "FAILED" }
    public var id: UInt64 = 0
    public var state: State = .running
    public var host = ""
    public var path = ""
    public var bytes: UInt64 = 0
    public var entries: UInt64 = 0
    public var error = ""
    public var phase = ""
    public var bytesDone: UInt64 = 0
    public var delegated = false
    public var note = ""

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        id = proto.uint64(1)
        guard let state = State(rawValue: proto.string(2)) else { throw WireError(.invalidField, "unknown backup state '\(proto.string(2))'") }
        self.state = state
        host = proto.string(3); path = proto.string(4); bytes = proto.uint64(5); entries = proto.uint64(6); error = proto.string(7)
        phase = proto.string(8); bytesDone = proto.uint64(9); delegated = proto.bool(10); note = proto.string(11)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, id); p.set(2, state.rawValue); p.set(3, host); p.set(4, path); p.set(5, bytes); p.set(6, entries); p.set(7, error)
        p.set(8, phase); p.set(9, bytesDone); p.set(10, delegated); p.set(11, note)
        return p
    }
}
