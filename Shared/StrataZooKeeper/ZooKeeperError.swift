import CZooKeeper

/// A failure reported by the ZooKeeper C client, mapped from its integer code at the wrapper.
///
public struct ZooKeeperError: Error, CustomStringConvertible, Equatable {
    public enum Code: Sendable, Equatable {
        case systemError, runtimeInconsistency, dataInconsistency, connectionLoss, marshallingError
        case unimplemented, operationTimeout, badArguments, invalidState, newConfigNoQuorum
        case reconfigInProgress, sslConnectionError
        case noNode, noAuth, badVersion, noChildrenForEphemerals, nodeExists, notEmpty
        case sessionExpired, invalidCallback, invalidACL, authFailed, closing, nothing
        case sessionMoved, notReadOnly, ephemeralOnLocalSession, noWatcher, reconfigDisabled
        case sessionClosedRequiresSASLAuth, throttled
        /// A code this build does not know.
        case other(Int32)
    }

    public let code: Code
    /// The C client's own integer code.
    public let rawCode: Int32
    public let message: String
    public var description: String { message }

    /// An error the wrapper itself detects (a timeout, a closed session).
    public init(code: Code, message: String) {
        self.code = code
        self.rawCode = 0
        self.message = message
    }

    /// Maps the C client's return code `rawCode` for an operation on `path`; nil for `ZOK`.
    public init?(rawCode: Int32, operation: String, path: String? = nil) {
        guard rawCode != ZOK.rawValue else { return nil }
        self.rawCode = rawCode
        self.code = Self.code(for: rawCode)
        let target = path.map { " \($0)" } ?? ""
        self.message = "ZooKeeper \(operation)\(target) failed: \(String(cString: zerror(rawCode))) (\(rawCode))"
    }

    /// Whether the same operation may succeed once the session reconnects.
    public var isTransient: Bool {
        code == .connectionLoss || code == .operationTimeout || code == .throttled
    }

    private static func code(for rawCode: Int32) -> Code {
        let table: [(ZOO_ERRORS, Code)] = [
            (ZSYSTEMERROR, .systemError), (ZRUNTIMEINCONSISTENCY, .runtimeInconsistency),
            (ZDATAINCONSISTENCY, .dataInconsistency), (ZCONNECTIONLOSS, .connectionLoss),
            (ZMARSHALLINGERROR, .marshallingError), (ZUNIMPLEMENTED, .unimplemented),
            (ZOPERATIONTIMEOUT, .operationTimeout), (ZBADARGUMENTS, .badArguments),
            (ZINVALIDSTATE, .invalidState), (ZNEWCONFIGNOQUORUM, .newConfigNoQuorum),
            (ZRECONFIGINPROGRESS, .reconfigInProgress), (ZSSLCONNECTIONERROR, .sslConnectionError),
            (ZNONODE, .noNode), (ZNOAUTH, .noAuth), (ZBADVERSION, .badVersion),
            (ZNOCHILDRENFOREPHEMERALS, .noChildrenForEphemerals), (ZNODEEXISTS, .nodeExists),
            (ZNOTEMPTY, .notEmpty), (ZSESSIONEXPIRED, .sessionExpired), (ZINVALIDCALLBACK, .invalidCallback),
            (ZINVALIDACL, .invalidACL), (ZAUTHFAILED, .authFailed), (ZCLOSING, .closing), (ZNOTHING, .nothing),
            (ZSESSIONMOVED, .sessionMoved), (ZNOTREADONLY, .notReadOnly),
            (ZEPHEMERALONLOCALSESSION, .ephemeralOnLocalSession), (ZNOWATCHER, .noWatcher),
            (ZRECONFIGDISABLED, .reconfigDisabled), (ZSESSIONCLOSEDREQUIRESASLAUTH, .sessionClosedRequiresSASLAuth),
            (ZTHROTTLEDOP, .throttled),
        ]
        return table.first { $0.0.rawValue == rawCode }?.1 ?? .other(rawCode)
    }
}
