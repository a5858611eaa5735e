/// A unary RPC: one request message, one response message.
///
/// Method ids are part of the wire format: the high 16 bits name the service, the low 16 bits the
/// method (docs/wire-protocol.md lists them). Declare methods in an enum namespace per service.
public struct RPCMethod<Request: WireMessage, Response: WireMessage>: Sendable, CustomStringConvertible {
    public let id: UInt32
    public let name: String

    public init(id: UInt32, name: String) {
        self.id = id
        self.name = name
    }

    public var description: String { "\(name) (0x\(String(id, radix: 16)))" }
}

/// A server-streaming RPC: one request, then a flow-controlled sequence of items.
public struct RPCStreamMethod<Request: WireMessage, Item: WireMessage>: Sendable, CustomStringConvertible {
    public let id: UInt32
    public let name: String

    public init(id: UInt32, name: String) {
        self.id = id
        self.name = name
    }

    public var description: String { "\(name) (0x\(String(id, radix: 16)))" }
}

/// Methods every Strata process answers (service 0x0001).
public enum ServiceMethods {
    public static let getServiceInfo = RPCMethod<GetServiceInfoRequest, ServiceInfo>(id: 0x0001_0001, name: "Service.GetServiceInfo")
    public static let getConfiguration = RPCMethod<GetConfigurationRequest, GetConfigurationResponse>(id: 0x0001_0002, name: "Service.GetConfiguration")
    public static let echo = RPCMethod<EchoRequest, EchoResponse>(id: 0x0001_0003, name: "Service.Echo")
    public static let echoStream = RPCStreamMethod<EchoRequest, EchoResponse>(id: 0x0001_0004, name: "Service.EchoStream")
}

/// Limits of the RPC protocol shared by both ends.
public enum RPCLimits {
    /// Items a server may send on a stream before the client grants more (initial window).
    public static let streamWindowItems: UInt32 = 16
    /// Calls one connection may have in flight at a server; more are refused with UNAVAILABLE.
    public static let callsInFlightMaxPerConnection = 4096
}
