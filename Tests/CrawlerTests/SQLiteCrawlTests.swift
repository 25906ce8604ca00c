import AsyncHTTPClient
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging
import TestSupport
import XCTest

@testable import Crawler

/// The crawler against the real SQLite store: validators, health and entries survive the way the
/// daemon will use them.
final class SQLiteCrawlTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  func testCrawlCyclesWithTheSQLiteStore() async throws {
    let dir = try TestSupport.makeTempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try SQLiteFeedStore(path: dir.appendingPathComponent("crawl.sqlite").path)
    let first = Array(rssFeed(3, prefix: "a").utf8)
    let server = ScriptedServer { req in
      switch req.path {
      case "/feed.xml":
        if req.header("If-None-Match") == "\"v1\"" {
          return .respond(status: 304, headers: [("ETag", "\"v2\"")])
        }
        return .respond(status: 200, headers: [rssType, ("ETag", "\"v1\"")], body: first)
      case "/gone.xml": return .respond(status: 410)
      case "/broken.xml": return .respond(status: 503, headers: [("Retry-After", "600")])
      default: return .respond(status: 404)
      }
    }
    try await server.start()
    let options = CrawlerOptions.test()
    let client = HTTPClient(
      eventLoopGroupProvider: .singleton, configuration: options.httpClientConfiguration())
    let crawler = Crawler(
      store: store, options: options, logger: Logger(label: "sqlite-crawl"), httpClient: client)
    do {
      try await crawler.setSources([
        SourceDefinition(id: "feed", url: server.url("/feed.xml"), interval: 600),
        SourceDefinition(id: "gone", url: server.url("/gone.xml"), interval: 600),
        SourceDefinition(id: "broken", url: server.url("/broken.xml"), interval: 60),
      ])
      let one = await crawler.crawlOnce()
      XCTAssertEqual(one.fetched, 1)
      XCTAssertEqual(one.gone, 1)
      XCTAssertEqual(one.failed, 1)
      XCTAssertEqual(one.newEntries, 3)
      var feed = try await store.sourceState(id: "feed")
      XCTAssertEqual(feed?.etag, "\"v1\"")
      XCTAssertEqual(feed?.entryCount, 3)
      XCTAssertEqual(feed?.consecutiveFailures, 0)
      let broken = try await store.sourceState(id: "broken")
      XCTAssertEqual(broken?.consecutiveFailures, 1)
      XCTAssertEqual(broken?.httpStatus, 503)
      XCTAssertGreaterThan(broken?.nextDue?.timeIntervalSinceNow ?? 0, 590)
      let gone = try await store.sourceState(id: "gone")
      XCTAssertEqual(gone?.gone, true)

      let two = await crawler.crawlOnce()
      XCTAssertEqual(two.sources, 2, "the gone source is not polled")
      XCTAssertEqual(two.notModified, 1)
      feed = try await store.sourceState(id: "feed")
      XCTAssertEqual(feed?.etag, "\"v2\"", "the 304's new ETag is stored")
      XCTAssertEqual(feed?.httpStatus, 304)
      XCTAssertEqual(feed?.entryCount, 3)
      let stored = try await store.counts().entries
      XCTAssertEqual(stored, 3)

      // A restart: a new crawler on the same store keeps the persisted schedule.
      let again = Crawler(
        store: store, options: options, logger: Logger(label: "sqlite-crawl"), httpClient: client)
      try await again.setSources([
        SourceDefinition(id: "feed", url: server.url("/feed.xml"), interval: 600)
      ])
      let due = try XCTUnwrap(again.nextDue(for: "feed"))
      XCTAssertGreaterThan(
        due.timeIntervalSinceNow, 500, "a restart does not re-poll a fresh source")
    } catch {
      XCTFail("\(error)")
    }
    try await client.shutdown()
    await server.stop()
    try await store.close()
  }

  func testMalformedFeedIsFetchedWithAWarning() async throws {
    let broken = Array(
      """
      <?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
      <item><title>Fish & chips</title><guid>x-1</guid><link>https://example.org/1</link></item>
      </channel></rss>
      """.utf8)
    let server = ScriptedServer { _ in .respond(status: 200, headers: [rssType], body: broken) }
    try await server.start()
    let store = MemoryStore()
    let options = CrawlerOptions.test()
    let client = HTTPClient(
      eventLoopGroupProvider: .singleton, configuration: options.httpClientConfiguration())
    let crawler = Crawler(
      store: store, options: options, logger: Logger(label: "malformed"), httpClient: client)
    try await crawler.setSources([SourceDefinition(id: "m", url: server.url("/m.xml"))])
    let report = await crawler.crawlOnce()
    let state = store.states["m"]
    XCTAssertEqual(report.fetched, 1, state?.lastError ?? "nil")
    XCTAssertTrue(
      state?.lastError?.hasPrefix("malformed XML at 2:") ?? false, state?.lastError ?? "nil")
    XCTAssertEqual(state?.consecutiveFailures, 0)
    try await client.shutdown()
    await server.stop()
  }
}

/// Collects log lines so tests can check what an admin would read.
final class LogCollector: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [(Logger.Level, String)] = []
  func append(_ level: Logger.Level, _ message: String) {
    lock.withLock { lines.append((level, message)) }
  }
  var all: [(Logger.Level, String)] { lock.withLock { lines } }

  struct Handler: LogHandler {
    let collector: LogCollector
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
      get { metadata[key] }
      set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { collector.append(event.level, "\(event.message)") }
  }
}

final class CrawlLogTests: XCTestCase {
  func testOneLinePerOutcomeAndMovesAreReported() async throws {
    let server = ScriptedServer { req in
      switch req.path {
      case "/old": return .respond(status: 301, headers: [("Location", "/new")])
      case "/new": return .respond(status: 304)
      case "/down": return .respond(status: 503)
      default: return .respond(status: 410)
      }
    }
    try await server.start()
    let collector = LogCollector()
    let logger = Logger(label: "log-test") { _ in LogCollector.Handler(collector: collector) }
    let options = CrawlerOptions.test()
    let client = HTTPClient(
      eventLoopGroupProvider: .singleton, configuration: options.httpClientConfiguration())
    let crawler = Crawler(
      store: MemoryStore(), options: options, logger: logger, httpClient: client)
    try await crawler.setSources([
      SourceDefinition(id: "moved", url: server.url("/old")),
      SourceDefinition(id: "down", url: server.url("/down")),
      SourceDefinition(id: "away", url: server.url("/away")),
    ])
    _ = await crawler.crawlOnce()
    let lines = collector.all.filter { $0.1.hasPrefix("source=") }
    func line(_ prefix: String) -> (Logger.Level, String)? {
      lines.first { $0.1.hasPrefix(prefix) }
    }
    XCTAssertEqual(line("source=moved status=304 result=not-modified")?.0, .debug)
    XCTAssertEqual(line("source=moved moved permanently to \(server.url("/new"))")?.0, .warning)
    XCTAssertEqual(line("source=down status=503 result=failed")?.0, .warning)
    XCTAssertTrue(line("source=down status=503")?.1.contains("error=\"HTTP 503\"") ?? false)
    XCTAssertEqual(line("source=away status=410 result=gone")?.0, .error)
    XCTAssertEqual(lines.count, 4, "one line per outcome plus the move: \(lines.map(\.1))")
    try await client.shutdown()
    await server.stop()
  }
}
