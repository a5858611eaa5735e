/// The replicated log as one member holds it: a snapshot prefix, entries only on the shell's disk
/// ("stored"), then entries in memory (the cache).
///
/// Indices: the snapshot covers everything up to `snapshot.index`; entries `firstIndex..<cacheFirst`
/// are stored only; `entries[i].index == cacheFirst + i`. The terms of every entry after the
/// snapshot are kept as runs, and the membership entries as a short list, so that neither needs
/// the entries themselves. Watermarks: applied ≤ committed ≤ lastIndex, persisted ≤ lastIndex;
/// only entries both applied and persisted leave memory (`evict`). Entries after `persisted` are
/// unstable: handed to the shell in every Ready until it reports them durable.
struct RaftLog: Sendable {
    private(set) var snapshot: SnapshotMeta
    /// Entries in memory: `cacheFirst...lastIndex`.
    private(set) var entries: [LogEntry] = []
    private(set) var cacheFirst: UInt64
    /// Data bytes of `entries` plus a fixed overhead per entry.
    private(set) var cachedBytes = 0
    /// (first index, term) of each run of equal terms after the snapshot, ascending.
    private var termRuns: [(first: UInt64, term: UInt64)] = []
    /// Membership entries after the snapshot, ascending.
    private(set) var memberships: [(index: UInt64, membership: Membership)] = []
    private(set) var committed: UInt64
    /// Highest index handed out for application.
    var applied: UInt64
    /// Highest index the shell has made durable.
    private(set) var persisted: UInt64

    static let entryOverheadBytes = RaftOptions.logCacheEntryOverheadBytes

    /// A log whose entries are all in memory.
    init(snapshot: SnapshotMeta, entries: [LogEntry], committed: UInt64) {
        self.init(snapshot: snapshot, stored: StoredLog(termRuns: [], memberships: [], cached: entries), committed: committed)
    }

    /// A log whose older entries stay on the shell's disk: `stored` describes them.
    init(snapshot: SnapshotMeta, stored: StoredLog, committed: UInt64) {
        self.snapshot = snapshot
        let cached = stored.cached
        let storedLast = stored.termRuns.isEmpty ? snapshot.index : (cached.first.map { $0.index - 1 } ?? stored.lastIndex)
        self.cacheFirst = storedLast + 1
        self.entries = cached
        let last = cached.last?.index ?? storedLast
        precondition(committed >= snapshot.index && committed <= last, "commit \(committed) outside log \(snapshot.index)...\(last)")
        self.committed = committed
        self.applied = snapshot.index
        self.persisted = last
        for (offset, entry) in cached.enumerated() {
            precondition(entry.index == cacheFirst + UInt64(offset), "log entry \(entry) out of place after \(snapshot), cache from \(cacheFirst)")
        }
        for run in stored.termRuns {
            precondition(run.first > snapshot.index && run.first <= storedLast && (termRuns.last.map { run.first > $0.first && run.term >= $0.term } ?? true),
                         "term run \(run) out of place after \(snapshot)")
            termRuns.append(run)
        }
        precondition(stored.termRuns.isEmpty || stored.termRuns[0].first == snapshot.index + 1, "stored entries do not follow \(snapshot)")
        for entry in cached { noteAppended(entry) }
        for (index, membership) in stored.memberships where index > snapshot.index && index < cacheFirst {
            memberships.append((index, membership))
        }
        for entry in cached where entry.kind == .membership {
            if let decoded = Membership(decoding: entry.data) { memberships.append((entry.index, decoded)) }
        }
        cachedBytes = cached.reduce(0) { $0 + $1.data.count + Self.entryOverheadBytes }
    }

    var firstIndex: UInt64 { snapshot.index + 1 }
    var lastIndex: UInt64 { entries.last?.index ?? cacheFirst - 1 }
    var lastTerm: UInt64 { entries.last?.term ?? termRuns.last?.term ?? snapshot.term }

    /// The term of the entry at `index`, or nil if it is compacted away or not in the log.
    func term(at index: UInt64) -> UInt64? {
        if index == snapshot.index { return snapshot.term }
        guard index > snapshot.index, index <= lastIndex else { return nil }
        if index >= cacheFirst { return entries[Int(index - cacheFirst)].term }
        // Binary search: the last run starting at or before `index`.
        var low = 0, high = termRuns.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if termRuns[middle].first <= index { low = middle } else { high = middle - 1 }
        }
        return termRuns[low].term
    }

    /// Whether `index` is in memory.
    func isCached(_ index: UInt64) -> Bool { index >= cacheFirst && index <= lastIndex }

    func entry(at index: UInt64) -> LogEntry {
        precondition(isCached(index), "entry \(index) outside the cached log \(cacheFirst)...\(lastIndex)")
        return entries[Int(index - cacheFirst)]
    }

    func matches(index: UInt64, term: UInt64) -> Bool { self.term(at: index) == term }

    /// Whether a log ending at (`lastIndex`, `lastTerm`) is at least as up to date as this one.
    func isUpToDate(lastIndex candidateIndex: UInt64, lastTerm candidateTerm: UInt64) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    /// Entries from `index` (cached) on, at most `countMax` and about `bytesMax` of data (always one).
    func entries(from index: UInt64, countMax: Int, bytesMax: Int) -> [LogEntry] {
        precondition(index >= cacheFirst, "entries from \(index) are not cached (cache from \(cacheFirst))")
        guard index <= lastIndex else { return [] }
        var result: [LogEntry] = []
        var bytes = 0
        var position = Int(index - cacheFirst)
        while position < entries.count, result.count < countMax {
            let entry = entries[position]
            if !result.isEmpty && bytes + entry.data.count > bytesMax { break }
            bytes += entry.data.count
            result.append(entry)
            position += 1
        }
        return result
    }

    /// Appends entries after `index` (whose term has been matched), truncating any conflicting
    /// suffix. Returns the first index that changed, or nil if nothing did.
    @discardableResult
    mutating func append(after index: UInt64, _ newEntries: [LogEntry]) -> UInt64? {
        var firstChanged: UInt64? = nil
        for entry in newEntries {
            if entry.index <= snapshot.index { continue }
            if let existing = term(at: entry.index) {
                if existing == entry.term { continue }
                precondition(entry.index > committed, "conflict at committed index \(entry.index) (commit \(committed)): \(existing) vs \(entry.term)")
                truncate(from: entry.index)
            }
            precondition(entry.index == lastIndex + 1, "entry \(entry) does not follow \(lastIndex)")
            push(entry)
            if firstChanged == nil { firstChanged = entry.index }
        }
        return firstChanged
    }

    /// Appends one entry at the end (a leader's own proposal).
    mutating func appendLocal(_ entry: LogEntry) {
        precondition(entry.index == lastIndex + 1 && entry.term >= lastTerm, "local entry \(entry) after \(lastIndex)@\(lastTerm)")
        push(entry)
    }

    private mutating func push(_ entry: LogEntry) {
        entries.append(entry)
        cachedBytes += entry.data.count + Self.entryOverheadBytes
        noteAppended(entry)
        if entry.kind == .membership, let decoded = Membership(decoding: entry.data) { memberships.append((entry.index, decoded)) }
    }

    private mutating func noteAppended(_ entry: LogEntry) {
        if termRuns.last?.term != entry.term { termRuns.append((entry.index, entry.term)) }
    }

    private mutating func truncate(from index: UInt64) {
        precondition(index > committed, "truncating committed entries from \(index) (commit \(committed))")
        if index < cacheFirst {
            // Uncommitted entries a restarted member read back as stored: all of the cache goes.
            entries.removeAll()
            cachedBytes = 0
            cacheFirst = index
        } else {
            let removed = entries[Int(index - cacheFirst)...]
            cachedBytes -= removed.reduce(0) { $0 + $1.data.count + Self.entryOverheadBytes }
            entries.removeLast(removed.count)
        }
        termRuns.removeAll { $0.first >= index }
        memberships.removeAll { $0.index >= index }
        persisted = min(persisted, index - 1)
    }

    mutating func commit(to index: UInt64) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) beyond last index \(lastIndex)")
        committed = index
    }

    /// Entries the shell has yet to make durable (always cached).
    var unstableEntries: [LogEntry] {
        guard persisted < lastIndex else { return [] }
        return Array(entries[Int(persisted + 1 - cacheFirst)...])
    }

    /// The shell made `persistedEntries` durable: advance `persisted` over those that still
    /// continue the durable prefix (a later step may have truncated some of them away).
    mutating func markPersisted(_ persistedEntries: [LogEntry]) {
        var durable = persisted
        for entry in persistedEntries where entry.index > persisted {
            guard entry.index == durable + 1, term(at: entry.index) == entry.term else { break }
            durable = entry.index
        }
        persisted = durable
    }

    /// Committed, persisted entries not yet handed out, when they are cached.
    var entriesToApply: [LogEntry] {
        let upTo = min(committed, persisted)
        guard upTo > applied, applied + 1 >= cacheFirst else { return [] }
        return Array(entries[Int(applied + 1 - cacheFirst)...Int(upTo - cacheFirst)])
    }

    /// Committed entries not yet handed out that are on disk only (at most `countMax`).
    func storedToApply(countMax: Int) -> ClosedRange<UInt64>? {
        let upTo = min(committed, persisted, cacheFirst - 1)
        guard upTo > applied else { return nil }
        return (applied + 1)...min(upTo, applied + UInt64(countMax))
    }

    /// Drops entries from memory, oldest first, while the cache holds more than `bytesMax`;
    /// only entries that are applied and durable (the shell can read them back) leave.
    mutating func evict(bytesMax: Int) {
        guard cachedBytes > bytesMax else { return }
        let evictable = min(applied, persisted)
        var count = 0
        var freed = 0
        while count < entries.count, entries[count].index <= evictable, cachedBytes - freed > bytesMax {
            freed += entries[count].data.count + Self.entryOverheadBytes
            count += 1
        }
        guard count > 0 else { return }
        entries.removeFirst(count)
        cachedBytes -= freed
        cacheFirst += UInt64(count)
    }

    /// Drops entries through `index`, which a snapshot (with `membership`) now covers.
    mutating func compact(through index: UInt64, membership: Membership) {
        precondition(index <= applied, "compacting through \(index) beyond applied \(applied)")
        guard index > snapshot.index else { return }
        let term = term(at: index)!
        if index >= cacheFirst {
            let removed = entries[..<Int(index + 1 - cacheFirst)]
            cachedBytes -= removed.reduce(0) { $0 + $1.data.count + Self.entryOverheadBytes }
            entries.removeFirst(removed.count)
            cacheFirst = index + 1
        }
        // Keep the run that covers index + 1 (it may start earlier), starting it there.
        if let keep = termRuns.lastIndex(where: { $0.first <= index + 1 }) {
            termRuns.removeFirst(keep)
            if index + 1 <= lastIndex { termRuns[0].first = index + 1 } else { termRuns.removeAll() }
        }
        memberships.removeAll { $0.index <= index }
        snapshot = SnapshotMeta(index: index, term: term, membership: membership)
    }

    /// Replaces the whole log with `newSnapshot` (installed from the leader). Only called for a
    /// snapshot the log does not already hold (a matching one is just committed), unless the
    /// member's state was discarded (`replacingCommitted`): then even committed entries give way,
    /// and commit and applied go back to the snapshot's index.
    mutating func restore(_ newSnapshot: SnapshotMeta, replacingCommitted: Bool = false) {
        precondition(replacingCommitted || newSnapshot.index > committed, "restoring \(newSnapshot) at or below commit \(committed)")
        precondition(replacingCommitted || !matches(index: newSnapshot.index, term: newSnapshot.term), "restoring \(newSnapshot), which the log already holds")
        entries.removeAll()
        cachedBytes = 0
        termRuns.removeAll()
        memberships.removeAll()
        cacheFirst = newSnapshot.index + 1
        persisted = newSnapshot.index
        snapshot = newSnapshot
        committed = newSnapshot.index
        applied = newSnapshot.index
    }
}

/// What a shell tells the core about a log it keeps mostly on disk: the terms and membership
/// entries of everything after the snapshot, and the newest entries to keep in memory.
public struct StoredLog: Sendable, Equatable {
    /// (first index, term) of each run of equal terms among the entries before `cached`, from the
    /// entry after the snapshot (empty when every entry is cached).
    public var termRuns: [(first: UInt64, term: UInt64)]
    /// The membership entries among those before `cached`.
    public var memberships: [(index: UInt64, membership: Membership)]
    /// The newest entries, in order, ending at the log's last index (may be empty).
    public var cached: [LogEntry]
    /// The last index when `cached` is empty.
    public var lastIndex: UInt64

    public init(termRuns: [(first: UInt64, term: UInt64)], memberships: [(index: UInt64, membership: Membership)], cached: [LogEntry], lastIndex: UInt64 = 0) {
        self.termRuns = termRuns
        self.memberships = memberships
        self.cached = cached
        self.lastIndex = cached.last?.index ?? lastIndex
    }

    public static func == (left: StoredLog, right: StoredLog) -> Bool {
        left.termRuns.elementsEqual(right.termRuns, by: { $0 == $1 }) && left.cached == right.cached && left.lastIndex == right.lastIndex
            && left.memberships.elementsEqual(right.memberships, by: { $0.index == $1.index && $0.membership == $1.membership })
    }
}

extension StoredLog {
    /// Builds a `StoredLog` from a log read in order (at start-up), keeping in memory only the
    /// newest entries that fit in `cacheBytesMax` and, for the rest, just their terms and
    /// membership entries.
    public struct Builder: Sendable {
        public let cacheBytesMax: Int
        private var termRuns: [(first: UInt64, term: UInt64)] = []
        private var memberships: [(index: UInt64, membership: Membership)] = []
        private var tail: [LogEntry] = []
        private var tailStart = 0
        private var tailBytes = 0
        private var lastIndex: UInt64 = 0

        public init(cacheBytesMax: Int) { self.cacheBytesMax = cacheBytesMax }

        public mutating func add(_ entry: LogEntry) {
            tail.append(entry)
            tailBytes += entry.data.count + RaftLog.entryOverheadBytes
            lastIndex = entry.index
            while tailBytes > cacheBytesMax && tailStart < tail.count {
                let old = tail[tailStart]
                tailStart += 1
                tailBytes -= old.data.count + RaftLog.entryOverheadBytes
                if termRuns.last?.term != old.term { termRuns.append((old.index, old.term)) }
                if old.kind == .membership, let decoded = Membership(decoding: old.data) { memberships.append((old.index, decoded)) }
            }
            if tailStart > 4096 && tailStart * 2 > tail.count {
                tail.removeFirst(tailStart)
                tailStart = 0
            }
        }

        public func build() -> StoredLog {
            StoredLog(termRuns: termRuns, memberships: memberships, cached: Array(tail[tailStart...]), lastIndex: lastIndex)
        }
    }
}
