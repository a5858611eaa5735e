import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOPosix
import StrataCore
import StrataRaft

/// How a master (or secondary master) runs on a UFS journal.
public struct UFSJournalOptions: Sendable {
    public var folder: String
    public var identity: JournalIdentity
    /// fsync before acknowledging (off only for benchmarks of the difference).
    public var sync = true
    public var logSizeMaxBytes = 10 << 20
    public var entrySizeMaxBytes = 16 << 20
    /// How long a standby waits before looking for new records again.
    public var tailInterval: Duration = .milliseconds(100)
    /// Records applied between checkpoints a standby writes.
    public var checkpointPeriodEntries: UInt64 = 2_000_000
    public var checkpointsRetained = 2
    /// Most records written (and fsynced) in one batch.
    public var batchEntriesMax = 4096
    /// Standbys write a checkpoint every `checkpointPeriodEntries` records.
    public var takesCheckpoints = true
    /// False for a secondary master: it never leads, it only replays and checkpoints.
    public var mayLead = true

    public init(folder: String, identity: JournalIdentity) {
        self.folder = folder
        self.identity = identity
    }
}

/// What a UFS-journal process reports about itself.
public struct UFSJournalStatus: Sendable, Equatable {
    public enum Role: String, Sendable { case standby = "STANDBY", takingOver = "TAKING_OVER", leader = "LEADER" }
    public var role: Role
    /// The epoch this process leads in (when leading), else the newest epoch it has seen.
    public var epoch: UInt64
    public var appliedIndex: UInt64
    public var checkpointIndex: UInt64
    /// Set while this process is elected but its journal folder is full (it refuses writes
    /// with this reason).
    public var cannotWrite: String? = nil
}

/// The UFS journal of one master: a standby tails and replays the log files in the shared folder
/// and writes checkpoints; when the election makes it leader it takes a new epoch (the fence),
/// seals the previous leader's log where its valid records end, and appends its own, fsynced and
/// fence-checked before each acknowledgement. See `UFSJournalFolder` for the rules.
///
/// One task applies at a time (the run loop as a standby, the flush loop as leader), so a
/// checkpoint's view never holds a record beyond the index it names.
public actor UFSJournal {
    public nonisolated let options: UFSJournalOptions
    private let folder: UFSJournalFolder
    private let stateMachine: any ReplicatedStateMachine
    private var logger: Logger
    private let pool: NIOThreadPool
    private let checkpointPool: NIOThreadPool
    private let snapshots: SnapshotStore

    private var role: UFSJournalStatus.Role = .standby
    /// The epoch this process leads in (0 when it does not).
    private var epoch: UInt64 = 0
    private var appliedIndex: UInt64 = 0
    private var checkpointIndex: UInt64 = 0
    /// The last index written in this epoch (leader only).
    private var lastWritten: UInt64 = 0
    private var cursor: (path: String, offset: Int, next: UInt64)?
    private var writer: UFSLogWriter?
    /// Proposals waiting for the next flush; at most `pendingProposalsMax`.
    private var pending: [(data: [UInt8], continuation: CheckedContinuation<UInt64, any Error>)] = []
    /// The bound on proposals waiting for a flush: past it a proposal is refused (retryable)
    /// instead of growing the queue while the under storage is slow.
    public static let pendingProposalsMax = 16_384
    private var flushing = false
    private var flushDone: [CheckedContinuation<Void, Never>] = []
    /// Whether the election says this process leads, and how many times it has said so: a
    /// fenced leader waits for a new grant rather than taking another epoch at once.
    private var leadershipWanted = false
    private var leadershipGrant: UInt64 = 0
    private var fencedGrant: UInt64?
    /// Why the journal folder cannot be written (it is full), while it cannot: an elected
    /// master keeps its election and takes a new epoch every second until it can, and refuses
    /// proposals with this reason meanwhile.
    private var cannotWrite: String?
    /// The flush loop and checkpoints served for a leader; ended by `shutdown()`.
    private let background = OwnedTasks()
    /// Wakes the run loop early (a leadership change, a checkpoint request, a fence).
    private let doorbell = Doorbell()
    private var checkpointRequests: [CheckedContinuation<Void, any Error>] = []
    /// Called each time this process starts serving as leader (the election publishes it then).
    private var onLeading: (@Sendable () async -> Void)?
    private var applyBusy = false
    private var applyWaiters: [CheckedContinuation<Void, Never>] = []

    private nonisolated let statusBox: NIOLockedValueBox<UFSJournalStatus>
    /// True when this process starts serving as leader, false when it stops (newest 16 kept).
    public nonisolated let roleChanges: AsyncStream<Bool>
    private let roleContinuation: AsyncStream<Bool>.Continuation
    /// Yields when a newer epoch fenced this process's writes (its election should start over).
    public nonisolated let fencings: AsyncStream<Void>
    private let fencingContinuation: AsyncStream<Void>.Continuation

    /// Opens the journal folder, restores the newest checkpoint and replays the logs after it.
    public init(options: UFSJournalOptions, stateMachine: any ReplicatedStateMachine, logger: Logger) async throws {
        self.options = options
        self.folder = UFSJournalFolder(folder: options.folder, identity: options.identity, sync: options.sync,
                                       entrySizeMaxBytes: options.entrySizeMaxBytes)
        self.stateMachine = stateMachine
        self.logger = logger
        guard UFSJournalFolder.isUFSJournal(options.folder) else {
            throw JournalError(.notFormatted, "\(options.folder) is not a formatted UFS journal (no epoch file); run strata format with strata.master.journal.type=UFS")
        }
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        self.pool = pool
        let checkpointPool = NIOThreadPool(numberOfThreads: 1)
        checkpointPool.start()
        self.checkpointPool = checkpointPool
        self.snapshots = try SnapshotStore(directory: folder.checkpointsDirectory, identity: options.identity,
                                           retained: options.checkpointsRetained, sync: options.sync)
        statusBox = NIOLockedValueBox(UFSJournalStatus(role: .standby, epoch: 0, appliedIndex: 0, checkpointIndex: 0))
        (roleChanges, roleContinuation) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(16))
        (fencings, fencingContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let started = ContinuousClock.now
        try await restoreLatestCheckpoint()
        let restored = ContinuousClock.now - started
        let replayed = try await catchUp(sealing: false)
        logger.info("UFS journal \(options.folder) opened: checkpoint \(checkpointIndex) restored in \(restored), \(replayed) records replayed in \(ContinuousClock.now - started - restored)")
    }

    // MARK: Status

    public nonisolated var latestStatus: UFSJournalStatus { statusBox.withLockedValue { $0 } }

    private func publishStatus() {
        let status = UFSJournalStatus(role: role, epoch: epoch, appliedIndex: appliedIndex, checkpointIndex: checkpointIndex,
                                      cannotWrite: leadershipWanted ? cannotWrite : nil)
        statusBox.withLockedValue { $0 = status }
        Metrics.Gauge(label: "strata_journal_applied_index").record(Double(appliedIndex))
        Metrics.Gauge(label: "strata_journal_term").record(Double(epoch))
        Metrics.Gauge(label: "strata_journal_leader").record(role == .leader ? 1 : 0)
    }

    // MARK: Running

    /// Replays as a standby, takes over and steps down as the election says, until cancelled.
    public func run() async throws {
        defer { failPending(ProposalError(code: .stopped, message: "the journal is stopping", leaderHint: nil)) }
        while !Task.isCancelled {
            let grantUsable = fencedGrant != leadershipGrant
            if let cannotWrite, role == .leader {
                await stepDown(reason: cannotWrite)
            } else if leadershipWanted && grantUsable && role == .standby && options.mayLead {
                await takeOver()
            } else if (!leadershipWanted || !grantUsable) && role != .standby {
                await stepDown(reason: "the election no longer names this master")
            } else if role == .standby {
                do {
                    _ = try await catchUp(sealing: false)
                    try await maybeCheckpoint()
                } catch {
                    logger.error("UFS journal: \(error)")
                }
                await serveCheckpointRequests()
            }
            await doorbell.wait(upTo: options.tailInterval)
        }
    }

    public func shutdown() async {
        failPending(ProposalError(code: .stopped, message: "the journal is stopping", leaderHint: nil))
        await background.shutdown()
        writer?.close()
        writer = nil
        roleContinuation.finish()
        fencingContinuation.finish()
        try? await pool.shutdownGracefully()
        try? await checkpointPool.shutdownGracefully()
    }

    public func setOnLeading(_ action: @escaping @Sendable () async -> Void) {
        onLeading = action
    }

    /// Called by the election: whether this process should lead.
    public func setLeadership(_ leads: Bool) {
        if leads && !leadershipWanted { leadershipGrant += 1 }
        leadershipWanted = leads
        if !leads && cannotWrite != nil {
            cannotWrite = nil
            publishStatus()
        }
        wake()
    }

    private func wake() { doorbell.ring() }

    // MARK: Applying (one applier at a time)

    private func lockApply() async {
        while applyBusy { await withCheckedContinuation { applyWaiters.append($0) } }
        applyBusy = true
    }

    private func unlockApply() {
        applyBusy = false
        if !applyWaiters.isEmpty { applyWaiters.removeFirst().resume() }
    }

    /// Restores the newest checkpoint if it is ahead of the applied index (at start-up, and from
    /// `catchUp`, which holds the apply lock).
    private func restoreLatestCheckpoint() async throws {
        let snapshots = self.snapshots
        let found = try await pool.runIfActive { try Self.latestCheckpoint(snapshots) }
        let latest = found.snapshot, repairs = found.repairs
        for repair in repairs { logger.warning("UFS journal checkpoint: \(repair)") }
        guard let latest, latest.meta.index > appliedIndex else { return }
        try await stateMachine.restore(latest.data)
        appliedIndex = latest.meta.index
        checkpointIndex = latest.meta.index
        cursor = nil
        publishStatus()
        logger.info("restored UFS journal checkpoint at index \(latest.meta.index)")
    }

    /// Reads and applies every valid record after the applied index. While sealing (taking
    /// over), the newest marked epoch's records count up to the last valid one; otherwise records
    /// of the newest epoch count only if no newer epoch was taken while they were read.
    /// Returns the number applied.
    @discardableResult
    private func catchUp(sealing: Bool) async throws -> Int {
        await lockApply()
        defer { unlockApply() }
        var applied = 0
        while !Task.isCancelled {
            let next = appliedIndex + 1
            let cursor = self.cursor
            let folder = self.folder
            let step = try await pool.runIfActive { try Self.readStep(folder, next: next, cursor: cursor, sealing: sealing) }
            switch step {
            case .entries(let entries, let newCursor):
                if entries.isEmpty {
                    self.cursor = newCursor
                    return applied
                }
                precondition(entries.first!.index == next, "replay out of order: \(entries.first!.index) after \(appliedIndex)")
                for start in stride(from: 0, to: entries.count, by: 4096) {
                    await stateMachine.apply(Array(entries[start..<min(start + 4096, entries.count)]))
                }
                appliedIndex = entries.last!.index
                self.cursor = newCursor
                applied += entries.count
                publishStatus()
            case .nothing:
                return applied
            case .checkpointAhead:
                logger.notice("the logs after index \(appliedIndex) were removed after a newer checkpoint; restoring it")
                try await restoreLatestCheckpoint()
            }
        }
        return applied
    }

    private enum Step: Sendable {
        case entries([LogEntry], (path: String, offset: Int, next: UInt64)?)
        case nothing
        /// The record wanted is no longer in any log, but a checkpoint covers it.
        case checkpointAhead
    }

    /// One read of the folder (on the disk thread).
    private static func readStep(_ folder: UFSJournalFolder, next: UInt64, cursor: (path: String, offset: Int, next: UInt64)?,
                                 sealing: Bool) throws(JournalError) -> Step {
        let validity = try folder.validity()
        let files = try folder.logFiles()
        guard let (file, last) = folder.source(for: next, validity: validity, files: files) else {
            let newest = try JournalFiles.list(folder.checkpointsDirectory).filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }.last
            if let newest, let index = UInt64(newest.split(separator: "-")[1]), index >= next { return .checkpointAhead }
            if let oldest = files.first(where: { validity.epoch(holding: $0.firstIndex) != nil }), oldest.firstIndex > next {
                throw JournalError(.corruptRecord, "the UFS journal has no record \(next): its logs start at \(oldest.firstIndex) and no checkpoint covers the gap")
            }
            return .nothing
        }
        let offset = cursor.flatMap { $0.path == file.path && $0.next == next ? $0.offset : nil } ?? 0
        let result = try folder.read(file, from: offset)
        var entries = result.entries.filter { $0.index >= next }
        if let last { entries = entries.filter { $0.index <= last } }
        if let first = entries.first, first.index != next {
            throw JournalError(.corruptRecord, "\(file.path) continues at index \(first.index); expected \(next)")
        }
        if let problem = result.stoppedAt, !file.isOpen {
            throw JournalError(.corruptRecord, "completed log \(file.path) is damaged: \(problem)")
        }
        if last == nil && !sealing && !entries.isEmpty, try folder.readEpoch() != file.epoch {
            // A newer epoch was taken while these were read: wait for its start marker, which
            // says where this epoch's records end.
            return .entries([], nil)
        }
        let advanced = entries.isEmpty && offset == result.endOffset ? cursor : (file.path, result.endOffset, next + UInt64(entries.count))
        return .entries(entries, advanced)
    }

    // MARK: Leadership

    /// Takes a new epoch, seals the previous leader's log where its valid records end, and
    /// starts a log of its own; then serves.
    private func takeOver() async {
        let grant = leadershipGrant
        role = .takingOver
        publishStatus()
        let folder = self.folder
        do {
            let taken = try await pool.runIfActive { () throws(JournalError) -> UInt64 in
                let epoch = try folder.readEpoch() + 1
                try folder.writeEpoch(epoch)
                return epoch
            }
            logger[metadataKey: "epoch"] = "\(taken)"
            logger.info("elected: took epoch \(taken); sealing the previous epoch's log")
            // Everything valid the previous leader wrote (before the fence) is applied here.
            try await catchUp(sealing: true)
            let sealedThrough = appliedIndex
            let sizeMax = options.logSizeMaxBytes
            let opened = try await pool.runIfActive { () throws(JournalError) -> UFSLogWriter in
                try Self.seal(folder, through: sealedThrough, newEpoch: taken)
                try folder.writeMarker(epoch: taken, start: sealedThrough + 1)
                return try UFSLogWriter(journal: folder, epoch: taken, firstIndex: sealedThrough + 1, sizeMaxBytes: sizeMax)
            }
            guard leadershipWanted, leadershipGrant == grant else {
                opened.close()
                role = .standby
                publishStatus()
                return
            }
            writer = opened
            epoch = taken
            role = .leader
            lastWritten = sealedThrough
            cursor = nil
            publishStatus()
            Metrics.Counter(label: "strata_journal_leader_elections_total").increment()
            roleContinuation.yield(true)
            logger.notice("leading the UFS journal in epoch \(taken) from index \(sealedThrough + 1)")
            if let problem = cannotWrite {
                cannotWrite = nil
                publishStatus()
                logger.notice("the journal writes again (it could not: \(problem))")
            }
            await onLeading?()
        } catch let error as JournalError where error.code == .noSpace {
            // Still elected: try again in a second, with a new epoch (this one may hold part of
            // what failed).
            if cannotWrite == nil { logger.error("could not take over the UFS journal: \(error); trying again every second") }
            cannotWrite = "the journal at \(options.folder) cannot write: \(error.message)"
            role = .standby
            publishStatus()
            try? await Task.sleep(for: Self.cannotWriteRetryInterval)
        } catch {
            // Another master may do better: leave the election (after a pause, so that a
            // lasting problem does not spin) and enter it again.
            logger.error("could not take over the UFS journal: \(error); leaving the election to enter it again")
            role = .standby
            fencedGrant = grant
            publishStatus()
            try? await Task.sleep(for: Self.cannotWriteRetryInterval)
            fencingContinuation.yield()
        }
    }

    static let cannotWriteRetryInterval = Duration.seconds(1)

    /// Copies the valid prefix (through `index`) of every older epoch's open log into a
    /// completed log and removes the open file; a deposed leader still holding it writes into a
    /// removed file from then on.
    private static func seal(_ folder: UFSJournalFolder, through index: UInt64, newEpoch: UInt64) throws(JournalError) {
        let files = try folder.logFiles()
        for file in files where file.isOpen && file.epoch < newEpoch {
            let valid = try folder.read(file).entries.filter { $0.index <= index }
            let covered = files.contains { !$0.isOpen && $0.epoch == file.epoch && $0.firstIndex == file.firstIndex && ($0.lastIndex ?? 0) >= (valid.last?.index ?? 0) }
            if !valid.isEmpty && !covered { try folder.writeCompleted(valid, epoch: file.epoch) }
            folder.remove(file.path)
        }
        try JournalFiles.syncDirectory(of: folder.logsDirectory + "/x")
    }

    private func stepDown(reason: String) async {
        guard role != .standby else { return }
        let wasLeader = role == .leader
        role = .standby
        failPending(ProposalError(code: .notLeader, message: "this master stopped leading: \(reason)", leaderHint: nil))
        if flushing { await withCheckedContinuation { flushDone.append($0) } }
        writer?.close()
        writer = nil
        epoch = 0
        cursor = nil
        publishStatus()
        if wasLeader { roleContinuation.yield(false) }
        logger.notice("stepped down: \(reason)")
    }

    private func fenced(_ reason: String) {
        fencedGrant = leadershipGrant
        logger.warning("fenced: \(reason)")
        fencingContinuation.yield()
        wake()
    }

    // MARK: Requests

    /// An elected master whose journal folder is full refuses with the reason.
    private func refuseWhileCannotWrite() throws(ProposalError) {
        guard let cannotWrite, leadershipWanted else { return }
        throw ProposalError(code: .noSpace, message: cannotWrite + "; nothing was journaled", leaderHint: nil)
    }

    /// Appends `data` and returns its index once it is durable, fence-checked and applied here.
    public func propose(_ data: [UInt8]) async throws(ProposalError) -> UInt64 {
        try refuseWhileCannotWrite()
        guard role == .leader else { throw ProposalError(code: .notLeader, message: "not the leading master", leaderHint: nil) }
        guard data.count <= options.entrySizeMaxBytes else {
            throw ProposalError(code: .refused, message: "journal entry of \(data.count) bytes exceeds \(options.entrySizeMaxBytes)", leaderHint: nil)
        }
        guard pending.count < Self.pendingProposalsMax else {
            throw ProposalError(code: .overloaded, message: "the journal has \(pending.count) entries waiting to be written, its bound (\(Self.pendingProposalsMax)); nothing was journaled, retry", leaderHint: nil)
        }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                pending.append((data, continuation))
                if !flushing {
                    flushing = true
                    background.spawn { await self.flushLoop() }
                }
            }
        } catch let error as ProposalError {
            throw error
        } catch {
            throw ProposalError(code: .outcomeUnknown, message: "\(error)", leaderHint: nil)
        }
    }

    private func flushLoop() async {
        await lockApply()
        while role == .leader, !pending.isEmpty, let writer {
            let batch = Array(pending.prefix(options.batchEntriesMax))
            pending.removeFirst(batch.count)
            let first = lastWritten + 1
            let entries = batch.enumerated().map { LogEntry(term: epoch, index: first + UInt64($0.offset), data: $0.element.data) }
            let started = ContinuousClock.now
            do {
                try await pool.runIfActive { try writer.append(entries) }
                Metrics.Timer(label: "strata_journal_flush_duration_seconds").record(since: started)
            } catch {
                let unknown = ProposalError(code: .outcomeUnknown, message: "journal write not acknowledged: \(error); retry with the same operation id", leaderHint: nil)
                for item in batch { item.continuation.resume(throwing: unknown) }
                // Nothing more may be written in this epoch: the file may hold a partial batch.
                if let error = error as? JournalError, error.code == .noSpace {
                    // The folder is full: this master stays elected and starts a new epoch once
                    // it has room (the run loop steps down and takes over again).
                    let reason = "the journal at \(options.folder) cannot write: \(error.message)"
                    logger.error("\(reason); nothing is acknowledged until it can (taking a new epoch every second)")
                    cannotWrite = reason
                    publishStatus()
                    failPending(ProposalError(code: .noSpace, message: reason + "; nothing was journaled", leaderHint: nil))
                    wake()
                } else {
                    fenced("\(error)")
                    failPending(ProposalError(code: .notLeader, message: "this master stopped leading: \(error)", leaderHint: nil))
                }
                break
            }
            lastWritten = entries.last!.index
            await stateMachine.apply(entries)
            appliedIndex = lastWritten
            publishStatus()
            for (position, item) in batch.enumerated() { item.continuation.resume(returning: first + UInt64(position)) }
            if !checkpointRequests.isEmpty {
                unlockApply()
                await serveCheckpointRequests()
                await lockApply()
            }
        }
        flushing = false
        unlockApply()
        for waiter in flushDone { waiter.resume() }
        flushDone = []
    }

    private func failPending(_ error: ProposalError) {
        let failed = pending
        pending = []
        for item in failed { item.continuation.resume(throwing: error) }
    }

    /// Returns once a read served afterwards is linearizable: this process leads and no newer
    /// epoch has been taken (its own writes are applied before they are acknowledged).
    public func readBarrier() async throws(ProposalError) {
        try refuseWhileCannotWrite()
        guard role == .leader, let writer else { throw ProposalError(code: .notLeader, message: "not the leading master", leaderHint: nil) }
        let isFenced: Bool
        do {
            isFenced = try await pool.runIfActive { try writer.isFenced() }
        } catch {
            throw ProposalError(code: .outcomeUnknown, message: "cannot read the journal's epoch: \(error)", leaderHint: nil)
        }
        if isFenced {
            fenced("a newer epoch was taken")
            throw ProposalError(code: .notLeader, message: "a newer leader has taken over", leaderHint: nil)
        }
    }

    // MARK: Checkpoints

    /// Writes a checkpoint of the applied state now (any role), then removes logs it covers.
    public func checkpoint() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            checkpointRequests.append(continuation)
            if role == .standby || !flushing { wake() }
            if role != .standby && !flushing { background.spawn { await self.serveCheckpointRequests() } }
        }
    }

    private func serveCheckpointRequests() async {
        guard !checkpointRequests.isEmpty else { return }
        let waiters = checkpointRequests
        checkpointRequests = []
        do {
            try await writeCheckpoint()
            for waiter in waiters { waiter.resume() }
        } catch {
            for waiter in waiters { waiter.resume(throwing: error) }
        }
    }

    private func maybeCheckpoint() async throws {
        guard options.takesCheckpoints, appliedIndex >= checkpointIndex + options.checkpointPeriodEntries else { return }
        // Another standby may have written one meanwhile.
        let folder = self.folder
        let newest = try await pool.runIfActive { () throws(JournalError) -> UInt64 in
            try JournalFiles.list(folder.checkpointsDirectory).filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }
                .compactMap { UInt64($0.split(separator: "-")[1]) }.max() ?? 0
        }
        if newest > checkpointIndex { checkpointIndex = newest }
        guard appliedIndex >= checkpointIndex + options.checkpointPeriodEntries else { return }
        try await writeCheckpoint()
    }

    private func writeCheckpoint() async throws {
        await lockApply()
        let index = appliedIndex
        let serialize = await stateMachine.snapshot()
        unlockApply()
        guard index > 0 else { return }
        let started = ContinuousClock.now
        let data = try await checkpointPool.runIfActive { serialize() }
        let snapshot = SnapshotStore.Snapshot(meta: SnapshotMeta(index: index, term: epoch, membership: Membership(voters: [])), data: data)
        let snapshots = self.snapshots
        let folder = self.folder
        let removed = try await pool.runIfActive { try Self.save(snapshot, in: snapshots, folder: folder) }
        checkpointIndex = max(checkpointIndex, index)
        publishStatus()
        logger.info("checkpoint at index \(index) (\(data.count) bytes) in \(ContinuousClock.now - started); \(removed) log(s) it covers removed")
    }

    private static func latestCheckpoint(_ snapshots: SnapshotStore) throws -> (snapshot: SnapshotStore.Snapshot?, repairs: [String]) {
        var repairs: [String] = []
        let snapshot = try snapshots.latest(repairs: &repairs)
        return (snapshot, repairs)
    }

    private static func save(_ snapshot: SnapshotStore.Snapshot, in snapshots: SnapshotStore, folder: UFSJournalFolder) throws -> Int {
        do {
            try snapshots.save(snapshot)
        } catch {
            // Another master may have pruned the same old checkpoint at the same moment: then
            // this one is saved all the same.
            let path = snapshots.path(for: snapshot.meta)
            guard error.code == .io, FileManager.default.fileExists(atPath: path) else { throw error }
        }
        return try collectGarbage(folder)
    }

    /// Removes completed logs that the oldest retained checkpoint covers.
    private static func collectGarbage(_ folder: UFSJournalFolder) throws(JournalError) -> Int {
        let indices = try JournalFiles.list(folder.checkpointsDirectory).filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }
            .compactMap { UInt64($0.split(separator: "-")[1]) }
        guard let oldest = indices.min() else { return 0 }
        var removed = 0
        for file in try folder.logFiles() where !file.isOpen && file.lastIndex! <= oldest {
            folder.remove(file.path)
            removed += 1
        }
        return removed
    }
}
