import StrataRaft

/// A deterministic simulation of a Raft group: the real `RaftCore` on every member, a simulated
/// network (loss, delay, reordering, duplication, asymmetric partitions), crashes that lose what
/// was not persisted, restarts, clock skew, compaction and snapshot transfer — all driven by one
/// seed, so a failing seed replays exactly. Checkers run on every event.
public struct Simulation {
    public struct Settings: Sendable {
        public init() {}
        public var members = 3
        public var chaosTicks = 200
        public var livenessTicksMax = 600
        public var lossRate = 0.05
        public var duplicateRate = 0.02
        public var crashRate = 0.002          // per member per tick
        public var partitionRate = 0.01       // per tick
        public var compactionRate = 0.01      // per member per tick
        public var proposalRate = 0.5         // per tick
        public var ticksPerElectionTimeout = 10
    }

    public struct Violation: Error, CustomStringConvertible {
        public let seed: UInt64
        public let time: Int
        public let message: String
        public var description: String { "seed \(seed) at time \(time): \(message)" }
    }

    /// What a member keeps on disk: survives crashes.
    struct Disk {
        var hardState = HardState()
        var snapshot: SnapshotMeta
        /// The state machine contents the snapshot holds (applied entries, by index).
        var snapshotData: [LogEntry] = []
        var entries: [LogEntry] = []
        /// A snapshot received from the leader, not yet accepted by the core.
        var incoming: (meta: SnapshotMeta, data: [LogEntry])?
    }

    struct Member {
        var core: RaftCore
        var disk: Disk
        var up = true
        /// The state machine: entries applied, in order.
        var applied: [LogEntry] = []
        /// Microseconds per tick for this member (clock skew).
        var tickPeriod: Int
        var incarnation: UInt64 = 0
    }

    enum Event {
        case tick(MemberID, incarnation: UInt64)
        case deliver(RaftMessage, snapshotData: [LogEntry]?)
        case snapshotStatus(from: MemberID, to: MemberID, success: Bool)
    }

    public let seed: UInt64
    public let settings: Settings
    var random: SplitMix64
    var members: [MemberID: Member] = [:]
    var queue = EventQueue<Event>()
    var now = 0
    /// Directed links that drop everything: (from, to).
    var cut: Set<[MemberID]> = []
    var options: RaftOptions
    /// Loss, duplication, crashes: on during the chaos phase, off once healed.
    var faultsEnabled = true

    // Checker state.
    public private(set) var leaderOfTerm: [UInt64: MemberID] = [:]
    /// The one true committed log: index → entry, as first applied anywhere.
    public private(set) var canonical: [UInt64: LogEntry] = [:]
    /// For each committed index, the term of the member that first applied it: the entry was
    /// committed in that term or an earlier one.
    var committedByTerm: [UInt64: UInt64] = [:]
    var proposalsMade = 0
    /// Proposals some leader applied (so a client would have been told they succeeded).
    var acknowledged: Set<[UInt8]> = []
    public private(set) var events = 0
    /// Entries read back from disk (stored appends and applies): the small-cache seeds must.
    public private(set) var storedReads = 0

    public init(seed: UInt64, settings: Settings = Settings()) {
        self.seed = seed
        self.settings = settings
        self.random = SplitMix64(seed: seed)
        var options = RaftOptions()
        options.electionTimeoutTicks = settings.ticksPerElectionTimeout
        options.heartbeatIntervalTicks = 1
        options.appendEntriesMax = 8
        options.inflightAppendsMax = 4
        // Vary the protections across seeds, so the checks also see the bare algorithm.
        options.preVote = seed % 4 != 1
        options.checkQuorum = seed % 4 != 2
        // Every third seed keeps only a few entries in memory: appends to lagging followers and
        // applies after a restart then read the entries back from the disk.
        if seed % 3 == 0 { options.logCacheBytesMax = 3 * (RaftOptions.logCacheEntryOverheadBytes + 8) }
        self.options = options
        let ids = (1...UInt64(settings.members)).map { $0 }
        let membership = Membership(voters: Set(ids))
        for id in ids {
            let snapshot = SnapshotMeta(index: 0, term: 0, membership: membership)
            let core = RaftCore(id: id, options: options, seed: seed &+ id, hardState: HardState(), snapshot: snapshot, entries: [])
            // Clock skew: each member's tick is 900–1100 µs.
            let period = 900 + Int.random(in: 0...200, using: &random)
            members[id] = Member(core: core, disk: Disk(snapshot: snapshot), tickPeriod: period)
            queue.push(at: Int.random(in: 0..<period, using: &random), .tick(id, incarnation: 0))
        }
    }

    // MARK: Running

    /// The chaos phase, then healing and a liveness check. Throws the first violation.
    public mutating func run() throws(Violation) {
        let chaosEnd = settings.chaosTicks * 1000
        while let time = queue.nextTime, time <= chaosEnd {
            let (_, event) = queue.pop()!
            now = time
            try handle(event, chaos: true)
        }
        try heal()
        try checkLiveness()
        try checkFinalState()
    }

    public var trace = false

    mutating func handle(_ event: Event, chaos: Bool) throws(Violation) {
        events += 1
        if trace {
            switch event {
            case .deliver(let m, _) where m.to == 3 || m.from == 3:
                if case .heartbeat = m.body {} else if case .heartbeatResponse = m.body {} else { print(now, "deliver", m.from, "->", m.to, "t\(m.term)", m.body, "up:", members[m.to]!.up) }
            case .snapshotStatus(let f, let t, let ok): print(now, "status", f, t, ok)
            default: break
            }
        }
        switch event {
        case .tick(let id, let incarnation):
            guard let member = members[id], member.up, member.incarnation == incarnation else { return }
            queue.push(at: now + member.tickPeriod, .tick(id, incarnation: incarnation))
            if chaos { try chaosOnTick(id) }
            guard members[id]!.up else { return }
            let ready = members[id]!.core.tick()
            try process(ready, of: id)
        case .deliver(let message, let snapshotData):
            guard members[message.to]?.up == true else {
                if case .snapshot = message.body { queue.push(at: now + 1000, .snapshotStatus(from: message.from, to: message.to, success: false)) }
                return
            }
            if case .snapshot(let meta) = message.body, let snapshotData {
                // The shell received the snapshot's bytes before handing the message to the core.
                members[message.to]!.disk.incoming = (meta, snapshotData)
                queue.push(at: now + 100, .snapshotStatus(from: message.from, to: message.to, success: true))
            }
            let ready = members[message.to]!.core.step(message)
            try process(ready, of: message.to)
        case .snapshotStatus(let from, let to, let success):
            guard members[from]?.up == true else { return }
            let ready = members[from]!.core.reportSnapshot(to: to, success: success)
            try process(ready, of: from)
        }
    }

    mutating func chaosOnTick(_ id: MemberID) throws(Violation) {
        let tickShare = 1.0 / Double(settings.members)
        if chance(settings.proposalRate * tickShare), members[id]!.core.role == .leader {
            proposalsMade += 1
            let data = Array("p\(proposalsMade)".utf8)
            if let ready = try? members[id]!.core.propose(data) { try process(ready, of: id) }
        }
        if chance(settings.compactionRate) { compact(id) }
        if chance(settings.partitionRate * tickShare) { repartition() }
        if chance(settings.crashRate) { crash(id) }
        if !members[id]!.up { return }
        // Occasionally try a transfer or a read, to exercise them under chaos.
        if chance(0.01), members[id]!.core.role == .leader {
            let others = members.keys.sorted().filter { $0 != id }
            if let target = others.randomElement(using: &random), let ready = try? members[id]!.core.transferLeadership(to: target) {
                try process(ready, of: id)
            }
        }
        // Restart crashed members after a while.
        for other in members.keys.sorted() where !members[other]!.up && chance(0.05) {
            restart(other)
        }
    }

    /// Handles a Ready as a shell would: persist, install snapshot, send, apply, advance.
    /// A crash may strike before persistence, losing the whole Ready.
    mutating func process(_ ready: Ready, of id: MemberID) throws(Violation) {
        guard !ready.isEmpty || ready.role == .leader else {
            try checkLeader(ready, of: id)
            return
        }
        try checkLeader(ready, of: id)
        if faultsEnabled && (!ready.entries.isEmpty || ready.hardState != nil) && chance(settings.crashRate) {
            crash(id)
            return
        }
        var member = members[id]!
        if let snapshot = ready.snapshot {
            guard let incoming = member.disk.incoming, incoming.meta == snapshot else {
                preconditionFailure("snapshot \(snapshot) installed without its data")
            }
            // The core replaced its whole log with the snapshot; so does the disk.
            member.disk.snapshot = incoming.meta
            member.disk.snapshotData = incoming.data
            member.disk.incoming = nil
            member.disk.entries = []
            member.applied = member.disk.snapshotData
        }
        if let hardState = ready.hardState { member.disk.hardState = hardState }
        if let first = ready.entries.first {
            member.disk.entries.removeAll { $0.index >= first.index }
            member.disk.entries.append(contentsOf: ready.entries)
        }
        members[id] = member
        for message in ready.messages {
            if case .storedAppend = message.body { storedReads += 1 }
            send(try resolved(message, disk: member.disk))
        }
        if let range = ready.committedStored {
            storedReads += 1
            for index in range {
                guard let entry = member.disk.entries.first(where: { $0.index == index }) else {
                    throw violation("member \(id) must apply stored entry \(index), which its disk lacks")
                }
                try apply(entry, on: id)
            }
        }
        for entry in ready.committed { try apply(entry, on: id) }
        members[id]!.core.advance(ready)
    }

    /// A stored append becomes an append of the entries read from the disk.
    func resolved(_ message: RaftMessage, disk: Disk) throws(Violation) -> RaftMessage {
        guard case .storedAppend(let previousIndex, let previousTerm, let through, let commit) = message.body else { return message }
        let entries = disk.entries.filter { $0.index > previousIndex && $0.index <= through }
        guard entries.count == Int(through - previousIndex) else {
            throw violation("member \(message.from) sends stored entries \(previousIndex + 1)...\(through), which its disk lacks")
        }
        return RaftMessage(from: message.from, to: message.to, term: message.term,
                           body: .append(previousIndex: previousIndex, previousTerm: previousTerm, entries: entries, commit: commit))
    }

    mutating func apply(_ entry: LogEntry, on id: MemberID) throws(Violation) {
        let expected = UInt64(members[id]!.applied.count) + 1
        guard entry.index == expected else {
            throw violation("member \(id) applied \(entry) but expected index \(expected)")
        }
        if let existing = canonical[entry.index] {
            guard existing == entry else {
                throw violation("state machine safety: member \(id) applied \(entry) \(entry.data) at \(entry.index), another applied \(existing) \(existing.data)")
            }
        } else {
            canonical[entry.index] = entry
            committedByTerm[entry.index] = members[id]!.core.term
        }
        members[id]!.applied.append(entry)
        if members[id]!.core.role == .leader && entry.kind == .normal { acknowledged.insert(entry.data) }
    }

    mutating func send(_ message: RaftMessage) {
        var snapshotData: [LogEntry]? = nil
        if case .snapshot(let meta) = message.body {
            let disk = members[message.from]!.disk
            precondition(disk.snapshot == meta, "leader sends \(meta) but its stored snapshot is \(disk.snapshot)")
            snapshotData = disk.snapshotData
            if trace { print(now, "send snapshot", message, "cut:", cut.contains([message.from, message.to])) }
        }
        if cut.contains([message.from, message.to]) || (faultsEnabled && chance(settings.lossRate)) {
            if snapshotData != nil { queue.push(at: now + 1000, .snapshotStatus(from: message.from, to: message.to, success: false)) }
            return
        }
        let copies = faultsEnabled && chance(settings.duplicateRate) ? 2 : 1
        for _ in 0..<copies {
            // Mostly fast; sometimes slow, which also reorders.
            let delay = chance(0.1) ? Int.random(in: 1000...20_000, using: &random) : Int.random(in: 50...500, using: &random)
            queue.push(at: now + delay, .deliver(message, snapshotData: snapshotData))
        }
    }

    // MARK: Faults

    mutating func crash(_ id: MemberID) {
        guard members[id]!.up else { return }
        members[id]!.up = false
    }

    mutating func restart(_ id: MemberID) {
        var member = members[id]!
        member.incarnation += 1
        var stored = StoredLog.Builder(cacheBytesMax: options.logCacheBytesMax)
        for entry in member.disk.entries { stored.add(entry) }
        member.core = RaftCore(id: id, options: options, seed: seed &+ id &+ member.incarnation &* 7919,
                               hardState: member.disk.hardState, snapshot: member.disk.snapshot, stored: stored.build())
        member.applied = member.disk.snapshotData
        member.up = true
        members[id] = member
        queue.push(at: now + Int.random(in: 1...member.tickPeriod, using: &random), .tick(id, incarnation: member.incarnation))
    }

    mutating func compact(_ id: MemberID) {
        guard members[id]!.up else { return }
        let applied = members[id]!.core.appliedIndex
        guard applied > members[id]!.disk.snapshot.index + 5 else { return }
        let through = applied - UInt64(Int.random(in: 0...3, using: &random))
        members[id]!.core.compact(through: through)
        var disk = members[id]!.disk
        disk.snapshot = members[id]!.core.snapshotMeta
        disk.snapshotData = Array(members[id]!.applied.prefix(Int(through)))
        disk.entries.removeAll { $0.index <= through }
        members[id]!.disk = disk
    }

    mutating func repartition() {
        cut = []
        let ids = members.keys.sorted()
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            break // healed
        case 1:
            // Isolate one member both ways.
            let isolated = ids.randomElement(using: &random)!
            for other in ids where other != isolated { cut.insert([isolated, other]); cut.insert([other, isolated]) }
        case 2:
            // One-way: one member can send but not receive (or the reverse).
            let member = ids.randomElement(using: &random)!
            let outbound = chance(0.5)
            for other in ids where other != member { cut.insert(outbound ? [member, other] : [other, member]) }
        default:
            // Split into two random groups.
            var shuffled = ids
            shuffled.shuffle(using: &random)
            let split = Int.random(in: 1..<ids.count, using: &random)
            for a in shuffled[..<split] { for b in shuffled[split...] { cut.insert([a, b]); cut.insert([b, a]) } }
        }
    }

    mutating func heal() throws(Violation) {
        faultsEnabled = false
        cut = []
        for id in members.keys.sorted() where !members[id]!.up { restart(id) }
    }

    // MARK: Checks

    mutating func checkLeader(_ ready: Ready, of id: MemberID) throws(Violation) {
        guard ready.role == .leader else { return }
        if let existing = leaderOfTerm[ready.term] {
            guard existing == id else { throw violation("election safety: members \(existing) and \(id) both lead term \(ready.term)") }
            return
        }
        leaderOfTerm[ready.term] = id
        // Leader completeness: an entry committed in a term is in the log of every leader of a
        // later term. (A leader of an older term can still be elected late, by slow votes, after
        // a newer leader committed entries it lacks; it is deposed as soon as it meets the newer
        // term. So only entries known to be committed before this term are required.)
        let core = members[id]!.core
        let disk = members[id]!.disk
        for (index, entry) in canonical.sorted(by: { $0.key < $1.key }) where index >= core.firstIndex && committedByTerm[index]! < ready.term {
            // Entries no longer in memory are on its disk.
            let held = index < core.cacheFirstIndex ? disk.entries.first(where: { $0.index == index }) : core.entry(at: index)
            guard held == entry else {
                throw violation("leader completeness: leader \(id) of term \(ready.term) lacks committed \(entry) (has \(held.map(String.init(describing:)) ?? "nothing"))")
            }
        }
    }

    /// After healing, a leader must emerge and a new proposal commit everywhere, in bounded time.
    /// A proposal made to a leader about to be deposed may be lost, so propose again every few
    /// election timeouts until one is applied by every member.
    mutating func checkLiveness() throws(Violation) {
        let start = now
        let deadline = now + settings.livenessTicksMax * 1000
        var markers: [[UInt8]] = []
        var lastProposal = -1_000_000_000
        while let (time, event) = queue.pop() {
            now = time
            try handle(event, chaos: false)
            if now - lastProposal > 3 * settings.ticksPerElectionTimeout * 1000,
               let leaderID = members.keys.sorted().first(where: { members[$0]!.core.role == .leader }) {
                let data = Array("liveness \(markers.count)".utf8)
                if let ready = try? members[leaderID]!.core.propose(data) {
                    markers.append(data)
                    lastProposal = now
                    try process(ready, of: leaderID)
                }
            }
            if markers.contains(where: { marker in members.values.allSatisfy { $0.applied.contains { $0.data == marker } } }) {
                return
            }
            if now > deadline {
                let roles = members.keys.sorted().map { "\($0):\(members[$0]!.core.role)/t\(members[$0]!.core.term)/c\(members[$0]!.core.commitIndex)" }
                throw violation("liveness: no proposal committed on every member within \(settings.livenessTicksMax) ticks after healing at \(start) (\(roles.joined(separator: " ")))")
            }
        }
        throw violation("liveness: the event queue ran dry")
    }

    /// The entry at `index` of `id`'s log: in memory, or else on its disk.
    func held(_ id: MemberID, _ index: UInt64) -> LogEntry? {
        let member = members[id]!
        return member.core.entry(at: index) ?? member.disk.entries.first { $0.index == index }
    }

    func checkFinalState() throws(Violation) {
        // Log matching: where two members hold an entry with the same index and term, their logs
        // agree up to it.
        let ids = members.keys.sorted()
        for a in ids {
            for b in ids where b > a {
                let x = members[a]!.core, y = members[b]!.core
                let low = max(x.firstIndex, y.firstIndex)
                let high = min(x.lastIndex, y.lastIndex)
                guard low <= high else { continue }
                var matchedFrom: UInt64? = nil
                for index in stride(from: high, through: low, by: -1) {
                    if held(a, index) == held(b, index) { matchedFrom = matchedFrom ?? index } else if matchedFrom != nil {
                        throw violation("log matching: members \(a) and \(b) agree at \(matchedFrom!) but differ at \(index)")
                    }
                }
            }
        }
        // No acknowledged proposal lost; none applied twice.
        let committedData = canonical.values.filter { $0.kind == .normal }.map(\.data)
        guard Set(committedData).count == committedData.count else { throw violation("an entry was committed twice") }
        for data in acknowledged where !committedData.contains(data) {
            throw violation("acknowledged proposal \(String(decoding: data, as: UTF8.self)) is not in the committed log")
        }
        // Every member applied the same sequence (up to where each has got).
        for id in ids {
            for entry in members[id]!.applied where canonical[entry.index] != entry {
                throw violation("member \(id) applied \(entry) which differs from the committed log")
            }
        }
    }

    // MARK: Helpers

    mutating func chance(_ probability: Double) -> Bool {
        Double(random.next() >> 11) / Double(1 << 53) < probability
    }

    func violation(_ message: String) -> Violation { Violation(seed: seed, time: now, message: message) }
}

/// A binary min-heap of timed events; ties pop in insertion order, keeping runs deterministic.
struct EventQueue<Element> {
    private var heap: [(time: Int, sequence: Int, element: Element)] = []
    private var sequence = 0

    mutating func push(at time: Int, _ element: Element) {
        sequence += 1
        heap.append((time, sequence, element))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// When the next event is due, without removing it.
    var nextTime: Int? { heap.first?.time }

    mutating func pop() -> (Int, Element)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = parent * 2 + 1, right = left + 1
            var smallest = parent
            if left < heap.count && less(left, smallest) { smallest = left }
            if right < heap.count && less(right, smallest) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.element)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].time < heap[b].time || (heap[a].time == heap[b].time && heap[a].sequence < heap[b].sequence)
    }
}
