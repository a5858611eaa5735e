import StrataCore

/// Binary encodings of namespace journal records and snapshots: versioned, deterministic.
///
/// A record is `format (u8) | kind (u8) | operation id? | time | fields…`; a snapshot is
/// `format (u8) | counters | inodes | mounts | remembered operations`. Integrity (CRC) is the
/// journal's job: segments and snapshot files are checksummed.
public enum NamespaceCodec {
    public static let recordFormat: UInt8 = 1
    public static let snapshotFormat: UInt8 = 2

    // MARK: Records

    public static func encode(_ record: NamespaceRecord) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(recordFormat)
        let kind: UInt8
        switch record.command {
        case .createDirectory: kind = 1
        case .createFile(_, let options): kind = options.completeEmpty ? 11 : 2
        case .completeFile(_, _, _, let persistence): kind = persistence == .notPersisted ? 3 : 10
        case .delete: kind = 4
        case .rename: kind = 5
        case .setAttribute: kind = 6
        case .mount: kind = 7
        case .unmount: kind = 8
        case .loadDirectory: kind = 9
        }
        writer.write(kind)
        writer.write(record.operationID != nil)
        if let id = record.operationID {
            writer.write(id.client)
            writer.write(id.sequence)
        }
        writer.write(record.timeMilliseconds)
        switch record.command {
        case .createDirectory(let path, let options), .createFile(let path, let options):
            writer.write(path.description)
            write(options, &writer)
        case .completeFile(let path, let length, let blockIDs, let persistence):
            writer.write(path.description)
            writer.write(length)
            writer.write(UInt32(blockIDs.count))
            for id in blockIDs { writer.write(id) }
            if persistence != .notPersisted { writer.write(persistence.rawValue) }
        case .delete(let path, let recursive):
            writer.write(path.description)
            writer.write(recursive)
        case .rename(let source, let destination):
            writer.write(source.description)
            writer.write(destination.description)
        case .setAttribute(let path, let options):
            writer.write(path.description)
            write(options, &writer)
        case .mount(let path, let ufsURI, let readOnly, let shared):
            writer.write(path.description)
            writer.write(ufsURI)
            writer.write(readOnly)
            writer.write(shared)
        case .unmount(let path):
            writer.write(path.description)
        case .loadDirectory(let path, let entries):
            writer.write(path.description)
            writer.write(UInt32(entries.count))
            for entry in entries {
                writer.write(entry.name)
                writer.write(entry.isDirectory)
                writer.write(entry.lengthBytes)
                writer.write(entry.modificationTimeMilliseconds)
                writer.write(entry.mode)
                writer.write(entry.owner)
                writer.write(entry.group)
                writer.write(entry.fingerprint)
            }
        }
        return writer.bytes
    }

    public static func decodeRecord(_ bytes: [UInt8]) throws(NamespaceError) -> NamespaceRecord {
        var reader = ByteReader(bytes)
        func bad(_ what: String) -> NamespaceError { NamespaceError(.invalidArgument, "malformed namespace journal record: \(what)") }
        guard let format = reader.read(UInt8.self) else { throw bad("empty") }
        guard format == recordFormat else { throw bad("format \(format) is not \(recordFormat)") }
        guard let kind = reader.read(UInt8.self), let hasID = reader.readBool() else { throw bad("truncated header") }
        var operationID: OperationID? = nil
        if hasID {
            guard let client = reader.read(UInt64.self), let sequence = reader.read(UInt64.self) else { throw bad("truncated operation id") }
            operationID = OperationID(client: client, sequence: sequence)
        }
        guard let time = reader.read(Int64.self) else { throw bad("truncated time") }
        func path() throws(NamespaceError) -> StrataPath {
            guard let text = reader.readString() else { throw bad("truncated path") }
            return try StrataPath(text)
        }
        let command: NamespaceCommand
        switch kind {
        case 1: command = .createDirectory(try path(), try readCreateOptions(&reader))
        case 2: command = .createFile(try path(), try readCreateOptions(&reader))
        case 11:
            let target = try path()
            var options = try readCreateOptions(&reader)
            options.completeEmpty = true
            command = .createFile(target, options)
        case 3, 10:
            let target = try path()
            guard let length = reader.read(Int64.self), let count = reader.read(UInt32.self), count <= 1 << 24 else { throw bad("truncated complete") }
            var ids: [UInt64] = []
            for _ in 0..<count {
                guard let id = reader.read(UInt64.self) else { throw bad("truncated block ids") }
                ids.append(id)
            }
            var persistence = PersistenceState.notPersisted
            if kind == 10 {
                guard let raw = reader.read(UInt8.self), let state = PersistenceState(rawValue: raw) else { throw bad("truncated persistence state") }
                persistence = state
            }
            command = .completeFile(target, lengthBytes: length, blockIDs: ids, persistence: persistence)
        case 4:
            let target = try path()
            guard let recursive = reader.readBool() else { throw bad("truncated delete") }
            command = .delete(target, recursive: recursive)
        case 5: command = .rename(try path(), to: try path())
        case 6: command = .setAttribute(try path(), try readSetAttributeOptions(&reader))
        case 7:
            let target = try path()
            guard let uri = reader.readString(), let readOnly = reader.readBool(), let shared = reader.readBool() else { throw bad("truncated mount") }
            command = .mount(target, ufsURI: uri, readOnly: readOnly, shared: shared)
        case 8: command = .unmount(try path())
        case 9:
            let target = try path()
            guard let count = reader.read(UInt32.self), count <= 1 << 24 else { throw bad("truncated listing") }
            var entries: [UFSEntry] = []
            for _ in 0..<count {
                guard let name = reader.readString(), let isDirectory = reader.readBool(), let length = reader.read(Int64.self),
                      let modified = reader.read(Int64.self), let mode = reader.read(UInt16.self), let owner = reader.readString(),
                      let group = reader.readString(), let fingerprint = reader.readString() else { throw bad("truncated listing entry") }
                entries.append(UFSEntry(name: name, isDirectory: isDirectory, lengthBytes: length, modificationTimeMilliseconds: modified,
                                        mode: mode, owner: owner, group: group, fingerprint: fingerprint))
            }
            command = .loadDirectory(target, entries: entries)
        default:
            throw bad("unknown kind \(kind)")
        }
        guard reader.remaining == 0 else { throw bad("\(reader.remaining) trailing bytes") }
        return NamespaceRecord(operationID: operationID, timeMilliseconds: time, command: command)
    }

    private static func write(_ options: CreateOptions, _ writer: inout ByteWriter) {
        writer.write(options.recursive)
        writer.write(options.allowExists)
        writer.write(options.mode)
        writer.write(options.owner)
        writer.write(options.group)
        writer.write(options.ttlMilliseconds)
        writer.write(options.blockSizeBytes)
        writer.write(options.replicationMin)
        writer.write(options.replicationMax)
        writer.write(options.persisted)
    }

    private static func readCreateOptions(_ reader: inout ByteReader) throws(NamespaceError) -> CreateOptions {
        var options = CreateOptions()
        guard let recursive = reader.readBool(), let allowExists = reader.readBool(), let mode = reader.read(UInt16.self),
              let owner = reader.readString(), let group = reader.readString(), let ttl = reader.read(Int64.self),
              let blockSize = reader.read(Int64.self), let minimum = reader.read(Int32.self), let maximum = reader.read(Int32.self),
              let persisted = reader.readBool() else {
            throw NamespaceError(.invalidArgument, "malformed namespace journal record: truncated create options")
        }
        options.recursive = recursive
        options.allowExists = allowExists
        options.mode = mode
        options.owner = owner
        options.group = group
        options.ttlMilliseconds = ttl
        options.blockSizeBytes = blockSize
        options.replicationMin = minimum
        options.replicationMax = maximum
        options.persisted = persisted
        return options
    }

    private static func write(_ options: SetAttributeOptions, _ writer: inout ByteWriter) {
        func optional<T: FixedWidthInteger>(_ value: T?) {
            writer.write(value != nil)
            if let value { writer.write(value) }
        }
        writer.write(options.pinned != nil)
        if let pinned = options.pinned { writer.write(pinned) }
        optional(options.ttlMilliseconds)
        optional(options.mode)
        writer.write(options.owner != nil)
        if let owner = options.owner { writer.write(owner) }
        writer.write(options.group != nil)
        if let group = options.group { writer.write(group) }
        optional(options.replicationMin)
        optional(options.replicationMax)
        // Persistence as one byte: 0 NOT_PERSISTED and 1 PERSISTED (the original boolean), then
        // 2 TO_BE_PERSISTED and 3 LOST.
        writer.write(options.persistence != nil)
        if let persistence = options.persistence {
            writer.write(UInt8(persistence == .notPersisted ? 0 : persistence == .persisted ? 1 : persistence == .toBePersisted ? 2 : 3))
        }
        writer.write(options.recursive)
    }

    private static func readSetAttributeOptions(_ reader: inout ByteReader) throws(NamespaceError) -> SetAttributeOptions {
        let bad = NamespaceError(.invalidArgument, "malformed namespace journal record: truncated attributes")
        var options = SetAttributeOptions()
        func flag() throws(NamespaceError) -> Bool {
            guard let value = reader.readBool() else { throw bad }
            return value
        }
        func integer<T: FixedWidthInteger>(_ type: T.Type) throws(NamespaceError) -> T? {
            guard try flag() else { return nil }
            guard let value = reader.read(T.self) else { throw bad }
            return value
        }
        func text() throws(NamespaceError) -> String? {
            guard try flag() else { return nil }
            guard let value = reader.readString() else { throw bad }
            return value
        }
        if try flag() { options.pinned = try flag() }
        options.ttlMilliseconds = try integer(Int64.self)
        options.mode = try integer(UInt16.self)
        options.owner = try text()
        options.group = try text()
        options.replicationMin = try integer(Int32.self)
        options.replicationMax = try integer(Int32.self)
        if try flag() {
            guard let raw = reader.read(UInt8.self), raw <= 3 else { throw bad }
            options.persistence = [PersistenceState.notPersisted, .persisted, .toBePersisted, .lost][Int(raw)]
        }
        options.recursive = try flag()
        return options
    }
}
