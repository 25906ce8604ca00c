import FeedStore
import Foundation

/// The per-source series of `/metrics`, kept in one table and written out at scrape time.
///
/// Why not one swift-metrics handle per source and series: the Prometheus backend stores each
/// family's label sets in an immutable dictionary that it copies whenever a new label set is
/// registered, so the first fetch of each of n sources costs O(n) and a cold start O(n²) — at
/// 50 000 sources that was over a third of the instance's CPU (docs/scaling.md). A per-source
/// histogram also writes a dozen lines per source into every scrape. Here a new source is one
/// dictionary insert, a scrape is one sorted pass, and sources that leave the config leave the
/// table (`retain`), so `/metrics` says only what the config says.
///
/// The series (names fixed: dashboards and alerts depend on them), each with the label `source`:
/// `clusterwire_source_last_success_timestamp_seconds`, `clusterwire_source_consecutive_failures`,
/// `clusterwire_source_last_http_status`, `clusterwire_source_last_fetch_duration_seconds`,
/// `clusterwire_source_new_entries_total` (a counter since this process started) and
/// `clusterwire_source_retention_dropped_entries` and `clusterwire_source_filtered_entries` (stored
/// entries its `[source.filter]` keeps out of every published document). A series a source has no value for yet (no
/// success so far, no HTTP answer) is left out, as a never-set gauge would be.
public final class SourceMetrics: Sendable {
  struct Series: Sendable, Equatable {
    var lastSuccess: Double?
    var consecutiveFailures: Int?
    var httpStatus: Int?
    var lastDuration: Double?
    var newEntries: Int = 0
    var retentionDropped: Int?
    var filteredEntries: Int?
  }

  private let table = Locked<[String: Series]>([:])

  public init() {}

  /// One fetch's outcome for `sourceID` (the crawler calls this after every `record`).
  public func record(
    sourceID: String, outcome: FetchOutcome, newEntries: Int, duration: TimeInterval,
    consecutiveFailures: Int, filteredEntries: Int? = nil
  ) {
    table.withLock { t in
      var s = t[sourceID] ?? Series()
      switch outcome.result {
      case .fetched, .notModified: s.lastSuccess = outcome.attemptedAt.timeIntervalSince1970
      case .failed, .gone: break
      }
      s.consecutiveFailures = consecutiveFailures
      if let status = outcome.httpStatus { s.httpStatus = status }
      s.lastDuration = duration
      s.newEntries += max(0, newEntries)
      if let filteredEntries { s.filteredEntries = filteredEntries }
      t[sourceID] = s
    }
  }

  /// Values from the store's state (start-up, after a retention sweep), so a restart does not
  /// blank them until each source's next fetch. `health: false` sets only the retention count.
  public func restore(_ states: [SourceState], health: Bool) {
    table.withLock { t in
      t.reserveCapacity(states.count)
      for state in states {
        var s = t[state.id] ?? Series()
        if health {
          if let success = state.lastSuccess { s.lastSuccess = success.timeIntervalSince1970 }
          s.consecutiveFailures = state.consecutiveFailures
          if let status = state.httpStatus { s.httpStatus = status }
        }
        s.retentionDropped = state.retentionDropped
        // Only sources that filter (or did): a zero line per source says nothing.
        if state.filteredEntries > 0 || s.filteredEntries != nil {
          s.filteredEntries = state.filteredEntries
        }
        t[state.id] = s
      }
    }
  }

  /// Forgets every source not in `ids` (removed from the config or disabled).
  public func retain(_ ids: Set<String>) {
    table.withLock { t in t = t.filter { ids.contains($0.key) } }
  }

  /// How many sources have at least one series.
  public var count: Int { table.withLock { $0.count } }

  /// The series in Prometheus text exposition format (0.0.4), sources in id order so two scrapes
  /// of the same state are byte-identical. Empty when no source has a value yet.
  public func exposition() -> String {
    let rows = table.withLock { t in t.sorted { $0.key < $1.key } }
    guard !rows.isEmpty else { return "" }
    let labels = rows.map { #"{source=""# + Self.escape($0.key) + #""}"# }
    var out = ""
    out.reserveCapacity(rows.count * 6 * 80)
    func family(_ name: String, _ type: String, _ value: (Series) -> String?) {
      var header = false
      for (i, row) in rows.enumerated() {
        guard let v = value(row.value) else { continue }
        if !header {
          out += "# TYPE \(name) \(type)\n"
          header = true
        }
        out += name
        out += labels[i]
        out += " "
        out += v
        out += "\n"
      }
    }
    family("clusterwire_source_last_success_timestamp_seconds", "gauge") {
      $0.lastSuccess.map(Self.format)
    }
    family("clusterwire_source_consecutive_failures", "gauge") {
      $0.consecutiveFailures.map(String.init)
    }
    family("clusterwire_source_last_http_status", "gauge") { $0.httpStatus.map(String.init) }
    family("clusterwire_source_last_fetch_duration_seconds", "gauge") {
      $0.lastDuration.map(Self.format)
    }
    family("clusterwire_source_new_entries_total", "counter") { String($0.newEntries) }
    family("clusterwire_source_retention_dropped_entries", "gauge") {
      $0.retentionDropped.map(String.init)
    }
    family("clusterwire_source_filtered_entries", "gauge") { $0.filteredEntries.map(String.init) }
    return out
  }

  /// A label value as the exposition format wants it: backslash, double quote and newline
  /// escaped (source ids come from the config, which does not forbid them).
  static func escape(_ value: String) -> String {
    guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
    var out = ""
    for c in value {
      switch c {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      default: out.append(c)
      }
    }
    return out
  }

  static func format(_ value: Double) -> String {
    value.isFinite ? "\(value)" : (value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf"))
  }
}
