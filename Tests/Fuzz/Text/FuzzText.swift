import StrataClient
import StrataCore
import StrataFuzzSupport
import StrataNamespace

/// The parsers of what people type: sizes, durations, properties files, host lists, property
/// values of every declared type, `host:port`, `strata://` URIs and namespace paths. The first
/// byte picks one, the rest is the text (invalid UTF-8 is repaired, as reading a file would).
/// Whatever parses must print to something that parses to the same value; nothing traps.
enum Parser: UInt8, CaseIterable {
    case size, duration, propertiesFile, hostsFile, propertyValue, hostAndPort, uri, path
}

func check(_ input: [UInt8]) {
    guard let (selector, bytes) = FuzzTarget.split(input) else { return }
    let text = String(decoding: bytes, as: UTF8.self)
    switch Parser.allCases[Int(selector) % Parser.allCases.count] {
    case .size:
        guard let size = ByteSize.parse(text) else { return }
        precondition(size >= 0, "size \(text) parsed to \(size)")
        precondition(ByteSize.parse(String(size)) == size, "size \(size) does not survive printing")
    case .duration:
        guard let duration = DurationText.parse(text) else { return }
        precondition(duration >= .zero, "duration \(text) parsed to \(duration)")
    case .propertiesFile:
        // Properties come in file order, each from a line of the file. (A line such as "= 1GB"
        // gives a property without a name, which the configuration reports; the fuzzer's first
        // find, kept in Tests/Fuzz/regressions/text.)
        let lineCount = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).count
        var previous = 0
        for property in PropertiesFile.parse(text) {
            precondition(property.line > previous && property.line <= lineCount,
                         "property \(property.name) at line \(property.line) after line \(previous), of \(lineCount) lines")
            previous = property.line
        }
    case .hostsFile:
        _ = try? HostsFile.parse(text, path: "fuzz input")
    case .propertyValue:
        // Line one names the property (by registry position), the rest is its value.
        guard let first = text.unicodeScalars.first else { return }
        let key = PropertyKey.registry[Int(first.value) % PropertyKey.registry.count]
        let value = String(text.unicodeScalars.dropFirst())
        _ = try? Configuration.load(environment: [:], arguments: [(name: key.name, value: value)])
    case .hostAndPort:
        guard let parsed = HostAndPort(parsing: text) else { return }
        precondition((0...65_535).contains(parsed.port), "\(text) parsed to port \(parsed.port)")
        precondition(HostAndPort(parsing: parsed.description) == parsed, "\(parsed) does not survive printing")
    case .uri:
        guard let uri = try? StrataURI(parsing: text) else { return }
        precondition(uri.path.hasPrefix("/"), "\(text.debugDescription) parsed to the path \(uri.path)")
    case .path:
        guard let path = try? StrataPath(text) else { return }
        precondition(path.components.count <= StrataPath.depthMax, "\(path) is deeper than the bound")
        precondition((try? StrataPath(path.description)) == path, "\(path) does not survive printing")
    }
}

/// Texts as people write them.
func seeds() -> [[UInt8]] {
    func seed(_ parser: Parser, _ text: String) -> [UInt8] { [parser.rawValue] + Array(text.utf8) }
    return [
        seed(.size, "64MB"), seed(.size, "1.5 GiB"), seed(.duration, "250ms"), seed(.duration, "2min"),
        seed(.propertiesFile, "strata.master.hostname=m1\n# comment\nstrata.worker.ramdisk.size = 1GB\n"),
        seed(.hostsFile, "m1\nm2 # second\n\nm3\n"),
        seed(.propertyValue, "\u{05}30s"), seed(.propertyValue, "\u{10}m1:19998,m2:19998"),
        seed(.hostAndPort, "master1:19998"), seed(.hostAndPort, "[::1]:19998"),
        seed(.uri, "strata://m1:19998,m2:19998/a/b"), seed(.uri, "strata://zk@z1:2181/x"), seed(.uri, "/plain/path"),
        seed(.path, "/a/b/c"), seed(.path, "/a//b/../c"),
    ]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt { FuzzTarget.fuzz(start, count, check) }

#if !STRATA_FUZZ
@main struct Replay {
    static func main() { FuzzTarget.replay(check, seeds: seeds) }
}
#endif
