import StrataCore
import Testing
@testable import StrataNamespace

/// The namespace's semantics, errors and determinism. A failure here means masters could
/// disagree about the file system, or users would see the wrong error.
@Suite struct NamespaceTests {
    func path(_ text: String) -> StrataPath { try! StrataPath(text) }

    func record(_ command: NamespaceCommand, time: Int64 = 1000, operation: OperationID? = nil) -> NamespaceRecord {
        NamespaceRecord(operationID: operation, timeMilliseconds: time, command: command)
    }

    func created(_ namespace: inout Namespace, directory text: String, recursive: Bool = false) {
        var options = CreateOptions()
        options.recursive = recursive
        let outcome = namespace.apply(record(.createDirectory(path(text), options)))
        guard case .success = outcome else { Issue.record("mkdir \(text): \(outcome)"); return }
    }

    func createdFile(_ namespace: inout Namespace, _ text: String) {
        let outcome = namespace.apply(record(.createFile(path(text), CreateOptions())))
        guard case .success = outcome else { Issue.record("create \(text): \(outcome)"); return }
    }

    func failure(_ outcome: NamespaceOutcome) -> NamespaceError? {
        if case .failure(let error) = outcome { return error }
        return nil
    }

    @Test func pathsAreValidated() throws {
        #expect(try StrataPath("/a//b/").description == "/a/b")
        #expect(try StrataPath("/").isRoot)
        for bad in ["", "a/b", "/a/../b", "/a/./b", "/" + String(repeating: "x", count: 256), "/a\u{0}b"] {
            let error = #expect(throws: NamespaceError.self) { try StrataPath(bad) }
            #expect(error?.code == .invalidPath, "\(bad)")
        }
        #expect(throws: NamespaceError.self) { try StrataPath.root.appending("a/b") }
        #expect(try StrataPath("/a/b").isDescendant(of: StrataPath("/a")))
        #expect(!(try StrataPath("/ab").isDescendant(of: StrataPath("/a"))))
    }

    @Test func directoriesAndFiles() throws {
        var namespace = Namespace(rootUFS: "/ufs")
        created(&namespace, directory: "/a")
        createdFile(&namespace, "/a/f")
        #expect(failure(namespace.apply(record(.createDirectory(path("/a"), CreateOptions()))))?.code == .fileAlreadyExists)
        #expect(failure(namespace.apply(record(.createFile(path("/x/y"), CreateOptions()))))?.code == .fileDoesNotExist)
        #expect(failure(namespace.apply(record(.createFile(path("/a/f/g"), CreateOptions()))))?.code == .notADirectory)
        var recursive = CreateOptions()
        recursive.recursive = true
        #expect(failure(namespace.apply(record(.createDirectory(path("/p/q/r"), recursive)))) == nil)
        #expect(namespace.exists(path("/p/q")))
        var allowExists = CreateOptions()
        allowExists.allowExists = true
        #expect(failure(namespace.apply(record(.createDirectory(path("/p"), allowExists)))) == nil)

        let file = try namespace.status(path("/a/f"))
        #expect(!file.inode.completed)
        #expect(file.inode.creationTimeMilliseconds == 1000)
        let completed = namespace.apply(record(.completeFile(path("/a/f"), lengthBytes: 42, blockIDs: [7]), time: 2000))
        guard case .success(let status?) = completed else { Issue.record("\(completed)"); return }
        #expect(status.inode.lengthBytes == 42 && status.inode.completed && status.inode.modificationTimeMilliseconds == 2000)
        #expect(failure(namespace.apply(record(.completeFile(path("/a/f"), lengthBytes: 1, blockIDs: []))))?.code == .fileAlreadyCompleted)
        #expect(failure(namespace.apply(record(.completeFile(path("/a"), lengthBytes: 1, blockIDs: []))))?.code == .notAFile)

        #expect(try namespace.list(path("/")).map(\.path.description) == ["/a", "/p"])
        #expect(try namespace.list(path("/"), recursive: true).map(\.path.description) == ["/a", "/a/f", "/p", "/p/q", "/p/q/r"])
        #expect(try namespace.list(path("/a/f")).map(\.path.description) == ["/a/f"])
        #expect(throws: NamespaceError.self) { try namespace.list(path("/nope")) }
    }

    @Test func deleteRules() throws {
        var namespace = Namespace(rootUFS: "/ufs")
        created(&namespace, directory: "/d/e", recursive: true)
        createdFile(&namespace, "/d/e/f")
        #expect(failure(namespace.apply(record(.delete(path("/d"), recursive: false))))?.code == .directoryNotEmpty)
        #expect(failure(namespace.apply(record(.delete(path("/"), recursive: true))))?.code == .invalidPath)
        #expect(failure(namespace.apply(record(.delete(path("/nope"), recursive: true))))?.code == .fileDoesNotExist)
        let before = namespace.inodeCount
        #expect(failure(namespace.apply(record(.delete(path("/d"), recursive: true)))) == nil)
        #expect(namespace.inodeCount == before - 3)
        #expect(!namespace.exists(path("/d")))
    }

    @Test func renameRules() throws {
        var namespace = Namespace(rootUFS: "/ufs")
        created(&namespace, directory: "/a/b", recursive: true)
        createdFile(&namespace, "/a/b/f")
        created(&namespace, directory: "/c")
        let moved = namespace.apply(record(.rename(path("/a/b"), to: path("/c/b2")), time: 5))
        guard case .success(let status?) = moved else { Issue.record("\(moved)"); return }
        #expect(status.path.description == "/c/b2")
        #expect(namespace.exists(path("/c/b2/f")))
        #expect(!namespace.exists(path("/a/b")))
        #expect(try namespace.status(path("/a")).inode.modificationTimeMilliseconds == 5)
        #expect(failure(namespace.apply(record(.rename(path("/c"), to: path("/c/b2/x")))))?.code == .invalidPath)
        #expect(failure(namespace.apply(record(.rename(path("/c/b2"), to: path("/a")))))?.code == .fileAlreadyExists)
        #expect(failure(namespace.apply(record(.rename(path("/c/b2"), to: path("/zz/top")))))?.code == .fileDoesNotExist)
        #expect(failure(namespace.apply(record(.rename(path("/nope"), to: path("/x")))))?.code == .fileDoesNotExist)
        #expect(failure(namespace.apply(record(.rename(path("/"), to: path("/x")))))?.code == .invalidPath)
        // Not across mount points.
        #expect(failure(namespace.apply(record(.mount(path("/m"), ufsURI: "/other", readOnly: false, shared: false)))) == nil)
        let across = failure(namespace.apply(record(.rename(path("/c/b2"), to: path("/m/b2")))))
        #expect(across?.code == .accessControl)
        #expect(across?.message.contains("across mount points") == true)
    }

    @Test func mountsAndUnderStorageListings() throws {
        var namespace = Namespace(rootUFS: "/ufs")
        #expect(failure(namespace.apply(record(.mount(path("/m"), ufsURI: "/data/x", readOnly: true, shared: false)))) == nil)
        #expect(failure(namespace.apply(record(.mount(path("/n"), ufsURI: "/data/x/y", readOnly: false, shared: false))))?.code == .invalidArgument)
        #expect(failure(namespace.apply(record(.mount(path("/m"), ufsURI: "/elsewhere", readOnly: false, shared: false))))?.code == .fileAlreadyExists)
        #expect(namespace.mount(containing: path("/m/a/b")).mount.ufsURI == "/data/x")
        #expect(namespace.mount(containing: path("/m/a/b")).relative == ["a", "b"])
        #expect(namespace.mount(containing: path("/q")).mount.path.isRoot)
        #expect(failure(namespace.apply(record(.delete(path("/m"), recursive: true))))?.code == .accessControl)

        // The first listing of an under-storage directory is recorded.
        #expect(!(try namespace.status(path("/m")).inode.childrenLoaded))
        let entries = [
            UFSEntry(name: "old.txt", isDirectory: false, lengthBytes: 10, modificationTimeMilliseconds: 77, mode: 0o644, owner: "u", group: "g", fingerprint: "10:77"),
            UFSEntry(name: "sub", isDirectory: true, lengthBytes: 0, modificationTimeMilliseconds: 78, mode: 0o755, owner: "u", group: "g", fingerprint: ""),
            UFSEntry(name: "..", isDirectory: true, lengthBytes: 0, modificationTimeMilliseconds: 78, mode: 0o755, owner: "u", group: "g", fingerprint: ""),
        ]
        #expect(failure(namespace.apply(record(.loadDirectory(path("/m"), entries: entries)))) == nil)
        let file = try namespace.status(path("/m/old.txt"))
        #expect(file.inode.lengthBytes == 10 && file.inode.completed && file.inode.persistence == .persisted)
        #expect(file.inode.ufsFingerprint == "10:77")
        #expect(try namespace.status(path("/m")).inode.childrenLoaded)
        #expect(!(try namespace.status(path("/m/sub")).inode.childrenLoaded))
        #expect(try namespace.list(path("/m")).count == 2)

        #expect(failure(namespace.apply(record(.unmount(path("/")))))?.code == .accessControl)
        #expect(failure(namespace.apply(record(.unmount(path("/m/sub")))))?.code == .invalidPath)
        #expect(failure(namespace.apply(record(.unmount(path("/m"))))) == nil)
        #expect(!namespace.exists(path("/m")))
        #expect(namespace.mounts.count == 1)
    }

    @Test func setAttributeRecursive() throws {
        var namespace = Namespace(rootUFS: "/ufs")
        created(&namespace, directory: "/a/b", recursive: true)
        createdFile(&namespace, "/a/b/f")
        var options = SetAttributeOptions()
        options.pinned = true
        options.mode = 0o700
        options.recursive = true
        #expect(failure(namespace.apply(record(.setAttribute(path("/a"), options)))) == nil)
        #expect(try namespace.status(path("/a/b/f")).inode.pinned)
        #expect(try namespace.status(path("/a/b/f")).inode.mode == 0o700)
        var bad = SetAttributeOptions()
        bad.replicationMin = 3
        bad.replicationMax = 1
        #expect(failure(namespace.apply(record(.setAttribute(path("/a"), bad))))?.code == .invalidArgument)
    }

    @Test func retriedOperationsApplyOnce() throws {
        var namespace = Namespace(rootUFS: "/ufs", operationsRememberedMax: 3)
        let id = OperationID(client: 9, sequence: 1)
        let first = namespace.apply(record(.createFile(path("/f"), CreateOptions()), operation: id))
        // The same operation again (a retry after failover) gets the first answer, not ALREADY_EXISTS.
        #expect(namespace.apply(record(.createFile(path("/f"), CreateOptions()), operation: id)) == first)
        #expect(namespace.inodeCount == 2)
        // A different operation creating the same file does fail.
        #expect(failure(namespace.apply(record(.createFile(path("/f"), CreateOptions()), operation: OperationID(client: 9, sequence: 2))))?.code == .fileAlreadyExists)
        // Memory is bounded: old operation ids are forgotten.
        for sequence in 3...6 { _ = namespace.apply(record(.createDirectory(path("/d\(sequence)"), CreateOptions()), operation: OperationID(client: 9, sequence: UInt64(sequence)))) }
        #expect(namespace.recentOperations.count == 3)
        #expect(namespace.recentOperations[id] == nil)
    }

    @Test func recordsRoundTrip() throws {
        var create = CreateOptions()
        create.recursive = true
        create.owner = "alice"
        create.blockSizeBytes = 1 << 20
        create.ttlMilliseconds = 60_000
        var attributes = SetAttributeOptions()
        attributes.pinned = false
        attributes.owner = "bob"
        attributes.replicationMax = 3
        attributes.recursive = true
        var persisting = SetAttributeOptions()
        persisting.persistence = .toBePersisted
        var persisted = SetAttributeOptions()
        persisted.persistence = .persisted
        var touched = CreateOptions()
        touched.completeEmpty = true
        let commands: [NamespaceCommand] = [
            .createFile(path("/a/t"), touched),
            .createDirectory(path("/a/b"), create), .createFile(path("/a/ü"), CreateOptions()),
            .completeFile(path("/a/f"), lengthBytes: 1 << 40, blockIDs: [1, 2, UInt64.max]),
            .completeFile(path("/a/g"), lengthBytes: 5, blockIDs: [9], persistence: .toBePersisted),
            .setAttribute(path("/a/g"), persisting), .setAttribute(path("/a/g"), persisted),
            .delete(path("/a"), recursive: true), .rename(path("/a"), to: path("/b")),
            .setAttribute(path("/a"), attributes), .setAttribute(path("/a"), SetAttributeOptions()),
            .mount(path("/m"), ufsURI: "/data", readOnly: true, shared: true), .unmount(path("/m")),
            .loadDirectory(path("/m"), entries: [UFSEntry(name: "x", isDirectory: false, lengthBytes: 3, modificationTimeMilliseconds: 4, mode: 0o600, owner: "o", group: "g", fingerprint: "3:4")]),
        ]
        for (position, command) in commands.enumerated() {
            let original = NamespaceRecord(operationID: position % 2 == 0 ? OperationID(client: 1, sequence: UInt64(position)) : nil,
                                           timeMilliseconds: Int64(position) * 1000 - 7, command: command)
            #expect(try NamespaceCodec.decodeRecord(NamespaceCodec.encode(original)) == original)
        }
        #expect(throws: NamespaceError.self) { try NamespaceCodec.decodeRecord([9, 1]) }
        #expect(throws: NamespaceError.self) { try NamespaceCodec.decodeRecord(Array(NamespaceCodec.encode(NamespaceRecord(operationID: nil, timeMilliseconds: 0, command: .unmount(path("/m")))).dropLast())) }
    }

    /// Random operations applied to two namespaces, one restored from the other's snapshot half
    /// way: they must end identical. Replaying must be deterministic for standbys to agree.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func randomHistoriesReplayAndSnapshotIdentically(seed: UInt64) throws {
        var random = SeededRandom(seed)
        var records: [NamespaceRecord] = []
        let names = ["a", "b", "c", "d"]
        func randomPath() -> StrataPath {
            let depth = Int(random.next() % 3) + 1
            return try! StrataPath("/" + (0..<depth).map { _ in names[Int(random.next() % 4)] }.joined(separator: "/"))
        }
        for step in 0..<400 {
            var options = CreateOptions()
            options.recursive = random.next() % 2 == 0
            let command: NamespaceCommand
            switch random.next() % 7 {
            case 0: command = .createDirectory(randomPath(), options)
            case 1: command = .createFile(randomPath(), options)
            case 2: command = .completeFile(randomPath(), lengthBytes: Int64(random.next() % 1000), blockIDs: [random.next()])
            case 3: command = .delete(randomPath(), recursive: random.next() % 2 == 0)
            case 4: command = .rename(randomPath(), to: randomPath())
            case 5:
                var attributes = SetAttributeOptions()
                attributes.pinned = random.next() % 2 == 0
                attributes.recursive = true
                command = .setAttribute(randomPath(), attributes)
            default: command = .createDirectory(randomPath(), options)
            }
            records.append(NamespaceRecord(operationID: OperationID(client: 1, sequence: UInt64(step % 50)), timeMilliseconds: Int64(step), command: command))
        }
        var first = Namespace(rootUFS: "/ufs", operationsRememberedMax: 40)
        var second = Namespace(rootUFS: "/ufs", operationsRememberedMax: 40)
        var outcomes: [NamespaceOutcome] = []
        for record in records { outcomes.append(first.apply(NamespaceRecord(operationID: record.operationID, timeMilliseconds: record.timeMilliseconds, command: try NamespaceCodec.decodeRecord(NamespaceCodec.encode(record)).command))) }
        for (position, record) in records.enumerated() {
            if position == 200 { second = try Namespace(snapshot: second.encodedSnapshot()) }
            #expect(second.apply(record) == outcomes[position], "seed \(seed) step \(position)")
        }
        #expect(first.encodedSnapshot() == second.encodedSnapshot(), "seed \(seed)")
        let restored = try Namespace(snapshot: first.encodedSnapshot())
        #expect(restored.encodedSnapshot() == first.encodedSnapshot())
        #expect(try restored.list(.root, recursive: true) == first.list(.root, recursive: true))
    }

    @Test func anEmptyFileIsCreatedCompleteInOneRecord() throws {
        var namespace = Namespace(rootUFS: "/ufs")
        var options = CreateOptions()
        options.completeEmpty = true
        guard case .success(let status?) = namespace.apply(record(.createFile(path("/t"), options))) else { Issue.record("create failed"); return }
        #expect(status.inode.completed && status.lengthBytes == 0)
        let restored = try Namespace(snapshot: namespace.encodedSnapshot())
        #expect(try restored.status(path("/t")).inode.completed)
        guard case .failure(let error) = namespace.apply(record(.completeFile(path("/t"), lengthBytes: 0, blockIDs: []))) else {
            Issue.record("completed twice"); return
        }
        #expect(error.code == .fileAlreadyCompleted)
    }

    @Test func malformedSnapshotsAreRejected() throws {
        var namespace = Namespace(rootUFS: "/ufs")
        created(&namespace, directory: "/a")
        let bytes = namespace.encodedSnapshot()
        #expect(throws: NamespaceError.self) { try Namespace(snapshot: Array(bytes.dropLast(3))) }
        #expect(throws: NamespaceError.self) { try Namespace(snapshot: [NamespaceCodec.snapshotFormat + 1] + bytes.dropFirst()) }
        #expect(throws: NamespaceError.self) { try Namespace(snapshot: [1] + bytes.dropFirst()) } // an older format
        #expect(throws: NamespaceError.self) { try Namespace(snapshot: []) }
    }
}

struct SeededRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
