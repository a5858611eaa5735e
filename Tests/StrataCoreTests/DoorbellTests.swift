import StrataCore
import Synchronization
import Testing

/// The one wake-up mechanism: no ring is lost, every waiter wakes, timeouts and cancellation end
/// a wait, and nothing is left behind.
@Suite(.timeLimit(.minutes(1))) struct DoorbellTests {
    @Test func aRingBeforeTheWaitIsKept() async {
        let bell = Doorbell()
        bell.ring()
        let started = ContinuousClock.now
        await bell.wait(upTo: .seconds(10))
        #expect(ContinuousClock.now - started < .seconds(5), "a ring with nobody waiting was lost")
    }

    @Test func everyWaiterWakesOnOneRing() async {
        let bell = Doorbell()
        let woken = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    await bell.wait()
                    woken.value.add(1, ordering: .relaxed)
                }
            }
            // Ring until all have woken (a ring may come before some are waiting; it is kept).
            while woken.value.load(ordering: .relaxed) < 8 {
                bell.ring()
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        #expect(woken.value.load(ordering: .relaxed) == 8)
    }

    @Test func aTimedWaitEndsWithoutARing() async {
        let bell = Doorbell()
        let started = ContinuousClock.now
        await bell.wait(upTo: .milliseconds(50))
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(50) && waited < .seconds(5))
        // The timed-out wait left no ring and no waiter behind: the next timed wait times out too.
        let again = ContinuousClock.now
        await bell.wait(upTo: .milliseconds(50))
        #expect(ContinuousClock.now - again >= .milliseconds(50))
    }

    @Test func cancellingAWaitEndsIt() async {
        let bell = Doorbell()
        let waiting = Task { await bell.wait() }
        try? await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        await waiting.value  // would hang if cancellation did not end the wait
        // Cancelled before it even waited: returns at once.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await bell.wait()
        }
        await early.value
    }

    @Test func manyRingsAndWaitsRaceWithoutALostWakeUp() async {
        let bell = Doorbell()
        let produced = Counter()
        let consumed = Counter()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // The consumer sees every increment eventually, waking only on rings.
                while consumed.value.load(ordering: .relaxed) < 10_000 {
                    await bell.wait()
                    consumed.value.store(produced.value.load(ordering: .relaxed), ordering: .relaxed)
                }
            }
            group.addTask {
                for _ in 0..<10_000 {
                    produced.value.add(1, ordering: .relaxed)
                    bell.ring()
                    if Bool.random() { await Task.yield() }
                }
            }
        }
        #expect(consumed.value.load(ordering: .relaxed) == 10_000)
    }
}

/// A shared atomic count for the tests' tasks.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
