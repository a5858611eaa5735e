import Foundation
import NIOCore
import StrataClient
import StrataCore
import StrataTesting
import StrataWire
import Testing

/// What a client does when the process it talks to is not there or hangs: nobody listening at
/// any master address, a leader paused with SIGSTOP (its sockets stay open), a worker paused
/// while it holds the only cached copy or receives a write.
@Suite struct ClientFaultTests {
    /// Runs the CLI and records when each standard-error line arrived (seconds from the start).
    static func timedCLI(_ arguments: [String], environment: [String: String] = [:]) async throws
        -> (status: Int32, seconds: Double, errorLines: [(Double, String)]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessHarness.binaryDirectory + "/strata")
        process.arguments = arguments
        var fullEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRATA_") }
        fullEnvironment["STRATA_CONF_DIR"] = CLITests.emptyConfDirectory
        for (key, value) in environment { fullEnvironment[key] = value }
        process.environment = fullEnvironment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let started = ContinuousClock.now
        let lines = LockedLines()
        let reader = errors.fileHandleForReading
        let finished = DispatchSemaphore(value: 0)
        // A thread of its own reads standard error as it comes, until the end of the pipe.
        Thread.detachNewThread {
            var pending = ""
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                let at = (ContinuousClock.now - started).seconds
                pending += String(decoding: data, as: UTF8.self)
                while let newline = pending.firstIndex(of: "\n") {
                    lines.append((at, String(pending[..<newline])))
                    pending = String(pending[pending.index(after: newline)...])
                }
            }
            if !pending.isEmpty { lines.append(((ContinuousClock.now - started).seconds, pending)) }
            finished.signal()
        }
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let seconds = (ContinuousClock.now - started).seconds
        try? errors.fileHandleForWriting.close()
        while finished.wait(timeout: .now()) == .timedOut { try await Task.sleep(for: .milliseconds(20)) }
        return (process.terminationStatus, seconds, lines.all)
    }

    final class LockedLines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [(Double, String)] = []
        func append(_ line: (Double, String)) { lock.withLock { lines.append(line) } }
        var all: [(Double, String)] { lock.withLock { lines } }
    }

    /// No master at any address: within a second the CLI says what it waits for (every address
    /// and its error), keeps saying it, and ends with one clear error once every address has
    /// refused connections for `strata.user.rpc.retry.refused.duration.max` — not after the
    /// whole retry budget (two minutes). Before: silence for over a minute.
    @Test func nobodyThereIsSaidAtOnceAndEndsWithOneClearError() async throws {
        let ports = try await ProcessHarness.freePorts(2)
        let uri = "strata://127.0.0.1:\(ports[0]),127.0.0.1:\(ports[1])/"
        let result = try await Self.timedCLI(["fs", "ls", uri], environment: ["STRATA_USER_RPC_RETRY_REFUSED_DURATION_MAX": "6s"])
        let text = result.errorLines.map { String(format: "%.2f s: %@", $0.0, $0.1) }.joined(separator: "\n")
        #expect(result.status != 0)
        let waiting = result.errorLines.filter { $0.1.contains("waiting for the leading master") }
        #expect(waiting.first.map { $0.0 < 1.0 } == true, "the first word of what it waits for came late:\n\(text)")
        #expect(waiting.count >= 2, "it stops saying what it waits for:\n\(text)")
        for port in ports {
            #expect(waiting.first?.1.contains("127.0.0.1:\(port) connection refused") == true, "an address or its error is missing:\n\(text)")
        }
        #expect(result.errorLines.last?.1.contains("no master is running at") == true, "\(text)")
        #expect(result.seconds >= 6 && result.seconds < 20, "gave up after \(result.seconds) s:\n\(text)")
    }

    /// The leader hangs (SIGSTOP: the kernel still accepts connections for it). A client that
    /// knows it as the leader, and a CLI started just after the stop (whose first answers may
    /// still name it), must complete on the new leader soon after the election, not after the
    /// 30 s RPC deadline (32 s before). After SIGCONT the old leader stands down and stays down.
    @Test func pausedLeaderIsLeftForTheNewOne() async throws {
        try await ProcessHarness.with("client-paused-leader") { harness in
            let cluster = try await MasterCluster.prepare(harness, count: 3)
            var processes: [String: TestProcess] = [:]
            for member in cluster.members { processes[member.name] = try await cluster.start(member, in: harness) }
            let leader = try await cluster.leader()
            let client = try MasterHATests.client(cluster)
            _ = try await client.createDirectory("/before")
            #expect(try await client.currentLeader() == leader.rpc)

            processes[leader.name]!.signal(SIGSTOP)
            let stopped = ContinuousClock.now
            async let cli = Self.timedCLI(["fs", "mkdir", "/from-cli"],
                                          environment: ["STRATA_MASTER_RPC_ADDRESSES": cluster.members.map(\.rpc.description).joined(separator: ",")])
            _ = try await client.createDirectory("/in-flight")
            let inFlight = (ContinuousClock.now - stopped).seconds
            let cliResult = try await cli
            let newLeader = try await cluster.leader(excluding: [leader.name])
            print("paused leader: in-flight create done \(String(format: "%.2f", inFlight)) s after SIGSTOP; CLI mkdir took \(String(format: "%.2f", cliResult.seconds)) s")
            #expect(cliResult.status == 0, "\(cliResult.errorLines)")
            #expect(inFlight < 6, "the in-flight create waited \(inFlight) s on the paused leader")
            #expect(cliResult.seconds < 6, "the CLI waited \(cliResult.seconds) s on the paused leader")
            #expect(try await client.currentLeader() == newLeader.rpc)

            // SIGCONT: the old leader learns the newer term and stands down; no flapping back.
            processes[leader.name]!.signal(SIGCONT)
            try await eventually(10, "the old leader stands down") {
                let views = await client.probeAll()
                return views.filter { $0.1?.thisRole == "LEADER" }.map(\.0) == [newLeader.rpc]
                    && views.first { $0.0 == leader.rpc }?.1?.thisRole == "STANDBY"
            }
            for index in 0..<20 {
                _ = try await client.createDirectory("/after/\(index)", recursive: true)
                #expect(try await client.currentLeader() == newLeader.rpc, "the client went back to the old leader")
            }
            let names = Set(try await client.list("/").map(\.name))
            #expect(names.isSuperset(of: ["before", "in-flight", "from-cli", "after"]))
            await client.close()
        }
    }

    /// A worker holding the only cached copy of a CACHE_THROUGH file hangs (SIGSTOP). A read must
    /// finish byte-exact from under storage within about the data read timeout (1 s) of the
    /// stall, not wait on the worker (over 120 s before). A write through the hung worker fails
    /// cleanly within the data write timeout, leaving no complete file.
    @Test func hungWorkerIsReadAroundAndWritesFailCleanly() async throws {
        try await ProcessHarness.with("client-hung-worker") { harness in
            let (_, _, process, client) = try await DataPathTests.oneMasterOneWorker(harness)
            let data = DataPathTests.bytes(20_000_000, seed: 9)
            try await DataPathTests.write(client, "/through.bin", data, .cacheThrough, blockSize: 8 << 20)
            #expect(try await DataPathTests.cachedBlocks(client, "/through.bin") == 3)
            #expect(try await DataPathTests.read(client, "/through.bin") == data)

            process.signal(SIGSTOP)
            defer { process.signal(SIGCONT) }
            for shortCircuit in [true, false] {
                let started = ContinuousClock.now
                let read = try await DataPathTests.read(client, "/through.bin", shortCircuit: shortCircuit)
                let seconds = (ContinuousClock.now - started).seconds
                print("hung worker: read of 20 MB (short-circuit \(shortCircuit)) took \(String(format: "%.2f", seconds)) s")
                #expect(read == data, "the read around the hung worker is not byte-exact")
                #expect(seconds < 4, "the read waited \(seconds) s on the hung worker")
            }

            // A write to the hung worker (the only one) fails within the write timeout.
            var options = DataOptions(try Configuration.defaults())
            options.writeType = .mustCache
            options.writeTimeout = .seconds(2)
            let started = ContinuousClock.now
            var sent = false
            let failed = await #expect(throws: RPCError.self) {
                try await client.writeFile("/stuck.bin", options: options) {
                    guard !sent else { return nil }
                    sent = true
                    return ByteBuffer(bytes: data.prefix(3_000_000))
                }
            }
            let seconds = (ContinuousClock.now - started).seconds
            print("hung worker: a write failed after \(String(format: "%.2f", seconds)) s: \(failed?.message ?? "-")")
            #expect(seconds < 10, "the write waited \(seconds) s on the hung worker")
            #expect(failed?.message.contains("/stuck.bin") == true)
            let leftover = try? await client.status("/stuck.bin")
            #expect(leftover == nil || leftover?.completed == false)
            await client.close()
        }
    }
}
