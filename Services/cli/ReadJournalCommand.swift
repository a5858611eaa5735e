import ArgumentParser
import Foundation
import StrataCore
import StrataJournal
import StrataNamespace
import StrataRaft

/// `strata readJournal`: a human-readable dump of a stopped master's journal.
struct ReadJournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "readJournal",
        abstract: "Print a stopped master's journal (strata.master.journal.folder) as text.",
        discussion: "Reads without changing anything. With -outputDir, writes edits.txt (one line per entry) and, if there is one, checkpoint.txt (the latest snapshot's namespace).")

    @Option(name: .customLong("start", withSingleDash: true), help: "First index to print.") var start: UInt64 = 0
    @Option(name: .customLong("end", withSingleDash: true), help: "Last index to print.") var end: UInt64 = UInt64.max
    @Option(name: .customLong("outputDir", withSingleDash: true), help: "Write files here instead of printing.") var outputDirectory: String?

    func run() throws {
        let configuration = try CommandContext.loadConfiguration()
        let folder = configuration.string(.masterJournalFolder)
        let identity: JournalIdentity
        let entries: [LogEntry]
        let hardState: HardState
        let problems: [String]
        var snapshot: SnapshotStore.Snapshot?
        let ufs = UFSJournalFolder.isUFSJournal(folder)
        var header = ""
        do {
            identity = try JournalIdentity.read(from: folder)
            var repairs: [String] = []
            if ufs {
                // The UFS journal: only the valid records (a deposed leader's writes after the
                // next epoch began are not part of it), the epochs and the newest checkpoint.
                let journal = UFSJournalFolder(folder: folder, identity: identity, sync: false)
                entries = try journal.validRecords()
                hardState = HardState()
                problems = []
                let epochs = try journal.markers().map { "epoch \($0.epoch) from index \($0.start)" }.joined(separator: ", ")
                header = "# UFS journal \(folder): cluster \(identity.clusterIDText), fence epoch \(try journal.readEpoch()); \(epochs.isEmpty ? "no epochs yet" : epochs)\n"
                snapshot = try SnapshotStore(directory: journal.checkpointsDirectory, identity: identity, sync: false).latest(repairs: &repairs)
            } else {
                (entries, hardState, problems) = try RaftLogStore.readOnly(directory: folder + "/log", identity: identity)
                if FileManager.default.fileExists(atPath: folder + "/snapshots") {
                    snapshot = try SnapshotStore(directory: folder + "/snapshots", identity: identity, sync: false).latest(repairs: &repairs)
                }
                header = "# journal \(folder): cluster \(identity.clusterIDText), term \(hardState.term), vote \(hardState.vote.map { String($0, radix: 16) } ?? "-")\n"
            }
        } catch {
            throw CommandFailure("cannot read journal \(folder): \(error)")
        }
        var edits = header
        if let snapshot {
            edits += ufs ? "# checkpoint at index \(snapshot.meta.index)\n"
                : "# snapshot at index \(snapshot.meta.index) (term \(snapshot.meta.term)), \(snapshot.meta.membership)\n"
        }
        for entry in entries where entry.index >= start && entry.index <= end {
            let text: String
            switch entry.kind {
            case .noop: text = "NOOP (new leader)"
            case .membership: text = "MEMBERSHIP " + (Membership(decoding: entry.data).map { "\($0)" } ?? "<malformed>")
            case .journal: text = "JOURNAL " + (JournalControl(decoding: entry.data).map { "\($0)" } ?? "<malformed>")
            case .normal:
                text = (try? NamespaceCodec.decodeRecord(entry.data)).map { "\($0)" } ?? "<\(entry.data.count) bytes, not a namespace record>"
            }
            edits += "\(entry.index)\t\(ufs ? "epoch" : "term") \(entry.term)\t\(text)\n"
        }
        for problem in problems { edits += "# damaged: \(problem)\n" }

        guard let outputDirectory else {
            print(edits, terminator: "")
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
            try edits.write(toFile: outputDirectory + "/edits.txt", atomically: true, encoding: .utf8)
            if let snapshot {
                let namespace = try Namespace(snapshot: snapshot.data)
                let lines = try namespace.list(.root, recursive: true).map { status in
                    "\(status.isDirectory ? "d" : "-") \(status.lengthBytes)\t\(status.inode.persistence)\t\(status.path)"
                }
                try (lines.joined(separator: "\n") + "\n").write(toFile: outputDirectory + "/checkpoint.txt", atomically: true, encoding: .utf8)
            }
        } catch {
            throw CommandFailure("cannot write to \(outputDirectory): \(error)")
        }
        print("Wrote \(outputDirectory)/edits.txt (\(entries.count) entries)" + (snapshot != nil ? " and checkpoint.txt" : ""))
    }
}
