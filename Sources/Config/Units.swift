import Foundation

/// Parsing and printing of the human units used in the config file: durations such as `90s`,
/// `30m`, `1h30m`, `1d` and sizes such as `10MiB`, `512KiB`, `1MB` or plain bytes. Public so the
/// executable can print settings back in the same notation the admin wrote.
public enum ConfigUnits {
  /// Seconds per duration unit. Months and years are left out on purpose: they have no fixed length.
  static let durationUnits: [String: Double] = [
    "ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800,
  ]

  /// Parses `90s`, `30m`, `6h`, `1d`, `2w`, `1h30m`, `1.5h`, `250ms` into seconds. A bare number is
  /// not accepted in a string (is `"30"` seconds or minutes?); integers are handled by the loader.
  public static func duration(_ text: String) -> TimeInterval? {
    let s = text.trimmingCharacters(in: .whitespaces).lowercased()
    guard !s.isEmpty else { return nil }
    var total = 0.0
    var index = s.startIndex
    var sawComponent = false
    while index < s.endIndex {
      let numberStart = index
      while index < s.endIndex, s[index].isASCII, s[index].isNumber || s[index] == "." {
        index = s.index(after: index)
      }
      guard numberStart < index, let number = Double(s[numberStart..<index]) else { return nil }
      let unitStart = index
      while index < s.endIndex, s[index].isASCII, s[index].isLetter {
        index = s.index(after: index)
      }
      guard let factor = durationUnits[String(s[unitStart..<index])] else { return nil }
      total += number * factor
      sawComponent = true
    }
    return sawComponent && total.isFinite ? total : nil
  }

  /// Bytes per size unit; KB/MB/GB are decimal, KiB/MiB/GiB binary (as the admin would expect).
  static let sizeUnits: [String: Int] = [
    "": 1, "b": 1,
    "kb": 1000, "mb": 1_000_000, "gb": 1_000_000_000,
    "kib": 1024, "mib": 1024 * 1024, "gib": 1024 * 1024 * 1024,
  ]

  /// Parses `10MiB`, `512KiB`, `1MB`, `1.5MiB`, `2048` or `2048B` into bytes.
  public static func size(_ text: String) -> Int? {
    let s = text.trimmingCharacters(in: .whitespaces)
    var index = s.startIndex
    while index < s.endIndex, s[index].isASCII, s[index].isNumber || s[index] == "." {
      index = s.index(after: index)
    }
    guard index > s.startIndex, let number = Double(s[s.startIndex..<index]) else { return nil }
    let unit = s[index...].trimmingCharacters(in: .whitespaces).lowercased()
    guard let factor = sizeUnits[unit] else { return nil }
    let bytes = number * Double(factor)
    guard bytes.isFinite, bytes <= Double(Int.max / 2) else { return nil }
    return Int(bytes.rounded())
  }

  /// Prints seconds in the largest units that divide it: `5400` → `1h30m`, `0` → `0s`.
  public static func formatDuration(_ seconds: TimeInterval) -> String {
    if seconds < 1, seconds > 0 { return "\(Int((seconds * 1000).rounded()))ms" }
    var rest = Int(seconds.rounded())
    if rest == 0 { return "0s" }
    var out = ""
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
      out += "\(rest / size)\(unit)"
      rest %= size
    }
    return out
  }

  /// Prints bytes with the largest binary unit that divides it: `10485760` → `10MiB`.
  public static func formatSize(_ bytes: Int) -> String {
    for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
    where bytes >= size && bytes % size == 0 {
      return "\(bytes / size)\(unit)"
    }
    return "\(bytes)B"
  }
}
