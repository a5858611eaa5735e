/// Bounded exponential backoff: the one retry policy of Strata.
///
/// Pure: it only computes delays; the caller sleeps. Jitter comes from an injected generator so
/// that simulations replay exactly. Bounded both by attempt count and by total elapsed time, so no
/// retry loop runs forever (`strata.user.rpc.retry.*`).
public struct RetryPolicy: Sendable, Equatable {
    public var baseSleep: Duration
    public var maxSleep: Duration
    /// Give up once this much time has been spent retrying.
    public var maxDuration: Duration
    /// Give up after this many attempts in total (including the first).
    public var attemptsMax: Int

    public init(baseSleep: Duration, maxSleep: Duration, maxDuration: Duration, attemptsMax: Int) {
        precondition(baseSleep > .zero && maxSleep >= baseSleep, "retry sleeps: base \(baseSleep) max \(maxSleep)")
        precondition(attemptsMax >= 1, "retry attempts max \(attemptsMax) < 1")
        self.baseSleep = baseSleep
        self.maxSleep = maxSleep
        self.maxDuration = maxDuration
        self.attemptsMax = attemptsMax
    }

    /// The delay before attempt `attempt + 1` (attempt counts from 1), or nil to give up.
    /// `elapsed` is the time spent since the first attempt. Jitter spreads the delay over
    /// [delay/2, delay] so that many clients failing together do not retry in lockstep.
    public func delay<G: RandomNumberGenerator>(
        afterAttempt attempt: Int, elapsed: Duration, using generator: inout G
    ) -> Duration? {
        precondition(attempt >= 1, "attempt \(attempt) < 1")
        guard attempt < attemptsMax, elapsed < maxDuration else { return nil }
        let exponent = min(attempt - 1, 30)
        let uncapped = baseSleep.milliseconds << exponent
        let capped = min(max(uncapped, baseSleep.milliseconds), maxSleep.milliseconds)
        let jittered = capped / 2 + Int64.random(in: 0...max(capped / 2, 0), using: &generator)
        let remaining = (maxDuration - elapsed).milliseconds
        return .milliseconds(max(1, min(jittered, remaining)))
    }
}
