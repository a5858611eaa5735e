import Logging
import StrataJournal
import StrataNamespace
import StrataRaft

/// The namespace as the journal's replicated state machine: every member applies the same
/// records in the same order; the leader also keeps each record's outcome until the RPC that
/// proposed it picks it up.
public actor NamespaceStateMachine: ReplicatedStateMachine {
    /// Outcomes kept for proposers; older ones are dropped (their proposers have long timed out).
    static let outcomesMax = 16_384

    public private(set) var namespace: Namespace
    private var outcomes: [UInt64: NamespaceOutcome] = [:]
    private var outcomeOrder: [UInt64] = []
    private let logger: Logger

    public init(rootUFS: String, logger: Logger) {
        namespace = Namespace(rootUFS: rootUFS)
        self.logger = logger
    }

    public func apply(_ entry: LogEntry) {
        let record: NamespaceRecord
        do {
            record = try NamespaceCodec.decodeRecord(entry.data)
        } catch {
            // Every member decodes the same bytes the same way, so skipping keeps them in step.
            logger.error("journal entry \(entry.index) is not a namespace record and is skipped: \(error)")
            return
        }
        let outcome = namespace.apply(record)
        outcomes[entry.index] = outcome
        outcomeOrder.append(entry.index)
        if outcomeOrder.count > Self.outcomesMax {
            let dropped = outcomeOrder.count - Self.outcomesMax
            for index in outcomeOrder.prefix(dropped) { outcomes[index] = nil }
            outcomeOrder.removeFirst(dropped)
        }
    }

    public func snapshot() -> [UInt8] { namespace.encodedSnapshot() }

    public func restore(_ data: [UInt8]) throws {
        namespace = try Namespace(snapshot: data)
        outcomes = [:]
        outcomeOrder = []
    }

    /// The outcome of the record applied at `index`, once.
    func takeOutcome(_ index: UInt64) -> NamespaceOutcome? {
        outcomes.removeValue(forKey: index)
    }

    func status(_ path: StrataPath) throws(NamespaceError) -> FileStatus { try namespace.status(path) }
    func list(_ path: StrataPath, recursive: Bool) throws(NamespaceError) -> [FileStatus] { try namespace.list(path, recursive: recursive) }
    func inode(at path: StrataPath) -> Inode? { namespace.inode(at: path) }
    func mount(containing path: StrataPath) -> (mount: MountPoint, relative: [String]) { namespace.mount(containing: path) }
    var inodeCount: Int { namespace.inodeCount }
    func inode(id: UInt64) -> Inode? { namespace.inode(id: id) }
    func path(of id: UInt64) -> StrataPath? { namespace.path(of: id) }
    func files(where include: @Sendable (Inode) -> Bool) -> [Inode] { namespace.files(where: include) }
}
