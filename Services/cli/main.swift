import ArgumentParser
import StrataCore

// `strata`: the operator and user command line. `-Dname=value` arguments may appear anywhere and
// override configuration for this invocation.
let rest: [String]
do {
    let split = try Configuration.splitPropertyArguments(Array(CommandLine.arguments.dropFirst()))
    CommandContext.propertyArguments = split.properties
    rest = split.rest
} catch {
    StrataCommand.exit(withError: CommandFailure(error.description))
}
do {
    var command = try StrataCommand.parseAsRoot(rest)
    if let asyncCommand = command as? any AsyncParsableCommand {
        try await runAsync(asyncCommand)
    } else {
        try command.run()
    }
} catch {
    StrataCommand.exit(withError: error)
}

/// Runs the async `run()` of a subcommand (plain `run()` would pick ParsableCommand's sync one).
func runAsync<Command: AsyncParsableCommand>(_ command: Command) async throws {
    var command = command
    let body: () async throws -> Void = { try await command.run() }
    try await body()
}
