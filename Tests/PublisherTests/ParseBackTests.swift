import FeedModel
import FeedParser
import FeedStore
import Foundation
import Publisher
import PublishingTestSupport
import XCTest

/// Our outputs read back with our own parser must give the same stories.
final class ParseBackTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  func parse(_ publisher: Publisher, _ path: String, _ contentType: String) async throws
    -> ParsedFeed
  {
    let doc = try await publisher.document(path: path, query: [:])
    return try FeedParser.parse(
      Data(try XCTUnwrap(doc).body), contentType: contentType,
      baseURL: URL(string: "https://news.example.org/"))
  }

  func expectedItems() async throws -> [TimelineItem] {
    let store = MemoryStore()
    Sample.fill(store)
    return try await store.timeline(TimelineQuery(limit: 50)).items
  }

  func testAtomParsesBackToTheSameEntries() async throws {
    let store = MemoryStore()
    Sample.fill(store)
    let publisher = Publisher(store: store, options: Sample.options())
    let parsed = try await parse(publisher, "/feed.atom", "application/atom+xml")
    XCTAssertEqual(parsed.format, .atom10)
    XCTAssertFalse(parsed.malformed, "\(parsed.diagnostics)")
    XCTAssertEqual(parsed.feed.id, "https://news.example.org/feed.atom")
    XCTAssertEqual(parsed.feed.title, "Klasterių naujienos")
    XCTAssertEqual(parsed.feed.selfLink, "https://news.example.org/feed.atom")
    let items = try await expectedItems()
    XCTAssertEqual(parsed.feed.entries.map(\.id), items.map { Optional($0.entry.atomID) })
    for (got, want) in zip(parsed.feed.entries, items) {
      XCTAssertEqual(got.updated, want.entry.contentUpdated)
      XCTAssertEqual(got.published, want.entry.entry.published)
      if let link = want.entry.entry.link, link.hasPrefix("https://") {
        XCTAssertEqual(got.link, link)
      }
      XCTAssertFalse(got.authors.isEmpty)
      XCTAssertNotNil(got.source?.title)
    }
    XCTAssertEqual(parsed.feed.entries[0].title, "Dirbtinis intelektas pramonėje")
    XCTAssertEqual(parsed.feed.entries[0].authors.first?.name, "Jonas Jonaitis")
    XCTAssertEqual(parsed.feed.entries[0].source?.id, "https://ict.example.lt/")
    XCTAssertTrue(parsed.feed.entries[0].categories.contains { $0.term == "DI" })
    XCTAssertEqual(
      parsed.feed.entries[1].summary?.value, "Plain text summary with <angle> brackets & ampersands"
    )
  }

  func testRSSParsesBack() async throws {
    let store = MemoryStore()
    Sample.fill(store)
    let publisher = Publisher(store: store, options: Sample.options())
    let parsed = try await parse(publisher, "/feed.rss", "application/rss+xml")
    XCTAssertEqual(parsed.format, .rss20)
    XCTAssertFalse(parsed.malformed, "\(parsed.diagnostics)")
    let items = try await expectedItems()
    XCTAssertEqual(parsed.feed.entries.map(\.id), items.map { Optional($0.entry.atomID) })
    XCTAssertEqual(parsed.feed.entries[0].published, Sample.t0)
    XCTAssertEqual(parsed.feed.entries[0].link, "https://ict.example.lt/di")
    XCTAssertEqual(parsed.feed.entries[0].title, "Dirbtinis intelektas pramonėje")
  }

  func testJSONFeedParsesBack() async throws {
    let store = MemoryStore()
    Sample.fill(store)
    let publisher = Publisher(store: store, options: Sample.options())
    let parsed = try await parse(publisher, "/feed.json", "application/feed+json")
    XCTAssertEqual(parsed.format, .jsonfeed)
    let items = try await expectedItems()
    XCTAssertEqual(parsed.feed.entries.map(\.id), items.map { Optional($0.entry.atomID) })
    XCTAssertEqual(parsed.feed.entries[0].published, Sample.t0)
    XCTAssertEqual(parsed.feed.entries[1].title, "Energy clusters meet in Vilnius")
  }

  /// Hostile source documents go through our parser and then every output: nothing they hold
  /// (lone surrogates in JSON, invalid UTF-8, control characters, `]]>`, scripts) may break one.
  func testHostileSourcesThroughParserAndPublisher() async throws {
    let json = #"""
      {"version":"https://jsonfeed.org/version/1.1","title":"Bad \ud800 feed","items":[
      {"id":"j1","url":"https://bad.example/1","title":"Lone \udc00 surrogate \u0001 and ]]> <script>x</script>",
       "content_html":"<p>\ud83d text \u0000 end</p>","date_published":"2026-09-01T10:00:00Z"}]}
      """#
    var rss = Array(
      """
      <?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><link>https://bad.example/</link>
      <description>d</description><item><title>Invalid
      """.utf8)
    rss += [0xFF, 0xFE, 0xC3, 0x28, 0x20]
    rss += Array(
      """
       bytes &#x1; ]]&gt; <![CDATA[ cdata ]]]]><![CDATA[> ]]></title><link>https://bad.example/2</link>
      <description><![CDATA[<script>alert(1)</script><p onclick="x()">hi ]]]]><![CDATA[> there</p>]]></description>
      <guid>r1</guid><pubDate>Tue, 01 Sep 2026 09:00:00 +0000</pubDate></item></channel></rss>
      """.utf8)
    let store = MemoryStore(sources: Sample.sources)
    var parsedCount = 0
    for (bytes, type) in [
      (Array(json.utf8), "application/feed+json"), (rss, "application/rss+xml"),
    ] {
      guard let parsed = try? FeedParser.parse(Data(bytes), contentType: type, baseURL: nil) else {
        continue
      }
      for e in parsed.feed.entries {
        store.add(sourceID: "broken", entry: e, sortDate: e.published ?? Sample.t0, language: "lt")
        parsedCount += 1
      }
    }
    XCTAssertGreaterThan(parsedCount, 0, "the parser should recover at least one hostile entry")
    let publisher = Publisher(store: store, options: Sample.options())
    for path in ["/feed.atom", "/feed.rss", "/sources/broken.atom", "/sources.opml"] {
      let bytes = try await publisher.document(path: path, query: [:])!.body
      let (status, err) = try Sample.xmllint(["--noout"], bytes)
      XCTAssertEqual(status, 0, "\(path): \(err)")
      XCTAssertNotNil(String(validating: bytes, as: UTF8.self))
    }
    let feedJSON = try await publisher.document(path: "/feed.json", query: [:])!.body
    XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(feedJSON)))
    let html = Sample.string(try await publisher.document(path: "/", query: [:]))
    XCTAssertFalse(html.contains("<script"))
    XCTAssertFalse(html.contains("onclick"))
  }
}
