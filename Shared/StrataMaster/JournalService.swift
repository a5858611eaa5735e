import ServiceLifecycle
import StrataJournal

/// The embedded journal as a swift-service-lifecycle service: runs the Raft node until graceful
/// shutdown, then stops it (the journal stops last, after the servers).
public struct JournalService: Service {
    let node: RaftNode

    public init(node: RaftNode) { self.node = node }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await node.run() }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        await node.shutdown()
    }
}
