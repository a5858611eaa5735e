import ArgumentParser
import StrataClient
import StrataCore
import StrataJournal
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
            if let zooKeeper = client.locator.zooKeeperAddress ?? infos.compactMap({ $0.1?.zooKeeperAddress }).first(where: { !$0.isEmpty }) {
                print("    ZooKeeper address: \(zooKeeper)")
            }
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
            if leader != nil, let workers = try? await client.workers() {
                let live = workers.filter { $0.state == "LIVE" }
                print("    Live workers: \(live.count)")
                print("    Lost workers: \(workers.count - live.count)")
                var tiers: [String: (capacity: Int64, used: Int64)] = [:]
                for worker in live {
                    for tier in worker.tiers { tiers[tier.alias, default: (0, 0)].capacity += tier.capacityBytes; tiers[tier.alias, default: (0, 0)].used += tier.usedBytes }
                }
                for alias in ["MEM", "SSD", "HDD"] where tiers[alias] != nil {
                    print("    Capacity on \(alias): \(ByteSize.format(tiers[alias]!.capacity)), used \(ByteSize.format(tiers[alias]!.used))")
                }
                for worker in workers {
                    print("      " + Format.pad(worker.address.description, 24) + Format.pad(worker.state, 8)
                          + "\(worker.blockCount) blocks, last heartbeat \(worker.lastHeartbeatMillisecondsAgo) ms ago")
                }
            }
        }
    }
}

struct JournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "journal", abstract: "Journal administration.",
                                                    subcommands: [CheckpointCommand.self, QuorumCommand.self])
}

struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint", abstract: "Checkpoint the journal now: the leading master, then every other master.")

    func run() async throws {
        try await FSContext.with([]) { client, _ in
            try await client.checkpoint()
            print("Successfully took a checkpoint on leader \(try await client.currentLeader()) and the other masters")
        }
    }
}

struct QuorumCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quorum", abstract: "Inspect and change the embedded journal's quorum.",
                                                    subcommands: [QuorumInfoCommand.self, QuorumElectCommand.self, QuorumRemoveCommand.self])
}

/// The `-domain` option of the quorum commands.
struct QuorumDomainOptions: ParsableArguments {
    @Option(name: .customLong("domain", withSingleDash: true), help: "The quorum: MASTER (JOB_MASTER once the job service has a journal).")
    var domain: String = "MASTER"

    func validate() throws {
        switch domain.uppercased() {
        case "MASTER": return
        case "JOB_MASTER": throw ValidationError("-domain JOB_MASTER: the job master has no embedded journal in this build")
        default: throw ValidationError("invalid -domain '\(domain)': expected MASTER or JOB_MASTER")
        }
    }
}

enum QuorumPrinter {
    static func print(_ info: QuorumInfo) {
        Swift.print("Journal domain\t: \(info.domain)")
        Swift.print("Quorum size\t: \(info.members.filter(\.voter).count)")
        Swift.print("Quorum leader\t: \(info.leaderAddress)")
        Swift.print("")
        Swift.print(Format.pad("STATE", 12) + "| " + Format.pad("VOTER", 6) + "| " + Format.pad("MATCH INDEX", 12) + "| SERVER ADDRESS")
        for member in info.members {
            Swift.print(Format.pad(member.state, 12) + "| " + Format.pad(member.voter ? "yes" : "no", 6) + "| "
                        + Format.pad(String(member.matchIndex), 12) + "| " + member.address)
        }
    }
}

struct QuorumInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the quorum's members, their state and the leader.")
    @OptionGroup var options: QuorumDomainOptions

    func run() async throws {
        try await FSContext.with([]) { client, _ in
            QuorumPrinter.print(try await client.call(QuorumMethods.info, GetServiceInfoRequest()))
        }
    }
}

struct QuorumElectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "elect", abstract: "Make a member the leader; returns once it leads.")
    @OptionGroup var options: QuorumDomainOptions
    @Option(name: .customLong("address", withSingleDash: true), help: "The member's embedded-journal host:port.") var address: String

    func run() async throws {
        try await FSContext.with([]) { client, _ in
            _ = try await client.call(QuorumMethods.elect, QuorumChangeRequest(address: address))
            let deadline = ContinuousClock.now + .seconds(15)
            var leader = ""
            while ContinuousClock.now < deadline {
                if let info = try? await client.call(QuorumMethods.info, GetServiceInfoRequest()) {
                    leader = info.leaderAddress
                    if leader == address || HostAndPort(parsing: leader) == HostAndPort(parsing: address) {
                        Swift.print("Successfully elected \(address) as the new leader")
                        return
                    }
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw CommandFailure("leadership did not move to \(address) within 15s; the leader is \(leader.isEmpty ? "unknown" : leader)")
        }
    }
}

struct QuorumRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a member (typically one that is gone for good) from the quorum.")
    @OptionGroup var options: QuorumDomainOptions
    @Option(name: .customLong("address", withSingleDash: true), help: "The member's embedded-journal host:port.") var address: String

    func run() async throws {
        try await FSContext.with([]) { client, _ in
            let info = try await client.call(QuorumMethods.remove, QuorumChangeRequest(address: address))
            Swift.print("Removed \(address) from the \(info.domain) quorum")
            QuorumPrinter.print(info)
        }
    }
}
