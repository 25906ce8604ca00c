import FeedModel
import Foundation
import XCTest

@testable import FeedParser

/// What real feeds are, whatever they claim: Atom without its namespace, RSS items outside the
/// channel, `enclosure href`, element names in unexpected case.
final class RecognitionTests: XCTestCase {
  func testAtomWithoutNamespaceIsReadAsAtomAndFlagged() throws {
    let p = try FeedFixtures.parse("atom-no-namespace.xml")
    XCTAssertEqual(p.format, .atom10)
    XCTAssertTrue(p.malformed)
    XCTAssertEqual(p.diagnostics.first?.message, "root <feed> has no Atom namespace; read as Atom")
    XCTAssertEqual(p.feed.title, "Be vardų erdvės")
    XCTAssertEqual(p.feed.link, "https://be-ns.example.lt/")
    XCTAssertEqual(p.feed.selfLink, "https://be-ns.example.lt/atom.xml")
    XCTAssertEqual(p.feed.authors, [Person(name: "Autorius")])
    XCTAssertEqual(p.feed.updated, FeedFixtures.date("2020-06-02T10:00:00Z"))
    XCTAssertEqual(p.feed.entries.count, 1)
    let e = p.feed.entries[0]
    XCTAssertEqual(e.title, "Įrašas")
    XCTAssertEqual(e.link, "https://be-ns.example.lt/1")
    XCTAssertEqual(e.id, "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a")
    XCTAssertEqual(e.summary, .text("Santrauka"))
  }

  func testAtomInAnUnknownNamespace() throws {
    let xml = """
      <feed xmlns="http://www.w3.org/2005/atom"><title>Lower-case namespace</title>
      <entry><title>E</title><id>e1</id></entry></feed>
      """
    let p = try FeedParser.parse(Data(xml.utf8))
    XCTAssertEqual(p.format, .atom10)
    XCTAssertTrue(p.malformed)
    XCTAssertEqual(
      p.diagnostics.first?.message,
      "root <feed> is in namespace http://www.w3.org/2005/atom, not Atom's; read as Atom")
    XCTAssertEqual(p.feed.entries.map(\.id), ["e1"])
  }

  func testFeedRootWithoutAtomChildrenIsNotAFeed() {
    let xml = "<feed><foo>1</foo><bar/></feed>"
    XCTAssertThrowsError(try FeedParser.parse(Data(xml.utf8))) { error in
      guard case FeedParserError.notAFeed = error else { return XCTFail("\(error)") }
    }
  }

  func testProperAtomIsNotFlagged() throws {
    let p = try FeedFixtures.parse("blogger-atom.xml")
    XCTAssertFalse(p.malformed)
    XCTAssertFalse(p.diagnostics.contains { $0.message.contains("read as Atom") })
  }

  func testRSS10ItemsOutsideTheChannel() throws {
    let p = try FeedFixtures.parse("rss10-outside.rdf")
    XCTAssertEqual(p.format, .rss10)
    XCTAssertEqual(p.feed.entries.map(\.title), ["Pirmas", "Antras"])
    XCTAssertEqual(
      p.feed.entries.map(\.id), ["https://senas.example.lt/1", "https://senas.example.lt/2"])
    XCTAssertEqual(
      p.feed.authors, [Person(name: "Vyr. redaktorius", email: "redaktorius@senas.example.lt")])
  }

  func testMixedCaseNamesEnclosureHrefAndItemsAfterTheChannel() throws {
    let p = try FeedFixtures.parse("oldcms-case.xml")
    XCTAssertEqual(p.format, .rss20)
    let f = p.feed
    XCTAssertEqual(f.title, "Old CMS")
    XCTAssertEqual(f.link, "http://old.example.com/")
    XCTAssertEqual(f.subtitle, "Mixed case everywhere")
    XCTAssertEqual(f.published, FeedFixtures.date("2020-06-02T08:00:00Z"))
    XCTAssertEqual(f.entries.count, 2)
    let e = f.entries[0]
    XCTAssertEqual(e.title, "First")
    XCTAssertEqual(e.link, "http://old.example.com/1")
    XCTAssertEqual(e.published, FeedFixtures.date("2020-06-01T08:00:00Z"))
    XCTAssertEqual(e.summary?.value, "Plain words")
    XCTAssertEqual(e.authors, [Person(name: "Jo Writer")])
    XCTAssertEqual(
      e.enclosures, [Enclosure(url: "http://old.example.com/a.mp3", type: "audio/mpeg", length: 42)]
    )
    XCTAssertEqual(f.entries[1].title, "Outside the channel")
    XCTAssertEqual(f.entries[1].link, "http://old.example.com/2")
  }
}
