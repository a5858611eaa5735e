import StrataCore

/// Block-master methods, served by every master on its RPC port: workers report to all of them;
/// clients ask the leader.
public enum BlockMasterMethods {
    public static let workerHeartbeat = RPCMethod<WorkerHeartbeatRequest, WorkerHeartbeatResponse>(id: 0x0004_0001, name: "BlockMaster.WorkerHeartbeat")
    public static let getWorkers = RPCMethod<GetServiceInfoRequest, WorkerList>(id: 0x0004_0002, name: "BlockMaster.GetWorkers")
    public static let getFileBlocks = RPCMethod<PathRequest, FileBlocksResponse>(id: 0x0004_0003, name: "BlockMaster.GetFileBlocks")
    public static let free = RPCMethod<FreeRequest, FreeResponse>(id: 0x0004_0004, name: "BlockMaster.Free")
    public static let persist = RPCMethod<PathRequest, FileInfoResponse>(id: 0x0004_0005, name: "BlockMaster.Persist")
}

/// Data methods, served by every worker on its RPC/data port.
public enum WorkerMethods {
    public static let writeBlock = RPCMethod<WriteBlockRequest, WriteBlockResponse>(id: 0x0005_0001, name: "Worker.WriteBlock")
    public static let readBlock = RPCStreamMethod<ReadBlockRequest, ReadBlockChunk>(id: 0x0005_0002, name: "Worker.ReadBlock")
    public static let openLocalBlock = RPCMethod<LocalBlockRequest, LocalBlock>(id: 0x0005_0003, name: "Worker.OpenLocalBlock")
    public static let closeLocalBlock = RPCMethod<LocalBlockRequest, EmptyResponse>(id: 0x0005_0004, name: "Worker.CloseLocalBlock")
    public static let cacheBlock = RPCMethod<ReadBlockRequest, CacheBlockResponse>(id: 0x0005_0005, name: "Worker.CacheBlock")
}

public struct WorkerAddress: WireMessage, Hashable, CustomStringConvertible {
    public static let descriptor = ProtoDescriptor("strata.WorkerAddress")
    public var host = ""
    public var rpcPort: UInt32 = 0
    public var webPort: UInt32 = 0
    public init(host: String, rpcPort: UInt32, webPort: UInt32) { self.host = host; self.rpcPort = rpcPort; self.webPort = webPort }
    public init(proto: ProtoMessage) throws(WireError) { host = proto.string(1); rpcPort = proto.uint32(2); webPort = proto.uint32(3) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, host); p.set(2, rpcPort); p.set(3, webPort)
        return p
    }
    public var description: String { "\(host):\(rpcPort)" }
}

public struct TierUsage: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.TierUsage")
    public var alias: String
    public var capacityBytes: Int64
    public var usedBytes: Int64
    public init(alias: String, capacityBytes: Int64, usedBytes: Int64) { self.alias = alias; self.capacityBytes = capacityBytes; self.usedBytes = usedBytes }
    public init(proto: ProtoMessage) throws(WireError) { alias = proto.string(1); capacityBytes = proto.int64(2); usedBytes = proto.int64(3) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, alias); p.set(2, capacityBytes); p.set(3, usedBytes)
        return p
    }
}

public struct BlockReport: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.BlockReport")
    public var blockID: UInt64
    public var tier: String
    public init(blockID: UInt64, tier: String) { self.blockID = blockID; self.tier = tier }
    public init(proto: ProtoMessage) throws(WireError) { blockID = proto.uint64(1); tier = proto.string(2) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, blockID); p.set(2, tier)
        return p
    }
}

public struct WorkerHeartbeatRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.WorkerHeartbeatRequest")
    public enum Report: UInt32, Sendable {
        case incremental = 0
        /// The first part of a full report: it replaces what the master knows of the worker.
        case fullFirst = 1
        case fullMore = 2
    }
    /// Most blocks in one report message (a full report of more is sent in parts).
    public static let blocksMax = 50_000
    public var workerID: UInt64 = 0
    public var address = WorkerAddress(host: "", rpcPort: 0, webPort: 0)
    public var tiers: [TierUsage] = []
    public var report = Report.incremental
    public var added: [BlockReport] = []
    public var removed: [UInt64] = []
    public var persistedFiles: [UInt64] = []
    public var startTimeMilliseconds: Int64 = 0
    public var pinnedVersion: UInt64 = 0

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        workerID = proto.uint64(1)
        address = try proto.message(2, as: WorkerAddress.self) ?? WorkerAddress(host: "", rpcPort: 0, webPort: 0)
        tiers = try proto.messages(3, as: TierUsage.self)
        guard let report = Report(rawValue: proto.uint32(4)) else { throw WireError(.invalidField, "unknown block report kind \(proto.uint32(4))") }
        self.report = report
        added = try proto.messages(5, as: BlockReport.self); removed = proto.uint64s(6); persistedFiles = proto.uint64s(7)
        startTimeMilliseconds = proto.int64(8); pinnedVersion = proto.uint64(9)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, workerID); p.set(2, address); p.set(3, tiers); p.set(4, report.rawValue); p.set(5, added); p.set(6, removed)
        p.set(7, persistedFiles); p.set(8, startTimeMilliseconds); p.set(9, pinnedVersion)
        return p
    }
}

public struct WorkerCommand: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.WorkerCommand")
    public enum Kind: UInt32, Sendable {
        case register = 1
        case free = 2
        case delete = 3
        case persist = 4
        case replicate = 5
    }
    public var kind: Kind
    public var blockIDs: [UInt64] = []
    public var fileID: UInt64 = 0
    public var ufsPath = ""
    public var lengthBytes: Int64 = 0
    public var blockSizeBytes: Int64 = 0
    /// REPLICATE: the worker (host:port) to copy the block from; empty to read under storage.
    public var source = ""

    public init(kind: Kind, blockIDs: [UInt64] = []) { self.kind = kind; self.blockIDs = blockIDs }
    public init(proto: ProtoMessage) throws(WireError) {
        guard let kind = Kind(rawValue: proto.uint32(1)) else { throw WireError(.invalidField, "unknown worker command \(proto.uint32(1))") }
        self.kind = kind
        blockIDs = proto.uint64s(2); fileID = proto.uint64(3); ufsPath = proto.string(4); lengthBytes = proto.int64(5); blockSizeBytes = proto.int64(6)
        source = proto.string(7)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, kind.rawValue); p.set(2, blockIDs); p.set(3, fileID); p.set(4, ufsPath); p.set(5, lengthBytes); p.set(6, blockSizeBytes)
        p.set(7, source)
        return p
    }
}

public struct WorkerHeartbeatResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.WorkerHeartbeatResponse")
    public var leader = false
    public var commands: [WorkerCommand] = []
    public var pinnedVersion: UInt64 = 0
    public var pinnedChanged = false
    public var pinnedBlocks: [UInt64] = []

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        leader = proto.bool(1); commands = try proto.messages(2, as: WorkerCommand.self); pinnedVersion = proto.uint64(3)
        pinnedChanged = proto.bool(4); pinnedBlocks = proto.uint64s(5)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, leader); p.set(2, commands); p.set(3, pinnedVersion); p.set(4, pinnedChanged); p.set(5, pinnedBlocks)
        return p
    }
}

public struct WorkerInfo: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.WorkerInfo")
    public var id: UInt64 = 0
    public var address = WorkerAddress(host: "", rpcPort: 0, webPort: 0)
    public var state = ""
    public var tiers: [TierUsage] = []
    public var blockCount: UInt64 = 0
    public var lastHeartbeatMillisecondsAgo: Int64 = 0
    public var startTimeMilliseconds: Int64 = 0

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        id = proto.uint64(1); address = try proto.message(2, as: WorkerAddress.self) ?? address; state = proto.string(3)
        tiers = try proto.messages(4, as: TierUsage.self); blockCount = proto.uint64(5); lastHeartbeatMillisecondsAgo = proto.int64(6)
        startTimeMilliseconds = proto.int64(7)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, id); p.set(2, address); p.set(3, state); p.set(4, tiers); p.set(5, blockCount); p.set(6, lastHeartbeatMillisecondsAgo)
        p.set(7, startTimeMilliseconds)
        return p
    }
}

public struct WorkerList: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.WorkerList")
    public var workers: [WorkerInfo]
    public init(workers: [WorkerInfo]) { self.workers = workers }
    public init(proto: ProtoMessage) throws(WireError) { workers = try proto.messages(1, as: WorkerInfo.self) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, workers)
        return p
    }
}

public struct BlockLocation: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.BlockLocation")
    public var workerID: UInt64
    public var address: WorkerAddress
    public var tier: String
    public init(workerID: UInt64, address: WorkerAddress, tier: String) { self.workerID = workerID; self.address = address; self.tier = tier }
    public init(proto: ProtoMessage) throws(WireError) {
        workerID = proto.uint64(1); address = try proto.message(2, as: WorkerAddress.self) ?? WorkerAddress(host: "", rpcPort: 0, webPort: 0)
        tier = proto.string(3)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, workerID); p.set(2, address); p.set(3, tier)
        return p
    }
}

public struct FileBlockInfo: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.FileBlockInfo")
    public var blockID: UInt64
    public var offset: Int64
    public var lengthBytes: Int64
    public var locations: [BlockLocation]
    public init(blockID: UInt64, offset: Int64, lengthBytes: Int64, locations: [BlockLocation]) {
        self.blockID = blockID; self.offset = offset; self.lengthBytes = lengthBytes; self.locations = locations
    }
    public init(proto: ProtoMessage) throws(WireError) {
        blockID = proto.uint64(1); offset = proto.int64(2); lengthBytes = proto.int64(3); locations = try proto.messages(4, as: BlockLocation.self)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, blockID); p.set(2, offset); p.set(3, lengthBytes); p.set(4, locations)
        return p
    }
}

public struct FileBlocksResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.FileBlocksResponse")
    public var info: FileInfo
    public var blocks: [FileBlockInfo]
    public init(info: FileInfo, blocks: [FileBlockInfo]) { self.info = info; self.blocks = blocks }
    public init(proto: ProtoMessage) throws(WireError) {
        info = try proto.message(1, as: FileInfo.self) ?? FileInfo(); blocks = try proto.messages(2, as: FileBlockInfo.self)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, info); p.set(2, blocks)
        return p
    }
}

public struct FreeRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.FreeRequest")
    public var path: String
    public var recursive: Bool
    public var forced: Bool
    public init(path: String, recursive: Bool, forced: Bool) { self.path = path; self.recursive = recursive; self.forced = forced }
    public init(proto: ProtoMessage) throws(WireError) { path = proto.string(1); recursive = proto.bool(2); forced = proto.bool(3) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, path); p.set(2, recursive); p.set(3, forced)
        return p
    }
}

public struct FreeResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.FreeResponse")
    public var files: UInt64
    public var blocks: UInt64
    public init(files: UInt64, blocks: UInt64) { self.files = files; self.blocks = blocks }
    public init(proto: ProtoMessage) throws(WireError) { files = proto.uint64(1); blocks = proto.uint64(2) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, files); p.set(2, blocks)
        return p
    }
}

public struct WriteBlockRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.WriteBlockRequest")
    public var blockID: UInt64 = 0
    public var offset: Int64 = 0
    public var cache = false
    public var expectedBytes: Int64 = 0
    public var tier: UInt32 = 0
    public var commit = false
    public var ufsPath = ""
    public var ufsSession: UInt64 = 0
    public var ufsOffset: Int64 = 0
    public var ufsCommit = false
    public var abort = false
    public var mode: UInt32 = 0

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        blockID = proto.uint64(1); offset = proto.int64(2); cache = proto.bool(3); expectedBytes = proto.int64(4); tier = proto.uint32(5)
        commit = proto.bool(6); ufsPath = proto.string(7); ufsSession = proto.uint64(8); ufsOffset = proto.int64(9)
        ufsCommit = proto.bool(10); abort = proto.bool(11); mode = proto.uint32(12)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, blockID); p.set(2, offset); p.set(3, cache); p.set(4, expectedBytes); p.set(5, tier); p.set(6, commit)
        p.set(7, ufsPath); p.set(8, ufsSession); p.set(9, ufsOffset); p.set(10, ufsCommit); p.set(11, abort); p.set(12, mode)
        return p
    }
}

public struct WriteBlockResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.WriteBlockResponse")
    public var tier: String
    public var writtenBytes: Int64
    public init(tier: String = "", writtenBytes: Int64 = 0) { self.tier = tier; self.writtenBytes = writtenBytes }
    public init(proto: ProtoMessage) throws(WireError) { tier = proto.string(1); writtenBytes = proto.int64(2) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, tier); p.set(2, writtenBytes)
        return p
    }
}

public struct ReadBlockRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.ReadBlockRequest")
    public var blockID: UInt64 = 0
    public var offset: Int64 = 0
    /// -1: to the end of the block.
    public var lengthBytes: Int64 = -1
    public var chunkSizeBytes: UInt32 = 1 << 20
    public var promote = false
    public var cache = true
    public var ufsPath = ""
    public var ufsOffset: Int64 = 0
    public var blockLengthBytes: Int64 = 0
    public var mode: UInt32 = 0

    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {
        blockID = proto.uint64(1); offset = proto.int64(2); lengthBytes = proto.int64(3); chunkSizeBytes = proto.uint32(4)
        promote = proto.bool(5); cache = proto.bool(6); ufsPath = proto.string(7); ufsOffset = proto.int64(8)
        blockLengthBytes = proto.int64(9); mode = proto.uint32(10)
    }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, blockID); p.set(2, offset); p.set(3, lengthBytes); p.set(4, chunkSizeBytes); p.set(5, promote); p.set(6, cache)
        p.set(7, ufsPath); p.set(8, ufsOffset); p.set(9, blockLengthBytes); p.set(10, mode)
        return p
    }
}

public struct ReadBlockChunk: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.ReadBlockChunk")
    public var offset: Int64
    public var source: String
    public init(offset: Int64, source: String) { self.offset = offset; self.source = source }
    public init(proto: ProtoMessage) throws(WireError) { offset = proto.int64(1); source = proto.string(2) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, offset); p.set(2, source)
        return p
    }
}

public struct LocalBlockRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.LocalBlockRequest")
    public var blockID: UInt64
    public var promote: Bool
    public init(blockID: UInt64, promote: Bool = false) { self.blockID = blockID; self.promote = promote }
    public init(proto: ProtoMessage) throws(WireError) { blockID = proto.uint64(1); promote = proto.bool(2) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, blockID); p.set(2, promote)
        return p
    }
}

public struct LocalBlock: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.LocalBlock")
    public var path: String
    public var lengthBytes: Int64
    public var tier: String
    public init(path: String, lengthBytes: Int64, tier: String) { self.path = path; self.lengthBytes = lengthBytes; self.tier = tier }
    public init(proto: ProtoMessage) throws(WireError) { path = proto.string(1); lengthBytes = proto.int64(2); tier = proto.string(3) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, path); p.set(2, lengthBytes); p.set(3, tier)
        return p
    }
}

public struct CacheBlockResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.CacheBlockResponse")
    public var tier: String
    public var alreadyCached: Bool
    public init(tier: String, alreadyCached: Bool) { self.tier = tier; self.alreadyCached = alreadyCached }
    public init(proto: ProtoMessage) throws(WireError) { tier = proto.string(1); alreadyCached = proto.bool(2) }
    public var proto: ProtoMessage {
        var p = ProtoMessage()
        p.set(1, tier); p.set(2, alreadyCached)
        return p
    }
}

extension WorkerAddress {
    /// A worker's id: a stable 64-bit hash of `host:rpcPort`, the same on every master.
    public var workerID: UInt64 { HostAndPort(host: host, port: Int(rpcPort)).stableID }
}
