import ArgumentParser
import StrataCore
import StrataWire

/// `strata getConf [KEY] [--source] [--unit UNIT] [--address HOST:PORT | --master]`, as Alluxio's.
struct GetConfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "getConf",
        abstract: "Print configuration: one property's value, or every property as name=value.",
        discussion: "Without --address or --master the configuration this command itself would use is shown.")

    @Argument(help: "The property to print, such as strata.master.rpc.port.")
    var key: String?

    @Flag(name: .long, help: "Also print where each value came from.")
    var source = false

    @Option(name: .long, help: "Print a size or duration in this unit: B, KB, MB, GB, TB or MS, S, MIN, HOUR, DAY.")
    var unit: String?

    @Option(name: .long, help: "Show the configuration of the running process at HOST:PORT.")
    var address: String?

    @Flag(name: .long, help: "Show the configuration of the master at strata.master.hostname:strata.master.rpc.port.")
    var master = false

    func run() async throws {
        let local = try CommandContext.loadConfiguration()
        if let key, PropertyKey.named(key) == nil {
            throw CommandFailure("\(key) is not a valid configuration key")
        }
        let properties = try await fetch(local)
        if let key {
            guard let property = properties.first(where: { $0.name == key }) else {
                throw CommandFailure("\(key) is not a valid configuration key")
            }
            print(try render(property, forKey: PropertyKey.named(key)!) + (source ? " (\(property.source))" : ""))
            return
        }
        guard unit == nil else { throw CommandFailure("--unit needs a property name") }
        for property in properties {
            print("\(property.name)=\(property.value)" + (source ? " (\(property.source))" : ""))
        }
    }

    private func fetch(_ local: Configuration) async throws -> [ConfigProperty] {
        var target: HostAndPort? = nil
        if let address {
            guard let parsed = HostAndPort(parsing: address) else { throw CommandFailure("invalid address '\(address)': expected HOST:PORT") }
            target = parsed
        } else if master {
            target = HostAndPort(host: local.string(.masterHostname), port: local.integer(.masterRpcPort))
        }
        guard let target else {
            return PropertyKey.registry.map { key in
                let entry = local.entry(key)
                return ConfigProperty(name: key.name, value: entry?.text ?? "", source: entry?.source.description ?? "UNSET",
                                      summary: key.summary, type: key.type.description)
            }
        }
        let client = RPCClient(address: target, configuration: local)
        do {
            let response = try await client.call(ServiceMethods.getConfiguration,
                                                 GetConfigurationRequest(names: key.map { [$0] } ?? []), deadline: .seconds(10))
            await client.close()
            return response.properties
        } catch {
            await client.close()
            throw CommandFailure("cannot read the configuration of \(target): \(error.message)")
        }
    }

    private func render(_ property: ConfigProperty, forKey key: PropertyKey) throws -> String {
        guard let unit else { return property.value }
        switch key.type {
        case .size:
            guard let bytes = ByteSize.parse(property.value), let converted = ByteSize.convert(bytes, toUnit: unit) else {
                throw CommandFailure("invalid unit '\(unit)' for size property \(key.name): expected B, KB, MB, GB, TB or PB")
            }
            return converted
        case .duration:
            guard let duration = DurationText.parse(property.value), let converted = DurationText.convert(duration, toUnit: unit) else {
                throw CommandFailure("invalid unit '\(unit)' for duration property \(key.name): expected MS, S, MIN, HOUR or DAY")
            }
            return converted
        default:
            throw CommandFailure("--unit applies to sizes and durations; \(key.name) is \(key.type)")
        }
    }
}
