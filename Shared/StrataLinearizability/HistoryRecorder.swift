import Synchronization

/// Records a concurrent history as clients run it: `invoke` just before a request is sent,
/// then exactly one of `complete`, `fail` or `unknown` once its fate is known. Every event gets
/// the next number of one shared sequence, so the numbers respect real-time order across
/// clients and threads. A mutation retried with the same operation id is one operation: record
/// it once, around all of its attempts.
public final class HistoryRecorder<Input: Sendable, Output: Sendable>: Sendable {
    private struct Pending: Sendable {
        let client: Int
        let input: Input
        let invocation: UInt64
    }

    private struct State: Sendable {
        var clock: UInt64 = 0
        var nextID = 0
        var pending: [Int: Pending] = [:]
        var done: [Operation<Input, Output>] = []
    }

    private let state = Mutex(State())
    /// Most operations recorded; one more is a programmer error (a campaign must be bounded).
    public let operationsMax: Int

    public init(operationsMax: Int = 1_000_000) {
        self.operationsMax = operationsMax
    }

    /// Records an invocation; returns the operation's id for its outcome.
    public func invoke(client: Int, _ input: Input) -> Int {
        state.withLock { state in
            precondition(state.nextID < operationsMax, "history holds \(operationsMax) operations, its bound")
            state.clock += 1
            let id = state.nextID
            state.nextID += 1
            state.pending[id] = Pending(client: client, input: input, invocation: state.clock)
            return id
        }
    }

    public func complete(_ id: Int, _ output: Output) { finish(id, .completed(output)) }
    public func fail(_ id: Int) { finish(id, .failed) }
    public func unknown(_ id: Int) { finish(id, .unknown) }

    private func finish(_ id: Int, _ outcome: Operation<Input, Output>.Outcome) {
        state.withLock { state in
            guard let pending = state.pending.removeValue(forKey: id) else {
                preconditionFailure("operation \(id) finished twice or was never invoked")
            }
            state.clock += 1
            state.done.append(Operation(id: id, client: pending.client, input: pending.input, outcome: outcome,
                                        invocation: pending.invocation, response: state.clock))
        }
    }

    /// The history so far; operations still pending count as unknown (a client that never heard back).
    public func history() -> [Operation<Input, Output>] {
        state.withLock { state in
            state.done + state.pending.map { id, pending in
                Operation(id: id, client: pending.client, input: pending.input, outcome: .unknown,
                          invocation: pending.invocation, response: .max)
            }
        }.sorted { $0.id < $1.id }
    }
}
