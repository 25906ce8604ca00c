import Foundation
import TestSupport
import XCTest

/// Memory does not depend on what clients request: the real daemon, walked with 20 000 distinct
/// `?before=` cursors and 20 000 unknown paths over keep-alive connections, grows by less than
/// 50 MB and still serves `/feed.atom` (same ETag) as fast as before.
final class CacheBoundsTests: XCTestCase {
  /// Sends every path in `paths` over `workers` keep-alive connections; returns the statuses in
  /// order (0 = no answer).
  static func load(port: Int, paths: [String], workers: Int = 6) -> [Int] {
    final class Results: @unchecked Sendable {
      let lock = NSLock()
      var statuses: [Int]
      init(_ n: Int) { statuses = Array(repeating: 0, count: n) }
    }
    let results = Results(paths.count)
    TestSupport.concurrently(workers) { w in
      var connection = RawConnection(port: port)
      var local: [(Int, Int)] = []
      var i = w
      while i < paths.count {
        var status = connection?.get(paths[i])?.status
        if status == nil {
          // The server may close a keep-alive connection; one fresh retry.
          connection = RawConnection(port: port)
          status = connection?.get(paths[i])?.status
        }
        local.append((i, status ?? 0))
        i += workers
      }
      results.lock.withLock { for (i, s) in local { results.statuses[i] = s } }
    }
    return results.statuses
  }

  func testTwentyThousandCursorsAndUnknownPathsKeepMemoryBounded() throws {
    let daemon = try RunningDaemon(items: 60, entriesPerPage: 2)
    var succeeded = false
    defer { daemon.stop(succeeded: succeeded) }
    XCTAssertTrue(daemon.waitUntilServing(), "daemon not serving; stderr:\n\(daemon.stderrLog)")
    let port = daemon.port
    let first = try XCTUnwrap(TestSupport.httpGet(port: port, path: "/feed.atom"))
    XCTAssertEqual(first.status, 200)
    let etag = try XCTUnwrap(first.headers["etag"])
    let latencyBefore = daemon.medianLatency("/feed.atom")
    let rssStart = daemon.rss
    XCTAssertGreaterThan(rssStart, 0)
    let started = Date()

    // 20 000 distinct, valid cursors spread over the source's hour of entries (some pages full,
    // some partly, some empty); mostly the merged Atom feed, every tenth the HTML page. Small
    // pages keep a debug build's render cost (and the test's wall time) down; the budget under
    // test is in bytes and entries, so what matters is the number of distinct documents.
    let t0ms = Int64(daemon.t0.timeIntervalSince1970 * 1000)
    let cursors = (0..<20_000).map { i in
      "\(i % 10 == 9 ? "/" : "/feed.atom")?before=\(t0ms + 60_000 - Int64(i) * 211)-\(100_000 + i)"
    }
    let cursorStatuses = Self.load(port: port, paths: cursors)
    XCTAssertEqual(
      cursorStatuses.filter { $0 != 200 }.count, 0,
      "every cursor is a page: \(Set(cursorStatuses)); stderr:\n\(daemon.stderrLog.suffix(2000))")
    let rssAfterCursors = daemon.rss
    let cursorSeconds = Date().timeIntervalSince(started)

    // 20 000 unknown paths: half match no route at all, half name a source that does not exist.
    let unknown = (0..<20_000).map { i in
      i % 2 == 0 ? "/nope/\(i)/feed-\(i).xml" : "/sources/unknown-\(i).atom"
    }
    let unknownStatuses = Self.load(port: port, paths: unknown)
    XCTAssertEqual(unknownStatuses.filter { $0 != 404 }.count, 0, "\(Set(unknownStatuses))")
    let rssEnd = daemon.rss
    let totalSeconds = Date().timeIntervalSince(started)

    let after = try XCTUnwrap(TestSupport.httpGet(port: port, path: "/feed.atom"))
    XCTAssertEqual(after.status, 200)
    XCTAssertEqual(after.headers["etag"], etag, "the merged feed was not re-rendered or changed")
    let latencyAfter = daemon.medianLatency("/feed.atom")

    let mb = { (b: Int) in String(format: "%.1f MB", Double(b) / 1e6) }
    print(
      """
      CacheBoundsTests: RSS start \(mb(rssStart)); after 20 000 cursors \(mb(rssAfterCursors)) \
      (+\(mb(rssAfterCursors - rssStart)), \(String(format: "%.1f", cursorSeconds)) s); after \
      20 000 unknown paths \(mb(rssEnd)) (+\(mb(rssEnd - rssAfterCursors))); total growth \
      +\(mb(rssEnd - rssStart)) in \(String(format: "%.1f", totalSeconds)) s; /feed.atom median \
      \(String(format: "%.2f", latencyBefore)) ms before, \(String(format: "%.2f", latencyAfter)) ms after
      """)
    XCTAssertLessThan(rssAfterCursors - rssStart, 50_000_000, "cursor walk grew RSS too much")
    XCTAssertLessThan(rssEnd - rssStart, 50_000_000, "RSS grew by 50 MB or more")
    XCTAssertLessThan(
      latencyAfter, max(3 * latencyBefore, latencyBefore + 20), "/feed.atom got slower")

    // Metrics stay bounded too: unknown paths are one route label, never the raw path.
    let metrics = String(
      decoding: try XCTUnwrap(TestSupport.httpGet(port: port, path: "/metrics")).body,
      as: UTF8.self)
    XCTAssertTrue(metrics.contains("route=\"unmatched\""), metrics)
    XCTAssertFalse(metrics.contains("/nope/"))
    XCTAssertFalse(metrics.contains("unknown-1"))
    XCTAssertTrue(metrics.contains("clusterwire_feed_renders_total"), metrics)
    succeeded = testRun?.hasSucceeded ?? false
  }
}
