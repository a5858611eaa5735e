/// Where a namespace keeps its inodes, packed so that a large namespace costs little memory
/// (`bench/master.sh` measures the leader's bytes per file):
///
/// - every inode's common fields in a 64-byte `PackedInode`, in chunks of 256 consecutive ids:
///   a bitmap of the ids present and their records in id order, so no per-inode hashing or
///   allocation, and a chunk is copied on write alone (a snapshot's copy of the namespace shares
///   every chunk that later changes do not touch);
/// - owner and group interned as pairs, each pair stored once (inodes hold a 4-byte index);
/// - the rare fields (TTL, replication bounds, under-storage fingerprint, explicit block ids) in
///   a side table, only for the inodes that have them;
/// - a directory's children as an open-addressing set of child ids keyed by the child's name,
///   which the child holds (8 bytes per slot); listings sort by name.
///
/// Hash order differs between processes; nothing observable depends on it (listings sort,
/// snapshots go in id order).
struct InodeStore: Sendable {
    private(set) var table = InodeTable()
    private var directories: [UInt64: ChildTable] = [:]
    private var extras: [UInt64: InodeExtras] = [:]
    private(set) var principals: [Principal] = []
    private var principalIndex: [Principal: UInt32] = [:]

    struct Principal: Hashable, Sendable {
        var owner: String
        var group: String
    }

    var count: Int { table.count }

    func contains(_ id: UInt64) -> Bool { table.contains(id) }

    func record(_ id: UInt64) -> PackedInode? { table[id] }

    func isDirectory(_ id: UInt64) -> Bool { table[id]?.flags.contains(.directory) ?? false }

    /// The inode with `id` as callers see it, or nil.
    func inode(_ id: UInt64) -> Inode? {
        guard let record = table[id] else { return nil }
        return inode(id, record)
    }

    func inode(_ id: UInt64, _ record: PackedInode) -> Inode {
        let more = record.flags.contains(.hasExtras) ? extras[id] ?? InodeExtras() : InodeExtras()
        let principal = principals[Int(record.principal)]
        let isDirectory = record.flags.contains(.directory)
        return Inode(
            id: id, parentID: record.parentID, name: record.name, kind: isDirectory ? .directory : .file,
            creationTimeMilliseconds: record.creationTimeMilliseconds, modificationTimeMilliseconds: record.modificationTimeMilliseconds,
            mode: record.mode, owner: principal.owner, group: principal.group, ttlMilliseconds: more.ttlMilliseconds,
            pinned: record.flags.contains(.pinned), replicationMin: more.replicationMin, replicationMax: more.replicationMax,
            persistence: record.flags.persistence, ufsFingerprint: more.ufsFingerprint, lengthBytes: record.lengthBytes,
            blockSizeBytes: record.blockSizeBytes, blockIDs: more.blockIDs, completed: record.flags.contains(.completed),
            childCount: isDirectory ? directories[id]?.count ?? 0 : 0, isMountPoint: record.flags.contains(.mountPoint),
            childrenLoaded: record.flags.contains(.childrenLoaded))
    }

    // MARK: Changes

    /// Adds `inode` (absent until now), not yet linked into its parent's children.
    mutating func insert(_ inode: Inode) {
        let (record, more) = pack(inode)
        insert(record, id: inode.id, extras: more)
    }

    /// Adds a packed record (read from a snapshot, or packed from an `Inode`) with its rare fields.
    mutating func insert(_ record: PackedInode, id: UInt64, extras more: InodeExtras) {
        var record = record
        keep(more, for: id, flags: &record.flags)
        table.insert(record, id: id)
    }

    /// Replaces the attributes of an existing inode with `inode`'s (its children stay).
    mutating func replace(_ inode: Inode) {
        var (record, more) = pack(inode)
        keep(more, for: inode.id, flags: &record.flags)
        table.update(inode.id) { $0 = record }
    }

    /// Changes an existing inode's packed fields in place.
    mutating func update(_ id: UInt64, _ change: (inout PackedInode) -> Void) {
        table.update(id, change)
    }

    /// Sets the explicit block ids of a file (none: derived from its length).
    mutating func setBlockIDs(_ id: UInt64, _ blockIDs: [UInt64]) {
        var more = extras[id] ?? InodeExtras()
        guard more.blockIDs != blockIDs else { return }
        more.blockIDs = blockIDs
        var flags = table[id]!.flags
        keep(more, for: id, flags: &flags)
        table.update(id) { $0.flags = flags }
    }

    /// The one place the side table and the `hasExtras` flag (which spares a lookup for the
    /// inodes that have no rare fields) change together: kept if any field is not its default.
    private mutating func keep(_ more: InodeExtras, for id: UInt64, flags: inout InodeFlags) {
        if more != InodeExtras() {
            extras[id] = more
            flags.insert(.hasExtras)
        } else {
            extras[id] = nil
            flags.remove(.hasExtras)
        }
    }

    /// Removes an inode (its children must be gone or removed too); returns its record.
    @discardableResult
    mutating func remove(_ id: UInt64) -> PackedInode? {
        guard let record = table.remove(id) else { return nil }
        if record.flags.contains(.hasExtras) { extras[id] = nil }
        if record.flags.contains(.directory) { directories[id] = nil }
        return record
    }

    /// The index of an owner and group pair, interned on first use.
    mutating func principal(owner: String, group: String) -> UInt32 {
        let key = Principal(owner: owner, group: group)
        if let index = principalIndex[key] { return index }
        precondition(principals.count < Int(UInt32.max), "too many owner and group pairs")
        let index = UInt32(principals.count)
        principals.append(key)
        principalIndex[key] = index
        return index
    }

    /// The packed record (without its `hasExtras` flag, which `keep` sets) and the rare fields.
    private mutating func pack(_ inode: Inode) -> (PackedInode, InodeExtras) {
        var flags: InodeFlags = []
        if inode.isDirectory { flags.insert(.directory) }
        if inode.completed { flags.insert(.completed) }
        if inode.pinned { flags.insert(.pinned) }
        if inode.isMountPoint { flags.insert(.mountPoint) }
        if inode.childrenLoaded { flags.insert(.childrenLoaded) }
        flags.persistence = inode.persistence
        let more = InodeExtras(ttlMilliseconds: inode.ttlMilliseconds, replicationMin: inode.replicationMin,
                               replicationMax: inode.replicationMax, ufsFingerprint: inode.ufsFingerprint, blockIDs: inode.blockIDs)
        let record = PackedInode(
            parentID: inode.parentID, name: inode.name, creationTimeMilliseconds: inode.creationTimeMilliseconds,
            modificationTimeMilliseconds: inode.modificationTimeMilliseconds, lengthBytes: inode.lengthBytes,
            blockSizeBytes: inode.blockSizeBytes, principal: principal(owner: inode.owner, group: inode.group),
            mode: inode.mode, flags: flags)
        return (record, more)
    }

    func extras(of id: UInt64) -> InodeExtras? { extras[id] }

    // MARK: Children

    /// The id of the child called `name` in directory `directory`, or nil (also when it is not a directory).
    func child(named name: String, in directory: UInt64) -> UInt64? {
        guard let children = directories[directory], children.count > 0 else { return nil }
        let hash = name.hashValue
        let mask = children.slots.count - 1
        let tag = ChildTable.tag(hash)
        var index = hash & mask
        while true {
            let entry = children.slots[index]
            if entry == 0 { return nil }
            if ChildTable.tag(of: entry) == tag, let child = table[ChildTable.id(of: entry)], child.name == name {
                return ChildTable.id(of: entry)
            }
            index = (index + 1) & mask
        }
    }

    func childCount(of directory: UInt64) -> Int { directories[directory]?.count ?? 0 }

    /// The ids of a directory's children, in no particular order.
    func childIDs(of directory: UInt64) -> [UInt64] {
        guard let children = directories[directory] else { return [] }
        var ids: [UInt64] = []
        ids.reserveCapacity(children.count)
        for entry in children.slots where entry != 0 { ids.append(ChildTable.id(of: entry)) }
        return ids
    }

    /// A directory's children with their names, sorted by name.
    func sortedChildren(of directory: UInt64) -> [(name: String, id: UInt64, record: PackedInode)] {
        guard let children = directories[directory] else { return [] }
        var result: [(name: String, id: UInt64, record: PackedInode)] = []
        result.reserveCapacity(children.count)
        for entry in children.slots where entry != 0 {
            let id = ChildTable.id(of: entry)
            guard let record = table[id] else { continue }
            result.append((record.name, id, record))
        }
        result.sort { $0.name < $1.name }
        return result
    }

    /// Makes an (empty) child set for a new directory.
    mutating func makeDirectory(_ id: UInt64) {
        directories[id] = ChildTable()
    }

    /// Links `child` (named `name`, which the directory does not hold) into `directory`.
    mutating func link(_ child: UInt64, named name: String, into directory: UInt64) {
        precondition(child > 0 && child < ChildTable.idLimit, "inode id \(child) out of range")
        precondition(directories[directory] != nil, "linking \(name) into \(directory), which is not a directory")
        let table = self.table
        directories[directory]!.insert(child, hash: name.hashValue) { table[$0]!.name.hashValue }
    }

    /// Unlinks the child called `name` from `directory`; returns its id.
    @discardableResult
    mutating func unlink(named name: String, from directory: UInt64) -> UInt64? {
        guard let id = child(named: name, in: directory) else { return nil }
        let table = self.table
        directories[directory]!.remove(id, hash: name.hashValue) { table[$0]!.name.hashValue }
        return id
    }
}

/// An inode's common fields, packed into 64 bytes (its id is where it lies in the table).
struct PackedInode: Sendable {
    var parentID: UInt64
    var name: String
    var creationTimeMilliseconds: Int64
    var modificationTimeMilliseconds: Int64
    var lengthBytes: Int64
    var blockSizeBytes: Int64
    /// Index of the owner and group pair in `InodeStore.principals`.
    var principal: UInt32
    var mode: UInt16
    var flags: InodeFlags
}

struct InodeFlags: OptionSet, Sendable {
    var rawValue: UInt16
    static let directory = InodeFlags(rawValue: 1 << 0)
    static let completed = InodeFlags(rawValue: 1 << 1)
    static let pinned = InodeFlags(rawValue: 1 << 2)
    static let mountPoint = InodeFlags(rawValue: 1 << 3)
    static let childrenLoaded = InodeFlags(rawValue: 1 << 4)
    /// The inode has an entry in the rare-fields table.
    static let hasExtras = InodeFlags(rawValue: 1 << 5)
    static let persistenceShift: UInt16 = 8
    /// Every bit a stored inode may set (a snapshot with others is malformed).
    static let known = InodeFlags(rawValue: 0x3F | (3 << persistenceShift))

    var persistence: PersistenceState {
        get { PersistenceState(rawValue: UInt8((rawValue >> Self.persistenceShift) & 3))! }
        set { rawValue = (rawValue & ~(3 << Self.persistenceShift)) | (UInt16(newValue.rawValue) << Self.persistenceShift) }
    }
}

/// The fields most inodes leave at their defaults.
struct InodeExtras: Sendable, Equatable {
    var ttlMilliseconds: Int64 = -1
    var replicationMin: Int32 = 0
    var replicationMax: Int32 = -1
    var ufsFingerprint = ""
    var blockIDs: [UInt64] = []
}

/// Inode records by id: chunks of 256 consecutive ids, each a bitmap of the ids present and
/// their records in id order. Only chunks holding an inode exist, so memory follows the live
/// inodes, not the highest id ever handed out (a namespace that has created and deleted a
/// billion files costs what it holds).
struct InodeTable: Sendable {
    static let chunkBits: UInt64 = 8

    struct Chunk: Sendable {
        var present = SIMD4<UInt64>()
        var records: [PackedInode] = []
    }

    /// Keyed by `id >> chunkBits` (ids lie below 2^40, so it fits in 32 bits).
    private(set) var chunks: [UInt32: Chunk] = [:]
    private(set) var count = 0

    @inline(__always)
    private static func chunkKey(_ id: UInt64) -> UInt32 {
        precondition(id < ChildTable.idLimit, "inode id \(id) is beyond the id limit")
        return UInt32(truncatingIfNeeded: id >> chunkBits)
    }

    /// The index of `id`'s record in `present`'s records, and whether it is there.
    @inline(__always)
    private static func rank(_ id: UInt64, in present: SIMD4<UInt64>) -> (index: Int, present: Bool) {
        let bitIndex = Int(id & ((1 << chunkBits) - 1))
        let word = bitIndex >> 6
        let bit = UInt64(1) << UInt64(bitIndex & 63)
        var rank = (present[word] & (bit &- 1)).nonzeroBitCount
        for below in 0..<word { rank += present[below].nonzeroBitCount }
        return (rank, present[word] & bit != 0)
    }

    @inline(__always)
    private static func bit(_ id: UInt64) -> (word: Int, mask: UInt64) {
        let bitIndex = Int(id & ((1 << chunkBits) - 1))
        return (bitIndex >> 6, UInt64(1) << UInt64(bitIndex & 63))
    }

    func contains(_ id: UInt64) -> Bool { self[id] != nil }

    subscript(id: UInt64) -> PackedInode? {
        guard id < ChildTable.idLimit, let chunk = chunks[Self.chunkKey(id)] else { return nil }
        let (index, present) = Self.rank(id, in: chunk.present)
        return present ? chunk.records[index] : nil
    }

    mutating func insert(_ record: PackedInode, id: UInt64) {
        let key = Self.chunkKey(id)
        let (index, present) = Self.rank(id, in: chunks[key]?.present ?? SIMD4())
        precondition(!present, "inode \(id) is already stored")
        let (word, mask) = Self.bit(id)
        chunks[key, default: Chunk()].present[word] |= mask
        chunks[key, default: Chunk()].records.insert(record, at: index)
        count += 1
    }

    mutating func update(_ id: UInt64, _ change: (inout PackedInode) -> Void) {
        let key = Self.chunkKey(id)
        let (index, present) = Self.rank(id, in: chunks[key]?.present ?? SIMD4())
        precondition(present, "no inode \(id) to change")
        change(&chunks[key]!.records[index])
    }

    mutating func remove(_ id: UInt64) -> PackedInode? {
        guard id < ChildTable.idLimit else { return nil }
        let key = Self.chunkKey(id)
        guard let chunk = chunks[key] else { return nil }
        let (index, present) = Self.rank(id, in: chunk.present)
        guard present else { return nil }
        if chunk.records.count == 1 {
            chunks[key] = nil
            count -= 1
            return chunk.records[0]
        }
        let (word, mask) = Self.bit(id)
        chunks[key]!.present[word] &= ~mask
        let record = chunks[key]!.records.remove(at: index)
        count -= 1
        // A chunk whose inodes are mostly gone gives its room back.
        let remaining = chunks[key]!.records.count
        if remaining * 4 <= chunks[key]!.records.capacity && chunks[key]!.records.capacity > 16 {
            var smaller: [PackedInode] = []
            smaller.reserveCapacity(remaining)
            smaller.append(contentsOf: chunks[key]!.records)
            chunks[key]!.records = smaller
        }
        return record
    }

    /// Every inode in id order.
    func forEach(_ body: (UInt64, PackedInode) throws -> Void) rethrows {
        for key in chunks.keys.sorted() {
            let chunk = chunks[key]!
            var next = 0
            for word in 0..<4 {
                var bits = chunk.present[word]
                while bits != 0 {
                    let bit = UInt64(bits.trailingZeroBitCount)
                    let id = UInt64(key) << Self.chunkBits | UInt64(word) << 6 | bit
                    try body(id, chunk.records[next])
                    next += 1
                    bits &= bits &- 1
                }
            }
        }
    }
}

/// A directory's children: an open-addressing (linear probing) set of child ids, each slot
/// `tag << 40 | id` where the tag is the low 24 bits of the child name's hash, so that a probe
/// rarely looks at a child that is not the one sought, and growing needs no names back for
/// tables under 2^24 slots. 0 is an empty slot (no inode has id 0).
struct ChildTable: Sendable {
    static let idBits: UInt64 = 40
    /// Ids must lie below this (block ids keep a file's id in 40 bits too).
    static let idLimit: UInt64 = 1 << idBits
    static let tagMask = (1 << 24) - 1

    var slots: [UInt64] = []
    var count = 0

    static func tag(_ hash: Int) -> UInt64 { UInt64(hash & tagMask) }
    static func tag(of entry: UInt64) -> UInt64 { entry >> idBits }
    static func id(of entry: UInt64) -> UInt64 { entry & (idLimit - 1) }

    /// The slot an entry's probe starts at; the tag holds the hash's low bits, the name is
    /// hashed again only for tables beyond them.
    private func home(_ entry: UInt64, mask: Int, hashOf: (UInt64) -> Int) -> Int {
        mask <= Self.tagMask ? Int(Self.tag(of: entry)) & mask : hashOf(Self.id(of: entry)) & mask
    }

    mutating func insert(_ id: UInt64, hash: Int, hashOf: (UInt64) -> Int) {
        if (count + 1) * 4 > slots.count * 3 { grow(hashOf: hashOf) }
        let mask = slots.count - 1
        var index = hash & mask
        while slots[index] != 0 { index = (index + 1) & mask }
        slots[index] = Self.tag(hash) << Self.idBits | id
        count += 1
    }

    private mutating func grow(hashOf: (UInt64) -> Int) {
        let old = slots
        slots = [UInt64](repeating: 0, count: Swift.max(4, old.count * 2))
        let mask = slots.count - 1
        for entry in old where entry != 0 {
            var index = home(entry, mask: mask, hashOf: hashOf)
            while slots[index] != 0 { index = (index + 1) & mask }
            slots[index] = entry
        }
    }

    /// Removes `id` (whose name hashes to `hash`), shifting later entries of its run back so
    /// that no probe stops early.
    mutating func remove(_ id: UInt64, hash: Int, hashOf: (UInt64) -> Int) {
        let mask = slots.count - 1
        var index = hash & mask
        while Self.id(of: slots[index]) != id {
            precondition(slots[index] != 0, "child \(id) is not in its directory")
            index = (index + 1) & mask
        }
        var hole = index
        var next = (hole + 1) & mask
        while slots[next] != 0 {
            let start = home(slots[next], mask: mask, hashOf: hashOf)
            // The entry at `next` may move to the hole unless its home lies cyclically in (hole, next].
            let stays = hole <= next ? (start > hole && start <= next) : (start > hole || start <= next)
            if !stays {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = 0
        count -= 1
        if count == 0 { slots = [] }
    }
}
