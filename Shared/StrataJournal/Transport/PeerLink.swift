import CompressNIO
import Logging
import NIOConcurrencyHelpers
import NIOCore
import StrataCore
import StrataRaft
import StrataWire

/// The way from one member to one peer: a bounded queue of Raft messages sent in batches over
/// one RPC connection, snapshot files streamed in chunks, and the connection's loss reported to
/// the node (the early sign of a dead leader).
final class PeerLink: Sendable {
    /// Messages queued beyond this are dropped, oldest first; Raft recovers from lost messages.
    static let queuedMessagesMax = 10_000
    /// Most messages and entry bytes in one batch call.
    static let batchMessagesMax = 512
    static let batchBytesMax = 4 << 20

    private struct State {
        var queue: [RaftMessage] = []
        var snapshot: RaftMessage?
        /// A snapshot to ship to a journal node (sent when no SNAPSHOT transfer is pending).
        var offer: SnapshotMeta?
        var disconnected = false
        var waiter: CheckedContinuation<Void, Never>?
        var node: RaftNode?
        var dropped = 0
        /// This member's state digest, carried by every batch until the leader has logged it.
        var stateDigest: StateDigestReport?
    }

    private enum Work {
        case messages([RaftMessage])
        case snapshot(RaftMessage)
        case offer(SnapshotMeta)
        case disconnected
    }

    let peer: MemberID
    let address: HostAndPort
    private let clusterID: [UInt8]
    private let storageID: UInt64
    private let deadline: Duration
    private let chunkSizeBytes: Int
    private let compress: Bool
    private let state = NIOLockedValueBox(State())
    private let client: RPCClient

    init(peer: MemberID, address: HostAndPort, clusterID: [UInt8], storageID: UInt64, frameSizeMaxBytes: Int, deadline: Duration,
         chunkSizeBytes: Int = 4 << 20, compress: Bool = false, logger: Logger? = nil) {
        self.peer = peer
        self.address = address
        self.clusterID = clusterID
        self.storageID = storageID
        self.deadline = deadline
        self.chunkSizeBytes = chunkSizeBytes
        self.compress = compress
        let state = self.state
        self.client = RPCClient(address: address, frameSizeMaxBytes: frameSizeMaxBytes, connectTimeout: .milliseconds(500),
                                defaultDeadline: deadline, onDisconnect: {
            let waiter: CheckedContinuation<Void, Never>? = state.withLockedValue { state in
                state.disconnected = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }, logger: logger)
    }

    func attach(_ node: RaftNode) { state.withLockedValue { $0.node = node } }

    func enqueue(_ message: RaftMessage) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLockedValue { state in
            state.queue.append(message)
            if state.queue.count > Self.queuedMessagesMax {
                state.queue.removeFirst(state.queue.count - Self.queuedMessagesMax)
                state.dropped += 1
            }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Streams the snapshot this SNAPSHOT message describes (one transfer at a time).
    func sendSnapshot(_ message: RaftMessage) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLockedValue { state in
            guard state.snapshot == nil else { return nil }
            state.snapshot = message
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Ships the snapshot `meta` names to this peer, a journal node, so that it can drop the log
    /// the snapshot covers (one at a time; a newer offer replaces one not yet started).
    func offerSnapshot(_ meta: SnapshotMeta) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLockedValue { state in
            state.offer = meta
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Sets (or, with nil, clears) the state digest this member's batches carry.
    func report(_ stateDigest: StateDigestReport?) {
        state.withLockedValue { $0.stateDigest = stateDigest }
    }

    func close() async { await client.close() }

    /// Sends until cancelled.
    func run() async {
        while !Task.isCancelled {
            guard let work = await nextWork(), let node = state.withLockedValue({ $0.node }) else { continue }
            switch work {
            case .disconnected:
                await node.peerDisconnected(peer)
            case .messages(let messages):
                do throws(RPCError) {
                    let stateDigest = state.withLockedValue { $0.stateDigest }
                    let batch = RaftMessageBatch(clusterID: clusterID, messages: messages, storageID: storageID, stateDigest: stateDigest)
                    _ = try await client.call(JournalMethods.raftMessages, batch, deadline: deadline)
                    await node.peerAccepted(peer)
                } catch {
                    if error.code == .failedPrecondition { await node.peerRefused(peer, error.message) }
                    await node.peerUnreachable(peer)
                }
            case .snapshot(let message):
                guard case .snapshot(let meta) = message.body else { break }
                let success = await stream(meta, message: message, node: node)
                state.withLockedValue { $0.snapshot = nil }
                await node.snapshotSent(to: peer, success: success)
            case .offer(let meta):
                let success = await stream(meta, message: nil, node: node)
                await node.snapshotOffered(to: peer, index: meta.index, success: success)
            }
        }
    }

    private func nextWork() async -> Work? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLockedValue { state -> Bool in
                    if !state.queue.isEmpty || state.disconnected || ((state.snapshot != nil || state.offer != nil) && !Task.isCancelled) { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
        return state.withLockedValue { state -> Work? in
            if state.disconnected {
                state.disconnected = false
                return .disconnected
            }
            // Queued messages go first; snapshot messages never enter the queue.
            if let snapshot = state.snapshot, state.queue.isEmpty { return .snapshot(snapshot) }
            if let offer = state.offer, state.queue.isEmpty {
                state.offer = nil
                return .offer(offer)
            }
            guard !state.queue.isEmpty else { return nil }
            var batch: [RaftMessage] = []
            var bytes = 0
            while let first = state.queue.first, batch.count < Self.batchMessagesMax {
                let size: Int
                if case .append(_, _, let entries, _) = first.body { size = entries.reduce(0) { $0 + $1.data.count } } else { size = 0 }
                if !batch.isEmpty && bytes + size > Self.batchBytesMax { break }
                bytes += size
                batch.append(state.queue.removeFirst())
            }
            return .messages(batch)
        }
    }

    /// Streams the snapshot file of `meta`: for a SNAPSHOT transfer the last chunk carries
    /// `message`; an offer carries none.
    private func stream(_ meta: SnapshotMeta, message: RaftMessage?, node: RaftNode) async -> Bool {
        let bytes: [UInt8]
        do { bytes = try await node.snapshotFile(meta) } catch { return false }
        var offset = 0
        repeat {
            let end = min(offset + chunkSizeBytes, bytes.count)
            var payload = ByteBuffer(bytes: bytes[offset..<end])
            if compress {
                do { payload = try payload.compress(with: .zlib()) } catch { return false }
            }
            let chunk = SnapshotChunk(clusterID: clusterID, from: node.memberID, to: peer, snapshotIndex: meta.index,
                                      snapshotTerm: meta.term, offset: UInt64(offset), totalBytes: UInt64(bytes.count),
                                      compressed: compress, uncompressedBytes: UInt64(end - offset),
                                      message: end == bytes.count ? message : nil, offer: message == nil, storageID: storageID)
            do throws(RPCError) {
                _ = try await client.call(JournalMethods.snapshotChunk, chunk, payload: payload, deadline: .seconds(30))
            } catch {
                if error.code == .failedPrecondition && message != nil { await node.peerRefused(peer, error.message) }
                return false
            }
            offset = end
        } while offset < bytes.count
        return true
    }
}
