import Foundation
import StrataCore
import StrataRaft
import StrataWire
import Testing
@testable import StrataJournal

/// Membership carries member addresses (so a member added at run time can be reached by all), in
/// log entries, snapshot metadata on the wire, join answers and the saved base membership.
@Suite struct MembershipTests {
    let membership = Membership(voters: [11, 22], learners: [33], nonServing: [33],
                                addresses: [11: "10.0.0.1:19200", 22: "10.0.0.2:19200", 33: "journal-3:19200"])

    @Test func entryEncodingCarriesAddresses() {
        #expect(Membership(decoding: membership.encoded) == membership)
        #expect(membership.encoded.first == 2)
        // Version 1 (no addresses) still reads.
        let plain = Membership(voters: [11, 22])
        #expect(plain.encoded.first == 1)
        #expect(Membership(decoding: plain.encoded) == plain)
        // An address for a member outside the group, or a truncated address, is refused.
        var bytes = membership.encoded
        bytes.removeLast()
        #expect(Membership(decoding: bytes) == nil)
        #expect(membership.description.contains("journal-3:19200*"))
    }

    @Test func snapshotMetaOnTheWireCarriesAddresses() throws {
        let message = RaftMessage(from: 11, to: 33, term: 4, body: .snapshot(SnapshotMeta(index: 90, term: 4, membership: membership)))
        let batch = RaftMessageBatch(clusterID: Array(repeating: 1, count: 16), messages: [message], storageID: 0xfeed)
        let decoded = try RaftMessageBatch(decoding: try batch.encoded())
        #expect(decoded == batch)
    }

    @Test func joinMessagesRoundTrip() throws {
        let request = JoinQuorumRequest(clusterID: Array(repeating: 7, count: 16), address: "10.0.0.4:19200", nonServing: true, storageID: 42)
        #expect(try JoinQuorumRequest(decoding: try request.encoded()) == request)
        for response in [
            JoinQuorumResponse(outcome: .added, lastIndex: 120, membership: membership),
            JoinQuorumResponse(outcome: .notLeader, leaderAddress: "10.0.0.2:19200", lastIndex: 5),
        ] {
            #expect(try JoinQuorumResponse(decoding: try response.encoded()) == response)
        }
        var proto = ProtoMessage()
        proto.set(1, UInt32(9))
        let unknown = #expect(throws: WireError.self) { try JoinQuorumResponse(proto: proto) }
        #expect(unknown?.message.contains("unknown join outcome 9") == true)
        proto.set(1, UInt32(2))
        proto.set(4, [UInt8]([2, 200]))
        #expect(throws: WireError.self) { try JoinQuorumResponse(proto: proto) }
    }

    @Test func baseMembershipFileRoundTripsAndDamageIsNamed() throws {
        let directory = NSTemporaryDirectory() + "strata-membership-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try MembershipBaseFile.read(directory: directory) == nil)
        try MembershipBaseFile.write(membership, directory: directory, sync: true)
        #expect(try MembershipBaseFile.read(directory: directory) == membership)
        let path = directory + "/" + MembershipBaseFile.fileName
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[10] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let damaged = #expect(throws: JournalError.self) { try MembershipBaseFile.read(directory: directory) }
        #expect(damaged?.message == "corrupt membership file \(path)")
    }
}
