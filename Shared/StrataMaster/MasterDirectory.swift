import NIOConcurrencyHelpers
import StrataCore
import StrataWire

/// Embedded-journal address → RPC address of every master, for leader hints and reports.
/// Starts from the configuration (`MasterAddresses.rpcAddressOfJournal`); a master added to the
/// quorum at run time is not configured on the others, so its RPC address is asked of the master
/// itself (GetServiceInfo on its journal port, which names its hostname and RPC port) and kept.
public final class MasterDirectory: Sendable {
    private struct State {
        var known: [HostAndPort: HostAndPort]
        /// When an unanswered lookup may be tried again, so that a dead master is not asked on
        /// every request.
        var retryAfter: [HostAndPort: ContinuousClock.Instant] = [:]
    }

    private let state: NIOLockedValueBox<State>

    public init(configured: [HostAndPort: HostAndPort]) {
        state = NIOLockedValueBox(State(known: configured))
    }

    /// The RPC address of the master at `journal`, if already known.
    public func known(_ journal: HostAndPort) -> HostAndPort? {
        state.withLockedValue { $0.known[journal] }
    }

    /// The RPC address of the master at `journal`, asking it if needed (at most once a second).
    public func resolve(_ journal: HostAndPort) async -> HostAndPort? {
        let now = ContinuousClock.now
        let cached: HostAndPort?? = state.withLockedValue { state in
            if let known = state.known[journal] { return .some(known) }
            if let retry = state.retryAfter[journal], retry > now { return .some(nil) }
            return nil
        }
        if let cached { return cached }
        let client = RPCClient(address: journal, frameSizeMaxBytes: 1 << 20, connectTimeout: .milliseconds(300))
        let info = try? await client.call(ServiceMethods.getServiceInfo, GetServiceInfoRequest(), deadline: .seconds(1))
        await client.close()
        let resolved = info.flatMap { info in
            info.ports.first { $0.name == "rpc" }.map { HostAndPort(host: info.hostname, port: Int($0.port)) }
        }
        state.withLockedValue { state in
            if let resolved {
                state.known[journal] = resolved
                state.retryAfter[journal] = nil
            } else {
                state.retryAfter[journal] = now + .seconds(1)
            }
        }
        return resolved
    }
}
