import StrataCore
import Synchronization
import Testing

/// Background work owned by a service: tracked while it runs, cancelled and waited for at
/// shutdown, refused afterwards.
@Suite struct OwnedTasksTests {
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    @Test func finishedTasksLeaveAndShutdownEndsTheRest() async throws {
        let tasks = OwnedTasks()
        let ended = Counter()
        for _ in 0..<10 { #expect(tasks.spawn { ended.value.add(1, ordering: .relaxed) }) }
        // Tasks that finish remove themselves.
        for _ in 0..<200 where tasks.count > 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(tasks.count == 0)
        #expect(ended.value.load(ordering: .relaxed) == 10)

        // Long work: cancelled by shutdown, which returns only once every task has ended.
        for _ in 0..<5 {
            tasks.spawn {
                try? await Task.sleep(for: .seconds(60))
                ended.value.add(1, ordering: .relaxed)
            }
        }
        #expect(tasks.count == 5)
        let started = ContinuousClock.now
        await tasks.shutdown()
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(ended.value.load(ordering: .relaxed) == 15)
        #expect(tasks.count == 0)

        // Nothing starts once shut down.
        #expect(!tasks.spawn { ended.value.add(1, ordering: .relaxed) })
        try await Task.sleep(for: .milliseconds(20))
        #expect(ended.value.load(ordering: .relaxed) == 15)
    }
}
