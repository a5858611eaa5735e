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
        discussion: "Every member of a quorum must be formatted with the same cluster id. With strata.cluster.id set, that one; otherwise it is derived from the quorum's configured embedded-journal addresses (RPC addresses on the UFS journal), so masters formatted each on its own host agree. A member added to a running cluster is formatted with -Dstrata.cluster.id=<the id its cluster has>. In a job-service-only deployment (no strata.master.mount.table.root.ufs set, and its default folder absent) the root under storage is not checked.")

    @Flag(name: [.customShort("s"), .customLong("skip-formatted")], help: "Only format journals that hold nothing yet: a formatted one is left as it is, and one that holds files but no journal identity is refused, never erased.")
    var skipFormatted = false

    func run() throws {
        let configuration = try CommandContext.loadConfiguration()
        let rootUFS = configuration.string(.masterMountTableRootUFS)
        let rootConfigured = configuration.source(.masterMountTableRootUFS) != .defaultValue || FileManager.default.fileExists(atPath: rootUFS)
        if rootConfigured {
            do {
                try openUnderFileSystem(rootUFS).checkAccessible()
            } catch {
                throw CommandFailure("root under storage (strata.master.mount.table.root.ufs): \(error)")
            }
        } else {
            print("Root under storage not checked: strata.master.mount.table.root.ufs is not set and \(rootUFS) does not exist (a job-service-only deployment needs none)")
        }
        let ufs = JournalFormatter.isUFS(configuration)
        let jobFolder = configuration.string(.jobMasterJournalFolder)
        try JournalFormatter.format(configuration.string(.masterJournalFolder), clusterID: try JournalFormatter.clusterID(configuration, .master),
                                    skipFormatted: skipFormatted, ufs: ufs, keeping: jobFolder)
        try JournalFormatter.format(jobFolder, clusterID: try JournalFormatter.clusterID(configuration, .jobMaster), skipFormatted: skipFormatted, ufs: ufs)
    }
}

/// `strata formatJournal`: formats this host's master journal (and with `--job`, its job-master journal).
struct FormatJournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formatJournal",
        abstract: "Format this host's master journal (strata.master.journal.folder). Everything in it is erased.")

    @Flag(name: .long, help: "Format the job master's journal (strata.job.master.journal.folder) too.")
    var job = false
    @Flag(name: .customLong("job-only"), help: "Format only the job master's journal.")
    var jobOnly = false
    @Flag(name: .customLong("journal-node"), help: "Format this journal node's journals: those of the quorums in strata.journal.node.domains.")
    var journalNode = false
    @Flag(name: [.customShort("s"), .customLong("skip-formatted")], help: "Only format journals that hold nothing yet (what a container does at every start): a formatted one is left as it is, and one that holds files but no journal identity is refused, never erased.")
    var skipFormatted = false

    func run() throws {
        let configuration = try CommandContext.loadConfiguration()
        let ufs = JournalFormatter.isUFS(configuration)
        let jobFolder = configuration.string(.jobMasterJournalFolder)
        if journalNode { return try JournalFormatter.formatJournalNode(configuration, skipFormatted: skipFormatted) }
        if !jobOnly {
            try JournalFormatter.format(configuration.string(.masterJournalFolder), clusterID: try JournalFormatter.clusterID(configuration, .master),
                                        skipFormatted: skipFormatted, ufs: ufs, keeping: jobFolder)
        }
        if job || jobOnly {
            try JournalFormatter.format(jobFolder, clusterID: try JournalFormatter.clusterID(configuration, .jobMaster), skipFormatted: skipFormatted, ufs: ufs)
        }
    }
}

enum JournalFormatter {
    /// `strata.cluster.id` if set (32 hex digits), else the id derived from `domain`'s configured quorum.
    static func clusterID(_ configuration: Configuration, _ domain: JournalDomain) throws -> [UInt8] {
        guard configuration.isSet(.clusterID) else {
            let derived = JournalIdentity.derivedClusterID(domain: domain, configuration: configuration)
            print("Cluster id for \(domain.rawValue) derived from \(derived.basis) (strata.cluster.id is not set)")
            return derived.clusterID
        }
        do {
            return try JournalIdentity.clusterID(fromHex: configuration.string(.clusterID))
        } catch {
            throw CommandFailure(error.message)
        }
    }

    static func isUFS(_ configuration: Configuration) -> Bool { configuration.string(.masterJournalType) == "UFS" }

    /// Formats a journal node's journals: those of the quorums in strata.journal.node.domains.
    static func formatJournalNode(_ configuration: Configuration, skipFormatted: Bool = false) throws {
        guard !isUFS(configuration) else { throw CommandFailure("a journal node belongs to an embedded-journal quorum; strata.master.journal.type is UFS") }
        let jobFolder = configuration.string(.jobMasterJournalFolder)
        let domains = JournalDomain.journalNodeDomains(configuration)
        if domains.contains(.master) {
            try format(configuration.string(.masterJournalFolder), clusterID: try clusterID(configuration, .master), skipFormatted: skipFormatted, ufs: false, keeping: jobFolder)
        }
        if domains.contains(.jobMaster) {
            try format(jobFolder, clusterID: try clusterID(configuration, .jobMaster), skipFormatted: skipFormatted, ufs: false)
        }
    }

    /// Erases `folder` and writes a new identity; for a UFS journal (a shared folder that every
    /// master uses) also its layout: epoch, logs, epochs and checkpoints. A journal nested in it
    /// (`keeping`: the job masters' journal inside the masters', by default) is left alone.
    ///
    /// With `skipFormatted` the folder is locked first (members sharing a UFS journal folder
    /// may all start at once: one formats it, the others find it formatted), and only a folder
    /// holding nothing (but the nested journal) is formatted.
    static func format(_ folder: String, clusterID: [UInt8], skipFormatted: Bool, ufs: Bool = false, keeping nested: String? = nil) throws {
        let kept = nested.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        // Whether `name` in the folder is (or holds) the nested journal, which is never touched.
        func isKept(_ name: String) -> Bool {
            let path = URL(fileURLWithPath: folder + "/" + name).standardizedFileURL.path
            return kept.map { $0 == path || $0.hasPrefix(path + "/") } ?? false
        }
        guard skipFormatted else { return try erase(folder, keeping: isKept, thenFormat: clusterID, ufs: ufs) }
        let lock: FolderLock
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            lock = try FolderLock(folder) { print("Waiting for another process formatting \(folder) (it holds the folder's lock)") }
        } catch {
            throw CommandFailure("cannot prepare journal folder \(folder): \(error)")
        }
        defer { lock.release() }
        do {
            let identity = try JournalIdentity.read(from: folder)
            print("Journal \(folder) is already formatted (cluster \(identity.clusterIDText)); left as it is")
            return
        } catch where error.code == .notFormatted {
            // Nothing that holds data: the nested journal, a file system's lost+found, empty
            // folders (a format cut short before it wrote the identity leaves those).
            let held = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { name in
                if isKept(name) || name == "lost+found" { return false }
                let path = folder + "/" + name
                var isDirectory: ObjCBool = false
                let emptyFolder = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
                    && (try? FileManager.default.contentsOfDirectory(atPath: path).isEmpty) == true
                return !emptyFolder
            }
            guard held.isEmpty else {
                throw CommandFailure("journal folder \(folder) holds \(held.sorted().prefix(5).joined(separator: ", ")) but no journal identity: not formatting it, since that would erase them (move them away, or format it without -s)")
            }
        } catch {
            throw CommandFailure("journal folder \(folder): \(error.message); not formatting it, since that would erase it (format it without -s to start over)")
        }
        try erase(folder, keeping: isKept, thenFormat: clusterID, ufs: ufs)
    }

    /// Removes everything in `folder` but what `isKept` names, then writes a new identity (and a
    /// UFS journal's layout).
    private static func erase(_ folder: String, keeping isKept: (String) -> Bool, thenFormat clusterID: [UInt8], ufs: Bool) throws {
        if FileManager.default.fileExists(atPath: folder) {
            do {
                for name in try FileManager.default.contentsOfDirectory(atPath: folder) where !isKept(name) {
                    try FileManager.default.removeItem(atPath: folder + "/" + name)
                }
            } catch {
                throw CommandFailure("cannot clear journal folder \(folder): \(error.localizedDescription)")
            }
        }
        var generator = SystemRandomNumberGenerator()
        let identity = JournalIdentity(clusterID: clusterID, storageID: UInt64.random(in: 1...UInt64.max, using: &generator))
        do {
            if ufs {
                try UFSJournalFolder.format(folder: folder, identity: identity)
            } else {
                try identity.write(to: folder)
            }
        } catch {
            throw CommandFailure("cannot format journal \(folder): \(error)")
        }
        print("Formatted \(ufs ? "UFS journal" : "journal") \(folder) (cluster \(identity.clusterIDText))")
    }
}

/// `strata formatMasters`: formats the journals of every master in `conf/masters` and of every
/// journal node in `conf/journal-nodes` (if there is one) — this host's directly, other hosts'
/// over ssh (same install path on every host, as the start scripts assume) — all with one
/// cluster id.
struct FormatMastersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formatMasters",
        abstract: "Format the journals of every master in conf/masters and every journal node in conf/journal-nodes (others over ssh). Everything in them is erased.",
        discussion: "Each line of conf/masters (conf/journal-nodes) is a host, optionally followed by strata.property=value words for the process there (its ports and directories when several run on one host).")

    func run() throws {
        let configuration = try CommandContext.loadConfiguration()
        let path = configuration.confDirectory + "/masters"
        let masters: HostsFile
        do { masters = try HostsFile.read(path) } catch { throw CommandFailure(error.description) }
        guard !masters.entries.isEmpty else { throw CommandFailure("\(path) lists no masters") }
        let nodesPath = configuration.confDirectory + "/journal-nodes"
        var nodes: [HostsFile.Entry] = []
        if FileManager.default.fileExists(atPath: nodesPath) {
            do { nodes = try HostsFile.read(nodesPath).entries } catch { throw CommandFailure(error.description) }
        }
        // With strata.cluster.id set, every journal gets it; otherwise each derives its quorum's
        // id from the configured addresses, which comes out the same on every host.
        var clusterText: String? = nil
        if configuration.isSet(.clusterID) {
            _ = try JournalFormatter.clusterID(configuration, .master) // checks it
            clusterText = configuration.string(.clusterID).lowercased()
        }
        var failures: [String] = []
        for entry in masters.entries {
            format(entry, file: path, flag: "--job", clusterText: clusterText, configuration: configuration, failures: &failures) { local in
                let jobFolder = local.string(.jobMasterJournalFolder)
                try JournalFormatter.format(local.string(.masterJournalFolder), clusterID: try JournalFormatter.clusterID(local, .master),
                                            skipFormatted: false, ufs: JournalFormatter.isUFS(local), keeping: jobFolder)
                try JournalFormatter.format(jobFolder, clusterID: try JournalFormatter.clusterID(local, .jobMaster), skipFormatted: false,
                                            ufs: JournalFormatter.isUFS(local))
            }
        }
        for entry in nodes {
            format(entry, file: nodesPath, flag: "--journal-node", clusterText: clusterText, configuration: configuration, failures: &failures) { local in
                try JournalFormatter.formatJournalNode(local)
            }
        }
        guard failures.isEmpty else { throw CommandFailure("formatting failed on " + failures.joined(separator: "; ")) }
        print("Formatted \(masters.entries.count) master journal(s)\(nodes.isEmpty ? "" : " and \(nodes.count) journal node(s)")"
              + (clusterText.map { " for cluster \($0)" } ?? " (cluster ids derived from the configured quorums)"))
    }

    /// Formats one entry: here with `local` (its configuration: the entry's properties and the
    /// cluster id), on another host with `strata formatJournal FLAG` over ssh.
    private func format(_ entry: HostsFile.Entry, file: String, flag: String, clusterText: String?, configuration: Configuration,
                        failures: inout [String], local: (Configuration) throws -> Void) {
        let arguments = CommandContext.propertyArguments.filter { $0.name != PropertyKey.clusterID.name }
            + entry.properties + (clusterText.map { [(PropertyKey.clusterID.name, $0)] } ?? [])
        if entry.isLocal {
            do {
                try local(try Configuration.load(environment: ProcessInfo.processInfo.environment, arguments: arguments))
            } catch {
                failures.append("\(entry.host) (\(file):\(entry.line)): \(error)")
            }
            return
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        let remote = "STRATA_CONF_DIR=" + Self.shellQuoted(configuration.confDirectory) + " "
            + ([executable, "formatJournal", flag] + arguments.map { "-D\($0.name)=\($0.value)" }).map(Self.shellQuoted).joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", entry.host, remote]
        do {
            try process.run()
            process.waitUntilExit()
            if process.terminationStatus != 0 { failures.append("\(entry.host): ssh exited with \(process.terminationStatus)") }
        } catch {
            failures.append("\(entry.host): cannot run ssh: \(error.localizedDescription)")
        }
    }

    static func shellQuoted(_ word: String) -> String {
        if word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
