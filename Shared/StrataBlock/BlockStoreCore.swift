import StrataCore

/// A storage medium, fastest first.
public enum TierAlias: String, Sendable, CaseIterable, Comparable {
    case mem = "MEM"
    case ssd = "SSD"
    case hdd = "HDD"

    public static func < (lhs: TierAlias, rhs: TierAlias) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One directory of one tier.
public struct StorageDirID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var tier: Int
    public var dir: Int

    public init(tier: Int, dir: Int) {
        self.tier = tier
        self.dir = dir
    }

    public static func < (lhs: StorageDirID, rhs: StorageDirID) -> Bool { (lhs.tier, lhs.dir) < (rhs.tier, rhs.dir) }
    public var description: String { "tier \(tier) dir \(dir)" }
}

/// The layout of one tier: its medium, directories with their capacities, and watermarks.
public struct TierLayout: Sendable, Equatable {
    public var alias: TierAlias
    public var directories: [String]
    public var capacitiesBytes: [Int64]
    public var highWatermark: Double
    public var lowWatermark: Double

    public init(alias: TierAlias, directories: [String], capacitiesBytes: [Int64], highWatermark: Double = 0.95, lowWatermark: Double = 0.7) {
        precondition(!directories.isEmpty && directories.count == capacitiesBytes.count, "tier \(alias): \(directories.count) directories, \(capacitiesBytes.count) capacities")
        precondition(capacitiesBytes.allSatisfy { $0 > 0 }, "tier \(alias): capacities must be positive")
        precondition(0 < lowWatermark && lowWatermark <= highWatermark && highWatermark <= 1, "tier \(alias): watermarks \(lowWatermark)..\(highWatermark)")
        self.alias = alias
        self.directories = directories
        self.capacitiesBytes = capacitiesBytes
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
    }
}

public struct BlockStoreError: Error, CustomStringConvertible, Equatable {
    public enum Code: Sendable, Equatable {
        /// No tier can make room (everything left is pinned, being read or being written).
        case noSpace
        case blockNotFound
        case blockExists
        /// The block is being written by someone else.
        case blockBusy
        case io
        case invalidArgument
    }
    public let code: Code
    public let message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The worker's block bookkeeping as a deterministic value: which block sits in which directory,
/// how full each directory is, what is being written (reserved space), what is pinned or being
/// read, and least-recently-used order. It decides placement, promotion and eviction and returns
/// the file moves and removals for the shell (`BlockStore`) to carry out; it does no I/O.
///
/// Eviction follows the watermarks: once a directory is fuller than `highWatermark`, its
/// least-recently-used blocks that are neither pinned nor being read move down one tier (or are
/// removed from the last tier) until it is down to `lowWatermark`.
public struct BlockStoreCore: Sendable {
    public struct Block: Sendable, Equatable {
        public var id: BlockID
        public var sizeBytes: Int64
        public var dir: StorageDirID
        /// Logical time of the last access, for LRU.
        public var lastAccess: UInt64
    }

    /// What the shell must do to the files.
    public enum Action: Sendable, Equatable {
        case move(BlockID, from: StorageDirID, to: StorageDirID)
        case remove(BlockID, from: StorageDirID)
    }

    /// A change to report to the masters, numbered so each master's sync can resume from where
    /// its last acknowledged report ended.
    public struct Change: Sendable, Equatable {
        public var sequence: UInt64
        public var block: BlockID
        /// The tier the block is now in, or nil if it is gone.
        public var tier: TierAlias?
    }

    /// Changes kept for masters that have not acknowledged them; a master further behind
    /// re-registers with a full report.
    public static let changesRetainedMax = 100_000

    public let tiers: [TierLayout]
    public private(set) var blocks: [BlockID: Block] = [:]
    public private(set) var usedBytes: [StorageDirID: Int64] = [:]
    private var reservations: [BlockID: (dir: StorageDirID, bytes: Int64)] = [:]
    public private(set) var pinned: Set<BlockID> = []
    private var readers: [BlockID: Int] = [:]
    /// Blocks removed while being read: their files go when the last reader leaves.
    private var removeWhenUnread: Set<BlockID> = []
    private var clock: UInt64 = 0
    public private(set) var changes: [Change] = []
    public private(set) var nextChangeSequence: UInt64 = 1

    public init(tiers: [TierLayout]) {
        precondition(!tiers.isEmpty && tiers.count <= 3, "1 to 3 tiers, got \(tiers.count)")
        self.tiers = tiers
        for dir in Self.allDirs(tiers) { usedBytes[dir] = 0 }
    }

    static func allDirs(_ tiers: [TierLayout]) -> [StorageDirID] {
        tiers.enumerated().flatMap { tier, layout in layout.directories.indices.map { StorageDirID(tier: tier, dir: $0) } }
    }

    public var dirs: [StorageDirID] { Self.allDirs(tiers) }

    public func capacity(_ dir: StorageDirID) -> Int64 { tiers[dir.tier].capacitiesBytes[dir.dir] }
    public func reserved(_ dir: StorageDirID) -> Int64 {
        reservations.values.filter { $0.dir == dir }.reduce(0) { $0 + $1.bytes }
    }
    public func available(_ dir: StorageDirID) -> Int64 { capacity(dir) - usedBytes[dir, default: 0] - reserved(dir) }
    public func alias(_ dir: StorageDirID) -> TierAlias { tiers[dir.tier].alias }
    public func path(_ dir: StorageDirID) -> String { tiers[dir.tier].directories[dir.dir] }

    /// Capacity and use per tier alias, for reports.
    public var tierUsage: [(alias: TierAlias, capacityBytes: Int64, usedBytes: Int64)] {
        tiers.enumerated().map { tier, layout in
            let dirs = layout.directories.indices.map { StorageDirID(tier: tier, dir: $0) }
            return (layout.alias, layout.capacitiesBytes.reduce(0, +), dirs.reduce(0) { $0 + usedBytes[$1, default: 0] })
        }
    }

    public func isReserved(_ block: BlockID) -> Bool { reservations[block] != nil }
    public func reservation(_ block: BlockID) -> (dir: StorageDirID, bytes: Int64)? { reservations[block] }

    // MARK: Restoring

    /// Records a block found on disk at start-up.
    public mutating func restore(_ block: BlockID, sizeBytes: Int64, dir: StorageDirID) {
        precondition(blocks[block] == nil, "block \(block) found twice")
        clock += 1
        blocks[block] = Block(id: block, sizeBytes: sizeBytes, dir: dir, lastAccess: clock)
        usedBytes[dir, default: 0] += sizeBytes
    }

    // MARK: Writing

    /// Reserves `bytes` for a new block in the fastest tier at or below `tier` that has (or can
    /// make, by evicting) room; returns the directory and the evictions to carry out first.
    public mutating func reserve(_ block: BlockID, bytes: Int64, tier: Int = 0) throws(BlockStoreError) -> (StorageDirID, [Action]) {
        guard bytes >= 0 else { throw BlockStoreError(.invalidArgument, "cannot reserve \(bytes) bytes for block \(block)") }
        guard blocks[block] == nil else { throw BlockStoreError(.blockExists, "block \(block) is already stored") }
        guard reservations[block] == nil else { throw BlockStoreError(.blockBusy, "block \(block) is already being written") }
        for level in min(tier, tiers.count - 1)..<tiers.count {
            if let (dir, actions) = makeRoom(bytes, inTier: level, excluding: [block]) {
                reservations[block] = (dir, bytes)
                checkInvariants()
                return (dir, actions)
            }
        }
        throw BlockStoreError(.noSpace, "no tier has room for \(bytes) bytes (\(usageText))")
    }

    /// Grows a reservation by `bytes` in place (a block written beyond its first estimate).
    public mutating func growReservation(_ block: BlockID, by bytes: Int64) throws(BlockStoreError) -> [Action] {
        guard let current = reservations[block] else { throw BlockStoreError(.blockNotFound, "block \(block) is not being written") }
        var actions: [Action] = []
        if available(current.dir) < bytes {
            guard let evictions = evict(from: current.dir, toFree: bytes - available(current.dir), excluding: [block]) else {
                throw BlockStoreError(.noSpace, "\(path(current.dir)) has no room for \(bytes) more bytes of block \(block) (\(usageText))")
            }
            actions = evictions
        }
        reservations[block] = (current.dir, current.bytes + bytes)
        checkInvariants()
        return actions
    }

    /// Records a written block of `sizeBytes` in its reserved directory; returns evictions the
    /// high watermark now calls for.
    public mutating func commit(_ block: BlockID, sizeBytes: Int64) throws(BlockStoreError) -> [Action] {
        guard let reservation = reservations.removeValue(forKey: block) else {
            throw BlockStoreError(.blockNotFound, "block \(block) is not being written")
        }
        precondition(sizeBytes <= reservation.bytes, "block \(block) committed with \(sizeBytes) bytes, \(reservation.bytes) reserved")
        clock += 1
        blocks[block] = Block(id: block, sizeBytes: sizeBytes, dir: reservation.dir, lastAccess: clock)
        usedBytes[reservation.dir, default: 0] += sizeBytes
        record(block, tier: alias(reservation.dir))
        let actions = enforceWatermark(reservation.dir)
        checkInvariants()
        return actions
    }

    /// Gives up a reservation (the writer failed or went away).
    public mutating func abort(_ block: BlockID) {
        reservations[block] = nil
    }

    // MARK: Reading

    /// Marks `block` as being read (it is then neither evicted nor moved) and as recently used.
    public mutating func lock(_ block: BlockID) throws(BlockStoreError) -> Block {
        guard var stored = blocks[block], !removeWhenUnread.contains(block) else {
            throw BlockStoreError(.blockNotFound, "block \(block) is not stored on this worker")
        }
        clock += 1
        stored.lastAccess = clock
        blocks[block] = stored
        readers[block, default: 0] += 1
        return stored
    }

    /// Ends one read of `block`; returns the removal to carry out if it was removed meanwhile.
    public mutating func unlock(_ block: BlockID) -> [Action] {
        guard let count = readers[block] else { preconditionFailure("block \(block) unlocked without a lock") }
        readers[block] = count > 1 ? count - 1 : nil
        guard count == 1, removeWhenUnread.remove(block) != nil, let stored = blocks[block] else { return [] }
        return finishRemoval(stored)
    }

    public func isLocked(_ block: BlockID) -> Bool { readers[block] != nil }

    /// Moves `block` to the top tier (CACHE_PROMOTE reads), evicting there if needed. No
    /// actions if it is already there, or if the top tier cannot make room.
    public mutating func promote(_ block: BlockID) -> [Action] {
        guard let stored = blocks[block], stored.dir.tier > 0, !removeWhenUnread.contains(block) else { return [] }
        guard let (target, evictions) = makeRoom(stored.sizeBytes, inTier: 0, excluding: [block]) else { return [] }
        usedBytes[stored.dir, default: 0] -= stored.sizeBytes
        usedBytes[target, default: 0] += stored.sizeBytes
        blocks[block]!.dir = target
        record(block, tier: alias(target))
        checkInvariants()
        return evictions + [.move(block, from: stored.dir, to: target)]
    }

    // MARK: Removing and pinning

    /// Removes `block` (a master's delete or free command); deferred while it is being read.
    public mutating func remove(_ block: BlockID) -> [Action] {
        guard let stored = blocks[block], !removeWhenUnread.contains(block) else { return [] }
        if readers[block] != nil {
            removeWhenUnread.insert(block)
            return []
        }
        return finishRemoval(stored)
    }

    private mutating func finishRemoval(_ stored: Block) -> [Action] {
        blocks[stored.id] = nil
        usedBytes[stored.dir, default: 0] -= stored.sizeBytes
        record(stored.id, tier: nil)
        checkInvariants()
        return [.remove(stored.id, from: stored.dir)]
    }

    /// Forgets a block whose file could not be moved or read (it is reported as gone).
    public mutating func dropLost(_ block: BlockID) -> Bool {
        guard let stored = blocks[block] else { return false }
        blocks[block] = nil
        usedBytes[stored.dir, default: 0] -= stored.sizeBytes
        removeWhenUnread.remove(block)
        record(block, tier: nil)
        checkInvariants()
        return true
    }

    /// The blocks of pinned files, as the masters say; they are never evicted.
    public mutating func setPinned(_ blocks: Set<BlockID>) {
        pinned = blocks
    }

    // MARK: Eviction

    /// A directory in `tier` with room for `bytes`, evicting there if needed; nil if the tier
    /// cannot make room.
    private mutating func makeRoom(_ bytes: Int64, inTier tier: Int, excluding: Set<BlockID>) -> (StorageDirID, [Action])? {
        let candidates = tiers[tier].directories.indices.map { StorageDirID(tier: tier, dir: $0) }
        // The directory with the most free space (Alluxio's MaxFreeAllocator).
        if let dir = candidates.filter({ available($0) >= bytes }).max(by: { available($0) < available($1) }) {
            return (dir, [])
        }
        for dir in candidates.sorted(by: { available($0) > available($1) }) where capacity(dir) >= bytes {
            if let actions = evict(from: dir, toFree: bytes - available(dir), excluding: excluding) { return (dir, actions) }
        }
        return nil
    }

    /// Moves or removes least-recently-used blocks of `dir` until `bytes` more are free; nil
    /// (and nothing changed) if that is impossible.
    private mutating func evict(from dir: StorageDirID, toFree bytes: Int64, excluding: Set<BlockID>) -> [Action]? {
        let victims = evictionOrder(dir, excluding: excluding)
        var freed: Int64 = 0
        var chosen: [Block] = []
        for victim in victims where freed < bytes {
            chosen.append(victim)
            freed += victim.sizeBytes
        }
        guard freed >= bytes else { return nil }
        var actions: [Action] = []
        for victim in chosen { actions += demoteOrRemove(victim, excluding: excluding) }
        return actions
    }

    private func evictionOrder(_ dir: StorageDirID, excluding: Set<BlockID>) -> [Block] {
        blocks.values
            .filter { $0.dir == dir && !pinned.contains($0.id) && readers[$0.id] == nil && !excluding.contains($0.id) }
            .sorted { ($0.lastAccess, $0.id) < ($1.lastAccess, $1.id) }
    }

    /// Moves `victim` one tier down if a directory there has room, else removes it.
    private mutating func demoteOrRemove(_ victim: Block, excluding: Set<BlockID>) -> [Action] {
        let lower = victim.dir.tier + 1
        if lower < tiers.count {
            let dirs = tiers[lower].directories.indices.map { StorageDirID(tier: lower, dir: $0) }
            if let target = dirs.filter({ available($0) >= victim.sizeBytes }).max(by: { available($0) < available($1) }) {
                usedBytes[victim.dir, default: 0] -= victim.sizeBytes
                usedBytes[target, default: 0] += victim.sizeBytes
                blocks[victim.id]!.dir = target
                record(victim.id, tier: alias(target))
                return [.move(victim.id, from: victim.dir, to: target)] + enforceWatermark(target, excluding: excluding)
            }
        }
        blocks[victim.id] = nil
        usedBytes[victim.dir, default: 0] -= victim.sizeBytes
        record(victim.id, tier: nil)
        return [.remove(victim.id, from: victim.dir)]
    }

    /// Evicts from `dir` down to the low watermark if it is above the high one.
    private mutating func enforceWatermark(_ dir: StorageDirID, excluding: Set<BlockID> = []) -> [Action] {
        let layout = tiers[dir.tier]
        let capacity = Double(capacity(dir))
        let used = Double(usedBytes[dir, default: 0] + reserved(dir))
        guard used > layout.highWatermark * capacity else { return [] }
        let target = Int64((used - layout.lowWatermark * capacity).rounded(.up))
        var freed: Int64 = 0
        var actions: [Action] = []
        for victim in evictionOrder(dir, excluding: excluding) where freed < target {
            freed += victim.sizeBytes
            actions += demoteOrRemove(victim, excluding: excluding)
        }
        return actions
    }

    // MARK: Reports

    private mutating func record(_ block: BlockID, tier: TierAlias?) {
        changes.append(Change(sequence: nextChangeSequence, block: block, tier: tier))
        nextChangeSequence += 1
        if changes.count > Self.changesRetainedMax { changes.removeFirst(changes.count - Self.changesRetainedMax / 2) }
    }

    /// Changes after `sequence`, or nil if some were dropped (the master needs a full report).
    public func changes(after sequence: UInt64) -> [Change]? {
        guard let first = changes.first else { return sequence + 1 >= nextChangeSequence ? [] : nil }
        guard sequence + 1 >= first.sequence else { return nil }
        return Array(changes.drop { $0.sequence <= sequence })
    }

    /// Drops changes every master has acknowledged.
    public mutating func trimChanges(through sequence: UInt64) {
        changes.removeAll { $0.sequence <= sequence }
    }

    public var usageText: String {
        tierUsage.map { "\($0.alias.rawValue): \($0.usedBytes) of \($0.capacityBytes) bytes used" }.joined(separator: ", ")
    }

    private func checkInvariants() {
        #if DEBUG
        for dir in dirs {
            let stored = blocks.values.filter { $0.dir == dir }.reduce(Int64(0)) { $0 + $1.sizeBytes }
            precondition(stored == usedBytes[dir, default: 0], "\(dir): blocks hold \(stored) bytes, used says \(usedBytes[dir, default: 0])")
            precondition(stored + reserved(dir) <= capacity(dir), "\(dir) over capacity: \(stored) + \(reserved(dir)) > \(capacity(dir))")
        }
        #endif
    }
}
