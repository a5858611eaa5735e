import Foundation
import NIOConcurrencyHelpers
import StrataCore
import StrataTesting
import StrataWire
import Testing

/// A real three-process embedded-journal group (the journal test service), with kill -9.
@Suite struct JournalGroupTests {
    static let propose = RPCMethod<EchoRequest, EchoResponse>(id: 0x00FE_0001, name: "TestService.Propose")
    static let status = RPCMethod<EchoRequest, EchoResponse>(id: 0x00FE_0002, name: "TestService.Status")
    static let applied = RPCStreamMethod<EchoRequest, EchoResponse>(id: 0x00FE_0003, name: "TestService.Applied")

    struct Member {
        let address: HostAndPort
        let arguments: [String]
        let client: RPCClient
    }

    static func start(_ harness: ProcessHarness, count: Int, extra: [String] = []) async throws -> ([Member], [String: TestProcess]) {
        let ports = try await ProcessHarness.freePorts(count)
        let addresses = ports.map { HostAndPort(host: "127.0.0.1", port: $0) }
        let list = addresses.map(\.description).joined(separator: ",")
        var members: [Member] = []
        var processes: [String: TestProcess] = [:]
        for (position, address) in addresses.enumerated() {
            let arguments = ["--member", address.description, "--members", list, "--dir", harness.directory + "/m\(position + 1)/journal"] + extra
            processes[address.description] = try harness.start("strata-journal-test-service", name: "m\(position + 1)", properties: [:], arguments: arguments)
            members.append(Member(address: address, arguments: arguments,
                                  client: RPCClient(address: address, frameSizeMaxBytes: 16 << 20, connectTimeout: .milliseconds(300))))
        }
        return (members, processes)
    }

    /// The member that says it leads, waiting up to `timeout`.
    static func leader(_ members: [Member], except excluded: HostAndPort? = nil, timeout: Duration = .seconds(20)) async throws -> HostAndPort {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for member in members where member.address != excluded {
                if let status = try? await member.client.call(status, EchoRequest(data: []), deadline: .milliseconds(500)),
                   String(decoding: status.data, as: UTF8.self).hasPrefix("LEADER") {
                    return member.address
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("no leader within \(timeout)")
    }

    static func appliedPayloads(_ member: Member) async throws -> [String] {
        var payloads: [String] = []
        for try await item in try await member.client.stream(applied, EchoRequest(data: []), deadline: .seconds(10)) {
            payloads.append(String(decoding: item.message.data, as: UTF8.self))
        }
        return payloads
    }

    /// Proposes `payload` until some leader acknowledges it, following leader hints and retrying
    /// through failover (the state machine ignores a payload it already has).
    static func proposeUntilAcknowledged(_ payload: String, members: [Member], leaderHint: NIOLockedValueBox<HostAndPort?>) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let target = leaderHint.withLockedValue { $0 } ?? members[0].address
            let client = members.first { $0.address == target }!.client
            do {
                _ = try await client.call(propose, EchoRequest(data: Array(payload.utf8)), deadline: .seconds(2))
                return
            } catch {
                if error.code == .notLeader, let hint = error.leaderHint.flatMap(HostAndPort.init(parsing:)) {
                    leaderHint.withLockedValue { $0 = hint }
                } else {
                    leaderHint.withLockedValue { current in
                        let others = members.map(\.address).filter { $0 != target }
                        current = others[Int.random(in: 0..<others.count)]
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        }
        throw HarnessError("\(payload) was not acknowledged within 30s")
    }

    /// Without and with frequent checkpoints: with them, the restarted member is behind the
    /// compacted log and must catch up from a snapshot streamed in small compressed chunks.
    /// A leader whose followers hang cannot commit; proposals wait, but only up to the bound:
    /// past it each is refused at once with a retryable UNAVAILABLE naming the bound, so the
    /// queue (and the memory behind it) stops growing. Once the followers return, it serves.
    @Test func proposalsWaitingToCommitAreBounded() async throws {
        try await ProcessHarness.with("journal-bounded") { harness in
            let (members, processes) = try await Self.start(harness, count: 3, extra: ["--proposals-pending-max", "8", "--election-timeout-ms", "3000"])
            let leader = try await Self.leader(members)
            let leaderMember = members.first { $0.address == leader }!
            let followers = members.filter { $0.address != leader }.map { processes[$0.address.description]! }
            for follower in followers { follower.signal(SIGSTOP) }
            let answers = await withTaskGroup(of: RPCError?.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await leaderMember.client.call(Self.propose, EchoRequest(data: Array("stuck\(index)".utf8)), deadline: .seconds(2))
                            return nil
                        } catch let error as RPCError {
                            return error
                        } catch {
                            return RPCError(.internal, "\(error)")
                        }
                    }
                }
                var answers: [RPCError?] = []
                for await answer in group { answers.append(answer) }
                return answers
            }
            for follower in followers { follower.signal(SIGCONT) }
            let refused = answers.compactMap { $0 }.filter { $0.message.contains("waiting to commit, its bound (8)") }
            #expect(refused.count == 32, "\(answers.map { $0.map(String.init(describing:)) ?? "ok" })")
            #expect(refused.allSatisfy { $0.code == .unavailable })
            #expect(!answers.contains { $0 == nil }, "a proposal committed without a quorum")
            try await Self.proposeUntilAcknowledged("after", members: members, leaderHint: NIOLockedValueBox(leader))
        }
    }

    @Test(arguments: [[], ["--checkpoint-entries", "40", "--compress-snapshots", "--snapshot-chunk-bytes", "256"]])
    func killedLeaderIsReplacedAndNothingAcknowledgedIsLost(extra: [String]) async throws {
        try await ProcessHarness.with("journal-group") { harness in
            let (members, processes) = try await Self.start(harness, count: 3, extra: extra)
            let firstLeader = try await Self.leader(members)
            let leaderHint = NIOLockedValueBox<HostAndPort?>(firstLeader)
            let acknowledged = NIOLockedValueBox<[String]>([])
            let killedAt = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
            let firstAfterKill = NIOLockedValueBox<Duration?>(nil)
            let total = 300

            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for sequence in stride(from: worker, to: total, by: 4) {
                            let payload = "p\(sequence)"
                            try await Self.proposeUntilAcknowledged(payload, members: members, leaderHint: leaderHint)
                            let count = acknowledged.withLockedValue { $0.append(payload); return $0.count }
                            if let killed = killedAt.withLockedValue({ $0 }) {
                                firstAfterKill.withLockedValue { $0 = $0 ?? (ContinuousClock.now - killed) }
                            }
                            if count == 100 {
                                processes[firstLeader.description]!.kill()
                                killedAt.withLockedValue { $0 = .now }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let newLeader = try await Self.leader(members, except: firstLeader)
            #expect(newLeader != firstLeader)
            print("journal group: leader \(firstLeader) killed; \(newLeader) leads; next acknowledgement after \(firstAfterKill.withLockedValue { $0 }.map { "\($0)" } ?? "?")")

            // Bring the killed member back; it must catch up to exactly the same list.
            let killed = members.first { $0.address == firstLeader }!
            let restarted = try harness.start("strata-journal-test-service", name: "m-restarted", properties: [:], arguments: killed.arguments)
            let expected = Set(acknowledged.withLockedValue { $0 })
            #expect(expected.count == total)
            var lists: [[String]] = []
            for member in members {
                let deadline = ContinuousClock.now + .seconds(30)
                var payloads: [String] = []
                while ContinuousClock.now < deadline {
                    payloads = (try? await Self.appliedPayloads(member)) ?? []
                    if expected.isSubset(of: Set(payloads)) { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                try #require(expected.isSubset(of: Set(payloads)), "\(member.address) is missing \(expected.subtracting(payloads).count) acknowledged payloads")
                #expect(payloads.count == Set(payloads).count, "\(member.address) applied a payload twice")
                lists.append(payloads)
            }
            #expect(lists.allSatisfy { $0 == lists[0] }, "members applied different sequences")
            if extra.contains("--checkpoint-entries") {
                #expect(restarted.log().contains("installed snapshot"), "the restarted member should have caught up from a snapshot:\n\(restarted.log())")
            }
            for member in members { await member.client.close() }
        }
    }
}
