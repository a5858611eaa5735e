import Foundation
import Testing
@testable import StrataCore

/// Configuration layering and validation. If these failed, an operator's property file or
/// environment could be silently ignored, or a typo could start a process on the wrong port.
@Suite struct ConfigurationTests {
    /// A temporary conf directory holding `strata-site.properties` with `text`.
    func confDirectory(_ text: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-conf-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try text.write(toFile: directory + "/strata-site.properties", atomically: true, encoding: .utf8)
        return directory
    }

    @Test func defaultsApplyWhenNothingIsSet() throws {
        let configuration = try Configuration.defaults()
        #expect(configuration.integer(.masterRpcPort) == 19998)
        #expect(configuration.integer(.masterEmbeddedJournalPort) == 19200)
        #expect(configuration.integer(.jobMasterEmbeddedJournalPort) == 20003)
        #expect(configuration.integer(.workerRpcPort) == 29999)
        #expect(configuration.sizeBytes(.networkMaxInboundMessageSize) == 16 * 1024 * 1024)
        #expect(configuration.duration(.userRpcDeadline) == .seconds(30))
        #expect(configuration.source(.masterRpcPort) == .defaultValue)
        #expect(configuration.string(.workDirectory) == "/opt/strata")
        #expect(configuration.string(.logsDirectory) == "/opt/strata/logs")
        #expect(!configuration.isSet(.masterRpcAddresses))
    }

    @Test func layersOverrideInOrder() throws {
        let directory = try confDirectory("""
            # site file
            strata.master.rpc.port=1001
            strata.worker.rpc.port = 2001
            strata.job.master.rpc.port: 3001
            strata.home /srv/strata
            """)
        let environment = ["STRATA_CONF_DIR": directory, "STRATA_WORKER_RPC_PORT": "2002", "STRATA_JOB_MASTER_RPC_PORT": "3002"]
        let configuration = try Configuration.load(environment: environment, arguments: [("strata.job.master.rpc.port", "3003")])
        #expect(configuration.integer(.masterRpcPort) == 1001)
        #expect(configuration.source(.masterRpcPort) == .siteProperties(path: directory + "/strata-site.properties", line: 2))
        #expect(configuration.integer(.workerRpcPort) == 2002)
        #expect(configuration.source(.workerRpcPort) == .environment(variable: "STRATA_WORKER_RPC_PORT"))
        #expect(configuration.integer(.jobMasterRpcPort) == 3003)
        #expect(configuration.source(.jobMasterRpcPort) == .argument)
        // References follow the value from the file.
        #expect(configuration.string(.workDirectory) == "/srv/strata")
        #expect(configuration.string(.masterJournalFolder) == "/srv/strata/journal")
        #expect(configuration.sitePropertiesPath == directory + "/strata-site.properties")
    }

    @Test func runtimeOverridesWin() throws {
        let configuration = try Configuration.load(environment: ["STRATA_MASTER_RPC_PORT": "1"], arguments: [("strata.master.rpc.port", "2")],
                                                   overrides: [.masterRpcPort: "3"], currentDirectory: "/nonexistent")
        #expect(configuration.integer(.masterRpcPort) == 3)
        #expect(configuration.source(.masterRpcPort) == .runtime)
    }

    @Test func confDirectoryDefaultsToWorkingDirectoryConf() throws {
        let directory = try confDirectory("strata.master.hostname=from-cwd\n")
        let parent = (directory as NSString).deletingLastPathComponent
        let conf = parent + "/conf"
        try? FileManager.default.removeItem(atPath: conf)
        try FileManager.default.moveItem(atPath: directory, toPath: conf)
        defer { try? FileManager.default.removeItem(atPath: conf) }
        let configuration = try Configuration.load(environment: [:], currentDirectory: parent)
        #expect(configuration.string(.masterHostname) == "from-cwd")
    }

    @Test func badValueInFileNamesKeyValueAndLine() throws {
        let directory = try confDirectory("strata.master.hostname=h\nstrata.master.rpc.port=19998x\n")
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration.load(environment: ["STRATA_CONF_DIR": directory])
        }
        #expect(error?.code == .invalidValue)
        #expect(error?.message == "invalid value '19998x' for strata.master.rpc.port from SITE_PROPERTY (\(directory)/strata-site.properties:2): expected an integer from 0 to 65535")
    }

    static let badEnvironmentValues: [(String, String, String)] = [
        ("STRATA_NETWORK_MAX_INBOUND_MESSAGE_SIZE", "lots", "a size such as 512KB, 64MB or 1GB"),
        ("STRATA_USER_RPC_DEADLINE", "soon", "a duration such as 500ms, 10s or 5min"),
        ("STRATA_MASTER_JOURNAL_TYPE", "FLOPPY", "one of EMBEDDED, UFS"),
        ("STRATA_MASTER_EMBEDDED_JOURNAL_ADDRESSES", "h1:19200,h2", "host:port addresses separated by commas"),
        ("STRATA_MASTER_WEB_PORT", "70000", "an integer from 0 to 65535"),
    ]

    @Test(arguments: badEnvironmentValues)
    func badValuesFromEnvironmentAreRefused(variable: String, value: String, expected: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration.load(environment: [variable: value], currentDirectory: "/nonexistent")
        }
        #expect(error?.message.contains("'\(value)'") == true)
        #expect(error?.message.contains("ENVIRONMENT (\(variable))") == true)
        #expect(error?.message.hasSuffix("expected \(expected)") == true, "\(error?.message ?? "")")
    }

    @Test func unknownStrataKeysWarnOthersAreIgnored() throws {
        let directory = try confDirectory("strata.master.rpc.prot=1\nalluxio.master.hostname=x\n")
        let configuration = try Configuration.load(environment: ["STRATA_CONF_DIR": directory],
                                                   arguments: [("strata.no.such.key", "1")])
        #expect(configuration.warnings.count == 2)
        #expect(configuration.warnings[0].contains("strata.master.rpc.prot"))
        #expect(configuration.warnings[0].contains("strata-site.properties:1"))
        #expect(configuration.warnings[1].contains("strata.no.such.key"))
        #expect(configuration.integer(.masterRpcPort) == 19998)
    }

    /// A line with a value but no name ("= 1GB", a slip of the editor) is named, not silently
    /// dropped. (Found by fuzzing the properties parser.)
    @Test func aLineWithoutANameWarns() throws {
        let directory = try confDirectory("strata.master.hostname=m1\n= 1GB\n")
        let configuration = try Configuration.load(environment: ["STRATA_CONF_DIR": directory], arguments: [])
        #expect(configuration.warnings == ["a line without a property name in \(directory)/strata-site.properties:2 is ignored"])
        #expect(configuration.string(.masterHostname) == "m1")
    }

    @Test func missingConfDirectoryIsAnError() {
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration.load(environment: ["STRATA_CONF_DIR": "/no/such/dir"])
        }
        #expect(error?.code == .missingDirectory)
        #expect(error?.message.contains("/no/such/dir") == true)
    }

    @Test func referenceCyclesAndDanglingReferencesAreErrors() {
        let cycle = #expect(throws: ConfigurationError.self) {
            try Configuration.load(environment: ["STRATA_HOME": "${strata.work.dir}"], currentDirectory: "/nonexistent")
        }
        #expect(cycle?.code == .unresolvedReference)
        let dangling = #expect(throws: ConfigurationError.self) {
            try Configuration.load(environment: ["STRATA_HOME": "${strata.nothing}"], currentDirectory: "/nonexistent")
        }
        #expect(dangling?.message.contains("strata.nothing") == true)
    }

    @Test func propertyArgumentsAreSplitFromTheRest() throws {
        let (properties, rest) = try Configuration.splitPropertyArguments(["-Dstrata.a=1", "getConf", "-Dstrata.b=x=y", "--source"])
        #expect(properties.map(\.name) == ["strata.a", "strata.b"])
        #expect(properties.map(\.value) == ["1", "x=y"])
        #expect(rest == ["getConf", "--source"])
        #expect(throws: ConfigurationError.self) { try Configuration.splitPropertyArguments(["-Dstrata.a"]) }
        #expect(throws: ConfigurationError.self) { try Configuration.splitPropertyArguments(["-D=1"]) }
    }

    @Test func propertiesFileSyntax() {
        let properties = PropertiesFile.parse("""
            ! comment
            a=1
              b : two words  \r
            c three
            d=continued \\
              line
            e=
            """)
        #expect(properties.map(\.name) == ["a", "b", "c", "d", "e"])
        #expect(properties.map(\.value) == ["1", "two words", "three", "continued line", ""])
        #expect(properties.map(\.line) == [2, 3, 4, 5, 7])
    }

    @Test func everyDefaultIsValid() throws {
        // Loading defaults parses every default; a bad default would throw here.
        let configuration = try Configuration.defaults()
        for key in PropertyKey.registry where key.defaultValue != nil {
            #expect(configuration.isSet(key), "\(key.name)")
        }
    }
}
