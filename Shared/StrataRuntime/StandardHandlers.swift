import StrataCore
import StrataWire

/// The calls every Strata process answers: identity and health, configuration, echo.
enum StandardHandlers {
    /// Longest delay an echo may be asked to wait, so a request cannot pin a task for long.
    static let echoDelayMaxMilliseconds: UInt32 = 60_000
    /// Most items one streaming echo may be asked for.
    static let echoStreamItemsMax: UInt32 = 1_000_000

    static func make(identity: ServiceIdentity, configuration: Configuration) -> RPCHandlers {
        var handlers = RPCHandlers()
        handlers.register(ServiceMethods.getServiceInfo) { _, _ in await identity.currentInfo() }
        handlers.register(ServiceMethods.getConfiguration) { request, _ in
            var properties: [ConfigProperty] = []
            let keys: [PropertyKey]
            if request.names.isEmpty {
                keys = PropertyKey.registry
            } else {
                keys = try request.names.map { name in
                    guard let key = PropertyKey.named(name) else {
                        throw RPCError(.notFound, "\(name) is not a valid configuration key")
                    }
                    return key
                }
            }
            for key in keys {
                let entry = configuration.entry(key)
                properties.append(ConfigProperty(name: key.name, value: entry?.text ?? "",
                                                 source: entry?.source.description ?? "UNSET",
                                                 summary: key.summary, type: key.type.description))
            }
            return GetConfigurationResponse(properties: properties)
        }
        handlers.register(ServiceMethods.echo) { request, _ in
            guard request.delayMilliseconds <= echoDelayMaxMilliseconds else {
                throw RPCError(.invalidArgument, "echo delay \(request.delayMilliseconds)ms exceeds \(echoDelayMaxMilliseconds)ms")
            }
            if request.delayMilliseconds > 0 { try await Task.sleep(for: .milliseconds(Int64(request.delayMilliseconds))) }
            return EchoResponse(data: request.data)
        }
        handlers.register(ServiceMethods.echoStream) { request, context, writer in
            guard request.repeatCount <= echoStreamItemsMax else {
                throw RPCError(.invalidArgument, "echo stream of \(request.repeatCount) items exceeds \(echoStreamItemsMax)")
            }
            for sequence in 0..<request.repeatCount {
                try await writer.send(EchoResponse(data: request.data, sequence: sequence), payload: context.payload)
            }
        }
        return handlers
    }
}
