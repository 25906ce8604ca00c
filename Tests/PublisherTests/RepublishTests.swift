import FeedModel
import FeedParser
import FeedStore
import Foundation
import Publisher
import TestSupport
import XCTest

/// Everything an entry brought is republished (issue 13, class 8), through the real SQLite store:
/// an entry's own `atom:source` is kept, other entries get one built from the stored head of
/// the feed they came from; rights, licences, contributors, categories with scheme and label,
/// enclosures with type and length, thumbnails, per-element language and GeoRSS survive, and
/// every output stays valid.
final class RepublishTests: XCTestCase {
  static let t0 = Date(timeIntervalSince1970: 1_790_000_000)

  /// A WordPress podcast feed's head, with every field a head can have.
  static let wpHead = Feed(
    title: "Klasterio naujienos", subtitle: "Naujienos ir podkastai",
    link: "https://wp.example.lt/", selfLink: "https://wp.example.lt/feed/", updated: t0,
    language: "lt-LT", authors: [Person(name: "Redakcija", email: "info@wp.example.lt")],
    categories: [Category(term: "Technology", scheme: "http://www.itunes.com/", label: "Tech")],
    icon: "https://wp.example.lt/wp-content/uploads/cropped-icon-32x32.png",
    logo: "https://wp.example.lt/wp-content/uploads/logo.png", rights: "© 2026 Klasteris",
    generator: "https://wordpress.org/?v=6.5.2",
    links: [
      Link(href: "https://wp.example.lt/", rel: "alternate", type: "text/html"),
      Link(href: "https://wp.example.lt/feed/", rel: "self", type: "application/rss+xml"),
      Link(href: "https://pubsubhubbub.appspot.com/", rel: "hub"),
      Link(href: "https://creativecommons.org/licenses/by/4.0/", rel: "license"),
      Link(href: "https://wp.example.lt/feed/?paged=2", rel: "next"),
    ],
    contributors: [Person(name: "Petras", uri: "https://wp.example.lt/author/petras/")],
    itunes: ITunesInfo(explicit: false, owner: Person(name: "Klasteris")))

  static let planetHead = Feed(
    title: "Planet Energy", link: "https://planet.example.eu/",
    id: "https://planet.example.eu/atom.xml", updated: t0)

  /// A podcast episode with every new field: per-element language (an English title and
  /// summary in a Lithuanian entry), rights, a licence, comments, contributors known only by an
  /// email or a uri, two enclosures, two thumbnails, a place.
  static let episode = Entry(
    id: "https://wp.example.lt/?p=101", title: "Clusters and AI: episode 12",
    link: "https://wp.example.lt/podkastas-12/",
    links: [
      Link(
        href: "https://wp.example.lt/podkastas-12/", rel: "alternate", type: "text/html",
        hreflang: "lt"),
      Link(href: "https://creativecommons.org/licenses/by-sa/4.0/", rel: "license"),
      Link(
        href: "https://wp.example.lt/en/podcast-12/", rel: "alternate", type: "text/html",
        title: "In English", hreflang: "en"),
      // The same language again: RFC 4287 allows one alternate per type and language.
      Link(
        href: "https://wp.example.lt/en/podcast-12-amp/", rel: "alternate", type: "text/html",
        hreflang: "en"),
    ],
    published: t0, updated: t0,
    summary: Text(type: .text, value: "We talk about clusters and AI.", language: "en"),
    content: .html("<p>Pokalbis apie <b>klasterius</b>.</p>"),
    authors: [Person(name: "Jonas", email: "jonas@wp.example.lt")],
    contributors: [
      Person(email: "editor@wp.example.lt"), Person(uri: "https://wp.example.lt/author/ona/"),
    ],
    categories: [
      Category(term: "ai", scheme: "https://wp.example.lt/tag/", label: "Dirbtinis intelektas")
    ],
    enclosures: [
      Enclosure(
        url: "https://media.example.lt/ep12.mp3", type: "audio/mpeg", length: 12_345_678,
        medium: "audio", duration: 1830),
      Enclosure(
        url: "https://wp.example.lt/cover-12.jpg", type: "image/jpeg", length: 45_678,
        medium: "image", width: 1400, height: 1400),
    ],
    language: "lt", titleLanguage: "en", created: t0.addingTimeInterval(-86400),
    rights: "CC BY-SA 4.0 Klasteris", publisher: Person(name: "Klasteris"),
    comments: "https://wp.example.lt/podkastas-12/#comments",
    media: MediaInfo(
      thumbnails: [
        Thumbnail(url: "https://wp.example.lt/thumb-150.jpg", width: 150, height: 150),
        Thumbnail(url: "https://wp.example.lt/banner-12.jpg", width: 1200, height: 400),
      ], credits: ["Ona"]),
    itunes: ITunesInfo(explicit: false, duration: 1830, episode: 12),
    geo: GeoLocation(shape: .point, coordinates: [54.6872, 25.2797], featureName: "Vilnius"))

  /// An entry a planet aggregator republished, with its original feed's full `atom:source`.
  static let planetEntry = Entry(
    id: "tag:blog.example.eu,2026:post-7", title: "Offshore wind and clusters",
    link: "https://blog.example.eu/2026/wind", published: t0.addingTimeInterval(-600),
    summary: .text("Why offshore wind needs clusters."),
    authors: [Person(name: "Anna Berg")],
    source: EntrySource(
      id: "tag:blog.example.eu,2026:feed", title: "Energy Blog", link: "https://blog.example.eu/",
      updated: t0.addingTimeInterval(-3600), icon: "https://blog.example.eu/favicon.ico",
      rights: "© Energy Blog", subtitle: "Notes on energy clusters",
      links: [
        Link(href: "https://blog.example.eu/", rel: "alternate", type: "text/html"),
        Link(href: "https://blog.example.eu/feed.atom", rel: "self", type: "application/atom+xml"),
        Link(href: "https://creativecommons.org/licenses/by/4.0/", rel: "license"),
        Link(href: "https://hub.example.eu/", rel: "hub"),
      ],
      authors: [Person(name: "Anna Berg", email: "anna@blog.example.eu")],
      contributors: [Person(uri: "https://blog.example.eu/bob")],
      categories: [
        Category(term: "energy", scheme: "https://blog.example.eu/cat/", label: "Energy")
      ],
      logo: "https://blog.example.eu/logo.png", generator: "Hugo"),
    language: "en")

  /// An entry whose source came from an RSS `<source url="…">`.
  static let rssSourced = Entry(
    id: "tag:planet.example.eu,2026:old-3", title: "Senas įrašas iš seno CMS",
    link: "https://oldcms.example.lt/news/3", published: t0.addingTimeInterval(-1200),
    summary: .html("<p>Senas CMS</p>"),
    source: EntrySource(
      title: "Senas CMS",
      links: [Link(href: "https://oldcms.example.lt/rss.xml", rel: "self")]),
    language: "lt")

  static func fillers(_ n: Int) -> [Entry] {
    let words = ["apple", "river", "stone", "cloud", "forest", "engine", "violin", "harbor"]
    return (0..<n).map { i in
      Entry(
        id: "https://wp.example.lt/?p=\(i + 1)",
        title: "\(words[i % words.count]) \(words[(i * 3 + 1) % words.count]) story \(i * 7919)",
        link: "https://wp.example.lt/story-\(i)/",
        published: t0.addingTimeInterval(Double(-86400 * (i + 1))),
        summary: .text("Lead \(i) \(i * 104729)"))
    }
  }

  func makeStore() async throws -> (SQLiteFeedStore, URL) {
    let dir = try TestSupport.makeTempDirectory("republish")
    let store = try SQLiteFeedStore(path: dir.appendingPathComponent("store.sqlite").path)
    try await store.syncSources([
      SourceDefinition(
        id: "wp", url: "https://wp.example.lt/feed/", title: "WP klasteris", categories: ["ict"],
        language: "lt"),
      SourceDefinition(
        id: "planet", url: "https://planet.example.eu/atom.xml", title: "Planet",
        categories: ["energy"], language: "en"),
    ])
    var wp = Self.wpHead
    wp.entries = [Self.episode] + Self.fillers(6)
    try await store.record(
      FetchOutcome(
        sourceID: "wp", result: .fetched, attemptedAt: Self.t0, httpStatus: 200,
        nextDue: Self.t0),
      feed: wp)
    var planet = Self.planetHead
    planet.entries = [Self.planetEntry, Self.rssSourced]
    try await store.record(
      FetchOutcome(
        sourceID: "planet", result: .fetched, attemptedAt: Self.t0, httpStatus: 200,
        nextDue: Self.t0),
      feed: planet)
    return (store, dir)
  }

  func body(_ publisher: Publisher, _ path: String) async throws -> [UInt8] {
    let doc = try await publisher.document(path: path, query: [:])
    return try XCTUnwrap(doc, path).body
  }

  func entry(_ id: String) -> String { "/a:feed/a:entry[a:id='\(id)']" }

  // MARK: Atom

  func testEveryAtomDocumentValidatesWithTheNewElements() async throws {
    let (store, dir) = try await makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let publisher = Publisher(store: store, options: Sample.options(perPage: 2))
    let rng = TestSupport.fixture("PublisherTests", "atom.rng").path
    var checked = 0
    for path in [
      "/feed.atom", "/sources/wp.atom", "/sources/planet.atom", "/categories/energy.atom",
      "/languages/en.atom", "/archive/feed/1.atom", "/archive/sources/wp/1.atom",
    ] {
      let bytes = try await body(publisher, path)
      let (status, err) = try Sample.xmllint(["--noout", "--relaxng", rng], bytes)
      XCTAssertEqual(status, 0, "\(path) does not validate: \(err)")
      let x = try XPathDocument(bytes)
      XCTAssertEqual(x.count("//a:entry[count(a:source) != 1]"), 0, "\(path): one atom:source")
      checked += x.count("//a:entry")
    }
    XCTAssertGreaterThan(checked, 9)
    // The archive page's entries (from the stored head) validate too, and say where they came
    // from with the story's own date (an archive page must not change on a mere re-fetch).
    let archive = try XPathDocument(try await body(publisher, "/archive/feed/1.atom"))
    XCTAssertEqual(archive.count("/a:feed/fh:archive"), 1)
    XCTAssertEqual(
      archive.string("/a:feed/a:entry[1]/a:source/a:title"), "Klasterio naujienos")
    XCTAssertEqual(
      archive.string("/a:feed/a:entry[1]/a:source/a:updated"),
      archive.string("/a:feed/a:entry[1]/a:updated"))
    try await store.close()
  }

  /// Archive pages (RFC 5005) are rendered from the same store rows: once newer stories push
  /// the episode onto a sealed page, that page carries every new field and still validates.
  func testAnArchivePageWithEveryNewFieldValidates() async throws {
    let (store, dir) = try await makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    var wp = Self.wpHead
    wp.entries =
      (1...3).map { i in
        Entry(
          id: "https://wp.example.lt/?p=\(200 + i)", title: "Newer story \(i)",
          link: "https://wp.example.lt/newer-\(i)/",
          published: Self.t0.addingTimeInterval(Double(3600 * i)), summary: .text("Newer \(i)"))
      } + [Self.episode] + Self.fillers(6)
    try await store.record(
      FetchOutcome(
        sourceID: "wp", result: .fetched, attemptedAt: Self.t0.addingTimeInterval(7200),
        httpStatus: 200, nextDue: Self.t0.addingTimeInterval(9000)),
      feed: wp)
    let publisher = Publisher(store: store, options: Sample.options(perPage: 2))
    let rng = TestSupport.fixture("PublisherTests", "atom.rng").path
    let e = entry("https://wp.example.lt/?p=101")
    var archivedWithEveryField = 0
    for scope in ["feed", "sources/wp"] {
      for n in 1...20 {
        guard
          let doc = try await publisher.document(path: "/archive/\(scope)/\(n).atom", query: [:])
        else { break }
        let (status, err) = try Sample.xmllint(["--noout", "--relaxng", rng], doc.body)
        XCTAssertEqual(status, 0, "\(scope) archive \(n) does not validate: \(err)")
        let x = try XPathDocument(doc.body)
        XCTAssertEqual(x.count("/a:feed/fh:archive"), 1)
        guard x.count(e) == 1 else { continue }
        XCTAssertEqual(x.count("\(e)/media:thumbnail"), 2)
        XCTAssertEqual(x.string("\(e)/georss:point"), "54.6872 25.2797")
        XCTAssertEqual(x.string("\(e)/a:summary/@xml:lang"), "en")
        XCTAssertEqual(x.count("\(e)/a:link[@rel='license']"), 1)
        XCTAssertEqual(x.strings("\(e)/a:link[@rel='enclosure']/@length"), ["12345678", "45678"])
        XCTAssertEqual(x.string("\(e)/a:source/a:subtitle"), "Naujienos ir podkastai")
        // On an archive page atom:source's updated is the story's own.
        XCTAssertEqual(x.string("\(e)/a:source/a:updated"), x.string("\(e)/a:updated"))
        archivedWithEveryField += 1
      }
    }
    XCTAssertEqual(archivedWithEveryField, 2, "the episode is on one sealed page of each scope")
    try await store.close()
  }

  func testTheEntryKeepsItsOwnFields() async throws {
    let (store, dir) = try await makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let publisher = Publisher(store: store, options: Sample.options(perPage: 2))
    let bytes = try await body(publisher, "/feed.atom")
    let x = try XPathDocument(bytes)
    XCTAssertEqual(x.count("/a:feed/namespace::*[. = 'http://search.yahoo.com/mrss/']"), 1)
    XCTAssertEqual(x.count("/a:feed/namespace::*[. = 'http://www.georss.org/georss']"), 1)
    let e = entry("https://wp.example.lt/?p=101")
    XCTAssertEqual(x.count(e), 1)
    // The alternate keeps its hreflang; a translation is kept as a second alternate.
    XCTAssertEqual(
      x.strings("\(e)/a:link[@rel='alternate']/@href"),
      ["https://wp.example.lt/podkastas-12/", "https://wp.example.lt/en/podcast-12/"])
    XCTAssertEqual(x.strings("\(e)/a:link[@rel='alternate']/@hreflang"), ["lt", "en"])
    XCTAssertEqual(x.string("\(e)/a:link[@hreflang='en']/@title"), "In English")
    XCTAssertEqual(x.string("\(e)/a:rights"), "CC BY-SA 4.0 Klasteris")
    XCTAssertEqual(x.string("\(e)/a:rights/@type"), "text")
    XCTAssertEqual(
      x.strings("\(e)/a:link[@rel='license']/@href"),
      ["https://creativecommons.org/licenses/by-sa/4.0/"])
    XCTAssertEqual(
      x.strings("\(e)/a:link[@rel='replies']/@href"),
      ["https://wp.example.lt/podkastas-12/#comments"])
    XCTAssertEqual(
      x.strings("\(e)/a:link[@rel='enclosure']/@href"),
      ["https://media.example.lt/ep12.mp3", "https://wp.example.lt/cover-12.jpg"])
    XCTAssertEqual(x.strings("\(e)/a:link[@rel='enclosure']/@length"), ["12345678", "45678"])
    XCTAssertEqual(x.strings("\(e)/a:link[@rel='enclosure']/@type"), ["audio/mpeg", "image/jpeg"])
    // Contributors known only by an email or a uri keep it, named by it.
    XCTAssertEqual(
      x.strings("\(e)/a:contributor/a:name"),
      ["editor@wp.example.lt", "https://wp.example.lt/author/ona/"])
    XCTAssertEqual(x.strings("\(e)/a:contributor/a:email"), ["editor@wp.example.lt"])
    XCTAssertEqual(x.strings("\(e)/a:contributor/a:uri"), ["https://wp.example.lt/author/ona/"])
    XCTAssertEqual(x.string("\(e)/a:category[@term='ai']/@scheme"), "https://wp.example.lt/tag/")
    XCTAssertEqual(x.string("\(e)/a:category[@term='ai']/@label"), "Dirbtinis intelektas")
    XCTAssertEqual(
      x.strings("\(e)/media:thumbnail/@url"),
      ["https://wp.example.lt/thumb-150.jpg", "https://wp.example.lt/banner-12.jpg"])
    XCTAssertEqual(x.strings("\(e)/media:thumbnail/@width"), ["150", "1200"])
    // Per-element language: English title and summary in a Lithuanian entry, and only there.
    XCTAssertEqual(x.string("\(e)/@xml:lang"), "lt")
    XCTAssertEqual(x.string("\(e)/a:title/@xml:lang"), "en")
    XCTAssertEqual(x.string("\(e)/a:summary/@xml:lang"), "en")
    XCTAssertEqual(x.count("\(e)/a:content/@xml:lang"), 0)
    XCTAssertEqual(x.string("\(e)/georss:point"), "54.6872 25.2797")
    XCTAssertEqual(x.string("\(e)/georss:featurename"), "Vilnius")
    XCTAssertEqual(x.string("\(e)/a:published"), "2026-09-21T14:13:20Z")
    XCTAssertEqual(x.count("\(e)/a:link[@rel='via']"), 0, "its source is the fetched feed")
  }

  func testAtomSourceIsBuiltFromTheStoredFeedHead() async throws {
    let (store, dir) = try await makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let publisher = Publisher(store: store, options: Sample.options(perPage: 2))
    let x = try XPathDocument(try await body(publisher, "/feed.atom"))
    let s = entry("https://wp.example.lt/?p=101") + "/a:source"
    XCTAssertEqual(x.count(s), 1)
    XCTAssertEqual(x.string("\(s)/a:id"), "https://wp.example.lt/feed/")
    XCTAssertEqual(x.string("\(s)/a:title"), "Klasterio naujienos")
    XCTAssertEqual(x.string("\(s)/a:subtitle"), "Naujienos ir podkastai")
    XCTAssertEqual(x.string("\(s)/a:updated"), "2026-09-21T14:13:20Z")
    XCTAssertEqual(x.strings("\(s)/a:link[@rel='self']/@href"), ["https://wp.example.lt/feed/"])
    XCTAssertEqual(x.strings("\(s)/a:link[@rel='alternate']/@href"), ["https://wp.example.lt/"])
    XCTAssertEqual(
      x.strings("\(s)/a:link[@rel='license']/@href"),
      ["https://creativecommons.org/licenses/by/4.0/"])
    XCTAssertEqual(x.count("\(s)/a:link[@rel='hub' or @rel='next']"), 0, "not the source's paging")
    XCTAssertEqual(x.strings("\(s)/a:author/a:name"), ["Redakcija"])
    XCTAssertEqual(x.strings("\(s)/a:author/a:email"), ["info@wp.example.lt"])
    XCTAssertEqual(x.strings("\(s)/a:contributor/a:name"), ["Petras"])
    XCTAssertEqual(x.string("\(s)/a:category/@term"), "Technology")
    XCTAssertEqual(x.string("\(s)/a:category/@label"), "Tech")
    XCTAssertEqual(
      x.string("\(s)/a:icon"), "https://wp.example.lt/wp-content/uploads/cropped-icon-32x32.png")
    XCTAssertEqual(x.string("\(s)/a:logo"), "https://wp.example.lt/wp-content/uploads/logo.png")
    XCTAssertEqual(x.string("\(s)/a:rights"), "© 2026 Klasteris")
    XCTAssertEqual(x.string("\(s)/a:generator"), "https://wordpress.org/?v=6.5.2")
  }

  func testAnEntrysOwnAtomSourceIsKept() async throws {
    let (store, dir) = try await makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let publisher = Publisher(store: store, options: Sample.options(perPage: 2))
    let x = try XPathDocument(try await body(publisher, "/feed.atom"))
    let e = entry("tag:blog.example.eu,2026:post-7")
    let s = e + "/a:source"
    XCTAssertEqual(x.count(s), 1)
    XCTAssertEqual(x.string("\(s)/a:id"), "tag:blog.example.eu,2026:feed")
    XCTAssertEqual(x.string("\(s)/a:title"), "Energy Blog")
    XCTAssertEqual(x.string("\(s)/a:subtitle"), "Notes on energy clusters")
    XCTAssertEqual(x.string("\(s)/a:updated"), "2026-09-21T13:13:20Z")
    XCTAssertEqual(
      x.strings("\(s)/a:link[@rel='self']/@href"), ["https://blog.example.eu/feed.atom"])
    XCTAssertEqual(x.strings("\(s)/a:link[@rel='alternate']/@href"), ["https://blog.example.eu/"])
    XCTAssertEqual(x.count("\(s)/a:link[@rel='license']"), 1)
    XCTAssertEqual(x.count("\(s)/a:link[@rel='hub']"), 0)
    XCTAssertEqual(x.strings("\(s)/a:author/a:email"), ["anna@blog.example.eu"])
    XCTAssertEqual(x.strings("\(s)/a:contributor/a:uri"), ["https://blog.example.eu/bob"])
    XCTAssertEqual(x.string("\(s)/a:category/@label"), "Energy")
    XCTAssertEqual(x.string("\(s)/a:logo"), "https://blog.example.eu/logo.png")
    XCTAssertEqual(x.string("\(s)/a:icon"), "https://blog.example.eu/favicon.ico")
    XCTAssertEqual(x.string("\(s)/a:generator"), "Hugo")
    XCTAssertEqual(x.string("\(s)/a:rights"), "© Energy Blog")
    XCTAssertFalse(x.strings("\(s)//text()").contains("Planet Energy"))
    // The feed clusterwire read it from stays named.
    XCTAssertEqual(
      x.strings("\(e)/a:link[@rel='via']/@href"), ["https://planet.example.eu/atom.xml"])
    // An RSS `<source url>` becomes an atom:source with its self link.
    let r = entry("tag:planet.example.eu,2026:old-3") + "/a:source"
    XCTAssertEqual(x.string("\(r)/a:title"), "Senas CMS")
    XCTAssertEqual(
      x.strings("\(r)/a:link[@rel='self']/@href"), ["https://oldcms.example.lt/rss.xml"])
    XCTAssertEqual(x.count("\(r)/a:id"), 0, "no id is invented for it")
  }

  /// What the project's parser reads today comes back; the rest is asserted with XPath above
  /// (thumbnails, GeoRSS, per-element xml:lang, entry rights, source subtitle/links/authors/
  /// contributors/categories/logo/generator) until the parser reads it.
  func testAtomParsesBackWithTheProjectsParser() async throws {
    let (store, dir) = try await makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    LibXML.bootstrap()
    let publisher = Publisher(store: store, options: Sample.options(perPage: 2))
    let parsed = try FeedParser.parse(
      Data(try await body(publisher, "/feed.atom")), contentType: "application/atom+xml",
      baseURL: nil)
    XCTAssertFalse(parsed.malformed, "\(parsed.diagnostics)")
    let byID = Dictionary(
      parsed.feed.entries.map { ($0.id ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    let e = try XCTUnwrap(byID["https://wp.example.lt/?p=101"])
    XCTAssertEqual(e.authors.map(\.name), ["Jonas"])
    XCTAssertEqual(e.authors.first?.email, "jonas@wp.example.lt")
    XCTAssertEqual(e.contributors.map(\.email), ["editor@wp.example.lt", nil])
    XCTAssertEqual(e.contributors.map(\.uri), [nil, "https://wp.example.lt/author/ona/"])
    XCTAssertTrue(
      e.categories.contains(
        Category(term: "ai", scheme: "https://wp.example.lt/tag/", label: "Dirbtinis intelektas")),
      "\(e.categories)")
    XCTAssertEqual(
      e.enclosures.map { [$0.url, $0.type ?? "", String($0.length ?? -1)] },
      [
        ["https://media.example.lt/ep12.mp3", "audio/mpeg", "12345678"],
        ["https://wp.example.lt/cover-12.jpg", "image/jpeg", "45678"],
      ])
    XCTAssertTrue(
      e.links.contains { $0.rel == "license" && $0.href.hasSuffix("/by-sa/4.0/") }, "\(e.links)")
    XCTAssertEqual(e.source?.title, "Klasterio naujienos")
    XCTAssertEqual(e.source?.id, "https://wp.example.lt/feed/")
    XCTAssertEqual(e.source?.link, "https://wp.example.lt/")
    XCTAssertEqual(e.source?.rights, "© 2026 Klasteris")
    XCTAssertEqual(e.source?.updated, Self.t0)
    let p = try XCTUnwrap(byID["tag:blog.example.eu,2026:post-7"])
    XCTAssertEqual(p.source?.id, "tag:blog.example.eu,2026:feed")
    XCTAssertEqual(p.source?.title, "Energy Blog")
    XCTAssertEqual(p.source?.link, "https://blog.example.eu/")
    XCTAssertEqual(p.source?.icon, "https://blog.example.eu/favicon.ico")
    XCTAssertEqual(p.source?.rights, "© Energy Blog")
    XCTAssertEqual(p.source?.updated, Self.t0.addingTimeInterval(-3600))
    XCTAssertTrue(p.links.contains { $0.rel == "via" && $0.href.hasPrefix("https://planet.") })
    try await store.close()
  }

  // MARK: RSS 2.0

  func testRSSCarriesTheEquivalentsAndKeepsTheValidatorsRules() async throws {
    let (store, dir) = try await makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let publisher = Publisher(store: store, options: Sample.options(perPage: 50))
    for path in ["/feed.rss", "/sources/wp.rss", "/categories/energy.rss"] {
      let bytes = try await body(publisher, path)
      let (status, err) = try Sample.xmllint(["--noout"], bytes)
      XCTAssertEqual(status, 0, "\(path) is not well-formed: \(err)")
      let x = try XPathDocument(bytes)
      for required in ["title", "link", "description"] {
        XCTAssertFalse(x.string("/rss/channel/\(required)").isEmpty, "\(path): \(required)")
      }
      XCTAssertEqual(x.string("/rss/@version"), "2.0")
      // Every prefix is declared (an undeclared one leaves its element without a namespace).
      XCTAssertEqual(x.count("//*[contains(name(), ':') and namespace-uri() = '']"), 0, path)
      XCTAssertEqual(x.count("//item[count(enclosure) > 1]"), 0, "\(path): one enclosure per item")
      XCTAssertEqual(x.count("//item[not(title) and not(description)]"), 0, path)
      for enclosure in x.strings("//enclosure/@length") {
        XCTAssertNotNil(Int64(enclosure), "\(path): enclosure length \(enclosure)")
      }
      XCTAssertEqual(x.count("//enclosure[not(@url) or not(@type) or not(@length)]"), 0, path)
      let rfc822 = DateFormatter()
      rfc822.locale = Locale(identifier: "en_US_POSIX")
      rfc822.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
      for date in x.strings("//pubDate | //lastBuildDate") {
        XCTAssertNotNil(rfc822.date(from: date), "\(path): \(date) is not RFC 822")
      }
      XCTAssertEqual(x.count("//item[count(source) > 1]"), 0, path)
    }
    let x = try XPathDocument(try await body(publisher, "/feed.rss"))
    let e = "/rss/channel/item[guid='https://wp.example.lt/?p=101']"
    XCTAssertEqual(x.count(e), 1)
    XCTAssertEqual(x.strings("\(e)/enclosure/@url"), ["https://media.example.lt/ep12.mp3"])
    XCTAssertEqual(x.strings("\(e)/enclosure/@length"), ["12345678"])
    // The second enclosure, and the first (it has a duration), as media:content.
    XCTAssertEqual(
      x.strings("\(e)/media:content/@url"),
      ["https://media.example.lt/ep12.mp3", "https://wp.example.lt/cover-12.jpg"])
    XCTAssertEqual(x.strings("\(e)/media:content/@duration"), ["1830"])
    XCTAssertEqual(x.strings("\(e)/media:content/@fileSize"), ["12345678", "45678"])
    XCTAssertEqual(x.strings("\(e)/media:content/@medium"), ["audio", "image"])
    XCTAssertEqual(x.count("\(e)/media:thumbnail"), 2)
    XCTAssertEqual(x.string("\(e)/dc:rights"), "CC BY-SA 4.0 Klasteris")
    XCTAssertEqual(
      x.strings("\(e)/cc:license"), ["https://creativecommons.org/licenses/by-sa/4.0/"])
    XCTAssertEqual(x.string("\(e)/comments"), "https://wp.example.lt/podkastas-12/#comments")
    XCTAssertEqual(
      x.strings("\(e)/dc:contributor"),
      ["editor@wp.example.lt", "https://wp.example.lt/author/ona/"])
    XCTAssertEqual(x.strings("\(e)/category[@domain='https://wp.example.lt/tag/']"), ["ai"])
    XCTAssertEqual(x.string("\(e)/georss:point"), "54.6872 25.2797")
    XCTAssertEqual(x.count("\(e)/dc:language"), 0, "the channel's language")
    XCTAssertEqual(x.string("\(e)/source/@url"), "https://wp.example.lt/feed/")
    let p = "/rss/channel/item[guid='tag:blog.example.eu,2026:post-7']"
    XCTAssertEqual(x.string("\(p)/dc:language"), "en")
    XCTAssertEqual(x.string("\(p)/source"), "Energy Blog")
    XCTAssertEqual(x.string("\(p)/source/@url"), "https://blog.example.eu/feed.atom")
    XCTAssertEqual(
      x.strings("\(p)/a:link[@rel='via']/@href"), ["https://planet.example.eu/atom.xml"])
    try await store.close()
  }

  // MARK: JSON Feed 1.1

  func testJSONFeedCarriesTheEquivalentsAndKeepsTheSpecsRules() async throws {
    let (store, dir) = try await makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let publisher = Publisher(store: store, options: Sample.options(perPage: 50))
    let json = try await body(publisher, "/feed.json")
    let object = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    XCTAssertEqual(object["version"] as? String, "https://jsonfeed.org/version/1.1")
    XCTAssertNotNil(object["title"] as? String)
    let items = try XCTUnwrap(object["items"] as? [[String: Any]])
    XCTAssertEqual(items.count, 9)
    let iso = ISO8601DateFormatter()
    for item in items {
      let id = try XCTUnwrap(item["id"] as? String)
      XCTAssertTrue(
        item["content_html"] is String || item["content_text"] is String, "\(id): content")
      for key in ["date_published", "date_modified"] {
        if let d = item[key] { XCTAssertNotNil(iso.date(from: d as? String ?? ""), "\(id) \(key)") }
      }
      for author in item["authors"] as? [[String: Any]] ?? [] {
        XCTAssertTrue(
          author["name"] is String || author["url"] is String || author["avatar"] is String)
      }
      for a in item["attachments"] as? [[String: Any]] ?? [] {
        XCTAssertNotNil(a["url"] as? String, id)
        XCTAssertNotNil(a["mime_type"] as? String, id)
        if let size = a["size_in_bytes"] { XCTAssertTrue(size is Int, "\(id): \(size)") }
        if let d = a["duration_in_seconds"] { XCTAssertTrue(d is NSNumber, "\(id): \(d)") }
      }
      for key in ["image", "banner_image", "url", "external_url"] {
        if let v = item[key] { XCTAssertTrue((v as? String)?.hasPrefix("https://") ?? false) }
      }
      // Extensions are objects under a key starting with an underscore.
      for key in item.keys where !Self.jsonItemKeys.contains(key) {
        XCTAssertTrue(key.hasPrefix("_"), "\(id): unknown key \(key)")
      }
    }
    let e = try XCTUnwrap(items.first { $0["id"] as? String == "https://wp.example.lt/?p=101" })
    XCTAssertEqual(e["image"] as? String, "https://wp.example.lt/thumb-150.jpg")
    XCTAssertEqual(e["banner_image"] as? String, "https://wp.example.lt/banner-12.jpg")
    XCTAssertEqual(e["language"] as? String, "lt")
    XCTAssertTrue((e["tags"] as? [String] ?? []).contains("ai"))
    let attachments = try XCTUnwrap(e["attachments"] as? [[String: Any]])
    XCTAssertEqual(attachments.map { $0["mime_type"] as? String }, ["audio/mpeg", "image/jpeg"])
    XCTAssertEqual(attachments.map { $0["size_in_bytes"] as? Int }, [12_345_678, 45_678])
    XCTAssertEqual(attachments.first?["duration_in_seconds"] as? Int, 1830)
    let ext = try XCTUnwrap(e["_clusterwire"] as? [String: Any])
    XCTAssertEqual(ext["rights"] as? String, "CC BY-SA 4.0 Klasteris")
    XCTAssertEqual(
      ext["licenses"] as? [String], ["https://creativecommons.org/licenses/by-sa/4.0/"])
    XCTAssertEqual((ext["source"] as? [String: Any])?["id"] as? String, "wp")
    XCTAssertNil(ext["original_source"])
    let p = try XCTUnwrap(
      items.first { $0["id"] as? String == "tag:blog.example.eu,2026:post-7" })
    let original = try XCTUnwrap(
      (p["_clusterwire"] as? [String: Any])?["original_source"] as? [String: Any])
    XCTAssertEqual(original["id"] as? String, "tag:blog.example.eu,2026:feed")
    XCTAssertEqual(original["title"] as? String, "Energy Blog")
    XCTAssertEqual(original["feed_url"] as? String, "https://blog.example.eu/feed.atom")
    XCTAssertEqual(original["home_page_url"] as? String, "https://blog.example.eu/")
    XCTAssertEqual(p["language"] as? String, "en")
    try await store.close()
  }

  /// JSON Feed 1.1's item fields.
  static let jsonItemKeys: Set<String> = [
    "id", "url", "external_url", "title", "content_html", "content_text", "summary", "image",
    "banner_image", "date_published", "date_modified", "authors", "author", "tags", "language",
    "attachments",
  ]
}
