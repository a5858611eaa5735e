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
    var store = InodeStore()
    var nextInodeID: UInt64 = 2
    var nextMountID: UInt64 = 2
    public internal(set) var mounts: [StrataPath: MountPoint] = [:]
    var recentOperations: [OperationID: RememberedOutcome] = [:]
    var operationOrder: [OperationID] = []
    var operationOrderStart = 0

    /// A new namespace whose root is backed by `rootUFS` (`strata.master.mount.table.root.ufs`).
    public init(rootUFS: String, owner: String = "", group: String = "", operationsRememberedMax: Int = 100_000, timeMilliseconds: Int64 = 0) {
        precondition(operationsRememberedMax > 0, "must remember at least one operation")
        self.operationsRememberedMax = operationsRememberedMax
        store.insert(Inode(
            id: Self.rootID, parentID: 0, name: "", kind: .directory, creationTimeMilliseconds: timeMilliseconds,
            modificationTimeMilliseconds: timeMilliseconds, mode: 0o755, owner: owner, group: group, ttlMilliseconds: -1,
            pinned: false, replicationMin: 0, replicationMax: -1, persistence: .persisted, ufsFingerprint: "",
            lengthBytes: 0, blockSizeBytes: 0, blockIDs: [], completed: true, childCount: 0, isMountPoint: true, childrenLoaded: false))
        store.makeDirectory(Self.rootID)
        mounts[.root] = MountPoint(path: .root, ufsURI: rootUFS, readOnly: false, shared: false, mountID: 1)
    }

    // MARK: Reads

    public var inodeCount: Int { store.count }

    /// The id of the inode at `path`, or nil.
    func id(at path: StrataPath) -> UInt64? {
        var current = Self.rootID
        for component in path.components {
            guard let child = store.child(named: component, in: current) else { return nil }
            current = child
        }
        return current
    }

    /// The inode at `path`, or nil.
    public func inode(at path: StrataPath) -> Inode? { id(at: path).flatMap { store.inode($0) } }

    public func exists(_ path: StrataPath) -> Bool { id(at: path) != nil }

    /// The inode with `id`, or nil.
    public func inode(id: UInt64) -> Inode? { store.inode(id) }

    /// The id of the child called `name` in the directory with id `directory`, or nil.
    public func child(named name: String, in directory: UInt64) -> UInt64? { store.child(named: name, in: directory) }

    /// The names of a directory's children, sorted (none for a file or a missing path).
    public func childNames(_ path: StrataPath) -> [String] {
        guard let id = id(at: path) else { return [] }
        return store.sortedChildren(of: id).map(\.name)
    }

    /// The path of the inode with `id`, or nil if there is none.
    public func path(of id: UInt64) -> StrataPath? {
        var names: [String] = []
        var current = id
        while current != Self.rootID {
            guard let record = store.record(current), names.count < StrataPath.depthMax else { return nil }
            names.append(record.name)
            current = record.parentID
        }
        return try? StrataPath("/" + names.reversed().joined(separator: "/"))
    }

    /// The complete files a periodic task looks after, in id order. A full scan, but of the
    /// packed records: only the files that match are made into `Inode`s, not every file.
    public func files(_ kind: FileSelection) -> [Inode] {
        var result: [Inode] = []
        store.table.forEach { id, record in
            let flags = record.flags
            guard !flags.contains(.directory), flags.contains(.completed) else { return }
            let matches: Bool
            switch kind {
            case .waitingToPersist: matches = flags.persistence == .toBePersisted
            case .pinned: matches = flags.contains(.pinned)
            case .replicationBounded:
                matches = flags.contains(.hasExtras) && store.extras(of: id).map { $0.replicationMin > 0 || $0.replicationMax >= 0 } == true
            }
            if matches { result.append(store.inode(id, record)) }
        }
        return result
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
        var pending: [(StrataPath, UInt64)] = [(path, top.id)]
        while let (directoryPath, directory) = pending.popLast() {
            var children: [(StrataPath, UInt64)] = []
            for (name, childID, record) in store.sortedChildren(of: directory) {
                let childPath = directoryPath.appending(validName: name)
                result.append(FileStatus(inode: store.inode(childID, record), path: childPath))
                if recursive && record.flags.contains(.directory) { children.append((childPath, childID)) }
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

    /// Applies one journal record. A record whose operation id was already applied changes
    /// nothing and answers as the first did (`replay`).
    public mutating func apply(_ record: NamespaceRecord) -> NamespaceOutcome {
        if let id = record.operationID, let earlier = recentOperations[id] { return replay(earlier) }
        let outcome: NamespaceOutcome
        do {
            outcome = .success(try execute(record.command, time: record.timeMilliseconds))
        } catch {
            outcome = .failure(error)
        }
        if let id = record.operationID { remember(id, outcome) }
        return outcome
    }

    /// The outcome a retried operation gets: success again, with the status of what it made or
    /// changed as it is now (none if that has been removed since), or its error again. The first
    /// outcome is not kept whole: a retry cache of full statuses cost more memory than the inodes.
    /// A success is never turned into an error: the operation did take effect.
    private func replay(_ earlier: RememberedOutcome) -> NamespaceOutcome {
        switch earlier {
        case .success(let id):
            guard id != 0, let inode = store.inode(id), let path = path(of: id) else { return .success(nil) }
            return .success(FileStatus(inode: inode, path: path))
        case .failure(let error):
            return .failure(error)
        }
    }

    private mutating func remember(_ id: OperationID, _ outcome: NamespaceOutcome) {
        switch outcome {
        case .success(let status): recentOperations[id] = .success(status?.id ?? 0)
        case .failure(let error): recentOperations[id] = .failure(error)
        }
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
            guard id(at: path) == nil else { throw NamespaceError(.fileAlreadyExists, "\(path) already exists") }
            return try create(path, kind: .file, options: options, time: time)
        case .completeFile(let path, let length, let blockIDs, let persistence):
            let id = try existingID(path)
            let flags = store.record(id)!.flags
            guard !flags.contains(.directory) else { throw NamespaceError(.notAFile, "\(path) is a directory, not a file") }
            guard !flags.contains(.completed) else { throw NamespaceError(.fileAlreadyCompleted, "\(path) is already complete") }
            guard length >= 0 else { throw NamespaceError(.invalidArgument, "length \(length) of \(path) is negative") }
            store.update(id) { file in
                file.lengthBytes = length
                file.flags.insert(.completed)
                if persistence != .notPersisted { file.flags.persistence = persistence }
                file.modificationTimeMilliseconds = time
            }
            store.setBlockIDs(id, blockIDs)
            return FileStatus(inode: store.inode(id)!, path: path)
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
            removeSubtree(try existingID(path), time: time)
            mounts[path] = nil
            return nil
        case .loadDirectory(let path, let entries):
            let directoryID = try existingDirectoryID(path)
            for entry in entries where store.child(named: entry.name, in: directoryID) == nil {
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
                store.replace(inode)
            }
            store.update(directoryID) { $0.flags.insert(.childrenLoaded) }
            return FileStatus(inode: store.inode(directoryID)!, path: path)
        }
    }

    /// The id of the directory at `path`.
    private func existingDirectoryID(_ path: StrataPath) throws(NamespaceError) -> UInt64 {
        let id = try existingID(path)
        guard store.isDirectory(id) else { throw NamespaceError(.notADirectory, "\(path) is not a directory") }
        return id
    }

    private func existingID(_ path: StrataPath) throws(NamespaceError) -> UInt64 {
        guard let id = id(at: path) else { throw NamespaceError(.fileDoesNotExist, "path \(path) does not exist") }
        return id
    }

    /// The id of the parent directory of `path`, created (with `options`) if missing and `recursive`.
    private mutating func parentDirectory(of path: StrataPath, options: CreateOptions, time: Int64) throws(NamespaceError) -> UInt64 {
        guard let parentPath = path.parent else { throw NamespaceError(.fileAlreadyExists, "/ already exists") }
        if let parent = id(at: parentPath) {
            guard store.isDirectory(parent) else { throw NamespaceError(.notADirectory, "cannot create \(path): \(parentPath) is a file") }
            return parent
        }
        guard options.recursive else {
            throw NamespaceError(.fileDoesNotExist, "cannot create \(path): parent \(parentPath) does not exist")
        }
        var parentOptions = options
        parentOptions.allowExists = true
        parentOptions.mode = 0o755
        return try create(parentPath, kind: .directory, options: parentOptions, time: time).id
    }

    private mutating func create(_ path: StrataPath, kind: Inode.Kind, options: CreateOptions, time: Int64) throws(NamespaceError) -> FileStatus {
        let parentID = try parentDirectory(of: path, options: options, time: time)
        precondition(store.child(named: path.name, in: parentID) == nil, "creating \(path) over an existing child")
        guard nextInodeID < ChildTable.idLimit else { throw NamespaceError(.failedPrecondition, "cannot create \(path): inode ids are used up") }
        let inode = Inode(
            id: nextInodeID, parentID: parentID, name: path.name, kind: kind, creationTimeMilliseconds: time,
            modificationTimeMilliseconds: time, mode: options.mode, owner: options.owner, group: options.group,
            ttlMilliseconds: options.ttlMilliseconds, pinned: false, replicationMin: options.replicationMin,
            replicationMax: options.replicationMax, persistence: options.persisted ? .persisted : .notPersisted,
            ufsFingerprint: "", lengthBytes: 0, blockSizeBytes: kind == .file ? options.blockSizeBytes : 0, blockIDs: [],
            completed: kind == .directory || options.completeEmpty, childCount: 0, isMountPoint: false, childrenLoaded: !options.persisted)
        nextInodeID += 1
        store.insert(inode)
        if kind == .directory { store.makeDirectory(inode.id) }
        store.link(inode.id, named: path.name, into: parentID)
        store.update(parentID) { $0.modificationTimeMilliseconds = time }
        return FileStatus(inode: inode, path: path)
    }

    private mutating func delete(_ path: StrataPath, recursive: Bool, time: Int64) throws(NamespaceError) {
        guard !path.isRoot else { throw NamespaceError(.invalidPath, "cannot delete the root directory") }
        let target = try existingID(path)
        if mounts[path] != nil { throw NamespaceError(.accessControl, "\(path) is a mount point; unmount it instead") }
        if store.childCount(of: target) > 0 {
            guard recursive else { throw NamespaceError(.directoryNotEmpty, "cannot delete \(path): directory is not empty (use recursive)") }
            if mounts.keys.contains(where: { $0.isDescendant(of: path) }) {
                throw NamespaceError(.accessControl, "cannot delete \(path): a mount point lies below it")
            }
        }
        removeSubtree(target, time: time)
    }

    /// Removes `top` and everything below it, and unlinks it from its parent.
    private mutating func removeSubtree(_ top: UInt64, time: Int64) {
        let record = store.record(top)!
        if store.contains(record.parentID) {
            store.unlink(named: record.name, from: record.parentID)
            store.update(record.parentID) { $0.modificationTimeMilliseconds = time }
        }
        var pending = [top]
        while let id = pending.popLast() {
            if store.isDirectory(id) { pending.append(contentsOf: store.childIDs(of: id)) }
            store.remove(id)
        }
    }

    private mutating func rename(_ source: StrataPath, to destination: StrataPath, time: Int64) throws(NamespaceError) -> FileStatus {
        guard !source.isRoot else { throw NamespaceError(.invalidPath, "cannot rename the root directory") }
        guard !destination.isRoot else { throw NamespaceError(.fileAlreadyExists, "cannot rename \(source) to /: it exists") }
        let movedID = try existingID(source)
        if source == destination { return FileStatus(inode: store.inode(movedID)!, path: source) }
        guard !destination.isDescendant(of: source) else {
            throw NamespaceError(.invalidPath, "cannot rename \(source) to \(destination), which lies inside it")
        }
        guard id(at: destination) == nil else { throw NamespaceError(.fileAlreadyExists, "cannot rename \(source) to \(destination): it exists") }
        guard mounts[source] == nil else { throw NamespaceError(.accessControl, "cannot rename mount point \(source)") }
        guard mount(containing: source).mount.path == mount(containing: destination).mount.path else {
            throw NamespaceError(.accessControl, "cannot rename \(source) to \(destination): renaming across mount points is not allowed")
        }
        guard let destinationParentPath = destination.parent, let destinationParentID = id(at: destinationParentPath) else {
            throw NamespaceError(.fileDoesNotExist, "cannot rename \(source) to \(destination): parent \(destination.parent?.description ?? "/") does not exist")
        }
        guard store.isDirectory(destinationParentID) else {
            throw NamespaceError(.notADirectory, "cannot rename \(source) to \(destination): \(destinationParentPath) is a file")
        }
        let sourceParentID = store.record(movedID)!.parentID
        store.unlink(named: source.name, from: sourceParentID)
        store.update(sourceParentID) { $0.modificationTimeMilliseconds = time }
        store.update(movedID) { moved in
            moved.name = destination.name
            moved.parentID = destinationParentID
            moved.modificationTimeMilliseconds = time
        }
        store.link(movedID, named: destination.name, into: destinationParentID)
        store.update(destinationParentID) { $0.modificationTimeMilliseconds = time }
        return FileStatus(inode: store.inode(movedID)!, path: destination)
    }

    private mutating func setAttribute(_ path: StrataPath, _ options: SetAttributeOptions, time: Int64) throws(NamespaceError) -> FileStatus {
        let top = try existingID(path)
        if let minimum = options.replicationMin, let maximum = options.replicationMax, maximum >= 0, minimum > maximum {
            throw NamespaceError(.invalidArgument, "replication min \(minimum) exceeds max \(maximum) for \(path)")
        }
        var pending = [top]
        while let id = pending.popLast() {
            guard var inode = store.inode(id) else { continue }
            if let pinned = options.pinned { inode.pinned = pinned }
            if let ttl = options.ttlMilliseconds { inode.ttlMilliseconds = ttl }
            if let mode = options.mode { inode.mode = mode }
            if let owner = options.owner { inode.owner = owner }
            if let group = options.group { inode.group = group }
            if let minimum = options.replicationMin { inode.replicationMin = minimum }
            if let maximum = options.replicationMax { inode.replicationMax = maximum }
            if let persistence = options.persistence, !inode.isDirectory || persistence == .persisted { inode.persistence = persistence }
            store.replace(inode)
            if options.recursive && inode.isDirectory { pending.append(contentsOf: store.childIDs(of: id)) }
        }
        return try status(path)
    }

    private mutating func mount(_ path: StrataPath, ufsURI: String, readOnly: Bool, shared: Bool, time: Int64) throws(NamespaceError) -> FileStatus {
        guard !ufsURI.isEmpty else { throw NamespaceError(.invalidArgument, "mount of \(path) needs an under-storage location") }
        guard id(at: path) == nil else { throw NamespaceError(.fileAlreadyExists, "cannot mount at \(path): it exists") }
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
        store.update(created.id) { $0.flags.insert(.mountPoint) }
        let inode = store.inode(created.id)!
        mounts[path] = MountPoint(path: path, ufsURI: ufsURI, readOnly: readOnly, shared: shared, mountID: nextMountID)
        nextMountID += 1
        return FileStatus(inode: inode, path: path)
    }
}
