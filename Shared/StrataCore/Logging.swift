import Logging

/// Process-wide logging set-up: one line per message on standard error, labelled with the node
/// identity so interleaved logs of several processes stay readable.
public enum StrataLogging {
    /// Bootstraps swift-log once per process; `level` is `strata.log.level`.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// The swift-log level for a `strata.log.level` word.
    public static func level(named word: String) -> Logger.Level {
        switch word.uppercased() {
        case "TRACE": .trace
        case "DEBUG": .debug
        case "NOTICE": .notice
        case "WARNING", "WARN": .warning
        case "ERROR": .error
        case "CRITICAL", "FATAL": .critical
        default: .info
        }
    }
}
