import ArgumentParser
import Foundation
import StrataCore
import StrataWire

/// The root `strata` command.
struct StrataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Operate and use a Strata cluster.",
        discussion: "Configuration comes from $STRATA_CONF_DIR/strata-site.properties (else ./conf), the environment and -Dname=value arguments.",
        subcommands: [VersionCommand.self, GetConfCommand.self, PingCommand.self, FormatCommand.self, FormatJournalCommand.self, FormatMastersCommand.self,
                      FormatWorkerCommand.self, CopyDirCommand.self, FSCommand.self, FSAdminCommand.self, JobCommand.self, ReadJournalCommand.self, RunTestsCommand.self])
}

/// What every subcommand shares: the `-D` arguments taken off the command line in main.
enum CommandContext {
    nonisolated(unsafe) static var propertyArguments: [(name: String, value: String)] = []

    /// What a command waiting for a leading master prints meanwhile (on standard error, so that
    /// output stays clean for scripts).
    static let reportWaiting: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data("strata: \(line)\n".utf8))
    }

    static func loadConfiguration() throws -> Configuration {
        do {
            return try Configuration.load(environment: ProcessInfo.processInfo.environment, arguments: propertyArguments)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

/// A failure reported to the user as one line, with a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the Strata version.")

    func run() {
        print("Strata \(StrataVersion.release) (wire protocol \(StrataVersion.wireProtocol))")
    }
}
