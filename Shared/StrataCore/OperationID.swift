/// Identifies one client operation, so that a retry (after a fail-over, say) is recognised by a
/// replicated state machine (the namespace, the job table) and answered with the first outcome
/// instead of being applied twice.
public struct OperationID: Sendable, Hashable, CustomStringConvertible {
    public var client: UInt64
    public var sequence: UInt64

    public init(client: UInt64, sequence: UInt64) {
        self.client = client
        self.sequence = sequence
    }

    public var description: String { "\(String(client, radix: 16))/\(sequence)" }
}
