import StrataJournal
import StrataNamespace
import StrataWire

/// What the block master needs of the file-system master, and nothing more: the seam (leader
/// gate, read barrier, the replicated namespace to query), a file's status as a client read sees
/// it, the files under a path, and the one kind of change it journals (attributes: unpinning on a
/// forced free, persistence state).
public protocol NamespaceAccess: Sendable {
    var journaled: JournaledService<NamespaceStateMachine> { get }
    /// The status of `path` for a client read: as the leader, after the read barrier, with
    /// under-storage metadata loaded along the path.
    func resolvedFileInfo(_ path: String) async throws(RPCError) -> FileInfo
    /// Every file (not directory) at or below `path`.
    func files(under path: StrataPath) async throws(RPCError) -> [FileStatus]
    func setAttribute(_ path: StrataPath, _ options: SetAttributeOptions) async throws(RPCError)
    /// A status as the wire carries it (with its under-storage location).
    func fileInfo(_ status: FileStatus) async -> FileInfo
}
