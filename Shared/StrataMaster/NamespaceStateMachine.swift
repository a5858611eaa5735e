import Logging
import StrataJournal
import StrataNamespace
import StrataRaft

/// The namespace as the journal's replicated state machine: every member applies the same
/// records in the same order; the leader also keeps each record's outcome until the RPC that
/// proposed it picks it up.
public actor NamespaceStateMachine: OutcomeStateMachine {
    public private(set) var namespace: Namespace
    private var outcomes = OutcomeLog<NamespaceOutcome>()
    private var importing = StateImportBuffer()
    private let logger: Logger
    /// Counts of applied deletes/unmounts and attribute changes, so periodic work (dropping
    /// cached blocks of deleted files, the pinned list) runs only when something changed.
    public private(set) var removals: UInt64 = 0
    public private(set) var attributeChanges: UInt64 = 0
    /// Count of files marked TO_BE_PERSISTED (completed ASYNC_THROUGH, or `fs persist`).
    public private(set) var persistenceRequests: UInt64 = 0

    public init(rootUFS: String, logger: Logger) {
        namespace = Namespace(rootUFS: rootUFS)
        self.logger = logger
    }

    /// Stops the member on an entry that does not decode (set once the journal is open).
    private var onCorruptEntry: CorruptEntryHandler?

    public func setCorruptEntryHandler(_ handler: CorruptEntryHandler) { onCorruptEntry = handler }

    public func apply(_ entries: [LogEntry]) async {
        for entry in entries { await apply(entry) }
    }

    private func apply(_ entry: LogEntry) async {
        if StateImportRecord.isImport(entry.data) { return applyImport(entry) }
        let record: NamespaceRecord
        do {
            record = try NamespaceCodec.decodeRecord(entry.data)
        } catch {
            // Never skipped: a member that skipped it would not hold what the others hold.
            guard let onCorruptEntry else { preconditionFailure("journal entry \(entry.index) is not a namespace record: \(error)") }
            await onCorruptEntry.stop(entry.index, "not a namespace record (\(error))")
            return
        }
        let outcome = namespace.apply(record)
        if case .success = outcome {
            switch record.command {
            case .delete, .unmount: removals += 1
            case .setAttribute(_, let options):
                attributeChanges += 1
                if options.persistence == .toBePersisted { persistenceRequests += 1 }
            case .completeFile(_, _, _, let persistence):
                if persistence == .toBePersisted { persistenceRequests += 1 }
            default: break
            }
        }
        outcomes.record(outcome, at: entry.index)
    }

    /// A backup's namespace, journaled in chunks (`strata-master -i`): replaces the namespace
    /// once whole. A namespace that does not decode leaves the current one, on every member alike.
    private func applyImport(_ entry: LogEntry) {
        importing.apply(entry, what: "namespace", logger: logger) { try restore($0) }
    }

    public func snapshot() -> @Sendable () -> [UInt8] {
        let copy = namespace // copy-on-write: later applies do not touch it
        return { copy.encodedSnapshot() }
    }

    public func backupView() -> (serialize: @Sendable () -> [UInt8], entries: UInt64) {
        let copy = namespace
        return ({ copy.encodedSnapshot() }, UInt64(copy.inodeCount))
    }

    public func restore(_ data: [UInt8]) throws {
        namespace = try Namespace(snapshot: data)
        removals += 1
        attributeChanges += 1
        persistenceRequests += 1
        outcomes.removeAll()
    }

    public func takeOutcome(_ index: UInt64) -> NamespaceOutcome? {
        outcomes.take(index)
    }

    func status(_ path: StrataPath) throws(NamespaceError) -> FileStatus { try namespace.status(path) }

    /// A status with the mount it lies in, so that a client's FileInfo is made without coming back.
    func located(_ path: StrataPath) throws(NamespaceError) -> LocatedStatus { locate(try namespace.status(path)) }
    func locate(_ status: FileStatus) -> LocatedStatus {
        let (mount, relative) = namespace.mount(containing: status.path)
        return LocatedStatus(status: status, ufsURI: mount.ufsURI, relative: relative)
    }
    /// `list`, each entry with its mount: a listing in one call, however many entries.
    func listLocated(_ path: StrataPath, recursive: Bool) throws(NamespaceError) -> [LocatedStatus] {
        try namespace.list(path, recursive: recursive).map(locate)
    }

    /// What resolving `path` for a client needs from under storage first, if anything: the first
    /// persisted directory along it whose listing was never loaded, or the first one loaded that
    /// lacks the next name (it may have appeared in under storage since). Nil: nothing to load.
    func metadataStep(along path: StrataPath) -> MetadataStep? {
        var prefix = StrataPath.root
        var remaining = path.components[...]
        while let inode = namespace.inode(at: prefix), inode.isDirectory {
            if inode.persistence == .persisted && !inode.childrenLoaded { return .load(prefix) }
            guard let next = remaining.first else { return nil }
            if inode.persistence == .persisted && namespace.child(named: next, in: inode.id) == nil {
                let (mount, relative) = namespace.mount(containing: prefix)
                return .lookUp(prefix, name: next, ufsURI: mount.ufsURI, relative: relative)
            }
            remaining = remaining.dropFirst()
            guard let child = try? prefix.appending(next) else { return nil }
            prefix = child
        }
        return nil
    }
    func list(_ path: StrataPath, recursive: Bool) throws(NamespaceError) -> [FileStatus] { try namespace.list(path, recursive: recursive) }
    func inode(at path: StrataPath) -> Inode? { namespace.inode(at: path) }
    func childNames(_ path: StrataPath) -> [String] { namespace.childNames(path) }
    func mount(containing path: StrataPath) -> (mount: MountPoint, relative: [String]) { namespace.mount(containing: path) }
    var inodeCount: Int { namespace.inodeCount }
    func inode(id: UInt64) -> Inode? { namespace.inode(id: id) }
    func path(of id: UInt64) -> StrataPath? { namespace.path(of: id) }
    func files(_ kind: FileSelection) -> [Inode] { namespace.files(kind) }

    /// For each file id, how many blocks it has (Int.max while it is being written); absent
    /// ids are not files any more.
    func blockCounts(of files: Set<UInt64>) -> [UInt64: Int] {
        var counts: [UInt64: Int] = [:]
        for file in files {
            guard let inode = namespace.inode(id: file), !inode.isDirectory else { continue }
            counts[file] = inode.completed ? BlockMaster.blockIDs(of: inode).count : Int.max
        }
        return counts
    }
}

/// A file's status and where it lies in under storage (its mount's URI and the path below it).
public struct LocatedStatus: Sendable {
    public var status: FileStatus
    public var ufsURI: String
    public var relative: [String]
}

/// One step of loading under-storage metadata along a path (`metadataStep(along:)`).
enum MetadataStep: Sendable {
    /// Load the listing of this directory.
    case load(StrataPath)
    /// Load the listing of this directory if under storage holds `name` in it.
    case lookUp(StrataPath, name: String, ufsURI: String, relative: [String])
}
