import FeedModel
import FeedParser
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A `[[source]]` drop-in for `sources.d/`, as `discover` and `import-opml` write them: rendered
/// in the format `ConfigLoader` reads, validated by that same loader before anything is written,
/// so a generated file can never be one `check-config` refuses.
public enum DropIn {
  /// One `[[source]]` table (with `[source.select]`, `[source.date]`, `[source.filter]` when
  /// set); `comments` become `#` lines above it. Keys equal to the loader's defaults are omitted
  /// (`interval` included: 1800 s, the loader's default, is left to the main file's `[crawl]`).
  public static func render(_ source: SourceDefinition, comments: [String] = []) -> String {
    var out = comments.map(comment).joined()
    out += "[[source]]\n"
    func key(_ name: String, _ value: String) { out += "\(name) = \(value)\n" }
    key("id", string(source.id))
    key("url", string(source.url))
    if source.kind != .feed { key("kind", string(source.kind.rawValue)) }
    if let title = source.title { key("title", string(title)) }
    if !source.categories.isEmpty { key("categories", array(source.categories)) }
    if source.priority != 0 { key("priority", String(source.priority)) }
    if source.interval != defaultInterval { key("interval", duration(source.interval)) }
    if let language = source.language { key("language", string(language)) }
    if let userAgent = source.userAgent { key("user_agent", string(userAgent)) }
    if !source.enabled { key("enabled", "false") }
    if !source.websub { key("websub", "false") }
    if source.kind == .html, let s = source.selectors {
      out += "\n[source.select]\n"
      key("item", string(s.item))
      key("title", string(s.title))
      key("link", string(s.link))
      let optional: [(String, String?)] = [
        ("date", s.date), ("summary", s.summary), ("content", s.content), ("author", s.author),
        ("categories", s.categories), ("id", s.id),
      ]
      for (name, value) in optional {
        if let value, !value.isEmpty { key(name, string(value)) }
      }
      out += "\n[source.date]\n"
      key("locale", string(s.dateLocale))
      if let format = s.dateFormat, !format.isEmpty { key("format", string(format)) }
      key("timezone", string(s.timeZone))
    }
    if let filter = source.filter, !filter.isEmpty {
      out += "\n[source.filter]\n"
      if !filter.block.isEmpty { key("block", array(filter.block)) }
      if !filter.keep.isEmpty { key("keep", array(filter.keep)) }
    }
    return out
  }

  /// Many sources in one document (one table each, a blank line between them).
  public static func render(_ sources: [SourceDefinition]) -> String {
    sources.map { render($0) }.joined(separator: "\n")
  }

  /// The loader's default poll interval (`Settings.Crawl.interval`), omitted from drop-ins.
  static let defaultInterval = Settings.Crawl(userAgent: "").interval

  /// Nil when `text` loads as a drop-in (next to a minimal main config that includes it) and
  /// defines at least one source; else the loader's errors, one per line, as
  /// `line N: source[0].url: …` with the drop-in's own line numbers.
  public static func validate(_ text: String) -> String? {
    switch load(text) {
    case .success(let sources):
      return sources.isEmpty ? "the drop-in defines no [[source]] table" : nil
    case .failure(let error):
      return error.issues.map { issue in
        var out = issue.file == validationRoot + "/" + validationDropIn ? "" : "\(issue.file): "
        if let line = issue.line { out += "line \(line): " }
        if let key = issue.key, !key.isEmpty { out += "\(key): " }
        return out + issue.message
      }.joined(separator: "\n")
    }
  }

  /// The sources `text` defines, read by the real loader (as `validate` reads them).
  public static func load(_ text: String) -> Result<[SourceDefinition], ConfigError> {
    let main = "include = [\"sources.d/*.toml\"]\n"
    do {
      let settings = try ConfigLoader.load(
        contents: Data(main.utf8), path: validationRoot + "/clusterwire.toml",
        files: .memory([validationRoot + "/" + validationDropIn: Data(text.utf8)]))
      return .success(settings.sources)
    } catch {
      return .failure(error)
    }
  }

  /// Where `validate` pretends the files are (nothing is read there: the files are in memory).
  private static let validationRoot = "/nonexistent-clusterwire-drop-in"
  private static let validationDropIn = "sources.d/drop-in.toml"

  /// Why `write` refused.
  public enum WriteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text does not load: the loader's errors (see `validate`).
    case invalid(String)
    /// `id` cannot name a file (`[a-z0-9-]+` is required).
    case badID(String)
    /// The file is there and `force` was not given.
    case exists(String)
    /// The file system said no (directory not creatable, disk full…).
    case io(path: String, reason: String)

    public var description: String {
      switch self {
      case .invalid(let errors): "the drop-in does not load:\n\(errors)"
      case .badID(let id): "invalid source id \"\(id)\" for a file name (use [a-z0-9-]+)"
      case .exists(let path): "\(path) already exists (use --force to overwrite it)"
      case .io(let path, let reason): "cannot write \(path): \(reason)"
      }
    }
  }

  /// Writes `directory/ID.toml` after validating; refuses to overwrite unless `force`. The file
  /// appears whole or not at all (written beside it, then linked or renamed into place), and
  /// without `force` an existing file is never replaced, even by a writer racing this one.
  /// Returns the path written.
  public static func write(_ text: String, id: String, directory: String, force: Bool) throws
    -> String
  {
    guard Slug.isValid(id), id.utf8.count <= 200 else { throw WriteError.badID(id) }
    if let errors = validate(text) { throw WriteError.invalid(errors) }
    let path = (directory as NSString).appendingPathComponent(id + ".toml")
    do {
      try FileManager.default.createDirectory(
        atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw WriteError.io(path: directory, reason: "cannot create the directory (\(error))")
    }
    if !force, FileManager.default.fileExists(atPath: path) { throw WriteError.exists(path) }
    let temporary =
      (directory as NSString).appendingPathComponent(
        ".\(id).toml.\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
    do {
      try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
    } catch {
      throw WriteError.io(path: path, reason: "\(error)")
    }
    defer { unlink(temporary) }
    if force {
      guard rename(temporary, path) == 0 else {
        throw WriteError.io(path: path, reason: String(cString: strerror(errno)))
      }
    } else if link(temporary, path) != 0 {
      let code = errno
      if code == EEXIST { throw WriteError.exists(path) }
      throw WriteError.io(path: path, reason: String(cString: strerror(code)))
    }
    return path
  }

  /// A source id from a site's name or host: `Slug.make`'s rule (lower-case ASCII, Lithuanian
  /// letters transliterated: ą→a, č→c, ė→e, š→s, ž→z …, other runs of characters one hyphen, at
  /// most 40 characters), and `source` when nothing is left.
  public static func slug(_ name: String) -> String {
    let slug = Slug.make(name)
    return slug.isEmpty ? "source" : slug
  }

  // MARK: - TOML values

  /// A TOML string: a basic string `"…"` when nothing needs escaping, else a literal string
  /// `'…'` when the value has no `'` and no control character (XPath with `"`), else a basic
  /// string with escapes.
  static func string(_ value: String) -> String {
    let hasControl = value.unicodeScalars.contains { isControl($0) }
    let needsEscape = hasControl || value.contains("\"") || value.contains("\\")
    if !needsEscape { return "\"\(value)\"" }
    if !hasControl && !value.contains("'") { return "'\(value)'" }
    var out = "\""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "\r": out += "\\r"
      case "\u{8}": out += "\\b"
      case "\u{C}": out += "\\f"
      default:
        if isControl(scalar) {
          out += String(format: "\\u%04X", scalar.value)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }

  /// Characters a TOML literal string cannot hold (tab can, but is escaped for visibility).
  private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || scalar.value == 0x7F
  }

  private static func array(_ values: [String]) -> String {
    "[" + values.map(string).joined(separator: ", ") + "]"
  }

  /// `30m`, `1h30m`; a fractional number of seconds as milliseconds (`1500ms`).
  private static func duration(_ seconds: TimeInterval) -> String {
    if seconds == seconds.rounded() { return string(ConfigUnits.formatDuration(seconds)) }
    return string("\(Int((seconds * 1000).rounded()))ms")
  }

  /// `text` as TOML comment lines (`# …`, one per line of `text`, each ending in a newline).
  public static func comment(_ text: String) -> String {
    text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map {
      commentLine(String($0)) + "\n"
    }.joined()
  }

  /// A `#` comment line; control characters (which TOML forbids in comments) become spaces.
  private static func commentLine(_ text: String) -> String {
    var line = "#"
    if !text.isEmpty { line += " " }
    for scalar in text.unicodeScalars {
      if isControl(scalar) && scalar != "\t" {
        line += " "
      } else {
        line.unicodeScalars.append(scalar)
      }
    }
    return line
  }
}
