/// A problem with bytes on the wire: a frame or a protobuf body that cannot be accepted.
///
/// A connection that produces one is closed; other connections are unaffected.
public struct WireError: Error, CustomStringConvertible, Equatable {
    public enum Code: Sendable, Equatable {
        case badMagic, unsupportedVersion, unknownFrameKind, badFlags, frameTooLarge, checksumMismatch
        case malformedBody, invalidField, unexpectedFrame
    }
    public let code: Code
    public let message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
