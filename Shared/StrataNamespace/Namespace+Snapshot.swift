import StrataCore

extension Namespace {
    /// The whole namespace as bytes, for a journal checkpoint. Deterministic: owner and group
    /// pairs in the order first used, inodes in id order (children are not written: each inode
    /// names its parent), mounts in path order, remembered operations oldest first.
    public func encodedSnapshot() -> [UInt8] {
        var writer = ByteWriter()
        writer.reserveCapacity(64 + store.count * 72)
        writer.write(NamespaceCodec.snapshotFormat)
        writer.write(UInt64(operationsRememberedMax))
        writer.write(nextInodeID)
        writer.write(nextMountID)
        writer.write(UInt32(store.principals.count))
        for principal in store.principals {
            writer.write(principal.owner)
            writer.write(principal.group)
        }
        writer.write(UInt64(store.count))
        store.table.forEach { id, record in
            writer.write(id)
            writer.write(record.parentID)
            writer.write(record.name)
            writer.write(record.flags.rawValue)
            writer.write(record.creationTimeMilliseconds)
            writer.write(record.modificationTimeMilliseconds)
            writer.write(record.mode)
            writer.write(record.principal)
            writer.write(record.lengthBytes)
            writer.write(record.blockSizeBytes)
            if record.flags.contains(.hasExtras) {
                let more = store.extras(of: id) ?? InodeExtras()
                writer.write(more.ttlMilliseconds)
                writer.write(more.replicationMin)
                writer.write(more.replicationMax)
                writer.write(more.ufsFingerprint)
                writer.write(UInt32(more.blockIDs.count))
                for block in more.blockIDs { writer.write(block) }
            }
        }
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
            case .success(let inode):
                writer.write(UInt8(0))
                writer.write(inode)
            case .failure(let error):
                writer.write(UInt8(1))
                writer.write(error.code.rawValue)
                writer.write(error.message)
            }
        }
        return writer.bytes
    }

    /// Restores a namespace from `encodedSnapshot()` bytes. Every inode must name a directory
    /// before it as its parent, and no two children of a directory share a name.
    public init(snapshot bytes: [UInt8]) throws(NamespaceError) {
        var reader = ByteReader(bytes)
        func bad(_ what: String) -> NamespaceError { NamespaceError(.invalidArgument, "malformed namespace snapshot: \(what)") }
        guard let format = reader.read(UInt8.self) else { throw bad("empty") }
        guard format == NamespaceCodec.snapshotFormat else {
            throw bad("format \(format) is not \(NamespaceCodec.snapshotFormat)" + (format < NamespaceCodec.snapshotFormat ? " (written by an older Strata: restore a backup taken with it through `strata-master -i`, or start from its journal's log)" : ""))
        }
        guard let remembered = reader.read(UInt64.self), remembered > 0, remembered < 1 << 32,
              let nextInode = reader.read(UInt64.self), nextInode <= ChildTable.idLimit, let nextMount = reader.read(UInt64.self),
              let principalCount = reader.readCount(elementBytesMin: 8) else { throw bad("truncated header") }
        self.init(rootUFS: "", operationsRememberedMax: Int(remembered))
        store = InodeStore()
        mounts = [:]
        nextInodeID = nextInode
        nextMountID = nextMount
        for index in 0..<principalCount {
            guard let owner = reader.readString(), let group = reader.readString() else { throw bad("truncated owner and group") }
            guard store.principal(owner: owner, group: group) == UInt32(index) else { throw bad("owner \(owner) and group \(group) listed twice") }
        }
        guard let inodeCount = reader.read(UInt64.self) else { throw bad("truncated inode count") }
        guard inodeCount <= UInt64(reader.remaining / Self.inodeBytesMin) else { throw bad("\(inodeCount) inodes in \(reader.remaining) bytes") }
        var previous: UInt64 = 0
        for _ in 0..<inodeCount {
            guard let id = reader.read(UInt64.self), let parentID = reader.read(UInt64.self), let name = reader.readString(),
                  let flagBits = reader.read(UInt16.self), let created = reader.read(Int64.self), let modified = reader.read(Int64.self),
                  let mode = reader.read(UInt16.self), let principal = reader.read(UInt32.self), let length = reader.read(Int64.self),
                  let blockSize = reader.read(Int64.self) else { throw bad("truncated inode") }
            let flags = InodeFlags(rawValue: flagBits)
            guard id > previous, id < nextInodeID || id == Self.rootID else { throw bad("inode \(id) out of order or beyond the next id \(nextInodeID)") }
            guard flags.isSubset(of: .known) else { throw bad("inode \(id) has unknown flags \(flagBits)") }
            guard Int(principal) < principalCount else { throw bad("inode \(id) names owner and group \(principal) of \(principalCount)") }
            previous = id
            var more = InodeExtras()
            if flags.contains(.hasExtras) {
                guard let ttl = reader.read(Int64.self), let minimum = reader.read(Int32.self), let maximum = reader.read(Int32.self),
                      let fingerprint = reader.readString(), let blockCount = reader.readCount(elementBytesMin: 8), blockCount <= 1 << 24 else {
                    throw bad("truncated fields of inode \(id)")
                }
                var blockIDs: [UInt64] = []
                blockIDs.reserveCapacity(blockCount)
                for _ in 0..<blockCount {
                    guard let block = reader.read(UInt64.self) else { throw bad("truncated blocks of inode \(id)") }
                    blockIDs.append(block)
                }
                more = InodeExtras(ttlMilliseconds: ttl, replicationMin: minimum, replicationMax: maximum, ufsFingerprint: fingerprint, blockIDs: blockIDs)
            }
            if id == Self.rootID {
                guard flags.contains(.directory) else { throw bad("the root is not a directory") }
            } else {
                guard (try? StrataPath.validateName(name)) != nil else { throw bad("inode \(id) has an invalid name") }
            }
            store.insert(PackedInode(parentID: parentID, name: name, creationTimeMilliseconds: created, modificationTimeMilliseconds: modified,
                                     lengthBytes: length, blockSizeBytes: blockSize, principal: principal, mode: mode, flags: flags),
                         id: id, extras: more)
            if flags.contains(.directory) { store.makeDirectory(id) }
        }
        guard store.isDirectory(Self.rootID) else { throw bad("no root directory") }
        // Children are linked once every inode is in: a rename can put an inode below a
        // directory made after it.
        var linkError: NamespaceError?
        store.table.forEach { id, record in
            guard linkError == nil, id != Self.rootID else { return }
            if !store.isDirectory(record.parentID) {
                linkError = bad("inode \(id) names \(record.parentID) as its parent, which is not a directory")
            } else if store.child(named: record.name, in: record.parentID) != nil {
                linkError = bad("two children of \(record.parentID) are called \(record.name)")
            } else {
                store.link(id, named: record.name, into: record.parentID)
            }
        }
        if let linkError { throw linkError }
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
            let outcome: RememberedOutcome
            switch tag {
            case 0:
                guard let inode = reader.read(UInt64.self) else { throw bad("truncated operation outcome") }
                outcome = .success(inode)
            case 1:
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

    /// The fewest bytes an encoded inode takes (an empty name, no rare fields): a count of
    /// inodes is checked against it before anything is allocated for them.
    static let inodeBytesMin = 60
}
