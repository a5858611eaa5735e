import Synchronization

/// Wakes one waiting task early: `wait(upTo:)` returns when `ring()` is called or the time is up.
/// A ring with nobody waiting is kept for the next wait, so a ring is never lost whichever of
/// the waiter and the ringer runs first. (Worker heartbeat loops and the UFS journal's tailer.)
public final class Doorbell: Sendable {
    private let state = Mutex<(rung: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    public func ring() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            defer { state.waiter = nil }
            if state.waiter == nil { state.rung = true }
            return state.waiter
        }
        waiter?.resume()
    }

    public func wait(upTo duration: Duration) async {
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: duration)) != nil else { return } // cancelled: rung already
            self?.ring()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = state.withLock { state in
                if state.rung {
                    state.rung = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
    }
}
