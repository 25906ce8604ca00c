import AsyncHTTPClient
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging
import NIOSSL
import NetworkGuard
import TestSupport
import XCTest

@testable import Crawler

/// A fixed recent instant (the store's retention drops entries older than a year).
let recent = Date(
  timeIntervalSince1970: (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)

/// Sample RSS document with `count` items (ids `prefix-0`…), dated within the last days.
func rssFeed(_ count: Int = 2, prefix: String = "item", ttl: Int? = nil) -> String {
  var items = ""
  for i in 0..<count {
    items += """
      <item><title>Story \(i)</title><link>https://example.org/\(prefix)/\(i)</link>
      <guid>\(prefix)-\(i)</guid><pubDate>\(httpDate(recent.addingTimeInterval(Double(-i) * 3600)))</pubDate>
      <description>Lead \(i)</description></item>
      """
  }
  let ttlElement = ttl.map { "<ttl>\($0)</ttl>" } ?? ""
  return """
    <?xml version="1.0" encoding="utf-8"?>
    <rss version="2.0"><channel><title>Test feed</title><link>https://example.org/</link>
    <description>d</description>\(ttlElement)\(items)</channel></rss>
    """
}

let rssType = ("Content-Type", "application/rss+xml; charset=utf-8")

/// A crawler wired to a scripted loopback server and an in-memory store.
final class Harness: Sendable {
  let server: ScriptedServer
  let store: MemoryStore
  let client: HTTPClient
  let crawler: Crawler

  /// `tls` makes the server speak HTTPS; `configure` adjusts the client's configuration (which is
  /// otherwise exactly the daemon's, `options.httpClientConfiguration()`).
  init(
    options: CrawlerOptions, tls: NIOSSLContext? = nil,
    configure: (inout HTTPClient.Configuration) -> Void = { _ in },
    policy: NetworkPolicy = NetworkPolicy(),
    hopClientConfiguration: HTTPClient.Configuration? = nil,
    script: @escaping @Sendable (ScriptedServer.Request) -> ScriptedServer.Action
  )
    async throws
  {
    server = ScriptedServer(tls: tls, script)
    try await server.start()
    store = MemoryStore()
    var configuration = options.httpClientConfiguration()
    configure(&configuration)
    client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    var logger = Logger(label: "crawler-test")
    logger.logLevel = .debug
    crawler = Crawler(
      store: store, options: options, logger: logger, httpClient: client, policy: policy,
      hopClientConfiguration: hopClientConfiguration ?? configuration)
  }

  func source(_ id: String, _ path: String, interval: TimeInterval = 600, kind: SourceKind = .feed)
    -> SourceDefinition
  {
    SourceDefinition(id: id, url: server.url(path), kind: kind, interval: interval)
  }

  /// The stored state (an empty one when the source is unknown, so assertions fail readably).
  func state(_ id: String) -> SourceState {
    store.states[id] ?? SourceState(id: id, url: "")
  }

  func shutdown() async {
    try? await client.shutdown()
    await server.stop()
  }
}

extension CrawlerOptions {
  static func test(timeout: TimeInterval = 5, maxBody: Int = 1 << 20, perHost: Int = 16)
    -> CrawlerOptions
  {
    CrawlerOptions(
      timeout: timeout, connectTimeout: 2, maxBody: maxBody, perHost: perHost, concurrency: 16,
      userAgent: "clusterwire-test/1.0")
  }
}

final class CrawlerTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  private func harness(
    _ options: CrawlerOptions = .test(),
    _ script: @escaping @Sendable (ScriptedServer.Request) -> ScriptedServer.Action
  ) async throws -> Harness {
    let h = try await Harness(options: options, script: script)
    addTeardownBlock { await h.shutdown() }
    return h
  }

  // MARK: - conditional GET

  func testETagValidatorsStoredFrom200And304() async throws {
    let body = Array(rssFeed(3).utf8)
    let h = try await harness { req in
      switch req.header("If-None-Match") {
      case "\"v1\"": return .respond(status: 304, headers: [("ETag", "\"v2\"")])
      case "\"v2\"": return .respond(status: 304)
      default: return .respond(status: 200, headers: [rssType, ("ETag", "\"v1\"")], body: body)
      }
    }
    try await h.crawler.setSources([h.source("a", "/feed.xml")])
    var report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.fetched, 1, "\(h.state("a").lastError ?? "")")
    XCTAssertEqual(report.newEntries, 3)
    var s = h.state("a")
    XCTAssertEqual(s.etag, "\"v1\"")
    XCTAssertEqual(s.httpStatus, 200)
    XCTAssertNotNil(s.bodyHash)

    report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.notModified, 1)
    s = h.state("a")
    XCTAssertEqual(s.etag, "\"v2\"", "a 304 with a new ETag updates it")
    XCTAssertEqual(s.httpStatus, 304)

    report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.notModified, 1)
    s = h.state("a")
    XCTAssertEqual(s.etag, "\"v2\"", "a 304 without ETag keeps the stored one")
    let sent = h.server.requests(to: "/feed.xml").map { $0.header("If-None-Match") }
    XCTAssertEqual(sent, [nil, "\"v1\"", "\"v2\""])
    XCTAssertEqual(h.server.requests.first?.header("User-Agent"), "clusterwire-test/1.0")
  }

  func testLastModifiedConditionalGet() async throws {
    let lm1 = "Mon, 01 Jun 2020 10:00:00 GMT"
    let lm2 = "Tue, 02 Jun 2020 10:00:00 GMT"
    let body = Array(rssFeed(1).utf8)
    let h = try await harness { req in
      switch req.header("If-Modified-Since") {
      case lm1: return .respond(status: 304, headers: [("Last-Modified", lm2)])
      case lm2: return .respond(status: 304)
      default: return .respond(status: 200, headers: [rssType, ("Last-Modified", lm1)], body: body)
      }
    }
    try await h.crawler.setSources([h.source("a", "/lm.xml")])
    _ = await h.crawler.crawlOnce()
    XCTAssertEqual(h.state("a").lastModified, lm1)
    let second = await h.crawler.crawlOnce()
    XCTAssertEqual(second.notModified, 1)
    XCTAssertEqual(h.state("a").lastModified, lm2)
    _ = await h.crawler.crawlOnce()
    XCTAssertEqual(
      h.server.requests(to: "/lm.xml").map { $0.header("If-Modified-Since") }, [nil, lm1, lm2])
  }

  func testUnchangedBodyHashCountsAsNotModified() async throws {
    let body = Array(rssFeed(2).utf8)
    let h = try await harness { _ in .respond(status: 200, headers: [rssType], body: body) }
    try await h.crawler.setSources([h.source("a", "/same.xml")])
    // The hash a previous successful fetch stored (independent of the parser).
    try await h.store.record(
      FetchOutcome(
        sourceID: "a", result: .fetched, attemptedAt: Date(), httpStatus: 200,
        bodyHash: BodyHash.hex(Data(body)), nextDue: Date()), feed: nil)
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.notModified, 1)
    XCTAssertEqual(report.fetched, 0)
    let s = h.state("a")
    XCTAssertEqual(s.httpStatus, 200)
    XCTAssertEqual(s.consecutiveFailures, 0)
    let outcome = h.store.outcomes(for: "a").last
    XCTAssertEqual(outcome?.result, .notModified)
  }

  func testUnchangedBodyAfterARealFetch() async throws {
    let body = Array(rssFeed(2).utf8)
    let h = try await harness { _ in .respond(status: 200, headers: [rssType], body: body) }
    try await h.crawler.setSources([h.source("a", "/same.xml")])
    let first = await h.crawler.crawlOnce()
    XCTAssertEqual(first.fetched, 1, "\(h.state("a").lastError ?? "")")
    let second = await h.crawler.crawlOnce()
    XCTAssertEqual(second.notModified, 1)
  }

  // MARK: - redirects

  func testPermanentThenTemporaryRedirectChain() async throws {
    let h = try await harness { req in
      switch req.path {
      case "/a": return .respond(status: 301, headers: [("Location", "/b")])
      case "/b": return .respond(status: 308, headers: [("Location", "/c")])
      case "/c": return .respond(status: 302, headers: [("Location", "/d")])
      case "/d": return .respond(status: 307, headers: [("Location", "/final")])
      case "/final":
        return req.header("If-None-Match") == "\"x\""
          ? .respond(status: 304) : .respond(status: 500)
      default: return .respond(status: 404)
      }
    }
    try await h.crawler.setSources([h.source("r", "/a")])
    h.store.setState(
      SourceState(id: "r", url: h.server.url("/a"), etag: "\"x\""))
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.notModified, 1, "\(h.state("r").lastError ?? "")")
    let s = h.state("r")
    XCTAssertEqual(
      s.movedTo, h.server.url("/c"), "only the consecutive permanent hops count as a move")
    XCTAssertEqual(h.server.requests.map(\.path), ["/a", "/b", "/c", "/d", "/final"])
  }

  func testRedirectLoopAndTooManyHops() async throws {
    let h = try await harness { req in
      switch req.path {
      case "/loop1": return .respond(status: 302, headers: [("Location", "/loop2")])
      case "/loop2": return .respond(status: 302, headers: [("Location", "/loop1")])
      case let p where p.hasPrefix("/hop"):
        let n = Int(p.dropFirst(4)) ?? 0
        return .respond(status: 301, headers: [("Location", "/hop\(n + 1)")])
      case "/tofile": return .respond(status: 302, headers: [("Location", "file:///etc/passwd")])
      default: return .respond(status: 404)
      }
    }
    try await h.crawler.setSources([
      h.source("loop", "/loop1"), h.source("hops", "/hop0"), h.source("file", "/tofile"),
    ])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.failed, 3)
    let loop = h.state("loop")
    XCTAssertTrue(loop.lastError?.hasPrefix("redirect loop") ?? false, loop.lastError ?? "nil")
    let hops = h.state("hops")
    XCTAssertEqual(hops.lastError, "too many redirects (more than 5)")
    XCTAssertEqual(h.server.requests.filter { $0.path.hasPrefix("/hop") }.count, 6)
    let file = h.state("file")
    XCTAssertTrue(
      file.lastError?.contains("unsupported URL scheme") ?? false, file.lastError ?? "nil")
  }

  // MARK: - status codes

  func testGoneStopsPolling() async throws {
    let h = try await harness { req in
      req.path == "/gone" ? .respond(status: 410) : .respond(status: 304)
    }
    try await h.crawler.setSources([h.source("g", "/gone"), h.source("ok", "/ok")])
    let first = await h.crawler.crawlOnce()
    XCTAssertEqual(first.gone, 1)
    let s = h.state("g")
    XCTAssertTrue(s.gone)
    XCTAssertEqual(s.httpStatus, 410)
    XCTAssertNil(h.crawler.nextDue(for: "g"))
    let second = await h.crawler.crawlOnce()
    XCTAssertEqual(second.sources, 1)
    XCTAssertEqual(h.server.requests(to: "/gone").count, 1, "a gone source is not polled again")
    XCTAssertEqual(h.server.requests(to: "/ok").count, 2)
  }

  func testRetryAfterIsHonoured() async throws {
    let h = try await harness { req in
      switch req.path {
      case "/429": return .respond(status: 429, headers: [("Retry-After", "7200")])
      case "/503":
        let when = Date().addingTimeInterval(3 * 3600)
        return .respond(status: 503, headers: [("Retry-After", httpDate(when))])
      default: return .respond(status: 404)
      }
    }
    try await h.crawler.setSources([
      h.source("a", "/429", interval: 60), h.source("b", "/503", interval: 60),
    ])
    let start = Date()
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.failed, 2)
    let a = h.state("a")
    XCTAssertEqual(a.httpStatus, 429)
    XCTAssertTrue(a.lastError?.hasPrefix("HTTP 429") ?? false)
    XCTAssertGreaterThanOrEqual(a.nextDue!.timeIntervalSince(start), 7199)
    let b = h.state("b")
    XCTAssertGreaterThanOrEqual(b.nextDue!.timeIntervalSince(start), 3 * 3600 - 2)
    XCTAssertLessThan(b.nextDue!.timeIntervalSince(start), 3 * 3600 + 30)
    XCTAssertEqual(h.crawler.nextDue(for: "a"), a.nextDue)
  }

  func testServerErrorsBackOffAndCount() async throws {
    let h = try await harness { _ in .respond(status: 500, body: Array("oops".utf8)) }
    try await h.crawler.setSources([h.source("e", "/err", interval: 100)])
    var start = Date()
    _ = await h.crawler.crawlOnce()
    var s = h.state("e")
    XCTAssertEqual(s.lastError, "HTTP 500")
    XCTAssertEqual(s.consecutiveFailures, 1)
    XCTAssertEqual(s.nextDue!.timeIntervalSince(start), 100, accuracy: 11)
    start = Date()
    _ = await h.crawler.crawlOnce()
    _ = await h.crawler.crawlOnce()
    s = h.state("e")
    XCTAssertEqual(s.consecutiveFailures, 3)
    XCTAssertEqual(s.nextDue!.timeIntervalSince(start), 400, accuracy: 41)
    XCTAssertNotNil(s.failingSince)
  }

  func testNotFoundIsAFailure() async throws {
    let h = try await harness { _ in .respond(status: 404) }
    try await h.crawler.setSources([h.source("n", "/missing")])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.failed, 1)
    XCTAssertEqual(h.state("n").lastError, "HTTP 404")
  }

  // MARK: - broken transports

  func testStallMidBodyTimesOutAndOthersCarryOn() async throws {
    let h = try await harness(.test(timeout: 1)) { req in
      if req.path == "/stall" {
        return .stall(
          headers: [rssType], partial: Array("<rss><channel>".utf8), declaredLength: 100_000)
      }
      return .respond(status: 304)
    }
    try await h.crawler.setSources([h.source("slow", "/stall"), h.source("fast", "/fast")])
    let start = Date()
    let report = await h.crawler.crawlOnce()
    // Cut at the 1 s deadline; the bound is generous for two loaded cores.
    XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    XCTAssertEqual(report.failed, 1)
    XCTAssertEqual(report.notModified, 1)
    let s = h.state("slow")
    XCTAssertEqual(s.lastError, "timed out after 1 s")
  }

  func testConnectionResetIsAFailure() async throws {
    let h = try await harness { req in
      req.path == "/reset" ? .resetAfter(partial: Array("<rss>".utf8)) : .respond(status: 304)
    }
    try await h.crawler.setSources([h.source("r", "/reset"), h.source("ok", "/ok")])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.failed, 1)
    XCTAssertEqual(report.notModified, 1)
    let s = h.state("r")
    XCTAssertEqual(s.lastError, "connection reset")
  }

  func testConnectionRefused() async throws {
    let h = try await harness { _ in .respond(status: 304) }
    try await h.crawler.setSources([
      SourceDefinition(id: "dead", url: "http://127.0.0.1:1/feed.xml")
    ])
    _ = await h.crawler.crawlOnce()
    XCTAssertEqual(h.state("dead").lastError, "connection refused")
  }

  func testGzipBombStopsAtTheCap() async throws {
    let bomb = try [UInt8](Data(contentsOf: TestSupport.fixture("CrawlerTests", "bomb.gz")))
    XCTAssertLessThan(bomb.count, 100_000)
    let h = try await harness(.test(maxBody: 1 << 20)) { _ in
      .respond(status: 200, headers: [rssType, ("Content-Encoding", "gzip")], body: bomb)
    }
    try await h.crawler.setSources([h.source("bomb", "/bomb.xml")])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.failed, 1)
    XCTAssertEqual(h.state("bomb").lastError, "body over 1 MiB limit")
    XCTAssertEqual(h.server.requests.first?.header("Accept-Encoding")?.contains("gzip"), true)
  }

  func testOversizeBodyIsAbortedWhileStreaming() async throws {
    let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
    let h = try await harness(.test(maxBody: 1 << 20)) { req in
      if req.path == "/declared" {
        return .respond(status: 200, headers: [rssType, ("Content-Length", "\(50 << 20)")])
      }
      return .endless(headers: [rssType], chunk: chunk, maxBytes: 500 << 20)
    }
    try await h.crawler.setSources([h.source("big", "/endless"), h.source("declared", "/declared")])
    let start = Date()
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.failed, 2)
    XCTAssertLessThan(Date().timeIntervalSince(start), 20, "not the 500 MiB, nor the 5 s timeout")
    XCTAssertEqual(h.state("big").lastError, "body over 1 MiB limit")
    XCTAssertEqual(h.state("declared").lastError, "body over 1 MiB limit")
    // Give the server a moment to notice the closed connection, then check it stopped early.
    try await Task.sleep(nanoseconds: 300_000_000)
    XCTAssertLessThan(h.server.bytesStreamed, 40 << 20, "the client hung up long before 500 MiB")
  }

  // MARK: - parsing

  func testHTMLPageInsteadOfAFeed() async throws {
    let page = Array(
      "<!DOCTYPE html><html><head><title>Naujienos</title></head><body><p>Sveiki</p></body></html>"
        .utf8)
    let h = try await harness { _ in
      .respond(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: page)
    }
    try await h.crawler.setSources([h.source("html", "/index.html")])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.failed, 1)
    let s = h.state("html")
    XCTAssertTrue(s.lastError?.hasPrefix("not a feed") ?? false, s.lastError ?? "nil")
    XCTAssertNil(s.etag)
  }

  func testRSSTTLIsAHint() async throws {
    let body = Array(rssFeed(1, ttl: 120).utf8)
    let h = try await harness { _ in .respond(status: 200, headers: [rssType], body: body) }
    try await h.crawler.setSources([h.source("t", "/ttl.xml", interval: 600)])
    let start = Date()
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.fetched, 1, "\(h.state("t").lastError ?? "")")
    XCTAssertEqual(h.state("t").nextDue!.timeIntervalSince(start), 7200, accuracy: 30)
  }

  func testCacheControlIsAHintOn304() async throws {
    let h = try await harness { _ in
      .respond(status: 304, headers: [("Cache-Control", "max-age=5000")])
    }
    try await h.crawler.setSources([h.source("c", "/cc.xml", interval: 600)])
    let start = Date()
    _ = await h.crawler.crawlOnce()
    XCTAssertEqual(h.state("c").nextDue!.timeIntervalSince(start), 5000, accuracy: 30)
  }

  func testHTMLSourceGoesThroughTheScraper() async throws {
    let page = Array(
      """
      <html><body>
      <article><h2><a href="/naujienos/1">Pirmoji</a></h2><time>02 birželio d., 2020</time><p>Tekstas…</p></article>
      <article><h2><a href="/naujienos/2">Antroji</a></h2><time>03 birželio d., 2020</time><p>Kitas…</p></article>
      </body></html>
      """.utf8)
    let h = try await harness { _ in
      .respond(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: page)
    }
    var def = h.source("page", "/naujienos/", kind: .html)
    def.selectors = HTMLSelectors(
      item: "//article", title: ".//h2", link: ".//h2/a/@href", date: ".//time")
    var noSelectors = h.source("broken", "/naujienos/", kind: .html)
    noSelectors.selectors = nil
    try await h.crawler.setSources([def, noSelectors])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(h.state("broken").lastError, "html source without selectors")
    XCTAssertEqual(report.fetched, 1, "\(h.state("page").lastError ?? "")")
    XCTAssertEqual(report.newEntries, 2)
    let links = h.store.entries["page"]?.values.compactMap(\.link).sorted()
    XCTAssertEqual(links, [h.server.url("/naujienos/1"), h.server.url("/naujienos/2")])
    XCTAssertEqual(h.server.requests.first?.header("Accept")?.hasPrefix("text/html"), true)
  }

  func testFileSources() async throws {
    let dir = try TestSupport.makeTempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let feedURL = dir.appendingPathComponent("feed.xml")
    try Data(rssFeed(2).utf8).write(to: feedURL)
    let bigURL = dir.appendingPathComponent("big.xml")
    try Data(count: (1 << 20) + 1).write(to: bigURL)
    let h = try await harness { _ in .respond(status: 404) }
    try await h.crawler.setSources([
      SourceDefinition(id: "file", url: feedURL.absoluteString),
      SourceDefinition(id: "big", url: bigURL.absoluteString),
      SourceDefinition(id: "missing", url: dir.appendingPathComponent("nope.xml").absoluteString),
    ])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(h.state("big").lastError, "body over 1 MiB limit")
    XCTAssertTrue(h.state("missing").lastError?.hasPrefix("cannot read") ?? false)
    XCTAssertEqual(report.fetched, 1, "\(h.state("file").lastError ?? "")")
    let again = await h.crawler.crawlOnce()
    XCTAssertEqual(again.notModified, 1, "an unchanged file is not re-ingested")
  }

  func testPerSourceUserAgent() async throws {
    let h = try await harness { _ in .respond(status: 304) }
    var def = h.source("ua", "/ua.xml")
    def.userAgent = "special-agent/2"
    try await h.crawler.setSources([def])
    _ = await h.crawler.crawlOnce()
    XCTAssertEqual(h.server.requests.first?.header("User-Agent"), "special-agent/2")
  }

  // MARK: - limits

  func testPerHostLimitHolds() async throws {
    let h = try await harness(.test(perHost: 2)) { _ in .respond(status: 304, delay: 0.2) }
    try await h.crawler.setSources((0..<8).map { h.source("s\($0)", "/s\($0).xml") })
    let start = Date()
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.notModified, 8)
    XCTAssertEqual(h.server.maxActive, 2, "never more than per_host concurrent requests")
    XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.75)
  }

  func testGlobalConcurrencyLimitHolds() async throws {
    var options = CrawlerOptions.test(perHost: 100)
    options.concurrency = 3
    let h = try await harness(options) { _ in .respond(status: 304, delay: 0.15) }
    try await h.crawler.setSources((0..<12).map { h.source("s\($0)", "/s\($0).xml") })
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.notModified, 12)
    XCTAssertEqual(h.server.maxActive, 3)
  }

  func testCrawlOnceOverManySourcesWithMixedResults() async throws {
    let body = Array(rssFeed(1).utf8)
    let h = try await harness { req in
      let n = Int(req.path.dropFirst(2).prefix(while: \.isNumber)) ?? 0
      switch n % 4 {
      case 0: return .respond(status: 304)
      case 1: return .respond(status: 500)
      case 2: return .respond(status: 200, headers: [rssType], body: body)
      default: return .respond(status: 304, delay: 0.01)
      }
    }
    try await h.crawler.setSources((0..<200).map { h.source("s\($0)", "/s\($0).xml") })
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.sources, 200)
    XCTAssertEqual(report.fetched + report.notModified + report.failed + report.gone, 200)
    XCTAssertEqual(report.notModified, 100)
    XCTAssertEqual(report.failed + report.fetched, 100)
    XCTAssertGreaterThanOrEqual(report.failed, 50)
    XCTAssertEqual(Set(h.server.requests.map(\.path)).count, 200, "every source exactly once")
    XCTAssertEqual(h.server.requests.count, 200)
  }

  // MARK: - the scheduler loop

  func testRunPollsSoonAppliesReloadsAndStopsOnCancel() async throws {
    let h = try await harness { _ in .respond(status: 304) }
    try await h.crawler.setSources([
      h.source("a", "/a", interval: 3600), h.source("b", "/b", interval: 3600),
    ])
    let crawler = h.crawler
    let task = Task { try await crawler.run() }
    let polled = await eventually(timeout: 30) {
      Set(h.server.requests.map(\.path)) == ["/a", "/b"]
    }
    XCTAssertTrue(polled, "a handful of new sources is polled within seconds")
    // Reload: drop b, add c.
    try await h.crawler.setSources([
      h.source("a", "/a", interval: 3600), h.source("c", "/c", interval: 3600),
    ])
    let added = await eventually(timeout: 30) { h.server.requests(to: "/c").count == 1 }
    XCTAssertTrue(added)
    XCTAssertNil(h.crawler.nextDue(for: "b"))
    let progressed = h.crawler.lastProgress
    // The idle loop ticks every second; allow it ten.
    let moved = await eventually(timeout: 10) { h.crawler.lastProgress > progressed }
    XCTAssertTrue(moved, "the idle loop keeps reporting progress")
    XCTAssertEqual(h.server.requests.count, 3, "nothing is polled before its interval")
    task.cancel()
    let stoppedAt = Date()
    try await task.value
    XCTAssertLessThan(Date().timeIntervalSince(stoppedAt), 10)
  }

  /// The loop's due queue parks sources whose host is full and brings them back as that host's
  /// fetches finish: every source is polled once, never more than `per_host` at a time.
  func testRunHoldsPerHostAndPollsEveryParkedSourceOnce() async throws {
    let h = try await harness(.test(perHost: 2)) { _ in .respond(status: 304, delay: 0.2) }
    try await h.crawler.setSources((0..<10).map { h.source("s\($0)", "/s\($0)", interval: 3600) })
    let crawler = h.crawler
    let task = Task { try await crawler.run() }
    let polled = await eventually(timeout: 60) { h.server.requests.count >= 10 }
    XCTAssertTrue(polled, "all ten sources on one host are polled")
    try await Task.sleep(nanoseconds: 1_500_000_000)
    task.cancel()
    try await task.value
    XCTAssertEqual(Set(h.server.requests.map(\.path)).count, 10)
    XCTAssertEqual(h.server.requests.count, 10, "no source polled twice within its interval")
    XCTAssertEqual(h.server.maxActive, 2, "never more than per_host concurrent requests")
  }

  func testCancellationLetsInFlightFetchesCommit() async throws {
    let h = try await harness { _ in .respond(status: 304, delay: 1) }
    try await h.crawler.setSources([h.source("slow", "/slow")])
    let crawler = h.crawler
    let task = Task { try await crawler.run() }
    let started = await eventually(timeout: 30) { h.server.requests.count == 1 }
    XCTAssertTrue(started)
    task.cancel()
    try await task.value
    let s = h.state("slow")
    XCTAssertEqual(s.httpStatus, 304, "the in-flight fetch finished and was recorded")
  }

  func testShutdownGraceBoundsASlowFetch() async throws {
    var options = CrawlerOptions.test(timeout: 30)
    options.shutdownGrace = 0.5
    let h = try await harness(options) { _ in
      .stall(headers: [rssType], partial: Array("<rss>".utf8), declaredLength: 10_000)
    }
    try await h.crawler.setSources([h.source("stuck", "/stuck")])
    let crawler = h.crawler
    let task = Task { try await crawler.run() }
    let started = await eventually(timeout: 30) { h.server.requests.count == 1 }
    XCTAssertTrue(started)
    let cancelledAt = Date()
    task.cancel()
    try await task.value
    XCTAssertLessThan(
      Date().timeIntervalSince(cancelledAt), 10,
      "cancelled after the 0.5 s grace period, long before the 30 s timeout")
  }

  /// Bounds are wide for two loaded cores: the fetch counts as hung 3 s after it started
  /// (timeout 0.5 + grace 0.1 + margin 2.4); progress is checked well inside that, and the stall
  /// is judged by a gap four times the loop's 1 s tick, which a loop that still reports cannot
  /// show. The store hangs far longer than the test waits.
  func testAHungStoreStopsTheProgressSignal() async throws {
    var options = CrawlerOptions.test(timeout: 0.5)
    options.shutdownGrace = 0.1
    options.hangMargin = 2.4
    let server = ScriptedServer { _ in .respond(status: 304) }
    try await server.start()
    let store = HangingStore(delay: 60)
    let client = HTTPClient(
      eventLoopGroupProvider: .singleton, configuration: options.httpClientConfiguration())
    let crawler = Crawler(
      store: store, options: options, logger: Logger(label: "hang"), httpClient: client)
    try await crawler.setSources([SourceDefinition(id: "h", url: server.url("/h"))])
    let task = Task { try await crawler.run() }
    let started = await eventually(timeout: 30) { server.requests.count == 1 }
    XCTAssertTrue(started)
    let fresh = Date().timeIntervalSince(crawler.lastProgress)
    XCTAssertLessThan(fresh, 2.5, "progress while the fetch is within its bounds")
    let stalled = await eventually(timeout: 30) {
      Date().timeIntervalSince(crawler.lastProgress) > 4
    }
    XCTAssertTrue(stalled, "a hung commit stops the watchdog signal")
    task.cancel()
    try await task.value
    try await client.shutdown()
    await server.stop()
  }

  func testPersistedNextDueIsRespected() async throws {
    let h = try await harness { _ in .respond(status: 304) }
    let later = Date().addingTimeInterval(1000)
    h.store.setState(SourceState(id: "w", url: h.server.url("/w"), nextDue: later))
    try await h.crawler.setSources([h.source("w", "/w"), h.source("new", "/new")])
    XCTAssertEqual(
      h.crawler.nextDue(for: "w")!.timeIntervalSince1970, later.timeIntervalSince1970,
      accuracy: 0.001)
    XCTAssertLessThan(h.crawler.nextDue(for: "new")!.timeIntervalSinceNow, 2)
    // Disabled sources are not scheduled.
    var off = h.source("off", "/off")
    off.enabled = false
    try await h.crawler.setSources([h.source("w", "/w"), off])
    XCTAssertNil(h.crawler.nextDue(for: "off"))
    XCTAssertNil(h.crawler.nextDue(for: "new"))
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.sources, 1)
  }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
func eventually(timeout: TimeInterval, _ condition: @Sendable () async -> Bool) async -> Bool {
  let deadline = Date().addingTimeInterval(timeout)
  while Date() < deadline {
    if await condition() { return true }
    try? await Task.sleep(nanoseconds: 50_000_000)
  }
  return await condition()
}

/// IMF-fixdate for test servers.
func httpDate(_ date: Date) -> String {
  let f = DateFormatter()
  f.locale = Locale(identifier: "en_US_POSIX")
  f.timeZone = TimeZone(identifier: "GMT")
  f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
  return f.string(from: date)
}
