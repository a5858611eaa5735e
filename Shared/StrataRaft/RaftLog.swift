/// The replicated log as one member holds it: a snapshot prefix, then entries in memory.
///
/// Indices: the snapshot covers everything up to `snapshot.index`; `entries[i].index ==
/// snapshot.index + 1 + i`. Watermarks: applied ≤ committed ≤ lastIndex, persisted ≤ lastIndex.
/// Entries after `persisted` are unstable: handed to the shell in every Ready until it reports
/// them durable.
struct RaftLog: Sendable {
    private(set) var snapshot: SnapshotMeta
    private(set) var entries: [LogEntry] = []
    private(set) var committed: UInt64
    /// Highest index handed out for application.
    var applied: UInt64
    /// Highest index the shell has made durable.
    private(set) var persisted: UInt64

    init(snapshot: SnapshotMeta, entries: [LogEntry], committed: UInt64) {
        self.snapshot = snapshot
        self.entries = entries
        for (offset, entry) in entries.enumerated() {
            precondition(entry.index == snapshot.index + 1 + UInt64(offset), "log entry \(entry) out of place after \(snapshot)")
        }
        let last = entries.last?.index ?? snapshot.index
        precondition(committed >= snapshot.index && committed <= last, "commit \(committed) outside log \(snapshot.index)...\(last)")
        self.committed = committed
        self.applied = snapshot.index
        self.persisted = last
    }

    var firstIndex: UInt64 { snapshot.index + 1 }
    var lastIndex: UInt64 { entries.last?.index ?? snapshot.index }
    var lastTerm: UInt64 { entries.last?.term ?? snapshot.term }

    /// The term of the entry at `index`, or nil if it is compacted away or not in the log.
    func term(at index: UInt64) -> UInt64? {
        if index == snapshot.index { return snapshot.term }
        guard index > snapshot.index, index <= lastIndex else { return nil }
        return entries[Int(index - snapshot.index - 1)].term
    }

    func entry(at index: UInt64) -> LogEntry {
        precondition(index > snapshot.index && index <= lastIndex, "entry \(index) outside log \(firstIndex)...\(lastIndex)")
        return entries[Int(index - snapshot.index - 1)]
    }

    func matches(index: UInt64, term: UInt64) -> Bool { self.term(at: index) == term }

    /// Whether a log ending at (`lastIndex`, `lastTerm`) is at least as up to date as this one.
    func isUpToDate(lastIndex candidateIndex: UInt64, lastTerm candidateTerm: UInt64) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    /// Entries from `index` on, at most `countMax` and about `bytesMax` of data (always one).
    func entries(from index: UInt64, countMax: Int, bytesMax: Int) -> [LogEntry] {
        precondition(index > snapshot.index, "entries from \(index) are compacted (snapshot \(snapshot.index))")
        guard index <= lastIndex else { return [] }
        var result: [LogEntry] = []
        var bytes = 0
        var position = Int(index - snapshot.index - 1)
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
            entries.append(entry)
            if firstChanged == nil { firstChanged = entry.index }
        }
        return firstChanged
    }

    /// Appends one entry at the end (a leader's own proposal).
    mutating func appendLocal(_ entry: LogEntry) {
        precondition(entry.index == lastIndex + 1 && entry.term >= lastTerm, "local entry \(entry) after \(lastIndex)@\(lastTerm)")
        entries.append(entry)
    }

    private mutating func truncate(from index: UInt64) {
        precondition(index > committed, "truncating committed entries from \(index) (commit \(committed))")
        entries.removeLast(Int(lastIndex - index + 1))
        persisted = min(persisted, index - 1)
    }

    mutating func commit(to index: UInt64) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) beyond last index \(lastIndex)")
        committed = index
    }

    /// Entries the shell has yet to make durable.
    var unstableEntries: [LogEntry] {
        guard persisted < lastIndex else { return [] }
        return Array(entries[Int(persisted - snapshot.index)...])
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

    /// Committed, persisted entries not yet handed out for application.
    var entriesToApply: [LogEntry] {
        let upTo = min(committed, persisted)
        guard upTo > applied else { return [] }
        return Array(entries[Int(applied - snapshot.index)..<Int(upTo - snapshot.index)])
    }

    /// Drops entries through `index`, which a snapshot (with `membership`) now covers.
    mutating func compact(through index: UInt64, membership: Membership) {
        precondition(index <= applied, "compacting through \(index) beyond applied \(applied)")
        guard index > snapshot.index else { return }
        let term = term(at: index)!
        entries.removeFirst(Int(index - snapshot.index))
        snapshot = SnapshotMeta(index: index, term: term, membership: membership)
    }

    /// Replaces the whole log with `newSnapshot` (installed from the leader). Only called for a
    /// snapshot the log does not already hold; a matching one is just committed.
    mutating func restore(_ newSnapshot: SnapshotMeta) {
        precondition(newSnapshot.index > committed, "restoring \(newSnapshot) at or below commit \(committed)")
        precondition(!matches(index: newSnapshot.index, term: newSnapshot.term), "restoring \(newSnapshot), which the log already holds")
        entries.removeAll()
        persisted = newSnapshot.index
        snapshot = newSnapshot
        committed = newSnapshot.index
        applied = newSnapshot.index
    }
}
