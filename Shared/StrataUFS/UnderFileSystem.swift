import Foundation
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
    /// The full location of `relative`, for display.
    func location(_ relative: [String]) -> String
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
        relative.isEmpty ? root : root + "/" + relative.joined(separator: "/")
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
            let childPath = path + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: childPath) else { continue }
            let type = attributes[.type] as? FileAttributeType
            guard type == .typeDirectory || type == .typeRegular else { continue }
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            let modified = Int64(((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0) * 1000)
            let mode = UInt16(truncatingIfNeeded: (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o644)
            entries.append(UFSEntry(name: name, isDirectory: type == .typeDirectory, lengthBytes: type == .typeDirectory ? 0 : size,
                                    modificationTimeMilliseconds: modified, mode: mode,
                                    owner: attributes[.ownerAccountName] as? String ?? "",
                                    group: attributes[.groupOwnerAccountName] as? String ?? "",
                                    fingerprint: type == .typeDirectory ? "" : "\(size):\(modified)"))
        }
        return entries
    }

    public func exists(_ relative: [String]) -> Bool { FileManager.default.fileExists(atPath: location(relative)) }

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
