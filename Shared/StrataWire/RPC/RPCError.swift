/// The failure of a call, as a caller sees it: a status code, a message and, for NOT_LEADER,
/// the leader's address if known. Handlers throw it to answer with that status.
public struct RPCError: Error, CustomStringConvertible, Equatable {
    public let code: StatusCode
    public let message: String
    /// "host:port" of the leader, for `.notLeader`.
    public let leaderHint: String?
    /// The call never reached a process: the address refused the connection (nothing listens
    /// there). Set by the client, never sent on the wire.
    public let connectionRefused: Bool

    public init(_ code: StatusCode, _ message: String, leaderHint: String? = nil, connectionRefused: Bool = false) {
        precondition(code != .ok, "an RPCError cannot have status OK: \(message)")
        self.code = code
        self.message = message
        self.leaderHint = leaderHint
        self.connectionRefused = connectionRefused
    }

    init(status: RpcStatus) {
        self.init(status.code == .ok ? .internal : status.code, status.message,
                  leaderHint: status.leaderHint.isEmpty ? nil : status.leaderHint)
    }

    public var description: String {
        if let leaderHint { return "\(code): \(message) (leader: \(leaderHint))" }
        return "\(code): \(message)"
    }

    /// Whether retrying the same call (elsewhere or later) may succeed.
    public var isRetriable: Bool { code == .unavailable || code == .notLeader }
}
