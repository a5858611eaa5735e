import Foundation

/// Runs a command of this machine's (ip, iptables, tc, mount, a fuzz target) for the test harness.
public enum HostCommand {
    /// Runs `command` to completion, with `environment` added to this process's; its output is
    /// returned, a failure thrown with it.
    @discardableResult
    public static func run(_ command: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HarnessError("\(command.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
        }
        return text
    }
}
