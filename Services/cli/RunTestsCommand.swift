import ArgumentParser
import Foundation
import NIOCore
import StrataBlock
import StrataClient
import StrataCore
import StrataWire
import StrataWorker

/// `strata runTests`: writes and reads back a file with every combination of read type, write
/// type and operation, as Alluxio's test runner does. The exit code is the number of failures.
struct RunTestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runTests",
        abstract: "Write and read back test files with every read type × write type × operation; exit code = failures.")

    @Option(name: .long, help: "Directory the test files go to.") var directory = "/default_tests_files"
    @Option(name: .long, help: "Only this operation (BASIC or BASIC_NON_BYTE_BUFFER).") var operation: String?
    @Option(name: .customLong("readType"), help: "Only this read type.") var readType: String?
    @Option(name: .customLong("writeType"), help: "Only this write type.") var writeType: String?

    enum Operation: String, CaseIterable {
        /// The file written in large buffers and read back whole.
        case basic = "BASIC"
        /// The file written in many small pieces and read back in small ranges.
        case basicNonByteBuffer = "BASIC_NON_BYTE_BUFFER"
    }

    func run() async throws {
        let operations = try Operation.allCases.filter { operation == nil || $0.rawValue == operation!.uppercased() }.nonEmpty("operation \(operation ?? "")")
        let reads = try ReadType.allCases.filter { readType == nil || $0.rawValue == readType!.uppercased() }.nonEmpty("read type \(readType ?? "")")
        let writes = try WriteType.allCases.filter { writeType == nil || $0.rawValue == writeType!.uppercased() }.nonEmpty("write type \(writeType ?? "")")
        var failures = 0
        try await FSContext.with([directory]) { client, paths in
            let base = paths[0]
            var options = DataOptions(try CommandContext.loadConfiguration())
            options.blockSizeBytes = 1 << 20
            options.chunkSizeBytes = 256 << 10
            _ = try await client.createDirectory(base, recursive: true, allowExists: true)
            for operation in operations {
                for write in writes {
                    for read in reads {
                        print("runTest --operation \(operation.rawValue) --readType \(read.rawValue) --writeType \(write.rawValue)")
                        options.writeType = write
                        options.readType = read
                        let path = "\(base)/\(operation.rawValue)_\(write.rawValue)_\(read.rawValue)"
                        do {
                            try await Self.runOne(client, path: path, operation: operation, options: options)
                            print("Passed the test!")
                        } catch {
                            failures += 1
                            print("Failed the test: \(error)")
                        }
                    }
                }
            }
        }
        if failures > 0 { throw ExitCode(Int32(clamping: failures)) }
    }

    /// 2.5 blocks of a pattern that differs at every offset.
    static func content(_ seed: Int) -> [UInt8] {
        (0..<(5 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &+ ($0 >> 8)) }
    }

    static func runOne(_ client: FileSystemClient, path: String, operation: Operation, options: DataOptions) async throws {
        if try await client.exists(path) { try await client.delete(path) }
        let expected = content(path.hashValue & 0xFF)
        var offset = 0
        let piece = operation == .basic ? 1 << 20 : 4093
        try await client.writeFile(path, options: options) {
            guard offset < expected.count else { return nil }
            let end = min(expected.count, offset + piece)
            defer { offset = end }
            return ByteBuffer(bytes: expected[offset..<end])
        }
        let info = try await client.status(path)
        guard info.completed, info.lengthBytes == Int64(expected.count) else {
            throw CommandFailure("\(path): \(info.lengthBytes) bytes, complete \(info.completed); expected \(expected.count)")
        }
        var read: [UInt8] = []
        read.reserveCapacity(expected.count)
        switch operation {
        case .basic:
            try await client.readFile(path, options: options) { read.append(contentsOf: $0.readableBytesView) }
        case .basicNonByteBuffer:
            var position: Int64 = 0
            while position < Int64(expected.count) {
                try await client.readFile(path, options: options, offset: position, length: 100_003) { read.append(contentsOf: $0.readableBytesView) }
                position += 100_003
            }
        }
        guard read == expected else {
            let first = zip(read, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(read.count, expected.count)
            throw CommandFailure("\(path): read \(read.count) bytes, differing from what was written at offset \(first)")
        }
    }
}

extension Array {
    func nonEmpty(_ what: String) throws -> Self {
        guard !isEmpty else { throw CommandFailure("unknown \(what)") }
        return self
    }
}

/// `strata formatWorker`: erases this host's worker storage (the data folder of every tier
/// directory). The worker must be stopped.
struct FormatWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "formatWorker", abstract: "Erase this host's worker storage (every tier directory's data folder).")

    func run() throws {
        let configuration = try CommandContext.loadConfiguration()
        let tiers: [TierLayout]
        do { tiers = try TieredStorageConfiguration.tiers(configuration) } catch { throw CommandFailure("\(error)") }
        let folder = configuration.string(.workerDataFolder)
        for tier in tiers {
            for directory in tier.directories {
                let path = directory + "/" + folder
                print("Formatting worker data folder: \(path)")
                guard FileManager.default.fileExists(atPath: path) else { continue }
                do { try FileManager.default.removeItem(atPath: path) } catch {
                    throw CommandFailure("cannot erase \(path): \(error.localizedDescription)")
                }
            }
        }
    }
}
