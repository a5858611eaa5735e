import StrataCore
import Testing
@testable import StrataNamespace

/// The packed inode store against plain dictionaries doing the same: a wrong rank in a chunk or
/// a probe run broken by a removal would lose or misplace inodes and children.
@Suite struct InodeStoreTests {
    func record(parent: UInt64, name: String) -> PackedInode {
        PackedInode(parentID: parent, name: name, creationTimeMilliseconds: 1, modificationTimeMilliseconds: 2, lengthBytes: 0,
                    blockSizeBytes: 0, principal: 0, mode: 0o644, flags: [])
    }

    /// The figure the memory budget rests on (docs/architecture.md): a field added carelessly
    /// would grow every inode.
    @Test func aPackedInodeTakes64Bytes() {
        #expect(MemoryLayout<PackedInode>.stride == 64)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func tableMatchesADictionary(seed: UInt64) {
        var random = SeededRandom(seed)
        var table = InodeTable()
        var model: [UInt64: String] = [:]
        var next: UInt64 = 1
        for step in 0..<20_000 {
            let choice = random.next() % 10
            if choice < 6 || model.isEmpty {
                // Mostly new ids, sometimes an old one freed earlier (as a snapshot load of sparse ids would).
                let id = choice == 0 ? random.next() % (next + 1) + 1 : next
                guard model[id] == nil else { continue }
                table.insert(record(parent: 0, name: "n\(id)"), id: id)
                model[id] = "n\(id)"
                next = max(next, id + 1)
            } else {
                let victim = model.keys.randomElement(using: &random)!
                #expect(table.remove(victim)?.name == "n\(victim)", "step \(step)")
                model[victim] = nil
                #expect(table.remove(victim) == nil)
            }
            if step % 1_000 == 0 {
                #expect(table.count == model.count)
                var seen: [UInt64] = []
                table.forEach { id, stored in
                    seen.append(id)
                    #expect(stored.name == model[id])
                }
                #expect(seen == model.keys.sorted(), "forEach goes in id order over exactly what is stored")
                for _ in 0..<50 {
                    let id = random.next() % (next + 2)
                    #expect(table[id]?.name == model[id])
                }
            }
        }
    }

    /// Memory follows the live inodes, not the highest id: a long-lived namespace (or a hostile
    /// snapshot, as the journal fuzzer found) may hold ids near 2^40 with few inodes.
    @Test func sparseIdsHoldOnlyTheirOwnChunks() throws {
        var table = InodeTable()
        let far = ChildTable.idLimit - 1
        table.insert(record(parent: 0, name: "root"), id: 1)
        table.insert(record(parent: 1, name: "far"), id: far)
        table.insert(record(parent: 1, name: "middle"), id: far / 2)
        #expect(table.chunks.count == 3)
        #expect(table[far]?.name == "far" && table[far / 2]?.name == "middle" && table[2] == nil && table[far - 1] == nil)
        #expect(table[ChildTable.idLimit] == nil && table[UInt64.max] == nil, "ids beyond the limit are simply absent")
        var order: [UInt64] = []
        table.forEach { id, _ in order.append(id) }
        #expect(order == [1, far / 2, far])
        #expect(table.remove(far / 2)?.name == "middle")
        #expect(table.chunks.count == 2, "a chunk left empty is dropped")

        var namespace = Namespace(rootUFS: "/ufs")
        namespace.nextInodeID = far - 1
        _ = namespace.apply(NamespaceRecord(operationID: nil, timeMilliseconds: 1, command: .createFile(try StrataPath("/f"), CreateOptions())))
        let restored = try Namespace(snapshot: namespace.encodedSnapshot())
        #expect(restored.store.table.chunks.count == 2)
        #expect(try restored.status(StrataPath("/f")).id == far - 1)
    }

    @Test(arguments: [UInt64(4), 5, 6])
    func childrenMatchADictionary(seed: UInt64) {
        var random = SeededRandom(seed)
        var store = InodeStore()
        _ = store.principal(owner: "", group: "")
        store.insert(PackedInode(parentID: 0, name: "", creationTimeMilliseconds: 0, modificationTimeMilliseconds: 0, lengthBytes: 0,
                                 blockSizeBytes: 0, principal: 0, mode: 0o755, flags: [.directory]), id: 1, extras: InodeExtras())
        store.makeDirectory(1)
        var model: [String: UInt64] = [:]
        var next: UInt64 = 2
        for step in 0..<20_000 {
            // Few distinct names, so that removals and re-insertions meet inside probe runs.
            let name = "f\(random.next() % 3_000)"
            if let id = model[name] {
                #expect(store.unlink(named: name, from: 1) == id, "step \(step)")
                store.remove(id)
                model[name] = nil
            } else {
                store.insert(record(parent: 1, name: name), id: next, extras: InodeExtras())
                store.link(next, named: name, into: 1)
                model[name] = next
                next += 1
            }
            if step % 500 == 0 {
                #expect(store.childCount(of: 1) == model.count)
                for probe in 0..<3_000 { #expect(store.child(named: "f\(probe)", in: 1) == model["f\(probe)"]) }
                #expect(store.sortedChildren(of: 1).map(\.name) == model.keys.sorted())
            }
        }
    }

    @Test func aSnapshotViewIsNotChangedByLaterApplies() throws {
        var namespace = Namespace(rootUFS: "/ufs")
        var options = CreateOptions()
        options.recursive = true
        for index in 0..<600 {
            _ = namespace.apply(NamespaceRecord(operationID: nil, timeMilliseconds: 1, command: .createFile(try StrataPath("/d/f\(index)"), options)))
        }
        let view = namespace
        let before = view.encodedSnapshot()
        _ = namespace.apply(NamespaceRecord(operationID: nil, timeMilliseconds: 2, command: .delete(try StrataPath("/d/f7"), recursive: false)))
        _ = namespace.apply(NamespaceRecord(operationID: nil, timeMilliseconds: 2, command: .rename(try StrataPath("/d/f8"), to: try StrataPath("/g8"))))
        _ = namespace.apply(NamespaceRecord(operationID: nil, timeMilliseconds: 3, command: .completeFile(try StrataPath("/d/f9"), lengthBytes: 5, blockIDs: [77], persistence: .notPersisted)))
        #expect(view.encodedSnapshot() == before)
        let removed = try StrataPath("/d/f7")
        #expect(view.exists(removed))
        #expect(!namespace.exists(removed))
        #expect(try namespace.status(try StrataPath("/d/f9")).inode.blockIDs == [77])
        #expect(try view.status(try StrataPath("/d/f9")).inode.blockIDs == [])
    }

    @Test func periodicScansSelectFromThePackedRecords() throws {
        var namespace = Namespace(rootUFS: "/ufs")
        func apply(_ command: NamespaceCommand) { _ = namespace.apply(NamespaceRecord(operationID: nil, timeMilliseconds: 1, command: command)) }
        for name in ["a", "b", "c", "d", "open"] { apply(.createFile(try StrataPath("/\(name)"), CreateOptions())) }
        for name in ["a", "b", "c", "d"] { apply(.completeFile(try StrataPath("/\(name)"), lengthBytes: 1, blockIDs: [])) }
        var pin = SetAttributeOptions()
        pin.pinned = true
        var bounded = SetAttributeOptions()
        bounded.replicationMin = 2
        var persist = SetAttributeOptions()
        persist.persistence = .toBePersisted
        apply(.setAttribute(try StrataPath("/a"), pin))
        apply(.setAttribute(try StrataPath("/open"), pin)) // incomplete: never selected
        apply(.setAttribute(try StrataPath("/b"), bounded))
        apply(.setAttribute(try StrataPath("/c"), persist))
        #expect(namespace.files(.pinned).map(\.name) == ["a"])
        #expect(namespace.files(.replicationBounded).map(\.name) == ["b"])
        #expect(namespace.files(.waitingToPersist).map(\.name) == ["c"])
    }

    /// Still a success: the create took effect (a client told otherwise would be wrong, and the
    /// fault campaign's linearizability check caught exactly that in a first version).
    @Test func aRetryOfACreateWhoseFileWasRemovedStillSucceeds() throws {
        var namespace = Namespace(rootUFS: "/ufs")
        let create = NamespaceRecord(operationID: OperationID(client: 9, sequence: 1), timeMilliseconds: 1,
                                     command: .createFile(try StrataPath("/f"), CreateOptions()))
        guard case .success(let status?) = namespace.apply(create) else { Issue.record("create failed"); return }
        #expect(namespace.apply(create) == .success(status), "a retry gets the status of what it made")
        _ = namespace.apply(NamespaceRecord(operationID: nil, timeMilliseconds: 2, command: .delete(try StrataPath("/f"), recursive: false)))
        #expect(namespace.apply(create) == .success(nil))
        #expect(!namespace.exists(try StrataPath("/f")), "the retry made nothing")
    }
}

extension SeededRandom: RandomNumberGenerator {}
