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
        do {
            identity = try JournalIdentity.read(from: folder)
            (entries, hardState, problems) = try RaftLogStore.readOnly(directory: folder + "/log", identity: identity)
            var repairs: [String] = []
            if FileManager.default.fileExists(atPath: folder + "/snapshots") {
                snapshot = try SnapshotStore(directory: folder + "/snapshots", identity: identity, sync: false).latest(repairs: &repairs)
            }
        } catch {
            throw CommandFailure("cannot read journal \(folder): \(error)")
        }
        var edits = "# journal \(folder): cluster \(identity.clusterIDText), term \(hardState.term), vote \(hardState.vote.map { String($0, radix: 16) } ?? "-")\n"
        if let snapshot { edits += "# snapshot at index \(snapshot.meta.index) (term \(snapshot.meta.term)), \(snapshot.meta.membership)\n" }
        for entry in entries where entry.index >= start && entry.index <= end {
            let text: String
            switch entry.kind {
            case .noop: text = "NOOP (new leader)"
            case .membership: text = "MEMBERSHIP " + (Membership(decoding: entry.data).map { "\($0)" } ?? "<malformed>")
            case .normal:
                text = (try? NamespaceCodec.decodeRecord(entry.data)).map { "\($0)" } ?? "<\(entry.data.count) bytes, not a namespace record>"
            }
            edits += "\(entry.index)\tterm \(entry.term)\t\(text)\n"
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
