import Foundation
import NIOCore
import NIOFileSystem
import StrataNamespace

/// A failure of under storage, naming the location.
public struct UnderStorageError: Error, CustomStringConvertible, Equatable {
    public enum Code: Sendable, Equatable { case notFound, notADirectory, alreadyExists, permissionDenied, io }
    public let code: Code
    public let message: String
    public var description: String { message }
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// Under storage: where persisted data lives. A local or shared folder (`/data/ufs`, or
/// `file:///data/ufs`) is the first kind; object stores can follow behind the same protocol.
public protocol UnderFileSystem: Sendable {
    /// The location as configured.
    var uri: String { get }
    /// Checks that the location exists and is a readable directory.
    func checkAccessible() throws(UnderStorageError)
    /// The entries of the directory at `relative` (path components below the mount root).
    func list(_ relative: [String]) throws(UnderStorageError) -> [UFSEntry]
    func exists(_ relative: [String]) -> Bool
    func createDirectory(_ relative: [String]) throws(UnderStorageError)
    func delete(_ relative: [String], recursive: Bool) throws(UnderStorageError)
    func rename(_ source: [String], to destination: [String]) throws(UnderStorageError)
    /// The full location of `relative`: what the master hands workers and clients, and what
    /// `underStorage(at:)` opens again.
    func location(_ relative: [String]) -> String
    /// The file or directory at `relative` (its name is the last component), nil if nothing is there.
    func status(_ relative: [String]) throws(UnderStorageError) -> UFSEntry?
    /// Opens the file at `relative` for reading at any offset.
    func openForReading(_ relative: [String]) async throws(UnderStorageError) -> UFSReader
    /// Creates a file at `relative` (and the directories above it) that appears only when it is
    /// committed — complete and durable, atomically replacing whatever was there — and never if
    /// it is aborted or the writer dies.
    func create(_ relative: [String], mode: UInt16?) async throws(UnderStorageError) -> UFSWriter
}

/// Reads one under-storage file.
public struct UFSReader: Sendable {
    public let location: String
    public let sizeBytes: Int64
    let handle: ReadFileHandle

    /// Up to `count` bytes from `offset` (fewer only at the end of the file).
    public func read(at offset: Int64, count: Int) async throws(UnderStorageError) -> ByteBuffer {
        do {
            return try await handle.readChunk(fromAbsoluteOffset: offset, length: .bytes(Int64(count)))
        } catch {
            throw UnderStorageError(.io, "cannot read \(location) at offset \(offset): \(error)")
        }
    }

    public func close() async {
        try? await handle.close()
    }
}

/// Writes one new under-storage file, visible only once committed.
public struct UFSWriter: Sendable {
    public let location: String
    let handle: WriteFileHandle
    let directory: String

    public func write(_ bytes: ByteBuffer, at offset: Int64) async throws(UnderStorageError) {
        do {
            _ = try await handle.write(contentsOf: bytes.readableBytesView, toAbsoluteOffset: offset)
        } catch {
            throw UnderStorageError(.io, "cannot write \(location) at offset \(offset): \(error)")
        }
    }

    /// fsyncs the file, gives it its name (replacing any file there) and fsyncs the directory,
    /// so that once this returns the file survives a crash, whole.
    public func commit() async throws(UnderStorageError) {
        do {
            try await handle.synchronize()
            try await handle.close(makeChangesVisible: true)
        } catch {
            try? await handle.close(makeChangesVisible: false)
            throw UnderStorageError(.io, "cannot complete \(location): \(error)")
        }
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw UnderStorageError(.io, "cannot open \(directory) to make \(location) durable: errno \(errno)") }
        defer { _ = Foundation.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw UnderStorageError(.io, "cannot fsync \(directory) after writing \(location): errno \(errno)") }
    }

    /// Drops the file: nothing appears at its name.
    public func abort() async {
        try? await handle.close(makeChangesVisible: false)
    }
}

/// The under storage holding `location` (as `location(_:)` wrote it) and the path within it.
public func underStorage(at location: String) throws(UnderStorageError) -> (ufs: any UnderFileSystem, relative: [String]) {
    let path: String
    if location.hasPrefix("file://") {
        path = String(location.dropFirst("file://".count))
    } else if location.hasPrefix("/") {
        path = location
    } else {
        throw UnderStorageError(.io, "unsupported under-storage location \(location): expected a local path or file:// URI")
    }
    let components = path.split(separator: "/").map(String.init)
    guard !components.contains("..") else { throw UnderStorageError(.permissionDenied, "under-storage location \(location) contains '..'") }
    return (LocalUnderFileSystem(uri: "/", root: "/"), components)
}

/// Opens the under storage at `uri`: a local path or a `file://` URI.
public func openUnderFileSystem(_ uri: String) throws(UnderStorageError) -> any UnderFileSystem {
    if uri.hasPrefix("file://") { return LocalUnderFileSystem(uri: uri, root: String(uri.dropFirst("file://".count))) }
    if uri.hasPrefix("/") { return LocalUnderFileSystem(uri: uri, root: uri) }
    throw UnderStorageError(.io, "unsupported under-storage location \(uri): expected a local path or file:// URI")
}

/// A local (or NFS-mounted, shared) folder as under storage.
public struct LocalUnderFileSystem: UnderFileSystem {
    public let uri: String
    public let root: String

    public init(uri: String, root: String) {
        self.uri = uri
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    public func location(_ relative: [String]) -> String {
        guard !relative.isEmpty else { return root }
        return (root == "/" ? "" : root) + "/" + relative.joined(separator: "/")
    }

    public func checkAccessible() throws(UnderStorageError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw UnderStorageError(.notFound, "under storage \(uri) does not exist")
        }
        guard isDirectory.boolValue else { throw UnderStorageError(.notADirectory, "under storage \(uri) is not a directory") }
        guard FileManager.default.isReadableFile(atPath: root), FileManager.default.isExecutableFile(atPath: root) else {
            throw UnderStorageError(.permissionDenied, "under storage \(uri) is not readable")
        }
    }

    public func list(_ relative: [String]) throws(UnderStorageError) -> [UFSEntry] {
        let path = location(relative)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            if !FileManager.default.fileExists(atPath: path) { throw UnderStorageError(.notFound, "\(path) does not exist in under storage") }
            throw UnderStorageError(.io, "cannot list \(path): \(error.localizedDescription)")
        }
        var entries: [UFSEntry] = []
        for name in names.sorted() {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name),
                  let entry = Self.entry(named: name, attributes) else { continue }
            entries.append(entry)
        }
        return entries
    }

    public func exists(_ relative: [String]) -> Bool { FileManager.default.fileExists(atPath: location(relative)) }

    public func status(_ relative: [String]) throws(UnderStorageError) -> UFSEntry? {
        let path = location(relative)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw UnderStorageError(.io, "cannot read the attributes of \(path)")
        }
        return Self.entry(named: relative.last ?? "", attributes)
    }

    static func entry(named name: String, _ attributes: [FileAttributeKey: Any]) -> UFSEntry? {
        let type = attributes[.type] as? FileAttributeType
        guard type == .typeDirectory || type == .typeRegular else { return nil }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = Int64(((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0) * 1000)
        let mode = UInt16(truncatingIfNeeded: (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o644)
        return UFSEntry(name: name, isDirectory: type == .typeDirectory, lengthBytes: type == .typeDirectory ? 0 : size,
                        modificationTimeMilliseconds: modified, mode: mode,
                        owner: attributes[.ownerAccountName] as? String ?? "",
                        group: attributes[.groupOwnerAccountName] as? String ?? "",
                        fingerprint: type == .typeDirectory ? "" : "\(size):\(modified)")
    }

    public func openForReading(_ relative: [String]) async throws(UnderStorageError) -> UFSReader {
        let path = location(relative)
        do {
            let handle = try await FileSystem.shared.openFile(forReadingAt: FilePath(path), options: OpenOptions.Read())
            let size: Int64
            do { size = try await handle.info().size } catch {
                try? await handle.close()
                throw error
            }
            return UFSReader(location: path, sizeBytes: size, handle: handle)
        } catch let error as FileSystemError where error.code == .notFound {
            throw UnderStorageError(.notFound, "\(path) does not exist in under storage")
        } catch {
            throw UnderStorageError(.io, "cannot open \(path): \(error)")
        }
    }

    public func create(_ relative: [String], mode: UInt16?) async throws(UnderStorageError) -> UFSWriter {
        guard !relative.isEmpty else { throw UnderStorageError(.alreadyExists, "cannot create a file at the root of \(uri)") }
        let path = location(relative)
        let directory = location(Array(relative.dropLast()))
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw UnderStorageError(.io, "cannot create \(directory): \(error.localizedDescription)")
        }
        do {
            let permissions = mode.map { FilePermissions(rawValue: .init($0 & 0o777)) }
            let handle = try await FileSystem.shared.openFile(forWritingAt: FilePath(path), options: .newFile(replaceExisting: true, permissions: permissions))
            return UFSWriter(location: path, handle: handle, directory: directory)
        } catch {
            throw UnderStorageError(.io, "cannot create \(path) in under storage: \(error)")
        }
    }

    public func createDirectory(_ relative: [String]) throws(UnderStorageError) {
        do {
            try FileManager.default.createDirectory(atPath: location(relative), withIntermediateDirectories: true)
        } catch {
            throw UnderStorageError(.io, "cannot create \(location(relative)): \(error.localizedDescription)")
        }
    }

    public func delete(_ relative: [String], recursive: Bool) throws(UnderStorageError) {
        let path = location(relative)
        guard FileManager.default.fileExists(atPath: path) else { return }
        if !recursive, let children = try? FileManager.default.contentsOfDirectory(atPath: path), !children.isEmpty {
            throw UnderStorageError(.io, "cannot delete \(path): directory is not empty")
        }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw UnderStorageError(.io, "cannot delete \(path): \(error.localizedDescription)")
        }
    }

    public func rename(_ source: [String], to destination: [String]) throws(UnderStorageError) {
        let from = location(source), to = location(destination)
        guard FileManager.default.fileExists(atPath: from) else { return }
        do {
            try FileManager.default.createDirectory(atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: from, toPath: to)
        } catch {
            throw UnderStorageError(.io, "cannot rename \(from) to \(to): \(error.localizedDescription)")
        }
    }
}
