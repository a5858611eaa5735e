import StrataCore
import StrataJournal

/// The journal node's web pages: one status page (each quorum it belongs to: role, term, leader,
/// indexes, the members as it sees them, and any peer refusing it) and the same as JSON under
/// `/api/v1/journal`. /health, /api/v1/info and /metrics come from the process shell.
struct JournalNodeWebUI: Sendable {
    let members: [JournalNodeMember]
    let configuration: Configuration
    let metrics: @Sendable () -> String
    static let navigation = [("Status", "/"), ("Configuration", "/configuration"), ("Metrics", "/metrics/view")]

    static func endpointName(_ domain: JournalDomain) -> String { domain == .master ? "master-journal" : "job-master-journal" }

    /// JOURNAL_NODE, or LEADER while it leads a quorum (until it hands leadership over).
    func role() async -> String {
        members.contains { $0.journal.isLeader } ? JournalRole.leader.rawValue : EmbeddedServiceJournal.journalNodeRole
    }

    func reports() async -> [RaftMemberReport] {
        var reports: [RaftMemberReport] = []
        for member in members { reports.append(await member.journal.report()) }
        return reports
    }

    func handle(_ request: WebRequest) async -> WebResponse? {
        switch request.path {
        case "/api/v1/journal": return .json(await reports())
        case "/", "/index.html": return page("Status", "/", statusBody(await reports()))
        case "/configuration": return page("Configuration", "/configuration", HTML.configuration(configuration))
        case "/metrics/view": return page("Metrics", "/metrics/view", HTML.metrics(metrics()))
        default: return nil
        }
    }

    private func page(_ title: String, _ current: String, _ body: String) -> WebResponse {
        let banner = "Journal node <b>\(HTML.escape(configuration.string(.journalNodeHostname)))</b> · <span class=\"STANDBY\">JOURNAL_NODE</span>"
        return .html(HTML.page(title: title, product: "Strata journal node", banner: banner, navigation: Self.navigation, current: current, body: body))
    }

    private func statusBody(_ reports: [RaftMemberReport]) -> String {
        reports.map { report in
            var html = "<h2>\(HTML.escape(report.domain)) quorum</h2>" + HTML.facts([
                ("Journal address", HTML.escape(report.address)),
                ("Role", "<span class=\"\(report.role)\">\(HTML.escape(report.role))</span>"),
                ("Leader", report.leader.isEmpty ? "none known" : HTML.escape(report.leader)),
                ("Term", "\(report.term)"),
                ("Commit / applied / last index", "\(report.commitIndex) / \(report.appliedIndex) / \(report.lastIndex)"),
                ("Snapshot index", "\(report.snapshotIndex)"),
                ("Storage id", HTML.escape(report.storageId)),
            ])
            for refusal in report.refusals { html += "<p class=\"FAILED\">\(HTML.escape(refusal))</p>" }
            html += HTML.table(["Member", "Voter", "Kind", "State", "Match index"], report.members.map {
                [HTML.escape($0.address), $0.voter ? "yes" : "learner", $0.journalNode ? "journal node" : "serving",
                 "<span class=\"\($0.state)\">\($0.state)</span>", "\($0.matchIndex)"]
            })
            return html
        }.joined()
    }
}
