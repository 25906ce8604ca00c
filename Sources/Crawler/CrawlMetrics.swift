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

  /// `clusterwire_html_fragments_total{result}`: entry HTML fragments of parsed documents that
  /// went through the sanitiser (`sanitized`) or whose stored result was reused (`reused`,
  /// issue 17): how much of the sanitiser's work re-fetches save.
  static func sanitizer(sanitized: Int, reused: Int) {
    if sanitized > 0 {
      Counter(label: "clusterwire_html_fragments_total", dimensions: [("result", "sanitized")])
        .increment(by: sanitized)
    }
    if reused > 0 {
      Counter(label: "clusterwire_html_fragments_total", dimensions: [("result", "reused")])
        .increment(by: reused)
    }
  }

  static func cycle(duration: TimeInterval) {
    Timer(label: "clusterwire_crawl_cycle_duration_seconds").recordNanoseconds(
      Int64(duration * 1e9))
  }
}
