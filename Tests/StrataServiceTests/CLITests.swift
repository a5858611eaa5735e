import Foundation
import StrataCore
import StrataTesting
import StrataWire
import Testing

/// The `strata` command as a user runs it.
@Suite struct CLITests {
    struct Output {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    static func strata(_ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessHarness.binaryDirectory + "/strata")
        process.arguments = arguments
        var fullEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRATA_") }
        fullEnvironment["STRATA_CONF_DIR"] = environment["STRATA_CONF_DIR"] ?? emptyConfDirectory
        for (key, value) in environment { fullEnvironment[key] = value }
        process.environment = fullEnvironment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let standardOutput = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let standardError = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Output(status: process.terminationStatus, standardOutput: standardOutput, standardError: standardError)
    }

    static let emptyConfDirectory: String = {
        let directory = NSTemporaryDirectory() + "strata-cli-empty-conf-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }()

    @Test func version() throws {
        let output = try Self.strata(["version"])
        #expect(output.status == 0)
        #expect(output.standardOutput == "Strata \(StrataVersion.release) (wire protocol 1)\n")
    }

    @Test func getConfPrecedenceThroughTheCommand() throws {
        let directory = NSTemporaryDirectory() + "strata-cli-conf-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "strata.master.rpc.port=1111\nstrata.worker.rpc.port=2222\nstrata.job.master.rpc.port=3333\n"
            .write(toFile: directory + "/strata-site.properties", atomically: true, encoding: .utf8)
        let environment = ["STRATA_CONF_DIR": directory, "STRATA_WORKER_RPC_PORT": "2223", "STRATA_JOB_MASTER_RPC_PORT": "3334"]

        #expect(try Self.strata(["getConf", "strata.master.rpc.port"], environment: environment).standardOutput == "1111\n")
        #expect(try Self.strata(["getConf", "strata.worker.rpc.port", "--source"], environment: environment).standardOutput
                == "2223 (ENVIRONMENT (STRATA_WORKER_RPC_PORT))\n")
        #expect(try Self.strata(["-Dstrata.job.master.rpc.port=3335", "getConf", "strata.job.master.rpc.port"], environment: environment)
                .standardOutput == "3335\n")
        let all = try Self.strata(["getConf", "--source"], environment: environment)
        #expect(all.status == 0)
        #expect(all.standardOutput.contains("strata.master.rpc.port=1111 (SITE_PROPERTY (\(directory)/strata-site.properties:1))\n"))
        #expect(all.standardOutput.contains("strata.master.web.port=19999 (DEFAULT)\n"))
    }

    @Test func getConfUnits() throws {
        #expect(try Self.strata(["getConf", "--unit", "KB", "strata.network.max.inbound.message.size"]).standardOutput == "16384\n")
        #expect(try Self.strata(["getConf", "--unit", "S", "strata.user.rpc.deadline"]).standardOutput == "30\n")
        let wrong = try Self.strata(["getConf", "--unit", "KB", "strata.master.rpc.port"])
        #expect(wrong.status != 0)
        #expect(wrong.standardError.contains("--unit applies to sizes and durations"))
    }

    @Test func getConfErrors() throws {
        let unknown = try Self.strata(["getConf", "strata.no.such.key"])
        #expect(unknown.status == 1)
        #expect(unknown.standardError == "Error: strata.no.such.key is not a valid configuration key\n")
        let bad = try Self.strata(["getConf"], environment: ["STRATA_MASTER_RPC_PORT": "nineteen"])
        #expect(bad.status == 1)
        #expect(bad.standardError.contains("invalid value 'nineteen' for strata.master.rpc.port from ENVIRONMENT (STRATA_MASTER_RPC_PORT)"))
    }

    @Test func pingAndRemoteGetConf() async throws {
        try await ProcessHarness.with("cli-ping") { harness in
            let ports = try await ProcessHarness.freePorts(3)
            let properties = [
                "strata.home": harness.directory + "/jm",
                "strata.job.master.bind.host": "127.0.0.1",
                "strata.job.master.rpc.port": "\(ports[0])",
                "strata.job.master.embedded.journal.port": "\(ports[1])",
                "strata.job.master.web.port": "\(ports[2])",
            ]
            let format = try harness.start("strata", name: "jm-format", properties: properties, arguments: ["format"])
            #expect(try await format.waitForExit() == 0, "\(format.log())")
            let process = try harness.start("strata-jobmaster", name: "jm", properties: properties)
            try await process.waitUntilServing(at: HostAndPort(host: "127.0.0.1", port: ports[0]))
            let ping = try Self.strata(["ping", "127.0.0.1:\(ports[0])"])
            #expect(ping.status == 0)
            #expect(ping.standardOutput.hasPrefix("127.0.0.1:\(ports[0]): strata-jobmaster \(StrataVersion.release) is up\n"))
            #expect(ping.standardOutput.contains("pid:      \(process.pid)"))
            #expect(ping.standardOutput.contains("ports:    rpc \(ports[0]), embedded-journal \(ports[1]), web \(ports[2])"))

            let remote = try Self.strata(["getConf", "--address", "127.0.0.1:\(ports[0])", "--source", "strata.job.master.rpc.port"])
            #expect(remote.standardOutput.hasPrefix("\(ports[0]) (SITE_PROPERTY ("))

            _ = try await process.stop()
            let down = try Self.strata(["ping", "127.0.0.1:\(ports[0])", "--timeout", "2s"])
            #expect(down.status == 1)
            #expect(down.standardError == "Error: 127.0.0.1:\(ports[0]) is not reachable: cannot connect to 127.0.0.1:\(ports[0]): connection refused\n")
        }
    }

    @Test func pingRefusesBadInput() throws {
        let address = try Self.strata(["ping", "nowhere"])
        #expect(address.status != 0)
        #expect(address.standardError.contains("invalid address 'nowhere'"))
        let timeout = try Self.strata(["ping", "localhost:1", "--timeout", "soon"])
        #expect(timeout.standardError.contains("invalid --timeout 'soon'"))
    }
}

/// A client written in Python from docs/wire-protocol.md alone talks to a real process. If this
/// failed, the documented framing would not be the framing Strata speaks.
@Suite struct WireInteropTests {
    @Test func pythonClientFromTheDocsTalksToAWorker() async throws {
        try await ProcessHarness.with("interop") { harness in
            let ports = try await ProcessHarness.freePorts(3)
            let process = try harness.start("strata-worker", name: "w", properties: [
                "strata.worker.bind.host": "127.0.0.1",
                "strata.worker.rpc.port": "\(ports[0])",
                "strata.job.worker.rpc.port": "\(ports[1])",
                "strata.worker.web.port": "\(ports[2])",
            ])
            try await process.waitUntilServing(at: HostAndPort(host: "127.0.0.1", port: ports[0]))
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("interop/wire_client.py").path
            let python = Process()
            python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            python.arguments = ["python3", script, "127.0.0.1:\(ports[0])", "--garbage"]
            let out = Pipe()
            python.standardOutput = out
            try python.run()
            let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            python.waitUntilExit()
            #expect(python.terminationStatus == 0)
            #expect(output == """
                garbage connection closed
                kind=3
                version=\(StrataVersion.release)
                node_id=worker@localhost:\(ports[0])
                serving=True
                ports=rpc:\(ports[0]),job-worker-rpc:\(ports[1]),web:\(ports[2])

                """)
        }
    }
}
