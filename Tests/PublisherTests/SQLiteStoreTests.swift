import FeedModel
import FeedStore
import Foundation
import Publisher
import TestSupport
import XCTest

/// The publisher over the real SQLite store: merged duplicates, provenance and paging as the
/// daemon will serve them.
final class SQLiteStoreTests: XCTestCase {
  func testPublisherOverTheSQLiteStore() async throws {
    let dir = try TestSupport.makeTempDirectory("pub-sqlite")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try SQLiteFeedStore(path: dir.appendingPathComponent("store.sqlite").path)
    try await store.syncSources([
      SourceDefinition(
        id: "ict", url: "https://ict.example.lt/feed/", title: "IT klasteris", categories: ["ict"],
        priority: 10, language: "lt"),
      SourceDefinition(
        id: "eccp", url: "https://eccp.example.eu/feed", title: "ECCP", categories: ["energy"],
        priority: 1, language: "en"),
    ])
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    // Titles far apart, so only the shared link can merge two stories.
    let words = [
      "apple", "river", "stone", "cloud", "forest", "engine", "violin", "harbor", "desert",
      "lantern", "meadow",
      "rocket", "glacier", "market", "pepper", "saddle", "tunnel", "walnut", "yellow", "zephyr",
      "bridge",
      "candle", "dragon", "falcon", "garden", "hammer", "island", "jungle", "kettle", "ladder",
      "mirror",
    ]
    func title(_ k: Int) -> String {
      (0..<5).map { words[(k * 7 + $0 * 13 + k * k) % words.count] }.joined(separator: " ")
        + " \(k)"
    }
    func entries(_ prefix: String, _ n: Int, shared: Bool) -> [Entry] {
      (0..<n).map { i in
        Entry(
          id: "\(prefix)-\(i)",
          title: title(prefix == "ict" ? i : i + 40),
          link: shared && i == 0
            ? "https://news.example.lt/shared-story" : "https://\(prefix).example.lt/\(i)",
          published: now.addingTimeInterval(Double(-i * 3600)),
          summary: .html("<p>Lead text \(prefix) \(i) \(i * 104729)</p>"))
      }
    }
    try await store.record(
      FetchOutcome(
        sourceID: "ict", result: .fetched, attemptedAt: now, httpStatus: 200, nextDue: now),
      feed: Feed(
        title: "IT klasteris", link: "https://ict.example.lt/", id: "https://ict.example.lt/",
        entries: entries("ict", 30, shared: true)))
    try await store.record(
      FetchOutcome(
        sourceID: "eccp", result: .fetched, attemptedAt: now, httpStatus: 200, nextDue: now),
      feed: Feed(
        title: "ECCP news", link: "https://eccp.example.eu/",
        entries: entries("eccp", 25, shared: true)))
    try await store.record(
      FetchOutcome(
        sourceID: "eccp", result: .failed, attemptedAt: now.addingTimeInterval(60), httpStatus: 503,
        error: "HTTP 503 Service Unavailable", nextDue: now.addingTimeInterval(600)), feed: nil)

    let publisher = Publisher(store: store, options: Sample.options(perPage: 7))
    // Walk every page: 54 stories (the shared one merged), no gaps, no repeats.
    var ids: [String] = []
    var query: [String: String] = [:]
    var sharedEntries: [XMLCollector.Element] = []
    let rng = TestSupport.fixture("PublisherTests", "atom.rng").path
    while true {
      let page = try await publisher.document(path: "/feed.atom", query: query)
      let doc = try XCTUnwrap(page)
      let (status, err) = try Sample.xmllint(["--noout", "--relaxng", rng], doc.body)
      XCTAssertEqual(status, 0, err)
      let x = XMLCollector.collect(doc.body)
      ids += x.texts("feed/entry/id")
      sharedEntries += x.all("feed/entry/link").filter {
        $0.attributes["href"] == "https://news.example.lt/shared-story"
      }
      guard let next = x.link("feed/link", rel: "next") else { break }
      query = ["before": URLComponents(string: next)!.queryItems!.first!.value!]
      XCTAssertLessThan(ids.count, 200)
    }
    let all = try await store.timeline(TimelineQuery(limit: 1000)).items
    XCTAssertEqual(ids, all.map(\.entry.atomID))
    XCTAssertEqual(Set(ids).count, ids.count)
    XCTAssertEqual(ids.count, 54, "55 stories, two of them one (the shared link)")
    // The shared story: shown once (from the preferred source) with the other copy linked.
    XCTAssertEqual(sharedEntries.filter { $0.attributes["rel"] == "alternate" }.count, 1)
    XCTAssertEqual(sharedEntries.filter { $0.attributes["rel"] == "related" }.count, 1)
    let html = Sample.string(try await publisher.document(path: "/", query: [:]))
    XCTAssertTrue(html.contains("HTTP 503 Service Unavailable"))
    let eccpFeed = try await publisher.document(path: "/sources/eccp.atom", query: [:])
    XCTAssertNotNil(eccpFeed)
    try await store.close()
  }
}
