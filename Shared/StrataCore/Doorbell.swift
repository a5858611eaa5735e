import Synchronization

/// The one wake-up mechanism of Strata: tasks `wait` until someone `ring`s (or, with
/// `wait(upTo:)`, until the time is up). A ring wakes every task waiting then; a ring with nobody
/// waiting is kept for the next wait, so a ring is never lost whichever of the waiter and the
/// ringer runs first. Waiters re-check their condition after waking: a kept ring can wake one
/// that had nothing new to see.
///
/// Used by the Raft node's ready loop, the UFS journal's tailer, heartbeat loops (workers, job
/// workers, the job master's planner) and writers waiting for a master's acknowledgement.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled before they registered: they must not register.
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// Wakes every waiting task, or the next one to wait if none waits now.
    public func ring() {
        let woken: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.rung = true
                return []
            }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns when the bell rings (at once if it rang since the last wait), or when the task
    /// is cancelled.
    public func wait() async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return true }
                    if state.rung {
                        state.rung = false
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
        // A wait cancelled after it had already been woken leaves its id behind: drop it.
        if Task.isCancelled { _ = state.withLock { $0.cancelled.remove(id) } }
    }

    /// Returns when the bell rings or `duration` has passed, whichever is first.
    public func wait(upTo duration: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(for: duration) }
            await group.next()
            group.cancelAll()
        }
    }
}
