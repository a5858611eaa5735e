/// Messages of service.proto: process identity, health and configuration.

/// Which kind of Strata process answers (strata.ServiceKind).
public enum ServiceKind: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case unknown = 0
    case master = 1
    case jobMaster = 2
    case worker = 3
    case journalNode = 4
    case secondaryMaster = 5

    /// The executable's name, as operators know it.
    public var description: String {
        switch self {
        case .unknown: "unknown"
        case .master: "strata-master"
        case .jobMaster: "strata-jobmaster"
        case .worker: "strata-worker"
        case .journalNode: "strata-journal-node"
        case .secondaryMaster: "strata-secondary-master"
        }
    }
}

public struct NamedPort: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.NamedPort")
    public var name: String
    public var port: UInt32

    public init(name: String, port: UInt32) {
        self.name = name
        self.port = port
    }
    public init(proto: ProtoMessage) throws(WireError) {
        name = proto.string(1)
        port = proto.uint32(2)
    }
    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, name)
        proto.set(2, port)
        return proto
    }
}

public struct GetServiceInfoRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.GetServiceInfoRequest")
    public init() {}
    public init(proto: ProtoMessage) throws(WireError) {}
    public var proto: ProtoMessage { ProtoMessage() }
}

/// Who a process is and whether it serves: the answer to the version/health call.
public struct ServiceInfo: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.ServiceInfo")
    public var kind: ServiceKind
    public var version: String
    public var protocolVersion: UInt32
    public var nodeID: String
    public var hostname: String
    public var startTimeMilliseconds: UInt64
    public var uptimeMilliseconds: UInt64
    public var serving: Bool
    public var role: String
    public var ports: [NamedPort]
    public var pid: UInt32

    public init(
        kind: ServiceKind, version: String, protocolVersion: UInt32, nodeID: String, hostname: String,
        startTimeMilliseconds: UInt64, uptimeMilliseconds: UInt64, serving: Bool, role: String,
        ports: [NamedPort], pid: UInt32
    ) {
        self.kind = kind
        self.version = version
        self.protocolVersion = protocolVersion
        self.nodeID = nodeID
        self.hostname = hostname
        self.startTimeMilliseconds = startTimeMilliseconds
        self.uptimeMilliseconds = uptimeMilliseconds
        self.serving = serving
        self.role = role
        self.ports = ports
        self.pid = pid
    }

    public init(proto: ProtoMessage) throws(WireError) {
        kind = try proto.enumeration(1, as: ServiceKind.self)
        version = proto.string(2)
        protocolVersion = proto.uint32(3)
        nodeID = proto.string(4)
        hostname = proto.string(5)
        startTimeMilliseconds = proto.uint64(6)
        uptimeMilliseconds = proto.uint64(7)
        serving = proto.bool(8)
        role = proto.string(9)
        ports = try proto.messages(10, as: NamedPort.self)
        pid = proto.uint32(11)
    }

    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, kind)
        proto.set(2, version)
        proto.set(3, protocolVersion)
        proto.set(4, nodeID)
        proto.set(5, hostname)
        proto.set(6, startTimeMilliseconds)
        proto.set(7, uptimeMilliseconds)
        proto.set(8, serving)
        proto.set(9, role)
        proto.set(10, ports)
        proto.set(11, pid)
        return proto
    }
}

public struct GetConfigurationRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.GetConfigurationRequest")
    /// Property names to return; empty for every property.
    public var names: [String]

    public init(names: [String] = []) { self.names = names }
    public init(proto: ProtoMessage) throws(WireError) { names = proto.strings(1) }
    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, names)
        return proto
    }
}

public struct ConfigProperty: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.ConfigProperty")
    public var name: String
    public var value: String
    public var source: String
    public var summary: String
    public var type: String

    public init(name: String, value: String, source: String, summary: String, type: String) {
        self.name = name
        self.value = value
        self.source = source
        self.summary = summary
        self.type = type
    }
    public init(proto: ProtoMessage) throws(WireError) {
        name = proto.string(1)
        value = proto.string(2)
        source = proto.string(3)
        summary = proto.string(4)
        type = proto.string(5)
    }
    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, name)
        proto.set(2, value)
        proto.set(3, source)
        proto.set(4, summary)
        proto.set(5, type)
        return proto
    }
}

public struct GetConfigurationResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.GetConfigurationResponse")
    public var properties: [ConfigProperty]

    public init(properties: [ConfigProperty]) { self.properties = properties }
    public init(proto: ProtoMessage) throws(WireError) { properties = try proto.messages(1, as: ConfigProperty.self) }
    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, properties)
        return proto
    }
}

public struct EchoRequest: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.EchoRequest")
    public var data: [UInt8]
    public var repeatCount: UInt32
    public var delayMilliseconds: UInt32

    public init(data: [UInt8], repeatCount: UInt32 = 0, delayMilliseconds: UInt32 = 0) {
        self.data = data
        self.repeatCount = repeatCount
        self.delayMilliseconds = delayMilliseconds
    }
    public init(proto: ProtoMessage) throws(WireError) {
        data = proto.bytes(1)
        repeatCount = proto.uint32(2)
        delayMilliseconds = proto.uint32(3)
    }
    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, data)
        proto.set(2, repeatCount)
        proto.set(3, delayMilliseconds)
        return proto
    }
}

public struct EchoResponse: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.EchoResponse")
    public var data: [UInt8]
    public var sequence: UInt32

    public init(data: [UInt8], sequence: UInt32 = 0) {
        self.data = data
        self.sequence = sequence
    }
    public init(proto: ProtoMessage) throws(WireError) {
        data = proto.bytes(1)
        sequence = proto.uint32(2)
    }
    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, data)
        proto.set(2, sequence)
        return proto
    }
}
