import ArgumentParser
import Dispatch
import Foundation
import StrataCore
import StrataRaft
import StrataRaftSimulation
import Synchronization

/// Runs the Raft simulation over many seeds, in parallel, in whatever build it was compiled in (CI
/// builds it optimised). Every seed is checked for election safety, log matching, leader
/// completeness, state-machine safety, no lost acknowledged proposal and liveness after healing.
/// The first violation stops the run and prints the command that replays it.
@main
struct RaftSimulator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata-raft-sim",
        abstract: "Run the Raft simulation over many seeds.",
        discussion: """
            Three-member groups under the default faults take every seed; five-member groups under \
            heavier faults (more loss, crashes and partitions) take every fourth.
            Replay one seed: strata-raft-sim --seed N
            """)

    @Option(help: "How many seeds to run.")
    var seeds = 10_000

    @Option(help: "The first seed.")
    var firstSeed: UInt64 = 1

    @Option(help: "Run this one seed (both settings), printing its trace figures.")
    var seed: UInt64?

    @Flag(help: "With --seed: print the simulation's trace (messages to and from member 3).")
    var trace = false

    @Option(help: "Threads to run seeds on (default: the number of cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Seconds between progress lines.")
    var progressSeconds = 30

    /// The two group shapes every seed range runs under.
    static func settings(fiveMembers: Bool) -> Simulation.Settings {
        var settings = Simulation.Settings()
        if fiveMembers {
            settings.members = 5
            settings.lossRate = 0.15
            settings.crashRate = 0.004
            settings.partitionRate = 0.03
        }
        return settings
    }

    func validate() throws {
        guard seeds > 0 else { throw ValidationError("--seeds must be positive, got \(seeds)") }
        guard threads > 0 else { throw ValidationError("--threads must be positive, got \(threads)") }
        guard progressSeconds > 0 else { throw ValidationError("--progress-seconds must be positive, got \(progressSeconds)") }
    }

    func run() throws {
        let runs: [(seed: UInt64, fiveMembers: Bool)]
        if let seed {
            runs = [(seed, false), (seed, true)]
        } else {
            runs = (0..<UInt64(seeds)).flatMap { offset -> [(seed: UInt64, fiveMembers: Bool)] in
                let seed = firstSeed &+ offset
                return offset % 4 == 0 ? [(seed, false), (seed, true)] : [(seed, false)]
            }
        }
        let started = ContinuousClock.now
        let next = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let totals = Mutex(Totals())
        let failure = Mutex<Simulation.Violation?>(nil)
        let progressEvery = Duration.seconds(progressSeconds)
        let lastProgress = Mutex(started)
        say("strata-raft-sim: \(runs.count) runs (\(seed.map { "seed \($0)" } ?? "seeds \(firstSeed)...\(firstSeed &+ UInt64(seeds) &- 1)")) on \(threads) thread\(threads == 1 ? "" : "s")")
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while failure.withLock({ $0 == nil }) {
                let position = next.add(1, ordering: .relaxed).oldValue
                guard position < runs.count else { return }
                let run = runs[position]
                var simulation = Simulation(seed: run.seed, settings: Self.settings(fiveMembers: run.fiveMembers))
                simulation.trace = trace && seed != nil
                do throws(Simulation.Violation) {
                    try simulation.run()
                } catch {
                    failure.withLock { if $0 == nil || error.seed < $0!.seed { $0 = error } }
                    return
                }
                totals.withLock { $0.add(simulation) }
                let done = finished.add(1, ordering: .relaxed).newValue
                let now = ContinuousClock.now
                let due = lastProgress.withLock { last in
                    guard now - last >= progressEvery else { return false }
                    last = now
                    return true
                }
                if due { say("  \(done) of \(runs.count) runs, \(Self.rate(done, since: started)) runs/s") }
            }
        }
        if let violation = failure.withLock({ $0 }) {
            say("VIOLATION \(violation)")
            say("replay: strata-raft-sim --seed \(violation.seed)   (or STRATA_RAFT_SEED=\(violation.seed) swift test --filter SimulationTests)")
            throw ExitCode(1)
        }
        let total = totals.withLock { $0 }
        let elapsed = ContinuousClock.now - started
        say("strata-raft-sim: \(runs.count) runs passed in \(String(format: "%.1f", elapsed.seconds)) s (\(Self.rate(runs.count, since: started)) runs/s): \(total.leaders) terms led, \(total.commits) entries committed, \(total.events) events, \(total.storedReads) reads from disk")
        // A run that elects nobody and commits nothing proves nothing.
        guard total.leaders >= runs.count, total.commits >= runs.count * 10 else {
            say("FAILED: the runs did not elect and commit enough to prove anything (\(total.leaders) leaders, \(total.commits) commits for \(runs.count) runs)")
            throw ExitCode(1)
        }
    }

    static func rate(_ count: Int, since started: ContinuousClock.Instant) -> Int {
        let seconds = (ContinuousClock.now - started).seconds
        return seconds > 0 ? Int(Double(count) / seconds) : count
    }
}

/// What the runs did, summed: the figures that show the checks had something to check.
struct Totals: Sendable {
    var leaders = 0
    var commits = 0
    var events = 0
    var storedReads = 0

    mutating func add(_ simulation: Simulation) {
        leaders += simulation.leaderOfTerm.count
        commits += simulation.canonical.count
        events += simulation.events
        storedReads += simulation.storedReads
    }
}

/// One line on standard output, written at once (so a log file shows progress as it happens).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
