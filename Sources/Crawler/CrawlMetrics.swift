import FeedStore
import Foundation
import Metrics

/// The crawler's metrics (names fixed: dashboards and alerts depend on them). Per-source series
/// carry the dimension `source`; the daemon bootstraps the Prometheus backend.
enum CrawlMetrics {
  static func record(
    sourceID: String, outcome: FetchOutcome, newEntries: Int, duration: TimeInterval,
    consecutiveFailures: Int
  ) {
    let dims = [("source", sourceID)]
    switch outcome.result {
    case .fetched, .notModified:
      Gauge(label: "clusterwire_source_last_success_timestamp_seconds", dimensions: dims)
        .record(outcome.attemptedAt.timeIntervalSince1970)
    case .failed, .gone:
      break
    }
    Gauge(label: "clusterwire_source_consecutive_failures", dimensions: dims)
      .record(Double(consecutiveFailures))
    if let status = outcome.httpStatus {
      Gauge(label: "clusterwire_source_last_http_status", dimensions: dims).record(Double(status))
    }
    Timer(label: "clusterwire_fetch_duration_seconds", dimensions: dims)
      .recordNanoseconds(Int64(duration * 1e9))
    let counter = Counter(label: "clusterwire_source_new_entries_total", dimensions: dims)
    if newEntries > 0 { counter.increment(by: newEntries) }
  }

  /// One source's gauges from its stored state (start-up, after a retention sweep).
  static func restore(_ state: SourceState, health: Bool) {
    let dims = [("source", state.id)]
    if health {
      if let success = state.lastSuccess {
        Gauge(label: "clusterwire_source_last_success_timestamp_seconds", dimensions: dims)
          .record(success.timeIntervalSince1970)
      }
      Gauge(label: "clusterwire_source_consecutive_failures", dimensions: dims)
        .record(Double(state.consecutiveFailures))
      if let status = state.httpStatus {
        Gauge(label: "clusterwire_source_last_http_status", dimensions: dims)
          .record(Double(status))
      }
    }
    Gauge(label: "clusterwire_source_retention_dropped_entries", dimensions: dims)
      .record(Double(state.retentionDropped))
  }

  static func cycle(duration: TimeInterval) {
    Timer(label: "clusterwire_crawl_cycle_duration_seconds").recordNanoseconds(
      Int64(duration * 1e9))
  }
}
