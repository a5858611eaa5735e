/// Why a namespace operation failed, with Alluxio's error kinds; the message names the path.
public struct NamespaceError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: UInt8, Sendable, Equatable {
        case invalidPath = 1
        case fileDoesNotExist = 2
        case fileAlreadyExists = 3
        case directoryNotEmpty = 4
        case notADirectory = 5
        case notAFile = 6
        case fileAlreadyCompleted = 7
        case fileIncomplete = 8
        case invalidArgument = 9
        /// Renames across mounts, unmounting the root, mounting over a mount: not allowed.
        case accessControl = 10
        case failedPrecondition = 11
    }
    public let code: Code
    public let message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
