import StrataLinearizability
import StrataRaft
import Testing

/// The checker against histories whose verdict is known: textbook linearizable and
/// non-linearizable register histories, unknown and failed outcomes, partitions, the namespace
/// model, the step bound, and seeded random histories made linearizable by construction.
@Suite struct LinearizabilityCheckerTests {
    typealias Register = RegisterModel
    typealias RegisterOperation = Operation<Register.Input, Register.Output>

    static func op(_ id: Int, _ input: Register.Input, _ output: Register.Output?, _ invocation: UInt64, _ response: UInt64,
                   client: Int = 0) -> RegisterOperation {
        Operation(id: id, client: client, input: input, outcome: output.map { .completed($0) } ?? .unknown,
                  invocation: invocation, response: response)
    }

    static func check(_ history: [RegisterOperation]) -> LinearizabilityVerdict {
        LinearizabilityChecker(model: RegisterModel()).check(history)
    }

    @Test func sequentialHistoriesFollowTheModel() {
        #expect(Self.check([Self.op(0, .write(key: "x", value: 1), .ok, 1, 2), Self.op(1, .read(key: "x"), .value(1), 3, 4)]).isLinearizable)
        #expect(Self.check([Self.op(0, .read(key: "x"), .value(nil), 1, 2)]).isLinearizable)
        #expect(Self.check([]).isLinearizable)
    }

    @Test func aStaleReadAfterACompletedWriteIsNotLinearizable() {
        let verdict = Self.check([Self.op(0, .write(key: "x", value: 1), .ok, 1, 2), Self.op(1, .read(key: "x"), .value(nil), 3, 4)])
        guard case .notLinearizable(let violation) = verdict else { Issue.record("\(verdict)"); return }
        #expect(violation.operations == [0, 1])
        #expect(violation.longestLinearizedPrefix == [0])
    }

    @Test func aReadConcurrentWithAWriteMaySeeEitherValue() {
        for seen in [nil, 1] as [Int?] {
            #expect(Self.check([Self.op(0, .write(key: "x", value: 1), .ok, 1, 4), Self.op(1, .read(key: "x"), .value(seen), 2, 3, client: 1)]).isLinearizable)
        }
        // Touching intervals (response and invocation at one tick) count as concurrent.
        #expect(Self.check([Self.op(0, .write(key: "x", value: 1), .ok, 1, 3), Self.op(1, .read(key: "x"), .value(nil), 3, 4, client: 1)]).isLinearizable)
    }

    @Test func aNewOldInversionIsNotLinearizable() {
        // Both reads overlap the write, but once one saw 1 a later one cannot see the old value.
        let history = [Self.op(0, .write(key: "x", value: 1), .ok, 1, 10),
                       Self.op(1, .read(key: "x"), .value(1), 2, 3, client: 1),
                       Self.op(2, .read(key: "x"), .value(nil), 4, 5, client: 2)]
        #expect(!Self.check(history).isLinearizable)
        // The other way round is fine.
        let fine = [Self.op(0, .write(key: "x", value: 1), .ok, 1, 10),
                    Self.op(1, .read(key: "x"), .value(nil), 2, 3, client: 1),
                    Self.op(2, .read(key: "x"), .value(1), 4, 5, client: 2)]
        #expect(Self.check(fine).isLinearizable)
    }

    @Test func anUnknownOutcomeMayTakeEffectLateOrNever() {
        let unknownWrite = Self.op(0, .write(key: "x", value: 1), nil, 1, 0)
        // Never took effect…
        #expect(Self.check([unknownWrite, Self.op(1, .read(key: "x"), .value(nil), 5, 6, client: 1)]).isLinearizable)
        // …or long after its client gave up…
        #expect(Self.check([unknownWrite, Self.op(1, .read(key: "x"), .value(nil), 5, 6, client: 1),
                            Self.op(2, .read(key: "x"), .value(1), 7, 8, client: 1)]).isLinearizable)
        // …but once seen it stays.
        #expect(!Self.check([unknownWrite, Self.op(1, .read(key: "x"), .value(1), 5, 6, client: 1),
                             Self.op(2, .read(key: "x"), .value(nil), 7, 8, client: 1)]).isLinearizable)
        // Not before it was invoked.
        #expect(!Self.check([Self.op(1, .read(key: "x"), .value(1), 1, 2, client: 1), Self.op(0, .write(key: "x", value: 1), nil, 5, 0)]).isLinearizable)
    }

    @Test func aFailedOperationNeverTookEffect() {
        let failed = RegisterOperation(id: 0, client: 0, input: .write(key: "x", value: 1), outcome: .failed, invocation: 1, response: 2)
        #expect(!Self.check([failed, Self.op(1, .read(key: "x"), .value(1), 3, 4)]).isLinearizable)
        #expect(Self.check([failed, Self.op(1, .read(key: "x"), .value(nil), 3, 4)]).isLinearizable)
    }

    @Test func twoCompareAndSetsCannotBothWin() {
        let history = [Self.op(0, .compareAndSet(key: "x", expected: nil, new: 1), .swapped(true), 1, 4),
                       Self.op(1, .compareAndSet(key: "x", expected: nil, new: 2), .swapped(true), 2, 3, client: 1)]
        #expect(!Self.check(history).isLinearizable)
        let oneWins = [Self.op(0, .compareAndSet(key: "x", expected: nil, new: 1), .swapped(true), 1, 4),
                       Self.op(1, .compareAndSet(key: "x", expected: nil, new: 2), .swapped(false), 2, 3, client: 1),
                       Self.op(2, .read(key: "x"), .value(1), 5, 6)]
        #expect(Self.check(oneWins).isLinearizable)
    }

    @Test func keysAreCheckedApartAndTheFailingOneIsNamed() {
        let history = [Self.op(0, .write(key: "a", value: 1), .ok, 1, 2), Self.op(1, .read(key: "a"), .value(1), 3, 4),
                       Self.op(2, .write(key: "b", value: 7), .ok, 1, 2), Self.op(3, .read(key: "b"), .value(8), 3, 4)]
        let verdict = Self.check(history)
        guard case .notLinearizable(let violation) = verdict else { Issue.record("\(verdict)"); return }
        #expect(violation.partition == 1 && violation.operations == [2, 3], "\(verdict)")
        guard case .linearizable(let partitions, _, _) = Self.check(Array(history.prefix(3))) else { Issue.record("expected linearizable"); return }
        #expect(partitions == 2)
    }

    @Test func theStepBoundGivesUnknownNotAVerdict() {
        // Twelve concurrent unknown writes and a read of a value nobody wrote: a large search.
        var history = (0..<12).map { Self.op($0, .write(key: "x", value: $0), nil, UInt64($0), 0, client: $0) }
        history.append(Self.op(12, .read(key: "x"), .value(99), 20, 21, client: 12))
        let verdict = LinearizabilityChecker(model: RegisterModel(), stepsMax: 100).check(history)
        guard case .unknown(let reason) = verdict else { Issue.record("\(verdict)"); return }
        #expect(reason.contains("stepsMax 100"))
        #expect(!LinearizabilityChecker(model: RegisterModel()).check(history).isLinearizable)
    }

    // MARK: The namespace model

    typealias Namespace = NamespaceModel
    static func nop(_ id: Int, _ input: Namespace.Input, _ output: Namespace.Output?, _ invocation: UInt64, _ response: UInt64, client: Int = 0)
        -> Operation<Namespace.Input, Namespace.Output> {
        Operation(id: id, client: client, input: input, outcome: output.map { .completed($0) } ?? .unknown, invocation: invocation, response: response)
    }

    /// Jobs: states only move forward, a final state stays, a submitted job never vanishes.
    @Test func jobHistories() {
        typealias Job = JobModel
        func op(_ id: Int, _ input: Job.Input, _ output: Job.Output?, _ invocation: UInt64, _ response: UInt64, client: Int = 0)
            -> Operation<Job.Input, Job.Output> {
            Operation(id: id, client: client, input: input, outcome: output.map { .completed($0) } ?? .unknown,
                      invocation: invocation, response: response)
        }
        let checker = LinearizabilityChecker(model: JobModel())
        // CREATED, RUNNING, COMPLETED, COMPLETED: fine; a read before the submit may miss it.
        #expect(checker.check([op(0, .status(7), .notFound, 1, 2), op(1, .submit(tag: 1), .submitted(7), 3, 4),
                               op(2, .status(7), .state(1), 5, 6), op(3, .status(7), .state(2), 7, 8),
                               op(4, .status(7), .state(3), 9, 10), op(5, .status(7), .state(3), 11, 12)]).isLinearizable)
        // Concurrent reads may see RUNNING and CREATED in either order only if they overlap.
        #expect(checker.check([op(0, .submit(tag: 1), .submitted(7), 1, 2), op(1, .status(7), .state(2), 3, 6),
                               op(2, .status(7), .state(1), 4, 5, client: 1)]).isLinearizable)
        // A state going back (a new leader with an older job table) is not.
        let back = checker.check([op(0, .submit(tag: 1), .submitted(7), 1, 2), op(1, .status(7), .state(2), 3, 4),
                                  op(2, .status(7), .state(1), 5, 6)])
        #expect(!back.isLinearizable, "\(back)")
        // Nor a final state changing, nor an acknowledged submit vanishing.
        #expect(!checker.check([op(0, .submit(tag: 1), .submitted(7), 1, 2), op(1, .status(7), .state(4), 3, 4),
                                op(2, .status(7), .state(3), 5, 6)]).isLinearizable)
        #expect(!checker.check([op(0, .submit(tag: 1), .submitted(7), 1, 2), op(1, .status(7), .notFound, 3, 4)]).isLinearizable)
        // Two submits answered with one id: one job was handed out twice.
        #expect(!checker.check([op(0, .submit(tag: 1), .submitted(7), 1, 2), op(1, .submit(tag: 2), .submitted(7), 3, 4, client: 1)]).isLinearizable)
        // A submit with no answer constrains nothing.
        #expect(checker.check([op(0, .submit(tag: 1), nil, 1, 0), op(1, .status(8), .notFound, 3, 4)]).isLinearizable)
    }

    @Test func namespaceHistories() {
        let checker = LinearizabilityChecker(model: NamespaceModel())
        // Two concurrent creates of one path cannot both succeed.
        #expect(!checker.check([Self.nop(0, .create("/a/f"), .ok, 1, 4), Self.nop(1, .create("/a/f"), .ok, 2, 3, client: 1)]).isLinearizable)
        #expect(checker.check([Self.nop(0, .create("/a/f"), .ok, 1, 4), Self.nop(1, .create("/a/f"), .alreadyExists, 2, 3, client: 1)]).isLinearizable)
        // A rename moves a file between top-level directories: one partition, and the listing follows.
        let moved = [Self.nop(0, .create("/a/f"), .ok, 1, 2), Self.nop(1, .rename("/a/f", "/b/g"), .ok, 3, 4),
                     Self.nop(2, .list("/b"), .listing(["g"]), 5, 6), Self.nop(3, .getStatus("/a/f"), .notFound, 5, 6, client: 1),
                     Self.nop(4, .create("/c/h"), .ok, 1, 2, client: 2)]
        guard case .linearizable(let partitions, _, _) = checker.check(moved) else { Issue.record("\(checker.check(moved))"); return }
        #expect(partitions == 2)
        // Names at the root are listed by a listing of "/" (one partition for all).
        #expect(checker.check([Self.nop(0, .create("/a"), .ok, 1, 2), Self.nop(1, .create("/b/f"), .ok, 1, 2, client: 1),
                               Self.nop(2, .list("/"), .listing(["a"]), 3, 4)]).isLinearizable)
        #expect(!checker.check([Self.nop(0, .create("/a"), .ok, 1, 2), Self.nop(1, .list("/"), .listing([]), 3, 4)]).isLinearizable)
        // A listing that misses a file created before it began is stale.
        #expect(!checker.check([Self.nop(0, .create("/a/f"), .ok, 1, 2), Self.nop(1, .list("/a"), .listing([]), 3, 4)]).isLinearizable)
        // A retried create whose first attempt's answer was lost: one operation, unknown, then found.
        #expect(checker.check([Self.nop(0, .create("/a/f"), nil, 1, 0), Self.nop(1, .getStatus("/a/f"), .exists, 5, 6, client: 1),
                               Self.nop(2, .delete("/a/f"), .ok, 7, 8, client: 1)]).isLinearizable)
    }

    // MARK: Random histories, linearizable by construction

    /// Clients run operations against a real register; each takes effect at a random point inside
    /// its interval, so the history is linearizable. Corrupting one read to a value never written
    /// must then be caught.
    @Test(arguments: 0..<40) func randomHistoriesAreJudgedRight(seed: UInt64) {
        var random = SplitMix64(seed: seed &+ 1)
        let keys = ["a", "b", "c"]
        var values: [String: Int] = [:]
        var history: [RegisterOperation] = []
        var time: UInt64 = 0
        // Points at which operations take effect, in order; each op's interval encloses its point.
        for id in 0..<60 {
            time += 1 + random.next() % 3
            let key = keys[Int(random.next() % 3)]
            let point = time
            let invocation = point - min(point - 1, random.next() % 4)
            let response = point + random.next() % 4
            let roll = random.next() % 10
            let input: Register.Input
            let output: Register.Output
            if roll < 4 {
                let value = Int(random.next() % 5)
                input = .write(key: key, value: value); values[key] = value; output = .ok
            } else if roll < 8 {
                input = .read(key: key); output = .value(values[key])
            } else {
                let expected: Int? = random.next() % 2 == 0 ? values[key] : 42
                let new = Int(random.next() % 5)
                input = .compareAndSet(key: key, expected: expected, new: new)
                let swapped = values[key] == expected
                if swapped { values[key] = new }
                output = .swapped(swapped)
            }
            let unknown = random.next() % 15 == 0 && roll < 4
            history.append(Self.op(id, input, unknown ? nil : output, invocation, unknown ? 0 : response, client: id % 6))
        }
        let verdict = Self.check(history)
        #expect(verdict.isLinearizable, "seed \(seed): \(verdict)")
        guard let read = history.firstIndex(where: { if case .read = $0.input, case .completed = $0.outcome { true } else { false } }) else { return }
        history[read] = Self.op(history[read].id, history[read].input, .value(1_000), history[read].invocation, history[read].response)
        #expect(!Self.check(history).isLinearizable, "seed \(seed): a read of a value never written passed")
    }
}


/// A campaign-sized history: 20,000 operations of 16 clients over 200 keys, with overlapping
/// intervals, is decided well inside the default step bound.
@Suite struct LinearizabilityCheckerScaleTests {
    @Test func aLargeHistoryIsDecided() {
        var random = SplitMix64(seed: 7)
        var values: [String: Int] = [:]
        var history: [Operation<RegisterModel.Input, RegisterModel.Output>] = []
        var time: UInt64 = 10
        for id in 0..<20_000 {
            time += 1
            let key = "k\(random.next() % 200)"
            let invocation = time - random.next() % 8
            let response = time + random.next() % 8
            if random.next() % 2 == 0 {
                let value = Int(random.next() % 1_000)
                values[key] = value
                history.append(Operation(id: id, client: id % 16, input: .write(key: key, value: value), outcome: .completed(.ok),
                                         invocation: invocation, response: response))
            } else {
                history.append(Operation(id: id, client: id % 16, input: .read(key: key), outcome: .completed(.value(values[key])),
                                         invocation: invocation, response: response))
            }
        }
        let verdict = LinearizabilityChecker(model: RegisterModel(), stepsMax: 5_000_000).check(history)
        guard case .linearizable(let partitions, let operations, _) = verdict else { Issue.record("\(verdict)"); return }
        #expect(partitions == 200 && operations == 20_000)
    }
}
