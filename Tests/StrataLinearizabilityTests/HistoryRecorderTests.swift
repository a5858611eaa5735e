import StrataLinearizability
import Testing

/// The recorder's numbers respect real-time order, every outcome is kept, and an operation
/// still pending when the history is taken counts as unknown.
@Suite struct HistoryRecorderTests {
    @Test func eventsAreOrderedAndOutcomesKept() {
        let recorder = HistoryRecorder<RegisterModel.Input, RegisterModel.Output>()
        let write = recorder.invoke(client: 0, .write(key: "x", value: 1))
        recorder.complete(write, .ok)
        let read = recorder.invoke(client: 1, .read(key: "x"))
        let lost = recorder.invoke(client: 2, .write(key: "x", value: 2))
        recorder.complete(read, .value(1))
        let refused = recorder.invoke(client: 3, .write(key: "x", value: 3))
        recorder.fail(refused)
        let hung = recorder.invoke(client: 4, .read(key: "x"))
        recorder.unknown(lost)

        let history = recorder.history()
        #expect(history.map(\.id) == [write, read, lost, refused, hung])
        #expect(history[0].response < history[1].invocation, "a completed write must precede a later read")
        #expect(history[1].invocation < history[2].invocation)
        if case .unknown = history[2].outcome {} else { Issue.record("the lost write should be unknown") }
        if case .failed = history[3].outcome {} else { Issue.record("the refused write should be failed") }
        if case .unknown = history[4].outcome {} else { Issue.record("a pending read counts as unknown") }
        #expect(LinearizabilityChecker(model: RegisterModel()).check(history).isLinearizable)
    }

    @Test func concurrentClientsRecordAConsistentHistory() async {
        let recorder = HistoryRecorder<RegisterModel.Input, RegisterModel.Output>()
        // Each client writes its own key and reads it back: always linearizable.
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<8 {
                group.addTask {
                    for value in 0..<50 {
                        let key = "k\(client)"
                        let write = recorder.invoke(client: client, .write(key: key, value: value))
                        recorder.complete(write, .ok)
                        let read = recorder.invoke(client: client, .read(key: key))
                        recorder.complete(read, .value(value))
                    }
                }
            }
        }
        let history = recorder.history()
        #expect(history.count == 800)
        #expect(Set(history.flatMap { [$0.invocation, $0.response] }).count == 1600, "every event has its own number")
        let verdict = LinearizabilityChecker(model: RegisterModel()).check(history)
        guard case .linearizable(let partitions, _, _) = verdict else { Issue.record("\(verdict)"); return }
        #expect(partitions == 8)
    }
}
