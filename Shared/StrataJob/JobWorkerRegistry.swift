/// The job workers the leading job master hears from, with what each runs and how far it got.
/// Not journaled: a new leader learns it again from the next heartbeats (a job worker reports to
/// whichever job master leads). Pure: times are passed in.
public struct JobWorkerRegistry: Sendable {
    public struct Progress: Sendable, Equatable {
        public var filesDone: Int
        public var bytesDone: Int64

        public init(filesDone: Int, bytesDone: Int64) {
            self.filesDone = filesDone
            self.bytesDone = bytesDone
        }
    }

    public struct Entry: Sendable, Equatable {
        public var id: UInt64
        public var address: String
        /// Changes when the worker process restarts.
        public var session: UInt64
        public var poolSize: Int
        public var hasBlockStore: Bool
        public var lastHeartbeatMilliseconds: Int64
        public var firstHeartbeatMilliseconds: Int64
        /// Attempts running there, with their progress.
        public var running: [TaskKey: Progress]
    }

    public private(set) var workers: [UInt64: Entry] = [:]

    public init() {}

    /// Records a heartbeat; true when the worker is new to this master or restarted.
    @discardableResult
    public mutating func heartbeat(id: UInt64, address: String, session: UInt64, poolSize: Int, hasBlockStore: Bool,
                                   running: [TaskKey: Progress], nowMilliseconds: Int64) -> Bool {
        let known = workers[id]
        let isNew = known == nil || known?.session != session
        workers[id] = Entry(id: id, address: address, session: session, poolSize: poolSize, hasBlockStore: hasBlockStore,
                            lastHeartbeatMilliseconds: nowMilliseconds,
                            firstHeartbeatMilliseconds: isNew ? nowMilliseconds : known!.firstHeartbeatMilliseconds,
                            running: running)
        return isNew
    }

    /// Removes workers not heard from within `timeoutMilliseconds`; returns them.
    public mutating func expire(nowMilliseconds: Int64, timeoutMilliseconds: Int64) -> [Entry] {
        let lost = workers.values.filter { nowMilliseconds - $0.lastHeartbeatMilliseconds > timeoutMilliseconds }.sorted { $0.id < $1.id }
        for entry in lost { workers[entry.id] = nil }
        return lost
    }

    public mutating func removeAll() { workers = [:] }

    public var live: Set<UInt64> { Set(workers.keys) }

    /// Every worker, by id.
    public var entries: [Entry] { workers.values.sorted { $0.id < $1.id } }

    /// What the running attempts of a job have done so far (not yet journaled).
    public func progress(ofJob job: UInt64) -> Progress {
        var total = Progress(filesDone: 0, bytesDone: 0)
        for entry in workers.values {
            for (key, progress) in entry.running where key.job == job {
                total.filesDone += progress.filesDone
                total.bytesDone += progress.bytesDone
            }
        }
        return total
    }
}
