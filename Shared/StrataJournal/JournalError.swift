/// A journal failure; the message names the file and offset involved.
public struct JournalError: Error, CustomStringConvertible, Equatable {
    public enum Code: Sendable, Equatable {
        /// The directory belongs to another cluster.
        case clusterMismatch
        /// A setting the journal depends on is malformed.
        case invalidArgument
        /// Written by a newer Strata with a format this build cannot read.
        case formatVersionUnsupported
        /// A record or file failed its checksum or structure checks.
        case corruptRecord
        /// The directory is not a formatted journal.
        case notFormatted
        /// A read, write, fsync or rename failed (permissions, a failing device, …).
        case io
        /// A write found the journal's file system full (ENOSPC, EDQUOT): nothing of it stays,
        /// and the same write may succeed once space returns.
        case noSpace
        /// A newer epoch was taken by another leader (UFS journal): this one may not write.
        case fenced
    }
    public let code: Code
    public let message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
