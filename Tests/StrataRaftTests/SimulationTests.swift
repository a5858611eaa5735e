import Foundation
import Testing
@testable import StrataRaft

/// Randomized deterministic simulation of the Raft core under faults.
///
/// Run more seeds:   STRATA_RAFT_SEEDS=100000 swift test -c release --filter SimulationTests
/// Replay one seed:  STRATA_RAFT_SEED=1234 swift test --filter SimulationTests
@Suite struct SimulationTests {
    static var seeds: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let one = environment["STRATA_RAFT_SEED"].flatMap(UInt64.init) { return [one] }
        let count = environment["STRATA_RAFT_SEEDS"].flatMap(Int.init) ?? 2000
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

    /// Runs the seeds one after another, yielding between them: the simulation is CPU-bound, and
    /// tests run in parallel on a small cooperative pool, so holding a thread for the whole run
    /// would starve the process tests' RPC deadlines.
    func runSeeds(_ seeds: [UInt64], settings: Simulation.Settings) async throws {
        var leaders = 0
        var commits = 0
        for seed in seeds {
            await Task.yield()
            var simulation = Simulation(seed: seed, settings: settings)
            do {
                try simulation.run()
            } catch {
                Issue.record("\(error)\nreplay: STRATA_RAFT_SEED=\(seed) swift test --filter SimulationTests")
                return
            }
            leaders += simulation.leaderOfTerm.count
            commits += simulation.canonical.count
        }
        // The runs must actually elect and commit, or the checks above prove nothing.
        if seeds.count >= 100 {
            #expect(leaders >= seeds.count)
            #expect(commits >= seeds.count * 10)
        }
    }
}
