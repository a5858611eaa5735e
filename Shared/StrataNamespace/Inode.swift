/// Whether a file's data is safe in under storage.
public enum PersistenceState: UInt8, Sendable, Equatable, CustomStringConvertible {
    case notPersisted = 0
    case toBePersisted = 1
    case persisted = 2
    case lost = 3

    public var description: String {
        switch self {
        case .notPersisted: "NOT_PERSISTED"
        case .toBePersisted: "TO_BE_PERSISTED"
        case .persisted: "PERSISTED"
        case .lost: "LOST"
        }
    }
}

/// One file or directory.
public struct Inode: Sendable, Equatable {
    public enum Kind: UInt8, Sendable { case directory = 0, file = 1 }

    public var id: UInt64
    public var parentID: UInt64
    public var name: String
    public var kind: Kind
    public var creationTimeMilliseconds: Int64
    public var modificationTimeMilliseconds: Int64
    public var mode: UInt16
    public var owner: String
    public var group: String
    /// Time to live in milliseconds from creation; -1 for none.
    public var ttlMilliseconds: Int64
    public var pinned: Bool
    public var replicationMin: Int32
    public var replicationMax: Int32
    public var persistence: PersistenceState
    public var ufsFingerprint: String
    // Files.
    public var lengthBytes: Int64
    public var blockSizeBytes: Int64
    public var blockIDs: [UInt64]
    public var completed: Bool
    // Directories.
    /// How many children the directory holds (`Namespace.list` names them).
    public var childCount: Int
    public var isMountPoint: Bool
    /// For a directory that mirrors an under-storage directory: whether its listing was loaded.
    public var childrenLoaded: Bool

    public var isDirectory: Bool { kind == .directory }
}

/// What callers see of an inode: its attributes and its full path.
public struct FileStatus: Sendable, Equatable {
    public var inode: Inode
    public var path: StrataPath

    public init(inode: Inode, path: StrataPath) {
        self.inode = inode
        self.path = path
    }

    public var id: UInt64 { inode.id }
    public var name: String { inode.name }
    public var isDirectory: Bool { inode.isDirectory }
    public var lengthBytes: Int64 { inode.lengthBytes }
}
