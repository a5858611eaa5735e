/// Polls `condition` every 100 ms for up to `seconds`; throws, naming `what`, if it never holds.
public func eventually(_ seconds: Int = 20, _ what: String, _ condition: () async throws -> Bool) async throws {
    for _ in 0..<(seconds * 10) {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw HarnessError("not within \(seconds)s: \(what)")
}
