import Foundation
import NIOPosix
import Testing
import StrataRaft
import StrataRaftSimulation

/// Randomized deterministic simulation of the Raft core under faults (`StrataRaftSimulation`).
/// The test suite runs a few hundred seeds in the debug build; CI runs 10,000 more in an optimised
/// build with `strata-raft-sim` (see scripts/raft-sim).
///
/// Run more seeds:   STRATA_RAFT_SEEDS=100000 swift test -c release --filter SimulationTests
///                   (or: bash scripts/raft-sim 1000000)
/// Replay one seed:  STRATA_RAFT_SEED=1234 swift test --filter SimulationTests
@Suite struct SimulationTests {
    static var seeds: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let one = environment["STRATA_RAFT_SEED"].flatMap(UInt64.init) { return [one] }
        let count = environment["STRATA_RAFT_SEEDS"].flatMap(Int.init) ?? 500
        let first = environment["STRATA_RAFT_FIRST_SEED"].flatMap(UInt64.init) ?? 1
        return (0..<UInt64(count)).map { first + $0 }
    }

    @Test func manySeedsThreeMembers() async throws {
        try await runSeeds(Self.seeds, settings: Simulation.Settings())
    }

    @Test func fiveMembersHeavierFaults() async throws {
        var settings = Simulation.Settings()
        settings.members = 5
        settings.lossRate = 0.15
        settings.crashRate = 0.004
        settings.partitionRate = 0.03
        try await runSeeds(Array(Self.seeds.prefix(max(1, Self.seeds.count / 4))), settings: settings)
    }

    @Test func sameSeedSameRun() throws {
        var first = Simulation(seed: 77)
        var second = Simulation(seed: 77)
        try first.run()
        try second.run()
        #expect(first.events == second.events)
        #expect(first.canonical == second.canonical)
        #expect(first.leaderOfTerm == second.leaderOfTerm)
    }
    /// Runs the seeds one after another on a thread of their own (an NIOThreadPool, as the journal
    /// runs its disk work): the simulation is CPU-bound,
    /// and tests run in parallel on a small cooperative pool, so running it there (even yielding
    /// between seeds) starves the process tests' RPC deadlines; the kernel shares the cores fairly.
    func runSeeds(_ seeds: [UInt64], settings: Simulation.Settings) async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let outcome = try await pool.runIfActive { () -> (leaders: Int, commits: Int, stored: Int, failure: String?) in
            var leaders = 0
            var commits = 0
            var stored = 0
            for seed in seeds {
                var simulation = Simulation(seed: seed, settings: settings)
                do {
                    try simulation.run()
                } catch {
                    return (leaders, commits, stored, "\(error)\nreplay: STRATA_RAFT_SEED=\(seed) swift test --filter SimulationTests")
                }
                leaders += simulation.leaderOfTerm.count
                commits += simulation.canonical.count
                stored += simulation.storedReads
            }
            return (leaders, commits, stored, nil)
        }
        try await pool.shutdownGracefully()
        if let failure = outcome.failure {
            Issue.record(Comment(rawValue: failure))
            return
        }
        // The runs must actually elect and commit, or the checks above prove nothing.
        if seeds.count >= 100 {
            #expect(outcome.leaders >= seeds.count)
            #expect(outcome.commits >= seeds.count * 10)
            #expect(outcome.stored >= seeds.count / 3, "seeds with a tiny log cache must read entries back from disk")
        }
    }
}
