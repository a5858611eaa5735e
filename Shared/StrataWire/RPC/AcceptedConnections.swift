import NIOConcurrencyHelpers
import NIOCore

/// Holds every accepted connection from the moment its `NIOAsyncChannel` is made (in the child
/// channel initializer) until exactly one owner takes it: the task that serves it, or the
/// server's shutdown, which closes the ones nobody took.
///
/// Why: NIO hands accepted connections to the server through an async sequence. When the
/// server stops, connections accepted but not yet read from it are dropped, and a dropped
/// `NIOAsyncChannel` whose writer was never finished traps ("Deinited NIOAsyncWriter without
/// calling finish()", swift-nio #2813). Keeping a reference here means nothing is dropped; once
/// closed, the initializer refuses new connections, so none can slip in after the drain.
final class AcceptedConnections<Inbound: Sendable, Outbound: Sendable>: Sendable {
    private struct State {
        var open = true
        var waiting: [ObjectIdentifier: NIOAsyncChannel<Inbound, Outbound>] = [:]
    }
    private let state = NIOLockedValueBox(State())

    /// Keeps `connection` until it is taken; false (refuse the connection) once closed.
    func admit(_ connection: NIOAsyncChannel<Inbound, Outbound>) -> Bool {
        state.withLockedValue { state in
            guard state.open else { return false }
            state.waiting[ObjectIdentifier(connection.channel)] = connection
            return true
        }
    }

    /// Takes `connection` for serving; false if the shutdown has already closed it.
    func take(_ connection: NIOAsyncChannel<Inbound, Outbound>) -> Bool {
        state.withLockedValue { $0.waiting.removeValue(forKey: ObjectIdentifier(connection.channel)) != nil }
    }

    /// Refuses new connections and closes those nobody took (finishing their writers).
    func closeAll() async {
        let leftovers = state.withLockedValue { state in
            state.open = false
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for connection in leftovers {
            try? await connection.executeThenClose { _, _ in }
        }
    }
}
