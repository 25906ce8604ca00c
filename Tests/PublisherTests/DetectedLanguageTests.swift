import FeedModel
import FeedParser
import FeedStore
import Foundation
import Publisher
import TestSupport
import XCTest

/// A Lithuanian member posts in English and its feed declares no language: the entry is
/// detected as `en` and so the English sub-feed carries it, while the member's Lithuanian posts
/// fall back to the configured `lt` (real parser, real SQLite store, real renderer).
final class DetectedLanguageTests: XCTestCase {
  func testEnglishPostOfALithuanianMemberIsInTheEnglishFeed() async throws {
    try XCTSkipUnless(
      FileManager.default.fileExists(atPath: "/usr/share/libexttextcat/en.lm")
        || ProcessInfo.processInfo.environment["CI"] == "true",
      "libexttextcat-data is not installed")
    let rss = Data(
      """
      <?xml version="1.0" encoding="UTF-8"?>
      <rss version="2.0"><channel><title>Lazerių klasteris</title>
      <link>https://laser.example.lt/</link>
      <item><title>Laser cluster joins the European platform</title>
      <link>https://laser.example.lt/en/platform</link><guid>https://laser.example.lt/en/platform</guid>
      <pubDate>Tue, 01 Dec 2026 09:00:00 +0200</pubDate>
      <description>&lt;p&gt;The cluster brings together manufacturers and research institutes to develop new laser technologies for the automotive industry.&lt;/p&gt;</description></item>
      <item><title>Klasteris prisijungė prie Europos platformos</title>
      <link>https://laser.example.lt/platforma</link><guid>https://laser.example.lt/platforma</guid>
      <pubDate>Tue, 01 Dec 2026 08:00:00 +0200</pubDate>
      <description>&lt;p&gt;Klasteris vienija gamintojus ir mokslo institutus, kurie kartu kuria naujas lazerių technologijas automobilių pramonei.&lt;/p&gt;</description></item>
      <item><title>Nuotraukos</title><link>https://laser.example.lt/foto</link>
      <guid>https://laser.example.lt/foto</guid><pubDate>Tue, 01 Dec 2026 07:00:00 +0200</pubDate>
      </item>
      </channel></rss>
      """.utf8)
    let parsed = try FeedParser.parse(rss, baseURL: URL(string: "https://laser.example.lt/feed/"))
    XCTAssertEqual(parsed.feed.entries.map(\.language), ["en", "lt", nil])

    let dir = try TestSupport.makeTempDirectory("pub-language")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try SQLiteFeedStore(path: dir.appendingPathComponent("store.sqlite").path)
    try await store.syncSources([
      SourceDefinition(
        id: "laser", url: "https://laser.example.lt/feed/", title: "Lazerių klasteris",
        categories: ["photonics"], priority: 1, language: "lt")
    ])
    let now = Date(timeIntervalSince1970: 1_796_108_400)
    try await store.record(
      FetchOutcome(
        sourceID: "laser", result: .fetched, attemptedAt: now, httpStatus: 200, nextDue: now),
      feed: parsed.feed)
    let publisher = Publisher(store: store, options: Sample.options())

    func titles(_ path: String) async throws -> [String] {
      let doc = try await publisher.document(path: path, query: [:])
      return XMLCollector.collect(try XCTUnwrap(doc, path).body).texts("feed/entry/title")
    }
    let english = try await titles("/languages/en.atom")
    XCTAssertEqual(english, ["Laser cluster joins the European platform"])
    let lithuanian = try await titles("/languages/lt.atom")
    XCTAssertEqual(
      lithuanian, ["Klasteris prisijungė prie Europos platformos", "Nuotraukos"])
    // The merged feed re-parsed by the project's own parser says the English entry is English.
    let merged = try await publisher.document(path: "/feed.atom", query: [:])
    let back = try FeedParser.parse(Data(try XCTUnwrap(merged).body))
    let entry = try XCTUnwrap(
      back.feed.entries.first { $0.title == "Laser cluster joins the European platform" })
    XCTAssertEqual(entry.language ?? back.feed.language, "en")
  }
}
