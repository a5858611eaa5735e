/// One client operation of a history: what was asked, when, and what came back.
///
/// Times are any monotonic ticks that respect real-time order (`HistoryRecorder` hands out a
/// sequence number per event): if one operation's response precedes another's invocation, its
/// `response` is smaller than the other's `invocation`.
public struct Operation<Input: Sendable, Output: Sendable>: Sendable {
    /// How the operation ended, as the client saw it.
    public enum Outcome: Sendable {
        /// A response arrived: the operation took effect between invocation and response.
        case completed(Output)
        /// It certainly did not take effect (refused before anything was written).
        case failed
        /// No answer (a timeout, a lost connection): it may take effect at any point after
        /// its invocation, or never.
        case unknown
    }

    public let id: Int
    public let client: Int
    public let input: Input
    public let outcome: Outcome
    public let invocation: UInt64
    /// Meaningful for `.completed` only.
    public let response: UInt64

    public init(id: Int, client: Int, input: Input, outcome: Outcome, invocation: UInt64, response: UInt64) {
        self.id = id
        self.client = client
        self.input = input
        self.outcome = outcome
        self.invocation = invocation
        self.response = response
    }
}

/// A sequential specification: the state an object starts in and how each operation changes it.
public protocol LinearizabilityModel: Sendable {
    associatedtype State: Hashable & Sendable
    associatedtype Input: Sendable
    associatedtype Output: Sendable

    var initialState: State { get }

    /// Applies `input` to `state`. With `output` (the response the client saw), returns the new
    /// state if the model would have answered so, else nil; with nil (the outcome is unknown),
    /// returns the new state whatever the answer.
    func step(_ state: State, _ input: Input, _ output: Output?) -> State?

    /// Splits a history into independent parts (operations on different keys) that can be
    /// checked each on its own; the default keeps it whole.
    func partition(_ history: [Operation<Input, Output>]) -> [[Operation<Input, Output>]]
}

extension LinearizabilityModel {
    public func partition(_ history: [Operation<Input, Output>]) -> [[Operation<Input, Output>]] { [history] }
}
