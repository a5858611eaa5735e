import Foundation
import StrataBlock
import StrataCore
import StrataWire

/// What a job worker in this process reports for the web UI: the job master it reports to and
/// the task attempts it runs.
public typealias JobWorkerStatus = @Sendable () -> (leader: String?, running: [String])

/// The worker's web UI and JSON API: its overview (address, masters, capacity per tier, the job
/// worker's tasks) and the blocks in each tier. Either role may be absent.
public struct WorkerWebUI: Sendable {
    let worker: BlockWorker?
    let sync: MasterSync?
    let jobWorker: JobWorkerStatus?
    let address: WorkerAddress?
    let configuration: Configuration
    let metrics: @Sendable () -> String
    let started = Date()
    static let navigation = [("Overview", "/"), ("Blocks", "/blocks"), ("Configuration", "/configuration"), ("Metrics", "/metrics/view")]
    static let blocksShownMax = 1000

    public init(worker: BlockWorker?, sync: MasterSync?, jobWorker: JobWorkerStatus?, address: WorkerAddress?, configuration: Configuration,
                metrics: @escaping @Sendable () -> String) {
        self.worker = worker
        self.sync = sync
        self.jobWorker = jobWorker
        self.address = address
        self.configuration = configuration
        self.metrics = metrics
    }

    struct Tier: Encodable {
        var alias: String
        var capacityBytes: Int64
        var usedBytes: Int64
        var blocks: Int
    }

    struct Overview: Encodable {
        var address: String
        var workerId: String
        var uptimeMs: Int64
        var blocks: Int
        var tiers: [Tier]
        var masters: [String: String]
        var leader: String
        var blockStore: Bool
        var jobWorker: JobWorkerOverview?
    }

    struct JobWorkerOverview: Encodable {
        var jobMaster: String
        var runningTasks: [String]
    }

    struct TierBlocks: Encodable {
        var alias: String
        var blocks: [UInt64]
        var total: Int
    }

    var name: String { address?.description ?? configuration.string(.workerHostname) + ":" + String(configuration.integer(.jobWorkerRpcPort)) }

    func overview() async -> Overview {
        var blocks: [(UInt64, TierAlias)] = []
        var tiers: [Tier] = []
        if let worker {
            blocks = await worker.store.fullReport().0
            tiers = await worker.store.usage.map { tier in
                Tier(alias: tier.alias.rawValue, capacityBytes: tier.capacityBytes, usedBytes: tier.usedBytes,
                     blocks: blocks.filter { $0.1 == tier.alias }.count)
            }
        }
        var masters: [String: String] = [:]
        if let sync {
            let reachable = sync.reachable.withLockedValue { $0 }
            masters = Dictionary(uniqueKeysWithValues: sync.masters.map { ($0.description, reachable[$0].map { $0 ? "REACHABLE" : "UNREACHABLE" } ?? "UNKNOWN") })
        }
        let job = jobWorker.map { status in
            let (leader, running) = status()
            return JobWorkerOverview(jobMaster: leader ?? "", runningTasks: running)
        }
        return Overview(address: name, workerId: address.map { String($0.workerID) } ?? "", uptimeMs: Int64(Date().timeIntervalSince(started) * 1000),
                        blocks: blocks.count, tiers: tiers, masters: masters, leader: sync?.leader.withLockedValue { $0?.description } ?? "",
                        blockStore: worker != nil, jobWorker: job)
    }

    func tierBlocks() async -> [TierBlocks] {
        guard let worker else { return [] }
        let (blocks, _) = await worker.store.fullReport()
        return await worker.store.usage.map { tier in
            let ids = blocks.filter { $0.1 == tier.alias }.map(\.0).sorted()
            return TierBlocks(alias: tier.alias.rawValue, blocks: Array(ids.prefix(Self.blocksShownMax)), total: ids.count)
        }
    }

    public func handle(_ request: WebRequest) async -> WebResponse? {
        switch request.path {
        case "/api/v1/overview": return .json(await overview())
        case "/api/v1/blocks": return .json(await tierBlocks())
        case "/", "/index.html": return page("Overview", "/", overviewBody(await overview()))
        case "/blocks": return page("Blocks", "/blocks", blocksBody(await tierBlocks()))
        case "/configuration": return page("Configuration", "/configuration", HTML.configuration(configuration))
        case "/metrics/view": return page("Metrics", "/metrics/view", HTML.metrics(metrics()))
        default: return nil
        }
    }

    private func page(_ title: String, _ current: String, _ body: String) -> WebResponse {
        let banner = "Worker <b>\(HTML.escape(name))</b>" + (worker == nil ? " · job worker only" : "")
        return .html(HTML.page(title: title, product: "Strata worker", banner: banner, navigation: Self.navigation, current: current, body: body))
    }

    private func overviewBody(_ overview: Overview) -> String {
        var facts: [(String, String)] = [
            ("Address", HTML.escape(overview.address)), ("Worker id", HTML.escape(overview.workerId)),
            ("Uptime", HTML.escape(DurationText.format(.milliseconds(overview.uptimeMs)))), ("Blocks", "\(overview.blocks)"),
            ("Leading master", HTML.escape(overview.leader.isEmpty ? "not known yet" : overview.leader)),
        ]
        for tier in overview.tiers {
            facts.append(("Tier \(tier.alias)", "\(ByteSize.format(tier.usedBytes)) used of \(ByteSize.format(tier.capacityBytes)) (\(ByteSize.percent(tier.usedBytes, of: tier.capacityBytes))), \(tier.blocks) blocks"))
        }
        if let job = overview.jobWorker {
            facts.append(("Job master", HTML.escape(job.jobMaster.isEmpty ? "not reached yet" : job.jobMaster)))
            facts.append(("Tasks running", job.runningTasks.isEmpty ? "none" : job.runningTasks.map(HTML.escape).joined(separator: "<br>")))
        }
        guard overview.blockStore else { return HTML.facts(facts) + "<p>No block store (strata.worker.block.enabled=false).</p>" }
        let masters = HTML.table(["Master", "Reports"], overview.masters.sorted { $0.key < $1.key }.map { [HTML.escape($0.key), "<span class=\"\($0.value == "REACHABLE" ? "LIVE" : "LOST")\">\($0.value)</span>"] })
        return HTML.facts(facts) + "<h2>Masters it reports to</h2>" + masters
    }

    private func blocksBody(_ tiers: [TierBlocks]) -> String {
        tiers.map { tier in
            "<h2>\(HTML.escape(tier.alias)): \(tier.total) blocks</h2>" + HTML.table(["Block id", "File id", "Index"], tier.blocks.map {
                ["\($0)", "\(BlockIDs.file(of: $0))", "\(BlockIDs.index(of: $0))"]
            }) + (tier.total > tier.blocks.count ? "<p>(first \(tier.blocks.count) shown)</p>" : "")
        }.joined()
    }
}
