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
