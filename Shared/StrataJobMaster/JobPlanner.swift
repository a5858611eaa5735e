import StrataClient
import StrataCore
import StrataJob
import StrataNamespace
import StrataUFS
import StrataWire

/// The I/O of planning: checks a request against the file system (or under storage) before it is
/// journaled, so that a missing source or an existing destination is one clear error and no job;
/// then lists the files a job covers, for the job table to split into tasks.
public struct JobPlanner: Sendable {
    /// The file-system masters (for every plan but UfsCopy); unused in a job-service-only deployment.
    let fileSystem: FileSystemClient
    /// Most files one job may cover.
    public static let itemsMax = 5_000_000

    public init(fileSystem: FileSystemClient) {
        self.fileSystem = fileSystem
    }

    /// Refuses a request that cannot run, with the reason: its source is missing, its destination
    /// exists without `overwrite`, or it is inconsistent (a destination inside its source).
    public func check(_ request: JobRequest) async throws(RPCError) {
        do { try JobTable.validate(request) } catch { throw RPCError(.invalidArgument, error.message) }
        let plan = request.plan
        switch plan {
        case .ufsCopy(let source, let destination, let overwrite):
            guard try Self.ufsStatus(source) != nil else { throw RPCError(.notFound, "source \(source) does not exist in under storage") }
            if !overwrite, try Self.ufsStatus(destination) != nil {
                throw RPCError(.alreadyExists, "destination \(destination) exists; use --overwrite to replace the files in it")
            }
        case .load(let path, _), .persist(let path):
            _ = try await status(path, role: "path")
        case .copy(let source, let destination, let overwrite), .move(let source, let destination, let overwrite):
            _ = try await status(source, role: "source")
            if !overwrite, try await fileSystem.exists(destination) {
                throw RPCError(.alreadyExists, "destination \(destination) exists; use --overwrite to replace the files in it")
            }
        }
    }

    /// Every file the plan covers, relative to its source ("" for a source that is a file).
    public func items(for plan: JobPlan) async throws(RPCError) -> [JobItem] {
        switch plan {
        case .ufsCopy(let source, _, _):
            return try Self.ufsItems(source)
        case .load(let path, _), .persist(let path), .copy(let path, _, _), .move(let path, _, _):
            let top = try await status(path, role: plan.kind == .load || plan.kind == .persist ? "path" : "source")
            guard top.isDirectory else { return [JobItem(relativePath: "", lengthBytes: top.lengthBytes)] }
            let prefix = top.path == "/" ? "/" : top.path + "/"
            var items: [JobItem] = []
            for info in try await fileSystem.list(path, recursive: true) where !info.isDirectory {
                guard info.path.hasPrefix(prefix) else { continue }
                items.append(JobItem(relativePath: String(info.path.dropFirst(prefix.count)), lengthBytes: info.lengthBytes))
                guard items.count <= Self.itemsMax else { throw RPCError(.invalidArgument, "\(path) holds more than \(Self.itemsMax) files; split the job") }
            }
            return items
        }
    }

    private func status(_ path: String, role: String) async throws(RPCError) -> FileInfo {
        do {
            return try await fileSystem.status(path)
        } catch where error.code == .notFound {
            throw RPCError(.notFound, "\(role) \(path) does not exist")
        } catch where error.code == .unavailable {
            throw RPCError(.unavailable, "cannot reach the file-system masters to plan this job: \(error.message)")
        }
    }

    static func ufsStatus(_ location: String) throws(RPCError) -> UFSEntry? {
        do {
            let (ufs, relative) = try underStorage(at: location)
            return try ufs.status(relative)
        } catch {
            throw RPCError(.invalidArgument, error.message)
        }
    }

    static func ufsItems(_ source: String) throws(RPCError) -> [JobItem] {
        do {
            let (ufs, root) = try underStorage(at: source)
            guard let top = try ufs.status(root) else { throw UnderStorageError(.notFound, "source \(source) does not exist in under storage") }
            guard top.isDirectory else { return [JobItem(relativePath: "", lengthBytes: top.lengthBytes)] }
            var items: [JobItem] = []
            var pending: [[String]] = [[]]
            while let directory = pending.popLast() {
                for entry in try ufs.list(root + directory) {
                    if entry.isDirectory {
                        pending.append(directory + [entry.name])
                    } else {
                        items.append(JobItem(relativePath: (directory + [entry.name]).joined(separator: "/"), lengthBytes: entry.lengthBytes))
                        guard items.count <= itemsMax else { throw UnderStorageError(.io, "\(source) holds more than \(itemsMax) files; split the job") }
                    }
                }
            }
            return items
        } catch let error as RPCError {
            throw error
        } catch let error as UnderStorageError {
            throw RPCError(error.code == .notFound ? .notFound : .invalidArgument, error.message)
        } catch {
            throw RPCError(.internal, "\(error)")
        }
    }
}
