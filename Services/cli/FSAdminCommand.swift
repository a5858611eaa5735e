import ArgumentParser
import StrataClient
import StrataCore
import StrataWire

/// `strata fsadmin …`: administration of the file-system masters.
struct FSAdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsadmin", abstract: "Administer the masters.",
        subcommands: [ReportCommand.self, JournalCommand.self])
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Summarize the cluster: leader, masters and their journal state.")

    func run() async throws {
        try await FSContext.with([]) { client, _ in
            let infos = await client.probeAll()
            let leader = try? await client.waitForLeader()
            let reference = infos.compactMap(\.1).first
            print("Strata cluster summary:")
            print("    Leader master: \(leader?.description ?? "none")")
            print("    Journal type: \(reference?.journalType ?? "unknown")")
            print("    Cluster id: \(reference.map { $0.clusterID.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() } ?? "unknown")")
            print("    Root under storage: \(reference?.rootUFS ?? "unknown")")
            print("    Inodes: \(infos.first(where: { $0.0 == leader })?.1?.inodeCount ?? 0)")
            print("    Masters:")
            print("      " + Format.pad("address", 24) + Format.pad("role", 12) + Format.pad("term", 8) + Format.pad("commit", 10) + "applied")
            for (address, info) in infos {
                guard let info else {
                    print("      " + Format.pad(address.description, 24) + "UNAVAILABLE")
                    continue
                }
                print("      " + Format.pad(address.description, 24) + Format.pad(info.thisRole, 12) + Format.pad(String(info.term), 8)
                      + Format.pad(String(info.commitIndex), 10) + String(info.appliedIndex))
            }
        }
    }
}

struct JournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "journal", abstract: "Journal administration.",
                                                    subcommands: [CheckpointCommand.self])
}

struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint", abstract: "Make the leading master checkpoint its journal now.")

    func run() async throws {
        try await FSContext.with([]) { client, _ in
            try await client.checkpoint()
            print("Successfully took a checkpoint on master \(try await client.currentLeader())")
        }
    }
}
