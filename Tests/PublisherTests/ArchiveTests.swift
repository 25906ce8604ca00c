import FeedModel
import FeedStore
import Foundation
import Publisher
import TestSupport
import XCTest

/// RFC 5005 archived feeds over the real SQLite store: the current document and the sealed
/// archive pages partition the timeline, pages are valid Atom and do not move.
final class ArchiveTests: XCTestCase {
  let now = Date(timeIntervalSince1970: 1_790_000_000)

  func record(_ store: SQLiteFeedStore, _ source: String, _ range: Range<Int>, at: Date)
    async throws
  {
    try await store.record(
      FetchOutcome(
        sourceID: source, result: .fetched, attemptedAt: at, httpStatus: 200, nextDue: at),
      feed: Feed(
        title: source,
        entries: range.map { i in
          Entry(
            id: "https://\(source).example.lt/\(i)",
            title: "\(source) story number \(i) \(i * 7919)",
            link: "https://\(source).example.lt/\(i)",
            published: now.addingTimeInterval(Double(i * 600)),
            summary: .text("Lead \(source) \(i) \(i * 104729)"))
        }))
  }

  func walk(_ publisher: Publisher, from path: String) async throws -> (ids: [String], docs: Int) {
    var ids: [String] = []
    var next: String? = path
    var docs = 0
    while let p = next, docs < 200 {
      let doc = try await publisher.document(path: p, query: [:])
      let body = try XCTUnwrap(doc, p).body
      let (status, errors) = try Sample.xmllint(
        ["--noout", "--relaxng", TestSupport.fixture("PublisherTests", "atom.rng").path], body)
      XCTAssertEqual(status, 0, "\(p) does not validate: \(errors)")
      let x = XMLCollector.collect(body)
      ids += x.texts("feed/entry/id")
      if docs > 0 {
        XCTAssertEqual(x.link("feed/link", rel: "current"), "https://news.example.org" + path)
        XCTAssertEqual(x.link("feed/link", rel: "self"), "https://news.example.org" + p)
        XCTAssertNil(x.link("feed/link", rel: "next"), "an archive page is not a paged view")
      }
      docs += 1
      next = x.link("feed/link", rel: "prev-archive").map {
        String($0.dropFirst("https://news.example.org".count))
      }
    }
    return (ids, docs)
  }

  func testArchivesPartitionTheTimelineAndStayPut() async throws {
    let dir = try TestSupport.makeTempDirectory("pub-archive")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try SQLiteFeedStore(path: dir.appendingPathComponent("store.sqlite").path)
    try await store.syncSources([
      SourceDefinition(id: "ict", url: "https://ict.example.lt/feed/", categories: ["ict"]),
      SourceDefinition(id: "eccp", url: "https://eccp.example.eu/feed", categories: ["energy"]),
    ])
    try await record(store, "ict", 0..<45, at: now)
    try await record(store, "eccp", 0..<28, at: now)
    let publisher = Publisher(store: store, options: Sample.options(perPage: 10))

    let current = try await publisher.document(path: "/feed.atom", query: [:])
    let currentIDs = XMLCollector.collect(try XCTUnwrap(current).body).texts("feed/entry/id")
    XCTAssertGreaterThanOrEqual(currentIDs.count, 10)
    XCTAssertLessThan(currentIDs.count, 20)
    let merged = try await walk(publisher, from: "/feed.atom")
    XCTAssertEqual(merged.ids.count, 73)
    XCTAssertEqual(Set(merged.ids).count, 73)
    XCTAssertEqual(merged.docs, 1 + 6)
    let ict = try await walk(publisher, from: "/categories/ict.atom")
    XCTAssertEqual(ict.ids.count, 45)
    XCTAssertEqual(Set(ict.ids).count, 45)
    let source = try await walk(publisher, from: "/sources/eccp.atom")
    XCTAssertEqual(Set(source.ids).count, 28)
    XCTAssertEqual(source.ids.count, 28)
    let missing = try await publisher.document(path: "/archive/feed/99.atom", query: [:])
    XCTAssertNil(missing)
    let badNumber = try await publisher.document(path: "/archive/feed/01.atom", query: [:])
    XCTAssertNil(badNumber)

    // New stories: sealed pages keep their bytes; the walk still covers everything once.
    let page1 = try await publisher.document(path: "/archive/feed/1.atom", query: [:])
    try await record(store, "ict", 0..<60, at: now.addingTimeInterval(3600))
    await publisher.invalidate()
    let page1Again = try await publisher.document(path: "/archive/feed/1.atom", query: [:])
    XCTAssertEqual(page1Again?.etag, page1?.etag)
    let after = try await walk(publisher, from: "/feed.atom")
    XCTAssertEqual(after.ids.count, 88)
    XCTAssertEqual(Set(after.ids).count, 88)
    XCTAssertEqual(after.docs, 1 + 7)
    let paths = try await publisher.allDocumentPaths()
    XCTAssertTrue(paths.contains("/archive/feed/7.atom"), "\(paths)")
    XCTAssertTrue(paths.contains("/archive/categories/ict/1.atom"), "\(paths)")
    XCTAssertFalse(paths.contains("/archive/feed/8.atom"))
    try await store.close()
  }
}
