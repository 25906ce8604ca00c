import Foundation
import TOMLKit

/// Collects issues across all files of one load (a class so readers can share it cheaply).
final class IssueCollector {
  var issues: [ConfigIssue] = []
}

/// One parsed file: its name for messages, its directory for relative paths, its line locator.
struct FileContext {
  let display: String
  let directory: URL
  let locator: LineLocator
  let collector: IssueCollector

  func report(_ path: String, _ message: String) {
    collector.issues.append(
      ConfigIssue(
        file: display, line: locator.line(for: path), key: path.isEmpty ? nil : path,
        message: message))
  }

  func line(_ path: String) -> Int? { locator.line(for: path) }
}

/// Typed, validating access to one TOML table. Every getter reports a wrong type as an issue
/// (and returns nil) and remembers the key, so `finish()` can report the unknown ones.
final class TableReader {
  let table: TOMLTable
  let path: String
  let file: FileContext
  private var used: Set<String> = []

  init(table: TOMLTable, path: String, file: FileContext) {
    self.table = table
    self.path = path
    self.file = file
  }

  func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

  func report(_ key: String, _ message: String) { file.report(keyPath(key), message) }

  func has(_ key: String) -> Bool { table.contains(key: key) }

  private func value(_ key: String) -> TOMLValueConvertible? {
    used.insert(key)
    return table[key]
  }

  private func typeError(_ key: String, expected: String, found value: TOMLValueConvertible) {
    var message = "expected \(expected), found \(Self.describe(value.type))"
    if value.type != .table && value.type != .array { message += " (\(value.debugDescription))" }
    report(key, message)
  }

  static func describe(_ type: TOMLType) -> String {
    switch type {
    case .int: return "an integer"
    case .double: return "a floating-point number"
    case .string: return "a string"
    case .bool: return "a boolean"
    case .table: return "a table"
    case .array: return "an array"
    case .date: return "a date"
    case .time: return "a time"
    case .dateTime: return "a date-time"
    }
  }

  func string(_ key: String) -> String? {
    guard let v = value(key) else { return nil }
    guard let s = v.string else {
      typeError(key, expected: "a string", found: v)
      return nil
    }
    return s
  }

  /// A string, with "" meaning "not set" (the documented way to leave a selector empty).
  func optionalString(_ key: String) -> String? {
    guard let s = string(key)?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty else {
      return nil
    }
    return s
  }

  /// A required, non-empty string; reports a missing key on the table's header line.
  func requiredString(_ key: String, what: String? = nil) -> String? {
    guard has(key) else {
      report(key, "missing required key\(what.map { " (\($0))" } ?? "")")
      used.insert(key)
      return nil
    }
    guard let s = string(key) else { return nil }
    if s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
      report(key, "must not be empty")
      return nil
    }
    return s
  }

  func int(_ key: String, min: Int? = nil) -> Int? {
    guard let v = value(key) else { return nil }
    guard let n = v.int else {
      typeError(key, expected: "an integer", found: v)
      return nil
    }
    if let min, n < min {
      report(key, "must be at least \(min), found \(n)")
      return nil
    }
    return n
  }

  func bool(_ key: String) -> Bool? {
    guard let v = value(key) else { return nil }
    guard let b = v.bool else {
      typeError(key, expected: "a boolean (true or false)", found: v)
      return nil
    }
    return b
  }

  /// An array of strings; a single string is accepted as a one-element array.
  func stringArray(_ key: String) -> [String]? {
    guard let v = value(key) else { return nil }
    if let s = v.string { return [s] }
    guard let array = v.array else {
      typeError(key, expected: "an array of strings", found: v)
      return nil
    }
    var out: [String] = []
    for (i, element) in array.enumerated() {
      guard let s = element.string else {
        file.report(
          keyPath(key) + "[\(i)]",
          "expected a string, found \(Self.describe(element.type)) (\(element.debugDescription))")
        return nil
      }
      out.append(s)
    }
    return out
  }

  /// A duration string (`90s`, `30m`, `6h`, `1d`, `1h30m`) or an integer number of seconds.
  func duration(_ key: String, allowZero: Bool = false) -> TimeInterval? {
    guard let v = value(key) else { return nil }
    let seconds: TimeInterval
    if let n = v.int {
      seconds = TimeInterval(n)
    } else if let s = v.string {
      guard let parsed = ConfigUnits.duration(s) else {
        report(key, "invalid duration \"\(s)\" (use e.g. 90s, 30m, 6h, 1d)")
        return nil
      }
      seconds = parsed
    } else {
      typeError(key, expected: "a duration string such as \"30m\"", found: v)
      return nil
    }
    if seconds < 0 || (!allowZero && seconds == 0) {
      report(key, "duration must be \(allowZero ? "zero or more" : "greater than zero")")
      return nil
    }
    return seconds
  }

  /// A size string (`10MiB`, `512KiB`, `1MB`) or an integer number of bytes; at least 1 byte.
  func size(_ key: String) -> Int? {
    guard let v = value(key) else { return nil }
    let bytes: Int
    if let n = v.int {
      bytes = n
    } else if let s = v.string {
      guard let parsed = ConfigUnits.size(s) else {
        report(key, "invalid size \"\(s)\" (use e.g. 10MiB, 512KiB, 1MB or a number of bytes)")
        return nil
      }
      bytes = parsed
    } else {
      typeError(key, expected: "a size string such as \"10MiB\"", found: v)
      return nil
    }
    if bytes < 1 {
      report(key, "size must be at least 1 byte")
      return nil
    }
    return bytes
  }

  /// A sub-table (`[server]`, `[source.select]`), or nil with an issue when it is something else.
  func subtable(_ key: String) -> TableReader? {
    guard let v = value(key) else { return nil }
    guard let t = v.table else {
      typeError(key, expected: "a table ([\(keyPath(key))])", found: v)
      return nil
    }
    return TableReader(table: t, path: keyPath(key), file: file)
  }

  /// Marks keys handled elsewhere as known.
  func markUsed(_ keys: String...) { used.formUnion(keys) }

  /// Reports every key of the table no getter asked for, with a spelling suggestion.
  func finish() {
    for key in table.keys.sorted() where !used.contains(key) {
      if key == "include" && !path.isEmpty {
        // TOML puts every key after a [table] header into that table.
        report(key, "unknown key (include must come before the first [table] of the main file)")
      } else {
        report(key, "unknown key\(Self.suggestion(for: key, among: used))")
      }
    }
  }

  /// ` (did you mean "interval"?)` when a known key is within two edits of `key`.
  static func suggestion(for key: String, among known: Set<String>) -> String {
    let best = known.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= 2 }
      .min { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
    return best.map { " (did you mean \"\($0.0)\"?)" } ?? ""
  }

  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
      var current = [i] + Array(repeating: 0, count: b.count)
      for j in 1...b.count {
        current[j] = Swift.min(
          previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      previous = current
    }
    return previous[b.count]
  }
}
