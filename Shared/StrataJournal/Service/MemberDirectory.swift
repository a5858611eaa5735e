import NIOConcurrencyHelpers
import StrataCore
import StrataWire

/// Embedded-journal address → RPC address of every member of a quorum, for leader hints and
/// reports. Starts from the configuration (`JournalDomain.rpcAddressOfJournal`); a member added
/// to the quorum at run time is not configured on the others, so its RPC address is asked of the
/// member itself (GetServiceInfo on its journal port, which names its hostname and RPC port) and kept.
public final class MemberDirectory: Sendable {
    private struct State {
        var known: [HostAndPort: HostAndPort]
        /// When an unanswered lookup may be tried again, so that a dead member is not asked on
        /// every request.
        var retryAfter: [HostAndPort: ContinuousClock.Instant] = [:]
        /// RPC address → web UI address, for links between masters' web pages.
        var webOfRPC: [HostAndPort: HostAndPort] = [:]
    }

    private let state: NIOLockedValueBox<State>

    public init(configured: [HostAndPort: HostAndPort]) {
        state = NIOLockedValueBox(State(known: configured))
    }

    /// The RPC address of the member at `journal`, if already known.
    public func known(_ journal: HostAndPort) -> HostAndPort? {
        state.withLockedValue { $0.known[journal] }
    }

    /// The RPC address of the member at `journal`, asking it if needed (at most once a second).
    public func resolve(_ journal: HostAndPort) async -> HostAndPort? {
        if let known = state.withLockedValue({ $0.known[journal] }) { return known }
        guard let info = await serviceInfo(at: journal), let rpc = info.ports.first(where: { $0.name == "rpc" }) else { return nil }
        let resolved = HostAndPort(host: info.hostname, port: Int(rpc.port))
        state.withLockedValue { $0.known[journal] = resolved }
        return resolved
    }

    /// The web UI address of the member whose RPC address is `rpc` (its ServiceInfo names its
    /// web port), asked once and kept.
    public func webAddress(ofRPC rpc: HostAndPort) async -> HostAndPort? {
        if let known = state.withLockedValue({ $0.webOfRPC[rpc] }) { return known }
        guard let web = await serviceInfo(at: rpc)?.ports.first(where: { $0.name == "web" }) else { return nil }
        let resolved = HostAndPort(host: rpc.host, port: Int(web.port))
        state.withLockedValue { $0.webOfRPC[rpc] = resolved }
        return resolved
    }

    /// GetServiceInfo of the process at `address`; nil if it does not answer (then not asked
    /// again for a second, so that a dead member is not asked on every request).
    private func serviceInfo(at address: HostAndPort) async -> ServiceInfo? {
        let now = ContinuousClock.now
        if let retry = state.withLockedValue({ $0.retryAfter[address] }), retry > now { return nil }
        let client = RPCClient(address: address, frameSizeMaxBytes: 1 << 20, connectTimeout: .milliseconds(300))
        let info = try? await client.call(ServiceMethods.getServiceInfo, GetServiceInfoRequest(), deadline: .seconds(1))
        await client.close()
        state.withLockedValue { $0.retryAfter[address] = info == nil ? now + .seconds(1) : nil }
        return info
    }
}
