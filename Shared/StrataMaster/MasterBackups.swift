import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import StrataCore
import StrataJournal
import StrataUFS
import StrataWire

/// Backups of the file-system master (`strata fsadmin backup`): the namespace with its mount
/// table and the job table, in one checked file (`Backup`). The leader hands the work to a
/// standby (`strata.master.backup.delegation.enabled`) and keeps serving; the master that takes
/// it reports its progress through BackupStatus.
public final class MasterBackups: Sendable {
    public struct Settings: Sendable {
        public var directory: String
        public var delegation: Bool

        public init(configuration: Configuration) {
            directory = configuration.string(.masterBackupDirectory)
            delegation = configuration.boolean(.masterBackupDelegationEnabled)
        }
    }

    let master: FileSystemMaster
    let settings: Settings
    /// The job table from the leading job master, nil when there is no job service to ask.
    let exportJobTable: @Sendable () async throws -> ExportedJobTable?
    let logger: Logger
    private let backups = NIOLockedValueBox<[UInt64: BackupStatus]>([:])
    /// Backups being taken; ended by `shutdown()` (the master's `OwnedTasksService`).
    public let background = OwnedTasks()
    /// Write size: progress moves at least this often.
    static let chunkBytes = 4 << 20
    static let statusesKept = 64

    public init(master: FileSystemMaster, settings: Settings, exportJobTable: @escaping @Sendable () async throws -> ExportedJobTable?, logger: Logger) {
        self.master = master
        self.settings = settings
        self.exportJobTable = exportJobTable
        self.logger = logger
    }

    public func register(into handlers: inout RPCHandlers) {
        handlers.register(FileSystemMethods.backup) { request, _ in try await self.start(request) }
        handlers.register(FileSystemMethods.backupLocal) { request, _ in try await self.startHere(request, delegated: true) }
        handlers.register(FileSystemMethods.backupStatus) { request, _ in
            guard let status = self.backups.withLockedValue({ $0[request.id] }) else {
                throw RPCError(.notFound, "no backup \(request.id) on \(self.master.thisRPCAddress)")
            }
            return status
        }
    }

    // MARK: On the leader

    /// Starts a backup: on a standby unless delegation is off or bypassed, else (or when no
    /// standby can) on the leader with `allowLeader`. Answers at once.
    func start(_ request: BackupRequest) async throws(RPCError) -> BackupStatus {
        try await master.journaled.ensureLeader()
        try check(request)
        var request = request
        request.id = UInt64(Date().timeIntervalSince1970 * 1000)
        if request.bypassDelegation || !settings.delegation {
            return try await startHere(request, delegated: false)
        }
        let info = await master.journaled.info()
        request.appliedIndex = info.commitIndex
        var tried: [String] = []
        // The standbys: every serving member but this one (journal nodes have no RPC address).
        for member in info.masters where member.rpcAddress != info.thisRPCAddress && member.role != JournalRole.leader.rawValue
            && member.role != EmbeddedServiceJournal.journalNodeRole {
            guard let address = HostAndPort(parsing: member.rpcAddress) else { continue }
            do throws(RPCError) {
                let status = try await RPCClient.with(address, frameSizeMaxBytes: 1 << 20, connectTimeout: .milliseconds(500)) { client throws(RPCError) in
                    try await client.call(FileSystemMethods.backupLocal, request, deadline: .seconds(5))
                }
                logger.info("backup \(request.id) delegated to \(address)")
                return status
            } catch {
                tried.append("\(address): \(error.message)")
            }
        }
        guard request.allowLeader else {
            let why = tried.isEmpty ? "there is no standby master" : "no standby master could take it (\(tried.joined(separator: "; ")))"
            throw RPCError(.failedPrecondition, "cannot delegate the backup: \(why); pass --allow-leader to let the leader take it (it keeps serving), or --bypass-delegation")
        }
        request.appliedIndex = 0
        return try await startHere(request, delegated: false)
    }

    // MARK: On the master that takes it

    private func check(_ request: BackupRequest) throws(RPCError) {
        let folder = request.directory.isEmpty ? settings.directory : request.directory
        guard folder.hasPrefix("/") || (request.local && folder.hasPrefix("file://")) else {
            throw RPCError(.invalidArgument, "backup directory '\(folder)' is not an absolute path\(request.local ? "" : " in the root under storage")")
        }
    }

    func startHere(_ request: BackupRequest, delegated: Bool) async throws(RPCError) -> BackupStatus {
        try check(request)
        var status = BackupStatus()
        status.id = request.id == 0 ? UInt64(Date().timeIntervalSince1970 * 1000) : request.id
        status.host = master.thisRPCAddress.description
        status.delegated = delegated
        status.phase = "starting"
        let initial = status
        // One at a time: the check and the claim under one lock, so two requests cannot both start.
        let running: BackupStatus? = backups.withLockedValue { backups in
            if let running = backups.values.first(where: { $0.state == .running }) { return running }
            backups[initial.id] = initial
            if backups.count > Self.statusesKept, let oldest = backups.keys.min() { backups[oldest] = nil }
            return nil
        }
        if let running { throw RPCError(.failedPrecondition, "backup \(running.id) is still running on \(running.host)") }
        guard background.spawn({ await self.take(request, id: initial.id) }) else {
            backups.withLockedValue { $0[initial.id] = nil }
            throw RPCError(.unavailable, "\(master.thisRPCAddress) is stopping; no backup started")
        }
        return status
    }

    /// The status of backup `status.id` on the master taking it, once it ended.
    func waitForEnd(_ status: BackupStatus) async throws(RPCError) -> BackupStatus {
        var current = status
        if current.host == master.thisRPCAddress.description {
            while current.state == .running {
                try? await Task.sleep(for: .milliseconds(200))
                guard let known = backups.withLockedValue({ $0[current.id] }) else { throw RPCError(.internal, "backup \(current.id) is no longer tracked") }
                current = known
            }
            return current
        }
        guard let host = HostAndPort(parsing: current.host) else { throw RPCError(.internal, "backup \(current.id) names no master ('\(current.host)')") }
        return try await RPCClient.with(host, frameSizeMaxBytes: 1 << 20) { client throws(RPCError) in
            while current.state == .running {
                try? await Task.sleep(for: .milliseconds(200))
                current = try await client.call(FileSystemMethods.backupStatus, BackupStatusRequest(id: current.id), deadline: .seconds(5))
            }
            return current
        }
    }

    /// The backup folder's location: `directory` in the root under storage.
    func location(ofFolder folder: String) -> String {
        master.rootUFS.hasSuffix("/") ? master.rootUFS + folder.dropFirst() : master.rootUFS + folder
    }

    private func update(_ id: UInt64, _ change: (inout BackupStatus) -> Void) {
        backups.withLockedValue { backups in if var status = backups[id] { change(&status); backups[id] = status } }
    }

    private func take(_ request: BackupRequest, id: UInt64) async {
        do {
            let result = try await write(request, id: id)
            update(id) {
                $0.state = .completed
                $0.phase = "done"
                $0.path = result.path
                $0.bytes = result.bytes
                $0.bytesDone = result.bytes
                $0.entries = result.entries
                $0.note = result.note
            }
            logger.info("backup \(id): \(result.path), \(result.bytes) bytes, \(result.entries) entries\(result.note.isEmpty ? "" : "; \(result.note)")")
        } catch {
            update(id) {
                $0.state = .failed
                $0.error = error.message
            }
            logger.warning("backup \(id) failed: \(error.message)")
        }
    }

    private func write(_ request: BackupRequest, id: UInt64) async throws(RPCError) -> (path: String, bytes: UInt64, entries: UInt64, note: String) {
        if request.appliedIndex > 0 {
            update(id) { $0.phase = "applying the journal to index \(request.appliedIndex)" }
            try await master.journaled.waitForApplied(request.appliedIndex, timeout: .seconds(60))
        }
        update(id) { $0.phase = "taking the namespace" }
        let namespace = await master.journaled.exportState()
        var sections = [Backup.Section(kind: .namespace, entries: namespace.entries, data: namespace.data)]
        update(id) { $0.phase = "asking the job master for the job table" }
        var note = ""
        do {
            if let table = try await exportJobTable() {
                sections.append(Backup.Section(kind: .jobTable, entries: table.jobs, data: table.data))
            } else {
                note = "job table not included: no job master is configured"
            }
        } catch {
            note = "job table not included: \(error)"
        }
        let created = UInt64(Date().timeIntervalSince1970 * 1000)
        let backup = Backup(clusterID: master.journaled.clusterID, createdMilliseconds: created, journalIndex: namespace.appliedIndex, sections: sections)
        update(id) { $0.phase = "compressing"; $0.entries = backup.entryCount }
        let file: ByteBuffer
        do { file = try backup.encoded() } catch { throw RPCError(.internal, error.message) }

        let folder = request.directory.isEmpty ? settings.directory : request.directory
        let location: String
        if request.local {
            location = folder
        } else {
            location = self.location(ofFolder: folder)
        }
        let name = Backup.fileName(createdMilliseconds: created)
        do throws(UnderStorageError) {
            let (ufs, relative) = try underStorage(at: location)
            let writer = try await ufs.create(relative + [name], mode: 0o600)
            let total = UInt64(file.readableBytes)
            update(id) { $0.phase = "writing"; $0.bytes = total }
            var offset = 0
            do throws(UnderStorageError) {
                while offset < file.readableBytes {
                    let length = min(Self.chunkBytes, file.readableBytes - offset)
                    try await writer.write(file.getSlice(at: file.readerIndex + offset, length: length)!, at: Int64(offset))
                    offset += length
                    let done = UInt64(offset)
                    update(id) { $0.bytesDone = done }
                }
                try await writer.commit()
            } catch {
                await writer.abort()
                throw error
            }
            return (writer.location, total, backup.entryCount, note)
        } catch {
            throw RPCError(.unavailable, "cannot write the backup to \(location): \(error.message)")
        }
    }
}

/// `strata.master.daily.backup.enabled`: the leading master takes a backup every day at
/// `strata.master.daily.backup.time` (HH:mm, or HH:mm:ss, UTC) in the backup folder of the root
/// under storage (delegated like any other), then keeps the newest
/// `strata.master.daily.backup.files.retained` backups there and deletes the older ones.
public struct DailyBackupService: Service {
    /// When, and how many to keep: checked before the master opens its journal.
    public struct Schedule: Sendable {
        /// Seconds after midnight UTC.
        let secondOfDay: Int
        let retained: Int

        public init(configuration: Configuration) throws(ConfigurationError) {
            let text = configuration.string(.masterDailyBackupTime)
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
            guard (2...3).contains(parts.count), let hour = parts[0], let minute = parts[1], (0..<24).contains(hour), (0..<60).contains(minute),
                  parts.count == 2 || (parts[2].map { (0..<60).contains($0) } ?? false) else {
                throw ConfigurationError(.invalidValue, "\(PropertyKey.masterDailyBackupTime.name)='\(text)' is not a time of day: expected HH:mm (UTC), e.g. 05:00")
            }
            secondOfDay = hour * 3600 + minute * 60 + (parts.count == 3 ? parts[2]! : 0)
            retained = configuration.integer(.masterDailyBackupFilesRetained)
        }
    }

    let backups: MasterBackups
    let secondOfDay: Int
    let retained: Int

    public init(backups: MasterBackups, schedule: Schedule) {
        self.backups = backups
        secondOfDay = schedule.secondOfDay
        retained = schedule.retained
    }

    /// Seconds from `now` (seconds since the epoch) to the next `secondOfDay`.
    static func secondsUntil(_ secondOfDay: Int, from now: Double) -> Double {
        let today = now - now.truncatingRemainder(dividingBy: 86_400)
        var next = today + Double(secondOfDay)
        if next <= now { next += 86_400 }
        return next - now
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let wait = Self.secondsUntil(secondOfDay, from: Date().timeIntervalSince1970)
                try? await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                guard !Task.isCancelled, backups.master.journaled.isLeader else { continue }
                await takeAndPrune()
                try? await Task.sleep(for: .seconds(1)) // past this second
            }
        }
    }

    private func takeAndPrune() async {
        let logger = backups.logger
        var request = BackupRequest()
        request.allowLeader = true
        do throws(RPCError) {
            let started = try await backups.start(request)
            let ended = try await backups.waitForEnd(started)
            guard ended.state == .completed else {
                logger.error("daily backup \(ended.id) on \(ended.host) failed: \(ended.error)")
                return
            }
            logger.notice("daily backup \(ended.id): \(ended.path), \(ended.bytes) bytes, \(ended.entries) entries")
        } catch {
            logger.error("daily backup not taken: \(error.message)")
            return
        }
        let folder = backups.location(ofFolder: backups.settings.directory)
        do throws(UnderStorageError) {
            let (ufs, relative) = try underStorage(at: folder)
            // Names carry the creation time in milliseconds: newest last.
            let files = try ufs.list(relative).filter { !$0.isDirectory && Backup.isBackupFileName($0.name) }
                .sorted { Backup.createdMilliseconds(fromFileName: $0.name) < Backup.createdMilliseconds(fromFileName: $1.name) }
            for file in files.dropLast(retained) {
                try ufs.delete(relative + [file.name], recursive: false)
                logger.info("daily backup: deleted \(file.name) (\(PropertyKey.masterDailyBackupFilesRetained.name)=\(retained))")
            }
        } catch {
            logger.error("daily backup: cannot delete older backups in \(folder): \(error.message)")
        }
    }
}
