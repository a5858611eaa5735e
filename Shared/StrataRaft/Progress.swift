/// What a leader knows about one follower's log, and how it is sending to it.
struct Progress: Sendable, Equatable {
    enum State: Sendable, Equatable {
        /// Finding where the logs match: one append at a time.
        case probe
        /// Logs match through `match`: appends are pipelined, up to the in-flight bound.
        case replicate
        /// Entries the follower needs are compacted: a snapshot through `pendingIndex` is on its way.
        case snapshot(pendingIndex: UInt64)
    }

    var match: UInt64 = 0
    var next: UInt64
    var state: State = .probe
    /// In probe state: an append is outstanding, so wait for an answer before sending another.
    var probeSent = false
    /// In replicate state: the last index of each append in flight, oldest first.
    var inflight: [UInt64] = []
    /// Heard from within the current election timeout (for check-quorum).
    var recentActive = false

    init(next: UInt64) { self.next = next }

    func isPaused(inflightMax: Int) -> Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflight.count >= inflightMax
        case .snapshot: true
        }
    }

    /// The follower acknowledged its log through `index`. Returns whether `match` grew.
    mutating func acknowledge(_ index: UInt64) -> Bool {
        let grew = index > match
        if grew {
            match = index
            probeSent = false
        }
        next = max(next, index + 1)
        inflight.removeAll { $0 <= index }
        return grew
    }

    /// The follower refused an append after `rejectedIndex`; its log ends at `lastIndex`.
    /// Returns whether `next` moved back (false for a stale refusal).
    mutating func refuse(_ rejectedIndex: UInt64, lastIndex: UInt64) -> Bool {
        // Its log ends before what it acknowledged: it lost entries from its disk (a corrupt
        // record cut off at start-up). Start again from where its log ends; responses arrive in
        // order, so this is no stale refusal from before it caught up.
        if lastIndex < match && rejectedIndex >= lastIndex {
            match = lastIndex
            next = lastIndex + 1
            state = .probe
            probeSent = false
            inflight.removeAll()
            return true
        }
        if state == .replicate {
            guard rejectedIndex > match else { return false }
            next = match + 1
            return true
        }
        guard rejectedIndex == next - 1 else { return false }
        next = max(min(rejectedIndex, lastIndex + 1), match + 1, 1)
        probeSent = false
        return true
    }

    mutating func becomeProbe() {
        if case .snapshot(let pendingIndex) = state {
            next = max(match + 1, pendingIndex + 1)
        } else {
            next = match + 1
        }
        state = .probe
        probeSent = false
        inflight.removeAll()
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        inflight.removeAll()
    }

    mutating func becomeSnapshot(_ index: UInt64) {
        state = .snapshot(pendingIndex: index)
        inflight.removeAll()
    }

    /// An append ending at `lastIndex` (or an empty probe, for nil) was sent.
    mutating func sent(lastIndex: UInt64?) {
        switch state {
        case .replicate:
            if let lastIndex {
                next = lastIndex + 1
                inflight.append(lastIndex)
            }
        case .probe:
            probeSent = true
        case .snapshot:
            preconditionFailure("append sent to a follower awaiting a snapshot")
        }
    }
}
