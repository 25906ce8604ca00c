import Config
import FeedModel
import FeedParser
import TestSupport
import XCTest

@testable import Discovery

/// Feed discovery's rules (link preference, well-known places, feed-vs-page) and its
/// orchestration against scripted sites. The site fixtures are the integration tests' ones
/// (Tests/IntegrationTests/Fixtures/discover/), served here from memory.
final class FeedFinderTests: XCTestCase {
  static let origin = "https://klasteris.example"

  /// A fixture file with `{{origin}}` filled in.
  func fixture(_ site: String, _ name: String, origin: String = FeedFinderTests.origin) throws
    -> Data
  {
    let url = TestSupport.fixture("IntegrationTests", "discover/\(site)/\(name)")
    let text = try String(contentsOf: url, encoding: .utf8)
    return Data(text.replacingOccurrences(of: "{{origin}}", with: origin).utf8)
  }

  func page(_ html: String) -> Data {
    Data("<!DOCTYPE html><html><head>\(html)</head><body><p>x</p></body></html>".utf8)
  }

  // MARK: - Links

  func testWordPressLinksPreferAtomThenRSSAndCommentsLast() throws {
    let facts = FeedFinder.readPage(
      try fixture("wordpress", "index.html"), contentType: "text/html; charset=UTF-8",
      pageURL: URL(string: Self.origin + "/")!)
    XCTAssertEqual(
      facts.feedLinks.map(\.url.absoluteString),
      [
        Self.origin + "/feed/atom/",  // relative href, resolved
        Self.origin + "/feed/",
        Self.origin + "/wp-json/wp/v2/pages/2",  // application/json: verified (and refused) later
        Self.origin + "/comments/feed/",
      ])
    XCTAssertEqual(facts.feedLinks.map(\.format), [.atom, .rss, .json, .rss])
    XCTAssertEqual(facts.feedLinks.map(\.isComments), [false, false, false, true])
    // oEmbed's application/json+oembed is not a feed type.
    XCTAssertFalse(facts.feedLinks.contains { $0.url.absoluteString.contains("oembed") })
    XCTAssertEqual(facts.siteName, "Saulės energetikos klasteris")
    XCTAssertEqual(facts.newsLinks, [URL(string: Self.origin + "/naujienos/")!])
    // The footer's "RSS" link is a feed-like anchor, already known as a <link>: not repeated.
    XCTAssertTrue(facts.anchorFeeds.isEmpty, "\(facts.anchorFeeds)")
  }

  func testNewsFeedBeatsCommentsFeedWhateverTheOrderAndFormat() {
    let html = page(
      """
      <link rel="alternate" type="application/atom+xml" title="Komentarai" href="/komentarai.atom">
      <link rel="alternate" type="application/rss+xml" title="Visi įrašai" href="/visi.xml">
      <link rel="alternate" type="application/rss+xml" title="Naujienos" href="/naujienos.xml">
      <link rel="Alternate Feed" type="application/feed+json" href="/feed.json">
      <link rel="alternate" type="text/html" hreflang="en" href="/en/">
      <link rel="alternate" hreflang="lt" href="/lt/">
      <link rel="alternate" href="/naujienos/rss.xml">
      <link rel="alternate" type="application/rss+xml" href="feed://a.lt/senas.rss">
      <link rel="stylesheet" type="text/css" href="/style.css">
      """)
    let facts = FeedFinder.readPage(html, contentType: nil, pageURL: URL(string: "https://a.lt/x")!)
    XCTAssertEqual(
      facts.feedLinks.map(\.url.absoluteString),
      [
        "https://a.lt/naujienos.xml", "https://a.lt/visi.xml", "http://a.lt/senas.rss",
        "https://a.lt/feed.json",
        // Untyped, but its URL looks like a feed.
        "https://a.lt/naujienos/rss.xml",
        "https://a.lt/komentarai.atom",
      ])
  }

  func testBaseHrefResolvesRelativeLinks() {
    let html = page(
      """
      <base href="https://cdn.a.lt/lt/">
      <link rel="alternate" type="application/rss+xml" href="rss.xml">
      <link rel="alternate" type="application/atom+xml" href="../atom.xml">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
      """)
    let facts = FeedFinder.readPage(
      html, contentType: nil, pageURL: URL(string: "https://a.lt/naujienos/")!)
    XCTAssertEqual(facts.baseURL.absoluteString, "https://cdn.a.lt/lt/")
    XCTAssertEqual(
      facts.feedLinks.map(\.url.absoluteString),
      ["https://cdn.a.lt/atom.xml", "https://cdn.a.lt/lt/rss.xml"])
  }

  func testUndeclaredWindows1257PageIsDecodedAsTheScraperDecodesIt() {
    // "Šilutės verslo klasteris – Naujienos" in windows-1257 (Š D0, ė EB, – 96), no charset.
    var bytes = Array("<html lang=\"lt\"><head><title>".utf8)
    bytes += [0xD0] + Array("ilut".utf8) + [0xEB] + Array("s verslo klasteris ".utf8)
    bytes += [0x96] + Array(" Naujienos".utf8)  // windows-1257's en dash
    bytes += Array(
      "</title><link rel=\"alternate\" type=\"application/rss+xml\" href=\"/rss\"></head></html>"
        .utf8)
    let facts = FeedFinder.readPage(
      Data(bytes), contentType: "text/html", pageURL: URL(string: "https://silute.example/")!)
    XCTAssertEqual(
      facts.title?.hasPrefix("Šilutės verslo klasteris"), true, "\(facts.title ?? "-")")
    XCTAssertEqual(facts.feedLinks.map(\.url.absoluteString), ["https://silute.example/rss"])
    XCTAssertEqual(
      FeedFinder.siteName(facts: facts, pageURL: URL(string: "https://silute.example/")!),
      "Šilutės verslo klasteris")
  }

  func testFeedLikeAnchorsAreTheLastResort() {
    let html = Data(
      """
      <html><body><nav><a href="/">Pradžia</a> <a href="/Naujienos/">Naujienos</a></nav>
      <footer><a href="/feed/">RSS</a> <a href="/comments/feed/">Komentarai</a>
      <a href="/index.php?format=feed&amp;type=rss">Joomla RSS</a>
      <a href="/kontaktai/">Kontaktai</a> <a href="https://kitas.lt/news/">News</a></footer></body></html>
      """.utf8)
    let facts = FeedFinder.readPage(html, contentType: nil, pageURL: URL(string: "https://a.lt/")!)
    XCTAssertTrue(facts.feedLinks.isEmpty)
    XCTAssertEqual(
      facts.anchorFeeds.map(\.url.absoluteString),
      ["https://a.lt/feed/", "https://a.lt/index.php?format=feed&type=rss"])
    // Only same-site news links.
    XCTAssertEqual(facts.newsLinks.map(\.absoluteString), ["https://a.lt/Naujienos/"])
  }

  // MARK: - Well-known places

  func testWellKnownPlacesAtTheDirectoryThenTheRoot() {
    XCTAssertEqual(
      FeedFinder.wellKnownURLs(for: URL(string: "https://a.lt/")!).map(\.absoluteString),
      [
        "https://a.lt/feed/", "https://a.lt/rss.xml", "https://a.lt/atom.xml",
        "https://a.lt/feed.xml", "https://a.lt/index.xml", "https://a.lt/rss/",
        "https://a.lt/?feed=rss2", "https://a.lt/?format=feed&type=rss",
      ])
    let deeper = FeedFinder.wellKnownURLs(
      for: URL(string: "https://a.lt/lt/naujienos?page=2#top")!
    ).map(\.absoluteString)
    XCTAssertEqual(
      deeper,
      [
        "https://a.lt/lt/feed/", "https://a.lt/lt/rss.xml", "https://a.lt/lt/atom.xml",
        "https://a.lt/lt/feed.xml", "https://a.lt/lt/index.xml", "https://a.lt/lt/rss/",
        "https://a.lt/lt/?feed=rss2", "https://a.lt/lt/?format=feed&type=rss",
        // Joomla's feed of the page itself (its query replaced).
        "https://a.lt/lt/naujienos?format=feed&type=rss",
        "https://a.lt/feed/", "https://a.lt/rss.xml", "https://a.lt/atom.xml",
        "https://a.lt/feed.xml", "https://a.lt/index.xml", "https://a.lt/rss/",
        "https://a.lt/?feed=rss2", "https://a.lt/?format=feed&type=rss",
      ])
    XCTAssertTrue(FeedFinder.isRoot(URL(string: "https://a.lt")!))
    XCTAssertFalse(FeedFinder.isRoot(URL(string: "https://a.lt/?p=1")!))
  }

  // MARK: - Feed or page

  func testClassifiesFeedsAndPages() throws {
    let url = URL(string: Self.origin + "/feed/")!
    guard
      case .success(let rss) = FeedFinder.classify(
        try fixture("wordpress", "feed.xml"), contentType: "application/rss+xml", url: url)
    else { return XCTFail("the RSS fixture is a feed") }
    XCTAssertEqual(rss.format, .rss20)
    XCTAssertEqual(rss.feed.entries.count, 3)
    guard
      case .success(let atom) = FeedFinder.classify(
        try fixture("wordpress", "atom.xml"), contentType: nil, url: url)
    else { return XCTFail("the Atom fixture is a feed") }
    XCTAssertEqual(atom.format, .atom10)
    let json = Data(
      #"{"version":"https://jsonfeed.org/version/1.1","title":"N","items":[{"id":"1","url":"https://a.lt/1","title":"Vienas"}]}"#
        .utf8)
    guard
      case .success(let jf) = FeedFinder.classify(
        json, contentType: "application/feed+json", url: url)
    else { return XCTFail("a JSON Feed is a feed") }
    XCTAssertEqual(jf.format, .jsonfeed)

    // A soft 404 (an HTML page answering 200 at /feed/), WordPress's REST JSON, and an empty body.
    for (body, type) in [
      (try fixture("drupal", "notfound.html"), "text/html; charset=utf-8"),
      (
        Data(#"{"id":2,"link":"https://a.lt/","title":{"rendered":"Pradžia"}}"#.utf8),
        "application/json"
      ),
      (Data(), "application/rss+xml"),
    ] {
      guard case .failure = FeedFinder.classify(body, contentType: type, url: url) else {
        return XCTFail("not a feed: \(String(decoding: body.prefix(60), as: UTF8.self))")
      }
    }
  }

  func testSiteNames() {
    let root = URL(string: "https://www.medis.lt/")!
    let deeper = URL(string: "https://www.medis.lt/apie/komanda/")!
    func facts(title: String?, siteName: String? = nil) -> PageFacts {
      PageFacts(
        baseURL: root, feedLinks: [], anchorFeeds: [], siteName: siteName, title: title,
        newsLinks: [])
    }
    XCTAssertEqual(
      FeedFinder.siteName(
        facts: facts(title: "Medienos klasteris – Mediena ir baldai"), pageURL: root),
      "Medienos klasteris")
    XCTAssertEqual(
      FeedFinder.siteName(facts: facts(title: "Komanda | Medienos klasteris"), pageURL: deeper),
      "Medienos klasteris")
    XCTAssertEqual(
      FeedFinder.siteName(facts: facts(title: "Pradžia", siteName: "Medis"), pageURL: root), "Medis"
    )
    // A Joomla home page titled only "Pradžia": the host names it.
    XCTAssertEqual(FeedFinder.siteName(facts: facts(title: "Pradžia"), pageURL: root), "medis.lt")
  }

  // MARK: - The orchestrator, against scripted sites

  /// A site from a table of path → (status, content type, body); everything else 404. Records
  /// every request with its origin.
  final class ScriptedSite: @unchecked Sendable {
    let lock = NSLock()
    var pages: [String: (Int, String, Data)] = [:]
    var requests: [DiscoveryRequest] = []

    func serve(_ path: String, _ type: String, _ body: Data, status: Int = 200) {
      pages[FeedFinderTests.origin + path] = (status, type, body)
    }

    var fetch: FeedFinder.Fetch {
      { request in
        self.lock.withLock { self.requests.append(request) }
        guard let (status, type, body) = self.pages[request.url.absoluteString] else {
          return .success(
            FetchedDocument(status: 404, body: nil, contentType: nil, finalURL: request.url))
        }
        return .success(
          FetchedDocument(
            status: status, body: status == 200 ? body : nil, contentType: type,
            finalURL: request.url))
      }
    }

    var requested: [String] { lock.withLock { requests.map(\.url.absoluteString) } }
  }

  func discover(_ path: String, _ site: ScriptedSite) async -> DiscoveryReport {
    await FeedFinder.discover(
      URL(string: Self.origin + path)!, slug: { DropIn.slug($0) }, fetch: site.fetch)
  }

  func testLinkedFeedsAreVerifiedAndTheBestChosen() async throws {
    let site = ScriptedSite()
    site.serve("/", "text/html; charset=UTF-8", try fixture("wordpress", "index.html"))
    site.serve("/feed/", "application/rss+xml", try fixture("wordpress", "feed.xml"))
    site.serve("/feed/atom/", "application/atom+xml", try fixture("wordpress", "atom.xml"))
    site.serve("/comments/feed/", "application/rss+xml", try fixture("wordpress", "comments.xml"))
    let report = await discover("/", site)
    XCTAssertEqual(
      report.candidates.map(\.source.url),
      [Self.origin + "/feed/atom/", Self.origin + "/feed/", Self.origin + "/comments/feed/"])
    let chosen = try XCTUnwrap(report.chosen)
    XCTAssertEqual(chosen.source.kind, .feed)
    XCTAssertEqual(chosen.source.title, "Saulės energetikos klasteris")
    XCTAssertEqual(chosen.source.id, DropIn.slug("Saulės energetikos klasteris"))
    XCTAssertTrue(report.reasons.isEmpty)
    XCTAssertTrue(
      report.steps.contains("\(Self.origin)/ links an Atom feed: \(Self.origin)/feed/atom/"),
      "\(report.steps)")
    XCTAssertTrue(
      report.steps.contains("GET \(Self.origin)/wp-json/wp/v2/pages/2 → HTTP 404"),
      "\(report.steps)")
    // A linked feed was found: no well-known place is guessed at.
    XCTAssertFalse(site.requested.contains(Self.origin + "/rss.xml"))
    // Only the admin's URL is fetched without an origin; the links are guarded from the page.
    let requests = site.lock.withLock { site.requests }
    XCTAssertEqual(requests.first?.origin, nil)
    XCTAssertTrue(requests.dropFirst().allSatisfy { $0.origin == URL(string: Self.origin + "/") })
  }

  func testTheURLItselfIsAFeed() async throws {
    let site = ScriptedSite()
    site.serve("/rss.xml", "application/rss+xml", try fixture("drupal", "rss.xml"))
    let report = await discover("/rss.xml", site)
    XCTAssertEqual(report.chosen?.source.url, Self.origin + "/rss.xml")
    XCTAssertEqual(report.chosen?.how, "the URL is a feed")
    XCTAssertEqual(report.chosen?.source.title, "Baltic Food Cluster")
    XCTAssertEqual(site.requested, [Self.origin + "/rss.xml"])
  }

  func testFeedOnlyAtAWellKnownPlacePastASoft404() async throws {
    let site = ScriptedSite()
    site.serve("/", "text/html; charset=utf-8", try fixture("drupal", "index.html"))
    // Drupal answers unknown paths with a 200 "Page not found" page.
    site.serve("/feed/", "text/html; charset=utf-8", try fixture("drupal", "notfound.html"))
    site.serve("/rss.xml", "application/rss+xml; charset=utf-8", try fixture("drupal", "rss.xml"))
    let report = await discover("/", site)
    XCTAssertEqual(report.candidates.map(\.source.url), [Self.origin + "/rss.xml"])
    XCTAssertEqual(report.chosen?.source.id, DropIn.slug("Baltic Food Cluster"))
    XCTAssertEqual(
      site.requested, [Self.origin + "/", Self.origin + "/feed/", Self.origin + "/rss.xml"])
    XCTAssertTrue(
      report.steps.contains {
        $0.hasPrefix("GET \(Self.origin)/feed/ → 200") && $0.contains("not a feed")
      }, "\(report.steps)")
  }

  func testJoomlaQueryFeed() async throws {
    let site = ScriptedSite()
    site.serve("/", "text/html; charset=utf-8", try fixture("joomla", "index.html"))
    site.serve("/?format=feed&type=rss", "application/rss+xml", try fixture("joomla", "rss.xml"))
    let report = await discover("/", site)
    XCTAssertEqual(report.chosen?.source.url, Self.origin + "/?format=feed&type=rss")
  }

  func testDeeperPageFindsTheFeedAtTheRoot() async throws {
    let site = ScriptedSite()
    site.serve("/apie-mus/komanda/", "text/html", try fixture("deeper", "page.html"))
    site.serve("/", "text/html", try fixture("deeper", "home.html"))
    site.serve("/feed/", "application/rss+xml", try fixture("deeper", "feed.xml"))
    let report = await discover("/apie-mus/komanda/", site)
    XCTAssertEqual(report.chosen?.source.url, Self.origin + "/feed/")
    XCTAssertEqual(report.chosen?.source.title, "Medienos klasteris")
    let requested = site.requested
    // The page's own directory first, then the root page, then the root's places.
    let local = try XCTUnwrap(requested.firstIndex(of: Self.origin + "/apie-mus/komanda/feed/"))
    let root = try XCTUnwrap(requested.firstIndex(of: Self.origin + "/"))
    let rootFeed = try XCTUnwrap(requested.firstIndex(of: Self.origin + "/feed/"))
    XCTAssertLessThan(local, root)
    XCTAssertLessThan(root, rootFeed)
    XCTAssertEqual(requested.last, Self.origin + "/feed/")
  }

  func testNoFeedFallsToInferenceOnTheNewsPage() async throws {
    let site = ScriptedSite()
    site.serve("/", "text/html; charset=utf-8", try fixture("listing", "index.html"))
    site.serve("/naujienos/", "text/html; charset=utf-8", try fixture("listing", "naujienos.html"))
    let report = await discover("/", site)
    // Every well-known place was tried, then the home page's "Naujienos" link was read.
    for place in FeedFinder.wellKnownURLs(for: URL(string: Self.origin + "/")!) {
      XCTAssertTrue(site.requested.contains(place.absoluteString), place.absoluteString)
    }
    XCTAssertEqual(site.requested.last, Self.origin + "/naujienos/")
    XCTAssertEqual(site.lock.withLock { site.requests.last?.kind }, .html)
    let chosen = try XCTUnwrap(report.chosen, "\(report.steps) \(report.reasons)")
    XCTAssertEqual(chosen.source.kind, .html)
    XCTAssertEqual(chosen.source.url, Self.origin + "/naujienos/")
    let selectors = try XCTUnwrap(chosen.source.selectors)
    XCTAssertGreaterThanOrEqual(try XCTUnwrap(chosen.confidence), ListingInference.confident)
    let scraped = try HTMLScraper.scrape(
      try fixture("listing", "naujienos.html"), pageURL: URL(string: chosen.source.url)!,
      selectors: selectors)
    XCTAssertEqual(
      scraped.parsed.feed.entries.map(\.link),
      [
        "metalo-forumas-2026", "nauji-nariai", "eksporto-misija-norvegija",
        "mokymai-suvirintojams",
      ].map { Self.origin + "/naujienos/\($0)/" })
  }

  func testNothingUsableGivesReasons() async throws {
    let site = ScriptedSite()
    site.serve("/", "text/html; charset=utf-8", try fixture("contact", "index.html"))
    let report = await discover("/", site)
    XCTAssertNil(report.chosen)
    XCTAssertTrue(report.reasons.contains { $0.hasPrefix("no feed") }, "\(report.reasons)")
    XCTAssertEqual(report.reasons.count, 2, "\(report.reasons)")
  }

  func testUnreachableSiteStopsAtOnce() async {
    let calls = ScriptedSite()
    let fetch: FeedFinder.Fetch = { request in
      calls.lock.withLock { calls.requests.append(request) }
      return .failure(DiscoveryFetchError(message: "could not resolve host nera.example"))
    }
    let report = await FeedFinder.discover(
      URL(string: "https://nera.example/")!, slug: { DropIn.slug($0) }, fetch: fetch)
    XCTAssertNil(report.chosen)
    XCTAssertEqual(calls.requested, ["https://nera.example/"])
    XCTAssertEqual(
      report.reasons,
      ["https://nera.example/ could not be fetched: could not resolve host nera.example"])
  }
}
