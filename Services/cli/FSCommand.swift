import ArgumentParser
import Foundation
import StrataClient
import StrataCore
import StrataWire

/// `strata fs …`: the file-system shell.
struct FSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs",
        abstract: "File-system commands. Paths are /a/b, or strata://host:port[,host:port…]/a/b to name the masters.",
        subcommands: [LsCommand.self, MkdirCommand.self, TouchCommand.self, RmCommand.self, MvCommand.self, StatCommand.self,
                      CountCommand.self, DuCommand.self, TestCommand.self, MountCommand.self, UnmountCommand.self,
                      LeaderCommand.self, MasterInfoCommand.self,
                      CatCommand.self, HeadCommand.self, TailCommand.self, CopyFromLocalCommand.self, CopyToLocalCommand.self,
                      CpCommand.self, FreeCommand.self, LoadCommand.self, PersistCommand.self, PinCommand.self, UnpinCommand.self,
                      ChecksumCommand.self, LocationCommand.self, SetReplicationCommand.self,
                      DistributedLoadCommand.self, DistributedCpCommand.self, DistributedMvCommand.self])
}

/// Connects the shell to the masters named by the paths' URI authority or the configuration.
enum FSContext {
    static func connect(_ texts: [String]) throws -> (FileSystemClient, [String]) {
        let configuration = try CommandContext.loadConfiguration()
        var named: MasterLocator? = nil
        var paths: [String] = []
        for text in texts {
            let uri: StrataURI
            do { uri = try StrataURI(parsing: text) } catch { throw CommandFailure(error.description) }
            switch uri.authority {
            case .none: break
            case .masters(let addresses): named = .addresses(addresses)
            case .zooKeeper(let servers): named = .zooKeeper(ZooKeeperMasterLocator(servers: servers, configuration: configuration))
            }
            paths.append(uri.path)
        }
        let locator: MasterLocator
        if let named {
            locator = named
        } else {
            do { locator = try MasterLocator.configured(configuration) } catch { throw CommandFailure(error.message) }
        }
        return (FileSystemClient(locator: locator, configuration: configuration, waiting: CommandContext.reportWaiting), paths)
    }

    /// Runs `body` with a client, closing it afterwards; RPC errors become one-line failures.
    static func with<T>(_ texts: [String], _ body: (FileSystemClient, [String]) async throws -> T) async throws -> T {
        let (client, paths) = try connect(texts)
        do {
            let result = try await body(client, paths)
            await client.close()
            return result
        } catch let error as RPCError {
            await client.close()
            throw CommandFailure(error.message)
        } catch {
            await client.close()
            throw error
        }
    }
}

enum Format {
    static func date(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "MM-dd-yyyy HH:mm:ss:SSS"
        formatter.timeZone = TimeZone.current
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    static func size(_ bytes: Int64, human: Bool) -> String { human ? ByteSize.format(bytes) : String(bytes) }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

struct LsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List files and directories.")
    @Flag(name: .customShort("R"), help: "List recursively.") var recursive = false
    @Flag(name: .customShort("h"), help: "Human-readable sizes.") var human = false
    @Flag(name: .customShort("d"), help: "List directories as plain files.") var directoryItself = false
    @Argument(help: "Paths to list.") var paths: [String] = ["/"]

    func run() async throws {
        try await FSContext.with(paths) { client, paths in
            for path in paths {
                let infos = directoryItself ? [try await client.status(path)] : try await client.list(path, recursive: recursive)
                for info in infos {
                    let state = info.isDirectory ? "DIR" : (info.completed ? "" : "INCOMPLETE")
                    print([FileModeText.format(info.mode, directory: info.isDirectory), Format.pad(info.owner.isEmpty ? "-" : info.owner, 8),
                           Format.pad(info.group.isEmpty ? "-" : info.group, 8), Format.pad(Format.size(info.lengthBytes, human: human), 12),
                           Format.pad(info.persistenceState, 16), Format.date(info.modificationTimeMilliseconds),
                           Format.pad(state, 10), info.path].joined(separator: "  "))
                }
            }
        }
    }
}

struct MkdirCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mkdir", abstract: "Create directories, with missing parents.")
    @Argument(help: "Directories to create.") var paths: [String]

    func run() async throws {
        try await FSContext.with(paths) { client, paths in
            for path in paths {
                _ = try await client.createDirectory(path, recursive: true)
                print("Successfully created directory \(path)")
            }
        }
    }
}

struct TouchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "touch", abstract: "Create empty files.")
    @Argument(help: "Files to create.") var paths: [String]

    func run() async throws {
        try await FSContext.with(paths) { client, paths in
            for path in paths {
                _ = try await client.createFile(path, completeEmpty: true)
                print("\(path) has been created")
            }
        }
    }
}

struct RmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove files and directories.")
    @Flag(name: [.customShort("R"), .long], help: "Remove directories and their contents.") var recursive = false
    @Argument(help: "Paths to remove.") var paths: [String]

    func run() async throws {
        try await FSContext.with(paths) { client, paths in
            for path in paths {
                try await client.delete(path, recursive: recursive)
                print("\(path) has been removed")
            }
        }
    }
}

struct MvCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mv", abstract: "Rename a file or directory; into a directory if the destination is one.")
    @Argument(help: "Source.") var source: String
    @Argument(help: "Destination.") var destination: String

    func run() async throws {
        try await FSContext.with([source, destination]) { client, paths in
            var target = paths[1]
            if let info = try? await client.status(target), info.isDirectory {
                let name = paths[0].split(separator: "/").last.map(String.init) ?? ""
                target = (target.hasSuffix("/") ? target : target + "/") + name
            }
            _ = try await client.rename(paths[0], to: target)
            print("Renamed \(paths[0]) to \(target)")
        }
    }
}

struct StatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stat", abstract: "Show a file's or directory's attributes.")
    @Argument(help: "Path.") var path: String

    func run() async throws {
        try await FSContext.with([path]) { client, paths in
            let info = try await client.status(paths[0])
            print("\(info.path) is a \(info.isDirectory ? "directory" : "file") path.")
            let lines: [(String, String)] = [
                ("id", String(info.id)), ("length", String(info.lengthBytes)), ("blockSize", String(info.blockSizeBytes)),
                ("blocks", info.blockIDs.map(String.init).joined(separator: ",")), ("completed", String(info.completed)),
                ("created", Format.date(info.creationTimeMilliseconds)), ("modified", Format.date(info.modificationTimeMilliseconds)),
                ("mode", FileModeText.format(info.mode, directory: info.isDirectory)), ("owner", info.owner), ("group", info.group),
                ("ttl", info.ttlMilliseconds < 0 ? "none" : "\(info.ttlMilliseconds)ms"), ("pinned", String(info.pinned)),
                ("replication", "\(info.replicationMin)..\(info.replicationMax < 0 ? "∞" : String(info.replicationMax))"),
                ("persistence", info.persistenceState), ("ufsPath", info.ufsPath), ("mountPoint", String(info.isMountPoint)),
            ]
            for (name, value) in lines { print("  \(Format.pad(name + ":", 13)) \(value)") }
        }
    }
}

struct CountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "count", abstract: "Count files and directories below a path and their total size.")
    @Flag(name: .customShort("h"), help: "Human-readable size.") var human = false
    @Argument(help: "Path.") var path: String

    func run() async throws {
        try await FSContext.with([path]) { client, paths in
            let top = try await client.status(paths[0])
            let infos = top.isDirectory ? try await client.list(paths[0], recursive: true) : [top]
            let files = infos.filter { !$0.isDirectory }
            print(Format.pad("File Count", 25) + Format.pad("Folder Count", 25) + "Folder Size")
            print(Format.pad(String(files.count), 25) + Format.pad(String(infos.count - files.count), 25)
                  + Format.size(files.reduce(0) { $0 + $1.lengthBytes }, human: human))
        }
    }
}

struct DuCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "du", abstract: "Show the size of files below a path, and how much of it is cached (and in memory).")
    @Flag(name: .customShort("s"), help: "One total line.") var summarize = false
    @Flag(name: .customShort("h"), help: "Human-readable sizes.") var human = false
    @Flag(name: .long, help: "Also show the share held in the MEM tier.") var memory = false
    @Argument(help: "Path.") var path: String

    func run() async throws {
        try await FSContext.with([path]) { client, paths in
            let top = try await client.status(paths[0])
            let files = (top.isDirectory ? try await client.list(paths[0], recursive: true) : [top]).filter { !$0.isDirectory }
            func share(_ part: Int64, _ whole: Int64) -> String {
                Format.size(part, human: human) + " (\(whole > 0 ? part * 100 / whole : 0)%)"
            }
            print(Format.pad("File Size", 16) + Format.pad("In Strata", 20) + (memory ? Format.pad("In Memory", 20) : "") + "Path")
            var totals: (size: Int64, cached: Int64, memory: Int64) = (0, 0, 0)
            for file in files {
                let blocks = try await client.fileBlocks(file.path).blocks
                let cached = blocks.filter { !$0.locations.isEmpty }.reduce(Int64(0)) { $0 + $1.lengthBytes }
                let inMemory = blocks.filter { $0.locations.contains { $0.tier == "MEM" } }.reduce(Int64(0)) { $0 + $1.lengthBytes }
                totals = (totals.size + file.lengthBytes, totals.cached + cached, totals.memory + inMemory)
                if !summarize {
                    print(Format.pad(Format.size(file.lengthBytes, human: human), 16) + Format.pad(share(cached, file.lengthBytes), 20)
                          + (memory ? Format.pad(share(inMemory, file.lengthBytes), 20) : "") + file.path)
                }
            }
            if summarize {
                print(Format.pad(Format.size(totals.size, human: human), 16) + Format.pad(share(totals.cached, totals.size), 20)
                      + (memory ? Format.pad(share(totals.memory, totals.size), 20) : "") + paths[0])
            }
        }
    }
}

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "test", abstract: "Test a path; the answer is the exit code (0 true, 1 false).")
    @Flag(name: .customShort("d"), help: "Is a directory.") var directory = false
    @Flag(name: .customShort("e"), help: "Exists.") var exists = false
    @Flag(name: .customShort("f"), help: "Is a file.") var file = false
    @Flag(name: .customShort("s"), help: "Is a non-empty directory.") var nonEmpty = false
    @Flag(name: .customShort("z"), help: "Is a file of length zero.") var zero = false
    @Argument(help: "Path.") var path: String

    func validate() throws {
        guard [directory, exists, file, nonEmpty, zero].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of -d, -e, -f, -s, -z")
        }
    }

    func run() async throws {
        let answer: Bool = try await FSContext.with([path]) { client, paths in
            guard try await client.exists(paths[0]) else { return false }
            if exists { return true }
            let info = try await client.status(paths[0])
            if directory { return info.isDirectory }
            if file { return !info.isDirectory }
            if nonEmpty { return info.isDirectory && info.childCount > 0 }
            return !info.isDirectory && info.lengthBytes == 0
        }
        if !answer { throw ExitCode(1) }
    }
}

struct MountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mount", abstract: "Mount under storage at a path.")
    @Flag(name: .long, help: "Mount read-only.") var readonly = false
    @Flag(name: .long, help: "Visible to all users.") var shared = false
    @Argument(help: "Strata path (must not exist).") var path: String
    @Argument(help: "Under-storage location (a local or shared folder).") var ufsURI: String

    func run() async throws {
        try await FSContext.with([path]) { client, paths in
            try await client.mount(paths[0], ufsURI: ufsURI, readOnly: readonly, shared: shared)
            print("Mounted \(ufsURI) at \(paths[0])")
        }
    }
}

struct UnmountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unmount", abstract: "Unmount the under storage at a path.")
    @Argument(help: "Mount point.") var path: String

    func run() async throws {
        try await FSContext.with([path]) { client, paths in
            try await client.unmount(paths[0])
            print("Unmounted \(paths[0])")
        }
    }
}

struct LeaderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "leader", abstract: "Print the leading master's RPC address.")
    @Argument(help: "Optional strata://… URI naming the masters.") var uri: String?

    func run() async throws {
        try await FSContext.with(uri.map { [$0] } ?? []) { client, _ in
            print(try await client.waitForLeader().description)
            if let zooKeeper = client.locator.zooKeeperAddress { print("ZooKeeper address: \(zooKeeper)") }
        }
    }
}

struct MasterInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "masterInfo", abstract: "Print the masters and which one leads.")
    @Argument(help: "Optional strata://… URI naming the masters.") var uri: String?

    func run() async throws {
        try await FSContext.with(uri.map { [$0] } ?? []) { client, _ in
            let leader = try await client.waitForLeader()
            let infos = await client.probeAll()
            let journalType = infos.compactMap { $0.1?.journalType }.first ?? "EMBEDDED"
            print("Current leader master: \(leader)")
            print("All masters: \(infos.map(\.0.description).joined(separator: ", "))")
            print("Journal type: \(journalType)")
            let zooKeeper = client.locator.zooKeeperAddress ?? infos.compactMap { $0.1?.zooKeeperAddress }.first { !$0.isEmpty }
            if let zooKeeper { print("ZooKeeper address: \(zooKeeper)") }
            for (address, info) in infos {
                print("  \(address)  \(info?.thisRole ?? "UNAVAILABLE")")
            }
        }
    }
}
