import AsyncHTTPClient
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging
import TestSupport
import XCTest

@testable import Crawler

/// Issue 17 end to end: a re-fetched document with one changed entry is parsed with the stored
/// HTML of the others reused (only the changed fragment is sanitised), and what is stored is
/// exactly what a cold parse of that document gives.
final class SanitizerReuseCrawlTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  private static func feed(version: Int) -> String {
    var items = ""
    for i in 0..<20 {
      let extra = i == 7 ? " (pataisyta \(version))" : ""
      items += """
        <item><title>Naujiena \(i)</title><link>https://narys.example.lt/n/\(i)</link>
        <guid>n-\(i)</guid><pubDate>\(httpDate(recent.addingTimeInterval(Double(-i) * 3600)))</pubDate>
        <description><![CDATA[<p onclick="x()">Apie <a href="/n/\(i)">renginį</a>\(extra)<script>x()</script></p>]]></description></item>
        """
    }
    return """
      <?xml version="1.0" encoding="utf-8"?>
      <rss version="2.0"><channel><title>Narys</title><link>https://narys.example.lt/</link>
      \(items)</channel></rss>
      """
  }

  func testARefetchSanitisesOnlyTheChangedEntry() async throws {
    let dir = try TestSupport.makeTempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try SQLiteFeedStore(path: dir.appendingPathComponent("reuse.sqlite").path)
    let version = LockedInt(1)
    let server = ScriptedServer { req in
      let v = version.value
      return .respond(
        status: 200, headers: [rssType, ("ETag", "\"v\(v)\"")],
        body: Array(Self.feed(version: v).utf8))
    }
    try await server.start()
    let collector = LogCollector()
    let logger = Logger(label: "reuse") { _ in LogCollector.Handler(collector: collector) }
    let options = CrawlerOptions.test()
    let client = HTTPClient(
      eventLoopGroupProvider: .singleton, configuration: options.httpClientConfiguration())
    let crawler = Crawler(store: store, options: options, logger: logger, httpClient: client)
    do {
      try await crawler.setSources([
        SourceDefinition(id: "narys", url: server.url("/feed.xml"), interval: 600)
      ])
      _ = await crawler.crawlOnce()
      version.value = 2
      let second = await crawler.crawlOnce()
      XCTAssertEqual(second.fetched, 1)
      let lines = collector.all.map(\.1).filter { $0.contains("result=fetched") }
      XCTAssertEqual(lines.count, 2, "\(lines)")
      XCTAssertTrue(lines.first?.contains("html=20-sanitised/0-reused") ?? false, "\(lines)")
      XCTAssertTrue(lines.last?.contains("html=1-sanitised/19-reused") ?? false, "\(lines)")
      // Stored = a cold parse of the second document, entry by entry.
      let cold = try FeedParser.parse(
        Data(Self.feed(version: 2).utf8), baseURL: URL(string: server.url("/feed.xml")))
      for e in cold.feed.entries {
        let stored = try await store.entry(sourceID: "narys", originalID: e.id ?? "")
        XCTAssertEqual(stored?.entry.summary, e.summary, e.id ?? "")
        XCTAssertEqual(stored?.entry.sanitizerKeys, e.sanitizerKeys, e.id ?? "")
      }
      let seven = try await store.entry(sourceID: "narys", originalID: "n-7")
      XCTAssertTrue(seven?.entry.summary?.value.contains("pataisyta 2") ?? false)
      XCTAssertFalse(seven?.entry.summary?.value.contains("script") ?? true)
    } catch {
      XCTFail("\(error)")
    }
    try await client.shutdown()
    await server.stop()
    try await store.close()
  }
}

/// A counter the scripted server's handler reads.
final class LockedInt: @unchecked Sendable {
  private let lock = NSLock()
  private var v: Int
  init(_ v: Int) { self.v = v }
  var value: Int {
    get { lock.withLock { v } }
    set { lock.withLock { v = newValue } }
  }
}
