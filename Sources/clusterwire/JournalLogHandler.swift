import Foundation
import Logging

/// A swift-log handler for a daemon under systemd: one line per event on stderr, no colour codes,
/// `<N>` syslog priority prefixes when `$JOURNAL_STREAM` says stderr is the journal (journald then
/// files each line at the right priority and adds its own timestamp), a timestamp otherwise.
struct JournalLogHandler: LogHandler {
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level
  let label: String
  let journal: Bool

  static func bootstrap(level: Logger.Level) {
    let journal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil
    LoggingSystem.bootstrap { label in
      JournalLogHandler(logLevel: level, label: label, journal: journal)
    }
  }

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  /// syslog(3) priorities: journald maps `<3>` to err, `<7>` to debug.
  static func priority(_ level: Logger.Level) -> Int {
    switch level {
    case .trace, .debug: return 7
    case .info: return 6
    case .notice: return 5
    case .warning: return 4
    case .error: return 3
    case .critical: return 2
    }
  }

  func log(event: LogEvent) {
    var merged = metadata
    if let extra = event.metadata { merged.merge(extra) { _, new in new } }
    var line = ""
    if journal {
      line += "<\(Self.priority(event.level))>"
    } else {
      line += Self.timestamp() + " " + event.level.rawValue.uppercased() + " "
    }
    line += event.message.description
    for key in merged.keys.sorted() {
      line += " \(key)=\(Self.quote(merged[key]!.description))"
    }
    line += "\n"
    FileHandle.standardError.write(Data(line.utf8))
  }

  /// Values with spaces or quotes are quoted so `key=value` pairs stay machine-splittable.
  static func quote(_ value: String) -> String {
    if value.isEmpty { return "\"\"" }
    if value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
      let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
        .replacingOccurrences(of: "\"", with: "\\\"")
        .replacingOccurrences(of: "\n", with: "\\n")
      return "\"\(escaped)\""
    }
    return value
  }

  static func timestamp() -> String {
    var t = time(nil)
    var tmv = tm()
    gmtime_r(&t, &tmv)
    return String(
      format: "%04d-%02d-%02dT%02d:%02d:%02dZ", tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday,
      tmv.tm_hour, tmv.tm_min, tmv.tm_sec)
  }
}
