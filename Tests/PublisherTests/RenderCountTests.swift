import FeedModel
import FeedStore
import Foundation
import Metrics
import Publisher
import PublishingTestSupport
import XCTest

/// Feeds are re-rendered only when the store's change token moves; HTML pages refresh their
/// health section on their own timer; the cache stays within its byte budget.
final class RenderCountTests: XCTestCase {
  static let feeds = [
    "/feed.atom", "/feed.rss", "/feed.json", "/sources.opml", "/categories/ict.atom",
    "/sources/eccp.json",
  ]

  func requestAll(_ publisher: Publisher, _ paths: [String]) async throws -> [String: String] {
    var etags: [String: String] = [:]
    for p in paths {
      let doc = try await publisher.document(path: p, query: [:])
      etags[p] = try XCTUnwrap(doc, p).etag
    }
    return etags
  }

  func testFeedsAreRenderedOncePerStoreChangeHoweverOftenInvalidated() async throws {
    let store = MemoryStore()
    Sample.fill(store)
    let metrics = CountingMetrics()
    let publisher = Publisher(
      store: store, options: Sample.options(), healthRefresh: .seconds(3600),
      metricsFactory: metrics)
    XCTAssertEqual(publisher.feedRenders, 0)
    let first = try await requestAll(publisher, Self.feeds + ["/"])
    XCTAssertEqual(publisher.feedRenders, Self.feeds.count, "one render per feed; HTML not counted")
    XCTAssertEqual(metrics.total("clusterwire_feed_renders_total"), Int64(Self.feeds.count))

    // What a crawl of sources that all answer 304 (or fail) does: the health changes, the change
    // token does not, and the daemon calls invalidate() after each commit.
    for round in 0..<30 {
      store.updateSourceHealth("broken") {
        $0.lastAttempt = Sample.t0.addingTimeInterval(Double(round))
        $0.consecutiveFailures += 1
      }
      await publisher.invalidate()
      let again = try await requestAll(publisher, Self.feeds)
      XCTAssertEqual(again, first.filter { $0.key != "/" })
    }
    // Past the check interval too (the token is then read without invalidate()).
    try await Task.sleep(for: .milliseconds(300))
    _ = try await requestAll(publisher, Self.feeds)
    XCTAssertEqual(publisher.feedRenders, Self.feeds.count, "no feed re-rendered")
    XCTAssertEqual(metrics.total("clusterwire_feed_renders_total"), Int64(Self.feeds.count))

    // The counter does move when something publishable changes: every requested feed once.
    store.add(
      sourceID: "ict", entry: Entry(title: "Nauja žinia", link: "https://ict.example.lt/new"),
      sortDate: Sample.t0.addingTimeInterval(60))
    await publisher.invalidate()
    let changed = try await requestAll(publisher, Self.feeds)
    XCTAssertNotEqual(changed["/feed.atom"], first["/feed.atom"])
    for _ in 0..<5 {
      await publisher.invalidate()
      _ = try await requestAll(publisher, Self.feeds)
    }
    XCTAssertEqual(publisher.feedRenders, 2 * Self.feeds.count)
    XCTAssertEqual(metrics.total("clusterwire_feed_renders_total"), Int64(2 * Self.feeds.count))
  }

  func testHTMLHealthRefreshesOnItsOwnTimerWithoutTouchingTheFeeds() async throws {
    let store = MemoryStore()
    Sample.fill(store)
    let publisher = Publisher(
      store: store, options: Sample.options(), healthRefresh: .milliseconds(200))
    let page = try await publisher.document(path: "/", query: [:])
    let sourcePage = try await publisher.document(path: "/sources/broken.html", query: [:])
    let atom = try await publisher.document(path: "/feed.atom", query: [:])
    XCTAssertFalse(Sample.string(page).contains("DNS klaida"))
    let renders = publisher.feedRenders

    store.updateSourceHealth("broken") { $0.lastError = "DNS klaida: nerastas" }
    await publisher.invalidate()
    try await Task.sleep(for: .milliseconds(400))
    // The fast path (what the server asks first) no longer hands out the stale page…
    XCTAssertNil(publisher.cachedDocument(path: "/", query: [:]))
    // …and the next request re-renders it with the new health.
    let refreshed = try await publisher.document(path: "/", query: [:])
    XCTAssertTrue(Sample.string(refreshed).contains("DNS klaida: nerastas"))
    XCTAssertNotEqual(refreshed?.etag, page?.etag)
    let refreshedSource = try await publisher.document(path: "/sources/broken.html", query: [:])
    XCTAssertTrue(Sample.string(refreshedSource).contains("DNS klaida: nerastas"))
    XCTAssertNotEqual(refreshedSource?.etag, sourcePage?.etag)
    // The feeds were not re-rendered: same bytes, same ETag, counter unchanged.
    let atomAgain = try await publisher.document(path: "/feed.atom", query: [:])
    XCTAssertEqual(atomAgain?.etag, atom?.etag)
    XCTAssertEqual(publisher.feedRenders, renders)
    // Within the timer the refreshed page is served from the cache.
    let cached = try await publisher.document(path: "/", query: [:])
    XCTAssertEqual(cached?.etag, refreshed?.etag)
  }

  func testHTMLHealthWaitsForItsTimer() async throws {
    // The other side: with a long timer, a health change alone does not re-render the page.
    let store = MemoryStore()
    Sample.fill(store)
    let publisher = Publisher(
      store: store, options: Sample.options(), healthRefresh: .seconds(3600))
    let page = try await publisher.document(path: "/", query: [:])
    let calls = store.timelineCalls
    store.updateSourceHealth("broken") { $0.lastError = "DNS klaida: nerastas" }
    await publisher.invalidate()
    try await Task.sleep(for: .milliseconds(300))
    let again = try await publisher.document(path: "/", query: [:])
    XCTAssertEqual(again?.etag, page?.etag)
    XCTAssertFalse(Sample.string(again).contains("DNS klaida"))
    XCTAssertEqual(store.timelineCalls, calls)
  }

  func testDocumentCacheStaysWithinItsBudgetUnderManyCursors() async throws {
    let store = MemoryStore()
    Sample.fill(store)
    let limits = PublisherCacheLimits(
      documentBytes: 256 * 1024, pagedDocumentBytes: 64 * 1024, validatorBytes: 32 * 1024,
      maxValidators: 200)
    let publisher = Publisher(store: store, options: Sample.options(perPage: 2), limits: limits)
    let feed = try await publisher.document(path: "/feed.atom", query: [:])
    // A cached document holds no spare capacity (the renderers reserve 64 KiB), so its cost is
    // what it really pins.
    let body = try XCTUnwrap(feed?.body)
    XCTAssertLessThanOrEqual(body.capacity, body.count + body.count / 8 + 64)
    let t0 = Int64(Sample.t0.timeIntervalSince1970 * 1000)
    for i in 0..<2000 {
      let before = "\(t0 - Int64(i))-\(i)"
      _ = try await publisher.document(path: "/feed.atom", query: ["before": before])
      _ = try await publisher.document(path: "/sources/unknown\(i).rss", query: [:])
      XCTAssertLessThanOrEqual(publisher.cacheUsage.bytes, limits.documentBytes)
    }
    let usage = publisher.cacheUsage
    XCTAssertLessThanOrEqual(
      usage.bytes, (feed?.body.count ?? 0) + 1024 + limits.pagedDocumentBytes,
      "pages and 404s stay within their own lane")
    XCTAssertLessThan(usage.documents, 1000)
    // The unpaged feed survived the flood: still cached, not re-rendered.
    let calls = store.timelineCalls
    let again = try await publisher.document(path: "/feed.atom", query: [:])
    XCTAssertEqual(again?.etag, feed?.etag)
    XCTAssertEqual(store.timelineCalls, calls)
  }
}
