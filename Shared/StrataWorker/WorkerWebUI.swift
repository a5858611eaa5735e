import Foundation
import StrataBlock
import StrataCore
import StrataWire

/// The worker's web UI and JSON API: its overview (address, masters, capacity per tier) and the
/// blocks in each tier.
public struct WorkerWebUI: Sendable {
    let worker: BlockWorker
    let sync: MasterSync
    let address: WorkerAddress
    let configuration: Configuration
    let metrics: @Sendable () -> String
    let started = Date()
    static let navigation = [("Overview", "/"), ("Blocks", "/blocks"), ("Configuration", "/configuration"), ("Metrics", "/metrics/view")]
    static let blocksShownMax = 1000

    public init(worker: BlockWorker, sync: MasterSync, address: WorkerAddress, configuration: Configuration, metrics: @escaping @Sendable () -> String) {
        self.worker = worker
        self.sync = sync
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
    }

    struct TierBlocks: Encodable {
        var alias: String
        var blocks: [UInt64]
        var total: Int
    }

    func overview() async -> Overview {
        let (blocks, _) = await worker.store.fullReport()
        let usage = await worker.store.usage
        let tiers = usage.map { tier in
            Tier(alias: tier.alias.rawValue, capacityBytes: tier.capacityBytes, usedBytes: tier.usedBytes,
                 blocks: blocks.filter { $0.1 == tier.alias }.count)
        }
        let reachable = sync.reachable.withLockedValue { $0 }
        let masters = Dictionary(uniqueKeysWithValues: sync.masters.map { ($0.description, reachable[$0].map { $0 ? "REACHABLE" : "UNREACHABLE" } ?? "UNKNOWN") })
        return Overview(address: address.description, workerId: String(address.workerID), uptimeMs: Int64(Date().timeIntervalSince(started) * 1000),
                        blocks: blocks.count, tiers: tiers, masters: masters, leader: sync.leader.withLockedValue { $0?.description } ?? "")
    }

    func tierBlocks() async -> [TierBlocks] {
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
        let banner = "Worker <b>\(HTML.escape(address.description))</b>"
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
