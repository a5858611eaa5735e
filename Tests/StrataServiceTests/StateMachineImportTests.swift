import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import StrataJobMaster
import StrataJournal
import StrataMaster
import StrataRaft
import Testing

/// The journaled state machines with import records and entries they cannot decode, without
/// processes: an import replaces the state only when whole; a bad entry is never skipped.
@Suite struct StateMachineImportTests {
    static let logger = Logger(label: "test")

    @Test func anUndecodableEntryStopsTheMemberInsteadOfBeingSkipped() async {
        let namespace = NamespaceStateMachine(rootUFS: "/tmp", logger: Self.logger)
        let jobs = JobStateMachine(logger: Self.logger)
        let stops = NIOLockedValueBox<[String]>([])
        let handler = CorruptEntryHandler { index, reason in stops.withLockedValue { $0.append("\(index): \(reason)") } }
        await namespace.setCorruptEntryHandler(handler)
        await jobs.setCorruptEntryHandler(handler)
        let garbage = LogEntry(term: 1, index: 7, data: [0x01, 0xEE, 0x02])
        await namespace.apply([garbage])
        await jobs.apply([LogEntry(term: 1, index: 9, data: [0x01, 0xEE, 0x02])])
        let seen = stops.withLockedValue { $0 }
        #expect(seen.count == 2 && seen[0].hasPrefix("7: not a namespace record") && seen[1].hasPrefix("9: not a job record"), "\(seen)")
    }

    @Test func anImportReplacesTheStateOnlyWhenWhole() async throws {
        let source = NamespaceStateMachine(rootUFS: "/tmp", logger: Self.logger)
        let view = await source.backupView()
        let data = view.serialize()
        let target = NamespaceStateMachine(rootUFS: "/elsewhere", logger: Self.logger)
        let records = StateImportRecord.records(for: data, id: 42)
        #expect(records.count == 2)
        // A commit whose bytes did not all arrive changes nothing.
        await target.apply([LogEntry(term: 1, index: 1, data: StateImportRecord.commit(id: 42, totalBytes: UInt64(data.count), crc: 0).encoded)])
        #expect(await target.backupView().entries == 1)
        var index: UInt64 = 2
        for record in records {
            #expect(StateImportRecord(decoding: record.encoded) == record)
            await target.apply([LogEntry(term: 1, index: index, data: record.encoded)])
            index += 1
        }
        #expect(await target.backupView().serialize() == data)

        // Chunks of a large state, out of order, are refused by the buffer.
        let big = [UInt8](repeating: 7, count: StateImportRecord.chunkBytes * 2 + 5)
        let bigRecords = StateImportRecord.records(for: big, id: 5)
        #expect(bigRecords.count == 4)
        var buffer = StateImportBuffer()
        #expect(buffer.apply(bigRecords[0]) == nil)
        if case .failure = buffer.apply(bigRecords[2]) {} else { Issue.record("a chunk out of order was taken") }
        var whole = StateImportBuffer()
        for record in bigRecords.dropLast() { #expect(whole.apply(record) == nil) }
        guard case .success(let bytes) = whole.apply(bigRecords[3]) else { Issue.record("the whole import did not come back"); return }
        #expect(bytes == big)
    }

    @Test func backupsRoundTripAndRefuseDamage() throws {
        let backup = Backup(clusterID: Array(repeating: 3, count: 16), createdMilliseconds: 1_796_000_000_000, journalIndex: 77, sections: [
            Backup.Section(kind: .namespace, entries: 3, data: Array("namespace".utf8)),
            Backup.Section(kind: .jobTable, entries: 1, data: Array("jobs".utf8)),
        ])
        let file = try backup.encoded()
        #expect(try Backup(decoding: file, name: "b.gz") == backup)
        #expect(Backup.fileName(createdMilliseconds: 1_796_000_000_000) == "strata-backup-2026-11-30-1796000000000.gz")
        #expect(throws: BackupError.self) { try Backup(decoding: ByteBuffer(bytes: Array("not gzip".utf8)), name: "x") }
        let bytes = Array(file.readableBytesView)
        #expect(throws: BackupError.self) { try Backup(decoding: ByteBuffer(bytes: bytes.prefix(bytes.count - 8)), name: "cut.gz") }
    }
}
