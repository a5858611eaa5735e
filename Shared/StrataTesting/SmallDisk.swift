import Foundation

/// A small tmpfs mounted over a directory (keeping what the directory held), to be filled up on
/// purpose: the disk-full fault. Needs root, as the network namespaces do.
public final class SmallDisk: Sendable {
    public let path: String
    public let sizeBytes: Int
    private var fillerPath: String { path + "/.strata-test-filler" }

    private init(path: String, sizeBytes: Int) {
        self.path = path
        self.sizeBytes = sizeBytes
    }

    /// Mounts a tmpfs of `sizeBytes` over `path` (created if missing), copying in what was there.
    public static func mount(over path: String, sizeBytes: Int) throws -> SmallDisk {
        let manager = FileManager.default
        let aside = path + ".before-small-disk"
        let existed = manager.fileExists(atPath: path)
        if existed { try manager.moveItem(atPath: path, toPath: aside) }
        try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        try HostCommand.run(["/bin/mount", "-t", "tmpfs", "-o", "size=\(sizeBytes)", "strata-small-disk", path])
        if existed {
            try HostCommand.run(["/bin/cp", "-a", aside + "/.", path])
            try manager.removeItem(atPath: aside)
        }
        return SmallDisk(path: path, sizeBytes: sizeBytes)
    }

    /// Bytes still free.
    public var availableBytes: Int {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return 0 }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }

    /// Writes a filler file until the file system has no room left.
    public func fill() throws {
        _ = FileManager.default.createFile(atPath: fillerPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: fillerPath))
        defer { try? handle.close() }
        try handle.seekToEnd()
        let chunk = Data(count: 64 * 1024)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        // The last bytes: smaller writes until not one more fits.
        let byte = Data(count: 512)
        while (try? handle.write(contentsOf: byte)) != nil {}
    }

    /// Removes the filler: the space comes back.
    public func free() {
        try? FileManager.default.removeItem(atPath: fillerPath)
    }

    /// Unmounts (lazily: a process still holding a file there lets go when it exits).
    public func unmount() {
        _ = try? HostCommand.run(["/bin/umount", "-l", path])
    }
}
