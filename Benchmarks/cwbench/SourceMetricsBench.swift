import ArgumentParser
import Crawler
import FeedStore
import Foundation
import Metrics
import Prometheus

/// Per-source metrics at network size: one fetch recorded for each of n sources, then one
/// `/metrics` scrape, two ways in the same run — the crawler's `SourceMetrics` table (what the
/// daemon does) and, as the baseline it replaced, one swift-metrics handle per source and series
/// on the Prometheus backend (whose registration copies the family's label dictionary: O(n) per
/// new source).
struct SourceMetricsBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "source-metrics",
    abstract: "Per-source /metrics series: SourceMetrics vs one registry handle per source.")

  @Option(help: "Source counts to measure, comma-separated.")
  var sources: String = "1000,5000,10000,20000,50000"
  @Option(help: "Largest source count the per-handle baseline runs at (it is quadratic).")
  var baselineLimit: Int = 20_000

  func run() async throws {
    let counts = sources.split(separator: ",").compactMap { Int($0) }
    print(
      "sources  table_record_ms  table_scrape_ms  table_bytes  registry_record_ms  registry_scrape_ms  registry_bytes  record_ratio"
    )
    for n in counts {
      let ids = (0..<n).map { String(format: "member-%06d", $0) }
      let at = Date()
      let outcomes = ids.map {
        FetchOutcome(
          sourceID: $0, result: .fetched, attemptedAt: at, httpStatus: 200, nextDue: at + 1800)
      }
      let table = SourceMetrics()
      let t0 = ContinuousClock.now
      for o in outcomes {
        table.record(
          sourceID: o.sourceID, outcome: o, newEntries: 3, duration: 0.2, consecutiveFailures: 0)
      }
      let t1 = ContinuousClock.now
      let tableText = table.exposition()
      let t2 = ContinuousClock.now
      var line =
        "\(n)  \(ms(t1 - t0))  \(ms(t2 - t1))  \(tableText.utf8.count)"
      if n <= baselineLimit {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let r0 = ContinuousClock.now
        for o in outcomes {
          // What `CrawlMetrics.record` did per fetch before the table.
          let dims = [("source", o.sourceID)]
          factory.makeRecorder(
            label: "clusterwire_source_last_success_timestamp_seconds", dimensions: dims,
            aggregate: false
          ).record(o.attemptedAt.timeIntervalSince1970)
          factory.makeRecorder(
            label: "clusterwire_source_consecutive_failures", dimensions: dims, aggregate: false
          ).record(0.0)
          factory.makeRecorder(
            label: "clusterwire_source_last_http_status", dimensions: dims, aggregate: false
          ).record(200.0)
          factory.makeTimer(label: "clusterwire_fetch_duration_seconds", dimensions: dims)
            .recordNanoseconds(200_000_000)
          factory.makeCounter(label: "clusterwire_source_new_entries_total", dimensions: dims)
            .increment(by: 3)
        }
        let r1 = ContinuousClock.now
        let registryText = registry.emitToString()
        let r2 = ContinuousClock.now
        let ratio = Double(ms(r1 - r0))! / max(0.001, Double(ms(t1 - t0))!)
        line +=
          "  \(ms(r1 - r0))  \(ms(r2 - r1))  \(registryText.utf8.count)  \(String(format: "%.0f", ratio))"
      } else {
        line += "  -  -  -  -"
      }
      print(line)
    }
  }

  private func ms(_ d: Duration) -> String {
    let v = Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
    return String(format: "%.1f", v)
  }
}
