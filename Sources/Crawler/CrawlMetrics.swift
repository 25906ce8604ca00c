import FeedStore
import Foundation
import Metrics

/// The crawler's fleet-wide swift-metrics series (names fixed: dashboards and alerts depend on
/// them); the daemon bootstraps the Prometheus backend. Their label sets are bounded: per-source
/// series live in `SourceMetrics`, which scales with the number of sources.
enum CrawlMetrics {
  /// `clusterwire_fetch_duration_seconds{result}`: one histogram per fetch result (`fetched`,
  /// `notModified`, `failed`, `gone`), not per source; each source's last duration is
  /// `clusterwire_source_last_fetch_duration_seconds{source}`.
  static func fetch(result: FetchOutcome.Result, duration: TimeInterval) {
    Timer(label: "clusterwire_fetch_duration_seconds", dimensions: [("result", result.rawValue)])
      .recordNanoseconds(Int64(duration * 1e9))
  }

  static func cycle(duration: TimeInterval) {
    Timer(label: "clusterwire_crawl_cycle_duration_seconds").recordNanoseconds(
      Int64(duration * 1e9))
  }
}
