import Foundation
import Logging
import NIOCore
import NIOFileSystem

import StrataCore

/// The worker's tiered block store: `BlockStoreCore` decides, this actor does the file work.
///
/// A block is the file `<tier dir>/<data folder>/<block id>`. It is written through a handle
/// created transactionally (the file appears under its name only once it is complete and
/// fsynced), so a crash never leaves a partial block behind, and at start-up every block file
/// found is a complete block: the store's contents survive restarts.
public actor BlockStore {
    /// A block file open for a reader that may read it itself (short-circuit) or through us.
    public struct ReadableBlock: Sendable {
        public var id: BlockID
        public var path: String
        public var sizeBytes: Int64
        public var tier: TierAlias
    }

    private struct Writer {
        var handle: WriteFileHandle
        var dir: StorageDirID
        var writtenBytes: Int64
        var extentBytes: Int64 = 0
        var reservedBytes: Int64
    }

    public nonisolated let dataFolder: String
    private var core: BlockStoreCore
    private var writers: [BlockID: Writer] = [:]
    /// Moves under way: a reader of the block waits for them to finish.
    private var moving: [BlockID: Task<Bool, Never>] = [:]
    private let logger: Logger
    private let fileSystem = FileSystem.shared
    /// Blocks written at once, at most (each holds a reservation and an open file).
    public static let writersMax = 1024

    /// Opens the store over `tiers`, creating their directories and finding the blocks there.
    public init(tiers: [TierLayout], dataFolder: String, logger: Logger) async throws(BlockStoreError) {
        self.dataFolder = dataFolder
        self.logger = logger
        var core = BlockStoreCore(tiers: tiers)
        for dir in core.dirs {
            let folder = tiers[dir.tier].directories[dir.dir] + "/" + dataFolder
            let names: [String]
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                names = try FileManager.default.contentsOfDirectory(atPath: folder)
            } catch {
                throw BlockStoreError(.io, "cannot open block directory \(folder): \(error.localizedDescription)")
            }
            for name in names.sorted() {
                let path = folder + "/" + name
                let attributes = try? FileManager.default.attributesOfItem(atPath: path)
                guard let block = BlockID(name), String(block) == name, core.blocks[block] == nil,
                      attributes?[.type] as? FileAttributeType == .typeRegular,
                      let size = (attributes?[.size] as? NSNumber)?.int64Value else {
                    // Not a block: a leftover temporary file, or a duplicate in a second tier.
                    logger.warning("removing \(path) from the block store: not a complete block")
                    try? FileManager.default.removeItem(atPath: path)
                    continue
                }
                guard core.available(dir) >= size else {
                    logger.warning("removing block \(block) from \(folder): the directory's quota is full")
                    try? FileManager.default.removeItem(atPath: path)
                    continue
                }
                core.restore(block, sizeBytes: size, dir: dir)
            }
        }
        self.core = core
        logger.info("block store: \(core.blocks.count) blocks found; \(core.usageText)")
    }

    private func blockPath(_ block: BlockID, _ dir: StorageDirID) -> String {
        core.path(dir) + "/" + dataFolder + "/" + String(block)
    }

    // MARK: Writing

    /// Starts writing `block`, reserving `expectedBytes` in the fastest tier at or below `tier`.
    public func createBlock(_ block: BlockID, expectedBytes: Int64, tier: Int = 0) async throws(BlockStoreError) {
        guard writers.count < Self.writersMax else {
            throw BlockStoreError(.blockBusy, "\(writers.count) blocks are being written on this worker; try later")
        }
        let (dir, actions) = try core.reserve(block, bytes: expectedBytes, tier: tier)
        await perform(actions)
        do {
            let handle = try await fileSystem.openFile(forWritingAt: FilePath(blockPath(block, dir)), options: .newFile(replaceExisting: false))
            writers[block] = Writer(handle: handle, dir: dir, writtenBytes: 0, reservedBytes: expectedBytes)
        } catch {
            core.abort(block)
            throw BlockStoreError(.io, "cannot create block \(block) in \(core.path(dir)): \(error)")
        }
    }

    /// Writes `data` at `offset` of the block. Chunks may come in any order (a client keeps
    /// several in flight); `commitBlock` checks that they add up to the whole block.
    public func write(_ block: BlockID, offset: Int64, _ data: ByteBuffer) async throws(BlockStoreError) {
        guard var writer = writers[block] else { throw BlockStoreError(.blockNotFound, "block \(block) is not being written") }
        guard offset >= 0 else { throw BlockStoreError(.invalidArgument, "block \(block): negative offset \(offset)") }
        let end = offset + Int64(data.readableBytes)
        let needed = end - writer.reservedBytes
        if needed > 0 {
            // Grow by a step ahead of need, or by exactly what is needed if the step does not fit.
            var grow = max(needed, 1 << 20)
            do {
                do {
                    await perform(try core.growReservation(block, by: grow))
                } catch where error.code == .noSpace && grow > needed {
                    grow = needed
                    await perform(try core.growReservation(block, by: grow))
                }
            } catch {
                await abortBlock(block)
                throw error
            }
            writer.reservedBytes += grow
            writers[block] = writer
        }
        do {
            _ = try await writer.handle.write(contentsOf: data.readableBytesView, toAbsoluteOffset: offset)
        } catch {
            await abortBlock(block)
            throw BlockStoreError(.io, "cannot write block \(block) in \(core.path(writer.dir)): \(error)")
        }
        guard var current = writers[block] else { return }
        current.writtenBytes += Int64(data.readableBytes)
        current.extentBytes = max(current.extentBytes, end)
        writers[block] = current
    }

    /// Bytes of `block` written so far (nil if it is not being written).
    public func writtenBytes(_ block: BlockID) -> Int64? { writers[block]?.writtenBytes }

    /// Makes the written block durable and visible; returns its tier.
    /// - Parameter lengthBytes: the block's length, if the writer knows it: the block must be
    ///   exactly that long and every byte of it written.
    @discardableResult
    public func commitBlock(_ block: BlockID, lengthBytes: Int64? = nil) async throws(BlockStoreError) -> TierAlias {
        guard let writer = writers[block] else { throw BlockStoreError(.blockNotFound, "block \(block) is not being written") }
        if let lengthBytes, writer.writtenBytes != lengthBytes || writer.extentBytes != lengthBytes {
            await abortBlock(block)
            throw BlockStoreError(.invalidArgument, "block \(block) is incomplete: \(writer.writtenBytes) bytes written up to offset \(writer.extentBytes), \(lengthBytes) expected")
        }
        writers[block] = nil
        do {
            try await writer.handle.synchronize()
            try await writer.handle.close(makeChangesVisible: true)
        } catch {
            core.abort(block)
            try? await writer.handle.close(makeChangesVisible: false)
            throw BlockStoreError(.io, "cannot commit block \(block) in \(core.path(writer.dir)): \(error)")
        }
        let actions: [BlockStoreCore.Action]
        do {
            actions = try core.commit(block, sizeBytes: writer.extentBytes)
        } catch {
            throw error
        }
        await perform(actions)
        return core.alias(writer.dir)
    }

    /// Drops a block being written.
    public func abortBlock(_ block: BlockID) async {
        guard let writer = writers.removeValue(forKey: block) else { return }
        core.abort(block)
        try? await writer.handle.close(makeChangesVisible: false)
    }

    /// Drops every block being written (their files never appear). Call before letting go of
    /// the store.
    public func shutdown() async {
        for block in Array(writers.keys) { await abortBlock(block) }
    }

    // MARK: Reading

    /// Locks `block` against eviction and returns where it is; call `closeBlock` when done.
    public func openBlock(_ block: BlockID, promote: Bool = false) async throws(BlockStoreError) -> ReadableBlock {
        if promote { await perform(core.promote(block)) }
        while let move = moving[block] { _ = await move.value }
        let stored = try core.lock(block)
        return ReadableBlock(id: block, path: blockPath(block, stored.dir), sizeBytes: stored.sizeBytes, tier: core.alias(stored.dir))
    }

    public func closeBlock(_ block: BlockID) async {
        await perform(core.unlock(block))
    }

    // MARK: Commands from the masters

    public func remove(_ blocks: [BlockID]) async {
        for block in blocks { await perform(core.remove(block)) }
    }

    public func setPinned(_ blocks: Set<BlockID>) {
        core.setPinned(blocks)
    }

    // MARK: Reports

    public var usage: [(alias: TierAlias, capacityBytes: Int64, usedBytes: Int64)] { core.tierUsage }

    /// Every stored block with its tier, and the change sequence the list is current to.
    public func fullReport() -> (blocks: [(BlockID, TierAlias)], sequence: UInt64) {
        (core.blocks.values.map { ($0.id, core.alias($0.dir)) }, core.nextChangeSequence - 1)
    }

    public func changes(after sequence: UInt64) -> [BlockStoreCore.Change]? { core.changes(after: sequence) }
    public func trimChanges(through sequence: UInt64) { core.trimChanges(through: sequence) }
    public func contains(_ block: BlockID) -> Bool { core.blocks[block] != nil }
    public func tier(of block: BlockID) -> TierAlias? { core.blocks[block].map { core.alias($0.dir) } }
    public var blockCount: Int { core.blocks.count }
    /// The sequence number of the newest change (0 if none).
    public var latestChangeSequence: UInt64 { core.nextChangeSequence - 1 }

    // MARK: File work

    private func perform(_ actions: [BlockStoreCore.Action]) async {
        for action in actions {
            switch action {
            case .remove(let block, let dir):
                let path = blockPath(block, dir)
                do { try await fileSystem.removeItem(at: FilePath(path)) } catch {
                    logger.error("cannot remove block file \(path): \(error)")
                }
            case .move(let block, let from, let to):
                let source = blockPath(block, from), destination = blockPath(block, to)
                let previous = moving[block]
                let task = Task { [fileSystem, logger] () -> Bool in
                    _ = await previous?.value
                    do {
                        try await fileSystem.moveItem(at: FilePath(source), to: FilePath(destination))
                        return true
                    } catch {
                        logger.error("cannot move block \(block) from \(source) to \(destination): \(error); dropping it")
                        _ = try? await fileSystem.removeItem(at: FilePath(source))
                        _ = try? await fileSystem.removeItem(at: FilePath(destination))
                        return false
                    }
                }
                moving[block] = task
                let moved = await task.value
                if moving[block] == task { moving[block] = nil }
                if !moved { _ = core.dropLost(block) }
            }
        }
    }
}
