import Foundation
import StrataTesting
import Testing
@testable import StrataZooKeeper

/// The session wrapper against a real ZooKeeper server (Debian's package, started here).
@Suite(.serialized) struct ZooKeeperSessionTests {
    func options(_ ensemble: ZooKeeperEnsemble, sessionTimeout: Duration = .seconds(4)) -> ZooKeeperSession.Options {
        ZooKeeperSession.Options(servers: ensemble.connectString.split(separator: ",").map(String.init),
                                 sessionTimeout: sessionTimeout, connectionTimeout: .seconds(10), operationTimeout: .seconds(5))
    }

    @Test func nodesDataChildrenAndErrors() async throws {
        try await ProcessHarness.with("zk-session") { harness in
            let ensemble = try await ZooKeeperEnsemble.start(harness)
            let session = try await ZooKeeperSession.connect(options(ensemble))
            #expect(session.isConnected)
            #expect(session.sessionID != 0)
            try await session.createParents("/strata/test/deep")
            try await session.createParents("/strata/test/deep") // existing parents are fine
            try await session.create("/strata/test/node", data: Array("hello".utf8))
            try await session.sync("/strata/test/node")  // a linearizable read: sync, then get
            let (data, stat) = try await session.data("/strata/test/node")
            #expect(String(decoding: data, as: UTF8.self) == "hello")
            #expect(stat.version == 0)
            let updated = try await session.setData("/strata/test/node", Array("again".utf8), version: 0)
            #expect(updated.version == 1)
            // A stale version is refused with a typed error naming the node.
            let stale = await #expect(throws: ZooKeeperError.self) { try await session.setData("/strata/test/node", [], version: 0) }
            #expect(stale?.code == .badVersion)
            #expect(stale?.message.contains("/strata/test/node") == true)
            let exists = await #expect(throws: ZooKeeperError.self) { try await session.create("/strata/test/node") }
            #expect(exists?.code == .nodeExists)
            let missing = await #expect(throws: ZooKeeperError.self) { try await session.data("/strata/none") }
            #expect(missing?.code == .noNode)
            #expect(try await session.exists("/strata/none") == nil)

            let first = try await session.create("/strata/test/seq-", mode: .ephemeralSequential)
            let second = try await session.create("/strata/test/seq-", mode: .ephemeralSequential)
            #expect(first < second)
            #expect(first.hasPrefix("/strata/test/seq-"))
            #expect(try await session.exists(first)?.ephemeralOwner == session.sessionID)
            let children = try await session.children("/strata/test").sorted()
            #expect(children == ["deep", "node", String(first.split(separator: "/").last!), String(second.split(separator: "/").last!)].sorted())
            try await session.delete("/strata/test/node")
            #expect(try await session.exists("/strata/test/node") == nil)

            // Ephemeral nodes go with the session.
            await session.close()
            #expect(session.lastEvent == .closed)
            let other = try await ZooKeeperSession.connect(options(ensemble))
            #expect(try await other.exists(first) == nil)
            let closed = await #expect(throws: ZooKeeperError.self) { try await session.exists("/strata") }
            #expect(closed?.code == .closing)
            await other.close()
        }
    }

    @Test func watchesFireOnceAsAsyncSequences() async throws {
        try await ProcessHarness.with("zk-watch") { harness in
            let ensemble = try await ZooKeeperEnsemble.start(harness)
            let watcher = try await ZooKeeperSession.connect(options(ensemble))
            let writer = try await ZooKeeperSession.connect(options(ensemble))
            try await writer.createParents("/w")
            let (absent, created) = try await watcher.existsWatching("/w/a")
            #expect(absent == nil)
            try await writer.create("/w/a", data: [1])
            var events: [ZooKeeperWatchEvent] = []
            for await event in created { events.append(event) }
            #expect(events == [.created])

            let (_, changed) = try await watcher.dataWatching("/w/a")
            let (children, childWatch) = try await watcher.childrenWatching("/w")
            #expect(children == ["a"])
            try await writer.setData("/w/a", [2])
            try await writer.create("/w/b")
            var changes: [ZooKeeperWatchEvent] = []
            for await event in changed { changes.append(event) }
            for await event in childWatch { changes.append(event) }
            #expect(changes == [.dataChanged, .childrenChanged])

            // dataUpdates re-arms: current value, then each change, nil when deleted.
            var updates = watcher.dataUpdates("/w/a").makeAsyncIterator()
            #expect(await updates.next() == .some([2]))
            try await writer.setData("/w/a", [3])
            #expect(await updates.next() == .some([3]))
            try await writer.delete("/w/a")
            #expect(await updates.next() == .some(nil))
            await watcher.close()
            await writer.close()
        }
    }

    @Test func sessionExpiryIsSurfacedAndEndsWatches() async throws {
        try await ProcessHarness.with("zk-expiry") { harness in
            let ensemble = try await ZooKeeperEnsemble.start(harness)
            let session = try await ZooKeeperSession.connect(options(ensemble, sessionTimeout: .seconds(2)))
            try await session.create("/ephemeral", mode: .ephemeral)
            let (_, watch) = try await session.existsWatching("/never")
            // The servers expire a session when another handle opens it with its credentials and
            // closes it.
            let credentials = try #require(session.credentials)
            let twin = try await ZooKeeperSession.connect(options(ensemble, sessionTimeout: .seconds(2)), resuming: credentials)
            await twin.close()
            var events: [ZooKeeperSessionEvent] = []
            for await event in session.events {
                events.append(event)
                if event == .expired { break }
            }
            #expect(events.last == .expired)
            #expect(session.isExpired)
            var fired: [ZooKeeperWatchEvent] = []
            for await event in watch { fired.append(event) }
            #expect(fired == [.sessionEnded])
            let failed = await #expect(throws: ZooKeeperError.self) { try await session.exists("/ephemeral") }
            #expect(failed?.code == .sessionExpired || failed?.code == .invalidState)
            await session.close()
            let fresh = try await ZooKeeperSession.connect(options(ensemble))
            #expect(try await fresh.exists("/ephemeral") == nil)
            await fresh.close()
        }
    }

    @Test func unreachableServersFailWithAClearError() async throws {
        let ports = try await ProcessHarness.freePorts(1)
        let options = ZooKeeperSession.Options(servers: ["127.0.0.1:\(ports[0])"], sessionTimeout: .seconds(2), connectionTimeout: .milliseconds(800))
        let error = await #expect(throws: ZooKeeperError.self) { try await ZooKeeperSession.connect(options) }
        #expect(error?.code == .connectionLoss)
        #expect(error?.message.contains("127.0.0.1:\(ports[0])") == true)
        #expect(error?.message.contains("strata.zookeeper.connection.timeout") == true)
    }
}
