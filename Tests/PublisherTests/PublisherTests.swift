import FeedModel
import FeedStore
import Foundation
import Publisher
import PublishingTestSupport
import TestSupport
import XCTest

#if canImport(FoundationXML)
  import FoundationXML
#endif

final class PublisherTests: XCTestCase {
  func makePublisher(perPage: Int = 50) -> (MemoryStore, Publisher) {
    let store = MemoryStore()
    Sample.fill(store)
    return (store, Publisher(store: store, options: Sample.options(perPage: perPage)))
  }

  func testAtomValidatesAgainstRFC4287Schema() async throws {
    // One per page: the current document (up to two pages' worth) still has a next page.
    let (_, publisher) = makePublisher(perPage: 1)
    let rng = TestSupport.fixture("PublisherTests", "atom.rng").path
    var paths = [
      "/feed.atom", "/categories/ict.atom", "/sources/broken.atom", "/languages/en.atom",
    ]
    // Page 2 too, through the next link.
    let first = try await publisher.document(path: "/feed.atom", query: [:])
    let next = try XCTUnwrap(XMLCollector.collect(first!.body).link("feed/link", rel: "next"))
    paths.append("/feed.atom?" + next.components(separatedBy: "?")[1])
    for p in paths {
      let parts = p.split(separator: "?", maxSplits: 1).map(String.init)
      var query: [String: String] = [:]
      if parts.count == 2 {
        let kv = parts[1].split(separator: "=").map(String.init)
        query[kv[0]] = kv[1]
      }
      let doc = try await publisher.document(path: parts[0], query: query)
      let bytes = try XCTUnwrap(doc?.body, p)
      let (status, err) = try Sample.xmllint(["--noout", "--relaxng", rng], bytes)
      XCTAssertEqual(status, 0, "\(p) does not validate: \(err)")
    }
  }

  func testSchemaRejectsAnInvalidFeed() throws {
    // The schema check must be able to fail: an entry without an id is not Atom.
    let rng = TestSupport.fixture("PublisherTests", "atom.rng").path
    let bad = """
      <?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>t</title>\
      <updated>2026-01-01T00:00:00Z</updated><entry><title>e</title><updated>2026-01-01T00:00:00Z</updated></entry></feed>
      """
    let (status, _) = try Sample.xmllint(["--noout", "--relaxng", rng], Array(bad.utf8))
    XCTAssertNotEqual(status, 0)
  }

  func testAtomCarriesFeedMetadataProvenanceAndDuplicates() async throws {
    let (_, publisher) = makePublisher()
    let doc = try await publisher.document(path: "/feed.atom", query: [:])
    XCTAssertEqual(doc?.contentType, "application/atom+xml; charset=utf-8")
    let x = XMLCollector.collect(doc!.body)
    XCTAssertNil(x.error)
    XCTAssertEqual(x.texts("feed/id"), ["https://news.example.org/feed.atom"])
    XCTAssertEqual(x.link("feed/link", rel: "self"), "https://news.example.org/feed.atom")
    XCTAssertEqual(x.link("feed/link", rel: "alternate"), "https://news.example.org/")
    XCTAssertEqual(x.texts("feed/updated"), ["2026-09-21T14:13:20Z"])
    XCTAssertEqual(x.all("feed/generator").first?.attributes["version"], "0.1.0-test")
    XCTAssertEqual(x.texts("feed/author/name"), ["Klasterių tinklas"])
    let ids = x.texts("feed/entry/id")
    XCTAssertEqual(
      ids,
      [
        "https://ict.example.lt/?p=1", "tag:eccp.example.eu,2026:energy",
        "urn:x-clusterwire:broken:1",
        "urn:x-clusterwire:ict:nolink",
      ])
    // The duplicate story appears once, its other copy linked with a title.
    XCTAssertFalse(ids.contains("tag:eccp.example.eu,2026:ai"))
    let related = x.all("feed/entry/link").filter { $0.attributes["rel"] == "related" }
    XCTAssertEqual(related.count, 1)
    XCTAssertEqual(related.first?.attributes["href"], "https://eccp.example.eu/ai")
    XCTAssertEqual(related.first?.attributes["title"], "ECCP: AI in industry")
    // Every entry has an author: its own, else the source's feed author, else the source title.
    XCTAssertEqual(x.texts("feed/entry/author/name").prefix(2), ["Jonas Jonaitis", "ECCP"])
    XCTAssertEqual(x.texts("feed/entry/author/name").count, 4)
    XCTAssertEqual(x.texts("feed/entry/author/name").last, "IT redakcija")
    // Full atom:source.
    XCTAssertEqual(x.texts("feed/entry/source/id").first, "https://ict.example.lt/")
    XCTAssertEqual(x.texts("feed/entry/source/id")[1], "https://eccp.example.eu/news.atom")
    XCTAssertEqual(x.texts("feed/entry/source/title").first, "IT klasteris")
    XCTAssertEqual(x.texts("feed/entry/source/icon").first, "https://ict.example.lt/icon.png")
    XCTAssertEqual(x.texts("feed/entry/source/rights").first, "© IT klasteris")
    XCTAssertEqual(x.link("feed/entry/source/link", rel: "alternate"), "https://ict.example.lt/")
    // Summary keeps its HTML as escaped text; the entry with no link got inline content.
    XCTAssertEqual(x.texts("feed/entry/summary").first, "<p>Apie <b>DI</b> &amp; pramonę</p>")
    XCTAssertEqual(x.all("feed/entry/summary").first?.attributes["type"], "html")
    XCTAssertEqual(x.all("feed/entry/content").last?.attributes["type"], "text")
    // Hostile link schemes never reach the output.
    XCTAssertFalse(Sample.string(doc).contains("javascript:"))
    XCTAssertEqual(x.all("feed/entry/link").filter { $0.attributes["rel"] == "enclosure" }.count, 2)
  }

  func testHostileContentNeverBreaksAnyOutput() async throws {
    let (_, publisher) = makePublisher()
    for path in [
      "/feed.atom", "/feed.rss", "/sources.opml", "/sources/broken.atom", "/sources/broken.rss",
    ] {
      let doc = try await publisher.document(path: path, query: [:])
      let bytes = try XCTUnwrap(doc?.body)
      XCTAssertNotNil(String(validating: bytes, as: UTF8.self), path)
      let (status, err) = try Sample.xmllint(["--noout"], bytes)
      XCTAssertEqual(status, 0, "\(path) is not well-formed: \(err)")
      let text = Sample.string(doc)
      XCTAssertFalse(text.contains("]]>"), path)
      XCTAssertFalse(text.contains("<script"), path)
      XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, path)
      XCTAssertFalse(
        text.unicodeScalars.contains { $0.value == 0xFFFE || $0.value == 0xFFFF }, path)
      // The escaped text survives a round trip minus the characters XML cannot carry.
      if path.hasSuffix(".atom") {
        let titles = XMLCollector.collect(bytes).texts("feed/entry/title")
        XCTAssertTrue(
          titles.contains { $0.hasPrefix("Bad <script>alert(1)</script> ]]> &amp;  \"q\" 'a' ") },
          "\(titles)")
      }
    }
    // JSON Feed: valid JSON, the same strings back (controls escaped, not lost).
    let json = try await publisher.document(path: "/feed.json", query: [:])
    let object = try JSONSerialization.jsonObject(with: Data(json!.body)) as? [String: Any]
    let items = try XCTUnwrap(object?["items"] as? [[String: Any]])
    let hostile = try XCTUnwrap(
      items.first { ($0["id"] as? String) == "urn:x-clusterwire:broken:1" })
    XCTAssertEqual(
      hostile["title"] as? String,
      Sample.hostileText.replacingOccurrences(of: "\u{FFFE}\u{FFFF}", with: ""))
    XCTAssertNil(hostile["url"], "javascript: links are dropped")
    // HTML page: escaped, no script element, no javascript: link.
    let html = Sample.string(try await publisher.document(path: "/", query: [:]))
    XCTAssertFalse(html.contains("<script"))
    XCTAssertFalse(html.contains("javascript:"))
    XCTAssertTrue(html.contains("&lt;script&gt;") || html.contains("alert(1)"))
  }

  func testInvalidUTF8FromAFeedIsReplacedNotPassedOn() async throws {
    let store = MemoryStore(sources: Sample.sources)
    let broken = String(decoding: [0x41, 0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0x42], as: UTF8.self)
    store.add(
      sourceID: "ict", entry: Entry(title: broken, link: "https://ict.example.lt/u"),
      sortDate: Sample.t0)
    let publisher = Publisher(store: store, options: Sample.options())
    for path in ["/feed.atom", "/feed.rss", "/feed.json", "/"] {
      let bytes = try await publisher.document(path: path, query: [:])!.body
      XCTAssertNotNil(String(validating: bytes, as: UTF8.self), path)
    }
  }

  func testRSSAndJSONFeedStructure() async throws {
    let (_, publisher) = makePublisher(perPage: 3)
    let rss = try await publisher.document(path: "/feed.rss", query: [:])
    XCTAssertEqual(rss?.contentType, "application/rss+xml; charset=utf-8")
    let x = XMLCollector.collect(rss!.body)
    XCTAssertNil(x.error)
    XCTAssertEqual(x.all("rss").first?.attributes["version"], "2.0")
    XCTAssertEqual(x.texts("rss/channel/item/guid").first, "https://ict.example.lt/?p=1")
    XCTAssertEqual(x.all("rss/channel/item/guid").first?.attributes["isPermaLink"], "false")
    XCTAssertEqual(x.texts("rss/channel/item/pubDate").first, "Mon, 21 Sep 2026 14:13:20 +0000")
    XCTAssertEqual(
      x.all("rss/channel/item/source").first?.attributes["url"], "https://ict.example.lt/feed/")
    XCTAssertEqual(x.texts("rss/channel/item/source").first, "IT klasteris")
    let selfLink = x.all("rss/channel/atom:link").first { $0.attributes["rel"] == "self" }
    XCTAssertEqual(selfLink?.attributes["href"], "https://news.example.org/feed.rss")
    XCTAssertNotNil(x.all("rss/channel/atom:link").first { $0.attributes["rel"] == "next" })

    let json = try await publisher.document(path: "/feed.json", query: [:])
    XCTAssertEqual(json?.contentType, "application/feed+json; charset=utf-8")
    let o = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(json!.body)) as? [String: Any])
    XCTAssertEqual(o["version"] as? String, "https://jsonfeed.org/version/1.1")
    XCTAssertEqual(o["feed_url"] as? String, "https://news.example.org/feed.json")
    XCTAssertNotNil(o["next_url"] as? String)
    let items = try XCTUnwrap(o["items"] as? [[String: Any]])
    XCTAssertEqual(items.count, 3)
    XCTAssertEqual(items[0]["date_published"] as? String, "2026-09-21T14:13:20Z")
    let ext = items[0]["_clusterwire"] as? [String: Any]
    XCTAssertEqual((ext?["duplicates"] as? [[String: Any]])?.first?["source_id"] as? String, "eccp")
  }

  func testOPMLListsAllSources() async throws {
    let (_, publisher) = makePublisher()
    let doc = try await publisher.document(path: "/sources.opml", query: [:])
    XCTAssertEqual(doc?.contentType, "text/x-opml; charset=utf-8")
    let x = XMLCollector.collect(doc!.body)
    XCTAssertNil(x.error)
    XCTAssertEqual(x.all("opml").first?.attributes["version"], "2.0")
    let outlines = x.all("opml/body/outline")
    XCTAssertEqual(
      outlines.map { $0.attributes["xmlUrl"] }, Sample.sources.sorted { $0.id < $1.id }.map(\.url))
    let eccp = outlines.first { $0.attributes["xmlUrl"] == "https://eccp.example.eu/news.atom" }
    XCTAssertEqual(eccp?.attributes["category"], "/ict,/energy")
    XCTAssertEqual(eccp?.attributes["htmlUrl"], "https://eccp.example.eu/")
    XCTAssertEqual(eccp?.attributes["title"], "ECCP")
    // Each outline names its source id in clusterwire's namespace (for `import-opml`).
    let tree = try XPathDocument(doc!.body)
    let ids = tree.strings(
      "/opml/body/outline/@*[local-name()='id' and namespace-uri()='\(ClusterwireOPML.namespace)']")
    XCTAssertEqual(ids, Sample.sources.map(\.id).sorted())
  }

  func testOPMLPointsHTMLAndFileSourcesAtOurOwnSubFeed() async throws {
    // A `file:` path is this server's business, and an HTML page is no feed: both are listed
    // as the feed we publish for them.
    let store = MemoryStore(sources: [
      SourceState(id: "local", url: "file:///var/lib/clusterwire/demo/alfa.xml"),
      SourceState(id: "page", url: "https://page.example.lt/naujienos/", kind: .html),
      SourceState(id: "web", url: "https://web.example.lt/feed/"),
    ])
    let publisher = Publisher(store: store, options: Sample.options(perPage: 10))
    let doc = try await publisher.document(path: "/sources.opml", query: [:])
    let x = XMLCollector.collect(try XCTUnwrap(doc).body)
    XCTAssertEqual(
      x.all("opml/body/outline").map { $0.attributes["xmlUrl"] },
      [
        "https://news.example.org/sources/local.atom",
        "https://news.example.org/sources/page.atom", "https://web.example.lt/feed/",
      ])
    XCTAssertFalse(String(decoding: doc!.body, as: UTF8.self).contains("file:"))
  }

  func testSubFeedsHaveTheirOwnIdAndSelfLinkAndUnknownOnesAre404() async throws {
    let (_, publisher) = makePublisher()
    let cases: [(String, [String])] = [
      (
        "/categories/ict.atom",
        [
          "https://ict.example.lt/?p=1", "tag:eccp.example.eu,2026:energy",
          "urn:x-clusterwire:ict:nolink",
        ]
      ),
      ("/categories/agri-food.atom", ["urn:x-clusterwire:broken:1"]),
      ("/sources/eccp.atom", ["tag:eccp.example.eu,2026:energy"]),
      ("/languages/en.atom", ["tag:eccp.example.eu,2026:energy"]),
    ]
    for (path, ids) in cases {
      let doc = try await publisher.document(path: path, query: [:])
      let x = XMLCollector.collect(try XCTUnwrap(doc, path).body)
      XCTAssertEqual(x.texts("feed/id"), ["https://news.example.org" + path], path)
      XCTAssertEqual(x.link("feed/link", rel: "self"), "https://news.example.org" + path)
      XCTAssertEqual(x.texts("feed/entry/id"), ids, path)
    }
    for path in [
      "/categories/nope.atom", "/sources/nope.atom", "/languages/fr.atom", "/feed.xml",
      "/categories/ict.pdf",
      "/categories/../feed.atom", "/sources/", "/nothing",
    ] {
      let doc = try await publisher.document(path: path, query: [:])
      XCTAssertNil(doc, path)
    }
    let garbage = try await publisher.document(path: "/feed.atom", query: ["before": "garbage"])
    XCTAssertNil(garbage)
    let rss = try await publisher.document(path: "/categories/ict.rss", query: [:])
    XCTAssertNotNil(rss)
    let json = try await publisher.document(path: "/languages/lt.json", query: [:])
    XCTAssertNotNil(json)
  }

  func testPagingWalksTheWholeHistoryWithoutGapsOrRepeats() async throws {
    let store = MemoryStore(sources: Sample.sources)
    var expected: [String] = []
    for i in 0..<137 {
      // Some stories share a timestamp: the cursor must break ties by group.
      let date = Sample.t0.addingTimeInterval(-Double(i / 3) * 60)
      store.add(
        sourceID: i % 2 == 0 ? "ict" : "eccp",
        entry: Entry(title: "Story \(i)", link: "https://x.lt/\(i)"),
        atomID: "urn:x-test:\(i)", sortDate: date, language: "lt")
    }
    let all = try await store.timeline(TimelineQuery(limit: 1000))
    expected = all.items.map(\.entry.atomID)
    XCTAssertEqual(Set(expected).count, 137)
    let publisher = Publisher(store: store, options: Sample.options(perPage: 10))

    // Forward through rel="next" until it disappears.
    var seen: [String] = []
    var query: [String: String] = [:]
    var pages = 0
    var lastPageQuery: [String: String] = [:]
    while true {
      let doc = try await publisher.document(path: "/feed.atom", query: query)
      let x = XMLCollector.collect(try XCTUnwrap(doc).body)
      XCTAssertEqual(x.link("feed/link", rel: "first"), "https://news.example.org/feed.atom")
      XCTAssertEqual(x.texts("feed/id"), ["https://news.example.org/feed.atom"])
      if pages > 0 {
        XCTAssertNotNil(x.link("feed/link", rel: "previous"))
      } else {
        XCTAssertNil(x.link("feed/link", rel: "previous"))
      }
      seen += x.texts("feed/entry/id")
      pages += 1
      lastPageQuery = query
      guard let next = x.link("feed/link", rel: "next") else { break }
      let token = try XCTUnwrap(
        URLComponents(string: next)?.queryItems?.first { $0.name == "before" }?.value)
      query = ["before": token]
      XCTAssertLessThan(pages, 100)
    }
    // 137 rows: the unpaged current document holds two pages' worth (20, RFC 5005 archiving),
    // then 12 pages of 10 and one of 7.
    XCTAssertEqual(pages, 14 - 1)
    XCTAssertEqual(seen, expected)

    // And back through rel="previous" from the last page.
    var back: [[String]] = []
    query = lastPageQuery
    while true {
      let doc = try await publisher.document(path: "/feed.atom", query: query)
      let x = XMLCollector.collect(try XCTUnwrap(doc).body)
      back.append(x.texts("feed/entry/id"))
      guard let prev = x.link("feed/link", rel: "previous") else { break }
      let token = try XCTUnwrap(
        URLComponents(string: prev)?.queryItems?.first { $0.name == "after" }?.value)
      query = ["after": token]
      XCTAssertLessThan(back.count, 100)
    }
    XCTAssertEqual(Array(back.reversed().joined()), expected.suffix(back.reversed().joined().count))
    XCTAssertEqual(Set(back.joined()).count, back.joined().count)
    XCTAssertEqual(Set(back.joined()), Set(expected))

    // JSON Feed pages through next_url the same way.
    var jsonSeen: [String] = []
    query = [:]
    while true {
      let doc = try await publisher.document(path: "/feed.json", query: query)
      let o = try XCTUnwrap(
        try JSONSerialization.jsonObject(with: Data(doc!.body)) as? [String: Any])
      jsonSeen += (o["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
      guard let next = o["next_url"] as? String else { break }
      query = ["before": URLComponents(string: next)!.queryItems!.first!.value!]
      XCTAssertLessThan(jsonSeen.count, 1000)
    }
    XCTAssertEqual(jsonSeen, expected)
  }

  func testDocumentsAreCachedUntilTheStoreChanges() async throws {
    let (store, publisher) = makePublisher()
    let a = try await publisher.document(path: "/feed.atom", query: [:])
    let calls = store.timelineCalls
    for _ in 0..<20 { _ = try await publisher.document(path: "/feed.atom", query: [:]) }
    XCTAssertEqual(store.timelineCalls, calls, "served from cache, not re-rendered")
    // The lock-protected copy serves the same bytes without the actor, and stops doing so once
    // the store may have changed.
    XCTAssertEqual(publisher.cachedDocument(path: "/feed.atom", query: [:])?.etag, a?.etag)
    XCTAssertNil(publisher.cachedDocument(path: "/nope", query: [:]))
    try await Task.sleep(for: .milliseconds(300))
    XCTAssertNil(
      publisher.cachedDocument(path: "/feed.atom", query: [:]), "expired after the check interval")
    _ = try await publisher.document(path: "/feed.atom", query: [:])
    XCTAssertNotNil(publisher.cachedDocument(path: "/feed.atom", query: [:]))
    // A store change is seen at once after invalidate().
    store.add(
      sourceID: "ict", entry: Entry(title: "Nauja", link: "https://ict.example.lt/n"),
      sortDate: Sample.t0.addingTimeInterval(60))
    await publisher.invalidate()
    XCTAssertNil(
      publisher.cachedDocument(path: "/feed.atom", query: [:]), "invalidate() expires it at once")
    let b = try await publisher.document(path: "/feed.atom", query: [:])
    XCTAssertNotEqual(a?.etag, b?.etag)
    XCTAssertTrue(Sample.string(b).contains("Nauja"))
    // …and without invalidate() within the check interval.
    store.updateSource("ict") { $0.title = "IT klasteris (naujas)" }
    try await Task.sleep(for: .milliseconds(300))
    let c = try await publisher.document(path: "/feed.atom", query: [:])
    XCTAssertTrue(Sample.string(c).contains("IT klasteris (naujas)"))
    // A token bump with identical output keeps the validators.
    store.bump()
    await publisher.invalidate()
    let d = try await publisher.document(path: "/feed.atom", query: [:])
    XCTAssertEqual(c?.etag, d?.etag)
    XCTAssertEqual(c?.lastModified, d?.lastModified)
    XCTAssertTrue(d!.etag.hasPrefix("\"") && d!.etag.hasSuffix("\""))
    // Options reload re-renders.
    var options = Sample.options()
    options.title = "Kitas pavadinimas"
    await publisher.updateOptions(options)
    let e = try await publisher.document(path: "/feed.atom", query: [:])
    XCTAssertTrue(Sample.string(e).contains("Kitas pavadinimas"))
  }

  func testHTMLPageForPeople() async throws {
    let (_, publisher) = makePublisher()
    let doc = try await publisher.document(path: "/", query: [:])
    XCTAssertEqual(doc?.contentType, "text/html; charset=utf-8")
    let html = Sample.string(doc)
    XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"lt\">"))
    XCTAssertTrue(
      html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
    for href in [
      "feed.atom", "feed.rss", "feed.json", "categories/ict.atom", "categories/energy.atom",
      "categories/agri-food.atom", "languages/en.atom", "languages/lt.atom",
    ] {
      XCTAssertTrue(html.contains("href=\"https://news.example.org/\(href)\""), href)
    }
    XCTAssertTrue(html.contains("rel=\"alternate\" type=\"application/feed+json\""))
    // Health: the failing source, since when, why, and where it moved.
    XCTAssertTrue(html.contains("neveikia nuo 2026 m. rugsėjo 19 d. 17:13"), html)
    XCTAssertTrue(html.contains("HTTP 500 Internal Server Error"))
    XCTAssertTrue(html.contains("https://broken.example.lt/feed/"))
    // News: title link, source, Lithuanian date, plain-text summary, other copies, sector links.
    XCTAssertTrue(
      html.contains("<a href=\"https://ict.example.lt/di\">Dirbtinis intelektas pramonėje</a>"))
    XCTAssertTrue(html.contains("2026 m. rugsėjo 21 d. 17:13"))
    XCTAssertTrue(html.contains("Apie DI &amp; pramonę"))
    XCTAssertTrue(html.contains("Taip pat: <a href=\"https://eccp.example.eu/ai\""))
    XCTAssertTrue(html.contains("href=\"categories/ict.html\""))
    XCTAssertFalse(html.contains("<script"))
    // Sub-pages exist for the links the page makes.
    let categoryPage = try await publisher.document(path: "/categories/ict.html", query: [:])
    XCTAssertNotNil(categoryPage)
    let sourcePage = Sample.string(
      try await publisher.document(path: "/sources/broken.html", query: [:]))
    XCTAssertTrue(sourcePage.contains("HTTP 500"))
  }

  func testExportWritesEveryDocumentAtomically() async throws {
    let (_, publisher) = makePublisher()
    let dir = try TestSupport.makeTempDirectory("export")
    defer { try? FileManager.default.removeItem(at: dir) }
    let paths = try await publisher.allDocumentPaths()
    XCTAssertTrue(paths.contains("/categories/energy.atom"))
    XCTAssertTrue(paths.contains("/sources/broken.html"))
    XCTAssertTrue(paths.contains("/languages/en.json"))
    let n = try await publisher.export(to: dir)
    XCTAssertEqual(n, paths.count)
    for p in paths {
      let file = dir.appendingPathComponent(p == "/" ? "index.html" : String(p.dropFirst()))
      let onDisk = try Data(contentsOf: file)
      let doc = try await publisher.document(path: p, query: [:])
      XCTAssertEqual(Array(onDisk), doc?.body, p)
    }
    // No temporary files left behind; a second export replaces in place.
    let enumerator = FileManager.default.enumerator(atPath: dir.path)!
    let names = enumerator.compactMap { $0 as? String }
    XCTAssertFalse(names.contains { $0.hasSuffix(".tmp") }, "\(names)")
    let again = try await publisher.export(to: dir)
    XCTAssertEqual(again, n)
  }

  func testRoutePatternsForMetrics() {
    XCTAssertEqual(Publisher.routePattern(for: "/feed.atom"), "/feed.atom")
    XCTAssertEqual(Publisher.routePattern(for: "/"), "/")
    XCTAssertEqual(Publisher.routePattern(for: "/categories/ict.rss"), "/categories/{slug}.rss")
    XCTAssertEqual(Publisher.routePattern(for: "/sources/x.atom"), "/sources/{id}.atom")
    XCTAssertNil(Publisher.routePattern(for: "/wp-login.php"))
  }
}
