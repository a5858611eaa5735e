import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StrataCore
import StrataWire
import Synchronization

/// Starts real Strata service processes for tests: each on free loopback ports, with its own
/// directory and `strata-site.properties`, waited for until it serves, stopped or killed on
/// demand, and its log printed when the test using it fails.
///
/// Use through `ProcessHarness.with(_:_:)`, which cleans up whatever the test leaves running.
public final class ProcessHarness: Sendable {
    /// The harness's temporary directory; each process gets a folder inside it.
    public let directory: String
    private let processes = NIOLockedValueBox<[TestProcess]>([])

    private init(name: String) throws {
        let base = ProcessInfo.processInfo.environment["STRATA_TEST_TMPDIR"] ?? NSTemporaryDirectory()
        directory = (base as NSString).appendingPathComponent("strata-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Runs `body` with a fresh harness. Afterwards every process still running is killed and the
    /// directory removed; if `body` throws, every process's log is printed first.
    ///
    /// At most `slots` harnesses run at once (`STRATA_TEST_PROCESS_PARALLELISM`, default 3):
    /// tests run in parallel, and a dozen multi-process clusters at once on a small machine make
    /// every timing in them (elections, fail-overs, RPC deadlines) a matter of luck.
    public static func with<T: Sendable>(_ name: String, _ body: (ProcessHarness) async throws -> T) async throws -> T {
        await slots.acquire()
        do {
            let result = try await run(name, body)
            await slots.release()
            return result
        } catch {
            await slots.release()
            throw error
        }
    }

    static let slots = HarnessSlots(count: ProcessInfo.processInfo.environment["STRATA_TEST_PROCESS_PARALLELISM"].flatMap(Int.init) ?? 3)

    private static func run<T: Sendable>(_ name: String, _ body: (ProcessHarness) async throws -> T) async throws -> T {
        let harness = try ProcessHarness(name: name)
        do {
            let result = try await body(harness)
            harness.cleanUp(removeDirectory: true)
            return result
        } catch {
            FileHandle.standardError.write(Data("test failed: \(error)\n\(harness.allLogs())".utf8))
            harness.cleanUp(removeDirectory: false)
            throw error
        }
    }

    /// The folder holding the built executables: `STRATA_BIN_DIR`, else the folder of the running
    /// test bundle (SwiftPM puts test bundles beside the products), else `.build/debug`.
    public static var binaryDirectory: String {
        if let explicit = ProcessInfo.processInfo.environment["STRATA_BIN_DIR"] { return explicit }
        var candidate = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("strata-master").path) {
                return candidate.path
            }
            candidate.deleteLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug").path
    }

    /// Ports handed out so far; tests draw from 20000–31999, below Linux's ephemeral range
    /// (32768 and up), so a port given to one test is never also some connection's source port
    /// or another test's kernel-chosen port.
    private static let nextPort = Atomic<Int>(20_000 + Int(getpid() % 600) * 20)
    static let portRange = 20_000..<32_000

    /// Free TCP ports on 127.0.0.1 for processes a test starts: unique within this test run and
    /// checked free by binding each one.
    public static func freePorts(_ count: Int) async throws -> [Int] {
        var ports: [Int] = []
        var attempts = 0
        while ports.count < count {
            attempts += 1
            guard attempts < 2_000 else { throw HarnessError("could not find \(count) free ports in \(portRange)") }
            let raw = nextPort.add(1, ordering: .relaxed).newValue
            let port = portRange.lowerBound + (raw - portRange.lowerBound) % portRange.count
            do {
                let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: "127.0.0.1", port: port).get()
                try await channel.close()
                ports.append(port)
            } catch {
                continue
            }
        }
        return ports
    }

    /// Starts `executable` (such as `strata-master`) with `properties` in its site file.
    /// - Parameters:
    ///   - name: the process's folder name, unique within the harness.
    ///   - arguments: extra command-line arguments (`-Dname=value`).
    ///   - environment: extra environment variables.
    ///   - host: the network namespace to run it in (`TestNetwork`), else this machine's own.
    public func start(
        _ executable: String, name: String, properties: [String: String], arguments: [String] = [],
        environment: [String: String] = [:], host: (network: TestNetwork, host: NetworkHost)? = nil
    ) throws -> TestProcess {
        let processDirectory = (directory as NSString).appendingPathComponent(name)
        let confDirectory = (processDirectory as NSString).appendingPathComponent("conf")
        try FileManager.default.createDirectory(atPath: confDirectory, withIntermediateDirectories: true)
        var site = "# written by the test harness\n"
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) { site += "\(key)=\(value)\n" }
        try site.write(toFile: confDirectory + "/strata-site.properties", atomically: true, encoding: .utf8)
        var fullEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRATA_") || $0.key == "STRATA_BIN_DIR" }
        fullEnvironment["STRATA_CONF_DIR"] = confDirectory
        for (key, value) in environment { fullEnvironment[key] = value }
        var path = (Self.binaryDirectory as NSString).appendingPathComponent(executable)
        var arguments = arguments
        if let (network, host) = host {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw HarnessError("no executable at \(path): build the package first (swift build)")
            }
            (path, arguments) = network.command(on: host, path, arguments)
        }
        let process = try TestProcess(
            executable: path, name: name, directory: processDirectory, arguments: arguments, environment: fullEnvironment)
        processes.withLockedValue { $0.append(process) }
        return process
    }

    /// Starts a program that is not part of Strata (a ZooKeeper server) in `directory`, its
    /// output in a log beside it; it is killed with the harness like the others.
    public func startExternal(_ executable: String, name: String, directory: String, arguments: [String]) throws -> TestProcess {
        let logDirectory = (self.directory as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        let process = try TestProcess(executable: executable, name: name, directory: logDirectory, arguments: arguments,
                                      environment: ProcessInfo.processInfo.environment, workingDirectory: directory)
        processes.withLockedValue { $0.append(process) }
        return process
    }

    /// The processes still running whose name starts with `prefix`.
    public func runningProcesses(named prefix: String) -> [TestProcess] {
        processes.withLockedValue { $0 }.filter { $0.isRunning && $0.name.hasPrefix(prefix) }
    }

    /// Every process's log, headed by its name, for failure reports.
    public func allLogs() -> String {
        processes.withLockedValue { $0 }.map { "----- \($0.name) (\($0.logPath)) -----\n\($0.log())" }.joined(separator: "\n")
    }

    private func cleanUp(removeDirectory: Bool) {
        for process in processes.withLockedValue({ $0 }) where process.isRunning { process.kill() }
        if removeDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// A counting semaphore for harnesses (FIFO).
actor HarnessSlots {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(count: Int) {
        precondition(count >= 1, "at least one harness must be able to run")
        available = count
    }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            available += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// One service process started by the harness.
public final class TestProcess: @unchecked Sendable {
    // Process is a Foundation class that is not Sendable; it is only touched through the methods
    // below, whose Process calls (isRunning, terminationStatus, signals) are thread-safe.
    private let process: Process
    public let name: String
    public let directory: String
    public let logPath: String

    init(executable: String, name: String, directory: String, arguments: [String], environment: [String: String],
         workingDirectory: String? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw HarnessError("no executable at \(executable): build the package first (swift build)")
        }
        self.name = name
        self.directory = directory
        self.logPath = (directory as NSString).appendingPathComponent("process.log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory ?? directory)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try log.close()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// The process's exit status, once it has exited.
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Everything the process has written to standard output and error so far.
    public func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// Waits until the process answers GetServiceInfo on `address` and reports that it serves.
    /// A connection whose call is not answered within its deadline is dropped and the next
    /// attempt made on a new one, so that one stuck connection cannot use up the whole wait.
    @discardableResult
    public func waitUntilServing(at address: HostAndPort, timeout: Duration = .seconds(30)) async throws -> ServiceInfo {
        let deadline = ContinuousClock.now + timeout
        var lastError = "no answer yet"
        var client = RPCClient(address: address, frameSizeMaxBytes: 1 << 20, connectTimeout: .seconds(1))
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                await client.close()
                throw HarnessError("\(name) exited with status \(process.terminationStatus) before serving:\n\(log())")
            }
            do {
                let info = try await client.call(ServiceMethods.getServiceInfo, GetServiceInfoRequest(), deadline: .seconds(1))
                if info.serving {
                    await client.close()
                    return info
                }
                lastError = "not serving yet"
            } catch {
                lastError = error.description
                if error.code == .deadlineExceeded {
                    await client.close()
                    client = RPCClient(address: address, frameSizeMaxBytes: 1 << 20, connectTimeout: .seconds(1))
                }
            }
            do { try await Task.sleep(for: .milliseconds(25)) } catch {
                await client.close()
                throw error
            }
        }
        await client.close()
        throw HarnessError("\(name) did not serve at \(address) within \(timeout): \(lastError)")
    }

    /// Waits for the process to exit by itself; returns its exit status.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(15)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw HarnessError("\(name) (pid \(pid)) still running after \(timeout)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationStatus
    }

    /// Sends SIGTERM (graceful stop) and waits for the exit status.
    public func stop(timeout: Duration = .seconds(15)) async throws -> Int32 {
        signal(SIGTERM)
        return try await waitForExit(timeout: timeout)
    }

    /// Sends `signal` to the process.
    public func signal(_ signal: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
    }

    /// kill -9: the process gets no chance to clean up.
    public func kill() {
        signal(SIGKILL)
        process.waitUntilExit()
    }
}

/// A harness failure: a process that would not start, serve or stop.
public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
