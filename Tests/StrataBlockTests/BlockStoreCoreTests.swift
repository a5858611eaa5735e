import Testing
@testable import StrataBlock
import StrataCore

/// Placement, eviction between the watermarks, pinning, readers and promotion, as pure decisions.
@Suite struct BlockStoreCoreTests {
    /// MEM: one 100-byte dir; SSD: one 300-byte dir. Watermarks 0.9 / 0.5.
    func twoTiers() -> BlockStoreCore {
        BlockStoreCore(tiers: [
            TierLayout(alias: .mem, directories: ["/mem"], capacitiesBytes: [100], highWatermark: 0.9, lowWatermark: 0.5),
            TierLayout(alias: .ssd, directories: ["/ssd"], capacitiesBytes: [300], highWatermark: 0.9, lowWatermark: 0.5),
        ])
    }

    func write(_ core: inout BlockStoreCore, _ block: BlockID, _ size: Int64, tier: Int = 0) throws -> [BlockStoreCore.Action] {
        let (_, before) = try core.reserve(block, bytes: size, tier: tier)
        return before + (try core.commit(block, sizeBytes: size))
    }

    let mem = StorageDirID(tier: 0, dir: 0)
    let ssd = StorageDirID(tier: 1, dir: 0)

    @Test func blockIDsNameFileAndIndex() {
        let block = BlockIDs.block(file: 12345, index: 7)
        #expect(BlockIDs.file(of: block) == 12345)
        #expect(BlockIDs.index(of: block) == 7)
    }

    @Test func newBlocksGoToTheTopTierAndTheHighWatermarkDemotesLeastRecentlyUsed() throws {
        var core = twoTiers()
        #expect(try write(&core, 1, 30) == [])
        #expect(try write(&core, 2, 30) == [])
        _ = try core.lock(1) // block 1 is now more recently used than 2
        _ = core.unlock(1)
        // 90 bytes is not above the high watermark (0.9 × 100).
        #expect(try write(&core, 3, 30) == [])
        // 100 > 90: evict least recently used (2, then 1) until at most 50 bytes remain.
        let actions = try write(&core, 4, 10)
        #expect(actions == [.move(2, from: mem, to: ssd), .move(1, from: mem, to: ssd)])
        #expect(core.usedBytes[mem] == 40)
        #expect(core.usedBytes[ssd] == 60)
        #expect(core.blocks[2]?.dir == ssd)
        #expect(core.changes(after: 0)?.map(\.tier) == [.mem, .mem, .mem, .mem, .ssd, .ssd])
    }

    @Test func pinnedAndReadBlocksAreNeverEvicted() throws {
        var core = twoTiers()
        _ = try write(&core, 1, 40)
        _ = try write(&core, 2, 40)
        core.setPinned([1])
        _ = try core.lock(2)
        // No room in MEM and nothing evictable there: the block goes to SSD.
        let (dir, actions) = try core.reserve(3, bytes: 40)
        #expect(dir == ssd && actions == [])
        _ = try core.commit(3, sizeBytes: 40)
        // Removing a block being read waits for the reader.
        #expect(core.remove(2) == [])
        #expect(core.blocks[2] != nil)
        #expect(throws: BlockStoreError.self) { try core.lock(2) }
        #expect(core.unlock(2) == [.remove(2, from: mem)])
        #expect(core.blocks[2] == nil && core.usedBytes[mem] == 40)
    }

    @Test func reservingEvictsToMakeRoomAndRefusesWhenNothingCanGo() throws {
        var core = BlockStoreCore(tiers: [TierLayout(alias: .mem, directories: ["/mem"], capacitiesBytes: [100], highWatermark: 1, lowWatermark: 1)])
        _ = try write(&core, 1, 60)
        _ = try write(&core, 2, 40)
        // Full: a new 50-byte block evicts the least recently used (1), removed from the last tier.
        let (_, actions) = try core.reserve(3, bytes: 50)
        #expect(actions == [.remove(1, from: mem)])
        core.setPinned([2])
        let full = #expect(throws: BlockStoreError.self) { try core.reserve(4, bytes: 60) }
        #expect(full?.code == .noSpace)
        #expect(full?.message.contains("no tier has room for 60 bytes") == true)
        // A block larger than any directory never fits.
        #expect(throws: BlockStoreError.self) { try core.reserve(5, bytes: 101) }
        // The same block cannot be written twice at once, nor written when stored.
        #expect(throws: BlockStoreError.self) { try core.reserve(3, bytes: 1) }
        #expect(throws: BlockStoreError.self) { try core.reserve(2, bytes: 1) }
    }

    @Test func promotionMovesABlockUpAndEvictsThere() throws {
        var core = twoTiers()
        _ = try write(&core, 1, 50, tier: 1)
        _ = try write(&core, 2, 80)
        #expect(core.blocks[1]?.dir == ssd)
        let actions = core.promote(1)
        #expect(actions == [.move(2, from: mem, to: ssd), .move(1, from: ssd, to: mem)])
        #expect(core.blocks[1]?.dir == mem && core.blocks[2]?.dir == ssd)
        #expect(core.promote(1) == [])
    }

    @Test func changeReportsResumeOrAskForAFullReport() throws {
        var core = twoTiers()
        _ = try write(&core, 1, 10)
        _ = try write(&core, 2, 10)
        _ = core.remove(1)
        #expect(core.changes(after: 1)?.map(\.block) == [2, 1])
        #expect(core.changes(after: 3) == [])
        core.trimChanges(through: 2)
        #expect(core.changes(after: 2)?.map(\.tier) == [nil])
        #expect(core.changes(after: 0) == nil) // dropped: the master needs a full report
    }

    /// Random operations never break the store's invariants (checked inside the core on every
    /// step in debug builds) and never evict pinned or locked blocks.
    @Test func randomHistoriesKeepInvariants() throws {
        for seed in UInt64(1)...200 {
            var random = SeededRandom(seed: seed)
            var core = BlockStoreCore(tiers: [
                TierLayout(alias: .mem, directories: ["/m0", "/m1"], capacitiesBytes: [200, 150], highWatermark: 0.8, lowWatermark: 0.4),
                TierLayout(alias: .ssd, directories: ["/s0"], capacitiesBytes: [500], highWatermark: 0.9, lowWatermark: 0.6),
                TierLayout(alias: .hdd, directories: ["/h0"], capacitiesBytes: [800], highWatermark: 0.95, lowWatermark: 0.7),
            ])
            var locked: [BlockID] = []
            for step in 0..<300 {
                let block = BlockID(random.next() % 60)
                switch random.next() % 6 {
                case 0, 1:
                    let size = Int64(random.next() % 120)
                    if (try? core.reserve(block, bytes: size, tier: Int(random.next() % 3))) != nil {
                        if random.next() % 5 == 0 { core.abort(block) } else { _ = try core.commit(block, sizeBytes: size - Int64(random.next() % (UInt64(size) + 1))) }
                    }
                case 2:
                    if (try? core.lock(block)) != nil { locked.append(block) }
                case 3:
                    if !locked.isEmpty { _ = core.unlock(locked.removeLast()) }
                case 4:
                    _ = core.remove(block)
                default:
                    if random.next() % 2 == 0 { _ = core.promote(block) } else { core.setPinned(Set((0..<5).map { _ in BlockID(random.next() % 60) })) }
                }
                for held in locked { #expect(core.blocks[held] != nil, "seed \(seed) step \(step): locked block \(held) evicted") }
                let total = core.dirs.reduce(Int64(0)) { $0 + core.usedBytes[$1, default: 0] }
                #expect(total == core.blocks.values.reduce(0) { $0 + $1.sizeBytes }, "seed \(seed) step \(step)")
            }
        }
    }
}

struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
