import Foundation
import NIOConcurrencyHelpers
import StrataCore
import StrataWire

/// Who this process is, as reported by GetServiceInfo.
final class ServiceIdentity: Sendable {
    let kind: ServiceKind
    let nodeID: String
    let hostname: String
    let startTime: Date
    let startInstant: ContinuousClock.Instant
    let ports = NIOLockedValueBox<[NamedPort]>([])
    let serving = NIOLockedValueBox(false)
    let role: (@Sendable () async -> String)?

    init(kind: ServiceKind, nodeID: String, hostname: String, startTime: Date, startInstant: ContinuousClock.Instant,
         role: (@Sendable () async -> String)? = nil) {
        self.kind = kind
        self.nodeID = nodeID
        self.hostname = hostname
        self.startTime = startTime
        self.startInstant = startInstant
        self.role = role
    }

    func currentInfo() async -> ServiceInfo {
        var info = self.info
        if let role { info.role = await role() }
        return info
    }

    var info: ServiceInfo {
        ServiceInfo(
            kind: kind, version: StrataVersion.release, protocolVersion: UInt32(StrataVersion.wireProtocol),
            nodeID: nodeID, hostname: hostname,
            startTimeMilliseconds: UInt64(startTime.timeIntervalSince1970 * 1000),
            uptimeMilliseconds: UInt64(max(0, (ContinuousClock.now - startInstant).milliseconds)),
            serving: serving.withLockedValue { $0 }, role: "STANDALONE",
            ports: ports.withLockedValue { $0 }, pid: UInt32(getpid()))
    }
}
