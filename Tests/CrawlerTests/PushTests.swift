import AsyncHTTPClient
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging
import TestSupport
import XCTest

@testable import Crawler

/// What the crawler tells the WebSub subscriber.
final class Observations: Sendable {
  private let seen = Locked<[FetchObservation]>([])
  func add(_ o: FetchObservation) { seen.withLock { $0.append(o) } }
  var all: [FetchObservation] { seen.withLock { $0 } }
}

/// The crawler's side of WebSub (issue 15), against a scripted loopback server and the real
/// SQLite store: what each fetch advertised (on a 304 too), a pushed document ingested like a
/// fetched one, and the slower schedule while a hub pushes.
final class PushTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  var dir: URL!
  var store: SQLiteFeedStore!
  var server: ScriptedServer!
  var client: HTTPClient!
  var crawler: Crawler!

  static func feed(_ count: Int) -> String {
    rssFeed(count, prefix: "p").replacingOccurrences(
      of: "<description>d</description>",
      with: """
        <description>d</description>
        <atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="hub" href="/hub"/>
        <atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="self" href="/feed.xml"/>
        """)
  }

  override func setUp() async throws {
    dir = try TestSupport.makeTempDirectory("crawler-push")
    store = try SQLiteFeedStore(path: dir.appendingPathComponent("push.sqlite").path)
    let body = Array(Self.feed(3).utf8)
    server = ScriptedServer { req in
      let link = ("Link", "<https://hub.example/websub>; rel=\"hub\", </feed.xml>; rel=\"self\"")
      switch req.path {
      case "/feed.xml", "/plain.xml":
        if req.header("If-None-Match") == "\"v1\"" {
          return .respond(status: 304, headers: [("ETag", "\"v1\""), link])
        }
        return .respond(status: 200, headers: [rssType, ("ETag", "\"v1\"")], body: body)
      default: return .respond(status: 404)
      }
    }
    try await server.start()
    let options = CrawlerOptions.test(maxBody: 64 << 10)
    client = HTTPClient(
      eventLoopGroupProvider: .singleton, configuration: options.httpClientConfiguration())
    var logger = Logger(label: "crawler-push")
    logger.logLevel = .error
    crawler = Crawler(store: store, options: options, logger: logger, httpClient: client)
    try await crawler.setSources([
      SourceDefinition(id: "feed", url: server.url("/feed.xml"), interval: 600),
      SourceDefinition(id: "plain", url: server.url("/plain.xml"), interval: 600, websub: false),
    ])
  }

  override func tearDown() async throws {
    try? await client.shutdown()
    await server.stop()
    try? await store.close()
    try? FileManager.default.removeItem(at: dir)
  }

  func testEachFetchReportsWhatItAdvertisedAndA304UsesTheStoredHead() async throws {
    let seen = Observations()
    crawler.setFetchObserver { seen.add($0) }
    _ = await crawler.crawlOnce()
    XCTAssertTrue(TestSupport.waitUntil(timeout: 10) { seen.all.count == 1 })
    let first = try XCTUnwrap(seen.all.first)
    XCTAssertEqual(first.sourceID, "feed", "websub = false sources are not reported")
    XCTAssertEqual(first.linkHeaders, [])
    XCTAssertEqual(
      first.feedLinks.filter { $0.rel == "hub" }.map(\.href), [server.url("/hub")],
      "relative links resolved against the response URL")
    XCTAssertEqual(first.selfLink, server.url("/feed.xml"))
    XCTAssertEqual(first.base?.absoluteString, server.url("/feed.xml"))

    _ = await crawler.crawlOnce()  // 304 now
    XCTAssertTrue(TestSupport.waitUntil(timeout: 10) { seen.all.count == 2 })
    let second = seen.all[1]
    XCTAssertEqual(second.linkHeaders.count, 1)
    XCTAssertTrue(second.linkHeaders[0].contains("rel=\"hub\""))
    XCTAssertEqual(
      second.feedLinks.filter { $0.rel == "hub" }.map(\.href), [server.url("/hub")],
      "the stored head speaks for the document a 304 does not carry")
    XCTAssertEqual(second.selfLink, server.url("/feed.xml"))
  }

  func testAPushedDocumentIsIngestedLikeAFetchedOneAndLeavesTheSchedule() async throws {
    _ = await crawler.crawlOnce()
    let before = try await unwrapAsync(try await store.sourceState(id: "feed"))
    let due = try XCTUnwrap(crawler.nextDue(for: "feed"))
    XCTAssertEqual(before.entryCount, 3)

    let pushed = Data(Self.feed(4).utf8)
    var result = await crawler.ingestPushed(
      sourceID: "feed", body: pushed, contentType: "application/rss+xml",
      base: URL(string: server.url("/feed.xml")))
    XCTAssertEqual(result, .recorded(entries: 4, new: 1))
    result = await crawler.ingestPushed(
      sourceID: "feed", body: pushed, contentType: "application/rss+xml",
      base: URL(string: server.url("/feed.xml")))
    XCTAssertEqual(result, .recorded(entries: 4, new: 0), "the same de-duplication")
    let after = try await unwrapAsync(try await store.sourceState(id: "feed"))
    XCTAssertEqual(after.entryCount, 4)
    XCTAssertEqual(after.etag, "\"v1\"", "validators stay the last poll's")
    XCTAssertEqual(after.bodyHash, before.bodyHash)
    XCTAssertEqual(
      after.nextDue?.timeIntervalSince1970 ?? 0, before.nextDue?.timeIntervalSince1970 ?? 1,
      accuracy: 0.001)
    XCTAssertEqual(crawler.nextDue(for: "feed"), due)
    let entries = try await store.entries(sourceID: "feed", limit: 10)
    XCTAssertTrue(entries.contains { $0.entry.link == "https://example.org/p/3" })

    // Bounded and checked like a fetch.
    let big = Data(repeating: 0x20, count: (64 << 10) + 1)
    result = await crawler.ingestPushed(
      sourceID: "feed", body: big, contentType: nil, base: nil)
    guard case .rejected(let why) = result else { return XCTFail("\(result)") }
    XCTAssertTrue(why.contains("max_body"), why)
    result = await crawler.ingestPushed(
      sourceID: "feed", body: Data("<html><body>not a feed</body></html>".utf8),
      contentType: "text/html", base: nil)
    guard case .rejected = result else { return XCTFail("\(result)") }
    result = await crawler.ingestPushed(
      sourceID: "nobody", body: pushed, contentType: nil, base: nil)
    XCTAssertEqual(result, .rejected("source nobody is not a polled feed source"))
    let unchanged = try await unwrapAsync(try await store.sourceState(id: "feed"))
    XCTAssertEqual(unchanged.entryCount, 4)
  }

  func testAPushedSourceIsPolledLessOftenAndAtOnceWhenThePushStops() async throws {
    let start = Date()
    crawler.setPushed(["feed": start.addingTimeInterval(3600)], interval: 7200)
    _ = await crawler.crawlOnce()
    let slowed = try XCTUnwrap(crawler.nextDue(for: "feed"))
    XCTAssertEqual(
      slowed.timeIntervalSince(start), 3600, accuracy: 30,
      "poll_while_subscribed, but never past the lease's end")
    let plain = try XCTUnwrap(crawler.nextDue(for: "plain"))
    XCTAssertEqual(plain.timeIntervalSince(start), 600, accuracy: 30)

    crawler.setPushed(["feed": start.addingTimeInterval(90_000)], interval: 7200)
    _ = await crawler.crawlOnce()
    let longer = try XCTUnwrap(crawler.nextDue(for: "feed"))
    XCTAssertEqual(longer.timeIntervalSince(start), 7200, accuracy: 30)

    // The lease lapsed: due now, the plain source untouched.
    let plainBefore = crawler.nextDue(for: "plain")
    crawler.setPushed([:], interval: 7200)
    let resumed = try XCTUnwrap(crawler.nextDue(for: "feed"))
    XCTAssertLessThanOrEqual(resumed.timeIntervalSinceNow, 1)
    XCTAssertEqual(crawler.nextDue(for: "plain"), plainBefore)
  }
}

/// `XCTUnwrap` of an async expression's value.
func unwrapAsync<T>(
  _ value: @autoclosure () async throws -> T?, file: StaticString = #filePath, line: UInt = #line
) async throws -> T {
  let v = try await value()
  return try XCTUnwrap(v, file: file, line: line)
}
