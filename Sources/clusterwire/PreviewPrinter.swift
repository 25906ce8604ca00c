import FeedModel
import Foundation

/// The entry listing `try-source` prints and `discover` shows on stderr: one implementation, so
/// an admin sees the same lines from both commands.
enum PreviewPrinter {
  /// The header ("ID: N entries (format, encoding)") and, for each entry (the first `limit`),
  /// its date and title, link and lead. With `filter`, an entry it would drop gets a
  /// `  dropped by filter: …` line saying why.
  static func lines(
    id: String, parsed: ParsedFeed, filter: CompiledEntryFilter? = nil, limit: Int? = nil
  ) -> [String] {
    var out = [
      "\(id): \(parsed.feed.entries.count) entries (\(parsed.format.rawValue), \(parsed.encoding))"
    ]
    for e in parsed.feed.entries.prefix(limit ?? .max) {
      out.append(
        "- \(e.published.map(rfc3339) ?? "(no date: first-seen time will be used)")  \(e.title ?? "(no title)")"
      )
      if let link = e.link { out.append("  \(link)") }
      if let summary = e.summary?.value, !summary.isEmpty {
        out.append("  \(summary.prefix(160))")
      }
      if let verdict = filter?.verdict(for: e) {
        out.append("  dropped by filter: \(verdict)")
      }
    }
    if let limit, parsed.feed.entries.count > limit {
      out.append("… and \(parsed.feed.entries.count - limit) more")
    }
    return out
  }

  /// Writes `lines` to `handle`, one per line.
  static func write(_ lines: [String], to handle: FileHandle) {
    handle.write(Data(lines.map { $0 + "\n" }.joined().utf8))
  }
}
