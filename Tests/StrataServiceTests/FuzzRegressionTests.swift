import Foundation
import StrataTesting
import Testing

/// Every fuzz target's corpus and every input a fuzzer ever crashed on, replayed through the
/// target's checks in the normal build (`scripts/fuzz` runs the fuzzers themselves), with the
/// address space limited to 3 GB as the fuzzer limits memory: inputs that once made a decoder
/// allocate gigabytes from a corrupt count fail here too.
@Suite struct FuzzRegressionTests {
    static let fuzzDirectory = ScriptTests.repository + "/Tests/Fuzz"

    @Test(arguments: ["frame", "messages", "journal", "text"])
    func corpusAndCrashesReplayCleanly(target: String) throws {
        // A failure (a trap on a committed input) throws with the replay's output.
        let text = try HostCommand.run(["/bin/sh", "-c", "ulimit -v 3000000 && exec \"$0\" \"$@\"", ProcessHarness.binaryDirectory + "/strata-fuzz-" + target,
                                        Self.fuzzDirectory + "/corpus/" + target, Self.fuzzDirectory + "/regressions/" + target],
                                       environment: ["SWIFT_BACKTRACE": "enable=no"])
        let replayed = text.split(separator: " ").first.flatMap { Int($0) } ?? 0
        let committed = try FileManager.default.contentsOfDirectory(atPath: Self.fuzzDirectory + "/corpus/" + target).count
        #expect(replayed >= committed, "only \(replayed) inputs replayed of \(committed) in the corpus: \(text)")
    }
}
