import StrataCore
import StrataWire

/// One member of a journaled service's group as the web UI shows it: the member list of
/// ServiceInfo joined with the quorum (availability and match index, known on the leader).
public struct MemberView: Encodable, Sendable {
    public var rpcAddress: String
    public var journalAddress: String
    public var role: String
    public var voter: Bool
    public var state: String
    public var matchIndex: UInt64
}

/// What the web UIs of every journaled service share: the member table, the banner that marks a
/// standby and links to the leader, and the "Leader" fact.
extension JournaledService {
    /// The members in `info` with what the quorum knows of each (an unknown member of a live
    /// leader is AVAILABLE when it reports a role, UNKNOWN otherwise).
    public func memberViews(_ info: MasterInfo) async -> [MemberView] {
        let quorum = await quorumMembers()
        return info.masters.map { member in
            let inQuorum = quorum.first { $0.address == member.journalAddress }
            let state = inQuorum.flatMap { $0.state == "UNKNOWN" ? nil : $0.state } ?? (member.role.isEmpty ? "UNKNOWN" : "AVAILABLE")
            return MemberView(rpcAddress: member.rpcAddress, journalAddress: member.journalAddress,
                              role: member.role.isEmpty ? "STANDBY" : member.role, voter: member.voter, state: state,
                              matchIndex: inQuorum?.matchIndex ?? 0)
        }
    }

    /// The line at the top of every page: this member, its role, and on a standby a link to the leader.
    public func webBanner(kind: String) async -> String {
        let role = self.role.rawValue
        var banner = "\(HTML.escape(kind)) <b>\(HTML.escape(thisRPCAddress.description))</b> · <span class=\"\(role)\">\(role)</span>"
        guard role != JournalRole.leader.rawValue else { return banner }
        let leader = await journal.leaderRPCAddress()?.description ?? ""
        if let url = await leaderWebURL() {
            banner += " · leader: <a href=\"\(HTML.escape(url))\">\(HTML.escape(leader))</a>"
        } else {
            banner += " · leader: " + (leader.isEmpty ? "none known" : HTML.escape(leader))
        }
        return banner
    }
}

/// The pieces of a journaled service's pages that do not depend on the service.
extension HTML {
    /// The "Leader" fact of an overview: the leader's RPC address, linked to its web UI when known.
    public static func leaderFact(_ leader: String, webURL: String) -> (String, String) {
        ("Leader", webURL.isEmpty ? HTML.escape(leader) : "<a href=\"\(HTML.escape(webURL))\">\(HTML.escape(leader))</a>")
    }

    /// The member table (RPC and journal address, role, voter, state, match index).
    public static func members(_ members: [MemberView]) -> String {
        HTML.table(["RPC address", "Journal address", "Role", "Voter", "State", "Match index"], members.map { member in
            [HTML.escape(member.rpcAddress), HTML.escape(member.journalAddress), "<span class=\"\(member.role)\">\(HTML.escape(member.role))</span>",
             member.voter ? "yes" : "learner", "<span class=\"\(member.state)\">\(HTML.escape(member.state))</span>", "\(member.matchIndex)"]
        })
    }
}
