import Foundation
import Logging
import StrataCore
import StrataJournal
import StrataRaft
import StrataWire

// A small replicated service for journal tests: one embedded-journal member whose state machine
// is a list of distinct payloads. It serves Raft and its own test methods on the journal port.
//
//   strata-journal-test-service --member HOST:PORT --members A:P,B:P,C:P --dir PATH
//                               [--election-timeout-ms N] [--checkpoint-entries N] [--unsafe-flush]
//                               [--compress-snapshots] [--snapshot-chunk-bytes N] [--heartbeat-ms N]
//                               [--non-serving A:P,...]   (members that are journal nodes)
//                               [--proposals-pending-max N]

/// The test service's methods (service 0x00FE).
enum TestServiceMethods {
    static let propose = RPCMethod<EchoRequest, EchoResponse>(id: 0x00FE_0001, name: "TestService.Propose")
    static let status = RPCMethod<EchoRequest, EchoResponse>(id: 0x00FE_0002, name: "TestService.Status")
    static let applied = RPCStreamMethod<EchoRequest, EchoResponse>(id: 0x00FE_0003, name: "TestService.Applied")
}

/// A list of distinct payloads in the order they were committed. A payload proposed again (a
/// client retrying after an unknown outcome) is applied once.
actor PayloadList: ReplicatedStateMachine {
    private(set) var entries: [(index: UInt64, payload: [UInt8])] = []
    private var seen: Set<Data> = [] // Data hashes its bytes in one call, [UInt8] byte by byte

    func apply(_ batch: [LogEntry]) {
        for entry in batch where seen.insert(Data(entry.data)).inserted {
            entries.append((entry.index, entry.data))
        }
    }

    func snapshot() -> @Sendable () -> [UInt8] {
        let entries = self.entries
        return { Self.encode(entries) }
    }

    static func encode(_ entries: [(index: UInt64, payload: [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (index, payload) in entries {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: index >> UInt64(shift))) }
            for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: payload.count >> shift)) }
            bytes.append(contentsOf: payload)
        }
        return bytes
    }

    func restore(_ data: [UInt8]) throws {
        var restored: [(UInt64, [UInt8])] = []
        var offset = 0
        while offset < data.count {
            guard data.count - offset >= 12 else { throw JournalError(.corruptRecord, "truncated test snapshot") }
            var index: UInt64 = 0
            for byte in data[offset..<offset + 8] { index = index << 8 | UInt64(byte) }
            var length = 0
            for byte in data[offset + 8..<offset + 12] { length = length << 8 | Int(byte) }
            offset += 12
            guard data.count - offset >= length else { throw JournalError(.corruptRecord, "truncated test snapshot payload") }
            restored.append((index, Array(data[offset..<offset + length])))
            offset += length
        }
        entries = restored
        seen = Set(restored.map { Data($0.1) })
    }
}

func argument(_ name: String) -> String? {
    guard let position = CommandLine.arguments.firstIndex(of: name), position + 1 < CommandLine.arguments.count else { return nil }
    return CommandLine.arguments[position + 1]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("strata-journal-test-service: \(message)\n".utf8))
    exit(2)
}

guard let memberText = argument("--member"), let member = HostAndPort(parsing: memberText) else { fail("--member HOST:PORT is required") }
guard let membersText = argument("--members") else { fail("--members is required") }
let members = membersText.split(separator: ",").compactMap { HostAndPort(parsing: String($0)) }
guard let directory = argument("--dir") else { fail("--dir is required") }

StrataLogging.bootstrap(level: .info)
let logger = Logger(label: "journal-test@\(member)")
var configuration = RaftNodeConfiguration(address: member, members: members, directory: directory,
                                          clusterID: Array("strata-test-clus".utf8))
configuration.formatIfMissing = true
configuration.sync = !CommandLine.arguments.contains("--unsafe-flush")
configuration.tickInterval = .milliseconds(20)
let electionMilliseconds = Int(argument("--election-timeout-ms") ?? "400") ?? 400
configuration.options.electionTimeoutTicks = max(3, electionMilliseconds / 20)
configuration.options.heartbeatIntervalTicks = max(1, (Int(argument("--heartbeat-ms") ?? "40") ?? 40) / 20)
configuration.checkpointPeriodEntries = UInt64(argument("--checkpoint-entries") ?? "1000000") ?? 1_000_000
configuration.segmentSizeMaxBytes = 256 << 10
configuration.compressSnapshots = CommandLine.arguments.contains("--compress-snapshots")
configuration.snapshotChunkSizeBytes = Int(argument("--snapshot-chunk-bytes") ?? "4194304") ?? 4 << 20

configuration.proposalsPendingMax = Int(argument("--proposals-pending-max") ?? "") ?? RaftNode.proposalsPendingMax
configuration.nonServing = (argument("--non-serving") ?? "").split(separator: ",").compactMap { HostAndPort(parsing: String($0)) }
// A journal node keeps the log and the snapshots shipped to it, and takes none of its own.
configuration.keepsOwnState = !configuration.nonServing.contains(member)

/// A journal node's state machine: it holds nothing.
struct NoState: ReplicatedStateMachine {
    func apply(_ entries: [LogEntry]) async {}
    func snapshot() async -> @Sendable () -> [UInt8] { preconditionFailure("a journal node takes no snapshot") }
    func restore(_ data: [UInt8]) async throws {}
}

let list = PayloadList()
let node: RaftNode
do {
    node = try await RaftNode(configuration: configuration, stateMachine: configuration.keepsOwnState ? list : NoState() as any ReplicatedStateMachine, logger: logger)
} catch {
    fail("\(error)")
}

var handlers = RPCHandlers()
node.register(into: &handlers)
handlers.register(TestServiceMethods.propose) { request, _ in
    do {
        let index = try await node.propose(request.data)
        return EchoResponse(data: [], sequence: UInt32(truncatingIfNeeded: index))
    } catch let error as ProposalError {
        switch error.code {
        case .notLeader: throw RPCError(.notLeader, error.message, leaderHint: error.leaderHint?.description)
        case .outcomeUnknown, .stopped, .overloaded: throw RPCError(.unavailable, error.message)
        case .noSpace: throw RPCError(.resourceExhausted, error.message)
        case .refused: throw RPCError(.failedPrecondition, error.message)
        }
    }
}
handlers.register(TestServiceMethods.status) { _, _ in
    let status = await node.status
    let text = "\(status.role.rawValue) \(status.term) \(status.leader?.description ?? "-") \(status.commitIndex) \(status.appliedIndex) \(status.snapshotIndex)"
    return EchoResponse(data: Array(text.utf8))
}
handlers.register(TestServiceMethods.applied) { _, _, writer in
    for (index, payload) in await list.entries {
        try await writer.send(EchoResponse(data: payload, sequence: UInt32(truncatingIfNeeded: index)))
    }
}

let server: RPCServer
do {
    server = try await RPCServer.bind(host: member.host, port: member.port, handlers: handlers, frameSizeMaxBytes: 16 << 20, logger: logger)
} catch {
    fail("\(error)")
}
logger.info("serving on \(server.localAddress)")
try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await node.run() }
    group.addTask { try await server.run() }
    try await group.next()
    group.cancelAll()
}
