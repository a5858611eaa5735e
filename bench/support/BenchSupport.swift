import Foundation

/// What every benchmark under `bench/` shares: its options, its error, and the processes it runs
/// (Strata's executables and the peers they are measured beside).

/// A benchmark's command line: `--name value` options.
public struct BenchOptions: Sendable {
    public let arguments: [String]

    public init(_ arguments: [String] = CommandLine.arguments) { self.arguments = arguments }

    /// The value after `name`, if given.
    public func value(_ name: String) -> String? {
        arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
    }

    public func value(_ name: String, _ fallback: String) -> String { value(name) ?? fallback }

    /// The folder holding this benchmark's executable (and Strata's, built beside it).
    public var binaryDirectory: String { URL(fileURLWithPath: arguments[0]).deletingLastPathComponent().path }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A long-running child process whose output is appended to a log file; it can be restarted,
/// stopped, killed with SIGKILL, signalled, and asked for its resident memory.
public final class BenchProcess: @unchecked Sendable {
    public let name: String
    public let executable: String
    public let arguments: [String]
    public let environment: [String: String]?
    public let logPath: String
    public private(set) var process: Process?

    public init(name: String, executable: String, arguments: [String] = [], environment: [String: String]? = nil, logPath: String) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.logPath = logPath
    }

    /// Starts (or restarts) the process.
    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try log.seekToEnd()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    public func signal(_ signal: Int32) {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, signal)
    }

    /// SIGTERM, then waits for the exit.
    public func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// SIGKILL, then waits for the exit.
    public func kill9() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Resident set size in bytes, from /proc (0 when not running).
    public func residentBytes() -> Int64 {
        guard let pid = process?.processIdentifier,
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int64(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes * 1024
    }
}

/// etcd (Debian's `etcd-server`) as the benchmarks run it: a 3-member cluster on loopback, 100 ms
/// heartbeats and a 1 s election timeout (etcd's defaults), fsync on.
public enum Etcd {
    public static let executable = "/usr/bin/etcd"

    /// The command line of member `position` (0-based) of the cluster whose members take clients
    /// on `clientPorts` and each other on `peerPorts`.
    public static func memberArguments(position: Int, clientPorts: [Int], peerPorts: [Int], dataDirectory: String) -> [String] {
        let initial = peerPorts.indices.map { "e\($0 + 1)=http://127.0.0.1:\(peerPorts[$0])" }.joined(separator: ",")
        return [
            "--name", "e\(position + 1)", "--data-dir", dataDirectory,
            "--listen-client-urls", "http://127.0.0.1:\(clientPorts[position])",
            "--advertise-client-urls", "http://127.0.0.1:\(clientPorts[position])",
            "--listen-peer-urls", "http://127.0.0.1:\(peerPorts[position])",
            "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPorts[position])",
            "--initial-cluster", initial, "--initial-cluster-state", "new",
            "--heartbeat-interval", "100", "--election-timeout", "1000", "--log-level", "warn",
        ]
    }
}
