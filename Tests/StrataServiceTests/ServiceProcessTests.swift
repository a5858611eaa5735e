import Foundation
import StrataCore
import StrataTesting
import StrataWire
import Testing

/// The four service executables as real processes on loopback.
@Suite struct ServiceProcessTests {
    /// How each executable is told its ports, and which named ports it must report.
    struct Layout: Sendable, CustomStringConvertible {
        let executable: String
        let kind: ServiceKind
        /// Port properties in the order the process binds them; the first is its RPC port.
        let portProperties: [String]
        let portNames: [String]
        var extra: [String: String] = [:]
        var description: String { executable }
    }

    static let layouts: [Layout] = [
        Layout(executable: "strata-master", kind: .master,
               portProperties: ["strata.master.rpc.port", "strata.master.embedded.journal.port", "strata.master.web.port"],
               portNames: ["rpc", "embedded-journal", "web"]),
        Layout(executable: "strata-jobmaster", kind: .jobMaster,
               portProperties: ["strata.job.master.rpc.port", "strata.job.master.embedded.journal.port", "strata.job.master.web.port"],
               portNames: ["rpc", "embedded-journal", "web"]),
        Layout(executable: "strata-worker", kind: .worker,
               portProperties: ["strata.worker.rpc.port", "strata.job.worker.rpc.port", "strata.worker.web.port"],
               portNames: ["rpc", "job-worker-rpc", "web"]),
        Layout(executable: "strata-journal-node", kind: .journalNode,
               portProperties: ["strata.master.embedded.journal.port", "strata.job.master.embedded.journal.port", "strata.journal.node.web.port"],
               portNames: ["master-journal", "job-master-journal", "web"],
               extra: ["strata.journal.node.domains": "MASTER,JOB_MASTER"]),
    ]

    /// A plain HTTP GET on loopback, answered body only.
    static func httpGet(port: Int, path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys,urllib.request;sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:\(port)\(path)',timeout=5).read().decode())"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let body = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return body
    }

    /// Starts `layout`'s executable; a master (or job master) first gets a formatted journal and a
    /// root under storage in its own folder.
    static func start(_ layout: Layout, harness: ProcessHarness, name: String, properties: [String: String], arguments: [String] = [],
                      environment: [String: String] = [:]) async throws -> TestProcess {
        var properties = properties
        if layout.kind == .master {
            let home = harness.directory + "/" + name
            properties["strata.home"] = home
            properties["strata.master.hostname"] = "127.0.0.1"
            properties["strata.master.embedded.journal.addresses"] = "127.0.0.1:\(properties["strata.master.embedded.journal.port"] ?? "19200")"
            try FileManager.default.createDirectory(atPath: home + "/underFSStorage", withIntermediateDirectories: true)
            let format = try harness.start("strata", name: name, properties: properties, arguments: ["format"])
            try #require(try await format.waitForExit() == 0, "format: \(format.log())")
        } else if layout.kind == .jobMaster {
            properties["strata.home"] = harness.directory + "/" + name
            properties["strata.job.master.hostname"] = "127.0.0.1"
            properties["strata.job.master.embedded.journal.addresses"] = "127.0.0.1:\(properties["strata.job.master.embedded.journal.port"] ?? "20003")"
            let format = try harness.start("strata", name: name + "-format", properties: properties, arguments: ["formatJournal", "--job-only"])
            try #require(try await format.waitForExit() == 0, "format: \(format.log())")
        } else if layout.kind == .journalNode {
            // A journal node of two quorums whose one serving member (nothing listens there) is down.
            properties["strata.home"] = harness.directory + "/" + name
            properties["strata.journal.node.hostname"] = "127.0.0.1"
            properties["strata.master.rpc.addresses"] = "127.0.0.1:1"
            properties["strata.master.embedded.journal.addresses"] = "127.0.0.1:2,127.0.0.1:\(properties["strata.master.embedded.journal.port"] ?? "19200")"
            properties["strata.job.master.rpc.addresses"] = "127.0.0.1:3"
            properties["strata.job.master.embedded.journal.addresses"] = "127.0.0.1:4,127.0.0.1:\(properties["strata.job.master.embedded.journal.port"] ?? "20003")"
            let format = try harness.start("strata", name: name + "-format", properties: properties, arguments: ["formatJournal", "--journal-node"])
            try #require(try await format.waitForExit() == 0, "format: \(format.log())")
        }
        return try harness.start(layout.executable, name: name, properties: properties, arguments: arguments, environment: environment)
    }

    static func properties(_ layout: Layout, ports: [Int]) -> [String: String] {
        var properties = layout.extra
        for bindHost in ["strata.master.bind.host", "strata.job.master.bind.host", "strata.worker.bind.host", "strata.journal.node.bind.host"] {
            properties[bindHost] = "127.0.0.1"
        }
        for (property, port) in zip(layout.portProperties, ports) { properties[property] = String(port) }
        return properties
    }

    @Test(arguments: layouts)
    func startsServesAndStopsGracefully(layout: Layout) async throws {
        try await ProcessHarness.with("serve-\(layout.executable)") { harness in
            let ports = try await ProcessHarness.freePorts(layout.portProperties.count)
            let process = try await Self.start(layout, harness: harness, name: "p", properties: Self.properties(layout, ports: ports))
            let info = try await process.waitUntilServing(at: HostAndPort(host: "127.0.0.1", port: ports[0]))
            let nodeID = info.nodeID
            try #require(info.kind == layout.kind)
            #expect(info.version == StrataVersion.release)
            #expect(info.pid == UInt32(process.pid))
            try #require(info.ports.map(\.name) == layout.portNames)
            try #require(info.ports.map { Int($0.port) } == ports)
            #expect(info.nodeID.hasSuffix(":\(ports[0])"))
            // Every port answers, not just the first.
            for port in ports.dropFirst().dropLast() {
                try await process.waitUntilServing(at: HostAndPort(host: "127.0.0.1", port: port), timeout: .seconds(5))
            }
            // The web port answers HTTP health checks.
            let health = try Self.httpGet(port: ports.last!, path: "/health")
            #expect(health == "OK\n")
            let webInfo = try Self.httpGet(port: ports.last!, path: "/api/v1/info")
            #expect(webInfo.contains("\"nodeId\":\"\(nodeID)\""), "\(webInfo)")
            #expect(webInfo.contains("\"serving\":true"))
            let status = try await process.stop()
            try #require(status == 0, "graceful stop must exit 0")
            #expect(process.log().contains("stopped"))
        }
    }

    /// systemd's side of NOTIFY_SOCKET: a unix datagram socket (bound by CPython, as systemd's
    /// is by systemd) whose every message lands as one line of `messages`.
    final class NotifySocket: Sendable {
        let path: String
        let output: String
        let process: Process

        init(directory: String) throws {
            path = directory + "/notify.sock"
            output = directory + "/notify.out"
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.bind(sys.argv[1])
                open(sys.argv[2], "w").close()
                while True:
                    message = s.recv(65536).decode().replace("\\n", "|")
                    with open(sys.argv[2], "a") as out: out.write(message + "\\n")
                """, path, output]
            // Not the test's own output: a pipe held open by a child would keep `swift test` waiting.
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// SIGKILL: the child inherits the test process's ignored SIGTERM.
        func close() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        var messages: [String] {
            ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

    }

    /// Under systemd (`Type=notify`) every service says READY=1 once it serves and STOPPING=1 when
    /// a graceful shutdown begins, over the datagram socket in NOTIFY_SOCKET.
    @Test(arguments: layouts)
    func tellsSystemdWhenItIsReadyAndWhenItStops(layout: Layout) async throws {
        try await ProcessHarness.with("notify-\(layout.executable)") { harness in
            let socket = try NotifySocket(directory: harness.directory)
            defer { socket.close() }
            try await JournalNodeTests.waitUntil("the notification socket") { FileManager.default.fileExists(atPath: socket.output) }
            let ports = try await ProcessHarness.freePorts(layout.portProperties.count)
            let process = try await Self.start(layout, harness: harness, name: "p", properties: Self.properties(layout, ports: ports),
                                               environment: ["NOTIFY_SOCKET": socket.path])
            try await JournalNodeTests.waitUntil("READY=1 from \(layout.executable)") { socket.messages.contains("READY=1|STATUS=serving") }
            #expect(process.log().contains("serving (pid"), "READY=1 before serving: \(process.log())")
            #expect(!socket.messages.contains("STOPPING=1"))
            #expect(try await process.stop() == 0)
            try await JournalNodeTests.waitUntil("STOPPING=1 from \(layout.executable)", timeout: .seconds(5)) { socket.messages.contains("STOPPING=1") }
            #expect(socket.messages == ["READY=1|STATUS=serving", "STOPPING=1"], "\(socket.messages)")
        }
    }

    @Test func sigintAlsoStopsGracefully() async throws {
        try await ProcessHarness.with("sigint") { harness in
            let ports = try await ProcessHarness.freePorts(3)
            let process = try harness.start("strata-worker", name: "w", properties: Self.properties(Self.layouts[2], ports: ports))
            try await process.waitUntilServing(at: HostAndPort(host: "127.0.0.1", port: ports[0]))
            process.signal(SIGINT)
            #expect(try await process.waitForExit() == 0)
        }
    }

    @Test func portInUseIsAOneLineErrorAndNonZeroExit() async throws {
        try await ProcessHarness.with("port-in-use") { harness in
            let ports = try await ProcessHarness.freePorts(6)
            let layout = Self.layouts[0]
            let first = try await Self.start(layout, harness: harness, name: "first", properties: Self.properties(layout, ports: [ports[0], ports[1], ports[2]]))
            try await first.waitUntilServing(at: HostAndPort(host: "127.0.0.1", port: ports[0]))
            let second = try await Self.start(layout, harness: harness, name: "second", properties: Self.properties(layout, ports: [ports[0], ports[3], ports[4]]))
            let status = try await second.waitForExit()
            try #require(status == 1)
            let lines = second.log().split(separator: "\n")
            try #require(lines.count == 1, "expected one line")
            #expect(lines.first == "strata-master: cannot listen on 127.0.0.1:\(ports[0]): address already in use (strata.master.rpc.port)")
            // The first process is unaffected.
            try await first.waitUntilServing(at: HostAndPort(host: "127.0.0.1", port: ports[0]), timeout: .seconds(5))
            // The web port in use is refused the same way.
            let third = try await Self.start(layout, harness: harness, name: "third", properties: Self.properties(layout, ports: [ports[3], ports[4], ports[2]]))
            try #require(try await third.waitForExit() == 1)
            let thirdLines = third.log().split(separator: "\n")
            try #require(thirdLines.count == 1, "expected one line")
            #expect(thirdLines.first == "strata-master: cannot listen on 127.0.0.1:\(ports[2]): address already in use (strata.master.web.port)")
        }
    }

    @Test func badPropertyStopsStartUpNamingKeyValueAndSource() async throws {
        try await ProcessHarness.with("bad-property") { harness in
            let process = try harness.start("strata-jobmaster", name: "jm",
                                            properties: ["strata.job.master.rpc.port": "20001", "strata.network.connection.timeout": "3 fortnights"])
            try #require(try await process.waitForExit() == 2)
            let log = process.log()
            #expect(log.contains("invalid value '3 fortnights' for strata.network.connection.timeout"))
            #expect(log.contains("strata-site.properties:3"))
            #expect(!log.contains("Fatal error"))
        }
    }

    @Test func argumentsOverrideTheSiteFileAndUnknownArgumentsAreRefused() async throws {
        try await ProcessHarness.with("arguments") { harness in
            let ports = try await ProcessHarness.freePorts(3)
            var properties = Self.properties(Self.layouts[2], ports: ports)
            properties["strata.worker.rpc.port"] = "1" // privileged: would fail if the argument did not win
            let process = try harness.start("strata-worker", name: "w", properties: properties,
                                            arguments: ["-Dstrata.worker.rpc.port=\(ports[0])"])
            try await process.waitUntilServing(at: HostAndPort(host: "127.0.0.1", port: ports[0]))
            let client = RPCClient(address: HostAndPort(host: "127.0.0.1", port: ports[0]), frameSizeMaxBytes: 1 << 20)
            let configuration = try await client.call(ServiceMethods.getConfiguration, GetConfigurationRequest(names: ["strata.worker.rpc.port"]))
            await client.close()
            #expect(configuration.properties.first?.value == "\(ports[0])")
            #expect(configuration.properties.first?.source == "SYSTEM_PROPERTY (-D)")

            let bad = try harness.start("strata-worker", name: "bad", properties: [:], arguments: ["--frobnicate"])
            #expect(try await bad.waitForExit() == 2)
            #expect(bad.log().contains("unknown argument '--frobnicate'"))
        }
    }

    @Test func clientReconnectsAfterTheProcessIsKilledAndRestarted() async throws {
        try await ProcessHarness.with("restart") { harness in
            let ports = try await ProcessHarness.freePorts(3)
            let properties = Self.properties(Self.layouts[0], ports: ports)
            let address = HostAndPort(host: "127.0.0.1", port: ports[0])
            let first = try await Self.start(Self.layouts[0], harness: harness, name: "m1", properties: properties)
            try await first.waitUntilServing(at: address)
            let client = RPCClient(address: address, frameSizeMaxBytes: 1 << 20)
            let before = try await client.call(ServiceMethods.getServiceInfo, GetServiceInfoRequest())
            first.kill()
            let down = await #expect(throws: RPCError.self) {
                try await client.call(ServiceMethods.getServiceInfo, GetServiceInfoRequest(), deadline: .seconds(2))
            }
            try #require(down?.code == .unavailable)
            let second = try await Self.start(Self.layouts[0], harness: harness, name: "m2", properties: properties)
            try await second.waitUntilServing(at: address)
            let after = try await client.call(ServiceMethods.getServiceInfo, GetServiceInfoRequest())
            #expect(after.pid != before.pid)
            #expect(after.pid == UInt32(second.pid))
            await client.close()
        }
    }
}
