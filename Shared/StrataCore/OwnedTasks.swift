import Synchronization

/// Background work a service owns. Each task started here is tracked until it ends, and
/// `shutdown()` cancels what is left and waits for it: nothing outlives the service that
/// started it, and nothing starts once it is stopping.
///
/// For work that cannot be part of a task group's scope (it is started from a synchronous
/// context, or by an actor method that must return first). Work with a natural scope belongs in
/// a task group instead.
public final class OwnedTasks: Sendable {
    private struct State {
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var next: UInt64 = 0
        var closed = false
    }
    private let state = Mutex(State())

    public init() {}

    /// Starts `work`, unless `shutdown()` has begun: then it does not run, and this returns false.
    @discardableResult
    public func spawn(_ work: @escaping @Sendable () async -> Void) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            let id = state.next
            state.next += 1
            // The task removes itself when done; it cannot get there before it is inserted,
            // since the lock is held until then.
            state.tasks[id] = Task { [weak self] in
                await work()
                self?.finished(id)
            }
            return true
        }
    }

    /// How many tasks are running.
    public var count: Int { state.withLock { $0.tasks.count } }

    /// Refuses new work, cancels what runs and returns once all of it has ended.
    public func shutdown() async {
        let running = state.withLock { state in
            state.closed = true
            return Array(state.tasks.values)
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    private func finished(_ id: UInt64) {
        _ = state.withLock { $0.tasks.removeValue(forKey: id) }
    }
}
