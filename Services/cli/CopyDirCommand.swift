import ArgumentParser
import Foundation
import StrataCore

/// `strata copyDir PATH`: copies a directory (typically the installation, or conf/) to every
/// other host in conf/masters and conf/workers with rsync over ssh, as Alluxio's copyDir does.
struct CopyDirCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copyDir",
        abstract: "Copy a directory to the same path on every other host of conf/masters and conf/workers (rsync over ssh).")

    @Argument(help: "The directory to copy.") var path: String

    func run() throws {
        let configuration = try CommandContext.loadConfiguration()
        var isDirectory: ObjCBool = false
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure("\(path) is not a directory")
        }
        var hosts: [String] = []
        for name in ["masters", "workers"] {
            let file = configuration.confDirectory + "/" + name
            guard FileManager.default.fileExists(atPath: file) else { continue }
            do {
                for entry in try HostsFile.read(file).entries where !hosts.contains(entry.host) { hosts.append(entry.host) }
            } catch {
                throw CommandFailure(error.description)
            }
        }
        guard !hosts.isEmpty else { throw CommandFailure("no hosts in \(configuration.confDirectory)/masters or workers") }
        var failed: [String] = []
        for host in hosts {
            if HostAndPort.isLocalHost(host) {
                print("Skipping \(host): this machine")
                continue
            }
            print("RSYNC'ing \(absolute) to \(host)")
            let rsync = Process()
            rsync.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            rsync.arguments = ["rsync", "-az", "-e", "ssh -o BatchMode=yes -o ConnectTimeout=5", absolute + "/", "\(host):\(absolute)/"]
            do {
                try rsync.run()
                rsync.waitUntilExit()
                if rsync.terminationStatus != 0 { failed.append("\(host) (rsync exited with \(rsync.terminationStatus))") }
            } catch {
                failed.append("\(host) (cannot run rsync: \(error.localizedDescription))")
            }
        }
        guard failed.isEmpty else { throw CommandFailure("copying \(absolute) failed for " + failed.joined(separator: ", ")) }
    }
}
