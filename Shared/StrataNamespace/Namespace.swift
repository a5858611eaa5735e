import StrataCore

/// The file-system namespace: an inode tree and a mount table, as a deterministic value type.
///
/// Every mutation is a `NamespaceRecord` applied through `apply(_:)`, which validates it against
/// the current state and either changes the state or returns an error — the same on every member,
/// because it depends only on the state and the record. Reads (`status`, `list`) do not change
/// anything. No I/O: under-storage listings arrive as `loadDirectory` records.
public struct Namespace: Sendable {
    public static let rootID: UInt64 = 1
    /// Operation ids remembered for idempotent retries; the oldest are forgotten first.
    public let operationsRememberedMax: Int

    // Internal (not private) so that the snapshot codec in Namespace+Snapshot.swift can restore them.
    var inodes: [UInt64: Inode] = [:]
    var nextInodeID: UInt64 = 2
    var nextMountID: UInt64 = 2
    public internal(set) var mounts: [StrataPath: MountPoint] = [:]
    var recentOperations: [OperationID: NamespaceOutcome] = [:]
    var operationOrder: [OperationID] = []
    var operationOrderStart = 0

    /// A new namespace whose root is backed by `rootUFS` (`strata.master.mount.table.root.ufs`).
    public init(rootUFS: String, owner: String = "", group: String = "", operationsRememberedMax: Int = 100_000, timeMilliseconds: Int64 = 0) {
        precondition(operationsRememberedMax > 0, "must remember at least one operation")
        self.operationsRememberedMax = operationsRememberedMax
        inodes[Self.rootID] = Inode(
            id: Self.rootID, parentID: 0, name: "", kind: .directory, creationTimeMilliseconds: timeMilliseconds,
            modificationTimeMilliseconds: timeMilliseconds, mode: 0o755, owner: owner, group: group, ttlMilliseconds: -1,
            pinned: false, replicationMin: 0, replicationMax: -1, persistence: .persisted, ufsFingerprint: "",
            lengthBytes: 0, blockSizeBytes: 0, blockIDs: [], completed: true, children: [:], isMountPoint: true, childrenLoaded: false)
        mounts[.root] = MountPoint(path: .root, ufsURI: rootUFS, readOnly: false, shared: false, mountID: 1)
    }

    // MARK: Reads

    public var inodeCount: Int { inodes.count }

    /// The inode at `path`, or nil.
    public func inode(at path: StrataPath) -> Inode? {
        var current = inodes[Self.rootID]!
        for component in path.components {
            guard current.isDirectory, let childID = current.children[component], let child = inodes[childID] else { return nil }
            current = child
        }
        return current
    }

    public func exists(_ path: StrataPath) -> Bool { inode(at: path) != nil }

    /// The inode with `id`, or nil.
    public func inode(id: UInt64) -> Inode? { inodes[id] }

    /// The path of the inode with `id`, or nil if there is none.
    public func path(of id: UInt64) -> StrataPath? {
        var names: [String] = []
        var current = id
        while current != Self.rootID {
            guard let inode = inodes[current], names.count < 4096 else { return nil }
            names.append(inode.name)
            current = inode.parentID
        }
        return try? StrataPath("/" + names.reversed().joined(separator: "/"))
    }

    /// Every file (not directory) for which `include` is true, in id order. A full scan: for
    /// periodic work (persistence scheduling, pinned lists), not per request.
    public func files(where include: (Inode) -> Bool) -> [Inode] {
        inodes.values.filter { !$0.isDirectory && include($0) }.sorted { $0.id < $1.id }
    }

    public func status(_ path: StrataPath) throws(NamespaceError) -> FileStatus {
        guard let inode = inode(at: path) else { throw NamespaceError(.fileDoesNotExist, "path \(path) does not exist") }
        return FileStatus(inode: inode, path: path)
    }

    /// The children of a directory (sorted by name), every descendant with `recursive`, or the
    /// file itself for a file.
    public func list(_ path: StrataPath, recursive: Bool = false) throws(NamespaceError) -> [FileStatus] {
        let top = try status(path)
        guard top.isDirectory else { return [top] }
        var result: [FileStatus] = []
        var pending: [(StrataPath, Inode)] = [(path, top.inode)]
        while let (directoryPath, directory) = pending.popLast() {
            var children: [(StrataPath, Inode)] = []
            for (name, childID) in directory.children.sorted(by: { $0.key < $1.key }) {
                guard let child = inodes[childID] else { continue }
                let childPath = directoryPath.appending(validName: name)
                result.append(FileStatus(inode: child, path: childPath))
                if recursive && child.isDirectory { children.append((childPath, child)) }
            }
            pending.append(contentsOf: children.reversed())
        }
        if recursive { result.sort { $0.path < $1.path } }
        return result
    }

    /// The mount that `path` lies in, and the path's components below it.
    public func mount(containing path: StrataPath) -> (mount: MountPoint, relative: [String]) {
        // The common case, the root mount alone, without hashing every prefix of the path.
        if mounts.count == 1, let root = mounts[.root] { return (root, path.components) }
        var prefix = path
        while true {
            if let mount = mounts[prefix] { return (mount, Array(path.components.dropFirst(prefix.components.count))) }
            guard let parent = prefix.parent else { preconditionFailure("no root mount") }
            prefix = parent
        }
    }

    // MARK: Applying records

    /// Applies one journal record. A record whose operation id was already applied returns the
    /// first outcome again and changes nothing.
    public mutating func apply(_ record: NamespaceRecord) -> NamespaceOutcome {
        if let id = record.operationID, let earlier = recentOperations[id] { return earlier }
        let outcome: NamespaceOutcome
        do {
            outcome = .success(try execute(record.command, time: record.timeMilliseconds))
        } catch {
            outcome = .failure(error)
        }
        if let id = record.operationID { remember(id, outcome) }
        return outcome
    }

    private mutating func remember(_ id: OperationID, _ outcome: NamespaceOutcome) {
        recentOperations[id] = outcome
        operationOrder.append(id)
        if recentOperations.count > operationsRememberedMax {
            recentOperations[operationOrder[operationOrderStart]] = nil
            operationOrderStart += 1
            if operationOrderStart > operationsRememberedMax {
                operationOrder.removeFirst(operationOrderStart)
                operationOrderStart = 0
            }
        }
    }

    private mutating func execute(_ command: NamespaceCommand, time: Int64) throws(NamespaceError) -> FileStatus? {
        switch command {
        case .createDirectory(let path, let options):
            if let existing = inode(at: path) {
                guard options.allowExists, existing.isDirectory else {
                    throw NamespaceError(.fileAlreadyExists, "\(path) already exists")
                }
                return FileStatus(inode: existing, path: path)
            }
            return try create(path, kind: .directory, options: options, time: time)
        case .createFile(let path, let options):
            guard options.blockSizeBytes > 0 else { throw NamespaceError(.invalidArgument, "block size \(options.blockSizeBytes) for \(path) must be positive") }
            guard inode(at: path) == nil else { throw NamespaceError(.fileAlreadyExists, "\(path) already exists") }
            return try create(path, kind: .file, options: options, time: time)
        case .completeFile(let path, let length, let blockIDs, let persistence):
            var file = try existing(path)
            guard !file.isDirectory else { throw NamespaceError(.notAFile, "\(path) is a directory, not a file") }
            guard !file.completed else { throw NamespaceError(.fileAlreadyCompleted, "\(path) is already complete") }
            guard length >= 0 else { throw NamespaceError(.invalidArgument, "length \(length) of \(path) is negative") }
            file.lengthBytes = length
            file.blockIDs = blockIDs
            file.completed = true
            if persistence != .notPersisted { file.persistence = persistence }
            file.modificationTimeMilliseconds = time
            inodes[file.id] = file
            return FileStatus(inode: file, path: path)
        case .delete(let path, let recursive):
            try delete(path, recursive: recursive, time: time)
            return nil
        case .rename(let source, let destination):
            return try rename(source, to: destination, time: time)
        case .setAttribute(let path, let options):
            return try setAttribute(path, options, time: time)
        case .mount(let path, let ufsURI, let readOnly, let shared):
            return try mount(path, ufsURI: ufsURI, readOnly: readOnly, shared: shared, time: time)
        case .unmount(let path):
            guard !path.isRoot else { throw NamespaceError(.accessControl, "cannot unmount the root") }
            guard mounts[path] != nil else { throw NamespaceError(.invalidPath, "\(path) is not a mount point") }
            guard !mounts.keys.contains(where: { $0 != path && $0.isDescendant(of: path) }) else {
                throw NamespaceError(.failedPrecondition, "cannot unmount \(path): another mount lies below it")
            }
            removeSubtree(try existing(path), time: time)
            mounts[path] = nil
            return nil
        case .loadDirectory(let path, let entries):
            // By id, holding no copy of the directory: a copy would share its children's storage,
            // and each child added would then copy all of them.
            let directoryID = try existingDirectoryID(path)
            for entry in entries where inodes[directoryID]!.children[entry.name] == nil {
                do { try StrataPath.validateName(entry.name) } catch { continue } // names Strata cannot hold are skipped
                var options = CreateOptions()
                options.mode = entry.mode
                options.owner = entry.owner
                options.group = entry.group
                options.persisted = true
                let child = try create(try path.appending(entry.name), kind: entry.isDirectory ? .directory : .file,
                                       options: options, time: entry.modificationTimeMilliseconds)
                var inode = child.inode
                inode.ufsFingerprint = entry.fingerprint
                if !entry.isDirectory {
                    inode.lengthBytes = entry.lengthBytes
                    inode.completed = true
                }
                inodes[inode.id] = inode
            }
            inodes[directoryID]!.childrenLoaded = true
            return FileStatus(inode: inodes[directoryID]!, path: path)
        }
    }

    /// The id of the directory at `path`.
    private func existingDirectoryID(_ path: StrataPath) throws(NamespaceError) -> UInt64 {
        let directory = try existing(path)
        guard directory.isDirectory else { throw NamespaceError(.notADirectory, "\(path) is not a directory") }
        return directory.id
    }

    private func existing(_ path: StrataPath) throws(NamespaceError) -> Inode {
        guard let inode = inode(at: path) else { throw NamespaceError(.fileDoesNotExist, "path \(path) does not exist") }
        return inode
    }

    /// The parent directory of `path`, created (with `options`) if missing and `recursive`.
    private mutating func parentDirectory(of path: StrataPath, options: CreateOptions, time: Int64) throws(NamespaceError) -> Inode {
        guard let parentPath = path.parent else { throw NamespaceError(.fileAlreadyExists, "/ already exists") }
        if let parent = inode(at: parentPath) {
            guard parent.isDirectory else { throw NamespaceError(.notADirectory, "cannot create \(path): \(parentPath) is a file") }
            return parent
        }
        guard options.recursive else {
            throw NamespaceError(.fileDoesNotExist, "cannot create \(path): parent \(parentPath) does not exist")
        }
        var parentOptions = options
        parentOptions.allowExists = true
        parentOptions.mode = 0o755
        return try create(parentPath, kind: .directory, options: parentOptions, time: time).inode
    }

    /// Directories are changed in place in `inodes`, never through a copy: a copy shares the
    /// children's storage, so changing it would copy every child entry (quadratic in a large
    /// directory — the main cost of creating files, measured).
    private mutating func create(_ path: StrataPath, kind: Inode.Kind, options: CreateOptions, time: Int64) throws(NamespaceError) -> FileStatus {
        let parentID = try parentDirectory(of: path, options: options, time: time).id
        precondition(inodes[parentID]!.children[path.name] == nil, "creating \(path) over an existing child")
        let inode = Inode(
            id: nextInodeID, parentID: parentID, name: path.name, kind: kind, creationTimeMilliseconds: time,
            modificationTimeMilliseconds: time, mode: options.mode, owner: options.owner, group: options.group,
            ttlMilliseconds: options.ttlMilliseconds, pinned: false, replicationMin: options.replicationMin,
            replicationMax: options.replicationMax, persistence: options.persisted ? .persisted : .notPersisted,
            ufsFingerprint: "", lengthBytes: 0, blockSizeBytes: kind == .file ? options.blockSizeBytes : 0, blockIDs: [],
            completed: kind == .directory, children: [:], isMountPoint: false, childrenLoaded: !options.persisted)
        nextInodeID += 1
        inodes[inode.id] = inode
        inodes[parentID]!.children[path.name] = inode.id
        inodes[parentID]!.modificationTimeMilliseconds = time
        return FileStatus(inode: inode, path: path)
    }

    private mutating func delete(_ path: StrataPath, recursive: Bool, time: Int64) throws(NamespaceError) {
        guard !path.isRoot else { throw NamespaceError(.invalidPath, "cannot delete the root directory") }
        let target = try existing(path)
        if mounts[path] != nil { throw NamespaceError(.accessControl, "\(path) is a mount point; unmount it instead") }
        if target.isDirectory && !target.children.isEmpty {
            guard recursive else { throw NamespaceError(.directoryNotEmpty, "cannot delete \(path): directory is not empty (use recursive)") }
            if mounts.keys.contains(where: { $0.isDescendant(of: path) }) {
                throw NamespaceError(.accessControl, "cannot delete \(path): a mount point lies below it")
            }
        }
        removeSubtree(target, time: time)
    }

    /// Removes `top` and everything below it, and unlinks it from its parent.
    private mutating func removeSubtree(_ top: Inode, time: Int64) {
        if inodes[top.parentID] != nil {
            inodes[top.parentID]!.children[top.name] = nil
            inodes[top.parentID]!.modificationTimeMilliseconds = time
        }
        var pending = [top.id]
        while let id = pending.popLast() {
            guard let inode = inodes.removeValue(forKey: id) else { continue }
            pending.append(contentsOf: inode.children.values)
        }
    }

    private mutating func rename(_ source: StrataPath, to destination: StrataPath, time: Int64) throws(NamespaceError) -> FileStatus {
        guard !source.isRoot else { throw NamespaceError(.invalidPath, "cannot rename the root directory") }
        guard !destination.isRoot else { throw NamespaceError(.fileAlreadyExists, "cannot rename \(source) to /: it exists") }
        var moved = try existing(source)
        if source == destination { return FileStatus(inode: moved, path: source) }
        guard !destination.isDescendant(of: source) else {
            throw NamespaceError(.invalidPath, "cannot rename \(source) to \(destination), which lies inside it")
        }
        guard inode(at: destination) == nil else { throw NamespaceError(.fileAlreadyExists, "cannot rename \(source) to \(destination): it exists") }
        guard mounts[source] == nil else { throw NamespaceError(.accessControl, "cannot rename mount point \(source)") }
        guard mount(containing: source).mount.path == mount(containing: destination).mount.path else {
            throw NamespaceError(.accessControl, "cannot rename \(source) to \(destination): renaming across mount points is not allowed")
        }
        // Only the id is kept (a copy of the directory would make the change below copy its children).
        let destinationParentID = try { () throws(NamespaceError) -> UInt64 in
            guard let destinationParentPath = destination.parent, let destinationParent = self.inode(at: destinationParentPath) else {
                throw NamespaceError(.fileDoesNotExist, "cannot rename \(source) to \(destination): parent \(destination.parent?.description ?? "/") does not exist")
            }
            guard destinationParent.isDirectory else {
                throw NamespaceError(.notADirectory, "cannot rename \(source) to \(destination): \(destinationParentPath) is a file")
            }
            return destinationParent.id
        }()
        let sourceParentID = moved.parentID
        inodes[sourceParentID]!.children[moved.name] = nil
        inodes[sourceParentID]!.modificationTimeMilliseconds = time
        moved.name = destination.name
        moved.parentID = destinationParentID
        moved.modificationTimeMilliseconds = time
        inodes[destinationParentID]!.children[destination.name] = moved.id
        inodes[destinationParentID]!.modificationTimeMilliseconds = time
        inodes[moved.id] = moved
        return FileStatus(inode: moved, path: destination)
    }

    private mutating func setAttribute(_ path: StrataPath, _ options: SetAttributeOptions, time: Int64) throws(NamespaceError) -> FileStatus {
        let top = try existing(path)
        if let minimum = options.replicationMin, let maximum = options.replicationMax, maximum >= 0, minimum > maximum {
            throw NamespaceError(.invalidArgument, "replication min \(minimum) exceeds max \(maximum) for \(path)")
        }
        var pending = [top.id]
        while let id = pending.popLast() {
            guard var inode = inodes[id] else { continue }
            if let pinned = options.pinned { inode.pinned = pinned }
            if let ttl = options.ttlMilliseconds { inode.ttlMilliseconds = ttl }
            if let mode = options.mode { inode.mode = mode }
            if let owner = options.owner { inode.owner = owner }
            if let group = options.group { inode.group = group }
            if let minimum = options.replicationMin { inode.replicationMin = minimum }
            if let maximum = options.replicationMax { inode.replicationMax = maximum }
            if let persistence = options.persistence, !inode.isDirectory || persistence == .persisted { inode.persistence = persistence }
            inodes[id] = inode
            if options.recursive { pending.append(contentsOf: inode.children.values) }
        }
        return try status(path)
    }

    private mutating func mount(_ path: StrataPath, ufsURI: String, readOnly: Bool, shared: Bool, time: Int64) throws(NamespaceError) -> FileStatus {
        guard !ufsURI.isEmpty else { throw NamespaceError(.invalidArgument, "mount of \(path) needs an under-storage location") }
        guard inode(at: path) == nil else { throw NamespaceError(.fileAlreadyExists, "cannot mount at \(path): it exists") }
        let normalized = ufsURI.hasSuffix("/") ? String(ufsURI.dropLast()) : ufsURI
        for existing in mounts.values where existing.path != .root {
            let other = existing.ufsURI.hasSuffix("/") ? String(existing.ufsURI.dropLast()) : existing.ufsURI
            if normalized == other || normalized.hasPrefix(other + "/") || other.hasPrefix(normalized + "/") {
                throw NamespaceError(.invalidArgument, "cannot mount \(ufsURI) at \(path): it overlaps \(existing.ufsURI) mounted at \(existing.path)")
            }
        }
        var options = CreateOptions()
        options.persisted = true
        let created = try create(path, kind: .directory, options: options, time: time)
        var inode = created.inode
        inode.isMountPoint = true
        inodes[inode.id] = inode
        mounts[path] = MountPoint(path: path, ufsURI: ufsURI, readOnly: readOnly, shared: shared, mountID: nextMountID)
        nextMountID += 1
        return FileStatus(inode: inode, path: path)
    }
}
