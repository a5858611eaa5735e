import Foundation
import Logging
import StrataCore
import StrataRaft
import StrataTesting
import Testing
@testable import StrataJournal

/// The UFS journal's files and fencing rules, and two journals sharing one folder in-process.
@Suite struct UFSJournalFolderTests {
    static func folder() throws -> (UFSJournalFolder, String) {
        let path = NSTemporaryDirectory() + "strata-ufs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let identity = JournalIdentity(clusterID: Array(repeating: 7, count: 16), storageID: 1)
        try UFSJournalFolder.format(folder: path, identity: identity, sync: false)
        return (UFSJournalFolder(folder: path, identity: identity, sync: false), path)
    }

    static func entries(_ range: ClosedRange<UInt64>, epoch: UInt64) -> [LogEntry] {
        range.map { LogEntry(term: epoch, index: $0, data: Array("record \($0)".utf8)) }
    }

    @Test func validityBoundsEachEpochByTheNextStart() {
        let validity = UFSJournalFolder.Validity(markers: [(1, 1), (2, 4), (3, 4), (5, 9)])
        #expect(validity.epoch(holding: 1)! == (1, 3))
        #expect(validity.epoch(holding: 3)! == (1, 3))
        // Epoch 2 holds nothing (epoch 3 started where it did); 4...8 are epoch 3's.
        #expect(validity.epoch(holding: 4)! == (3, 8))
        #expect(validity.epoch(holding: 9)! == (5, nil))
        #expect(validity.epoch(holding: 1_000)! == (5, nil))
        #expect(UFSJournalFolder.Validity(markers: []).epoch(holding: 1) == nil)
    }

    @Test func aTornFinalRecordEndsTheLogAndSealingDropsIt() throws {
        let (journal, path) = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try journal.writeEpoch(1)
        try journal.writeMarker(epoch: 1, start: 1)
        let writer = try UFSLogWriter(journal: journal, epoch: 1, firstIndex: 1, sizeMaxBytes: 1 << 20)
        try writer.append(Self.entries(1...5, epoch: 1))
        // A record cut short by a crash: its header says 200 bytes, 10 follow.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: writer.path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0, 0, 0, 200, 1, 2, 3, 4] + Array(repeating: 9, count: 10)))
        try handle.close()
        let open = try #require(try journal.logFiles().first)
        let read = try journal.read(open)
        #expect(read.entries.map(\.index) == [1, 2, 3, 4, 5])
        #expect(read.stoppedAt?.contains("incomplete record") == true, "\(read.stoppedAt ?? "")")
        // A reader resuming at the end offset sees nothing new until the record is whole.
        #expect(try journal.read(open, from: read.endOffset).entries.isEmpty)

        // The next leader seals the open log at its last valid record.
        try journal.writeEpoch(2)
        #expect(try writer.isFenced())
        let files = try journal.logFiles()
        let valid = try journal.read(files[0]).entries
        try journal.writeCompleted(valid, epoch: 1)
        journal.remove(files[0].path)
        try journal.writeMarker(epoch: 2, start: 6)
        let sealed = try journal.logFiles()
        #expect(sealed.count == 1 && !sealed[0].isOpen && sealed[0].lastIndex == 5)
        #expect(try journal.read(sealed[0]).stoppedAt == nil)
        #expect(try journal.validRecords().map(\.index) == [1, 2, 3, 4, 5])
    }

    @Test func aFencedWriterWritesNothing() throws {
        let (journal, path) = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try journal.writeEpoch(1)
        try journal.writeMarker(epoch: 1, start: 1)
        let writer = try UFSLogWriter(journal: journal, epoch: 1, firstIndex: 1, sizeMaxBytes: 1 << 20)
        try writer.append(Self.entries(1...2, epoch: 1))
        let size = try FileManager.default.attributesOfItem(atPath: writer.path)[.size] as! Int
        try journal.writeEpoch(2)
        let error = #expect(throws: JournalError.self) { try writer.append(Self.entries(3...3, epoch: 1)) }
        #expect(error?.code == .fenced)
        #expect(try FileManager.default.attributesOfItem(atPath: writer.path)[.size] as! Int == size)
    }

    @Test func logsRollAtTheirSizeLimit() throws {
        let (journal, path) = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try journal.writeEpoch(1)
        try journal.writeMarker(epoch: 1, start: 1)
        let writer = try UFSLogWriter(journal: journal, epoch: 1, firstIndex: 1, sizeMaxBytes: 200)
        for index in UInt64(1)...20 { try writer.append(Self.entries(index...index, epoch: 1)) }
        let files = try journal.logFiles()
        #expect(files.count > 3)
        #expect(files.filter(\.isOpen).count == 1)
        #expect(try journal.validRecords().map(\.index) == Array(1...20))
    }

    /// Two journals on one folder: the standby follows; when it is elected it fences the old
    /// leader, whose next write fails, and carries on from the last valid record.
    @Test func standbyFollowsThenTakesOverAndFencesTheOldLeader() async throws {
        let (_, path) = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let identity = try JournalIdentity.read(from: path)
        var options = UFSJournalOptions(folder: path, identity: identity)
        options.sync = false
        options.tailInterval = .milliseconds(10)
        let first = RecordingStateMachine(), second = RecordingStateMachine()
        let a = try await UFSJournal(options: options, stateMachine: first, logger: Logger(label: "a"))
        let b = try await UFSJournal(options: options, stateMachine: second, logger: Logger(label: "b"))
        let runA = Task { try await a.run() }
        let runB = Task { try await b.run() }
        defer { runA.cancel(); runB.cancel() }
        await a.setLeadership(true)
        try await eventually(5, "A leads") { a.latestStatus.role == .leader }
        for index in 1...10 { #expect(try await a.propose(Array("a\(index)".utf8)) == UInt64(index)) }
        try await eventually(5, "B applied 10 entries") { b.latestStatus.appliedIndex == 10 }
        #expect(await second.applied == (1...10).map { "a\($0)" })

        // B is elected while A still believes it leads.
        await b.setLeadership(true)
        try await eventually(5, "B leads") { b.latestStatus.role == .leader }
        #expect(b.latestStatus.epoch == 2)
        let refused = await #expect(throws: ProposalError.self) { try await a.propose(Array("late".utf8)) }
        #expect(refused?.code == .outcomeUnknown)
        #expect(try await b.propose(Array("b11".utf8)) == 11)
        await a.setLeadership(false)
        try await eventually(5, "A stands by with 11 entries") { a.latestStatus.role == .standby && a.latestStatus.appliedIndex == 11 }
        #expect(await first.applied == (1...10).map { "a\($0)" } + ["b11"])
        #expect(await second.applied == (1...10).map { "a\($0)" } + ["b11"])
        await a.shutdown()
        await b.shutdown()
    }

}

/// Records applied entries' data as text.
actor RecordingStateMachine: ReplicatedStateMachine {
    var applied: [String] = []
    func apply(_ entries: [LogEntry]) { applied += entries.map { String(decoding: $0.data, as: UTF8.self) } }
    func snapshot() -> @Sendable () -> [UInt8] {
        let copy = applied
        return { Array(copy.joined(separator: "\n").utf8) }
    }
    func restore(_ data: [UInt8]) { applied = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init) }
}
