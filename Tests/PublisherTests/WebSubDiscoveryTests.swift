import FeedModel
import FeedParser
import FeedStore
import Foundation
import Publisher
import PublishingTestSupport
import XCTest

/// WebSub §4 discovery on our documents: every format names its hubs and its own URL, and the
/// `Link` header says the same; read back with our own parser.
final class WebSubDiscoveryTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  let hubs = [
    URL(string: "https://news.example.org/websub")!, URL(string: "https://hub.example.net/")!,
  ]

  func publisher(hubs: [URL]) -> Publisher {
    let store = MemoryStore()
    Sample.fill(store)
    var options = Sample.options()
    options.hubs = hubs
    return Publisher(store: store, options: options)
  }

  func links(_ doc: Document, _ contentType: String) throws -> (hubs: [String], selfURL: String?) {
    let parsed = try FeedParser.parse(
      Data(doc.body), contentType: contentType, baseURL: Sample.base)
    return (parsed.feed.links.filter { $0.rel == "hub" }.map(\.href), parsed.feed.selfLink)
  }

  func doc(_ p: Publisher, _ path: String, _ query: [String: String]) async throws -> Document {
    let found = try await p.document(path: path, query: query)
    return try XCTUnwrap(found, path)
  }

  func header(_ doc: Document) -> (hubs: [String], selfURL: String?) {
    var hubs: [String] = []
    var selfURL: String?
    for part in (doc.linkHeader ?? "").components(separatedBy: ", ") {
      guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">") else {
        continue
      }
      let url = String(part[part.index(after: open)..<close])
      if part.hasSuffix("rel=\"hub\"") { hubs.append(url) }
      if part.hasSuffix("rel=\"self\"") { selfURL = url }
    }
    return (hubs, selfURL)
  }

  func testEveryFeedFormatAdvertisesHubsAndSelf() async throws {
    let p = publisher(hubs: hubs)
    let want = hubs.map(\.absoluteString)
    for (path, type) in [
      ("/feed.atom", "application/atom+xml"), ("/feed.rss", "application/rss+xml"),
      ("/feed.json", "application/feed+json"), ("/categories/ict.atom", "application/atom+xml"),
      ("/sources/eccp.rss", "application/rss+xml"), ("/languages/lt.json", "application/feed+json"),
    ] {
      let doc = try await doc(p, path, [:])
      let inDocument = try links(doc, type)
      XCTAssertEqual(inDocument.hubs, want, path)
      XCTAssertEqual(inDocument.selfURL, "https://news.example.org" + path, path)
      let inHeader = header(doc)
      XCTAssertEqual(inHeader.hubs, want, path)
      XCTAssertEqual(inHeader.selfURL, inDocument.selfURL, path)
    }
  }

  func testPagedDocumentsNameThemselves() async throws {
    let p = publisher(hubs: hubs)
    var options = Sample.options(perPage: 2)
    options.hubs = hubs
    await p.updateOptions(options)
    let first = try await doc(p, "/feed.rss", [:])
    let parsed = try FeedParser.parse(
      Data(first.body), contentType: "application/rss+xml", baseURL: Sample.base)
    let next = try XCTUnwrap(parsed.feed.links.first { $0.rel == "next" }?.href)
    XCTAssertTrue(next.contains("before="), next)
    let query = URLComponents(string: next)!.queryItems!.reduce(into: [String: String]()) {
      $0[$1.name] = $1.value
    }
    let page = try await doc(p, "/feed.rss", query)
    XCTAssertEqual(try links(page, "application/rss+xml").selfURL, next)
    XCTAssertEqual(header(page).selfURL, next)
  }

  func testHTMLPageAndOPMLCarryTheLinkHeader() async throws {
    let p = publisher(hubs: hubs)
    let page = try await doc(p, "/", [:])
    let html = String(decoding: page.body, as: UTF8.self)
    XCTAssertTrue(html.contains("<link rel=\"hub\" href=\"https://news.example.org/websub\">"))
    XCTAssertTrue(html.contains("<link rel=\"hub\" href=\"https://hub.example.net/\">"))
    XCTAssertEqual(header(page).selfURL, "https://news.example.org/")
    XCTAssertTrue(html.contains("<link rel=\"self\" href=\"https://news.example.org/\">"))
    let opml = try await doc(p, "/sources.opml", [:])
    XCTAssertEqual(header(opml).hubs, hubs.map(\.absoluteString))
    XCTAssertEqual(header(opml).selfURL, "https://news.example.org/sources.opml")
  }

  func testNoHubsAdvertisesNone() async throws {
    let p = publisher(hubs: [])
    let atom = try await doc(p, "/feed.atom", [:])
    XCTAssertEqual(try links(atom, "application/atom+xml").hubs, [])
    XCTAssertEqual(atom.linkHeader, "<https://news.example.org/feed.atom>; rel=\"self\"")
    let json = try await doc(p, "/feed.json", [:])
    XCTAssertFalse(String(decoding: json.body, as: UTF8.self).contains("\"hubs\""))
  }
}
