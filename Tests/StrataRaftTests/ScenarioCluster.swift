@testable import StrataRaft

/// A hand-driven Raft group for scenario tests: messages wait in an outbox until a test delivers
/// (or drops) them, so a test can stage exactly the histories of the Raft paper's figures.
struct ScenarioCluster {
    struct Disk {
        var hardState = HardState()
        var snapshot: SnapshotMeta
        var entries: [LogEntry] = []
    }

    var options: RaftOptions
    var cores: [MemberID: RaftCore] = [:]
    var disks: [MemberID: Disk] = [:]
    var down: Set<MemberID> = []
    var outbox: [RaftMessage] = []
    var applied: [MemberID: [LogEntry]] = [:]
    /// Every entry each member ever applied, across restarts.
    var appliedEver: [MemberID: [LogEntry]] = [:]
    var readStates: [MemberID: [ReadState]] = [:]

    init(members: [MemberID], learners: [MemberID] = [], nonServing: Set<MemberID> = [], options: RaftOptions = ScenarioCluster.defaultOptions) {
        self.options = options
        let membership = Membership(voters: Set(members), learners: Set(learners), nonServing: nonServing)
        for id in members + learners {
            let snapshot = SnapshotMeta(index: 0, term: 0, membership: membership)
            disks[id] = Disk(snapshot: snapshot)
            cores[id] = RaftCore(id: id, options: options, seed: id, hardState: HardState(), snapshot: snapshot, entries: [])
            applied[id] = []
        }
    }

    static var defaultOptions: RaftOptions {
        var options = RaftOptions()
        options.electionTimeoutTicks = 10
        options.heartbeatIntervalTicks = 1
        return options
    }

    /// Adds a brand-new member process (not yet in the group's membership).
    mutating func addProcess(_ id: MemberID, membership: Membership) {
        let snapshot = SnapshotMeta(index: 0, term: 0, membership: membership)
        disks[id] = Disk(snapshot: snapshot)
        cores[id] = RaftCore(id: id, options: options, seed: id, hardState: HardState(), snapshot: snapshot, entries: [])
        applied[id] = []
    }

    subscript(id: MemberID) -> RaftCore { cores[id]! }

    // MARK: Driving

    mutating func handle(_ id: MemberID, _ ready: Ready) {
        var disk = disks[id]!
        if let snapshot = ready.snapshot {
            disk.snapshot = snapshot
            disk.entries = []
            applied[id] = Array(applied.values.max(by: { $0.count < $1.count })!.prefix(Int(snapshot.index)))
        }
        if let hardState = ready.hardState { disk.hardState = hardState }
        if let first = ready.entries.first {
            disk.entries.removeAll { $0.index >= first.index }
            disk.entries.append(contentsOf: ready.entries)
        }
        disks[id] = disk
        outbox.append(contentsOf: ready.messages)
        applied[id]!.append(contentsOf: ready.committed)
        appliedEver[id, default: []].append(contentsOf: ready.committed)
        readStates[id, default: []].append(contentsOf: ready.readStates)
        cores[id]!.advance(ready)
    }

    mutating func tick(_ id: MemberID, times: Int = 1) {
        for _ in 0..<times where !down.contains(id) {
            let ready = cores[id]!.tick()
            handle(id, ready)
        }
    }

    /// Ticks `id` until it starts an election (pre-vote or vote), which it does once its
    /// randomized timeout passes.
    mutating func timeout(_ id: MemberID) {
        for _ in 0..<(options.electionTimeoutTicks * 2 + 1) {
            let before = outbox.count
            tick(id)
            let campaigned = outbox[before...].contains { message in
                switch message.body {
                case .vote, .preVote: message.from == id
                default: false
                }
            }
            if campaigned || cores[id]!.role == .leader { return }
        }
    }

    mutating func propose(_ id: MemberID, _ text: String) throws(RaftError) {
        let ready = try cores[id]!.propose(Array(text.utf8))
        handle(id, ready)
    }

    /// Delivers outbox messages matching `filter` (and drops those to down members), repeating
    /// until no matching message is left. Messages that do not match stay in the outbox.
    mutating func deliver(where filter: (RaftMessage) -> Bool = { _ in true }, rounds: Int = 100) {
        for _ in 0..<rounds {
            let (matching, rest) = (outbox.filter(filter), outbox.filter { !filter($0) })
            guard !matching.isEmpty else { return }
            outbox = rest
            for message in matching where !down.contains(message.to) && !down.contains(message.from) {
                let ready = cores[message.to]!.step(message)
                handle(message.to, ready)
            }
        }
    }

    /// Delivers only among `group`; messages crossing the cut are dropped.
    mutating func deliverWithin(_ group: Set<MemberID>) {
        outbox.removeAll { group.contains($0.from) != group.contains($0.to) }
        deliver(where: { group.contains($0.from) && group.contains($0.to) })
        outbox.removeAll { group.contains($0.from) != group.contains($0.to) }
    }

    mutating func drop(where filter: (RaftMessage) -> Bool = { _ in true }) {
        outbox.removeAll(where: filter)
    }

    mutating func crash(_ id: MemberID) {
        down.insert(id)
        outbox.removeAll { $0.from == id || $0.to == id }
    }

    mutating func restart(_ id: MemberID) {
        let disk = disks[id]!
        cores[id] = RaftCore(id: id, options: options, seed: id &+ 1000, hardState: disk.hardState, snapshot: disk.snapshot, entries: disk.entries)
        applied[id] = []
        down.remove(id)
    }

    /// Elects `id`, as happens when the old leader is gone: the other members' leases run out
    /// (their own campaigns are lost), then `id` times out and wins.
    mutating func elect(_ id: MemberID) {
        for other in cores.keys.sorted() where other != id && !down.contains(other) && cores[other]!.role != .leader {
            tick(other, times: options.electionTimeoutTicks)
        }
        outbox.removeAll { $0.from != id }
        for _ in 0..<5 where cores[id]!.role != .leader {
            timeout(id)
            deliver()
        }
    }

    /// Ticks every live member `times` times, delivering messages after each round.
    mutating func settle(ticks times: Int = 3) {
        for _ in 0..<times {
            for id in cores.keys.sorted() { tick(id) }
            deliver()
        }
    }

    func log(_ id: MemberID) -> [String] {
        let core = cores[id]!
        guard core.lastIndex >= core.firstIndex else { return [] }
        return (core.firstIndex...core.lastIndex).map { core.entry(at: $0)!.description }
    }

    func appliedData(_ id: MemberID) -> [String] {
        applied[id]!.filter { $0.kind == .normal }.map { String(decoding: $0.data, as: UTF8.self) }
    }

    var leaders: [MemberID] { cores.keys.sorted().filter { !down.contains($0) && cores[$0]!.role == .leader } }
}
