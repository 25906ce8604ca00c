import FeedStore
import Foundation
import XCTest

@testable import Crawler

final class SourceMetricsTests: XCTestCase {
  private let t = Date(timeIntervalSince1970: 1_764_700_000)

  private func outcome(_ id: String, _ result: FetchOutcome.Result, status: Int?) -> FetchOutcome {
    FetchOutcome(
      sourceID: id, result: result, attemptedAt: t, httpStatus: status, nextDue: t + 1800)
  }

  /// Lines of one family, without its `# TYPE` header.
  private func lines(_ text: String, _ name: String) -> [String] {
    text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(name + "{") }
  }

  func testFetchesBecomeOneSeriesPerSourceInIDOrder() {
    let m = SourceMetrics()
    XCTAssertEqual(m.exposition(), "")
    m.record(
      sourceID: "b", outcome: outcome("b", .fetched, status: 200), newEntries: 3, duration: 0.25,
      consecutiveFailures: 0)
    m.record(
      sourceID: "a", outcome: outcome("a", .failed, status: 503), newEntries: 0, duration: 1.5,
      consecutiveFailures: 2)
    m.record(
      sourceID: "b", outcome: outcome("b", .notModified, status: 304), newEntries: 2,
      duration: 0.125, consecutiveFailures: 0)
    // A network error has no status: the last one seen stays.
    m.record(
      sourceID: "c", outcome: outcome("c", .failed, status: nil), newEntries: 0, duration: 30,
      consecutiveFailures: 1)
    let text = m.exposition()
    XCTAssertEqual(
      lines(text, "clusterwire_source_last_success_timestamp_seconds"),
      [#"clusterwire_source_last_success_timestamp_seconds{source="b"} 1764700000.0"#], text)
    XCTAssertEqual(
      lines(text, "clusterwire_source_consecutive_failures"),
      [
        #"clusterwire_source_consecutive_failures{source="a"} 2"#,
        #"clusterwire_source_consecutive_failures{source="b"} 0"#,
        #"clusterwire_source_consecutive_failures{source="c"} 1"#,
      ], text)
    XCTAssertEqual(
      lines(text, "clusterwire_source_last_http_status"),
      [
        #"clusterwire_source_last_http_status{source="a"} 503"#,
        #"clusterwire_source_last_http_status{source="b"} 304"#,
      ], text)
    XCTAssertEqual(
      lines(text, "clusterwire_source_last_fetch_duration_seconds"),
      [
        #"clusterwire_source_last_fetch_duration_seconds{source="a"} 1.5"#,
        #"clusterwire_source_last_fetch_duration_seconds{source="b"} 0.125"#,
        #"clusterwire_source_last_fetch_duration_seconds{source="c"} 30.0"#,
      ], text)
    XCTAssertEqual(
      lines(text, "clusterwire_source_new_entries_total"),
      [
        #"clusterwire_source_new_entries_total{source="a"} 0"#,
        #"clusterwire_source_new_entries_total{source="b"} 5"#,
        #"clusterwire_source_new_entries_total{source="c"} 0"#,
      ], text)
    // Every family is typed once, before its first sample; none is written without samples.
    XCTAssertTrue(text.contains("# TYPE clusterwire_source_new_entries_total counter\n"), text)
    XCTAssertTrue(text.contains("# TYPE clusterwire_source_consecutive_failures gauge\n"), text)
    XCTAssertFalse(text.contains("retention_dropped"), text)
    XCTAssertEqual(text.components(separatedBy: "# TYPE ").count - 1, 5, text)
    XCTAssertEqual(m.exposition(), text, "two scrapes of one state differ")
  }

  func testRestoreFillsFromTheStoreAndRetainForgetsRemovedSources() {
    let m = SourceMetrics()
    m.record(
      sourceID: "a", outcome: outcome("a", .fetched, status: 200), newEntries: 4, duration: 0.5,
      consecutiveFailures: 0)
    var b = SourceState(id: "b", url: "https://b.example/feed")
    b.lastSuccess = t - 3600
    b.consecutiveFailures = 3
    b.httpStatus = 500
    b.retentionDropped = 7
    var a = SourceState(id: "a", url: "https://a.example/feed")
    a.retentionDropped = 2
    m.restore([a, b], health: false)
    var text = m.exposition()
    // health: false touches only the retention count; a's own fetch stays.
    XCTAssertEqual(
      lines(text, "clusterwire_source_retention_dropped_entries"),
      [
        #"clusterwire_source_retention_dropped_entries{source="a"} 2"#,
        #"clusterwire_source_retention_dropped_entries{source="b"} 7"#,
      ], text)
    XCTAssertEqual(lines(text, "clusterwire_source_last_http_status").count, 1, text)
    m.restore([b], health: true)
    text = m.exposition()
    XCTAssertTrue(
      text.contains(#"clusterwire_source_last_success_timestamp_seconds{source="b"} 1764696400.0"#),
      text)
    XCTAssertTrue(text.contains(#"clusterwire_source_consecutive_failures{source="b"} 3"#), text)
    XCTAssertTrue(text.contains(#"clusterwire_source_new_entries_total{source="a"} 4"#), text)
    m.retain(["b", "unknown"])
    text = m.exposition()
    XCTAssertEqual(m.count, 1)
    XCTAssertFalse(text.contains(#"source="a""#), text)
    XCTAssertTrue(text.contains(#"source="b""#), text)
  }

  func testLabelValuesAreEscaped() {
    let m = SourceMetrics()
    m.record(
      sourceID: "odd\"id\\x\ny", outcome: outcome("x", .fetched, status: 200), newEntries: 1,
      duration: 1, consecutiveFailures: 0)
    XCTAssertTrue(
      m.exposition().contains(#"clusterwire_source_new_entries_total{source="odd\"id\\x\ny"} 1"#),
      m.exposition())
  }

  /// The reason this table exists: 50 000 sources (one fetch each, a store restore, a scrape)
  /// in seconds. The registry-per-source way took O(n²) here; its figures are from
  /// `cwbench source-metrics` (a benchmark, not this test), the bound below only catches a
  /// quadratic relapse on a loaded debug build.
  func testFiftyThousandSourcesStayLinear() {
    let m = SourceMetrics()
    let n = 50_000
    let ids = (0..<n).map { String(format: "member-%05d", $0) }
    let started = ContinuousClock.now
    for id in ids {
      m.record(
        sourceID: id, outcome: outcome(id, .fetched, status: 200), newEntries: 1, duration: 0.1,
        consecutiveFailures: 0)
    }
    m.restore(ids.map { SourceState(id: $0, url: "https://\($0).example/") }, health: true)
    let text = m.exposition()
    let elapsed = ContinuousClock.now - started
    XCTAssertEqual(m.count, n)
    XCTAssertEqual(lines(text, "clusterwire_source_new_entries_total").count, n)
    XCTAssertEqual(lines(text, "clusterwire_source_last_http_status").count, n)
    XCTAssertTrue(
      text.contains(#"clusterwire_source_new_entries_total{source="member-49999"} 1"#))
    XCTAssertLessThan(elapsed, .seconds(60), "50 000 sources took \(elapsed)")
  }
}
