import FeedModel
import FeedParser
import FeedStore
import Foundation
import Publisher
import TestSupport
import XCTest

/// Atom out-of-line content (`<content src="…" type="…"/>`, RFC 4287 4.1.3.2) kept from the
/// parser through the SQLite store to the republished feeds: resolved against `xml:base`,
/// unsafe schemes dropped, the published Atom still valid (a summary is added when the entry had
/// none), JSON Feed's `external_url`, and a moved `src` counted as a real change.
final class OutOfLineContentTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  static func atom(articlePath: String = "/articles/3.html") -> String {
    """
    <?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://media.example.lt/news/">
      <id>urn:example:media</id><title>Media</title><updated>2026-11-20T10:00:00Z</updated>
      <entry><id>urn:example:report</id><title>Annual report published</title>
        <updated>2026-11-20T10:00:00Z</updated><summary>The 2026 report of the cluster.</summary>
        <content type="application/pdf" src="reports/2026.pdf"/></entry>
      <entry><id>urn:example:script</id><title>Script source</title>
        <updated>2026-11-20T09:00:00Z</updated><summary>s</summary>
        <content type="text/html" src="javascript:alert(1)"/></entry>
      <entry><id>urn:example:article</id><title>Article elsewhere</title>
        <updated>2026-11-20T08:00:00Z</updated><link href="https://media.example.lt/news/3"/>
        <content type="html" src="\(articlePath)"/></entry>
    </feed>
    """
  }

  func testOutOfLineContentFromParserToPublishedFeeds() async throws {
    let parsed = try FeedParser.parse(Data(Self.atom().utf8)).feed
    let byID = Dictionary(uniqueKeysWithValues: parsed.entries.map { ($0.id ?? "", $0) })
    let report = try XCTUnwrap(byID["urn:example:report"])
    XCTAssertEqual(
      report.contentSource,
      Link(href: "https://media.example.lt/news/reports/2026.pdf", type: "application/pdf"))
    XCTAssertNil(report.content)
    XCTAssertEqual(
      report.link, "https://media.example.lt/news/reports/2026.pdf",
      "with no alternate link, the content's URL is where the story is")
    XCTAssertNil(byID["urn:example:script"]?.contentSource)
    let article = try XCTUnwrap(byID["urn:example:article"])
    XCTAssertEqual(article.contentSource?.href, "https://media.example.lt/articles/3.html")
    XCTAssertEqual(article.link, "https://media.example.lt/news/3")

    let dir = try TestSupport.makeTempDirectory("out-of-line")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try SQLiteFeedStore(path: dir.appendingPathComponent("store.sqlite").path)
    try await store.syncSources([
      SourceDefinition(id: "media", url: "https://media.example.lt/news/feed.atom")
    ])
    let now = Date(timeIntervalSince1970: 1_795_000_000)
    func record(_ feed: Feed, at: Date) async throws -> IngestReport {
      try await store.record(
        FetchOutcome(
          sourceID: "media", result: .fetched, attemptedAt: at, httpStatus: 200, nextDue: at),
        feed: feed)
    }
    _ = try await record(parsed, at: now)

    let publisher = Publisher(store: store, options: Sample.options())
    let atomDocument = try await publisher.document(path: "/feed.atom", query: [:])
    let atom = try XCTUnwrap(atomDocument)
    let rng = TestSupport.fixture("PublisherTests", "atom.rng").path
    let (status, err) = try Sample.xmllint(["--noout", "--relaxng", rng], atom.body)
    XCTAssertEqual(status, 0, err)
    let back = try FeedParser.parse(Data(atom.body)).feed.entries
    let reportBack = try XCTUnwrap(back.first { $0.title == "Annual report published" })
    XCTAssertEqual(reportBack.contentSource, report.contentSource)
    XCTAssertEqual(reportBack.summary?.value, "The 2026 report of the cluster.")
    let articleBack = try XCTUnwrap(back.first { $0.title == "Article elsewhere" })
    XCTAssertEqual(
      articleBack.contentSource?.href, "https://media.example.lt/articles/3.html",
      "`type=\"html\"` is not a MIME type, so the published `content` has none")
    XCTAssertNil(articleBack.contentSource?.type)
    XCTAssertEqual(
      articleBack.summary?.value, "Article elsewhere",
      "an entry with out-of-line content must have a summary: its title")

    let jsonDocument = try await publisher.document(path: "/feed.json", query: [:])
    let json = try XCTUnwrap(jsonDocument)
    let items = try XCTUnwrap(
      (try JSONSerialization.jsonObject(with: Data(json.body)) as? [String: Any])?["items"]
        as? [[String: Any]])
    let articleItem = try XCTUnwrap(items.first { $0["title"] as? String == "Article elsewhere" })
    XCTAssertEqual(
      articleItem["external_url"] as? String, "https://media.example.lt/articles/3.html")
    let reportItem = try XCTUnwrap(
      items.first { $0["title"] as? String == "Annual report published" })
    XCTAssertNil(reportItem["external_url"], "its url already is the content's")

    // The same feed again changes nothing. The article's content moved to a new URL, its
    // alternate link unchanged, is a real change.
    var again = try await record(parsed, at: now.addingTimeInterval(600))
    XCTAssertEqual(again.updated, 0)
    let moved = try FeedParser.parse(Data(Self.atom(articlePath: "/articles/3-v2.html").utf8)).feed
    again = try await record(moved, at: now.addingTimeInterval(1200))
    XCTAssertEqual(again.updated, 1)
    XCTAssertEqual(again.inserted, 0)
    try await store.close()
  }
}
