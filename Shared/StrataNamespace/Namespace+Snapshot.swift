import StrataCore

extension Namespace {
    /// The whole namespace as bytes, for a journal checkpoint. Deterministic: inodes in id order,
    /// mounts in path order, remembered operations oldest first.
    public func encodedSnapshot() -> [UInt8] {
        var writer = ByteWriter()
        writer.write(NamespaceCodec.snapshotFormat)
        writer.write(UInt64(operationsRememberedMax))
        writer.write(nextInodeID)
        writer.write(nextMountID)
        writer.write(UInt64(inodes.count))
        for id in inodes.keys.sorted() { Self.write(inodes[id]!, &writer) }
        writer.write(UInt32(mounts.count))
        for path in mounts.keys.sorted() {
            let mount = mounts[path]!
            writer.write(path.description)
            writer.write(mount.ufsURI)
            writer.write(mount.readOnly)
            writer.write(mount.shared)
            writer.write(mount.mountID)
        }
        let remembered = operationOrder[operationOrderStart...].filter { recentOperations[$0] != nil }
        writer.write(UInt64(remembered.count))
        for id in remembered {
            writer.write(id.client)
            writer.write(id.sequence)
            switch recentOperations[id]! {
            case .success(let status):
                writer.write(UInt8(status == nil ? 0 : 1))
                if let status {
                    writer.write(status.path.description)
                    Self.write(status.inode, &writer)
                }
            case .failure(let error):
                writer.write(UInt8(2))
                writer.write(error.code.rawValue)
                writer.write(error.message)
            }
        }
        return writer.bytes
    }

    /// Restores a namespace from `encodedSnapshot()` bytes.
    public init(snapshot bytes: [UInt8]) throws(NamespaceError) {
        var reader = ByteReader(bytes)
        func bad(_ what: String) -> NamespaceError { NamespaceError(.invalidArgument, "malformed namespace snapshot: \(what)") }
        guard let format = reader.read(UInt8.self) else { throw bad("empty") }
        guard format == NamespaceCodec.snapshotFormat else { throw bad("format \(format) is not \(NamespaceCodec.snapshotFormat)") }
        guard let remembered = reader.read(UInt64.self), remembered > 0, remembered < 1 << 32,
              let nextInode = reader.read(UInt64.self), let nextMount = reader.read(UInt64.self),
              let inodeCount = reader.read(UInt64.self) else { throw bad("truncated header") }
        self.init(rootUFS: "", operationsRememberedMax: Int(remembered))
        inodes = [:]
        mounts = [:]
        nextInodeID = nextInode
        nextMountID = nextMount
        guard inodeCount <= UInt64(reader.remaining / Self.inodeBytesMin) else { throw bad("\(inodeCount) inodes in \(reader.remaining) bytes") }
        inodes.reserveCapacity(Int(inodeCount))
        for _ in 0..<inodeCount {
            guard let inode = Self.readInode(&reader) else { throw bad("truncated inode") }
            inodes[inode.id] = inode
        }
        guard inodes[Self.rootID]?.isDirectory == true else { throw bad("no root directory") }
        guard let mountCount = reader.read(UInt32.self) else { throw bad("truncated mounts") }
        for _ in 0..<mountCount {
            guard let pathText = reader.readString(), let uri = reader.readString(), let readOnly = reader.readBool(),
                  let shared = reader.readBool(), let mountID = reader.read(UInt64.self) else { throw bad("truncated mount") }
            let path = try StrataPath(pathText)
            mounts[path] = MountPoint(path: path, ufsURI: uri, readOnly: readOnly, shared: shared, mountID: mountID)
        }
        guard mounts[.root] != nil else { throw bad("no root mount") }
        guard let operationCount = reader.read(UInt64.self) else { throw bad("truncated operations") }
        for _ in 0..<operationCount {
            guard let client = reader.read(UInt64.self), let sequence = reader.read(UInt64.self), let tag = reader.read(UInt8.self) else {
                throw bad("truncated operation")
            }
            let outcome: NamespaceOutcome
            switch tag {
            case 0: outcome = .success(nil)
            case 1:
                guard let pathText = reader.readString(), let inode = Self.readInode(&reader) else { throw bad("truncated operation status") }
                outcome = .success(FileStatus(inode: inode, path: try StrataPath(pathText)))
            case 2:
                guard let raw = reader.read(UInt8.self), let code = NamespaceError.Code(rawValue: raw), let message = reader.readString() else {
                    throw bad("truncated operation error")
                }
                outcome = .failure(NamespaceError(code, message))
            default: throw bad("unknown operation outcome \(tag)")
            }
            let id = OperationID(client: client, sequence: sequence)
            recentOperations[id] = outcome
            operationOrder.append(id)
        }
        guard reader.remaining == 0 else { throw bad("\(reader.remaining) trailing bytes") }
    }

    private static func write(_ inode: Inode, _ writer: inout ByteWriter) {
        writer.write(inode.id)
        writer.write(inode.parentID)
        writer.write(inode.name)
        writer.write(inode.kind.rawValue)
        writer.write(inode.creationTimeMilliseconds)
        writer.write(inode.modificationTimeMilliseconds)
        writer.write(inode.mode)
        writer.write(inode.owner)
        writer.write(inode.group)
        writer.write(inode.ttlMilliseconds)
        writer.write(inode.pinned)
        writer.write(inode.replicationMin)
        writer.write(inode.replicationMax)
        writer.write(inode.persistence.rawValue)
        writer.write(inode.ufsFingerprint)
        writer.write(inode.lengthBytes)
        writer.write(inode.blockSizeBytes)
        writer.write(UInt32(inode.blockIDs.count))
        for id in inode.blockIDs { writer.write(id) }
        writer.write(inode.completed)
        writer.write(UInt32(inode.children.count))
        for name in inode.children.keys.sorted() {
            writer.write(name)
            writer.write(inode.children[name]!)
        }
        writer.write(inode.isMountPoint)
        writer.write(inode.childrenLoaded)
    }

    /// The fewest bytes an encoded inode takes (no name, owner, blocks or children): a count
    /// of inodes is checked against it before anything is allocated for them.
    static let inodeBytesMin = 96

    private static func readInode(_ reader: inout ByteReader) -> Inode? {
        guard let id = reader.read(UInt64.self), let parentID = reader.read(UInt64.self), let name = reader.readString(),
              let kindRaw = reader.read(UInt8.self), let kind = Inode.Kind(rawValue: kindRaw),
              let created = reader.read(Int64.self), let modified = reader.read(Int64.self), let mode = reader.read(UInt16.self),
              let owner = reader.readString(), let group = reader.readString(), let ttl = reader.read(Int64.self),
              let pinned = reader.readBool(), let minimum = reader.read(Int32.self), let maximum = reader.read(Int32.self),
              let persistenceRaw = reader.read(UInt8.self), let persistence = PersistenceState(rawValue: persistenceRaw),
              let fingerprint = reader.readString(), let length = reader.read(Int64.self), let blockSize = reader.read(Int64.self),
              let blockCount = reader.readCount(elementBytesMin: 8), blockCount <= 1 << 24 else { return nil }
        var blockIDs: [UInt64] = []
        blockIDs.reserveCapacity(blockCount)
        for _ in 0..<blockCount {
            guard let block = reader.read(UInt64.self) else { return nil }
            blockIDs.append(block)
        }
        // A child takes a name (4-byte length and its bytes) and an id: at least 12 bytes.
        guard let completed = reader.readBool(), let childCount = reader.readCount(elementBytesMin: 12) else { return nil }
        var children: [String: UInt64] = [:]
        children.reserveCapacity(childCount)
        for _ in 0..<childCount {
            guard let childName = reader.readString(), let childID = reader.read(UInt64.self) else { return nil }
            children[childName] = childID
        }
        guard let mountPoint = reader.readBool(), let loaded = reader.readBool() else { return nil }
        return Inode(id: id, parentID: parentID, name: name, kind: kind, creationTimeMilliseconds: created,
                     modificationTimeMilliseconds: modified, mode: mode, owner: owner, group: group, ttlMilliseconds: ttl,
                     pinned: pinned, replicationMin: minimum, replicationMax: maximum, persistence: persistence,
                     ufsFingerprint: fingerprint, lengthBytes: length, blockSizeBytes: blockSize, blockIDs: blockIDs,
                     completed: completed, children: children, isMountPoint: mountPoint, childrenLoaded: loaded)
    }
}
