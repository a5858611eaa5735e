import Testing
@testable import StrataZooKeeper

/// The C client's codes must map to the right Swift codes with the library's own message;
/// if they did not, callers would treat a missing node as a lost connection (or the reverse).
@Suite struct ZooKeeperErrorTests {
    @Test func okIsNotAnError() {
        #expect(ZooKeeperError(rawCode: 0, operation: "create") == nil)
    }

    @Test func knownCodesMapWithTheLibraryMessage() throws {
        let noNode = try #require(ZooKeeperError(rawCode: -101, operation: "get", path: "/strata/leader"))
        #expect(noNode.code == .noNode)
        #expect(noNode.message == "ZooKeeper get /strata/leader failed: no node (-101)")
        #expect(!noNode.isTransient)

        let lost = try #require(ZooKeeperError(rawCode: -4, operation: "create"))
        #expect(lost.code == .connectionLoss)
        #expect(lost.isTransient)
        #expect(lost.message.contains("connection loss"))

        #expect(ZooKeeperError(rawCode: -112, operation: "exists")?.code == .sessionExpired)
        #expect(ZooKeeperError(rawCode: -110, operation: "create")?.code == .nodeExists)
    }

    @Test func unknownCodesAreKept() throws {
        let unknown = try #require(ZooKeeperError(rawCode: -999, operation: "sync"))
        #expect(unknown.code == .other(-999))
        #expect(unknown.rawCode == -999)
    }
}
