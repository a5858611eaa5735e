import Foundation
import StrataClient
import StrataCore
import StrataTesting
import StrataWire
import Testing

/// Workers and the data path with real processes: every read × write combination, read-through,
/// persistence, free, eviction, restarts and a lost worker.
@Suite struct DataPathTests {
    static func cli(_ harness: ProcessHarness, _ properties: [String: String], _ arguments: [String]) async throws -> (Int32, String) {
        let process = try harness.start("strata", name: "cli-\(UInt32.random(in: 0...UInt32.max))", properties: properties, arguments: arguments)
        let status = try await process.waitForExit(timeout: .seconds(180))
        return (status, process.log())
    }

    /// Waits until the leader lists `count` live workers.
    static func waitForWorkers(_ client: FileSystemClient, count: Int) async throws {
        for _ in 0..<200 {
            if (try? await client.workers().filter { $0.state == "LIVE" }.count) == count { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("\(count) live workers did not appear")
    }

    @Test func runTestsPassesEveryCombination() async throws {
        try await ProcessHarness.with("data-runtests") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1)
            try await cluster.start(cluster.members[0], in: harness)
            let worker = try await WorkerNode.prepare(harness, cluster: cluster)
            try await worker.start(in: harness)
            let client = try MasterHATests.client(cluster)
            try await Self.waitForWorkers(client, count: 1)
            let (status, output) = try await Self.cli(harness, cluster.clientProperties, ["runTests"])
            #expect(status == 0, "\(output)")
            #expect(output.components(separatedBy: "Passed the test!").count - 1 == 24, "\(output)")
            // THROUGH and CACHE_THROUGH files are in the under-storage folder, byte for byte.
            let through = try Data(contentsOf: URL(fileURLWithPath: cluster.underStorage + "/default_tests_files/BASIC_THROUGH_NO_CACHE"))
            #expect(through.count == 5 << 19)
            await client.close()
        }
    }
}
