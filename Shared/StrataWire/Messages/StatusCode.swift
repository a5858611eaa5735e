/// The outcome of a call (strata.StatusCode).
public enum StatusCode: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case ok = 0
    case notLeader = 1
    case unavailable = 2
    case notFound = 3
    case alreadyExists = 4
    case invalidArgument = 5
    case permissionDenied = 6
    case failedPrecondition = 7
    case deadlineExceeded = 8
    case `internal` = 9
    case unimplemented = 10
    case cancelled = 11
    case resourceExhausted = 12

    public var description: String {
        switch self {
        case .ok: "OK"
        case .notLeader: "NOT_LEADER"
        case .unavailable: "UNAVAILABLE"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .permissionDenied: "PERMISSION_DENIED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .internal: "INTERNAL"
        case .unimplemented: "UNIMPLEMENTED"
        case .cancelled: "CANCELLED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        }
    }
}

/// The body of a non-OK response (strata.RpcStatus).
public struct RpcStatus: WireMessage {
    public static let descriptor = ProtoDescriptor("strata.RpcStatus")
    public var code: StatusCode
    public var message: String
    public var leaderHint: String

    public init(code: StatusCode, message: String, leaderHint: String = "") {
        self.code = code
        self.message = message
        self.leaderHint = leaderHint
    }

    public init(proto: ProtoMessage) throws(WireError) {
        code = try proto.enumeration(1, as: StatusCode.self)
        message = proto.string(2)
        leaderHint = proto.string(3)
    }

    public var proto: ProtoMessage {
        var proto = ProtoMessage()
        proto.set(1, code)
        proto.set(2, message)
        proto.set(3, leaderHint)
        return proto
    }
}
