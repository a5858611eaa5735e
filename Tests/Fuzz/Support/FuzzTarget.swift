import Foundation

/// What every fuzz target shares: the libFuzzer entry point calls `run` with each input; a
/// normal build has a `main` that replays files (the corpus, the crashes found) through the same
/// function, so that `FuzzRegressionTests` runs them in every test run.
///
/// A target's `check` must not crash, trap or hang on any input; it may throw or return on bad
/// input. Whatever it decodes it also re-encodes and decodes again where the format allows, so
/// round trips are checked too.
public enum FuzzTarget {
    /// Replays every file named on the command line (directories: every file in them), and
    /// prints how many ran. Exits non-zero if there were none. `--seeds DIR` instead writes the
    /// target's seed inputs (valid encodings made by the real encoders) into DIR.
    public static func replay(_ check: ([UInt8]) -> Void, seeds: () -> [[UInt8]]) {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--seeds", arguments.count == 2 {
            let directory = arguments[1]
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let made = seeds()
            for (number, seed) in made.enumerated() {
                check(seed)  // a seed must pass the target itself
                FileManager.default.createFile(atPath: directory + "/seed-" + String(format: "%03d", number), contents: Data(seed))
            }
            print("\(made.count) seeds written to \(directory)")
            return
        }
        var files: [String] = []
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("\(CommandLine.arguments[0]): no such file or directory: \(argument)\n".utf8))
                exit(2)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []
                files += names.sorted().filter { !$0.hasPrefix(".") }.map { argument + "/" + $0 }
            } else {
                files.append(argument)
            }
        }
        guard !files.isEmpty else {
            FileHandle.standardError.write(Data("usage: \(CommandLine.arguments[0]) FILE|DIRECTORY...  (replays inputs through the fuzz target)\n".utf8))
            exit(2)
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("cannot read \(file)\n".utf8))
                exit(2)
            }
            check(Array(data))
        }
        print("\(files.count) inputs replayed without a crash")
    }

    /// Runs `check` on the input libFuzzer hands `LLVMFuzzerTestOneInput` (the one place the
    /// targets touch its C pointer); returns libFuzzer's "keep going".
    public static func fuzz(_ start: UnsafeRawPointer?, _ count: Int, _ check: ([UInt8]) -> Void) -> CInt {
        check(count > 0 ? Array(UnsafeRawBufferPointer(start: start, count: count)) : [])
        return 0
    }

    /// Splits an input into a selector byte and the rest (for targets that test several decoders).
    public static func split(_ input: [UInt8]) -> (selector: UInt8, rest: [UInt8])? {
        guard let first = input.first else { return nil }
        return (first, Array(input.dropFirst()))
    }
}
