import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import StrataClient
import StrataCore
import StrataTesting
import StrataWire
import Testing

/// The web UI in a real browser (Debian's headless Chromium), the JSON API and /metrics, on a
/// 3-master cluster with a worker.
@Suite struct WebUITests {
    static func get(_ url: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    static func json(_ url: String) async throws -> [String: Any] {
        let (status, body) = try await get(url)
        guard status == 200, let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw HarnessError("GET \(url): \(status) \(body)")
        }
        return object
    }

    /// Runs headless Chromium: `--dump-dom` prints the rendered page.
    static func chromium(_ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"] + arguments
        let output = NSTemporaryDirectory() + "chromium-\(UInt32.random(in: 0...UInt32.max)).out"
        FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try process.run()
        try handle.close()
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        defer { try? FileManager.default.removeItem(atPath: output) }
        return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    }

    @Test func overviewAndBrowseRenderInChromium() async throws {
        try await ProcessHarness.with("web-ui") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3)
            for member in cluster.members { try await cluster.start(member, in: harness) }
            let leader = try await cluster.leader()
            let standby = cluster.members.first { $0.name != leader.name }!
            let worker = try await WorkerNode.prepare(harness, cluster: cluster)
            try await worker.start(in: harness)
            let client = try MasterHATests.client(cluster)
            try await DataPathTests.waitForWorkers(client, count: 1)
            try await DataPathTests.write(client, "/web/data.bin", DataPathTests.bytes(3_000_000, seed: 7), .mustCache)
            _ = try await client.createDirectory("/web/empty-dir")
            let leaderWeb = "http://127.0.0.1:\(leader.web)"

            // The JSON API.
            let overview = try await Self.json(leaderWeb + "/api/v1/overview")
            #expect(overview["role"] as? String == "LEADER")
            #expect(overview["clusterId"] as? String == cluster.clusterID)
            #expect(overview["liveWorkers"] as? Int == 1)
            #expect((overview["masters"] as? [Any])?.count == 3)
            let listing = try await Self.json(leaderWeb + "/api/v1/browse?path=/web")
            let entries = listing["entries"] as? [[String: Any]] ?? []
            let file = entries.first { $0["name"] as? String == "data.bin" }
            #expect(file?["cachedBytes"] as? Int == 3_000_000 && file?["inMemoryBytes"] as? Int == 3_000_000, "\(listing)")
            let (missing, _) = try await Self.get(leaderWeb + "/api/v1/browse?path=/nope")
            #expect(missing == 404)
            let workerOverview = try await Self.json("http://127.0.0.1:\(worker.web)/api/v1/overview")
            #expect(workerOverview["blocks"] as? Int == 3)
            #expect((workerOverview["leader"] as? String) == leader.rpc.description)

            // Prometheus text.
            let (_, metrics) = try await Self.get(leaderWeb + "/metrics")
            #expect(metrics.contains("strata_rpc_requests_total{") && metrics.contains("strata_journal_applied_index"), "\(metrics.prefix(2000))")
            #expect(metrics.contains("strata_journal_leader 1"))
            let (_, workerMetrics) = try await Self.get("http://127.0.0.1:\(worker.web)/metrics")
            #expect(workerMetrics.contains("strata_worker_capacity_bytes{tier=\"MEM\"}"), "\(workerMetrics.prefix(2000))")

            // The pages, rendered by a browser.
            let rendered = try await Self.chromium(["--dump-dom", leaderWeb + "/"])
            #expect(rendered.contains("Strata master") && rendered.contains(cluster.clusterID) && rendered.contains(">LEADER<"), "\(rendered.prefix(3000))")
            #expect(rendered.contains("256.00MB"), "capacity on the Overview")
            let browse = try await Self.chromium(["--dump-dom", leaderWeb + "/browse?path=/web"])
            #expect(browse.contains("data.bin") && browse.contains("2.86MB") && browse.contains("100%") && browse.contains("NOT_PERSISTED"), "\(browse.prefix(3000))")
            #expect(browse.contains("empty-dir/"))
            let standbyPage = try await Self.chromium(["--dump-dom", "http://127.0.0.1:\(standby.web)/"])
            #expect(standbyPage.contains(">STANDBY<") && standbyPage.contains("href=\"http://127.0.0.1:\(leader.web)/\""), "\(standbyPage.prefix(3000))")
            for page in ["/workers", "/masters", "/configuration", "/metrics/view"] {
                let html = try await Self.chromium(["--dump-dom", leaderWeb + page])
                #expect(html.contains("class=\"current\""), "\(page)")
            }
            #expect(try await Self.chromium(["--dump-dom", "http://127.0.0.1:\(worker.web)/blocks"]).contains("MEM: 3 blocks"))
            let screenshot = harness.directory + "/overview.png"
            _ = try await Self.chromium(["--screenshot=\(screenshot)", "--window-size=1200,760", leaderWeb + "/browse?path=/web"])
            let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
            #expect(png.count > 10_000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
            if let keep = ProcessInfo.processInfo.environment["STRATA_SCREENSHOT"] { try png.write(to: URL(fileURLWithPath: keep)) }
            await client.close()
        }
    }
}
