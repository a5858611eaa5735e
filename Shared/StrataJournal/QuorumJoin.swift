import Foundation
import Logging
import StrataCore
import StrataRaft
import StrataWire

/// The group a member belongs to before its log or a snapshot says so: the membership the leader
/// described when this member joined. Kept in `membership` beside the log (magic, length,
/// `Membership.encoded`, CRC-32) so that a member restarted before it received the membership
/// entry still knows it is only a learner.
enum MembershipBaseFile {
    static let fileName = "membership"
    static let magic: UInt32 = 0x5354_524d // "STRM"

    static func write(_ membership: Membership, directory: String, sync: Bool) throws(JournalError) {
        try ChecksummedFile.write(membership.encoded, magic: magic, to: directory + "/" + fileName, sync: sync)
    }

    /// The saved membership, nil if there is none; a damaged file is an error naming it.
    static func read(directory: String) throws(JournalError) -> Membership? {
        let path = directory + "/" + fileName
        guard let encoded = try ChecksummedFile.read(path, magic: magic, what: "membership") else { return nil }
        guard let membership = Membership(decoding: encoded) else { throw JournalError(.corruptRecord, "corrupt membership file \(path)") }
        return membership
    }
}

/// How a member with an empty journal finds out whether it starts a new group or joins a running
/// one (the reference's "add a master to a live cluster": configure the new master with every
/// existing member plus itself, and start it).
///
/// It asks every configured peer in parallel. A leader that already counts it answers MEMBER; a
/// leader that does not adds it as a learner (promoted once caught up) and answers ADDED; either
/// way the answer carries the group's membership. If every peer that answers has an empty log
/// too, the group is new and starts from the configured addresses. Peers with a log but no leader
/// yet are asked again until `joinWait` runs out; then the configured addresses are used.
enum QuorumJoin {
    struct Outcome {
        /// The running group's membership, or nil to start from the configured members.
        var membership: Membership?
        var summary: String
    }

    static func discover(_ configuration: RaftNodeConfiguration, nonServing: Bool, storageID: UInt64, logger: Logger) async throws(JournalError) -> Outcome {
        var candidates = Set(configuration.members.filter { $0 != configuration.address })
        guard !candidates.isEmpty else { return Outcome(membership: nil, summary: "single member") }
        let request = JoinQuorumRequest(clusterID: configuration.clusterID, address: configuration.address.description, nonServing: nonServing, storageID: storageID)
        let deadline = ContinuousClock.now + configuration.joinWait
        var lastProblem = ""
        while true {
            let answers = await withTaskGroup(of: (HostAndPort, Result<JoinQuorumResponse, RPCError>).self) { group in
                for peer in candidates {
                    group.addTask {
                        let client = RPCClient(address: peer, frameSizeMaxBytes: 1 << 20, connectTimeout: .milliseconds(500))
                        let result: Result<JoinQuorumResponse, RPCError>
                        do throws(RPCError) {
                            result = .success(try await client.call(JournalMethods.join, request, deadline: .seconds(5)))
                        } catch {
                            result = .failure(error)
                        }
                        await client.close()
                        return (peer, result)
                    }
                }
                var answers: [(HostAndPort, Result<JoinQuorumResponse, RPCError>)] = []
                for await answer in group { answers.append(answer) }
                return answers
            }
            var runningGroup = false
            for (peer, answer) in answers {
                switch answer {
                case .success(let response):
                    switch response.outcome {
                    case .member, .added:
                        guard let membership = response.membership else { continue }
                        let how = response.outcome == JoinQuorumResponse.Outcome.added ? "joined the group through \(peer) as a learner" : "already a member (per \(peer))"
                        return Outcome(membership: membership, summary: how)
                    case .notLeader:
                        if response.lastIndex > 0 { runningGroup = true }
                        if let hint = HostAndPort(parsing: response.leaderAddress), hint != configuration.address { candidates.insert(hint) }
                        lastProblem = "\(peer) is not the leader" + (response.leaderAddress.isEmpty ? " and knows none" : "")
                    }
                case .failure(let error):
                    switch error.code {
                    case .failedPrecondition:
                        throw JournalError(.clusterMismatch, "cannot join through \(peer): \(error.message)")
                    case .unavailable, .deadlineExceeded:
                        if error.code == .unavailable && error.message.contains("membership") { runningGroup = true }
                        lastProblem = "\(peer): \(error.message)"
                    default:
                        lastProblem = "\(peer): \(error.message)"
                    }
                }
            }
            if !runningGroup { return Outcome(membership: nil, summary: "no running group among the configured members; starting a new one") }
            if ContinuousClock.now >= deadline {
                logger.warning("could not join the running group within \(configuration.joinWait) (\(lastProblem)); starting with the configured members")
                return Outcome(membership: nil, summary: "join timed out")
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
