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
        _ = FileManager.default.createFile(atPath: output, contents: nil)
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

    /// The job master's UI on its web port: Overview with role and quorum, Jobs with progress, one
    /// Job with its tasks, Job workers; JSON under /api/v1; `strata_job_*` metrics; a standby marked
    /// STANDBY and linking to the leader. Job-service-only: three job masters, one job worker.
    @Test func jobMasterPagesRenderInChromium() async throws {
        try await ProcessHarness.with("job-web-ui") { harness in
            let (cluster, _, _) = try await JobServiceTests.jobOnlyCluster(harness, workers: 1)
            let source = harness.directory + "/in"
            _ = try JobServiceTests.writeFiles(source, count: 30, size: 10_000)
            let (status, output) = try await JobServiceTests.cli(harness, cluster.clientProperties,
                                                                 ["job", "copy", "--batch-size", "4", source, harness.directory + "/out"])
            #expect(status == 0, "\(output)")
            // Not on a terminal: progress as plain lines.
            #expect(output.contains("Progress: 30/30 files, 292.97KB/292.97KB, "), "\(output)")
            let leader = try await cluster.leader()
            let standby = cluster.members.first { $0.name != leader.name }!
            let leaderWeb = "http://127.0.0.1:\(leader.web)"

            let overview = try await Self.json(leaderWeb + "/api/v1/overview")
            #expect(overview["role"] as? String == "LEADER" && overview["liveJobWorkers"] as? Int == 1, "\(overview)")
            #expect((overview["jobs"] as? [String: Int])?["COMPLETED"] == 1, "\(overview)")
            let members = overview["members"] as? [[String: Any]] ?? []
            #expect(members.count == 3 && members.filter { $0["role"] as? String == "LEADER" }.count == 1, "\(members)")
            let (_, jobsBody) = try await Self.get(leaderWeb + "/api/v1/jobs")
            let jobs = try JSONSerialization.jsonObject(with: Data(jobsBody.utf8)) as? [[String: Any]] ?? []
            let job = try #require(jobs.first, "\(jobsBody)")
            #expect(job["status"] as? String == "COMPLETED" && job["files"] as? Int == 30 && job["filesDone"] as? Int == 30, "\(job)")
            let id = try #require(job["id"] as? Int)
            let detail = try await Self.json(leaderWeb + "/api/v1/job?id=\(id)")
            let tasks = detail["taskList"] as? [[String: Any]] ?? []
            #expect(tasks.count == 8 && tasks.allSatisfy { $0["status"] as? String == "COMPLETED" }, "\(detail)")
            #expect(try await Self.get(leaderWeb + "/api/v1/job?id=999999").0 == 404)
            let (_, workersBody) = try await Self.get(leaderWeb + "/api/v1/workers")
            let workers = try JSONSerialization.jsonObject(with: Data(workersBody.utf8)) as? [[String: Any]] ?? []
            #expect(workers.count == 1 && workers.first?["blockStore"] as? Bool == false, "\(workersBody)")
            // A standby serves the job table it replicates.
            let standbyJobs = try await Self.get("http://127.0.0.1:\(standby.web)/api/v1/jobs").1
            #expect(standbyJobs.contains("\"id\" : \(id)"), "\(standbyJobs)")

            // Prometheus text (the leader records the gauges every quarter second).
            var metrics = ""
            let deadline = ContinuousClock.now + .seconds(10)
            repeat {
                metrics = try await Self.get(leaderWeb + "/metrics").1
                if metrics.contains("strata_job_workers_live 1") && metrics.contains("strata_job_running 0") { break }
                try await Task.sleep(for: .milliseconds(100))
            } while ContinuousClock.now < deadline
            for series in ["strata_job_submitted_total 1", "strata_job_completed_total 1", "strata_job_running 0", "strata_job_workers_live 1",
                           "strata_job_tasks{state=\"RUNNING\"} 0", "strata_journal_leader 1"] {
                #expect(metrics.contains(series), "\(series) missing from:\n\(metrics.prefix(3000))")
            }

            // The pages, rendered by a browser.
            let rendered = try await Self.chromium(["--dump-dom", leaderWeb + "/"])
            #expect(rendered.contains("Strata job master") && rendered.contains(">LEADER<") && rendered.contains("JOB_MASTER quorum"), "\(rendered.prefix(3000))")
            let jobsPage = try await Self.chromium(["--dump-dom", leaderWeb + "/jobs"])
            #expect(jobsPage.contains("href=\"/job?id=\(id)\"") && jobsPage.contains("30/30 (100%)") && jobsPage.contains("UfsCopy"), "\(jobsPage.prefix(3000))")
            let jobPage = try await Self.chromium(["--dump-dom", leaderWeb + "/job?id=\(id)"])
            #expect(jobPage.contains("<h2>Tasks</h2>") && jobPage.contains("4/4 (100%)"), "\(jobPage.prefix(3000))")
            let workersPage = try await Self.chromium(["--dump-dom", leaderWeb + "/workers"])
            #expect(workersPage.contains("class=\"current\"") && workersPage.contains(">no<"), "\(workersPage.prefix(3000))")
            let standbyPage = try await Self.chromium(["--dump-dom", "http://127.0.0.1:\(standby.web)/workers"])
            #expect(standbyPage.contains(">STANDBY<") && standbyPage.contains("href=\"http://127.0.0.1:\(leader.web)/\"")
                && standbyPage.contains("report to the leading job master"), "\(standbyPage.prefix(3000))")

            // On a terminal (a pty from script(1)), the waiting command redraws a bar in place.
            let conf = harness.directory + "/tty-cli/conf"
            try FileManager.default.createDirectory(atPath: conf, withIntermediateDirectories: true)
            try cluster.clientProperties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
                .write(toFile: conf + "/strata-site.properties", atomically: true, encoding: .utf8)
            let command = "STRATA_CONF_DIR=\(conf) \(ProcessHarness.binaryDirectory)/strata job copy \(source) \(harness.directory)/out-tty"
            let tty = try harness.startExternal("/usr/bin/script", name: "tty-copy", directory: harness.directory, arguments: ["-qec", command, "/dev/null"])
            #expect(try await tty.waitForExit(timeout: .seconds(60)) == 0, "\(tty.log())")
            #expect(tty.log().contains("\r[==============================] 30/30 files"), "\(tty.log())")
            #expect(!tty.log().contains("Progress:"), "\(tty.log())")
        }
    }
}
