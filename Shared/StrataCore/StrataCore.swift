/// Facts about this build of Strata that every process reports.
public enum StrataVersion {
    /// The release, reported by `strata version` and every process's ServiceInfo.
    public static let release = "0.1.0"
    /// The wire protocol version carried in every frame header; bumped on incompatible change.
    public static let wireProtocol: UInt8 = 1
}
