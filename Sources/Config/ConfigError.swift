/// One problem found in a config file, located precisely enough for an admin to fix it without
/// guessing: `feeds/x.toml:14: source[2].interval: invalid duration "5 minutes" (…)`.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
  /// The file as the admin named it (main file path as given, drop-ins relative to it).
  public var file: String
  /// 1-based line; nil when the problem concerns the whole file (unreadable, missing).
  public var line: Int?
  /// Dotted key path, array-of-tables elements indexed from 0 within their file
  /// (`source[0].select.item`); nil for file-level and syntax errors.
  public var key: String?
  public var message: String

  public init(file: String, line: Int?, key: String?, message: String) {
    self.file = file
    self.line = line
    self.key = key
    self.message = message
  }

  public var description: String {
    var out = file
    if let line { out += ":\(line)" }
    out += ": "
    if let key, !key.isEmpty { out += "\(key): " }
    return out + message
  }
}

/// Every problem found while loading a configuration (all of them, not just the first), so one
/// `clusterwire check-config` run shows everything that needs fixing.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
  public var issues: [ConfigIssue]

  public init(issues: [ConfigIssue]) { self.issues = issues }

  /// One issue per line.
  public var description: String { issues.map(\.description).joined(separator: "\n") }
}
