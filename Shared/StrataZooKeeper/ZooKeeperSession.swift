import CZooKeeper
import Foundation
import StrataCore
import Synchronization

/// What a node looked like when an operation saw it (the fields Strata uses of ZooKeeper's Stat).
public struct ZooKeeperStat: Sendable, Equatable {
    public var version: Int32
    public var childrenVersion: Int32
    /// The session owning an ephemeral node; 0 for a persistent one.
    public var ephemeralOwner: Int64
    public var dataLengthBytes: Int32
    public var childCount: Int32
    public var creationZxid: Int64
    public var modificationZxid: Int64
}

public enum ZooKeeperCreateMode: Sendable {
    case persistent, ephemeral, persistentSequential, ephemeralSequential
}

/// A change of the session's connection, delivered in order on `ZooKeeperSession.events`.
public enum ZooKeeperSessionEvent: Sendable, Equatable {
    /// Connected (first time, or again after a disconnection, with the same session).
    case connected
    /// The connection was lost; the client is reconnecting and the session may still be alive.
    case disconnected
    /// The servers ended the session: its ephemeral nodes are gone and the handle is unusable.
    case expired
    case authenticationFailed
    /// `close()` was called.
    case closed
}

/// What ended a one-shot watch.
public enum ZooKeeperWatchEvent: Sendable, Equatable {
    case created, deleted, dataChanged, childrenChanged
    /// The session expired or was closed: the watch will never fire.
    case sessionEnded
}

/// One ZooKeeper session over the multi-threaded C client. The C handle, its callbacks and every
/// pointer stay inside this file; callers see async functions, typed errors and async sequences.
///
/// A session that expires stays expired (ZooKeeper's rule): its owner opens a new one.
public final class ZooKeeperSession: Sendable {
    public struct Options: Sendable {
        /// Servers as `host:port`, tried in random order by the C client.
        public var servers: [String]
        public var sessionTimeout: Duration
        /// How long `connect` waits for the first connection.
        public var connectionTimeout: Duration
        /// Deadline of each operation (a disconnected client queues requests until it reconnects).
        public var operationTimeout: Duration

        public init(servers: [String], sessionTimeout: Duration, connectionTimeout: Duration, operationTimeout: Duration = .seconds(10)) {
            precondition(!servers.isEmpty, "a ZooKeeper session needs at least one server")
            self.servers = servers
            self.sessionTimeout = sessionTimeout
            self.connectionTimeout = connectionTimeout
            self.operationTimeout = operationTimeout
        }

        public var connectString: String { servers.joined(separator: ",") }
    }

    public let options: Options
    /// Session events, newest 64 kept for a slow reader.
    public var events: AsyncStream<ZooKeeperSessionEvent> { sink.events }
    private let sink: SessionSink
    /// The C handle; the C client itself is thread-safe.
    nonisolated(unsafe) private let handle: OpaquePointer

    /// The handle, carried to the thread that closes it.
    private struct HandleBox: @unchecked Sendable { let pointer: OpaquePointer }

    /// A session's id and password: a second handle opened with them joins the same session
    /// (how tests make the servers expire a session: open it again, then close it).
    struct Credentials: Sendable {
        var id: Int64
        var password: [CChar]
    }

    /// Opens a session and waits until it is connected (`options.connectionTimeout`).
    public static func connect(_ options: Options) async throws(ZooKeeperError) -> ZooKeeperSession {
        try await connect(options, resuming: nil)
    }

    static func connect(_ options: Options, resuming credentials: Credentials?) async throws(ZooKeeperError) -> ZooKeeperSession {
        let session = try ZooKeeperSession(options: options, resuming: credentials)
        let connected = await session.waitConnected(timeout: options.connectionTimeout)
        guard connected else {
            let last = session.lastEvent
            await session.close()
            if last == .authenticationFailed {
                throw ZooKeeperError(code: .authFailed, message: "ZooKeeper \(options.connectString) refused the session's authentication")
            }
            throw ZooKeeperError(code: .connectionLoss,
                                 message: "cannot connect to ZooKeeper at \(options.connectString) within \(options.connectionTimeout) (strata.zookeeper.connection.timeout)")
        }
        return session
    }

    private init(options: Options, resuming credentials: Credentials?) throws(ZooKeeperError) {
        self.options = options
        let sink = SessionSink(key: Registry.nextKey())
        self.sink = sink
        Registry.shared.withLock { $0.sessions[sink.key] = sink }
        ZooKeeperSession.configureLogging()
        let timeoutMilliseconds = Int32(clamping: options.sessionTimeout.milliseconds)
        var clientID = clientid_t()
        if let credentials {
            clientID.client_id = credentials.id
            withUnsafeMutableBytes(of: &clientID.passwd) { bytes in
                for (position, byte) in credentials.password.prefix(bytes.count).enumerated() { bytes[position] = UInt8(bitPattern: byte) }
            }
        }
        let made = credentials == nil
            ? zookeeper_init(options.connectString, zooKeeperSessionWatcher, timeoutMilliseconds, nil, UnsafeMutableRawPointer(bitPattern: sink.key), 0)
            : zookeeper_init(options.connectString, zooKeeperSessionWatcher, timeoutMilliseconds, &clientID, UnsafeMutableRawPointer(bitPattern: sink.key), 0)
        guard let made else {
            let code = errno
            Registry.shared.withLock { _ = $0.sessions.removeValue(forKey: sink.key) }
            throw ZooKeeperError(code: .badArguments, message: "cannot start a ZooKeeper client for '\(options.connectString)': \(String(cString: strerror(code)))")
        }
        handle = made
    }

    deinit {
        if !sink.isClosed {
            // Not closed by its owner: close without waiting (the C client joins its threads).
            let box = HandleBox(pointer: handle)
            Thread.detachNewThread { _ = zookeeper_close(box.pointer) }
        }
        Registry.shared.withLock { _ = $0.sessions.removeValue(forKey: sink.key) }
    }

    /// Ends the session: its ephemeral nodes go at once; pending operations fail.
    public func close() async {
        guard sink.markClosed() else { return }
        // zookeeper_close joins the client's threads: not on the cooperative pool.
        let box = HandleBox(pointer: handle)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                _ = zookeeper_close(box.pointer)
                continuation.resume()
            }
        }
        sink.deliver(.closed)
        Registry.endWatches(of: sink.key)
    }

    /// The session id (0 before the first connection); ZooKeeper keeps it across reconnections.
    public var sessionID: Int64 {
        guard !sink.isClosed, let id = zoo_client_id(handle) else { return 0 }
        return id.pointee.client_id
    }

    /// The session's id and password, once connected.
    var credentials: Credentials? {
        guard !sink.isClosed, let id = zoo_client_id(handle) else { return nil }
        let password = withUnsafeBytes(of: id.pointee.passwd) { Array($0.bindMemory(to: CChar.self)) }
        return Credentials(id: id.pointee.client_id, password: password)
    }

    /// The latest session event.
    public var lastEvent: ZooKeeperSessionEvent? { sink.last }

    public var isConnected: Bool { lastEvent == .connected }

    public var isExpired: Bool { lastEvent == .expired }

    /// Waits until connected; false after `timeout` or if the session ended.
    public func waitConnected(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            switch lastEvent {
            case .connected: return true
            case .expired, .closed, .authenticationFailed: return false
            default: try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return isConnected
    }

    private static let loggingConfigured = Mutex(false)

    /// The C client logs every reconnection attempt (every few milliseconds while the servers
    /// are down) to stderr; the wrapper surfaces the same facts as session events, which callers
    /// log once, so the C client's own logging is turned off, unless `STRATA_ZK_C_LOG` (1 errors …
    /// 4 debug) asks for it, for diagnosing.
    private static func configureLogging() {
        loggingConfigured.withLock { done in
            guard !done else { return }
            done = true
            zoo_set_debug_level(ZooLogLevel(rawValue: UInt32(ProcessInfo.processInfo.environment["STRATA_ZK_C_LOG"].flatMap(UInt32.init) ?? 0)))
        }
    }

    // MARK: Operations

    /// Creates `path` holding `data`; returns the created path (with the sequence suffix for
    /// sequential modes).
    @discardableResult
    public func create(_ path: String, data: [UInt8] = [], mode: ZooKeeperCreateMode = .persistent) async throws(ZooKeeperError) -> String {
        let flags: Int32 = switch mode {
        case .persistent: ZOO_PERSISTENT
        case .ephemeral: ZOO_EPHEMERAL
        case .persistentSequential: ZOO_PERSISTENT_SEQUENTIAL
        case .ephemeralSequential: ZOO_EPHEMERAL_SEQUENTIAL
        }
        let completion = try await perform("create", path) { context in
            data.withUnsafeBytes { bytes in
                zoo_acreate(self.handle, path, bytes.bindMemory(to: CChar.self).baseAddress, Int32(data.count), strata_zoo_open_acl(), flags,
                            zooKeeperStringCompletion, context)
            }
        }
        return completion.string ?? path
    }

    /// Creates `path` and any missing parents as persistent nodes; an existing node is fine.
    public func createParents(_ path: String) async throws(ZooKeeperError) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            do {
                try await create(prefix)
            } catch where error.code == .nodeExists {
                continue
            }
        }
    }

    /// Deletes `path` (only at `version`, unless -1).
    public func delete(_ path: String, version: Int32 = -1) async throws(ZooKeeperError) {
        _ = try await perform("delete", path) { context in zoo_adelete(self.handle, path, version, zooKeeperVoidCompletion, context) }
    }

    /// The node's data and stat.
    public func data(_ path: String) async throws(ZooKeeperError) -> ([UInt8], ZooKeeperStat) {
        let completion = try await perform("get", path) { context in zoo_aget(self.handle, path, 0, zooKeeperDataCompletion, context) }
        return (completion.data ?? [], completion.stat!)
    }

    /// Replaces the node's data (only at `version`, unless -1).
    @discardableResult
    public func setData(_ path: String, _ data: [UInt8], version: Int32 = -1) async throws(ZooKeeperError) -> ZooKeeperStat {
        let completion = try await perform("set", path) { context in
            data.withUnsafeBytes { bytes in
                zoo_aset(self.handle, path, bytes.bindMemory(to: CChar.self).baseAddress, Int32(data.count), version, zooKeeperStatCompletion, context)
            }
        }
        return completion.stat!
    }

    /// The node's stat, or nil if it does not exist.
    public func exists(_ path: String) async throws(ZooKeeperError) -> ZooKeeperStat? {
        do {
            return try await perform("exists", path) { context in zoo_aexists(self.handle, path, 0, zooKeeperStatCompletion, context) }.stat
        } catch where error.code == .noNode {
            return nil
        }
    }

    /// Waits until the server this session talks to has caught up with the leader as of now, so
    /// that a read after it sees every write committed before the call (ZooKeeper's reads are
    /// otherwise served from the server's possibly stale copy).
    public func sync(_ path: String) async throws(ZooKeeperError) {
        _ = try await perform("sync", path) { context in zoo_async(self.handle, path, zooKeeperStringCompletion, context) }
    }

    /// The names of the node's children.
    public func children(_ path: String) async throws(ZooKeeperError) -> [String] {
        try await perform("get children", path) { context in
            zoo_aget_children(self.handle, path, 0, zooKeeperStringsCompletion, context)
        }.strings ?? []
    }

    /// The node's stat (nil if absent) and a watch that yields once when it is created, deleted
    /// or changed (or `.sessionEnded`).
    public func existsWatching(_ path: String) async throws(ZooKeeperError) -> (ZooKeeperStat?, AsyncStream<ZooKeeperWatchEvent>) {
        let (completion, stream) = try await watching("exists", path, absentIsFine: true) { context, watch in
            zoo_awexists(self.handle, path, zooKeeperWatchCallback, watch, zooKeeperStatCompletion, context)
        }
        return (completion?.stat, stream)
    }

    /// The node's data and a watch that yields once when it changes or is deleted.
    public func dataWatching(_ path: String) async throws(ZooKeeperError) -> ([UInt8], AsyncStream<ZooKeeperWatchEvent>) {
        let (completion, stream) = try await watching("get", path) { context, watch in
            zoo_awget(self.handle, path, zooKeeperWatchCallback, watch, zooKeeperDataCompletion, context)
        }
        return (completion?.data ?? [], stream)
    }

    /// The node's children and a watch that yields once when they change.
    public func childrenWatching(_ path: String) async throws(ZooKeeperError) -> ([String], AsyncStream<ZooKeeperWatchEvent>) {
        let (completion, stream) = try await watching("get children", path) { context, watch in
            zoo_awget_children(self.handle, path, zooKeeperWatchCallback, watch, zooKeeperStringsCompletion, context)
        }
        return (completion?.strings ?? [], stream)
    }

    /// Runs a watching operation with a fresh watch key; a watch the server did not set (the
    /// operation failed) is ended at once. With `absentIsFine`, a missing node is a nil completion
    /// (an exists-watch is set on a missing node too).
    private func watching(_ operation: String, _ path: String, absentIsFine: Bool = false,
                          _ start: @escaping (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32)
        async throws(ZooKeeperError) -> (Completion?, AsyncStream<ZooKeeperWatchEvent>) {
        let (watchKey, stream) = registerWatch()
        do {
            let completion = try await perform(operation, path) { context in start(context, UnsafeMutableRawPointer(bitPattern: watchKey)) }
            return (completion, stream)
        } catch where absentIsFine && error.code == .noNode {
            return (nil, stream)
        } catch {
            cancelWatch(watchKey)
            throw error
        }
    }

    /// A node's data every time it changes (nil while it does not exist), starting with its
    /// current data; ends when the session ends. Watches are set again after each change.
    public func dataUpdates(_ path: String) -> AsyncStream<[UInt8]?> {
        AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let task = Task {
                while !Task.isCancelled {
                    do {
                        let (stat, watch) = try await existsWatching(path)
                        if stat != nil {
                            continuation.yield(try? await data(path).0)
                        } else {
                            continuation.yield(nil)
                        }
                        var ended = false
                        for await event in watch { ended = event == .sessionEnded }
                        if ended { break }
                    } catch let error as ZooKeeperError {
                        if error.code == .sessionExpired || error.code == .closing || error.code == .invalidState { break }
                        try? await Task.sleep(for: .milliseconds(200))
                    } catch {
                        break
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Plumbing

    private func registerWatch() -> (UInt, AsyncStream<ZooKeeperWatchEvent>) {
        let (stream, continuation) = AsyncStream.makeStream(of: ZooKeeperWatchEvent.self, bufferingPolicy: .bufferingNewest(1))
        let watchKey = Registry.nextKey()
        Registry.shared.withLock { $0.watches[watchKey] = Registry.WatchEntry(session: sink.key, continuation: continuation) }
        return (watchKey, stream)
    }

    /// Forgets a watch whose operation failed: the server set no watch, so it would never fire.
    private func cancelWatch(_ watchKey: UInt) {
        if let watch = Registry.shared.withLock({ $0.watches.removeValue(forKey: watchKey) }) { watch.fire(.sessionEnded) }
    }

    /// Starts an asynchronous C operation with a completion key and waits for its completion (or
    /// the operation timeout).
    private func perform(_ operation: String, _ path: String,
                         _ start: @escaping (UnsafeMutableRawPointer?) -> Int32) async throws(ZooKeeperError) -> Completion {
        guard !sink.isClosed else {
            throw ZooKeeperError(code: .closing, message: "ZooKeeper \(operation) \(path) failed: the session is closed")
        }
        let completionKey = Registry.nextKey()
        let timeout = options.operationTimeout
        let completion: Completion = await withTaskGroup(of: Void.self) { group in
            // The timeout: completes the operation as timed out unless the C client did first;
            // cancelled (and so ended) as soon as the operation completes.
            group.addTask {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { Registry.complete(completionKey, Completion(rc: ZOPERATIONTIMEOUT.rawValue)) }
            }
            let completion: Completion = await withCheckedContinuation { continuation in
                Registry.shared.withLock { $0.completions[completionKey] = continuation }
                let rc = start(UnsafeMutableRawPointer(bitPattern: completionKey))
                if rc != ZOK.rawValue { Registry.complete(completionKey, Completion(rc: rc)) }
            }
            group.cancelAll()
            return completion
        }
        if let error = ZooKeeperError(rawCode: completion.rc, operation: operation, path: path) { throw error }
        return completion
    }
}

// MARK: - C callbacks

/// What a C completion reported, copied out of the C client's buffers.
struct Completion: Sendable {
    var rc: Int32
    var string: String?
    var data: [UInt8]?
    var stat: ZooKeeperStat?
    var strings: [String]?
}

/// Keys passed to the C client as context pointers (plain integers, never dereferenced), so that
/// no Swift object's lifetime depends on the C client calling back.
enum Registry {
    struct WatchEntry {
        var session: UInt
        var continuation: AsyncStream<ZooKeeperWatchEvent>.Continuation
        func fire(_ event: ZooKeeperWatchEvent) {
            continuation.yield(event)
            continuation.finish()
        }
    }

    struct Tables {
        var sessions: [UInt: SessionSink] = [:]
        var watches: [UInt: WatchEntry] = [:]
        var completions: [UInt: CheckedContinuation<Completion, Never>] = [:]
    }

    static let shared = Mutex(Tables())
    private static let counter = Atomic<UInt>(1)

    static func nextKey() -> UInt { counter.add(1, ordering: .relaxed).newValue }

    /// Resumes the waiter of `key` once (a timeout and the real completion may race).
    static func complete(_ key: UInt, _ completion: Completion) {
        shared.withLock { $0.completions.removeValue(forKey: key) }?.resume(returning: completion)
    }

    static func key(_ pointer: UnsafeRawPointer?) -> UInt { UInt(bitPattern: pointer) }

    /// Fires every watch of a session that ended (they will never fire otherwise).
    static func endWatches(of session: UInt) {
        let ended = shared.withLock { registry -> [WatchEntry] in
            let mine = registry.watches.filter { $0.value.session == session }
            for watchKey in mine.keys { registry.watches[watchKey] = nil }
            return Array(mine.values)
        }
        for watch in ended { watch.fire(.sessionEnded) }
    }
}

/// A session's event state, reachable from the C watcher through the registry.
final class SessionSink: Sendable {
    let key: UInt
    let events: AsyncStream<ZooKeeperSessionEvent>
    private let continuation: AsyncStream<ZooKeeperSessionEvent>.Continuation
    private let state = Mutex<(last: ZooKeeperSessionEvent?, closed: Bool)>((nil, false))

    init(key: UInt) {
        self.key = key
        (events, continuation) = AsyncStream.makeStream(of: ZooKeeperSessionEvent.self, bufferingPolicy: .bufferingNewest(64))
    }

    var last: ZooKeeperSessionEvent? { state.withLock { $0.last } }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// True the first time.
    func markClosed() -> Bool {
        state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
    }

    func deliver(_ event: ZooKeeperSessionEvent) {
        let deliver = state.withLock { state -> Bool in
            guard state.last != .closed, !(state.closed && event != .closed) else { return false }
            state.last = event
            return true
        }
        guard deliver else { return }
        continuation.yield(event)
        if event == .closed || event == .expired { continuation.finish() }
    }
}

private func stat(_ pointer: UnsafePointer<Stat>?) -> ZooKeeperStat? {
    guard let value = pointer?.pointee else { return nil }
    return ZooKeeperStat(version: value.version, childrenVersion: value.cversion, ephemeralOwner: value.ephemeralOwner,
                         dataLengthBytes: value.dataLength, childCount: value.numChildren,
                         creationZxid: value.czxid, modificationZxid: value.mzxid)
}

private let zooKeeperSessionWatcher: watcher_fn = { _, type, state, _, context in
    guard type == ZOO_SESSION_EVENT else { return }
    let event: ZooKeeperSessionEvent
    if state == ZOO_CONNECTED_STATE {
        event = .connected
    } else if state == ZOO_EXPIRED_SESSION_STATE {
        event = .expired
    } else if state == ZOO_AUTH_FAILED_STATE {
        event = .authenticationFailed
    } else {
        event = .disconnected
    }
    let key = Registry.key(context)
    Registry.shared.withLock { $0.sessions[key] }?.deliver(event)
    if event == .expired || event == .authenticationFailed { Registry.endWatches(of: key) }
}

private let zooKeeperWatchCallback: watcher_fn = { _, type, state, _, context in
    let event: ZooKeeperWatchEvent
    if type == ZOO_CREATED_EVENT { event = .created }
    else if type == ZOO_DELETED_EVENT { event = .deleted }
    else if type == ZOO_CHANGED_EVENT { event = .dataChanged }
    else if type == ZOO_CHILD_EVENT { event = .childrenChanged }
    else if type == ZOO_SESSION_EVENT, state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE { event = .sessionEnded }
    else { return } // a disconnection: the watch stays set and fires after reconnecting
    Registry.shared.withLock { $0.watches.removeValue(forKey: Registry.key(context)) }?.fire(event)
}

private let zooKeeperVoidCompletion: void_completion_t = { rc, context in
    Registry.complete(Registry.key(context), Completion(rc: rc))
}

private let zooKeeperStringCompletion: string_completion_t = { rc, value, context in
    Registry.complete(Registry.key(context), Completion(rc: rc, string: value.map { String(cString: $0) }))
}

private let zooKeeperStatCompletion: stat_completion_t = { rc, value, context in
    Registry.complete(Registry.key(context), Completion(rc: rc, stat: stat(value)))
}

private let zooKeeperDataCompletion: data_completion_t = { rc, value, length, statPointer, context in
    var data: [UInt8]? = nil
    if let value, length > 0 {
        data = value.withMemoryRebound(to: UInt8.self, capacity: Int(length)) { Array(UnsafeBufferPointer(start: $0, count: Int(length))) }
    }
    Registry.complete(Registry.key(context), Completion(rc: rc, data: data, stat: stat(statPointer)))
}

private let zooKeeperStringsCompletion: strings_completion_t = { rc, vector, context in
    var names: [String]? = nil
    if let vector = vector?.pointee, vector.count > 0, let items = vector.data {
        names = (0..<Int(vector.count)).compactMap { items[$0].map { String(cString: $0) } }
    }
    Registry.complete(Registry.key(context), Completion(rc: rc, strings: names))
}
