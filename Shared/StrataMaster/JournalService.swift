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

/// Honours `strata.master.journal.exit.on.demotion`: when this master stops leading, it exits
/// so that a supervisor restarts it cleanly.
public struct DemotionWatcher: Service {
    let node: RaftNode
    let exit: @Sendable () -> Void

    public init(node: RaftNode, exit: @escaping @Sendable () -> Void) {
        self.node = node
        self.exit = exit
    }

    public func run() async throws {
        var led = false
        for await role in node.roleChanges.cancelOnGracefulShutdown() {
            if role == .leader { led = true } else if led { exit() }
        }
    }
}
