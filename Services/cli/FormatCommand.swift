import ArgumentParser
import Foundation
import StrataCore
import StrataJournal
import StrataUFS

/// `strata format`: prepares this host's master and job-master journals (and checks the root
/// under storage). Everything in the journal folders is erased.
struct FormatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "format",
        abstract: "Format this host's master and job-master journals; check the root under storage.",
        discussion: "Every master must be formatted with the same cluster id: set strata.cluster.id, or pass the id printed by the first format with -Dstrata.cluster.id=… on the others.")

    @Flag(name: .customShort("s"), help: "Only format journals that are not formatted yet.")
    var skipFormatted = false

    func run() throws {
        let configuration = try CommandContext.loadConfiguration()
        let rootUFS = configuration.string(.masterMountTableRootUFS)
        do {
            try openUnderFileSystem(rootUFS).checkAccessible()
        } catch {
            throw CommandFailure("root under storage (strata.master.mount.table.root.ufs): \(error)")
        }
        let clusterID = try JournalFormatter.clusterID(configuration)
        for folder in [configuration.string(.masterJournalFolder), configuration.string(.jobMasterJournalFolder)] {
            try JournalFormatter.format(folder, clusterID: clusterID, skipFormatted: skipFormatted)
        }
    }
}

/// `strata formatJournal`: formats only this host's master journal.
struct FormatJournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formatJournal",
        abstract: "Format this host's master journal (strata.master.journal.folder). Everything in it is erased.")

    func run() throws {
        let configuration = try CommandContext.loadConfiguration()
        try JournalFormatter.format(configuration.string(.masterJournalFolder), clusterID: try JournalFormatter.clusterID(configuration), skipFormatted: false)
    }
}

enum JournalFormatter {
    /// `strata.cluster.id` if set (32 hex digits), else a new random id.
    static func clusterID(_ configuration: Configuration) throws -> [UInt8] {
        guard configuration.isSet(.clusterID) else {
            var generator = SystemRandomNumberGenerator()
            return JournalIdentity.random(using: &generator).clusterID
        }
        do {
            return try JournalIdentity.clusterID(fromHex: configuration.string(.clusterID))
        } catch {
            throw CommandFailure(error.message)
        }
    }

    static func format(_ folder: String, clusterID: [UInt8], skipFormatted: Bool) throws {
        if skipFormatted, (try? JournalIdentity.read(from: folder)) != nil {
            print("Journal \(folder) is already formatted; left as it is")
            return
        }
        if FileManager.default.fileExists(atPath: folder) {
            do {
                for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
                    try FileManager.default.removeItem(atPath: folder + "/" + name)
                }
            } catch {
                throw CommandFailure("cannot clear journal folder \(folder): \(error.localizedDescription)")
            }
        }
        var generator = SystemRandomNumberGenerator()
        let identity = JournalIdentity(clusterID: clusterID, storageID: UInt64.random(in: 1...UInt64.max, using: &generator))
        do {
            try identity.write(to: folder)
        } catch {
            throw CommandFailure("cannot format journal \(folder): \(error)")
        }
        print("Formatted journal \(folder) (cluster \(identity.clusterIDText))")
    }
}
