/// Decides whether a concurrent history of operations is linearizable with respect to a
/// sequential model: whether every operation can be given a single point in time, between its
/// invocation and its response, such that the model, stepping through the operations in that
/// order, produces exactly the responses the clients saw.
///
/// The algorithm is Wing and Gong's depth-first search over the history's call/return entries,
/// with Lowe's memoization of (operations linearized so far, model state) pairs, and Porcupine's
/// per-partition split (a history of independent keys is checked key by key, which turns one
/// exponential search into several small ones). It is a pure function of its input: no clocks,
/// no I/O; its work is bounded by `stepsMax`, past which the verdict is `.unknown`.
public struct LinearizabilityChecker<M: LinearizabilityModel>: Sendable {
    public let model: M
    /// Most search steps (an operation tried at a point) over all partitions before giving up.
    public let stepsMax: Int

    public init(model: M, stepsMax: Int = 50_000_000) {
        precondition(stepsMax > 0, "stepsMax must be positive, got \(stepsMax)")
        self.model = model
        self.stepsMax = stepsMax
    }

    /// Checks `history`. Failed operations (known not to have taken effect) are left out; an
    /// operation whose outcome is unknown may take effect at any point after its invocation, or
    /// never.
    public func check(_ history: [Operation<M.Input, M.Output>]) -> LinearizabilityVerdict {
        for operation in history {
            if case .completed = operation.outcome {
                precondition(operation.invocation <= operation.response,
                             "operation \(operation.id) responds at \(operation.response) before its invocation at \(operation.invocation)")
            }
        }
        let taking = history.filter { if case .failed = $0.outcome { false } else { true } }
        var steps = 0
        let partitions = model.partition(taking)
        for (number, partition) in partitions.enumerated() {
            switch search(partition, steps: &steps) {
            case .linearizable:
                continue
            case .notLinearizable(let longest):
                return .notLinearizable(LinearizabilityViolation(
                    partition: number, operations: partition.map(\.id).sorted(), longestLinearizedPrefix: longest))
            case .budgetExhausted:
                return .unknown("gave up after \(steps) steps (stepsMax \(stepsMax)) in partition \(number) of \(partitions.count), \(partition.count) operations")
            }
        }
        return .linearizable(partitions: partitions.count, operations: taking.count, steps: steps)
    }

    private enum PartitionResult {
        case linearizable
        case notLinearizable(longest: [Int])
        case budgetExhausted
    }

    /// One partition: the entries form a doubly linked list (indices, no references); linearizing
    /// an operation lifts its call and return out of the list, backtracking puts them back.
    private func search(_ operations: [Operation<M.Input, M.Output>], steps: inout Int) -> PartitionResult {
        guard !operations.isEmpty else { return .linearizable }
        let entries = Entries(operations)
        var list = EntryList(count: 2 * operations.count)
        var linearized = BitSet(count: operations.count)
        var seen = Set<Memo>()
        var state = model.initialState
        // The call entries linearized, with the state before each.
        var stack: [(call: Int, state: M.State)] = []
        var longest: [Int] = []
        var entry = list.next[list.head]

        while list.next[list.head] != Entries.end {
            steps += 1
            if steps > stepsMax { return .budgetExhausted }
            let current = entry
            if entries.isCall[current] {
                let operation = operations[entries.operation[current]]
                let output: M.Output? = if case .completed(let output) = operation.outcome { output } else { nil }
                if let next = model.step(state, operation.input, output) {
                    var marked = linearized
                    marked.insert(entries.operation[current])
                    if seen.insert(Memo(linearized: marked, state: next)).inserted {
                        stack.append((current, state))
                        state = next
                        linearized = marked
                        list.lift(current, returnEntry: entries.match[current])
                        if stack.count > longest.count { longest = stack.map { operations[entries.operation[$0.call]].id } }
                        entry = list.next[list.head]
                        continue
                    }
                }
                entry = list.next[current]
            } else {
                // A return whose call is not linearized: something before it must move.
                guard let (call, previous) = stack.popLast() else { return .notLinearizable(longest: longest) }
                state = previous
                linearized.remove(entries.operation[call])
                list.unlift(call, returnEntry: entries.match[call])
                entry = list.next[call]
            }
        }
        return .linearizable
    }

    private struct Memo: Hashable {
        let linearized: BitSet
        let state: M.State
    }
}

/// The verdict on a history.
public enum LinearizabilityVerdict: Sendable, Equatable, CustomStringConvertible {
    case linearizable(partitions: Int, operations: Int, steps: Int)
    case notLinearizable(LinearizabilityViolation)
    /// The search ran out of its step budget: neither proven nor refuted.
    case unknown(String)

    public var isLinearizable: Bool { if case .linearizable = self { true } else { false } }

    public var description: String {
        switch self {
        case .linearizable(let partitions, let operations, let steps):
            "linearizable (\(operations) operations in \(partitions) partitions, \(steps) steps)"
        case .notLinearizable(let violation):
            "NOT linearizable: partition \(violation.partition) (operations \(violation.operations)) has no valid order; the longest order found covers \(violation.longestLinearizedPrefix)"
        case .unknown(let reason):
            "unknown: \(reason)"
        }
    }
}

/// Where a history failed: the partition with no valid order and how far the search got.
public struct LinearizabilityViolation: Sendable, Equatable {
    public let partition: Int
    /// The ids of the partition's operations.
    public let operations: [Int]
    /// The ids of the longest sequence of operations the search could linearize, in order.
    public let longestLinearizedPrefix: [Int]
}

/// The call and return entries of a partition, ordered by time, at indices 1…2n (0 is the list's
/// head sentinel); `end` marks the end of an `EntryList` over them.
struct Entries {
    static let end = -1
    /// Per entry (index 1…2n): its operation's position, whether it is a call, and its partner.
    var operation: [Int] = [0]
    var isCall: [Bool] = [false]
    var match: [Int] = [0]

    init<Input, Output>(_ operations: [Operation<Input, Output>]) {
        // Calls before returns at equal times: touching operations count as concurrent.
        var events: [(time: UInt64, isCall: Bool, operation: Int)] = []
        for (position, operation) in operations.enumerated() {
            events.append((operation.invocation, true, position))
            let response: UInt64 = if case .completed = operation.outcome { operation.response } else { .max }
            events.append((response, false, position))
        }
        events.sort { left, right in
            if left.time != right.time { return left.time < right.time }
            if left.isCall != right.isCall { return left.isCall }
            return left.operation < right.operation
        }
        var callIndex = [Int](repeating: 0, count: operations.count)
        match = [Int](repeating: 0, count: events.count + 1)
        for (offset, event) in events.enumerated() {
            let index = offset + 1
            operation.append(event.operation)
            isCall.append(event.isCall)
            if event.isCall {
                callIndex[event.operation] = index
            } else {
                match[index] = callIndex[event.operation]
                match[callIndex[event.operation]] = index
            }
        }
    }
}

/// A doubly linked list of entry indices 0…count (0 the head), with O(1) lift and unlift.
struct EntryList {
    let head = 0
    var next: [Int]
    var previous: [Int]

    init(count: Int) {
        next = (0...count).map { $0 == count ? Entries.end : $0 + 1 }
        previous = (0...count).map { $0 - 1 }
    }

    /// Removes a call and its return (the return comes later in the list).
    mutating func lift(_ call: Int, returnEntry: Int) {
        remove(call)
        remove(returnEntry)
    }

    /// Puts back what `lift` removed, in reverse order, so the neighbours are as they were.
    mutating func unlift(_ call: Int, returnEntry: Int) {
        restore(returnEntry)
        restore(call)
    }

    private mutating func remove(_ index: Int) {
        next[previous[index]] = next[index]
        if next[index] != Entries.end { previous[next[index]] = previous[index] }
    }

    private mutating func restore(_ index: Int) {
        next[previous[index]] = index
        if next[index] != Entries.end { previous[next[index]] = index }
    }
}

/// A fixed-size set of small integers.
struct BitSet: Hashable, Sendable {
    private var words: [UInt64]

    init(count: Int) { words = [UInt64](repeating: 0, count: (count + 63) / 64) }

    mutating func insert(_ member: Int) { words[member / 64] |= 1 << UInt64(member % 64) }
    mutating func remove(_ member: Int) { words[member / 64] &= ~(1 << UInt64(member % 64)) }
}
