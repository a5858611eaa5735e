import Foundation

/// Small file operations with durability: every write that must survive a crash goes through
/// `writeAtomically` (temporary file, fsync, rename, fsync of the directory) or `FileHandle`
/// writes followed by `synchronize()`.
enum JournalFiles {
    static func ensureDirectory(_ path: String) throws(JournalError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw JournalError(.io, "cannot create directory \(path): \(describe(error))")
        }
    }

    static func read(_ path: String) throws(JournalError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JournalError(.io, "cannot read \(path)")
        }
        return [UInt8](data)
    }

    /// Replaces `path` with `bytes` so that a crash leaves either the old or the new content.
    static func writeAtomically(_ bytes: [UInt8], to path: String, sync: Bool) throws(JournalError) {
        let temporary = path + ".tmp"
        do {
            _ = FileManager.default.createFile(atPath: temporary, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            defer { try? handle.close() }
            try handle.write(contentsOf: Data(bytes))
            if sync { try handle.synchronize() }
            if rename(temporary, path) != 0 {
                throw JournalError(.io, "cannot rename \(temporary) to \(path): errno \(errno)")
            }
        } catch let error as JournalError {
            _ = unlink(temporary)
            throw error
        } catch {
            _ = unlink(temporary)  // a half-written temporary file would hold on to the space that ran out
            throw writeError(error, "cannot write \(path)")
        }
        if sync { try syncDirectory(of: path) }
    }

    /// fsyncs the directory holding `path`, so that a rename or a new file survives a crash.
    static func syncDirectory(of path: String) throws(JournalError) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory, O_RDONLY)
        guard descriptor >= 0 else { throw JournalError(.io, "cannot open directory \(directory): errno \(errno)") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw JournalError(.io, "cannot fsync directory \(directory): errno \(errno)") }
    }

    static func list(_ directory: String) throws(JournalError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw JournalError(.io, "cannot list \(directory): \(describe(error))")
        }
    }

    static func remove(_ path: String) throws(JournalError) {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw JournalError(.io, "cannot remove \(path): \(describe(error))")
        }
    }

    /// The error for a failed write: `.noSpace` when the file system is full (the caller may
    /// retry once space returns), `.io` for anything else.
    static func writeError(_ error: any Error, _ what: String) -> JournalError {
        let code = posixCode(error)
        let full = code == ENOSPC || code == EDQUOT
        return JournalError(full ? .noSpace : .io, "\(what): \(describe(error))")
    }

    static func posixCode(_ error: any Error) -> Int32? {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return Int32(underlying.code)
        }
        return nsError.domain == NSPOSIXErrorDomain ? Int32(nsError.code) : nil
    }

    static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        return nsError.localizedDescription
    }
}

