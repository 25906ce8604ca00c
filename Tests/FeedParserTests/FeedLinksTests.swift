import FeedModel
import Foundation
import XCTest

@testable import FeedParser

/// Feed-level links with every attribute (WebSub `hub`, paging, licences), entry link
/// attributes, and FeedBurner's original links.
final class FeedLinksTests: XCTestCase {
  func testWordPressSelfHubNextAndRSSLink() throws {
    let f = try FeedFixtures.parse("wordpress-dc-hub.xml").feed
    XCTAssertEqual(
      f.links,
      [
        Link(
          href: "https://klasteriai.example.lt/feed/", rel: "self", type: "application/rss+xml"),
        Link(href: "https://pubsubhubbub.appspot.com", rel: "hub"),
        // Relative, resolved against the site (no base URL was given: the feed's own link).
        Link(
          href: "/feed/?paged=2", rel: "next", type: "application/rss+xml", title: "Page 2"),
        Link(
          href: "https://klasteriai.example.lt/en/", rel: "alternate", type: "text/html",
          title: "English", hreflang: "en"),
        Link(href: "https://klasteriai.example.lt", rel: "alternate"),
      ])
    // `link` is still the preferred alternate, `selfLink` the first self.
    XCTAssertEqual(f.link, "https://klasteriai.example.lt/en/")
    XCTAssertEqual(f.selfLink, "https://klasteriai.example.lt/feed/")
    XCTAssertEqual(
      f.entries[0].comments, "https://klasteriai.example.lt/2020/06/02/forumas/#respond")
  }

  func testRelativeFeedLinksResolveAgainstTheDocumentURL() throws {
    let p = try FeedFixtures.parse(
      "wordpress-dc-hub.xml", baseURL: URL(string: "https://klasteriai.example.lt/feed/"))
    XCTAssertEqual(
      p.feed.links.first { $0.rel == "next" }?.href, "https://klasteriai.example.lt/feed/?paged=2")
  }

  func testBloggerFeedAndEntryLinks() throws {
    let f = try FeedFixtures.parse("blogger-atom.xml").feed
    XCTAssertEqual(
      f.links.map(\.rel),
      ["http://schemas.google.com/g/2005#feed", "self", "alternate", "hub", "next", "license"])
    XCTAssertEqual(
      f.links.first { $0.rel == "next" }?.href,
      "https://www.blogger.com/feeds/123/posts/default?start-index=26&max-results=25&redirect=false"
    )
    XCTAssertEqual(f.link, "https://klaipeda.example.lt/")
    let e = f.entries[0]
    XCTAssertTrue(
      e.links.contains(
        Link(
          href: "https://klaipeda.example.lt/2020/06/terminal.html", rel: "alternate",
          type: "text/html", title: "Port terminal", hreflang: "en")), "\(e.links)")
    XCTAssertTrue(
      e.links.contains(
        Link(
          href: "https://klaipeda.example.lt/t.jpg", rel: "enclosure", type: "image/jpeg",
          length: 2048)))
  }

  func testFeedBurnerOrigLinkBecomesTheLink() throws {
    let f = try FeedFixtures.parse("feedburner.xml").feed
    XCTAssertEqual(f.selfLink, "http://feeds.feedburner.com/InovacijuAgentura")
    XCTAssertEqual(
      f.links.map(\.rel), ["alternate", "self", "hub"], "atom10:link kept with rel: \(f.links)")
    let e = try XCTUnwrap(f.entries.first)
    XCTAssertEqual(e.link, "https://inovacijos.example.lt/naujienos/kvietimas/")
    XCTAssertEqual(
      e.links.first,
      Link(href: "https://inovacijos.example.lt/naujienos/kvietimas/", rel: "alternate"))
    XCTAssertTrue(
      e.links.contains(
        Link(
          href: "http://feedproxy.google.com/~r/InovacijuAgentura/~3/AbC123/kvietimas", rel: "via")),
      "\(e.links)")
    XCTAssertFalse(e.links.contains { $0.rel == "alternate" && $0.href.contains("feedproxy") })
    XCTAssertEqual(
      e.enclosures,
      [
        Enclosure(
          url: "https://inovacijos.example.lt/files/salygos.pdf", type: "application/pdf",
          length: 1024)
      ])
    XCTAssertTrue(e.links.contains { $0.rel == "via" && $0.href.hasSuffix("salygos.pdf") })
  }

  func testLicencesBecomeLicenseLinks() throws {
    let f = try FeedFixtures.parse("cc-license.xml").feed
    XCTAssertTrue(
      f.links.contains(
        Link(href: "http://www.creativecommons.org/licenses/by-nc/1.0", rel: "license")))
    XCTAssertTrue(
      f.entries[0].links.contains(
        Link(href: "https://creativecommons.org/licenses/by/4.0/", rel: "license")))
    XCTAssertEqual(f.entries[0].rights, "© Atviri duomenys")
    XCTAssertTrue(
      f.entries[1].links.contains(
        Link(href: "https://creativecommons.org/publicdomain/zero/1.0/", rel: "license")))
    let rdf = try FeedFixtures.parse("rss10-outside.rdf").feed
    XCTAssertTrue(
      rdf.links.contains(
        Link(href: "http://creativecommons.org/licenses/by-sa/2.0/", rel: "license")))
    XCTAssertEqual(rdf.links.filter { $0.rel == "license" }.count, 1, "cc:License is not a link")
    XCTAssertTrue(
      rdf.entries[0].links.contains(
        Link(href: "http://creativecommons.org/licenses/by/2.0/", rel: "license")))
  }
}
