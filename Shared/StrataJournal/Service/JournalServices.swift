import ServiceLifecycle

/// A service's journal as a swift-service-lifecycle service: runs until graceful shutdown, then
/// stops it. List it first among a process's services: they stop in reverse order, so the
/// journal stops last, after everything that proposes to it.
public struct JournalService: Service {
    let journal: any ServiceJournal

    public init(journal: any ServiceJournal) { self.journal = journal }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await journal.run() }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        await journal.shutdown()
    }
}

/// Honours `strata.master.journal.exit.on.demotion`: when this member stops leading, it exits
/// so that a supervisor restarts it cleanly.
public struct DemotionWatcher: Service {
    let journal: any ServiceJournal
    let exit: @Sendable () -> Void

    public init(journal: any ServiceJournal, exit: @escaping @Sendable () -> Void) {
        self.journal = journal
        self.exit = exit
    }

    public func run() async throws {
        var led = false
        for await leads in journal.leadershipChanges().cancelOnGracefulShutdown() {
            if leads { led = true } else if led { exit() }
        }
    }
}
