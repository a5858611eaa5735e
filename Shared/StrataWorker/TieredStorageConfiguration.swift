import StrataBlock
import StrataCore

/// The tiers of `strata.worker.tieredstore.*`, checked: an error names the property and value.
public enum TieredStorageConfiguration {
    static let levelKeys: [(alias: PropertyKey, paths: PropertyKey, quota: PropertyKey, high: PropertyKey, low: PropertyKey)] = [
        (.workerTieredStoreLevel0Alias, .workerTieredStoreLevel0DirsPath, .workerTieredStoreLevel0DirsQuota,
         .workerTieredStoreLevel0HighWatermark, .workerTieredStoreLevel0LowWatermark),
        (.workerTieredStoreLevel1Alias, .workerTieredStoreLevel1DirsPath, .workerTieredStoreLevel1DirsQuota,
         .workerTieredStoreLevel1HighWatermark, .workerTieredStoreLevel1LowWatermark),
        (.workerTieredStoreLevel2Alias, .workerTieredStoreLevel2DirsPath, .workerTieredStoreLevel2DirsQuota,
         .workerTieredStoreLevel2HighWatermark, .workerTieredStoreLevel2LowWatermark),
    ]

    public static func tiers(_ configuration: Configuration) throws(ConfigurationError) -> [TierLayout] {
        let levels = configuration.integer(.workerTieredStoreLevels)
        var tiers: [TierLayout] = []
        var aliases = Set<TierAlias>()
        for level in 0..<levels {
            let keys = levelKeys[level]
            guard let alias = TierAlias(rawValue: configuration.string(keys.alias).uppercased()) else {
                throw ConfigurationError(.invalidValue, "\(keys.alias.name)=\(configuration.string(keys.alias)): expected MEM, SSD or HDD")
            }
            guard aliases.insert(alias).inserted else {
                throw ConfigurationError(.invalidValue, "\(keys.alias.name)=\(alias.rawValue): another level already uses \(alias.rawValue)")
            }
            if let previous = tiers.last, alias < previous.alias {
                throw ConfigurationError(.invalidValue, "\(keys.alias.name)=\(alias.rawValue) is faster than level \(level - 1) (\(previous.alias.rawValue)); list tiers fastest first")
            }
            let paths = configuration.string(keys.paths).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !paths.isEmpty, paths.allSatisfy({ $0.hasPrefix("/") }) else {
                throw ConfigurationError(.invalidValue, "\(keys.paths.name)=\(configuration.string(keys.paths)): expected absolute directories, comma-separated")
            }
            var quotas: [Int64] = []
            for text in configuration.string(keys.quota).split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let bytes = ByteSize.parse(text), bytes > 0 else {
                    throw ConfigurationError(.invalidValue, "\(keys.quota.name)=\(configuration.string(keys.quota)): '\(text)' is not a positive size such as 1GB")
                }
                quotas.append(bytes)
            }
            guard !quotas.isEmpty else { throw ConfigurationError(.invalidValue, "\(keys.quota.name) is empty") }
            // As in Alluxio, the last quota applies to the remaining directories.
            while quotas.count < paths.count { quotas.append(quotas.last!) }
            guard quotas.count == paths.count else {
                throw ConfigurationError(.invalidValue, "\(keys.quota.name) lists \(quotas.count) quotas for \(paths.count) directories")
            }
            let high = configuration.ratio(keys.high), low = configuration.ratio(keys.low)
            guard low > 0, low <= high, high <= 1 else {
                throw ConfigurationError(.invalidValue, "need 0 < \(keys.low.name) (\(low)) <= \(keys.high.name) (\(high)) <= 1")
            }
            tiers.append(TierLayout(alias: alias, directories: paths, capacitiesBytes: quotas, highWatermark: high, lowWatermark: low))
        }
        return tiers
    }
}
