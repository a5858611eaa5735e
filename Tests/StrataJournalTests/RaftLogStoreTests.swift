import Foundation
import StrataCore
import StrataTesting
import StrataWire
import Testing
@testable import StrataJournal
@testable import StrataRaft

/// The durable log: what is flushed comes back after a reopen; what is torn or corrupt is cut
/// off at the last good record and reported with its file and offset — never accepted, never a
/// refusal to start.
@Suite struct RaftLogStoreTests {
    let identity = JournalIdentity(clusterID: Array(repeating: 0xAB, count: 16), storageID: 7)

    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "strata-journal-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func entries(_ range: ClosedRange<UInt64>, term: UInt64 = 1, size: Int = 40) -> [LogEntry] {
        range.map { LogEntry(term: term, index: $0, data: Array(repeating: UInt8(truncatingIfNeeded: $0), count: size)) }
    }

    func open(_ directory: String, snapshotIndex: UInt64 = 0) throws -> (RaftLogStore, RaftLogStore.Recovered) {
        try RaftLogStore.open(directory: directory, identity: identity, snapshotIndex: snapshotIndex, segmentSizeMaxBytes: 1024)
    }

    func segmentFiles(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("segment-") }.sorted()
    }

    /// A full disk: the append that does not fit fails with `.noSpace` naming the segment, and
    /// leaves nothing of itself — not a partial record, not a headerless segment. Once space
    /// returns the same append succeeds, and a reopen finds every entry and nothing to repair.
    @Test func anAppendThatFindsTheDiskFullLeavesNothingAndSucceedsOnceSpaceReturns() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let disk = try SmallDisk.mount(over: directory, sizeBytes: 256 * 1024)
        defer { disk.unmount() }
        let (store, _) = try open(directory)
        try store.append(entries(1...10))
        try store.flush()
        try disk.fill()
        var next: UInt64 = 11
        func appendFails(_ count: UInt64, size: Int) {
            let segments = segmentFiles(directory)
            do {
                try store.append(entries(next...(next + count - 1), size: size))
                try store.flush()
                next += count
                Issue.record("an append of \(count) entries fitted on a full disk")
            } catch {
                #expect(error.code == .noSpace, "\(error)")
                #expect(error.message.contains(directory) && error.message.contains("No space left on device"), "\(error.message)")
            }
            #expect(store.lastIndex == next - 1)
            #expect(segmentFiles(directory) == segments, "a failed append left a segment behind")
        }
        // Inside the open segment (1 KiB segments here), twice.
        appendFails(30, size: 200)
        appendFails(30, size: 200)
        // Starting a new segment: the open one is full, so the first record needs a new file.
        disk.free()
        try store.append(entries(next...next, size: 1000))
        try store.flush()
        next += 1
        try disk.fill()
        appendFails(1, size: 1000)
        disk.free()
        try store.append(entries(next...(next + 29), size: 200))
        try store.flush()
        let (_, recovered) = try open(directory)
        #expect(recovered.repairs.isEmpty, "\(recovered.repairs)")
        #expect(recovered.entries.map(\.index) == Array(1...(next + 29)))
        #expect(recovered.entries.last?.data.count == 200)
    }

    @Test func appendFlushReopen() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (store, recovered) = try open(directory)
            #expect(recovered.entries.isEmpty)
            #expect(recovered.hardState == HardState())
            try store.append(entries(1...100))
            try store.flush()
            try store.saveHardState(HardState(term: 3, vote: 2, commit: 90))
        }
        #expect(segmentFiles(directory).count > 3, "small segments roll over")
        let (_, recovered) = try open(directory)
        #expect(recovered.entries == entries(1...100))
        #expect(recovered.hardState == HardState(term: 3, vote: 2, commit: 90))
        #expect(recovered.repairs.isEmpty)
    }

    @Test func conflictingSuffixIsReplacedAcrossSegments() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (store, _) = try open(directory)
            try store.append(entries(1...60))
            try store.append(entries(25...30, term: 2))
            try store.append(entries(31...33, term: 2))
            try store.flush()
        }
        let (store, recovered) = try open(directory)
        #expect(recovered.entries == entries(1...24) + entries(25...33, term: 2))
        try store.append(entries(34...34, term: 2))
        try store.flush()
        #expect(try open(directory).1.entries.count == 34)
    }

    @Test func tornTailIsTruncatedAndReported() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (store, _) = try open(directory)
            try store.append(entries(1...50))
            try store.flush()
        }
        let last = directory + "/" + segmentFiles(directory).last!
        let size = try FileManager.default.attributesOfItem(atPath: last)[.size] as! Int
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: last))
        try handle.truncate(atOffset: UInt64(size - 7))
        try handle.close()

        let (store, recovered) = try open(directory)
        #expect(recovered.entries == entries(1...49))
        #expect(recovered.repairs.count == 1)
        #expect(recovered.repairs[0].contains(last))
        #expect(recovered.repairs[0].contains("torn tail"))
        #expect(recovered.lostThrough == 0, "a torn tail was never acknowledged")
        let recordSize = RaftLogStore.recordHeaderSizeBytes + RaftLogStore.recordFixedPayloadBytes + 40
        #expect(recovered.repairs[0].contains("at offset \(size - recordSize)"), "\(recovered.repairs[0])")
        // The log continues from the repaired tail, and the repair is not needed again.
        try store.append(entries(50...55, term: 2))
        try store.flush()
        let again = try open(directory).1
        #expect(again.entries == entries(1...49) + entries(50...55, term: 2))
        #expect(again.repairs.isEmpty)
    }

    @Test func corruptRecordInAnEarlierSegmentCutsTheLogThere() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (store, _) = try open(directory)
            try store.append(entries(1...80))
            try store.flush()
        }
        let files = segmentFiles(directory)
        #expect(files.count >= 3)
        let second = directory + "/" + files[1]
        var bytes = [UInt8](FileManager.default.contents(atPath: second)!)
        // Flip a byte inside the third record's payload of the second segment.
        let recordSize = RaftLogStore.recordHeaderSizeBytes + RaftLogStore.recordFixedPayloadBytes + 40
        let offset = RaftLogStore.segmentHeaderSizeBytes + 2 * recordSize + 20
        bytes[offset] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: second))

        let firstIndexOfSecond = UInt64(files[1].dropFirst("segment-".count).prefix(20))!
        // readJournal reports the damage and reads on past it.
        let read = try RaftLogStore.readOnly(directory: directory, identity: identity)
        #expect(read.entries.map(\.index) == Array(1...80).filter { $0 != firstIndexOfSecond + 2 })
        #expect(read.problems.count == 1 && read.problems[0].contains("\(second) at offset") && read.problems[0].contains("entry \(firstIndexOfSecond + 2)"), "\(read.problems)")
        let (_, recovered) = try open(directory)
        #expect(recovered.lostThrough == 80, "everything from the damaged record to the end was held once")
        #expect(recovered.entries == entries(1...(firstIndexOfSecond + 1)))
        #expect(recovered.repairs.count == 1)
        let expectedOffset = RaftLogStore.segmentHeaderSizeBytes + 2 * recordSize
        #expect(recovered.repairs[0].contains("\(second) at offset \(expectedOffset)"))
        #expect(recovered.repairs[0].contains("checksum mismatch"))
        #expect(segmentFiles(directory).count == 2, "later segments removed")
    }

    @Test func aCorruptRecordInTheMiddleOfTheNewestSegmentIsNoTornTail() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (store, _) = try open(directory)
            try store.append(entries(1...10))
            try store.flush()
        }
        let only = directory + "/" + segmentFiles(directory).last!
        var bytes = [UInt8](FileManager.default.contents(atPath: only)!)
        let recordSize = RaftLogStore.recordHeaderSizeBytes + RaftLogStore.recordFixedPayloadBytes + 40
        bytes[RaftLogStore.segmentHeaderSizeBytes + 4 * recordSize + 30] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: only))
        let (_, recovered) = try open(directory)
        #expect(recovered.entries == entries(1...4))
        #expect(recovered.repairs.count == 1 && recovered.repairs[0].contains("corrupt record, entry 5"), "\(recovered.repairs)")
        #expect(recovered.lostThrough == 10)
    }

    @Test func theCatchUpIndexRoundTripsInTheHardState() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (store, _) = try open(directory)
            try store.saveHardState(HardState(term: 4, vote: 9, commit: 12, catchUp: 77))
        }
        #expect(try open(directory).1.hardState == HardState(term: 4, vote: 9, commit: 12, catchUp: 77))
        do {
            let (store, _) = try open(directory)
            try store.saveHardState(HardState(term: 4, vote: 9, commit: 12))
        }
        #expect(try open(directory).1.hardState == HardState(term: 4, vote: 9, commit: 12))
    }

    @Test func tornSegmentHeaderIsRemoved() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (store, _) = try open(directory)
            try store.append(entries(1...5))
            try store.flush()
        }
        try Data([0x53, 0x54]).write(to: URL(fileURLWithPath: directory + "/segment-" + RaftLogStore.paddedIndex(6) + ".log"))
        let (_, recovered) = try open(directory)
        #expect(recovered.entries == entries(1...5))
        #expect(recovered.repairs.first?.contains("header incomplete") == true)
    }

    @Test func anotherClustersLogIsRefused() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (store, _) = try open(directory)
            try store.append(entries(1...3))
            try store.flush()
        }
        let other = JournalIdentity(clusterID: Array(repeating: 0x01, count: 16), storageID: 9)
        let error = #expect(throws: JournalError.self) {
            try RaftLogStore.open(directory: directory, identity: other, snapshotIndex: 0)
        }
        #expect(error?.code == .clusterMismatch)
        #expect(error?.message.contains("abababab") == true)
        #expect(error?.message.contains("segment-") == true)
    }

    @Test func newerFormatVersionIsRefused() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var header = ByteWriter()
        header.write(RaftLogStore.segmentMagic)
        header.write(UInt16(99))
        header.write(UInt16(0))
        header.write(identity.clusterID)
        header.write(UInt64(1))
        header.write(Checksum.crc32(0, header.bytes))
        try Data(header.bytes).write(to: URL(fileURLWithPath: directory + "/segment-" + RaftLogStore.paddedIndex(1) + ".log"))
        let error = #expect(throws: JournalError.self) { try open(directory) }
        #expect(error?.code == .formatVersionUnsupported)
        #expect(error?.message.contains("version 99") == true)
    }

    @Test func corruptHardStateIsRefused() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (store, _) = try open(directory)
            try store.saveHardState(HardState(term: 5, vote: 1, commit: 0))
        }
        var bytes = [UInt8](FileManager.default.contents(atPath: directory + "/hardstate")!)
        bytes[10] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/hardstate"))
        let error = #expect(throws: JournalError.self) { try open(directory) }
        #expect(error?.code == .corruptRecord)
        #expect(error?.message.contains("hardstate") == true)
    }

    @Test func compactionDropsCoveredSegments() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (store, _) = try open(directory)
        try store.append(entries(1...80))
        try store.flush()
        let before = segmentFiles(directory).count
        try store.compact(through: 50)
        #expect(segmentFiles(directory).count < before)
        let (_, recovered) = try open(directory, snapshotIndex: 50)
        #expect(recovered.entries == entries(51...80))
    }

    @Test func identityRoundTripsAndIsChecked() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: JournalError.self) { try JournalIdentity.read(from: directory) }
        try identity.write(to: directory)
        #expect(try JournalIdentity.read(from: directory) == identity)
        let error = #expect(throws: JournalError.self) {
            try JournalIdentity.read(from: directory, expectedClusterID: Array(repeating: 0, count: 16))
        }
        #expect(error?.code == .clusterMismatch)
    }
}

