import FeedModel
import Foundation
import XCTest

@testable import FeedParser

final class URLTests: XCTestCase {
  func testNestedRelativeXMLBase() throws {
    let p = try FeedFixtures.parse(
      "xmlbase-nested.xml", baseURL: URL(string: "https://ignored.example/feed.xml"))
    XCTAssertEqual(p.feed.link, "http://base.example.org/root/index.html")
    let e = p.feed.entries[0]
    XCTAssertEqual(e.link, "http://base.example.org/root/section/page.html")
    XCTAssertEqual(e.enclosures.first?.url, "http://base.example.org/root/media/a.mp3")
    XCTAssertEqual(
      e.links.first { $0.rel == "related" }?.href, "http://base.example.org/absolute-dir/x.html")
    XCTAssertTrue(
      try XCTUnwrap(e.content).value.contains(
        "http://base.example.org/root/section/deeper/link.html"))
    XCTAssertEqual(p.feed.entries[1].link, "http://other.example.net/p2")
  }

  func testDocumentURLResolvesRelativeLinks() throws {
    let p = try FeedFixtures.parse(
      "rss-relative.xml", baseURL: URL(string: "https://rel.example.com/blog/feed.xml"))
    XCTAssertEqual(p.feed.link, "https://rel.example.com/")
    XCTAssertEqual(p.feed.entries[0].link, "https://rel.example.com/blog/posts/1.html")
    XCTAssertEqual(
      p.feed.entries[0].enclosures.first?.url, "https://rel.example.com/blog/media/1.mp3")
    XCTAssertEqual(p.feed.entries[1].link, "https://abs.example.com/x")
  }

  func testWithoutBaseRelativeLinksStayRelative() throws {
    let p = try FeedFixtures.parse("rss-relative.xml")
    XCTAssertEqual(p.feed.entries[0].link, "posts/1.html")
  }

  func testScriptURLsAreDroppedAndSpacesEncoded() throws {
    let xml = """
      <feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><title>a</title><link href="javascript:alert(1)"/><link rel="related" href="with space/ą.html"/></entry></feed>
      """
    let p = try FeedParser.parse(Data(xml.utf8), baseURL: URL(string: "https://u.example/dir/"))
    let e = p.feed.entries[0]
    XCTAssertNil(e.link)
    XCTAssertEqual(e.links.map(\.href), ["https://u.example/dir/with%20space/%C4%85.html"])
  }

  func testXMLBaseOnRSSChannelAndItem() throws {
    let xml = """
      <rss version="2.0"><channel xml:base="https://c.example/news/"><title>t</title><link>./</link>
      <item xml:base="2020/"><title>i</title><link>story.html</link><description>&lt;img src="pic.jpg"&gt;</description></item></channel></rss>
      """
    let p = try FeedParser.parse(Data(xml.utf8))
    XCTAssertEqual(p.feed.link, "https://c.example/news/")
    XCTAssertEqual(p.feed.entries[0].link, "https://c.example/news/2020/story.html")
    XCTAssertTrue(
      try XCTUnwrap(p.feed.entries[0].summary).value.contains("https://c.example/news/2020/pic.jpg")
    )
  }

  func testLocalFileFeedResolvesContentAgainstItsSiteLink() throws {
    // A feed read from disk (a `file:` source): root-relative links in its HTML belong to the
    // site it describes, not to the local file system.
    let xml = """
      <rss version="2.0"><channel><title>t</title><link>https://klaster.example/</link>
      <item><title>a</title><link>https://klaster.example/a/</link>
      <description><![CDATA[<p><a href="/apie/">Apie</a> <img src="img/x.jpg"></p>]]></description>
      </item></channel></rss>
      """
    let p = try FeedParser.parse(
      Data(xml.utf8), baseURL: URL(fileURLWithPath: "/srv/feeds/klaster.xml"))
    let html = try XCTUnwrap(p.feed.entries.first?.summary?.value)
    XCTAssertTrue(html.contains("href=\"https://klaster.example/apie/\""), html)
    XCTAssertTrue(html.contains("src=\"https://klaster.example/img/x.jpg\""), html)
  }
}
