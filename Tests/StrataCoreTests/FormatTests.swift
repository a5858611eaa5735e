import Testing
@testable import StrataCore

/// Sizes and durations must parse as Alluxio's do, or operators' existing property files would
/// silently mean something else.
@Suite struct FormatTests {
    static let sizes: [(String, Int64)] = [
        ("64MB", 67_108_864), ("64m", 67_108_864), ("1GB", 1_073_741_824), ("1.5GB", 1_610_612_736),
        ("100", 100), ("100B", 100), ("8kb", 8192), ("8 KB", 8192), ("2TB", 2_199_023_255_552), ("0", 0),
    ]

    @Test(arguments: sizes)
    func sizesParse(text: String, bytes: Int64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test(arguments: ["", "MB", "-1MB", "abc", "10XB", "1.2.3MB", "99999999PB"])
    func badSizesAreRejected(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    static let durations: [(String, Int64)] = [
        ("10s", 10_000), ("5min", 300_000), ("500ms", 500), ("1500", 1500), ("2h", 7_200_000),
        ("1d", 86_400_000), ("1 sec", 1000), ("3 minutes", 180_000), ("0.5s", 500),
    ]

    @Test(arguments: durations)
    func durationsParse(text: String, milliseconds: Int64) {
        #expect(DurationText.parse(text) == .milliseconds(milliseconds))
    }

    @Test(arguments: ["", "s", "-5s", "ten seconds", "5 fortnights"])
    func badDurationsAreRejected(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test func conversionsForGetConfUnits() {
        #expect(ByteSize.convert(64 * 1024 * 1024, toUnit: "KB") == "65536")
        #expect(ByteSize.convert(1536, toUnit: "kb") == "1.50")
        #expect(ByteSize.convert(1, toUnit: "parsecs") == nil)
        #expect(DurationText.convert(.seconds(90), toUnit: "MIN") == "1.500")
        #expect(DurationText.convert(.seconds(10), toUnit: "ms") == "10000")
        #expect(DurationText.format(.seconds(300)) == "5min")
        #expect(DurationText.format(.milliseconds(1500)) == "1500ms")
        #expect(ByteSize.format(64 * 1024 * 1024) == "64.00MB")
        #expect(ByteSize.format(512) == "512B")
    }

    @Test func addressesParse() {
        #expect(HostAndPort(parsing: "h1:19998") == HostAndPort(host: "h1", port: 19998))
        #expect(HostAndPort(parsing: " [::1]:80 ") == HostAndPort(host: "::1", port: 80))
        #expect(HostAndPort(host: "::1", port: 80).description == "[::1]:80")
        #expect(HostAndPort(parsing: "[fe80::1%eth0]:80") == HostAndPort(host: "fe80::1%eth0", port: 80))
        #expect(HostAndPort(parsing: "node_1.example-2.org:80") == HostAndPort(host: "node_1.example-2.org", port: 80))
        // Only what could name a host: not "[" with a combining mark (it printed as a different
        // host), not non-ASCII names, brackets or punctuation.
        for bad in ["h1", "h1:", ":80", "h1:0", "h1:70000", "h 1:80", "h1:eighty", "[\u{0319}a:b]:80", "höst:80", "h[1]:80", "h/1:80", "h,1:80"] {
            #expect(HostAndPort(parsing: bad) == nil, "\(bad) should not parse")
        }
    }
}

/// The one retry policy: bounded in attempts and in time, growing, jittered within bounds.
@Suite struct RetryPolicyTests {
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    @Test func delaysGrowAndStayWithinBounds() {
        let policy = RetryPolicy(baseSleep: .milliseconds(50), maxSleep: .seconds(3), maxDuration: .seconds(120), attemptsMax: 20)
        var generator = SeededGenerator(state: 42)
        var previousCap: Int64 = 0
        for attempt in 1..<20 {
            let delay = policy.delay(afterAttempt: attempt, elapsed: .seconds(1), using: &generator)!
            let cap: Int64 = min(Int64(50) << Int64(attempt - 1), 3000)
            #expect(delay.milliseconds >= cap / 2 && delay.milliseconds <= cap, "attempt \(attempt): \(delay)")
            #expect(cap >= previousCap)
            previousCap = cap
        }
    }

    @Test func givesUpAfterAttemptsOrDuration() {
        let policy = RetryPolicy(baseSleep: .milliseconds(10), maxSleep: .seconds(1), maxDuration: .seconds(5), attemptsMax: 3)
        var generator = SeededGenerator(state: 7)
        #expect(policy.delay(afterAttempt: 2, elapsed: .zero, using: &generator) != nil)
        #expect(policy.delay(afterAttempt: 3, elapsed: .zero, using: &generator) == nil)
        #expect(policy.delay(afterAttempt: 1, elapsed: .seconds(5), using: &generator) == nil)
        // Never sleeps past the overall budget.
        let late = policy.delay(afterAttempt: 2, elapsed: .milliseconds(4995), using: &generator)!
        #expect(late <= .milliseconds(5))
    }

    @Test func sameSeedSameDelays() {
        let policy = RetryPolicy(baseSleep: .milliseconds(50), maxSleep: .seconds(3), maxDuration: .seconds(60), attemptsMax: 10)
        var first = SeededGenerator(state: 99)
        var second = SeededGenerator(state: 99)
        for attempt in 1..<10 {
            #expect(policy.delay(afterAttempt: attempt, elapsed: .zero, using: &first)
                    == policy.delay(afterAttempt: attempt, elapsed: .zero, using: &second))
        }
    }
}
