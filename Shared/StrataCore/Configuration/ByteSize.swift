/// Parses and formats byte sizes the way Alluxio does: a number and an optional binary unit.
///
/// `64MB`, `64m`, `1.5GB`, `100` (bytes), `8KB`. Units are case-insensitive and binary
/// (1KB = 1024 bytes), as in Alluxio's `FormatUtils.parseSpaceSize`.
public enum ByteSize {
    static let units: [(suffixes: [String], multiplier: Double)] = [
        (["pb", "p"], 1_125_899_906_842_624),
        (["tb", "t"], 1_099_511_627_776),
        (["gb", "g"], 1_073_741_824),
        (["mb", "m"], 1_048_576),
        (["kb", "k"], 1024),
        (["b", ""], 1),
    ]

    /// The number of bytes `text` denotes, or nil if it is not a size.
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingWhitespace().lowercased()
        guard let split = trimmed.firstIndex(where: { !($0.isNumber || $0 == ".") }) ?? Optional(trimmed.endIndex)
        else { return nil }
        let number = String(trimmed[..<split])
        let unit = trimmed[split...].trimmingWhitespace()
        guard !number.isEmpty, let value = Double(number), value >= 0, value.isFinite else { return nil }
        for (suffixes, multiplier) in units where suffixes.contains(unit) {
            let bytes = value * multiplier
            guard bytes < 9.2e18 else { return nil }
            return Int64(bytes.rounded())
        }
        return nil
    }

    /// A short human form: `64.00MB`, `512B`, `1.50GB`, as `fs ls -h` prints sizes.
    public static func format(_ bytes: Int64) -> String {
        let names = ["B", "KB", "MB", "GB", "TB", "PB"]
        var value = Double(bytes)
        var index = 0
        while abs(value) >= 1024 && index < names.count - 1 {
            value /= 1024
            index += 1
        }
        if index == 0 { return "\(bytes)B" }
        return formatFixed(value, fractionDigits: 2) + names[index]
    }

    /// `bytes` expressed in `unit` (B, KB, MB, GB, TB, PB), for `getConf --unit`.
    public static func convert(_ bytes: Int64, toUnit unit: String) -> String? {
        let lowered = unit.lowercased()
        guard let entry = units.first(where: { $0.suffixes.contains(lowered) && !lowered.isEmpty }) else { return nil }
        let value = Double(bytes) / entry.multiplier
        return value == value.rounded() ? String(Int64(value)) : formatFixed(value, fractionDigits: 2)
    }
}

/// Parses and formats durations the way Alluxio does: a number and an optional unit, milliseconds
/// when the unit is missing (`10s`, `5min`, `500ms`, `1h`, `2d`, `1500`).
public enum DurationText {
    static let units: [(suffixes: [String], milliseconds: Double)] = [
        (["ms", "msec", "millisecond", "milliseconds", ""], 1),
        (["s", "sec", "secs", "second", "seconds"], 1000),
        (["m", "min", "mins", "minute", "minutes"], 60_000),
        (["h", "hr", "hrs", "hour", "hours"], 3_600_000),
        (["d", "day", "days"], 86_400_000),
    ]

    /// The duration `text` denotes, or nil if it is not a duration.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace().lowercased()
        let split = trimmed.firstIndex(where: { !($0.isNumber || $0 == ".") }) ?? trimmed.endIndex
        let number = String(trimmed[..<split])
        let unit = trimmed[split...].trimmingWhitespace()
        guard !number.isEmpty, let value = Double(number), value >= 0, value.isFinite else { return nil }
        for (suffixes, milliseconds) in units where suffixes.contains(unit) {
            let total = value * milliseconds
            guard total < 9.2e15 else { return nil }
            return .milliseconds(Int64(total.rounded()))
        }
        return nil
    }

    /// `duration` expressed in `unit` (MS, S, MIN, HOUR, DAY), for `getConf --unit`.
    public static func convert(_ duration: Duration, toUnit unit: String) -> String? {
        let lowered = unit.lowercased()
        guard let entry = units.first(where: { $0.suffixes.contains(lowered) && !lowered.isEmpty }) else { return nil }
        let value = Double(duration.milliseconds) / entry.milliseconds
        return value == value.rounded() ? String(Int64(value)) : formatFixed(value, fractionDigits: 3)
    }

    /// A short form: `1500ms`, `10s`, `5min`, choosing the largest unit that divides evenly.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        if milliseconds != 0 && milliseconds % 86_400_000 == 0 { return "\(milliseconds / 86_400_000)d" }
        if milliseconds != 0 && milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds != 0 && milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)min" }
        if milliseconds != 0 && milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Seconds as a Double, for reports and rates.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Formats `value` with exactly `fractionDigits` decimals without Foundation.
func formatFixed(_ value: Double, fractionDigits: Int) -> String {
    var scale = 1.0
    for _ in 0..<fractionDigits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int64(scaled / scale)
    let fraction = Int64(scaled) - whole * Int64(scale)
    var fractionText = String(fraction)
    while fractionText.count < fractionDigits { fractionText = "0" + fractionText }
    return (value < 0 ? "-" : "") + "\(whole)." + fractionText
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    public func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
