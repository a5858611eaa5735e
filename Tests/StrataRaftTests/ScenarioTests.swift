import Testing
@testable import StrataRaft

/// The classic cases, staged message by message.
@Suite struct ScenarioTests {
    static var bare: RaftOptions {
        var options = ScenarioCluster.defaultOptions
        options.preVote = false
        options.checkQuorum = false
        return options
    }

    func isAppend(_ message: RaftMessage) -> Bool {
        if case .append = message.body { return true }
        return false
    }

    func appendIndices(_ message: RaftMessage) -> [UInt64] {
        if case .append(_, _, let entries, _) = message.body { return entries.map(\.index) }
        return []
    }

    func isElection(_ message: RaftMessage) -> Bool {
        switch message.body {
        case .vote, .voteResponse, .preVote, .preVoteResponse: true
        default: false
        }
    }

    @Test func electsALeaderAndReplicates() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        #expect(cluster.leaders == [1])
        try cluster.propose(1, "a")
        try cluster.propose(1, "b")
        cluster.deliver()
        cluster.settle()
        for id: MemberID in [1, 2, 3] { #expect(cluster.appliedData(id) == ["a", "b"], "member \(id)") }
    }

    /// Figure 8 of the Raft paper: a leader must not count replicas to commit an entry of an
    /// earlier term; otherwise a later leader can overwrite an entry already applied.
    @Test func figure8() throws {
        var options = Self.bare
        options.appendEntriesMax = 1
        var cluster = ScenarioCluster(members: [1, 2, 3, 4, 5], options: options)
        cluster.elect(1)                                  // term 1; 1@1 (noop) everywhere
        cluster.settle(ticks: 1)
        try cluster.propose(1, "x")                        // 2@1 reaches only member 2
        cluster.deliver(where: { $0.to == 2 || $0.from == 2 })
        cluster.drop()
        cluster.crash(1)

        cluster.timeout(5)                                 // term 2: 5 wins with 3 and 4
        cluster.deliver(where: isElection)
        #expect(cluster.leaders == [5])
        try cluster.propose(5, "y")                        // 5 holds 2@2 (noop) and 3@2 alone
        cluster.drop()
        cluster.crash(5)

        cluster.restart(1)
        for _ in 0..<3 where cluster[1].role != .leader {  // term 3 or 4: 1 wins with 2, 3, 4
            cluster.timeout(1)
            cluster.deliver(where: isElection)
        }
        #expect(cluster.leaders == [1])
        // 1 brings 3 up to index 2 (its entry from term 1) but nobody gets its own new entry.
        for _ in 0..<20 {
            let lastOf3 = cluster[3].lastIndex
            // 2 gets everything. To 3: appends it will refuse (to find where the logs match) or
            // that carry nothing past index 2.
            let allowed: (RaftMessage) -> Bool = { m in
                if m.to == 2 || m.from == 2 { return true }
                guard m.to == 3 else { return m.from == 3 }
                guard case .append(let previousIndex, _, let entries, _) = m.body else { return true }
                return previousIndex > lastOf3 || entries.allSatisfy { $0.index <= 2 }
            }
            cluster.deliver(where: allowed, rounds: 1)
            cluster.drop(where: { !allowed($0) })
            cluster.tick(1)
        }
        #expect(cluster[3].lastIndex == 2)
        #expect(cluster[1].matchIndex(of: 2) == 3)
        // 2@1 is on a majority (1, 2, 3) but is from an earlier term, and 3@3 is only on 1 and 2:
        // nothing new may be committed.
        #expect(cluster[1].commitIndex < 2)
        cluster.drop()
        cluster.crash(1)

        // 5 returns and wins; its 2@2 may legitimately overwrite 2@1.
        cluster.restart(5)
        for _ in 0..<4 where cluster[5].role != .leader {
            cluster.timeout(5)
            cluster.deliver(where: isElection)
        }
        #expect(cluster.leaders == [5])
        cluster.settle(ticks: 5)
        cluster.restart(1)
        cluster.settle(ticks: 5)
        // State-machine safety: no two members applied different entries at one index.
        var byIndex: [UInt64: LogEntry] = [:]
        for id: MemberID in [1, 2, 3, 4, 5] {
            for entry in cluster.appliedEver[id, default: []] {
                if let other = byIndex[entry.index] { #expect(other == entry, "index \(entry.index): \(other) vs \(entry)") }
                byIndex[entry.index] = entry
            }
        }
        #expect(cluster.appliedData(2).contains("y"))
        #expect(!cluster.appliedData(2).contains("x"))
    }

    /// Figure 7: followers with missing entries, extra uncommitted entries, or both, all end up
    /// with the leader's log.
    @Test func figure7() throws {
        let terms: [MemberID: [UInt64]] = [
            1: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],        // the leader for term 8
            2: [1, 1, 1, 4, 4, 5, 5, 6, 6],            // (a)
            3: [1, 1, 1, 4],                           // (b)
            4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],      // (c)
            5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],   // (d)
            6: [1, 1, 1, 4, 4, 4, 4],                  // (e)
            7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],      // (f)
        ]
        var cluster = ScenarioCluster(members: Array(1...7), options: Self.bare)
        for (id, log) in terms {
            cluster.disks[id]!.entries = log.enumerated().map { LogEntry(term: $0.element, index: UInt64($0.offset + 1), data: Array("e\($0.offset + 1)t\($0.element)".utf8)) }
            cluster.disks[id]!.hardState = HardState(term: 7, vote: nil, commit: 3)
            cluster.restart(id)
        }
        cluster.elect(1)
        #expect(cluster.leaders == [1])
        #expect(cluster[1].term == 8)
        cluster.settle(ticks: 10)
        let leaderLog = cluster.log(1)
        #expect(leaderLog.count == 11) // its ten entries and its term-8 noop
        for id: MemberID in 2...7 { #expect(cluster.log(id) == leaderLog, "member \(id)") }
        for id: MemberID in 1...7 { #expect(cluster[id].commitIndex == 11, "member \(id)") }
    }

    @Test func partitionedLeaderStepsDownAndItsEntriesAreReplaced() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        try cluster.propose(1, "before")
        cluster.settle()
        let oldTerm = cluster[1].term
        // Cut 1 off; it accepts a proposal that can never commit.
        try cluster.propose(1, "lost")
        cluster.drop()
        for _ in 0..<(ScenarioCluster.defaultOptions.electionTimeoutTicks * 3) {
            for id: MemberID in [1, 2, 3] { cluster.tick(id) }
            cluster.deliverWithin([2, 3])
            cluster.drop(where: { $0.from == 1 || $0.to == 1 })
        }
        #expect(cluster[1].role != .leader, "check-quorum: an isolated leader steps down")
        let newLeaders = cluster.leaders
        #expect(newLeaders.count == 1 && newLeaders[0] != 1)
        let newLeader = newLeaders[0]
        #expect(cluster[newLeader].term > oldTerm)
        try cluster.propose(newLeader, "after")
        cluster.settle(ticks: 5)
        // Healed: 1 follows, its uncommitted entry is gone, and everyone applied the same.
        #expect(cluster.leaders == [newLeader])
        for id: MemberID in [1, 2, 3] {
            #expect(cluster.appliedData(id) == ["before", "after"], "member \(id)")
        }
    }

    @Test func staleLeaderRejoiningStepsDown() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        cluster.settle()
        cluster.crash(1)
        cluster.elect(2)
        #expect(cluster.leaders == [2])
        try cluster.propose(2, "new")
        cluster.settle()
        // 1 comes back from a pause still believing it leads: its heartbeats carry an old term.
        cluster.down.remove(1)
        #expect(cluster[1].role == .leader)
        cluster.tick(1)
        cluster.deliver()
        #expect(cluster[1].role == .follower)
        #expect(cluster[1].term == cluster[2].term)
        cluster.settle(ticks: 3)
        #expect(cluster.appliedData(1).contains("new"))
    }

    @Test func preVoteKeepsAPartitionedMemberFromDisruptingTheLeader() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        cluster.settle()
        let term = cluster[1].term
        // 3 is cut off for many election timeouts and keeps trying.
        for _ in 0..<100 {
            for id: MemberID in [1, 2, 3] { cluster.tick(id) }
            cluster.deliverWithin([1, 2])
        }
        #expect(cluster[3].term == term, "pre-vote: the isolated member's term does not grow")
        cluster.settle(ticks: 5)
        #expect(cluster.leaders == [1])
        #expect(cluster[1].term == term)
    }

    @Test func leadershipTransfer() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        try cluster.propose(1, "a")
        cluster.settle()
        let ready = try cluster.cores[1]!.transferLeadership(to: 3)
        cluster.handle(1, ready)
        #expect(throws: RaftError.self) { try cluster.propose(1, "during") }
        cluster.deliver()
        #expect(cluster.leaders == [3])
        try cluster.propose(3, "b")
        cluster.settle()
        for id: MemberID in [1, 2, 3] { #expect(cluster.appliedData(id) == ["a", "b"]) }
    }

    @Test func readIndexWaitsForAQuorumRound() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        try cluster.propose(1, "a")
        cluster.settle()
        let commit = cluster[1].commitIndex
        let ready = try cluster.cores[1]!.readIndex(context: 42)
        cluster.handle(1, ready)
        #expect(cluster.readStates[1, default: []].isEmpty, "no read before a quorum confirms leadership")
        cluster.deliver()
        #expect(cluster.readStates[1] == [ReadState(index: commit, context: 42)])
        #expect(throws: RaftError.self) { _ = try cluster.cores[2]!.readIndex(context: 1) }
    }

    @Test func leaseReadsAreImmediate() throws {
        var options = ScenarioCluster.defaultOptions
        options.leaseReads = true
        var cluster = ScenarioCluster(members: [1, 2, 3], options: options)
        cluster.elect(1)
        cluster.settle()
        let ready = try cluster.cores[1]!.readIndex(context: 7)
        cluster.handle(1, ready)
        #expect(cluster.readStates[1] == [ReadState(index: cluster[1].commitIndex, context: 7)])
    }

    @Test func leaderLostReportCampaignsEarlyButCannotUnseatAHealthyLeader() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        cluster.settle()
        let term = cluster[1].term
        // Only 2 lost its connection; 3 still hears from 1 and refuses to pre-vote.
        cluster.handle(2, cluster.cores[2]!.reportLeaderLost(1))
        for _ in 0..<3 {
            cluster.tick(2)
            cluster.deliver(where: { $0.from != 1 && $0.to != 1 })
        }
        cluster.settle(ticks: 3)
        #expect(cluster.leaders == [1])
        #expect(cluster[1].term == term)

        // 1 crashes: both followers lose it, and a new leader is up within a few ticks —
        // far sooner than the election timeout of 10 ticks.
        cluster.crash(1)
        cluster.handle(2, cluster.cores[2]!.reportLeaderLost(1))
        cluster.handle(3, cluster.cores[3]!.reportLeaderLost(1))
        var ticks = 0
        while cluster.leaders.isEmpty && ticks < 20 {
            ticks += 1
            cluster.tick(2)
            cluster.tick(3)
            cluster.deliver()
        }
        #expect(!cluster.leaders.isEmpty)
        #expect(ticks <= 5, "took \(ticks) ticks")
    }

    @Test func membershipChangeWhileAMemberIsDown() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        try cluster.propose(1, "a")
        cluster.settle()
        cluster.crash(3)
        cluster.addProcess(4, membership: cluster[1].membership)
        cluster.handle(1, try cluster.cores[1]!.proposeMembership(.addLearner(4, nonServing: false)))
        cluster.settle(ticks: 3)
        #expect(cluster[1].membership.learners == [4])
        #expect(cluster.appliedData(4) == ["a"], "the learner caught up")
        #expect(throws: RaftError.self) { try cluster.cores[1]!.proposeMembership(.promote(5)) }
        cluster.handle(1, try cluster.cores[1]!.proposeMembership(.promote(4)))
        cluster.settle(ticks: 3)
        cluster.handle(1, try cluster.cores[1]!.proposeMembership(.remove(3)))
        cluster.settle(ticks: 3)
        #expect(cluster[1].membership.voters == [1, 2, 4])
        try cluster.propose(1, "b")
        cluster.settle(ticks: 3)
        for id: MemberID in [1, 2, 4] { #expect(cluster.appliedData(id) == ["a", "b"], "member \(id)") }
        // With 3 gone for good, the group of {1, 2, 4} still survives losing one member.
        cluster.crash(1)
        cluster.elect(2)
        #expect(cluster.leaders == [2])
    }

    @Test func onlyOneMembershipChangeAtATime() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        cluster.settle()
        cluster.handle(1, try cluster.cores[1]!.proposeMembership(.addLearner(4, nonServing: false)))
        let error = #expect(throws: RaftError.self) { try cluster.cores[1]!.proposeMembership(.addLearner(5, nonServing: false)) }
        #expect(error?.code == .membershipChangePending)
        #expect(throws: RaftError.self) { try cluster.cores[1]!.proposeMembership(.addLearner(2, nonServing: false)) }
    }

    @Test func removedLeaderStepsDown() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        cluster.settle()
        cluster.handle(1, try cluster.cores[1]!.proposeMembership(.remove(1)))
        cluster.deliver()
        cluster.settle(ticks: 1)
        #expect(cluster[1].role == .follower)
        cluster.settle(ticks: 30)
        #expect(cluster.leaders.count == 1 && cluster.leaders[0] != 1)
    }

    @Test func laggingMemberCatchesUpFromASnapshot() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        cluster.settle()
        cluster.crash(3)
        for index in 0..<20 { try cluster.propose(1, "e\(index)") }
        cluster.settle(ticks: 3)
        cluster.cores[1]!.compact(through: cluster[1].appliedIndex)
        #expect(cluster[1].firstIndex > 5)
        cluster.restart(3)
        cluster.settle(ticks: 5)
        #expect(cluster[3].commitIndex == cluster[1].commitIndex)
        #expect(cluster[3].snapshotMeta.index == cluster[1].snapshotMeta.index, "3 installed the leader's snapshot")
        try cluster.propose(1, "after")
        cluster.settle(ticks: 3)
        #expect(cluster.applied[3]!.last.map { String(decoding: $0.data, as: UTF8.self) } == "after")
    }

    /// Five members; an entry committed by {1, 2, 3} only. Member 2 loses it from its disk (the
    /// shell cut off a corrupt record and set the catch-up index), 1 and 3 go down. Were 2 to
    /// vote, {2, 4, 5} would elect 4, whose log lacks the committed entry, and lose it. It must
    /// neither vote nor campaign until the entry is back in its log.
    @Test func aMemberThatLostAcknowledgedEntriesNeitherVotesNorCampaignsUntilCaughtUp() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3, 4, 5])
        cluster.elect(1)
        cluster.settle()
        cluster.crash(4)
        cluster.crash(5)
        for index in 0..<5 { try cluster.propose(1, "e\(index)") }
        cluster.settle(ticks: 3)
        let committed = cluster[1].commitIndex
        #expect(cluster[2].lastIndex == committed)
        let kept = 2
        cluster.crash(1)
        cluster.crash(2)
        cluster.crash(3)
        cluster.disks[2]!.entries = Array(cluster.disks[2]!.entries.prefix(kept))
        cluster.disks[2]!.hardState.catchUp = committed
        cluster.restart(2)
        cluster.restart(4)
        cluster.restart(5)
        #expect(cluster[2].catchUpIndex == committed)
        for _ in 0..<5 {
            cluster.timeout(4)
            cluster.deliver()
        }
        cluster.settle(ticks: 30)
        #expect(cluster.leaders.isEmpty, "elected \(cluster.leaders) without the committed entry")
        #expect(!cluster.outbox.contains { message in
            if case .vote = message.body { return message.from == 2 }
            if case .preVote = message.body { return message.from == 2 }
            return false
        })
        // The member holding the entry comes back: it is elected, and 2 catches up and may vote again.
        cluster.restart(1)
        cluster.elect(1)
        cluster.settle(ticks: 5)
        #expect(cluster.leaders == [1])
        #expect(cluster[2].lastIndex >= committed && cluster[2].catchUpIndex == 0)
        #expect(cluster.disks[2]!.hardState.catchUp == 0, "the cleared catch-up index is persisted")
        #expect(cluster.appliedData(4).prefix(5) == ["e0", "e1", "e2", "e3", "e4"])
    }

    /// A follower whose state machine was found divergent discards it: it applies nothing more,
    /// the leader starts it over with a snapshot, and it installs that snapshot although its log
    /// already holds what the snapshot covers.
    @Test func aMemberThatDiscardsItsStateInstallsTheLeadersSnapshot() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3])
        cluster.elect(1)
        for index in 0..<10 { try cluster.propose(1, "e\(index)") }
        cluster.settle(ticks: 3)
        cluster.cores[1]!.compact(through: cluster[1].appliedIndex)
        let snapshotIndex = cluster[1].snapshotMeta.index
        #expect(cluster[2].appliedIndex == snapshotIndex)
        cluster.handle(2, try cluster.cores[2]!.discardStateForSnapshot())
        #expect(cluster[2].awaitingSnapshot && cluster[2].catchUpIndex == cluster[2].lastIndex)
        cluster.applied[2] = []
        try cluster.propose(1, "before the snapshot")
        // Nothing is applied until the snapshot arrives.
        cluster.deliver(where: { !(($0.to == 2 && { if case .snapshot = $0.body { return true } else { return false } }($0))) })
        #expect(cluster.applied[2]!.isEmpty)
        cluster.settle(ticks: 5)
        #expect(!cluster[2].awaitingSnapshot)
        #expect(cluster.disks[2]!.snapshot.index == snapshotIndex, "2 installed the leader's snapshot")
        try cluster.propose(1, "after")
        cluster.settle(ticks: 3)
        #expect(cluster.appliedData(2).suffix(2) == ["before the snapshot", "after"])
        #expect(cluster[2].commitIndex == cluster[1].commitIndex && cluster[2].catchUpIndex == 0)
        #expect(throws: RaftError.self) { _ = try cluster.cores[1]!.discardStateForSnapshot() }
    }

    /// A member that discards its state while campaigning stops campaigning: it cannot win
    /// with votes already on their way.
    @Test func aCandidateThatDiscardsItsStateCannotWin() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3], options: Self.bare)
        cluster.timeout(2)
        #expect(cluster[2].role == .candidate)
        cluster.handle(2, try cluster.cores[2]!.discardStateForSnapshot())
        #expect(cluster[2].role == .follower)
        cluster.deliver()
        #expect(cluster.leaders.isEmpty, "votes granted to the old campaign elected \(cluster.leaders)")
    }

    @Test func nonServingLeaderHandsOffAtOnce() throws {
        var cluster = ScenarioCluster(members: [1, 2, 3], nonServing: [3])
        cluster.elect(1)
        try cluster.propose(1, "a")
        cluster.settle()
        // 1 dies; the journal node 3 happens to time out first and wins.
        cluster.crash(1)
        cluster.elect(3)
        cluster.deliver()
        cluster.settle(ticks: 3)
        #expect(cluster.leaders == [2], "the journal node handed leadership to the serving member")
        try cluster.propose(2, "b")
        cluster.settle()
        #expect(cluster.appliedData(3) == ["a", "b"])
    }

    @Test func oversizedProposalsAreRefused() throws {
        var options = ScenarioCluster.defaultOptions
        options.entrySizeMaxBytes = 10
        var cluster = ScenarioCluster(members: [1], options: options)
        cluster.elect(1)
        let error = #expect(throws: RaftError.self) { try cluster.propose(1, "more than ten bytes") }
        #expect(error?.code == .entryTooLarge)
        try cluster.propose(1, "small")
        cluster.settle()
        #expect(cluster.appliedData(1) == ["small"])
    }

    @Test func membershipEncodingRoundTrips() {
        let membership = Membership(voters: [1, 2, 300_000], learners: [7], nonServing: [2, 7])
        #expect(Membership(decoding: membership.encoded) == membership)
        #expect(Membership(decoding: [9, 9]) == nil)
        #expect(Membership(decoding: Array(membership.encoded.dropLast())) == nil)
    }
}
