import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StrataCore

/// Real ZooKeeper servers for tests, from Debian's `zookeeper` package: one standalone server or
/// an ensemble of three, on free loopback ports, each with its own data folder. Servers can be
/// stopped (kill -9) and started again on the same ports and data.
public final class ZooKeeperEnsemble: Sendable {
    public struct Server: Sendable {
        public let id: Int
        public let clientPort: Int
        public let directory: String
    }

    public let servers: [Server]
    /// Tick of the servers: sessions may last from 2 to 20 ticks unless configured otherwise.
    public static let tickMilliseconds = 200
    private let harness: ProcessHarness
    private let processes = NIOLockedValueBox<[Int: TestProcess]>([:])
    private let generation = NIOLockedValueBox(0)

    /// `host:port,…` for clients.
    /// The address the servers take clients on (loopback, or a `TestNetwork`'s gateway so that
    /// its hosts reach them).
    public let clientAddress: String
    public var connectString: String { servers.map { "\(clientAddress):\($0.clientPort)" }.joined(separator: ",") }

    /// The Java class path: the server jar (its manifest names its dependencies) and a logger.
    static let classPath = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar"

    /// Starts `count` (1 or 3) servers, taking clients on `clientAddress`, and waits until they serve.
    public static func start(_ harness: ProcessHarness, count: Int = 1, clientAddress: String = "127.0.0.1") async throws -> ZooKeeperEnsemble {
        precondition(count == 1 || count == 3, "a test ensemble has 1 or 3 servers")
        guard FileManager.default.fileExists(atPath: "/usr/share/java/zookeeper.jar") else {
            throw HarnessError("ZooKeeper is not installed (/usr/share/java/zookeeper.jar): run scripts/setup (Debian package zookeeper)")
        }
        let ports = try await ProcessHarness.freePorts(count * 3)
        var servers: [Server] = []
        for position in 0..<count {
            let id = position + 1
            let directory = harness.directory + "/zookeeper\(id)"
            try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
            var config = """
                tickTime=\(tickMilliseconds)
                initLimit=20
                syncLimit=10
                dataDir=\(directory)/data
                clientPort=\(ports[position])
                clientPortAddress=\(clientAddress)
                admin.enableServer=false
                minSessionTimeout=\(2 * tickMilliseconds)
                maxSessionTimeout=120000
                4lw.commands.whitelist=srvr,ruok
                maxClientCnxns=200

                """
            if count > 1 {
                try "\(id)\n".write(toFile: directory + "/data/myid", atomically: true, encoding: .utf8)
                for other in 0..<count {
                    config += "server.\(other + 1)=127.0.0.1:\(ports[count + other]):\(ports[2 * count + other])\n"
                }
            }
            try config.write(toFile: directory + "/zoo.cfg", atomically: true, encoding: .utf8)
            servers.append(Server(id: id, clientPort: ports[position], directory: directory))
        }
        let ensemble = ZooKeeperEnsemble(servers: servers, harness: harness, clientAddress: clientAddress)
        for server in servers { try ensemble.launch(server) }
        for server in servers { try await ensemble.waitServing(server) }
        return ensemble
    }

    private init(servers: [Server], harness: ProcessHarness, clientAddress: String) {
        self.servers = servers
        self.harness = harness
        self.clientAddress = clientAddress
    }

    private func launch(_ server: Server) throws {
        let count = generation.withLockedValue { $0 += 1; return $0 }
        let process = try harness.startExternal(
            "/usr/bin/java", name: "zookeeper\(server.id)-\(count)", directory: server.directory,
            arguments: ["-Xmx256m", "-cp", Self.classPath, "org.apache.zookeeper.server.quorum.QuorumPeerMain", server.directory + "/zoo.cfg"])
        processes.withLockedValue { $0[server.id] = process }
    }

    /// The id of the server that says it leads the ensemble (`srvr`: "Mode: leader"), if one does.
    public func leaderID() async -> Int? {
        for server in servers where await mode(of: server.id) == "leader" { return server.id }
        return nil
    }

    /// What server `id` says it is (`srvr`'s mode: "leader", "follower", "standalone"), or nil if
    /// it does not answer.
    public func mode(of id: Int) async -> String? {
        guard let answer = try? await Self.fourLetterWord("srvr", host: clientAddress, port: servers[id - 1].clientPort),
              let line = answer.split(separator: "\n").first(where: { $0.hasPrefix("Mode: ") }) else { return nil }
        return String(line.dropFirst("Mode: ".count)).trimmingCharacters(in: .whitespaces)
    }

    /// The running process of server `id` (1-based), to signal it.
    public func process(_ id: Int) -> TestProcess? {
        processes.withLockedValue { $0[id] }
    }

    /// kill -9 of server `id` (1-based).
    public func kill(_ id: Int) {
        processes.withLockedValue { $0[id] }?.kill()
    }

    /// Starts server `id` again on its port and data, and waits until it serves (for an
    /// ensemble: until it has joined a quorum).
    public func restart(_ id: Int) async throws {
        let server = servers[id - 1]
        try launch(server)
        try await waitServing(server)
    }

    /// Waits until the server answers `srvr` with its mode (it serves requests).
    public func waitServing(_ server: Server, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let answer = try? await Self.fourLetterWord("srvr", host: clientAddress, port: server.clientPort), answer.contains("Mode:") { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let log = processes.withLockedValue { $0[server.id] }?.log() ?? ""
        throw HarnessError("ZooKeeper server \(server.id) did not serve on port \(server.clientPort) within \(timeout):\n\(log.suffix(4000))")
    }

    /// Sends a four-letter command and returns the answer; gives up after `timeout` (a server
    /// still starting may accept a connection and answer nothing).
    static func fourLetterWord(_ word: String, host: String = "127.0.0.1", port: Int, timeout: Duration = .seconds(2)) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(1))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        // Closing the channel after the timeout ends the read below.
        let closer = channel.channel.eventLoop.scheduleTask(in: .milliseconds(timeout.milliseconds)) {
            channel.channel.close(promise: nil)
        }
        defer { closer.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: word))
            var answer = ""
            for try await var chunk in inbound { answer += chunk.readString(length: chunk.readableBytes) ?? "" }
            return answer
        }
    }
}

