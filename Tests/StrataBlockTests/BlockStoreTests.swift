import Foundation
import Logging
import NIOCore
import Testing
@testable import StrataBlock
import StrataCore

/// The block store's files: written transactionally, moved between tiers, found again after a
/// restart.
@Suite struct BlockStoreTests {
    func directories() throws -> (String, String) {
        let root = NSTemporaryDirectory() + "strata-blocks-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/mem", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/ssd", withIntermediateDirectories: true)
        return (root + "/mem", root + "/ssd")
    }

    func tiers(_ mem: String, _ ssd: String) -> [TierLayout] {
        [TierLayout(alias: .mem, directories: [mem], capacitiesBytes: [1000], highWatermark: 0.9, lowWatermark: 0.5),
         TierLayout(alias: .ssd, directories: [ssd], capacitiesBytes: [5000])]
    }

    func put(_ store: BlockStore, _ block: BlockID, _ bytes: [UInt8]) async throws {
        try await store.createBlock(block, expectedBytes: 100)
        var offset: Int64 = 0
        for chunk in stride(from: 0, to: bytes.count, by: 64).map({ Array(bytes[$0..<min(bytes.count, $0 + 64)]) }) {
            try await store.write(block, offset: offset, ByteBuffer(bytes: chunk))
            offset += Int64(chunk.count)
        }
        try await store.commitBlock(block)
    }

    @Test func blocksSurviveARestartAndUnfinishedOnesDoNot() async throws {
        let (mem, ssd) = try directories()
        defer { try? FileManager.default.removeItem(atPath: (mem as NSString).deletingLastPathComponent) }
        let logger = Logger(label: "test")
        let store = try await BlockStore(tiers: tiers(mem, ssd), dataFolder: "strataworker", logger: logger)
        let data = (0..<300).map { UInt8($0 % 251) }
        try await put(store, 7, data) // grows its 100-byte reservation as it goes
        try await store.createBlock(8, expectedBytes: 10)
        try await store.write(8, offset: 0, ByteBuffer(bytes: [1, 2, 3]))
        // Chunks may arrive out of order, but a block with a gap is refused at commit, by name.
        try await store.write(8, offset: 10, ByteBuffer(bytes: [1]))
        let gap = await #expect(throws: BlockStoreError.self) { try await store.commitBlock(8, lengthBytes: 11) }
        #expect(gap?.message == "block 8 is incomplete: 4 bytes written up to offset 11, 11 expected")
        try await store.createBlock(9, expectedBytes: 10)
        try await store.write(9, offset: 3, ByteBuffer(bytes: [4, 5]))
        try await store.write(9, offset: 0, ByteBuffer(bytes: [1, 2, 3]))
        #expect(try await store.commitBlock(9, lengthBytes: 5) == .mem)
        try await store.createBlock(10, expectedBytes: 10)

        let opened = try await store.openBlock(7)
        #expect(opened.sizeBytes == 300 && opened.tier == .mem)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: opened.path))) == data)
        await store.closeBlock(7)
        await store.shutdown()
        // Block 10 was never committed (nor 8): after a restart only blocks 7 and 9 are there.
        let restarted = try await BlockStore(tiers: tiers(mem, ssd), dataFolder: "strataworker", logger: logger)
        #expect(await restarted.blockCount == 2)
        #expect(await restarted.tier(of: 7) == .mem)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mem + "/strataworker").sorted() == ["7", "9"])
        let nine = try await restarted.openBlock(9)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: nine.path))) == [1, 2, 3, 4, 5])
        await restarted.closeBlock(9)
    }

    @Test func evictionMovesFilesDownAndPromotionBringsThemBack() async throws {
        let (mem, ssd) = try directories()
        defer { try? FileManager.default.removeItem(atPath: (mem as NSString).deletingLastPathComponent) }
        let store = try await BlockStore(tiers: tiers(mem, ssd), dataFolder: "strataworker", logger: Logger(label: "test"))
        for block in BlockID(1)...BlockID(4) { try await put(store, block, [UInt8](repeating: UInt8(block), count: 250)) }
        // 1000 bytes > 900: the oldest blocks moved to SSD until MEM held at most 500.
        #expect(await store.tier(of: 1) == .ssd)
        #expect(await store.tier(of: 2) == .ssd)
        #expect(await store.tier(of: 4) == .mem)
        #expect(FileManager.default.fileExists(atPath: ssd + "/strataworker/1"))
        #expect(!FileManager.default.fileExists(atPath: mem + "/strataworker/1"))
        let promoted = try await store.openBlock(1, promote: true)
        #expect(promoted.tier == .mem && promoted.path == mem + "/strataworker/1")
        #expect(try Data(contentsOf: URL(fileURLWithPath: promoted.path)) == Data(repeating: 1, count: 250))
        await store.closeBlock(1)
        await store.remove([1, 4])
        #expect(await store.blockCount == 2)
        #expect(!FileManager.default.fileExists(atPath: mem + "/strataworker/1"))
    }
}
