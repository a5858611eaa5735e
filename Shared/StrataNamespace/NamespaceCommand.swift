import StrataCore

/// Options for creating a file or directory.
public struct CreateOptions: Sendable, Equatable {
    /// Create missing parent directories.
    public var recursive = false
    /// For directories: succeed if it already exists (as `mkdir -p`).
    public var allowExists = false
    public var mode: UInt16 = 0o755
    public var owner = ""
    public var group = ""
    public var ttlMilliseconds: Int64 = -1
    public var blockSizeBytes: Int64 = 64 << 20
    public var replicationMin: Int32 = 0
    public var replicationMax: Int32 = -1
    /// The object already exists in under storage (written through, or loaded from it).
    public var persisted = false
    /// For files: created empty and complete at once (one journal entry for `touch`).
    public var completeEmpty = false

    public init() {}
}

/// Attributes to change; nil leaves one alone.
public struct SetAttributeOptions: Sendable, Equatable {
    public var pinned: Bool?
    public var ttlMilliseconds: Int64?
    public var mode: UInt16?
    public var owner: String?
    public var group: String?
    public var replicationMin: Int32?
    public var replicationMax: Int32?
    /// Persistence state (NOT_PERSISTED → TO_BE_PERSISTED → PERSISTED as a file is persisted).
    public var persistence: PersistenceState?
    /// Apply to every descendant too.
    public var recursive = false

    public init() {}
}

/// An entry found in under storage, to add to the namespace when its directory is first listed.
public struct UFSEntry: Sendable, Equatable {
    public var name: String
    public var isDirectory: Bool
    public var lengthBytes: Int64
    public var modificationTimeMilliseconds: Int64
    public var mode: UInt16
    public var owner: String
    public var group: String
    /// Identifies the version of the object (size and modification time for a local folder).
    public var fingerprint: String

    public init(name: String, isDirectory: Bool, lengthBytes: Int64, modificationTimeMilliseconds: Int64,
                mode: UInt16, owner: String, group: String, fingerprint: String) {
        self.name = name
        self.isDirectory = isDirectory
        self.lengthBytes = lengthBytes
        self.modificationTimeMilliseconds = modificationTimeMilliseconds
        self.mode = mode
        self.owner = owner
        self.group = group
        self.fingerprint = fingerprint
    }
}

/// A namespace mutation. Each is one journal entry; applying it is deterministic.
public enum NamespaceCommand: Sendable, Equatable {
    case createDirectory(StrataPath, CreateOptions)
    case createFile(StrataPath, CreateOptions)
    /// Completes a file; `persistence` is PERSISTED for a file written through to under
    /// storage, TO_BE_PERSISTED for one to persist in the background.
    case completeFile(StrataPath, lengthBytes: Int64, blockIDs: [UInt64], persistence: PersistenceState = .notPersisted)
    case delete(StrataPath, recursive: Bool)
    case rename(StrataPath, to: StrataPath)
    case setAttribute(StrataPath, SetAttributeOptions)
    case mount(StrataPath, ufsURI: String, readOnly: Bool, shared: Bool)
    case unmount(StrataPath)
    /// Records what an under-storage directory holds, the first time it is listed.
    case loadDirectory(StrataPath, entries: [UFSEntry])
}

/// One journal entry of the namespace: the command, the leader's clock when it was proposed
/// (so every member stamps the same times), and the client operation it carries out.
public struct NamespaceRecord: Sendable, Equatable {
    public var operationID: OperationID?
    public var timeMilliseconds: Int64
    public var command: NamespaceCommand

    public init(operationID: OperationID?, timeMilliseconds: Int64, command: NamespaceCommand) {
        self.operationID = operationID
        self.timeMilliseconds = timeMilliseconds
        self.command = command
    }
}

/// The outcome of applying a record: the affected inode's status, or the error.
public enum NamespaceOutcome: Sendable, Equatable {
    case success(FileStatus?)
    case failure(NamespaceError)
}

/// Which complete files `Namespace.files(_:)` returns.
public enum FileSelection: Sendable {
    /// Marked TO_BE_PERSISTED (ASYNC_THROUGH, `fs persist`).
    case waitingToPersist
    /// With a replication minimum above 0 or a maximum.
    case replicationBounded
    case pinned
}

/// What the namespace keeps of an operation's outcome for a retry of it: the id of the inode
/// its status described (0: none), or its error.
enum RememberedOutcome: Sendable, Equatable {
    case success(UInt64)
    case failure(NamespaceError)
}

/// A mount: a Strata path backed by an under-storage location.
public struct MountPoint: Sendable, Equatable {
    public var path: StrataPath
    public var ufsURI: String
    public var readOnly: Bool
    public var shared: Bool
    public var mountID: UInt64
}

extension NamespaceRecord: CustomStringConvertible {
    /// One line for `strata readJournal`: the command, its arguments, the time and operation.
    public var description: String {
        let operation = operationID.map { " op=\($0)" } ?? ""
        return "\(command) time=\(timeMilliseconds)\(operation)"
    }
}

extension NamespaceCommand: CustomStringConvertible {
    public var description: String {
        switch self {
        case .createDirectory(let path, let options):
            "CREATE_DIRECTORY \(path) recursive=\(options.recursive) mode=\(String(options.mode, radix: 8))"
        case .createFile(let path, let options):
            "CREATE_FILE \(path) recursive=\(options.recursive) blockSize=\(options.blockSizeBytes) mode=\(String(options.mode, radix: 8))"
        case .completeFile(let path, let length, let blockIDs, let persistence):
            "COMPLETE_FILE \(path) length=\(length) blocks=\(blockIDs.count)" + (persistence == .notPersisted ? "" : " persistence=\(persistence)")
        case .delete(let path, let recursive):
            "DELETE \(path) recursive=\(recursive)"
        case .rename(let source, let destination):
            "RENAME \(source) -> \(destination)"
        case .setAttribute(let path, let options):
            "SET_ATTRIBUTE \(path) recursive=\(options.recursive)"
                + (options.pinned.map { " pinned=\($0)" } ?? "") + (options.ttlMilliseconds.map { " ttl=\($0)" } ?? "")
                + (options.mode.map { " mode=\(String($0, radix: 8))" } ?? "") + (options.owner.map { " owner=\($0)" } ?? "")
                + (options.group.map { " group=\($0)" } ?? "")
        case .mount(let path, let ufsURI, let readOnly, let shared):
            "MOUNT \(path) <- \(ufsURI) readOnly=\(readOnly) shared=\(shared)"
        case .unmount(let path):
            "UNMOUNT \(path)"
        case .loadDirectory(let path, let entries):
            "LOAD_DIRECTORY \(path) entries=\(entries.count)"
        }
    }
}
