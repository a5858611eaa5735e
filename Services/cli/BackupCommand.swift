import ArgumentParser
import Foundation
import StrataClient
import StrataCore
import StrataWire

/// `strata fsadmin backup [DIR] [--local] [--allow-leader] [--bypass-delegation]`: a backup of
/// the namespace (with the mount table) and the job table, taken by a standby unless told
/// otherwise, followed to the end: where it runs, what it is doing, then the file, its size and
/// its entry count.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up the namespace, the mount table and the job table to one file.",
        discussion: "DIR is a folder in the root under storage (default strata.master.backup.directory, /strata_backups); with --local, a folder on the disk of the master that takes the backup. The leading master has a standby take it (strata.master.backup.delegation.enabled) and keeps serving.")

    @Argument(help: "Folder for the backup file.") var directory: String?
    @Flag(name: .long, help: "Write to the backing-up master's own disk instead of the root under storage.") var local = false
    @Flag(name: .customLong("allow-leader"), help: "Let the leader take the backup when no standby can.") var allowLeader = false
    @Flag(name: .customLong("bypass-delegation"), help: "Take the backup on the leader.") var bypassDelegation = false

    func run() async throws {
        var request = BackupRequest()
        request.directory = directory ?? ""
        request.local = local
        request.allowLeader = allowLeader
        request.bypassDelegation = bypassDelegation
        try await FSContext.with([]) { client, _ in
            var status = try await client.call(FileSystemMethods.backup, request)
            print("Backup \(status.id) is taken by \(status.host)\(status.delegated ? " (a standby; the leader keeps serving)" : " (the leader)")")
            guard let host = HostAndPort(parsing: status.host) else { throw CommandFailure("the leader named no master for the backup ('\(status.host)')") }
            let taker = RPCClient(address: host, frameSizeMaxBytes: 1 << 20)
            var lastLine = ""
            var lost: RPCError? = nil
            while status.state == .running {
                try? await Task.sleep(for: .milliseconds(200))
                do throws(RPCError) {
                    status = try await taker.call(FileSystemMethods.backupStatus, BackupStatusRequest(id: status.id), deadline: .seconds(5))
                } catch {
                    lost = error
                    break
                }
                var line = "  \(status.phase)"
                if status.phase == "writing" && status.bytes > 0 {
                    line += " \(ByteSize.format(Int64(status.bytesDone))) of \(ByteSize.format(Int64(status.bytes))) (\(status.bytesDone * 100 / status.bytes)%)"
                }
                if line != lastLine && status.state == .running { print(line) }
                lastLine = line
            }
            await taker.close()
            if let lost { throw CommandFailure("lost track of backup \(status.id) on \(host): \(lost.message)") }
            guard status.state == .completed else { throw CommandFailure("backup \(status.id) on \(host) failed: \(status.error)") }
            print("Backup complete: \(status.path)")
            print("  \(status.bytes) bytes, \(status.entries) entries")
            if !status.note.isEmpty { print("  Note: \(status.note)") }
        }
    }
}
