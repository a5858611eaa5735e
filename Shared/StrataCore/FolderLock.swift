#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock (flock(2)) on a folder, held until `release()` or until the
/// process ends. Processes that format or initialise the same folder — several containers
/// sharing one volume, say — take it so that one does the work and the others see it done.
public final class FolderLock {
    private var descriptor: Int32

    /// Waits for the lock on the folder `path` (which must exist), calling `waiting` once if
    /// another process holds it.
    public init(_ path: String, waiting: () -> Void = {}) throws(FolderLockError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FolderLockError("cannot open folder \(path) to lock it: \(String(cString: strerror(errno)))") }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
            self.descriptor = descriptor
            return
        }
        waiting()
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw FolderLockError("cannot lock folder \(path): \(reason)")
            }
        }
        self.descriptor = descriptor
    }

    /// Releases the lock (once; later calls do nothing).
    public func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}

public struct FolderLockError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
