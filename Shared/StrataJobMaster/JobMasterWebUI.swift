import Foundation
import StrataCore
import StrataJob
import StrataJournal
import StrataWire

/// The job master's web UI and JSON API (`/api/v1/…`): Overview (role, leader, quorum, counts),
/// Jobs (with progress), one Job (with its tasks), Job workers, Configuration, Metrics.
/// Standbys serve it from their replicated job table, marked STANDBY with a link to the leader;
/// job workers report only to the leader, so only it lists them.
public struct JobMasterWebUI: Sendable {
    let master: JobMaster
    let configuration: Configuration
    let metrics: @Sendable () -> String
    static let navigation = [("Overview", "/"), ("Jobs", "/jobs"), ("Job workers", "/workers"), ("Configuration", "/configuration"),
                             ("Metrics", "/metrics/view")]

    public init(master: JobMaster, configuration: Configuration, metrics: @escaping @Sendable () -> String) {
        self.master = master
        self.configuration = configuration
        self.metrics = metrics
    }

    struct Overview: Encodable {
        var role: String
        var thisJobMaster: String
        var leader: String
        var leaderWebUrl: String
        var journalType: String
        var term: UInt64
        var appliedIndex: UInt64
        var jobs: [String: Int]
        var liveJobWorkers: Int
        var members: [MemberView]
    }

    struct JobSummary: Encodable {
        var id: UInt64
        var name: String
        var description: String
        var status: String
        var error: String
        var files: UInt32
        var filesDone: UInt32
        var filesFailed: UInt32
        var bytes: Int64
        var bytesDone: Int64
        var tasks: UInt32
        var tasksRunning: UInt32
        var createTimeMs: Int64
        var endTimeMs: Int64
        var failedFiles: [[String: String]]?
        var taskList: [Task]?
    }

    struct Task: Encodable {
        var index: UInt32
        var status: String
        var worker: String
        var attempts: UInt32
        var files: UInt32
        var filesDone: UInt32
        var error: String
    }

    struct Worker: Encodable {
        var address: String
        var poolSize: UInt32
        var activeTasks: UInt32
        var blockStore: Bool
        var lastHeartbeatMsAgo: Int64
    }

    func overview() async -> Overview {
        let info = await master.journaled.info()
        let counts = await master.stateMachine.table.counts()
        return Overview(
            role: info.thisRole, thisJobMaster: info.thisRPCAddress, leader: info.leaderRPCAddress,
            leaderWebUrl: await master.journaled.leaderWebURL() ?? "", journalType: info.journalType, term: info.term, appliedIndex: info.appliedIndex,
            jobs: Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { ($0.description, counts[$0] ?? 0) }),
            liveJobWorkers: master.registry.withLockedValue { $0.live.count },
            members: await master.journaled.memberViews(info))
    }

    func summary(_ info: JobInfo) -> JobSummary {
        JobSummary(id: info.id, name: info.name, description: info.description, status: info.status.description, error: info.error,
                   files: info.files, filesDone: info.filesDone, filesFailed: info.filesFailed, bytes: info.bytes, bytesDone: info.bytesDone,
                   tasks: info.taskCount, tasksRunning: info.tasksRunning, createTimeMs: info.createTimeMilliseconds, endTimeMs: info.endTimeMilliseconds,
                   failedFiles: info.tasks.isEmpty ? nil : info.failedFiles.map { ["path": $0.path, "error": $0.error] },
                   taskList: info.tasks.isEmpty ? nil : info.tasks.map {
                       Task(index: $0.index, status: $0.status.description, worker: $0.worker, attempts: $0.attempts, files: $0.files,
                            filesDone: $0.filesDone, error: $0.error)
                   })
    }

    func jobs() async -> [JobSummary] {
        await master.stateMachine.table.allJobs.reversed().prefix(1_000).map { summary(master.info($0, verbose: false)) }
    }

    func job(_ text: String?) async -> JobSummary? {
        guard let id = text.flatMap(UInt64.init), let job = await master.stateMachine.table.job(id) else { return nil }
        return summary(master.info(job, verbose: true))
    }

    func workers() -> [Worker] {
        master.workers().map { Worker(address: $0.address, poolSize: $0.poolSize, activeTasks: $0.activeTasks, blockStore: $0.blockStore,
                                      lastHeartbeatMsAgo: $0.lastHeartbeatMillisecondsAgo) }
    }

    // MARK: Routing

    public func handle(_ request: WebRequest) async -> WebResponse? {
        switch request.path {
        case "/api/v1/overview": return .json(await overview())
        case "/api/v1/jobs": return .json(await jobs())
        case "/api/v1/job":
            guard let job = await job(request.query["id"]) else { return .json(["error": "no job \(request.query["id"] ?? "")"], status: 404) }
            return .json(job)
        case "/api/v1/workers": return .json(workers())
        case "/", "/index.html": return await page("Overview", "/", overviewBody(await overview()))
        case "/jobs": return await page("Jobs", "/jobs", jobsBody(await jobs()))
        case "/job":
            guard let job = await job(request.query["id"]) else {
                return await page("Job", "/jobs", "<p>No job \(HTML.escape(request.query["id"] ?? "")) (it may have been purged).</p>", status: 404)
            }
            return await page("Job \(job.id)", "/jobs", jobBody(job))
        case "/workers": return await page("Job workers", "/workers", workersBody(workers()))
        case "/configuration": return await page("Configuration", "/configuration", HTML.configuration(configuration))
        case "/metrics/view": return await page("Metrics", "/metrics/view", HTML.metrics(metrics()))
        default: return nil
        }
    }

    private func page(_ title: String, _ current: String, _ body: String, status: Int = 200) async -> WebResponse {
        let banner = await master.journaled.webBanner(kind: "Job master")
        return .html(HTML.page(title: title, product: "Strata job master", banner: banner, navigation: Self.navigation, current: current, body: body), status: status)
    }

    static func progress(_ done: UInt32, _ total: UInt32) -> String {
        total == 0 ? "—" : "\(done)/\(total) (\(UInt64(done) * 100 / UInt64(total))%)"
    }

    private func overviewBody(_ overview: Overview) -> String {
        let facts: [(String, String)] = [
            ("This job master", HTML.escape(overview.thisJobMaster) + " <span class=\"\(overview.role)\">\(HTML.escape(overview.role))</span>"),
            HTML.leaderFact(overview.leader, webURL: overview.leaderWebUrl),
            ("Journal", "\(HTML.escape(overview.journalType)), \(overview.journalType == "UFS" ? "epoch" : "term") \(overview.term), applied \(overview.appliedIndex)"),
            ("Jobs", JobStatus.allCases.map { "\($0.description.lowercased()) \(overview.jobs[$0.description] ?? 0)" }.joined(separator: ", ")),
            ("Job workers", overview.role == "LEADER" ? "\(overview.liveJobWorkers) live" : "reported to the leader"),
        ]
        return HTML.facts(facts) + "<h2>JOB_MASTER quorum</h2>" + HTML.members(overview.members)
    }

    private func jobsBody(_ jobs: [JobSummary]) -> String {
        HTML.table(["Id", "Name", "Status", "Files", "Bytes", "Tasks (running)", "Created", "Error"], jobs.map { job in
            ["<a href=\"/job?id=\(job.id)\">\(job.id)</a>", HTML.escape(job.name), "<span class=\"\(job.status)\">\(job.status)</span>",
             Self.progress(job.filesDone, job.files) + (job.filesFailed > 0 ? ", \(job.filesFailed) failed" : ""),
             "\(HTML.escape(ByteSize.format(job.bytesDone))) of \(HTML.escape(ByteSize.format(job.bytes)))",
             "\(job.tasks) (\(job.tasksRunning))", HTML.escape(Self.date(job.createTimeMs)), HTML.escape(job.error)]
        })
    }

    private func jobBody(_ job: JobSummary) -> String {
        var html = HTML.facts([
            ("Name", HTML.escape(job.name)), ("Description", HTML.escape(job.description)),
            ("Status", "<span class=\"\(job.status)\">\(job.status)</span>" + (job.error.isEmpty ? "" : " — " + HTML.escape(job.error))),
            ("Files", Self.progress(job.filesDone, job.files) + (job.filesFailed > 0 ? ", \(job.filesFailed) failed" : "")),
            ("Bytes", "\(HTML.escape(ByteSize.format(job.bytesDone))) of \(HTML.escape(ByteSize.format(job.bytes)))"),
            ("Created", HTML.escape(Self.date(job.createTimeMs))), ("Ended", job.endTimeMs == 0 ? "" : HTML.escape(Self.date(job.endTimeMs))),
        ])
        html += "<h2>Tasks</h2>" + HTML.table(["Task", "Status", "Job worker", "Attempts", "Files", "Error"], (job.taskList ?? []).map { task in
            ["\(task.index)", "<span class=\"\(task.status)\">\(task.status)</span>", HTML.escape(task.worker), "\(task.attempts)",
             Self.progress(task.filesDone, task.files), HTML.escape(task.error)]
        })
        if let failed = job.failedFiles, !failed.isEmpty {
            html += "<h2>Failed files</h2>" + HTML.table(["Path", "Error"], failed.map { [HTML.escape($0["path"] ?? ""), HTML.escape($0["error"] ?? "")] })
        }
        return html
    }

    private func workersBody(_ workers: [Worker]) -> String {
        guard master.journaled.isLeader else { return "<p>Job workers report to the leading job master; see its page.</p>" }
        return HTML.table(["Job worker", "Pool size", "Active tasks", "Block store", "Last heartbeat"], workers.map {
            [HTML.escape($0.address), "\($0.poolSize)", "\($0.activeTasks)", $0.blockStore ? "yes" : "no", "\($0.lastHeartbeatMsAgo) ms ago"]
        })
    }

    static func date(_ milliseconds: Int64) -> String {
        guard milliseconds > 0 else { return "" }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
