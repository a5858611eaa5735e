import ArgumentParser
import StrataClient
import StrataCore
import StrataJob
import StrataJournal
import StrataWire

/// `strata fsadmin …`: administration of the file-system masters.
struct FSAdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsadmin", abstract: "Administer the masters.",
        subcommands: [ReportCommand.self, JournalCommand.self, BackupCommand.self])
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Summarize the cluster: leader, masters and their journal state (or, with jobservice, the job service).")
    @Argument(help: "summary (the default) or jobservice.") var category = "summary"

    func run() async throws {
        switch category.lowercased() {
        case "summary": try await summary()
        case "jobservice": try await JobServiceReport.print()
        default: throw CommandFailure("unknown report '\(category)': expected summary or jobservice")
        }
    }

    func summary() async throws {
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
    @Option(name: .customLong("domain", withSingleDash: true), help: "The quorum: MASTER or JOB_MASTER.")
    var domain: String = "MASTER"

    func validate() throws {
        guard JournalDomain(rawValue: domain.uppercased()) != nil else {
            throw ValidationError("invalid -domain '\(domain)': expected MASTER or JOB_MASTER")
        }
    }

    /// Runs `body` with a client of the domain's leader (the masters or the job masters).
    func with<T>(_ body: (ServiceClient) async throws -> T) async throws -> T {
        switch JournalDomain(rawValue: domain.uppercased()) ?? .master {
        case .master: try await FSContext.with([]) { client, _ in try await body(client.service) }
        case .jobMaster: try await JobContext.with { client in try await body(client.service) }
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
                        + Format.pad(String(member.matchIndex), 12) + "| " + member.address + (member.journalNode ? " (journal node)" : ""))
        }
    }
}

struct QuorumInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the quorum's members, their state and the leader.")
    @OptionGroup var options: QuorumDomainOptions

    func run() async throws {
        try await options.with { client in
            QuorumPrinter.print(try await client.call(QuorumMethods.info, GetServiceInfoRequest()))
        }
    }
}

struct QuorumElectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "elect", abstract: "Make a member the leader; returns once it leads.")
    @OptionGroup var options: QuorumDomainOptions
    @Option(name: .customLong("address", withSingleDash: true), help: "The member's embedded-journal host:port.") var address: String

    func run() async throws {
        try await options.with { client in
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
        try await options.with { client in
            let info = try await client.call(QuorumMethods.remove, QuorumChangeRequest(address: address))
            Swift.print("Removed \(address) from the \(info.domain) quorum")
            QuorumPrinter.print(info)
        }
    }
}

/// `fsadmin report jobservice`, as Alluxio prints it: job workers with their pool and active
/// tasks, jobs per status, and the most recently modified, most recently failed and longest
/// running jobs.
enum JobServiceReport {
    static func print() async throws {
        try await JobContext.with { client in
            let summary = try await client.summary()
            Swift.print("Job master: \(try await client.service.currentLeader())")
            if summary.workers.isEmpty { Swift.print("No job workers are reporting") }
            for worker in summary.workers {
                Swift.print("Worker: " + Format.pad(worker.address, 24) + "Task Pool Size: " + Format.pad(String(worker.poolSize), 6)
                            + "Active Tasks: " + Format.pad(String(worker.activeTasks), 6) + "Block Store: " + (worker.blockStore ? "yes" : "no"))
            }
            Swift.print("")
            for status in [JobStatus.created, .canceled, .failed, .running, .completed] {
                Swift.print("Status: " + Format.pad(status.description, 10) + "Count: \(summary.count(status))")
            }
            section("10 Most Recently Modified Jobs:", summary.recent, time: \.lastUpdateMilliseconds)
            section("10 Most Recently Failed Jobs:", summary.failed, time: \.lastUpdateMilliseconds)
            section("10 Longest Running Jobs:", summary.longest, time: \.createTimeMilliseconds)
        }
    }

    static func section(_ title: String, _ jobs: [JobInfo], time: KeyPath<JobInfo, Int64>) {
        Swift.print("")
        Swift.print(title)
        if jobs.isEmpty { Swift.print("(none)") }
        for job in jobs {
            Swift.print("Timestamp: " + Format.pad(Format.date(job[keyPath: time]), 26) + "Id: " + Format.pad(String(job.id), 16)
                        + "Name: " + Format.pad(job.name, 10) + "Status: \(job.status)")
        }
    }
}
