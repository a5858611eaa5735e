import ArgumentParser
import StrataCore
import StrataWire

/// `strata ping HOST:PORT`: is a Strata process up there, and what is it?
struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Report whether the Strata process at HOST:PORT is up, and what it is.",
        discussion: "Exits 0 when the process answers and serves, 1 otherwise.")

    @Argument(help: "The process's RPC address, such as localhost:19998.")
    var address: String

    @Option(name: .long, help: "How long to wait for an answer, such as 2s or 500ms.")
    var timeout: String = "5s"

    func run() async throws {
        guard let target = HostAndPort(parsing: address) else {
            throw CommandFailure("invalid address '\(address)': expected HOST:PORT")
        }
        guard let deadline = DurationText.parse(timeout), deadline > .zero else {
            throw CommandFailure("invalid --timeout '\(timeout)': expected a duration such as 2s")
        }
        let configuration = try CommandContext.loadConfiguration()
        let client = RPCClient(address: target, configuration: configuration)
        let info: ServiceInfo
        do {
            info = try await client.call(ServiceMethods.getServiceInfo, GetServiceInfoRequest(), deadline: deadline)
        } catch {
            await client.close()
            throw CommandFailure("\(target) is not reachable: \(error.message)")
        }
        await client.close()
        let ports = info.ports.map { "\($0.name) \($0.port)" }.joined(separator: ", ")
        let uptime = info.uptimeMilliseconds < 1000 ? "\(info.uptimeMilliseconds)ms" : "\(info.uptimeMilliseconds / 1000)s"
        print("\(target): \(info.kind) \(info.version) is \(info.serving ? "up" : "starting")")
        print("  node id:  \(info.nodeID)")
        print("  role:     \(info.role)")
        print("  pid:      \(info.pid)")
        print("  uptime:   \(uptime)")
        print("  ports:    \(ports)")
        if !info.serving { throw ExitCode(1) }
    }
}
