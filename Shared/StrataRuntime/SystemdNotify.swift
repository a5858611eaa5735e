import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import StrataCore

/// The systemd notification protocol (sd_notify(3)) without libsystemd: one datagram with the
/// new state to the unix socket named by `NOTIFY_SOCKET`, set by systemd for `Type=notify`
/// units. Outside systemd (no `NOTIFY_SOCKET`) nothing is sent.
public enum SystemdNotify {
    /// Sends `state` (`READY=1`, `STOPPING=1`, `STATUS=…`); a failure is logged, never fatal.
    public static func send(_ state: String, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) async {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return }
        guard path.hasPrefix("/") else {
            logger.warning("NOTIFY_SOCKET=\(path) is an abstract socket, which Strata does not support (systemd itself uses a path); systemd is not told \(state)")
            return
        }
        do {
            let address = try SocketAddress(unixDomainSocketPath: path)
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(to: address).get()
            try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: ByteBuffer(string: state))).get()
            try await channel.close().get()
        } catch {
            logger.warning("cannot tell systemd \(state) at NOTIFY_SOCKET=\(path): \(error)")
        }
    }
}

/// Tells systemd `READY=1` once the process serves (`serving` rings), and `STOPPING=1` as soon
/// as a graceful shutdown begins (listed last in the service group, so it is the first to hear
/// of it).
struct SystemdNotifier: Service {
    let logger: Logger
    let serving: Doorbell

    func run() async throws {
        // A shutdown before the process serves cancels the wait: no READY then.
        let ready = (try? await cancelWhenGracefulShutdown { await serving.wait(); return !Task.isCancelled }) ?? false
        if ready { await SystemdNotify.send("READY=1\nSTATUS=serving", logger: logger) }
        try? await gracefulShutdown()
        await SystemdNotify.send("STOPPING=1", logger: logger)
    }
}
