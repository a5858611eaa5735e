import NIOCore
import StrataUFS

extension Backup {
    /// Reads and checks the backup at `location` (a local path, `file://…`, or another
    /// under-storage location): every section and the end marker, before anything is restored.
    public static func read(from location: String) async throws(BackupError) -> Backup {
        let reader: UFSReader
        do {
            let (ufs, relative) = try underStorage(at: location)
            reader = try await ufs.openForReading(relative)
        } catch {
            throw BackupError("cannot read backup \(location): \(error.message)")
        }
        var file = ByteBuffer()
        var failure: BackupError? = nil
        if reader.sizeBytes > Int64(sizeMaxBytes) {
            failure = BackupError("backup \(location) is \(reader.sizeBytes) bytes, more than the \(sizeMaxBytes) a backup may be")
        } else {
            file.reserveCapacity(Int(reader.sizeBytes))
            while Int64(file.readableBytes) < reader.sizeBytes {
                var chunk: ByteBuffer
                do { chunk = try await reader.read(at: Int64(file.readableBytes), count: 8 << 20) } catch {
                    failure = BackupError("cannot read backup \(location): \(error.message)")
                    break
                }
                guard chunk.readableBytes > 0 else { break }
                file.writeBuffer(&chunk)
            }
        }
        await reader.close()
        if let failure { throw failure }
        return try Backup(decoding: file, name: location)
    }
}
