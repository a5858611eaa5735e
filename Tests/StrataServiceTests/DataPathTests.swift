import Foundation
import NIOCore
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

    /// One master and one worker (its process returned), with a client that sees the worker.
    static func oneMasterOneWorker(_ harness: ProcessHarness, extra: [String: String] = [:]) async throws
        -> (MasterCluster, WorkerNode, TestProcess, FileSystemClient) {
        let cluster = try await MasterCluster.prepare(harness, count: 1, extra: extra)
        try await cluster.start(cluster.members[0], in: harness)
        let worker = try await WorkerNode.prepare(harness, cluster: cluster)
        let process = try await worker.start(in: harness)
        let client = try MasterHATests.client(cluster)
        try await Self.waitForWorkers(client, count: 1)
        return (cluster, worker, process, client)
    }

    @Test func runTestsPassesEveryCombination() async throws {
        try await ProcessHarness.with("data-runtests") { harness in
            let (cluster, _, _, client) = try await Self.oneMasterOneWorker(harness)
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

extension DataPathTests {
    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed) &+ ($0 >> 10)) }
    }

    static func read(_ client: FileSystemClient, _ path: String, _ type: ReadType = .cache, shortCircuit: Bool = true) async throws -> [UInt8] {
        var options = DataOptions(try Configuration.defaults())
        options.readType = type
        options.shortCircuit = shortCircuit
        var result: [UInt8] = []
        try await client.readFile(path, options: options) { result.append(contentsOf: $0.readableBytesView) }
        return result
    }

    static func write(_ client: FileSystemClient, _ path: String, _ data: [UInt8], _ type: WriteType, blockSize: Int64 = 1 << 20) async throws {
        var options = DataOptions(try Configuration.defaults())
        options.writeType = type
        options.blockSizeBytes = blockSize
        var sent = false
        try await client.writeFile(path, options: options) {
            guard !sent else { return nil }
            sent = true
            return ByteBuffer(bytes: data)
        }
    }

    static func cachedBlocks(_ client: FileSystemClient, _ path: String) async throws -> Int {
        try await client.fileBlocks(path).blocks.filter { !$0.locations.isEmpty }.count
    }

    @Test func readThroughPersistFreeAndDelete() async throws {
        try await ProcessHarness.with("data-ufs") { harness in
            let (cluster, worker, _, client) = try await Self.oneMasterOneWorker(harness)

            // A file that exists only in under storage is read through a worker, and cached.
            let outside = Self.bytes(3 << 20 | 12345, seed: 1)
            try Data(outside).write(to: URL(fileURLWithPath: cluster.underStorage + "/outside.bin"))
            try Data(outside).write(to: URL(fileURLWithPath: cluster.underStorage + "/uncached.bin"))
            #expect(try await Self.read(client, "/uncached.bin", .noCache) == outside)
            #expect(try await Self.cachedBlocks(client, "/uncached.bin") == 0)
            #expect(try await Self.read(client, "/outside.bin") == outside)
            try await eventually(10, "outside.bin cached") { try await Self.cachedBlocks(client, "/outside.bin") == 1 }
            // (64MB default block size: one block.) Read again, now from the cache: opening the
            // worker's block file (short-circuit), and streamed by the worker.
            #expect(try await Self.read(client, "/outside.bin") == outside)
            #expect(try await Self.read(client, "/outside.bin", shortCircuit: false) == outside)

            // ASYNC_THROUGH: cached now, persisted in the background by the worker.
            let later = Self.bytes(2_500_000, seed: 2)
            try await Self.write(client, "/async/later.bin", later, .asyncThrough)
            try await eventually(20, "later.bin persisted") { try await client.status("/async/later.bin").persistenceState == "PERSISTED" }
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: cluster.underStorage + "/async/later.bin"))) == later)

            // free drops cached copies of persisted files; reads still work, from under storage.
            let freed = try await client.free("/async/later.bin", recursive: true, forced: false)
            #expect(freed.files == 1)
            try await eventually(10, "later.bin freed") { try await Self.cachedBlocks(client, "/async/later.bin") == 0 }
            #expect(try await Self.read(client, "/async/later.bin") == later)

            // A MUST_CACHE file cannot be freed (its only copy is cached) until persisted.
            let only = Self.bytes(1_500_000, seed: 3)
            try await Self.write(client, "/only.bin", only, .mustCache)
            let refused = await #expect(throws: RPCError.self) { try await client.free("/only.bin", recursive: true, forced: false) }
            #expect(refused?.message.contains("cannot free /only.bin: it is not persisted") == true)
            let (persistStatus, persistOutput) = try await Self.cli(harness, cluster.clientProperties, ["fs", "persist", "/only.bin"])
            #expect(persistStatus == 0, "\(persistOutput)")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: cluster.underStorage + "/only.bin"))) == only)

            // Deleting a file removes its cached blocks from the worker.
            let blockFiles = { () throws -> Int in try FileManager.default.contentsOfDirectory(atPath: worker.tierDirectories[0] + "/strataworker").count }
            let before = try blockFiles()
            try await client.delete("/only.bin")
            try await eventually(10, "only.bin's blocks deleted") { try blockFiles() == before - 2 }

            // The shell: checksum, location, du, copyToLocal, head, tail.
            let local = harness.directory + "/later.copy"
            let (copyStatus, copyOutput) = try await Self.cli(harness, cluster.clientProperties, ["fs", "copyToLocal", "/async/later.bin", local])
            #expect(copyStatus == 0, "\(copyOutput)")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local))) == later)
            let md5 = Process()
            md5.executableURL = URL(fileURLWithPath: "/usr/bin/md5sum")
            md5.arguments = [local]
            let pipe = Pipe()
            md5.standardOutput = pipe
            try md5.run()
            md5.waitUntilExit()
            let expectedSum = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")[0]
            let (_, checksum) = try await Self.cli(harness, cluster.clientProperties, ["fs", "checksum", "/async/later.bin"])
            #expect(checksum.contains("md5sum: \(expectedSum)"), "\(checksum)")
            let (_, location) = try await Self.cli(harness, cluster.clientProperties, ["fs", "location", "/outside.bin"])
            #expect(location.contains("127.0.0.1:\(worker.rpc.port) (MEM)"), "\(location)")
            let (_, du) = try await Self.cli(harness, cluster.clientProperties, ["fs", "du", "--memory", "/outside.bin"])
            #expect(du.contains("(100%)"), "\(du)")
            let (_, report) = try await Self.cli(harness, cluster.clientProperties, ["fsadmin", "report"])
            #expect(report.contains("Live workers: 1") && report.contains("Capacity on MEM: 256.00MB"), "\(report)")
            try "line one\nline two\nthe end\n".write(toFile: cluster.underStorage + "/text.txt", atomically: true, encoding: .utf8)
            let (_, head) = try await Self.cli(harness, cluster.clientProperties, ["fs", "head", "-c", "8", "/text.txt"])
            #expect(head == "line one")
            let (_, tail) = try await Self.cli(harness, cluster.clientProperties, ["fs", "tail", "-c", "8", "/text.txt"])
            #expect(tail == "the end\n")
            let (_, cat) = try await Self.cli(harness, cluster.clientProperties, ["fs", "cat", "/text.txt"])
            #expect(cat == "line one\nline two\nthe end\n")
            await client.close()
        }
    }

    /// A worker stopped and started keeps its cache; one gone silent is lost (its blocks with it)
    /// and comes back with them when it returns. A write whose worker dies fails cleanly.
    @Test func workerRestartLossAndReturn() async throws {
        try await ProcessHarness.with("data-worker-lost") { harness in
            var (cluster, worker, process, client) = try await Self.oneMasterOneWorker(harness, extra: ["strata.master.worker.timeout": "2s"])
            let data = Self.bytes(3_000_000, seed: 4)
            try await Self.write(client, "/cached.bin", data, .mustCache)
            #expect(try await Self.cachedBlocks(client, "/cached.bin") == 3)

            // Graceful restart: blocks found on disk and reported again.
            #expect(try await process.stop() == 0)
            process = try await worker.start(in: harness, suffix: "-2")
            try await eventually(10, "blocks re-registered") { try await Self.cachedBlocks(client, "/cached.bin") == 3 }
            #expect(try await Self.read(client, "/cached.bin") == data)

            // Silent for longer than the timeout: lost, and its blocks are located nowhere.
            process.signal(SIGSTOP)
            try await eventually(15, "worker lost") { try await client.workers().first?.state == "LOST" }
            #expect(try await Self.cachedBlocks(client, "/cached.bin") == 0)
            let unreadable = await #expect(throws: RPCError.self) { _ = try await Self.read(client, "/cached.bin") }
            #expect(unreadable?.message.contains("is not cached on any live worker and /cached.bin is not persisted") == true)
            process.signal(SIGCONT)
            try await eventually(10, "worker back") { try await client.workers().first?.state == "LIVE" }
            try await eventually(10, "blocks back") { try await Self.cachedBlocks(client, "/cached.bin") == 3 }
            #expect(try await Self.read(client, "/cached.bin") == data)

            // The worker dies during a write: the write fails, and no complete file is left.
            let big = harness.directory + "/big.local"
            try Data(Self.bytes(64 << 20, seed: 5)).write(to: URL(fileURLWithPath: big))
            var properties = cluster.clientProperties
            properties["strata.user.block.size.bytes.default"] = "4MB"
            properties["strata.user.file.writetype.default"] = "MUST_CACHE"
            let blockDirectory = worker.tierDirectories[0] + "/strataworker"
            let blocksBefore = try FileManager.default.contentsOfDirectory(atPath: blockDirectory).count
            let copy = try harness.start("strata", name: "copy-dies", properties: properties, arguments: ["fs", "copyFromLocal", big, "/big.bin"])
            // Once its first block is on the worker, hold the copy (SIGSTOP) so that it cannot
            // finish before the worker dies, kill the worker, and let the copy go on.
            let deadline = ContinuousClock.now + .seconds(30)
            while try FileManager.default.contentsOfDirectory(atPath: blockDirectory).count <= blocksBefore {
                guard ContinuousClock.now < deadline else { throw HarnessError("no block of big.bin was written within 30 s") }
                try await Task.sleep(for: .milliseconds(5))
            }
            copy.signal(SIGSTOP)
            process.kill()
            _ = try await process.waitForExit()
            copy.signal(SIGCONT)
            let status = try await copy.waitForExit(timeout: .seconds(120))
            #expect(status != 0, "\(copy.log())")
            #expect(copy.log().contains("/big.bin"), "\(copy.log())")
            let leftover = try? await client.status("/big.bin")
            #expect(leftover == nil || leftover?.completed == false)
            await client.close()
        }
    }
}

extension DataPathTests {
    static func tiers(_ client: FileSystemClient, _ path: String) async throws -> [String] {
        try await client.fileBlocks(path).blocks.map { $0.locations.first?.tier ?? "-" }
    }

    /// MEM fills past its high watermark: least recently used blocks move down to SSD, pinned
    /// ones stay; CACHE_PROMOTE brings a block back up.
    @Test func evictionBetweenTiersSparesPinnedFiles() async throws {
        try await ProcessHarness.with("data-evict") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1)
            try await cluster.start(cluster.members[0], in: harness)
            let worker = try await WorkerNode.prepare(harness, cluster: cluster, tiers: [("MEM", "5MB"), ("SSD", "64MB")], extra: [
                "strata.worker.tieredstore.level0.watermark.high.ratio": "0.9",
                "strata.worker.tieredstore.level0.watermark.low.ratio": "0.5",
            ])
            try await worker.start(in: harness)
            let client = try MasterHATests.client(cluster)
            try await Self.waitForWorkers(client, count: 1)
            let pinned = Self.bytes(2 << 20, seed: 9)
            try await Self.write(client, "/pinned.bin", pinned, .cacheThrough)
            var pin = SetAttributeRequest(path: "/pinned.bin")
            pin.pinned = true
            _ = try await client.setAttribute(pin)
            // Give the pinned list a moment to reach the worker (it rides on heartbeats).
            try await Task.sleep(for: .seconds(2))
            var contents: [String: [UInt8]] = ["/pinned.bin": pinned]
            for index in 0..<4 {
                let data = Self.bytes(2 << 20, seed: UInt8(index))
                try await Self.write(client, "/f\(index).bin", data, .cacheThrough)
                contents["/f\(index).bin"] = data
            }
            try await eventually(10, "pinned blocks in MEM, older files demoted") {
                let pinnedTiers = try await Self.tiers(client, "/pinned.bin")
                let oldest = try await Self.tiers(client, "/f0.bin")
                return pinnedTiers == ["MEM", "MEM"] && oldest == ["SSD", "SSD"]
            }
            for (path, data) in contents { #expect(try await Self.read(client, path) == data, "\(path)") }
            // CACHE_PROMOTE moves a block read from SSD back to MEM.
            #expect(try await Self.read(client, "/f0.bin", .cachePromote) == contents["/f0.bin"])
            try await eventually(10, "f0 promoted") { try await Self.tiers(client, "/f0.bin") == ["MEM", "MEM"] }
            #expect(try await Self.tiers(client, "/pinned.bin") == ["MEM", "MEM"])
            await client.close()
        }
    }

    /// The leading master is killed while a multi-block file is being copied in: the copy
    /// completes through the failover and reads back byte for byte.
    @Test func leaderKilledDuringCopyFromLocal() async throws {
        try await ProcessHarness.with("data-failover") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3)
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let leader = try await cluster.leader()
            let worker = try await WorkerNode.prepare(harness, cluster: cluster, tiers: [("MEM", "512MB")])
            try await worker.start(in: harness)
            let client = try MasterHATests.client(cluster)
            try await Self.waitForWorkers(client, count: 1)
            let local = harness.directory + "/source.bin"
            let data = Self.bytes(48 << 20, seed: 11)
            try Data(data).write(to: URL(fileURLWithPath: local))
            var properties = cluster.clientProperties
            properties["strata.user.block.size.bytes.default"] = "4MB"
            properties["strata.user.file.writetype.default"] = "CACHE_THROUGH"
            properties["strata.user.rpc.retry.max.duration"] = "60s"
            let copy = try harness.start("strata", name: "copy", properties: properties, arguments: ["fs", "copyFromLocal", local, "/copied.bin"])
            let blockDirectory = worker.tierDirectories[0] + "/strataworker"
            try await eventually(30, "first blocks written") { ((try? FileManager.default.contentsOfDirectory(atPath: blockDirectory).count) ?? 0) >= 2 }
            processes[leader.name]!.kill()
            let status = try await copy.waitForExit(timeout: .seconds(120))
            #expect(status == 0, "\(copy.log())")
            let newLeader = try await cluster.leader(excluding: [leader.name])
            #expect(newLeader.name != leader.name)
            #expect(try await client.status("/copied.bin").completed)
            #expect(try await Self.read(client, "/copied.bin") == data)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: cluster.underStorage + "/copied.bin"))) == data)
            await client.close()
        }
    }
}

extension DataPathTests {
    /// A copy started before any worker has registered (a cluster just up, or a leader just
    /// elected) waits for one under the retry policy, saying so, and creates no file meanwhile;
    /// once a worker registers, it completes.
    @Test func writeWaitsForAWorkerToRegister() async throws {
        try await ProcessHarness.with("data-wait-worker") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1)
            try await cluster.start(cluster.members[0], in: harness)
            let client = try MasterHATests.client(cluster)
            let local = harness.directory + "/early.local"
            let data = Self.bytes(3_000_000, seed: 21)
            try Data(data).write(to: URL(fileURLWithPath: local))
            var properties = cluster.clientProperties
            properties["strata.user.rpc.retry.max.duration"] = "60s"
            let copy = try harness.start("strata", name: "copy-early", properties: properties, arguments: ["fs", "copyFromLocal", local, "/early.bin"])
            try await eventually(30, "the copy reports that it waits for a worker") { copy.log().contains("no live worker to write to") }
            #expect(copy.isRunning, "\(copy.log())")
            #expect((try? await client.status("/early.bin")) == nil, "no file while the copy waits for a worker")
            let worker = try await WorkerNode.prepare(harness, cluster: cluster)
            try await worker.start(in: harness)
            let status = try await copy.waitForExit(timeout: .seconds(90))
            #expect(status == 0, "\(copy.log())")
            #expect(try await Self.read(client, "/early.bin") == data)
            await client.close()
        }
    }

    /// The rest of the shell's data commands, and a restarted master learning the blocks again.
    @Test func shellDataCommandsAndMasterRestart() async throws {
        try await ProcessHarness.with("data-shell") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1)
            var master = try await cluster.start(cluster.members[0], in: harness)
            let worker = try await WorkerNode.prepare(harness, cluster: cluster)
            var workerProcess = try await worker.start(in: harness)
            let client = try MasterHATests.client(cluster)
            try await Self.waitForWorkers(client, count: 1)
            func strata(_ arguments: String..., status expected: Int32 = 0) async throws -> String {
                let (status, output) = try await Self.cli(harness, cluster.clientProperties, arguments)
                #expect(status == expected, "strata \(arguments.joined(separator: " ")): \(output)")
                return output
            }
            let local = harness.directory + "/local-dir"
            try FileManager.default.createDirectory(atPath: local + "/sub", withIntermediateDirectories: true)
            try Data(Self.bytes(300_000, seed: 21)).write(to: URL(fileURLWithPath: local + "/a.bin"))
            try Data(Self.bytes(70_000, seed: 22)).write(to: URL(fileURLWithPath: local + "/sub/b.bin"))
            // A directory copied in, with the write type on the command line; then copied within Strata.
            let copied = try await strata("fs", "copyFromLocal", "--writeType", "CACHE_THROUGH", local, "/in")
            #expect(copied.contains("Copied file://\(local)/sub/b.bin to /in/sub/b.bin"), "\(copied)")
            #expect(try await strata("fs", "cp", "-R", "/in", "/copy").contains("Copied /in/sub/b.bin to /copy/sub/b.bin"))
            #expect(try await Self.read(client, "/copy/sub/b.bin") == Self.bytes(70_000, seed: 22))
            #expect(try await strata("fs", "cp", "/in", "/nope", status: 1).contains("is a directory; copy it with -R"))
            let back = harness.directory + "/back"
            _ = try await strata("fs", "cp", "/copy/a.bin", "file://" + back)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: back))) == Self.bytes(300_000, seed: 21))

            // free, then load brings the blocks back.
            _ = try await strata("fs", "free", "/in")
            try await eventually(10, "freed") { try await Self.cachedBlocks(client, "/in/a.bin") == 0 }
            #expect(try await strata("fs", "load", "/in").contains("/in loaded"))
            #expect(try await Self.cachedBlocks(client, "/in/a.bin") == 1)

            // pin, unpin, setReplication are attributes.
            #expect(try await strata("fs", "pin", "/in/a.bin").contains("successfully pinned"))
            #expect(try await client.status("/in/a.bin").pinned)
            #expect(try await strata("fs", "free", "/in/a.bin", status: 1).contains("cannot free pinned file /in/a.bin"))
            _ = try await strata("fs", "unpin", "/in/a.bin")
            #expect(try await client.status("/in/a.bin").pinned == false)
            _ = try await strata("fs", "setReplication", "--min", "1", "--max", "3", "/in/a.bin")
            let info = try await client.status("/in/a.bin")
            #expect(info.replicationMin == 1 && info.replicationMax == 3)
            #expect(try await strata("fs", "setReplication", "--min", "4", "--max", "3", "/in/a.bin", status: 1).contains("exceeds"))
            #expect(try await strata("fs", "cat", "--readType", "SOMETIMES", "/in/a.bin", status: 1).contains("unknown read type 'SOMETIMES'"))
            // Back to no bounds (a minimum of 1 would have the leader cache it again below).
            _ = try await strata("fs", "setReplication", "--min", "0", "--max=-1", "/in/a.bin")

            // A restarted master does not know the worker: the worker registers again, with its blocks.
            #expect(try await master.stop() == 0)
            master = try await cluster.start(cluster.members[0], in: harness, suffix: "-again")
            try await eventually(15, "blocks located after the master restart") { (try? await Self.cachedBlocks(client, "/in/a.bin")) == 1 }

            // formatWorker erases the stopped worker's storage.
            #expect(try await workerProcess.stop() == 0)
            let format = try harness.start("strata", name: "format-worker", properties: worker.properties, arguments: ["formatWorker"])
            #expect(try await format.waitForExit() == 0, "\(format.log())")
            #expect(!FileManager.default.fileExists(atPath: worker.tierDirectories[0] + "/strataworker"))
            workerProcess = try await worker.start(in: harness, suffix: "-formatted")
            try await eventually(15, "the formatted worker holds nothing") { (try? await Self.cachedBlocks(client, "/in/a.bin")) == 0 }
            // Persisted files are still readable (through the worker, from under storage).
            #expect(try await Self.read(client, "/in/a.bin") == Self.bytes(300_000, seed: 21))
            await client.close()
        }
    }
}

extension DataPathTests {
    /// setReplication: the leader has workers copy blocks up to the minimum and free copies
    /// beyond the maximum.
    @Test func replicationBoundsAreKept() async throws {
        try await ProcessHarness.with("data-replication") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 1)
            try await cluster.start(cluster.members[0], in: harness)
            let first = try await WorkerNode.prepare(harness, cluster: cluster, name: "worker1")
            let second = try await WorkerNode.prepare(harness, cluster: cluster, name: "worker2")
            try await first.start(in: harness)
            try await second.start(in: harness)
            let client = try MasterHATests.client(cluster)
            try await Self.waitForWorkers(client, count: 2)
            let data = Self.bytes(2_500_000, seed: 31)
            try await Self.write(client, "/replicated.bin", data, .mustCache)
            let copies = { () async throws -> [Int] in try await client.fileBlocks("/replicated.bin").blocks.map(\.locations.count) }
            #expect(try await copies() == [1, 1, 1])
            let (status, output) = try await Self.cli(harness, cluster.clientProperties, ["fs", "setReplication", "--min", "2", "/replicated.bin"])
            #expect(status == 0, "\(output)")
            try await eventually(20, "two copies of every block") { try await copies() == [2, 2, 2] }
            #expect(try await Self.read(client, "/replicated.bin", shortCircuit: false) == data)
            var request = SetAttributeRequest(path: "/replicated.bin")
            request.replicationMin = 1
            request.replicationMax = 1
            _ = try await client.setAttribute(request)
            try await eventually(20, "one copy of every block") { try await copies() == [1, 1, 1] }
            #expect(try await Self.read(client, "/replicated.bin") == data)
            await client.close()
        }
    }
}
