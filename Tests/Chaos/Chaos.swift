import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import StrataClient
import StrataCore
import StrataJob
import StrataJournal
import StrataLinearizability
import StrataRaft
import StrataTesting
import StrataWire
import Synchronization

/// A fault campaign against a real cluster: masters each on a host of their own (network
/// namespaces), concurrent clients whose every operation is recorded, and a seeded nemesis that
/// kills, pauses, partitions and slows the hosts, fills and corrupts their journals, and cuts off
/// or restarts ZooKeeper. Then everything heals, the history is checked
/// for linearizability, every master must hold the same state, and a table says what happened.
@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata-chaos",
        abstract: "Run a fault campaign against a real Strata cluster and check what clients saw.",
        discussion: """
            Needs root (network namespaces). The seed is printed; the same seed gives the same \
            schedule of faults and operations (timings still differ run to run).
            Short form (CI): strata-chaos --duration 30
            Long form: strata-chaos --duration 900 --faults kill   (100+ leader kill -9 cycles)
            """)

    @Option(help: "The seed of the fault schedule and of the clients' operations (default: random, printed).")
    var seed: UInt64?

    @Option(help: "Seconds of faults; then everything heals and the checks run.")
    var duration = 60

    @Option(help: "Concurrent clients.")
    var clients = 4

    @Option(help: "Top-level directories the clients work in (independent keys for the checker).")
    var keys = 4

    @Option(parsing: .upToNextOption, help: "Faults to inject (\(Fault.allCases.map(\.rawValue).joined(separator: ", "))).")
    var faults: [Fault] = Fault.allCases

    @Option(parsing: .upToNextOption, help: "Clusters to run against, one after another (\(ClusterKind.allCases.map(\.rawValue).joined(separator: ", "))).")
    var clusters: [ClusterKind] = ClusterKind.allCases

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be positive, got \(duration)") }
        guard (1...64).contains(clients) else { throw ValidationError("--clients must be 1–64, got \(clients)") }
        guard (1...64).contains(keys) else { throw ValidationError("--keys must be 1–64, got \(keys)") }
        guard !faults.isEmpty else { throw ValidationError("--faults names none") }
        guard !clusters.isEmpty else { throw ValidationError("--clusters names none") }
    }

    func run() async throws {
        guard getuid() == 0 else { throw ValidationError("strata-chaos needs root: its hosts are network namespaces") }
        if faults.contains(.clock) && !FileManager.default.fileExists(atPath: Campaign.libfaketime) {
            throw ValidationError("the clock fault needs libfaketime (\(Campaign.libfaketime)): apt-get install libfaketime, or leave out --faults clock")
        }
        let seed = seed ?? UInt64.random(in: 1...UInt64.max)
        say("strata-chaos: seed \(seed); replay with --seed \(seed) --duration \(duration) --clients \(clients) --keys \(keys) --faults \(faults.map(\.rawValue).joined(separator: " ")) --clusters \(clusters.map(\.rawValue).joined(separator: " "))")
        var tables: [String] = []
        var passed = true
        for kind in clusters {
            say("\(kind.title):")
            let campaign = Campaign(kind: kind, seed: seed, duration: .seconds(duration), clientCount: clients, keyCount: keys, faults: faults)
            let report = try await campaign.run()
            say(report.table)
            tables.append(report.table)
            passed = passed && report.passed
        }
        if clusters.count > 1 { say("\nstrata-chaos: \(passed ? "PASSED" : "FAILED") on \(clusters.map(\.rawValue).joined(separator: ", "))") }
        if !passed { throw ExitCode(1) }
    }
}

/// The kinds of cluster a campaign runs against.
enum ClusterKind: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// Three masters on the embedded (Raft) journal.
    case embedded
    /// Two masters and a journal node in one embedded-journal quorum.
    case journalNode = "journal-node"
    /// Three masters on the UFS journal (a shared folder), ZooKeeper electing; ZooKeeper runs
    /// beside the clients, so cutting a master off from the clients cuts it off from ZooKeeper.
    case ufs

    var title: String {
        switch self {
        case .embedded: "embedded journal, 3 masters on 3 hosts"
        case .journalNode: "embedded journal, 2 masters and a journal node on 3 hosts"
        case .ufs: "UFS journal with ZooKeeper, 3 masters on 3 hosts"
        }
    }
}

/// What the nemesis does to the cluster, each undone after a few seconds.
enum Fault: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// kill -9 the leader, restart it.
    case kill
    /// SIGSTOP the leader (its sockets stay open), SIGCONT it.
    case pause
    /// Cut the leader off from the other members (clients still reach it); on the UFS journal,
    /// cut it off from ZooKeeper (and the clients) instead.
    case partition
    /// A follower's packets to the leader are dropped (the leader's reach the follower).
    case oneway
    /// kill -9 a follower (or the journal node), restart it.
    case follower
    /// Limit one host's link to 500 kbit/s.
    case slow
    /// Add 50–300 ms each way to one host's connections (journal and RPC ports) through the
    /// delay proxy.
    case delay
    /// Fill the leader's journal disk (each journal is on a small tmpfs; the UFS journal's
    /// shared folder is one), then free it.
    case diskfull
    /// kill -9 a follower master, flip a byte in its newest log segment and in its newest
    /// snapshot, restart it (embedded journal only: the UFS journal has one copy).
    case corrupt
    /// Cut the leader off from ZooKeeper only (clients still reach it) for longer than its
    /// session: the server expires the session and another master takes a newer epoch (UFS).
    case zkexpire
    /// kill -9 the ZooKeeper server and restart it on the same data (UFS).
    case zkrestart
    /// kill -9 the leading job master, restart it (the clusters with a job service).
    case jobkill
    /// Restart a master (the leader or a follower) with a skewed clock (libfaketime): its wall
    /// clock off by up to a minute either way, and its clocks running at 0.5–2× real time, so
    /// that its timers fire early or late; after the hold, restart it with the true clock.
    case clock

    func applies(to kind: ClusterKind) -> Bool {
        switch self {
        case .corrupt, .jobkill: kind != .ufs
        case .zkexpire, .zkrestart: kind == .ufs
        default: true
        }
    }
}

/// One line on standard output at once.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

typealias Input = NamespaceModel.Input
typealias Output = NamespaceModel.Output

/// A flag the campaign raises to stop its clients.
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .relaxed) }
    var isRaised: Bool { raised.load(ordering: .relaxed) }
}

/// What the clients saw, beside the history: counts, unexpected errors, and the longest time
/// without any operation succeeding.
final class ClientStats: Sendable {
    struct State {
        var ok = 0
        var failed = 0
        var unknown = 0
        var anomalies: [String] = []
        var lastSuccess: ContinuousClock.Instant? = nil
        var longestGap: Duration = .zero
    }
    let state = Mutex(State())

    /// A namespace operation succeeded (the job client's are counted in its own history).
    func succeeded() {
        let now = ContinuousClock.now
        state.withLock { state in
            state.ok += 1
            if let last = state.lastSuccess, now - last > state.longestGap {
                state.longestGap = now - last
            }
            state.lastSuccess = now
        }
    }
}

struct Campaign: Sendable {
    static let checkpointPeriodEntries = 200
    let kind: ClusterKind
    let seed: UInt64
    let duration: Duration
    let clientCount: Int
    let keyCount: Int
    let faults: [Fault]

    struct Report {
        var table: String
        var passed: Bool
    }

    func run() async throws -> Report {
        try await ProcessHarness.with("chaos") { harness in
            let network = try TestNetwork.create(hosts: 3, namePrefix: "host")
            defer { network.close() }
            // Frequent CHECKPOINT entries: at each, every master digests its state and the
            // journal compares the digests.
            // Small segments, so that checkpoints compact the log on the journals' small disks.
            let extra = ["strata.master.journal.checkpoint.period.entries": String(Self.checkpointPeriodEntries),
                         "strata.master.embedded.journal.segment.size": "1MB"]
            let cluster: MasterCluster
            var zooKeeper: ZooKeeperEnsemble? = nil
            switch kind {
            case .embedded:
                cluster = try await MasterCluster.prepare(harness, count: 3, extra: extra, network: network)
            case .journalNode:
                cluster = try await MasterCluster.prepare(harness, count: 2, journalNodes: 1, extra: extra, network: network)
            case .ufs:
                zooKeeper = try await ZooKeeperEnsemble.start(harness, count: 1, clientAddress: network.gateway)
                cluster = try await MasterCluster.prepareUFS(harness, count: 3, zooKeeper: zooKeeper!, sessionTimeout: .seconds(3),
                                                             extra: extra, network: network)
            }
            // Each master's journal on a small disk of its own (the UFS journal: its shared folder).
            var disks: [String: SmallDisk] = [:]
            var mounted: [SmallDisk] = []
            defer { for disk in mounted { disk.unmount() } }
            if kind == .ufs {
                let shared = try SmallDisk.mount(over: cluster.members[0].properties["strata.master.journal.folder"]!, sizeBytes: Self.diskBytes)
                mounted.append(shared)
                for member in cluster.members { disks[member.name] = shared }
            } else {
                for member in cluster.members {
                    disks[member.name] = try SmallDisk.mount(over: Self.journalFolder(member), sizeBytes: Self.diskBytes)
                    mounted.append(disks[member.name]!)
                }
            }
            let applicable = faults.filter { $0.applies(to: kind) }
            let processes = NIOLockedValueBox<[String: TestProcess]>([:])
            // The job service (on the embedded journal's clusters): a job master on each host, in
            // a quorum of its own.
            let jobs = kind == .ufs ? nil : try await JobMasterCluster.prepare(harness, count: 3, masters: cluster, network: network)
            @Sendable func start(_ member: MasterCluster.Member, suffix: String = "", environment: [String: String] = [:]) async throws {
                let process = member.name.hasPrefix("journalnode")
                    ? try await cluster.startJournalNode(member, in: harness, suffix: suffix)
                    : member.name.hasPrefix("jobmaster") ? try await jobs!.start(member, in: harness, suffix: suffix)
                    : try await cluster.start(member, in: harness, suffix: suffix, environment: environment)
                processes.withLockedValue { $0[member.name] = process }
            }
            /// kill -9 `member`'s process and wait until it is gone (its files may then be changed).
            @Sendable func killAndWait(_ member: MasterCluster.Member) async throws {
                let process = processes.withLockedValue { $0[member.name] }
                process?.kill()
                _ = try await process?.waitForExit()
            }
            let everyone = cluster.members + cluster.journalNodes + (jobs?.members ?? [])
            for member in everyone { try await start(member) }
            _ = try await cluster.leader()
            if let jobs { _ = try await jobs.leader() }
            let addresses = cluster.members.map(\.rpc)
            let configuration = try Configuration.defaults(overrides: [
                .masterRpcAddresses: addresses.map(\.description).joined(separator: ","),
                .userRpcRetryMaxDuration: "20s",
            ])
            let setup = FileSystemClient(masters: addresses, configuration: configuration)
            for key in 0..<keyCount { _ = try await setup.createDirectory("/k\(key)", allowExists: true) }
            let firstTerm = await Self.highestTerm(setup)

            let recorder = HistoryRecorder<Input, Output>()
            let jobRecorder = HistoryRecorder<JobModel.Input, JobModel.Output>()
            let stats = ClientStats()
            let stop = StopFlag()
            let started = ContinuousClock.now
            var injected: [Fault: Int] = [:]
            var random = SplitMix64(seed: seed)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<clientCount {
                    let clientSeed = seed &+ UInt64(client + 1) &* 0x9E37_79B9_7F4A_7C15
                    group.addTask {
                        let fileSystem = FileSystemClient(masters: addresses, configuration: configuration)
                        await Self.clientLoop(client, fileSystem, seed: clientSeed, keys: keyCount, recorder: recorder, stats: stats, stop: stop)
                        await fileSystem.close()
                    }
                }
                if let jobs {
                    var jobProperties: [PropertyKey: String] = [.userRpcRetryMaxDuration: "20s"]
                    for (name, value) in jobs.clientProperties { if let key = PropertyKey.named(name) { jobProperties[key] = value } }
                    let jobConfiguration = try Configuration.defaults(overrides: jobProperties)
                    let jobClient = JobClient(locator: try MasterLocator.configured(jobConfiguration, domain: .jobMaster), configuration: jobConfiguration)
                    group.addTask {
                        await Self.jobLoop(clientCount + 1, jobClient, seed: seed &+ 0xC0FFEE, keys: keyCount, recorder: jobRecorder, stats: stats, stop: stop)
                        await jobClient.close()
                    }
                }
                // A member that exits by itself is an anomaly: reported with its last words, and
                // restarted so that the campaign goes on.
                @Sendable func reviveCrashed() async throws {
                    for member in everyone {
                        guard let process = processes.withLockedValue({ $0[member.name] }), !process.isRunning else { continue }
                        let lastWords = process.log().split(separator: "\n").filter { $0.contains("Fatal error") || $0.contains("error") }.suffix(2)
                        stats.state.withLock {
                            $0.anomalies.append("\(member.name) exited by itself (status \(process.exitStatus ?? -1)): \(lastWords.joined(separator: " | "))")
                        }
                        say("  \(member.name) exited by itself: restarting it")
                        try await start(member, suffix: "-revived\(UInt32.random(in: 0...UInt32.max))")
                    }
                }
                // The nemesis.
                var round = 0
                while ContinuousClock.now - started < duration {
                    try await reviveCrashed()
                    try await Task.sleep(for: .milliseconds(Int64.random(in: 1000...2000, using: &random)))
                    guard ContinuousClock.now - started < duration else { break }
                    round += 1
                    let fault = applicable[Int.random(in: 0..<applicable.count, using: &random)]
                    guard let leader = try? await cluster.leader(timeout: .seconds(10)) else {
                        say(String(format: "  %6.1f s  no leader found; no fault this round", (ContinuousClock.now - started).seconds))
                        continue
                    }
                    let followers = (cluster.members + cluster.journalNodes).filter { $0.name != leader.name }
                    let follower = followers[Int.random(in: 0..<followers.count, using: &random)]
                    let hold = Duration.milliseconds(Int64.random(in: 2000...4000, using: &random))
                    say(String(format: "  %6.1f s  %@ (leader %@)", (ContinuousClock.now - started).seconds, fault.rawValue, leader.name))
                    injected[fault, default: 0] += 1
                    switch fault {
                    case .kill, .follower:
                        let victim = fault == .kill ? leader : follower
                        processes.withLockedValue { $0[victim.name] }?.kill()
                        try await Task.sleep(for: hold / 2)
                        try await start(victim, suffix: "-r\(round)")
                    case .pause:
                        let process = processes.withLockedValue { $0[leader.name] }
                        process?.signal(SIGSTOP)
                        try await Task.sleep(for: hold)
                        process?.signal(SIGCONT)
                    case .partition where kind == .ufs:
                        try network.isolateFromClients(leader.host!.host)
                        try await Task.sleep(for: hold)
                        try network.heal()
                    case .partition:
                        try network.partition([[leader.host!.host], network.hosts.filter { $0 != leader.host!.host }])
                        try await Task.sleep(for: hold)
                        try network.heal()
                    case .oneway:
                        try network.cut(from: follower.host!.host, to: leader.host!.host)
                        try await Task.sleep(for: hold)
                        try network.heal()
                    case .slow:
                        try network.limitRate(network.hosts[Int.random(in: 0..<3, using: &random)], kilobitsPerSecond: 500)
                        try await Task.sleep(for: hold)
                        try network.heal()
                    case .clock:
                        let masters = cluster.members
                        let victim = masters[Int.random(in: 0..<masters.count, using: &random)]
                        let offset = Int.random(in: -60...60, using: &random)
                        let rate = Double(Int.random(in: 5...20, using: &random)) / 10
                        say("             \(victim.name): clock \(offset >= 0 ? "+" : "")\(offset) s, running at \(rate)×")
                        try await killAndWait(victim)
                        try await start(victim, suffix: "-r\(round)-skewed", environment: [
                            "LD_PRELOAD": Self.libfaketime, "FAKETIME": "\(offset >= 0 ? "+" : "")\(offset)s x\(rate)", "FAKETIME_NO_CACHE": "1"])
                        try await Task.sleep(for: hold)
                        try await killAndWait(victim)
                        try await start(victim, suffix: "-r\(round)")
                    case .jobkill:
                        guard let jobLeader = try? await jobs!.leader(timeout: .seconds(10)) else {
                            say("             no job master leads; none killed")
                            continue
                        }
                        say("             \(jobLeader.name)")
                        processes.withLockedValue { $0[jobLeader.name] }?.kill()
                        try await Task.sleep(for: hold / 2)
                        try await start(jobLeader, suffix: "-r\(round)")
                    case .delay:
                        let host = network.hosts[Int.random(in: 0..<3, using: &random)]
                        let milliseconds = Int64.random(in: 50...300, using: &random)
                        say("             \(host.name): +\(milliseconds) ms each way")
                        try network.delay(host, by: .milliseconds(milliseconds), ports: kind == .ufs ? [19998] : [19200, 19998, 20001, 20003],
                                          proxy: ProcessHarness.binaryDirectory + "/strata-delay-proxy")
                        try await Task.sleep(for: hold)
                        try network.heal()
                    case .diskfull:
                        let disk = disks[leader.name]!
                        try disk.fill()
                        try await Task.sleep(for: hold)
                        disk.free()
                    case .corrupt:
                        let masters = followers.filter { !$0.name.hasPrefix("journalnode") }
                        let victim = masters[Int.random(in: 0..<masters.count, using: &random)]
                        try await killAndWait(victim)
                        let flipped = Self.flipBytes(journal: Self.journalFolder(victim), using: &random)
                        say("             \(victim.name): flipped \(flipped.isEmpty ? "nothing (no files yet)" : flipped.joined(separator: ", "))")
                        try await Task.sleep(for: hold / 2)
                        try await start(victim, suffix: "-r\(round)")
                    case .zkexpire:
                        try network.cutFromGateway(leader.host!.host, port: zooKeeper!.servers[0].clientPort)
                        try await Task.sleep(for: hold + .seconds(3))  // past the 3 s session timeout
                        try network.heal()
                    case .zkrestart:
                        zooKeeper!.kill(1)
                        try await Task.sleep(for: hold / 2)
                        try await zooKeeper!.restart(1)
                    }
                }
                // Heal everything; the clients go on a little on the healed cluster, then stop.
                try network.heal()
                for disk in mounted { disk.free() }
                for process in processes.withLockedValue({ Array($0.values) }) { process.signal(SIGCONT) }
                try await reviveCrashed()
                try await Task.sleep(for: .seconds(3))
                stop.raise()
                try await group.waitForAll()
            }

            // The final state, read by one more client, is part of the history: an acknowledged
            // write missing from it makes the history non-linearizable.
            for key in 0..<keyCount {
                let id = recorder.invoke(client: clientCount, .list("/k\(key)"))
                do {
                    let names = try await setup.list("/k\(key)").map(\.name).sorted()
                    recorder.complete(id, .listing(names))
                } catch {
                    recorder.unknown(id)
                    stats.state.withLock { $0.anomalies.append("final listing of /k\(key) failed: \(error)") }
                }
            }
            let history = recorder.history()
            let checkStarted = ContinuousClock.now
            let verdict = LinearizabilityChecker(model: NamespaceModel()).check(history)
            let jobHistory = jobRecorder.history()
            let jobVerdict = LinearizabilityChecker(model: JobModel()).check(jobHistory)
            let checkTook = ContinuousClock.now - checkStarted
            let lastTerm = await Self.highestTerm(setup)
            let convergence = await Self.convergence(setup, cluster: cluster, harness: harness, digests: kind != .ufs)
            await setup.close()

            let seen = stats.state.withLock { $0 }
            let faultText = Fault.allCases.compactMap { fault in injected[fault].map { "\(fault.rawValue) \($0)" } }.joined(separator: ", ")
            let total = injected.values.reduce(0, +)
            var lines = [
                "",
                "strata-chaos: \(kind.title), \(clientCount) clients, \(keyCount) keys, seed \(seed), \(Int(duration.seconds)) s of faults",
                "  faults injected        \(total == 0 ? "none" : faultText) (\(total))",
                "  operations             \(seen.ok) answered (done, or a definite ALREADY_EXISTS/NOT_FOUND), \(seen.failed) failed, \(seen.unknown) unknown (\(history.count) recorded)",
                "  linearizable           \(verdict.isLinearizable ? "yes" : "NO"): \(verdict) (checked in \(String(format: "%.2f", checkTook.seconds)) s)",
                "  lost acknowledged      \(verdict.isLinearizable ? "0 (every acknowledged operation is in the final listings' past)" : "see the violation above")",
                "  elections              \(lastTerm.map { last in firstTerm.map { "\(last - $0) (term \($0) → \(last))" } ?? "?" } ?? "?")",
                "  longest unavailable    \(String(format: "%.2f", seen.longestGap.seconds)) s without any operation succeeding",
                "  converged              \(convergence.text)",
                "  jobs                   " + (jobs == nil ? "no job service on this cluster" : Self.jobSummary(jobHistory, jobVerdict)),
                "  anomalies              \(seen.anomalies.isEmpty ? "none" : "\(seen.anomalies.count): " + seen.anomalies.prefix(5).joined(separator: "; "))",
            ]
            let logs = harness.allLogs().components(separatedBy: "\n")
            func count(_ text: String) -> Int { logs.filter { $0.contains(text) }.count }
            lines.insert("  journals reported      \(count("journal repaired at start-up")) repairs at start-up, \(count("nothing is acknowledged until it can") + logs.filter { $0.contains("could not take over the UFS journal") && $0.contains("No space left") }.count) disk-full stalls, "
                         + "\(count("fenced: ")) fenced writes (a newer epoch)", at: lines.count - 1)
            // Connections that took requests and answered nothing: closed by a journal peer after a
            // deadline with nothing received, and handlers still running well past their caller's
            // deadline (RPCServer's watchdog). Quoted, for a look.
            let silent = logs.filter { $0.contains("nothing came back on it since") }
            let stuck = logs.filter { $0.contains("its handler is stuck") }
            lines.insert("  unanswered RPCs        \(silent.count) silent connections closed by a journal peer, \(stuck.count) stuck handlers"
                         + (silent.isEmpty && stuck.isEmpty ? "" : ": " + (stuck.prefix(2) + silent.prefix(2)).joined(separator: " | ")), at: lines.count - 1)
            let jobsPassed = jobs == nil || (jobVerdict.isLinearizable && jobHistory.contains { if case .completed = $0.outcome { true } else { false } })
            let passed = verdict.isLinearizable && jobsPassed && convergence.ok && seen.anomalies.isEmpty && seen.ok > 0
            lines.append("  verdict                \(passed ? "PASSED" : "FAILED")")
            if !passed {
                // The processes' logs and journals, kept for a post-mortem (the harness removes its folder).
                let kept = "/tmp/strata-chaos-failed-\(seed)-\(kind.rawValue)"
                try? FileManager.default.removeItem(atPath: kept)
                for disk in mounted { disk.free() }
                try? FileManager.default.copyItem(atPath: harness.directory, toPath: kept)
                lines.append("  kept                   \(kept) (every process's log and journal)")
            }
            return Report(table: lines.joined(separator: "\n"), passed: passed)
        }
    }

    static let diskBytes = 64 << 20
    /// libfaketime (Debian's package), preloaded into a master for the clock fault.
    static let libfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

    /// The job client: submits (30%) load jobs of the key directories — with no job worker they
    /// go from CREATED to FAILED once the worker timeout passes — and reads the status (70%) of
    /// jobs it was told about, every 20 ms.
    static func jobLoop(_ client: Int, _ jobs: JobClient, seed: UInt64, keys: Int,
                        recorder: HistoryRecorder<JobModel.Input, JobModel.Output>, stats: ClientStats, stop: StopFlag) async {
        var random = SplitMix64(seed: seed)
        var known: [UInt64] = []
        var tag = 0
        while !stop.isRaised {
            if known.isEmpty || Int.random(in: 0..<100, using: &random) < 30 {
                tag += 1
                let path = "/k\(Int.random(in: 0..<keys, using: &random))"
                let id = recorder.invoke(client: client, .submit(tag: tag))
                do {
                    let response = try await jobs.submit([JobRequest(plan: .load(path: path, replication: 1), batchSize: 100, activeTasksMax: 10)])
                    guard let job = response.jobIDs.first else {
                        recorder.unknown(id)
                        stats.state.withLock { $0.anomalies.append("job client: a submit answered no job id") }
                        continue
                    }
                    recorder.complete(id, .submitted(job))
                    known.append(job)
                } catch {
                    recorder.unknown(id)
                    Self.noteJobError(error, "submit of a load of \(path)", stats: stats)
                }
            } else {
                let job = known[Int.random(in: 0..<known.count, using: &random)]
                let id = recorder.invoke(client: client, .status(job))
                do {
                    let info = try await jobs.status(job)
                    recorder.complete(id, .state(info.status.rawValue))
                } catch where error.code == .notFound {
                    recorder.complete(id, .notFound)
                } catch {
                    recorder.unknown(id)
                    Self.noteJobError(error, "status of job \(job)", stats: stats)
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    static func noteJobError(_ error: RPCError, _ what: String, stats: ClientStats) {
        stats.state.withLock { state in
            switch error.code {
            case .unavailable, .deadlineExceeded, .cancelled, .resourceExhausted: break
            default: state.anomalies.append("job client: \(what) answered \(error)")
            }
        }
    }

    static func jobSummary(_ history: [StrataLinearizability.Operation<JobModel.Input, JobModel.Output>], _ verdict: LinearizabilityVerdict) -> String {
        var submitted = 0, reads = 0, unknown = 0
        var states: [UInt8: Int] = [:]
        for operation in history {
            switch (operation.input, operation.outcome) {
            case (.submit, .completed): submitted += 1
            case (.status, .completed(.state(let state))): reads += 1; states[state, default: 0] += 1
            case (.status, .completed): reads += 1
            case (_, .unknown), (_, .failed): unknown += 1
            }
        }
        let seen = states.sorted { $0.key < $1.key }.map { "\(JobStatus(rawValue: $0.key)?.description ?? "?\($0.key)") \($0.value)" }.joined(separator: ", ")
        return "\(submitted) submitted, \(reads) status reads (\(seen)), \(unknown) unknown; \(verdict.isLinearizable ? "linearizable" : "NOT linearizable: \(verdict)")"
    }

    static func journalFolder(_ member: MasterCluster.Member) -> String {
        member.properties["strata.home"]! + "/journal"
    }

    /// Flips one byte (past the file header) in the newest log segment and in the newest
    /// snapshot under `journal`; returns what it did, file and offset.
    static func flipBytes(journal: String, using random: inout SplitMix64) -> [String] {
        var flipped: [String] = []
        for (folder, prefix) in [("log", "segment-"), ("snapshots", "snapshot-")] {
            let directory = journal + "/" + folder
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.hasPrefix(prefix) && ($0.hasSuffix(".log") || $0.hasSuffix(".snap")) }.sorted()
            guard let newest = names.last, var bytes = FileManager.default.contents(atPath: directory + "/" + newest), bytes.count > 64 else { continue }
            let offset = Int.random(in: 48..<bytes.count, using: &random)
            bytes[offset] ^= UInt8.random(in: 1...255, using: &random)
            guard FileManager.default.createFile(atPath: directory + "/" + newest, contents: bytes) else { continue }
            flipped.append("\(folder)/\(newest) at \(offset)")
        }
        return flipped
    }

    /// One client: random operations on files f0–f3 of the key directories, each recorded.
    static func clientLoop(_ client: Int, _ fileSystem: FileSystemClient, seed: UInt64, keys: Int,
                           recorder: HistoryRecorder<Input, Output>, stats: ClientStats, stop: StopFlag) async {
        var random = SplitMix64(seed: seed)
        while !stop.isRaised {
            let key = Int.random(in: 0..<keys, using: &random)
            let path = "/k\(key)/f\(Int.random(in: 0..<4, using: &random))"
            let other = "/k\(key)/f\(Int.random(in: 0..<4, using: &random))"
            let roll = Int.random(in: 0..<100, using: &random)
            let input: Input = switch roll {
            case ..<30: .create(path)
            case ..<50: .delete(path)
            case ..<65 where other != path: .rename(path, other)
            case ..<85: .getStatus(path)
            default: .list("/k\(key)")
            }
            let id = recorder.invoke(client: client, input)
            do {
                let output: Output
                switch input {
                case .create(let path):
                    _ = try await fileSystem.createFile(path)
                    output = .ok
                case .delete(let path):
                    try await fileSystem.delete(path)
                    output = .ok
                case .rename(let source, let destination):
                    _ = try await fileSystem.rename(source, to: destination)
                    output = .ok
                case .getStatus(let path):
                    _ = try await fileSystem.status(path)
                    output = .exists
                case .list(let directory):
                    output = .listing(try await fileSystem.list(directory).map(\.name).sorted())
                }
                recorder.complete(id, output)
                stats.succeeded()
            } catch {
                switch error.code {
                case .alreadyExists:
                    recorder.complete(id, .alreadyExists)
                    stats.succeeded()
                case .notFound:
                    recorder.complete(id, .notFound)
                    stats.succeeded()
                case .unavailable, .deadlineExceeded, .cancelled, .resourceExhausted:
                    // It may have happened, or may yet (a refusal for a full disk may follow an
                    // attempt whose outcome is unknown).
                    recorder.unknown(id)
                    stats.state.withLock { $0.unknown += 1 }
                case .invalidArgument, .failedPrecondition:
                    recorder.fail(id)  // refused before anything was journaled; and not expected
                    stats.state.withLock {
                        $0.failed += 1
                        $0.anomalies.append("client \(client): \(input) answered \(error)")
                    }
                default:
                    recorder.unknown(id)
                    stats.state.withLock {
                        $0.unknown += 1
                        $0.anomalies.append("client \(client): \(input) answered \(error)")
                    }
                }
            }
        }
    }

    static func highestTerm(_ client: FileSystemClient) async -> UInt64? {
        await client.probeAll().compactMap { $0.1?.term }.max()
    }

    /// Waits until every master has applied the same index, then writes enough for one more
    /// CHECKPOINT entry: there each master digests its state and the journal compares the
    /// digests. Every master must count one more agreement, and none ever a divergence (every
    /// process's log is searched, restarted ones included).
    static func convergence(_ client: FileSystemClient, cluster: MasterCluster, harness: ProcessHarness, digests: Bool) async -> (ok: Bool, text: String) {
        let deadline = ContinuousClock.now + .seconds(60)
        var applied: Set<UInt64> = []
        while ContinuousClock.now < deadline {
            let views = await client.probeAll()
            applied = Set(views.compactMap { $0.1?.appliedIndex })
            if views.allSatisfy({ $0.1 != nil }) && applied.count == 1 { break }
            try? await Task.sleep(for: .milliseconds(200))
        }
        guard applied.count == 1, let index = applied.first else {
            // What each master says, and the last warnings of each one's newest process: the
            // evidence a CI log keeps.
            var evidence: [String] = []
            if let quorum = try? await client.service.call(QuorumMethods.info, GetServiceInfoRequest()) {
                evidence.append("the leader's view (term \(quorum.term), leader \(quorum.leaderAddress)): "
                                + quorum.members.map { "\($0.address) \($0.state) match \($0.matchIndex)" }.joined(separator: ", "))
            }
            for (address, info) in await client.probeAll() {
                let member = cluster.members.first { $0.rpc == address }
                evidence.append("\(member?.name ?? address.description): " + (info.map { "\($0.thisRole) term \($0.term) commit \($0.commitIndex) applied \($0.appliedIndex)" } ?? "no answer"))
                if let member, let process = harness.runningProcesses(named: member.name).last {
                    let lines = process.log().split(separator: "\n").filter { $0.contains(" warning ") || $0.contains(" error ") }.suffix(4)
                    evidence += lines.map { "      " + $0 }
                }
            }
            if let hold = ProcessInfo.processInfo.environment["STRATA_CHAOS_HOLD_ON_FAILURE"].flatMap(Int.init) {
                say("convergence failed; holding \(hold) s for a look (STRATA_CHAOS_HOLD_ON_FAILURE):\n    " + evidence.joined(separator: "\n    "))
                try? await Task.sleep(for: .seconds(hold))
            }
            return (false, "NO: the masters' applied indexes never met (\(applied.sorted()))\n    " + evidence.joined(separator: "\n    "))
        }
        guard digests else {
            // The UFS journal keeps no state digests: every master has replayed the one shared log
            // to the same index.
            return (true, "yes: all \(cluster.members.count) masters applied the shared log to index \(index) (the UFS journal compares no state digests)")
        }
        // Enough entries for one more CHECKPOINT: every master must count one more agreement.
        func agreements() -> [String: Int] {
            Dictionary(uniqueKeysWithValues: cluster.members.map {
                ($0.name, metric("strata_journal_state_digest_agreements_total", at: "http://\($0.rpc.host):\($0.web)/metrics"))
            })
        }
        let before = agreements()
        do {
            _ = try await client.createDirectory("/converge", allowExists: true)
            for entry in 0...checkpointPeriodEntries { _ = try await client.createDirectory("/converge/\(entry)", allowExists: true) }
        } catch {
            return (false, "NO: the writes that lead to a checkpoint failed: \(error)")
        }
        var after = before
        while ContinuousClock.now < deadline {
            after = agreements()
            if cluster.members.allSatisfy({ after[$0.name]! > before[$0.name]! }) { break }
            try? await Task.sleep(for: .milliseconds(250))
        }
        let divergent = harness.allLogs().components(separatedBy: "\n").filter { $0.contains("diverges from the majority") || $0.contains("states differ at index") }
        guard divergent.isEmpty else { return (false, "NO: \(divergent.count) divergence reports: \(divergent.first!)") }
        guard cluster.members.allSatisfy({ after[$0.name]! > before[$0.name]! }) else {
            return (false, "NO: not every master saw the state digests agree at the last checkpoint (agreements before \(before.sorted { $0.key < $1.key }), after \(after.sorted { $0.key < $1.key }))")
        }
        return (true, "yes: all \(cluster.members.count) masters met at index \(index), then their state digests agreed at the next checkpoint")
    }

    /// A counter's value from a Prometheus page (0 if absent or unreachable).
    static func metric(_ name: String, at url: String) -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-m", "2", url]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return 0 }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return Int(value) }
        }
        return 0
    }
}
