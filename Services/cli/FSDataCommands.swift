import ArgumentParser
import Crypto
import Foundation
import NIOCore
import NIOFileSystem
import NIOFoundationCompat
import StrataClient
import StrataCore
import StrataWire

/// Options every data command shares: the write and read types, overriding the configuration.
struct DataFlags: ParsableArguments {
    @Option(name: .customLong("writeType"), help: "MUST_CACHE, CACHE_THROUGH, THROUGH or ASYNC_THROUGH (default: strata.user.file.writetype.default).")
    var writeType: String?
    @Option(name: .customLong("readType"), help: "CACHE, CACHE_PROMOTE or NO_CACHE (default: strata.user.file.readtype.default).")
    var readType: String?

    func options() throws -> DataOptions {
        var options = DataOptions(try CommandContext.loadConfiguration())
        if let writeType {
            guard let parsed = WriteType(rawValue: writeType.uppercased()) else {
                throw CommandFailure("unknown write type '\(writeType)': use MUST_CACHE, CACHE_THROUGH, THROUGH or ASYNC_THROUGH")
            }
            options.writeType = parsed
        }
        if let readType {
            guard let parsed = ReadType(rawValue: readType.uppercased()) else {
                throw CommandFailure("unknown read type '\(readType)': use CACHE, CACHE_PROMOTE or NO_CACHE")
            }
            options.readType = parsed
        }
        return options
    }
}

/// Standard output as a sink for file bytes: written from the buffer's own storage (a copy into
/// `Data` first cost a fifth of a short-circuit read). A reader that has gone (`| head`) ends the
/// command quietly with status 141, as a SIGPIPE would end `cat`; any other failed write (a full
/// disk) ends it with the reason.
enum Output {
    static func write(_ buffer: ByteBuffer) throws {
        do {
            try FileHandle.standardOutput.write(contentsOf: buffer.readableBytesView)
        } catch {
            let underlying = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError) ?? (error as NSError)
            if underlying.domain == NSPOSIXErrorDomain && underlying.code == Int(EPIPE) { throw ExitCode(141) }
            throw CommandFailure("cannot write to standard output: \(underlying.localizedDescription)")
        }
    }
}

struct CatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cat", abstract: "Print a file's contents.")
    @OptionGroup var data: DataFlags
    @Argument(help: "Files.") var paths: [String]

    func run() async throws {
        let options = try data.options()
        try await FSContext.with(paths) { client, paths in
            for path in paths { try await client.readFile(path, options: options) { try Output.write($0) } }
        }
    }
}

struct HeadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "head", abstract: "Print the first bytes of a file (1KB unless -c).")
    @OptionGroup var data: DataFlags
    @Option(name: .customShort("c"), help: "Bytes to print (a size such as 2KB).") var count = "1KB"
    @Argument(help: "File.") var path: String

    func run() async throws {
        guard let bytes = ByteSize.parse(count), bytes >= 0 else { throw CommandFailure("-c \(count) is not a size") }
        let options = try data.options()
        try await FSContext.with([path]) { client, paths in
            try await client.readFile(paths[0], options: options, offset: 0, length: bytes) { try Output.write($0) }
        }
    }
}

struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail", abstract: "Print the last bytes of a file (1KB unless -c).")
    @OptionGroup var data: DataFlags
    @Option(name: .customShort("c"), help: "Bytes to print (a size such as 2KB).") var count = "1KB"
    @Argument(help: "File.") var path: String

    func run() async throws {
        guard let bytes = ByteSize.parse(count), bytes >= 0 else { throw CommandFailure("-c \(count) is not a size") }
        let options = try data.options()
        try await FSContext.with([path]) { client, paths in
            let length = try await client.status(paths[0]).lengthBytes
            try await client.readFile(paths[0], options: options, offset: max(0, length - bytes)) { try Output.write($0) }
        }
    }
}

/// Prints progress of a long copy on standard error, at most every second.
final class Progress: @unchecked Sendable {
    private let label: String
    private let total: Int64
    private var lastPrinted = ContinuousClock.now
    private let lock = NSLock()

    init(_ label: String, total: Int64) {
        self.label = label
        self.total = total
    }

    func update(_ done: Int64) {
        lock.lock()
        defer { lock.unlock() }
        guard total >= 64 << 20, ContinuousClock.now - lastPrinted >= .seconds(1) else { return }
        lastPrinted = .now
        let percent = total > 0 ? done * 100 / total : 100
        FileHandle.standardError.write(Data("\(label): \(ByteSize.format(done)) of \(ByteSize.format(total)) (\(percent)%)\n".utf8))
    }
}

/// Copies of local files into Strata and back.
enum LocalFiles {
    static func files(under path: String) throws -> [(relative: String, size: Int64)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CommandFailure("local path \(path) does not exist")
        }
        if !isDirectory.boolValue {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
            return [("", size)]
        }
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { throw CommandFailure("cannot list \(path)") }
        var result: [(String, Int64)] = []
        while let relative = enumerator.nextObject() as? String {
            let attributes = enumerator.fileAttributes
            guard attributes?[.type] as? FileAttributeType == .typeRegular else { continue }
            result.append((relative, (attributes?[.size] as? NSNumber)?.int64Value ?? 0))
        }
        return result.sorted { $0.0 < $1.0 }
    }

    static func upload(_ client: FileSystemClient, local: String, to path: String, options: DataOptions) async throws -> Int64 {
        let size = (try? FileManager.default.attributesOfItem(atPath: local)[.size] as? NSNumber)?.int64Value ?? 0
        let progress = Progress("copyFromLocal \(local)", total: size)
        let handle: ReadFileHandle
        do { handle = try await FileSystem.shared.openFile(forReadingAt: FilePath(local), options: OpenOptions.Read()) } catch {
            throw CommandFailure("cannot open local file \(local): \(error)")
        }
        var offset: Int64 = 0
        do {
            let info = try await client.writeFile(path, options: options, progress: { progress.update($0) }) {
                let chunk = try await handle.readChunk(fromAbsoluteOffset: offset, length: .bytes(Int64(4 << 20)))
                guard chunk.readableBytes > 0 else { return nil }
                offset += Int64(chunk.readableBytes)
                return chunk
            }
            try? await handle.close()
            return info.lengthBytes
        } catch {
            try? await handle.close()
            throw error
        }
    }

    static func download(_ client: FileSystemClient, path: String, to local: String, options: DataOptions) async throws -> Int64 {
        let length = try await client.status(path).lengthBytes
        let progress = Progress("copyToLocal \(path)", total: length)
        try FileManager.default.createDirectory(atPath: (local as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let handle: WriteFileHandle
        do { handle = try await FileSystem.shared.openFile(forWritingAt: FilePath(local), options: .newFile(replaceExisting: true)) } catch {
            throw CommandFailure("cannot create local file \(local): \(error)")
        }
        var written: Int64 = 0
        do {
            try await client.readFile(path, options: options) { chunk in
                _ = try await handle.write(contentsOf: chunk.readableBytesView, toAbsoluteOffset: written)
                written += Int64(chunk.readableBytes)
                progress.update(written)
            }
            try await handle.close(makeChangesVisible: true)
        } catch {
            try? await handle.close(makeChangesVisible: false)
            throw error
        }
        return written
    }

    static func stripScheme(_ text: String) -> String { text.hasPrefix("file://") ? String(text.dropFirst(7)) : text }
}

struct CopyFromLocalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "copyFromLocal", abstract: "Copy a local file or directory into Strata.")
    @OptionGroup var data: DataFlags
    @Argument(help: "Local source.") var source: String
    @Argument(help: "Strata destination.") var destination: String

    func run() async throws {
        let options = try data.options()
        let local = LocalFiles.stripScheme(source)
        let files = try LocalFiles.files(under: local)
        try await FSContext.with([destination]) { client, paths in
            var target = paths[0]
            if let info = try? await client.status(target), info.isDirectory {
                target = (target == "/" ? "" : target) + "/" + (local as NSString).lastPathComponent
            }
            for file in files {
                let from = file.relative.isEmpty ? local : local + "/" + file.relative
                let to = file.relative.isEmpty ? target : target + "/" + file.relative
                _ = try await LocalFiles.upload(client, local: from, to: to, options: options)
                print("Copied file://\(from) to \(to)")
            }
        }
    }
}

struct CopyToLocalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "copyToLocal", abstract: "Copy a Strata file or directory to the local file system.")
    @OptionGroup var data: DataFlags
    @Argument(help: "Strata source.") var source: String
    @Argument(help: "Local destination.") var destination: String

    func run() async throws {
        let options = try data.options()
        try await FSContext.with([source]) { client, paths in
            let top = try await client.status(paths[0])
            var local = LocalFiles.stripScheme(destination)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: local, isDirectory: &isDirectory), isDirectory.boolValue {
                local += "/" + (top.path == "/" ? "root" : top.name)
            }
            let files = top.isDirectory ? try await client.list(paths[0], recursive: true).filter { !$0.isDirectory } : [top]
            for file in files {
                let to = top.isDirectory ? local + String(file.path.dropFirst(top.path.count)) : local
                _ = try await LocalFiles.download(client, path: file.path, to: to, options: options)
                print("Copied \(file.path) to file://\(to)")
            }
        }
    }
}

struct CpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cp", abstract: "Copy files within Strata (file:// paths copy from or to the local file system).")
    @OptionGroup var data: DataFlags
    @Flag(name: .customShort("R"), help: "Copy directories recursively.") var recursive = false
    @Argument(help: "Source.") var source: String
    @Argument(help: "Destination.") var destination: String

    func run() async throws {
        if source.hasPrefix("file://") {
            var command = CopyFromLocalCommand()
            command.data = data; command.source = source; command.destination = destination
            return try await command.run()
        }
        if destination.hasPrefix("file://") {
            var command = CopyToLocalCommand()
            command.data = data; command.source = source; command.destination = destination
            return try await command.run()
        }
        let options = try data.options()
        try await FSContext.with([source, destination]) { client, paths in
            let top = try await client.status(paths[0])
            guard !top.isDirectory || recursive else { throw CommandFailure("\(paths[0]) is a directory; copy it with -R") }
            var target = paths[1]
            if let info = try? await client.status(target), info.isDirectory { target = (target == "/" ? "" : target) + "/" + top.name }
            let files = top.isDirectory ? try await client.list(paths[0], recursive: true).filter { !$0.isDirectory } : [top]
            for file in files {
                let to = top.isDirectory ? target + String(file.path.dropFirst(top.path.count)) : target
                var pending: [ByteBuffer] = []
                var finished = false
                // Stream block by block: read a block's worth, write it, repeat.
                var offset: Int64 = 0
                let blockSize = max(file.blockSizeBytes, 1 << 20)
                _ = try await client.writeFile(to, options: options) {
                    while pending.isEmpty && !finished {
                        guard offset < file.lengthBytes else { finished = true; break }
                        try await client.readFile(file.path, options: options, offset: offset, length: blockSize) { pending.append($0) }
                        offset += blockSize
                    }
                    return pending.isEmpty ? nil : pending.removeFirst()
                }
                print("Copied \(file.path) to \(to)")
            }
        }
    }
}

struct FreeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "free", abstract: "Drop a persisted file's (or directory's) cached blocks from the workers.")
    @Flag(name: .customShort("f"), help: "Free pinned files too (they are unpinned).") var forced = false
    @Argument(help: "Path.") var path: String

    func run() async throws {
        try await FSContext.with([path]) { client, paths in
            let freed = try await client.free(paths[0], recursive: true, forced: forced)
            print("\(paths[0]) was successfully freed from Strata space (\(freed.files) files, \(freed.blocks) cached blocks)")
        }
    }
}

struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Cache a persisted file or directory on the workers.")
    @Argument(help: "Path.") var path: String

    func run() async throws {
        try await FSContext.with([path]) { client, paths in
            let top = try await client.status(paths[0])
            let files = top.isDirectory ? try await client.list(paths[0], recursive: true).filter { !$0.isDirectory } : [top]
            for file in files { _ = try await client.load(file.path) }
            print("\(paths[0]) loaded")
        }
    }
}

struct PersistCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "persist", abstract: "Persist files to under storage and wait until they are.")
    @Option(name: .long, help: "Give up after this long (a duration such as 5min).") var timeout = "5min"
    @Argument(help: "Paths.") var paths: [String]

    func run() async throws {
        guard let limit = DurationText.parse(timeout) else { throw CommandFailure("--timeout \(timeout) is not a duration") }
        try await FSContext.with(paths) { client, paths in
            for path in paths {
                _ = try await client.persist(path)
                let deadline = ContinuousClock.now + limit
                while true {
                    let top = try await client.status(path)
                    let files = top.isDirectory ? try await client.list(path, recursive: true).filter { !$0.isDirectory } : [top]
                    let waiting = files.filter { $0.persistenceState != "PERSISTED" }
                    if waiting.isEmpty { break }
                    guard ContinuousClock.now < deadline else {
                        throw CommandFailure("\(waiting.count) files under \(path) not persisted within \(timeout), e.g. \(waiting[0].path)")
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
                print("persisted \(path)")
            }
        }
    }
}

/// Sets the pinned attribute of a path and everything below it.
enum Pinning {
    static func set(_ path: String, pinned: Bool) async throws {
        try await FSContext.with([path]) { client, paths in
            var request = SetAttributeRequest(path: paths[0])
            request.pinned = pinned
            request.recursive = true
            _ = try await client.setAttribute(request)
            print("File '\(paths[0])' was successfully \(pinned ? "pinned" : "unpinned").")
        }
    }
}

struct PinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pin", abstract: "Pin a file or directory: its cached blocks are never evicted.")
    @Argument(help: "Path.") var path: String

    func run() async throws { try await Pinning.set(path, pinned: true) }
}

struct UnpinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpin", abstract: "Unpin a file or directory.")
    @Argument(help: "Path.") var path: String

    func run() async throws { try await Pinning.set(path, pinned: false) }
}

struct SetReplicationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "setReplication", abstract: "Set a file's minimum and maximum number of cached copies.")
    @Option(name: .customLong("min"), help: "Minimum copies.") var minimum: Int32?
    @Option(name: .customLong("max"), help: "Maximum copies (-1: no limit).") var maximum: Int32?
    @Flag(name: .customShort("R"), help: "Apply to everything below a directory.") var recursive = false
    @Argument(help: "Path.") var path: String

    func validate() throws {
        guard minimum != nil || maximum != nil else { throw ValidationError("give --min, --max or both") }
    }

    func run() async throws {
        try await FSContext.with([path]) { client, paths in
            var request = SetAttributeRequest(path: paths[0])
            request.replicationMin = minimum
            request.replicationMax = maximum
            request.recursive = recursive
            _ = try await client.setAttribute(request)
            print("Changed the replication level of \(paths[0])" + (minimum.map { " replicationMin was set to \($0)" } ?? "") + (maximum.map { " replicationMax was set to \($0)" } ?? ""))
        }
    }
}

struct ChecksumCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checksum", abstract: "Print the MD5 of a file's contents.")
    @OptionGroup var data: DataFlags
    @Argument(help: "File.") var path: String

    func run() async throws {
        let options = try data.options()
        try await FSContext.with([path]) { client, paths in
            var md5 = Insecure.MD5()
            try await client.readFile(paths[0], options: options) { md5.update(data: Data($0.readableBytesView)) }
            print("md5sum: " + md5.finalize().map { String(format: "%02x", $0) }.joined())
        }
    }
}

struct LocationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "location", abstract: "Show which workers cache each block of a file.")
    @Argument(help: "File.") var path: String

    func run() async throws {
        try await FSContext.with([path]) { client, paths in
            let blocks = try await client.fileBlocks(paths[0])
            print("\(paths[0]) with file id \(blocks.info.id) is on nodes:")
            for block in blocks.blocks {
                let places = block.locations.map { "\($0.address.host):\($0.address.rpcPort) (\($0.tier))" }
                print("  block \(block.blockID) (offset \(block.offset), \(block.lengthBytes) bytes): " + (places.isEmpty ? "not cached" : places.joined(separator: ", ")))
            }
        }
    }
}
