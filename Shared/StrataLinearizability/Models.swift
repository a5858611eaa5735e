/// Registers by key: write, read, compare-and-set. Keys are independent, so a history is
/// checked key by key.
public struct RegisterModel: LinearizabilityModel {
    public enum Input: Sendable, Hashable {
        case write(key: String, value: Int)
        case read(key: String)
        case compareAndSet(key: String, expected: Int?, new: Int)

        public var key: String {
            switch self {
            case .write(let key, _), .read(let key), .compareAndSet(let key, _, _): key
            }
        }
    }

    public enum Output: Sendable, Hashable {
        case ok
        case value(Int?)
        case swapped(Bool)
    }

    public init() {}

    /// One partition holds one key, so the state is that key's value (nil: never written).
    public var initialState: Int? { nil }

    public func step(_ state: Int?, _ input: Input, _ output: Output?) -> Int?? {
        switch input {
        case .write(_, let value):
            guard output == nil || output == .ok else { return nil }
            return .some(value)
        case .read:
            guard output == nil || output == .value(state) else { return nil }
            return .some(state)
        case .compareAndSet(_, let expected, let new):
            let swapped = state == expected
            guard output == nil || output == .swapped(swapped) else { return nil }
            return .some(swapped ? new : state)
        }
    }

    public func partition(_ history: [Operation<Input, Output>]) -> [[Operation<Input, Output>]] {
        Dictionary(grouping: history, by: \.input.key).sorted { $0.key < $1.key }.map(\.value)
    }
}

/// A namespace of files in directories that exist throughout the history: create, delete,
/// getStatus, rename and list, with Strata's answers for files (ALREADY_EXISTS, NOT_FOUND).
/// Directories themselves are not modelled (no creating, deleting or renaming them), so a
/// history must keep to files. Operations on different top-level directories are independent
/// unless one operation joins them (a rename between them, a listing of the root).
public struct NamespaceModel: LinearizabilityModel {
    public enum Input: Sendable, Hashable {
        case create(String)
        case delete(String)
        case getStatus(String)
        case rename(String, String)
        /// The names directly under a directory.
        case list(String)

        /// Whether it lists the root or names a file at the root (which a listing of the root sees).
        var touchesRoot: Bool {
            if case .list(let directory) = self { return NamespaceModel.top(directory).isEmpty }
            return paths.contains { $0.split(separator: "/").count <= 1 }
        }

        var paths: [String] {
            switch self {
            case .create(let path), .delete(let path), .getStatus(let path), .list(let path): [path]
            case .rename(let source, let destination): [source, destination]
            }
        }
    }

    public enum Output: Sendable, Hashable {
        case ok
        case alreadyExists
        case notFound
        case exists
        case listing([String])
    }

    public init() {}

    public var initialState: Set<String> { [] }

    public func step(_ state: Set<String>, _ input: Input, _ output: Output?) -> Set<String>? {
        var next = state
        let answer: Output
        switch input {
        case .create(let path):
            answer = next.insert(path).inserted ? .ok : .alreadyExists
        case .delete(let path):
            answer = next.remove(path) != nil ? .ok : .notFound
        case .getStatus(let path):
            answer = state.contains(path) ? .exists : .notFound
        case .rename(let source, let destination):
            if !state.contains(source) {
                answer = .notFound
            } else if state.contains(destination) {
                answer = .alreadyExists
            } else {
                next.remove(source)
                next.insert(destination)
                answer = .ok
            }
        case .list(let directory):
            let prefix = directory.hasSuffix("/") ? directory : directory + "/"
            answer = .listing(state.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
                .map { String($0.dropFirst(prefix.count)) }.sorted())
        }
        guard output == nil || output == answer else { return nil }
        return next
    }

    /// The top-level directory of a path ("/a/b" → "a").
    static func top(_ path: String) -> Substring { path.split(separator: "/").first ?? "" }

    public func partition(_ history: [Operation<Input, Output>]) -> [[Operation<Input, Output>]] {
        // A listing of the root (or anything at the root) sees every top-level name: one partition.
        if history.contains(where: { $0.input.touchesRoot }) {
            return history.isEmpty ? [] : [history]
        }
        // Union-find over top-level directories: an operation touching two joins them.
        var parent: [Substring: Substring] = [:]
        func find(_ name: Substring) -> Substring {
            var root = name
            while let up = parent[root], up != root { root = up }
            return root
        }
        for operation in history {
            let tops = operation.input.paths.map(Self.top)
            for top in tops where parent[top] == nil { parent[top] = top }
            for top in tops.dropFirst() {
                let (a, b) = (find(tops[0]), find(top))
                if a != b { parent[b] = a }
            }
        }
        return Dictionary(grouping: history) { find(Self.top($0.input.paths[0])) }.sorted { $0.key < $1.key }.map(\.value)
    }
}

/// Jobs of the job service. A submit creates a job under a fresh id the service picks; a job's
/// state only moves forward (CREATED → RUNNING → a final state: COMPLETED, FAILED, CANCELED) and a
/// final state never changes; a job that was submitted is never NOT_FOUND afterwards. Each job is
/// checked on its own: its submit and the status reads of it. A submit with no answer has no id,
/// and nobody can ask about its job: it constrains nothing and is left out.
public struct JobModel: LinearizabilityModel {
    public enum Input: Sendable, Hashable {
        /// `tag` tells submits apart in a history (the service picks the id).
        case submit(tag: Int)
        case status(UInt64)
    }

    public enum Output: Sendable, Hashable {
        case submitted(UInt64)
        /// A `JobStatus` raw value: 1 CREATED, 2 RUNNING, 3 and up final.
        case state(UInt8)
        case notFound
    }

    public static let created: UInt8 = 1
    public static let firstFinal: UInt8 = 3

    public init() {}

    /// One partition holds one job: nil before its submit, else the state last seen.
    public var initialState: UInt8? { nil }

    public func step(_ state: UInt8?, _ input: Input, _ output: Output?) -> UInt8?? {
        switch input {
        case .submit:
            guard state == nil else { return nil }
            guard output == nil || { if case .submitted = output! { true } else { false } }() else { return nil }
            return .some(Self.created)
        case .status:
            switch output {
            case nil: return .some(state)
            case .notFound?: return state == nil ? .some(nil) : nil
            case .state(let seen)?:
                guard let current = state, Self.follows(seen, current) else { return nil }
                return .some(seen)
            case .submitted?: return nil
            }
        }
    }

    /// Whether a job in `current` may next be seen in `next`.
    static func follows(_ next: UInt8, _ current: UInt8) -> Bool {
        next == current || (current < firstFinal && next > current)
    }

    public func partition(_ history: [Operation<Input, Output>]) -> [[Operation<Input, Output>]] {
        var byJob: [UInt64: [Operation<Input, Output>]] = [:]
        for operation in history {
            switch (operation.input, operation.outcome) {
            case (.submit, .completed(.submitted(let id))): byJob[id, default: []].append(operation)
            case (.submit, _): continue
            case (.status(let id), _): byJob[id, default: []].append(operation)
            }
        }
        return byJob.sorted { $0.key < $1.key }.map(\.value)
    }
}
