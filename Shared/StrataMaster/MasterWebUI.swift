import Foundation
import StrataCore
import StrataJournal
import StrataNamespace
import StrataWire

/// The master's web UI and its JSON API (`/api/v1/…`): Overview, Browse, Workers, Masters,
/// Configuration, Metrics. Standbys serve it too, from their own (replicated) state, marked
/// STANDBY with a link to the leader's UI.
public struct MasterWebUI: Sendable {
    let fileSystem: FileSystemMaster
    let blockMaster: BlockMaster
    let configuration: Configuration
    let metrics: @Sendable () -> String
    static let navigation = [("Overview", "/"), ("Browse", "/browse"), ("Workers", "/workers"), ("Masters", "/masters"),
                             ("Configuration", "/configuration"), ("Metrics", "/metrics/view")]

    public init(fileSystem: FileSystemMaster, blockMaster: BlockMaster, configuration: Configuration, metrics: @escaping @Sendable () -> String) {
        self.fileSystem = fileSystem
        self.blockMaster = blockMaster
        self.configuration = configuration
        self.metrics = metrics
    }

    // MARK: Data (the JSON API and the pages show the same)

    struct Overview: Encodable {
        var clusterId: String
        var role: String
        var thisMaster: String
        var leader: String
        var leaderWebUrl: String
        var journalType: String
        var zookeeper: String
        var term: UInt64
        var commitIndex: UInt64
        var appliedIndex: UInt64
        var uptimeMs: Int64
        var inodes: UInt64
        var liveWorkers: Int
        var lostWorkers: Int
        var capacity: [Tier]
        var masters: [MemberView]
    }

    struct Tier: Encodable {
        var alias: String
        var capacityBytes: Int64
        var usedBytes: Int64
    }

    struct Entry: Encodable {
        var name: String
        var path: String
        var directory: Bool
        var lengthBytes: Int64
        var cachedBytes: Int64
        var inMemoryBytes: Int64
        var persistenceState: String
        var pinned: Bool
        var modificationTimeMs: Int64
        var owner: String
        var mode: String
    }

    struct Listing: Encodable {
        var path: String
        var role: String
        var entries: [Entry]
    }

    struct Worker: Encodable {
        var address: String
        var state: String
        var blocks: UInt64
        var lastHeartbeatMsAgo: Int64
        var tiers: [Tier]
    }

    func overview() async -> Overview {
        let info = await fileSystem.masterInfo()
        let workers = blockMaster.workerList().workers
        var tiers: [String: Tier] = [:]
        for worker in workers where worker.state == "LIVE" {
            for tier in worker.tiers {
                var total = tiers[tier.alias] ?? Tier(alias: tier.alias, capacityBytes: 0, usedBytes: 0)
                total.capacityBytes += tier.capacityBytes
                total.usedBytes += tier.usedBytes
                tiers[tier.alias] = total
            }
        }
        let masters = await fileSystem.journaled.memberViews(info)
        return Overview(
            clusterId: info.clusterID.map { String(format: "%02x", $0) }.joined(), role: info.thisRole,
            thisMaster: info.thisRPCAddress, leader: info.leaderRPCAddress, leaderWebUrl: await fileSystem.journaled.leaderWebURL() ?? "",
            journalType: info.journalType, zookeeper: info.zooKeeperAddress, term: info.term, commitIndex: info.commitIndex, appliedIndex: info.appliedIndex,
            uptimeMs: Int64(Date().timeIntervalSince1970 * 1000) - Int64(info.startTimeMilliseconds), inodes: info.inodeCount,
            liveWorkers: workers.filter { $0.state == "LIVE" }.count, lostWorkers: workers.filter { $0.state != "LIVE" }.count,
            capacity: tiers.values.sorted { $0.alias < $1.alias }, masters: masters)
    }

    func listing(_ text: String) async throws(RPCError) -> Listing {
        let path = try FileSystemMaster.path(text.isEmpty ? "/" : text)
        let leading = fileSystem.journaled.isLeader
        if leading {
            // The leader shows what is in under storage too (loading it, as a client's listing does).
            try await fileSystem.readyToRead()
            try await fileSystem.loadMetadata(along: path)
        }
        let statuses: [LocatedStatus]
        do { statuses = try await fileSystem.stateMachine.listLocated(path, recursive: false) } catch { throw FileSystemMaster.rpcError(error) }
        var entries: [Entry] = []
        for status in statuses.prefix(10_000) {
            let info = fileSystem.fileInfo(status)
            let blocks = blockMaster.fileBlocks(info).blocks
            let cached = blocks.filter { !$0.locations.isEmpty }.reduce(Int64(0)) { $0 + $1.lengthBytes }
            let inMemory = blocks.filter { $0.locations.contains { $0.tier == "MEM" } }.reduce(Int64(0)) { $0 + $1.lengthBytes }
            let mode = FileModeText.format(info.mode, directory: info.isDirectory)
            entries.append(Entry(name: info.name, path: info.path, directory: info.isDirectory, lengthBytes: info.lengthBytes,
                                 cachedBytes: cached, inMemoryBytes: inMemory, persistenceState: info.persistenceState,
                                 pinned: info.pinned, modificationTimeMs: info.modificationTimeMilliseconds, owner: info.owner, mode: mode))
        }
        return Listing(path: path.description, role: leading ? "LEADER" : "STANDBY", entries: entries)
    }

    func workers() -> [Worker] {
        blockMaster.workerList().workers.map { worker in
            Worker(address: worker.address.description, state: worker.state, blocks: worker.blockCount,
                   lastHeartbeatMsAgo: worker.lastHeartbeatMillisecondsAgo,
                   tiers: worker.tiers.map { Tier(alias: $0.alias, capacityBytes: $0.capacityBytes, usedBytes: $0.usedBytes) })
        }
    }

    // MARK: Routing

    public func handle(_ request: WebRequest) async -> WebResponse? {
        switch request.path {
        case "/api/v1/overview": return .json(await overview())
        case "/api/v1/browse":
            do { return .json(try await listing(request.query["path"] ?? "/")) } catch { return .json(["error": error.message], status: error.code == .notFound ? 404 : 400) }
        case "/api/v1/workers": return .json(workers())
        case "/api/v1/masters": return .json(await overview().masters)
        case "/", "/index.html": return await page("Overview", "/", overviewBody(await overview()))
        case "/browse": return await browsePage(request.query["path"] ?? "/")
        case "/workers": return await page("Workers", "/workers", workersBody(workers()))
        case "/masters": return await page("Masters", "/masters", mastersBody(await overview()))
        case "/configuration": return await page("Configuration", "/configuration", HTML.configuration(configuration))
        case "/metrics/view": return await page("Metrics", "/metrics/view", HTML.metrics(metrics()))
        default: return nil
        }
    }

    private func page(_ title: String, _ current: String, _ body: String, status: Int = 200) async -> WebResponse {
        let banner = await fileSystem.journaled.webBanner(kind: "Master")
        return .html(HTML.page(title: title, product: "Strata master", banner: banner, navigation: Self.navigation, current: current, body: body), status: status)
    }

    private func overviewBody(_ overview: Overview) -> String {
        var facts: [(String, String)] = [
            ("Cluster id", HTML.escape(overview.clusterId)),
            ("This master", HTML.escape(overview.thisMaster) + " <span class=\"\(overview.role)\">\(HTML.escape(overview.role))</span>"),
            HTML.leaderFact(overview.leader, webURL: overview.leaderWebUrl),
            ("Journal", "\(HTML.escape(overview.journalType)), \(overview.journalType == "UFS" ? "epoch" : "term") \(overview.term), commit \(overview.commitIndex), applied \(overview.appliedIndex)"),
            ("ZooKeeper", overview.zookeeper.isEmpty ? "not used" : HTML.escape(overview.zookeeper)),
            ("Uptime", HTML.escape(DurationText.format(.milliseconds(overview.uptimeMs)))),
            ("Files and directories", "\(overview.inodes)"),
            ("Workers", "\(overview.liveWorkers) live, \(overview.lostWorkers) lost"),
        ]
        for tier in overview.capacity {
            facts.append(("Capacity \(tier.alias)", "\(ByteSize.format(tier.usedBytes)) used of \(ByteSize.format(tier.capacityBytes)) (\(ByteSize.percent(tier.usedBytes, of: tier.capacityBytes)))"))
        }
        return HTML.facts(facts) + "<h2>Masters</h2>" + HTML.members(overview.masters)
    }

    private func mastersBody(_ overview: Overview) -> String {
        "<p>The MASTER quorum as this master sees it (availability and match indexes are known to the leader).</p>" + HTML.members(overview.masters)
    }

    private func workersBody(_ workers: [Worker]) -> String {
        HTML.table(["Worker", "State", "Blocks", "Last heartbeat", "Capacity per tier"], workers.map { worker in
            [HTML.escape(worker.address), "<span class=\"\(worker.state)\">\(worker.state)</span>", "\(worker.blocks)", "\(worker.lastHeartbeatMsAgo) ms ago",
             HTML.escape(worker.tiers.map { "\($0.alias): \(ByteSize.format($0.usedBytes)) / \(ByteSize.format($0.capacityBytes))" }.joined(separator: ", "))]
        })
    }

    private func browsePage(_ path: String) async -> WebResponse {
        let listing: Listing
        do throws(RPCError) { listing = try await self.listing(path) } catch {
            return await page("Browse", "/browse", "<p>\(HTML.escape(error.message))</p>", status: error.code == .notFound ? 404 : 400)
        }
        var crumbs = "<a href=\"/browse?path=/\">/</a>"
        var prefix = ""
        for component in listing.path.split(separator: "/") {
            prefix += "/" + component
            crumbs += " <a href=\"/browse?path=\(HTML.queryValue(prefix))\">\(HTML.escape(String(component)))</a> /"
        }
        let rows = listing.entries.map { entry -> [String] in
            let name = entry.directory
                ? "<a href=\"/browse?path=\(HTML.queryValue(entry.path))\">\(HTML.escape(entry.name))/</a>"
                : HTML.escape(entry.name)
            return [name, entry.directory ? "" : HTML.escape(ByteSize.format(entry.lengthBytes)),
                    entry.directory ? "" : ByteSize.percent(entry.cachedBytes, of: entry.lengthBytes),
                    entry.directory ? "" : ByteSize.percent(entry.inMemoryBytes, of: entry.lengthBytes),
                    HTML.escape(entry.persistenceState), entry.pinned ? "yes" : "", HTML.escape(entry.mode), HTML.escape(entry.owner)]
        }
        let body = "<p>\(crumbs)</p>" + HTML.table(["Name", "Size", "In Strata", "In memory", "Persistence", "Pinned", "Mode", "Owner"], rows)
        return await page("Browse", "/browse", body)
    }
}
