import Config
import Discovery
import FeedModel
import Foundation
import TestSupport
import XCTest

/// OPML subscription lists as readers export them (fixtures under Fixtures/opml/), read with
/// libxml2 into sources: folders and `category` attributes as slugs, ids unique and stable,
/// non-feeds reported, hostile and broken files refused with a clear reason.
final class OPMLImportTests: XCTestCase {
  private func fixture(_ name: String) throws -> Data {
    try Data(contentsOf: TestSupport.fixture("DiscoveryTests", "opml/\(name)"))
  }

  private func parse(_ name: String) throws -> OPMLImport {
    try OPMLImport.parse(fixture(name))
  }

  /// The error `parse` throws for `data` (fails the test when it does not throw).
  private func failure(_ data: Data, line: UInt = #line) -> OPMLError? {
    do {
      let list = try OPMLImport.parse(data)
      XCTFail("parsed: \(list)", line: line)
      return nil
    } catch {
      return error
    }
  }

  func testFeedlyExportWithFoldersAndTypeRSS() throws {
    let list = try parse("feedly.opml")
    XCTAssertEqual(list.title, "Rūta subscriptions in feedly Cloud")
    XCTAssertEqual(
      list.sources.map(\.id),
      [
        "lietuvos-klasteriu-tinklas", "zemes-ukio-klasteris", "irt-klasteris-infobalt",
        "startup-lithuania", "the-verge", "european-cluster-collaboration-platform",
      ])
    let infobalt = list.imported[2]
    XCTAssertEqual(infobalt.source.url, "https://www.infobalt.lt/feed/?lang=lt&type=news")
    XCTAssertEqual(infobalt.source.title, "IRT klasteris „Infobalt“")
    XCTAssertEqual(infobalt.siteURL, "https://www.infobalt.lt/")
    XCTAssertEqual(infobalt.line, 11)
    // Feedly lists a feed filed in two folders twice: one source, both categories.
    XCTAssertEqual(infobalt.source.categories, ["klasteriai", "tech-startups"])
    XCTAssertEqual(list.skipped.count, 1)
    XCTAssertEqual(list.skipped.first?.line, 15)
    XCTAssertTrue(
      list.skipped.first?.reason.hasPrefix("duplicate of the feed at line 11") == true,
      "\(list.skipped)")
    XCTAssertEqual(list.imported[1].source.title, "Žemės ūkio klasteris")
    XCTAssertEqual(list.imported[1].source.categories, ["klasteriai"])
    XCTAssertEqual(list.imported[5].source.categories, ["europa"])
    XCTAssertTrue(list.sources.allSatisfy { $0.kind == .feed && $0.selectors == nil })
  }

  func testNetNewsWireExportWithNestedFoldersAndNoType() throws {
    let list = try parse("netnewswire.opml")
    XCTAssertEqual(list.skipped, [])
    let byURL = Dictionary(uniqueKeysWithValues: list.sources.map { ($0.url, $0) })
    // A feed at the top level has no category; two folders deep gives both.
    XCTAssertEqual(byURL["https://www.clusters.lt/feed/"]?.categories, [])
    XCTAssertEqual(
      byURL["https://mechatronika.lt/feed/"]?.categories, ["klasteriai", "pramone"])
    XCTAssertEqual(
      byURL["https://saule.lt/index.php?format=feed&type=rss"]?.categories,
      ["klasteriai", "energetika-ir-statyba"])
    // `text` when there is no `title`; `xmlURL` spelled another way is still the feed URL.
    XCTAssertEqual(
      byURL["https://saule.lt/index.php?format=feed&type=rss"]?.title,
      "Saulės energetikos asociacija")
    // Three feeds all called "Naujienos": -2, -3 in document order.
    XCTAssertEqual(byURL["https://linpra.lt/naujienos/feed/"]?.id, "naujienos")
    XCTAssertEqual(byURL["https://plastikai.lt/category/naujienos/feed/"]?.id, "naujienos-2")
    XCTAssertEqual(byURL["https://www.ktu.edu/news/feed/"]?.id, "naujienos-3")
    // No title at all: the id comes from the host (without www.), the title stays unset.
    let untitled = byURL["https://www.statybu-klasteris.lt/rss.xml"]
    XCTAssertEqual(untitled?.id, "statybu-klasteris-lt")
    XCTAssertNil(untitled?.title)
    XCTAssertEqual(list.sources.count, 7)
  }

  func testThunderbirdExportWithCategoryAttributesAndLinkOutlines() throws {
    let list = try parse("thunderbird.opml")
    XCTAssertEqual(
      list.sources.map(\.id), ["fintech-hub-lt", "kurybines-industrijos", "sveikatos-klasteris"])
    // The folder, then every part of each slash path in `category`, as slugs, once each.
    XCTAssertEqual(
      list.sources[0].categories, ["klasteriu-naujienos", "sector", "fintech", "news"])
    XCTAssertEqual(
      list.sources[1].categories, ["klasteriu-naujienos", "sektorius", "kurybines-industrijos"])
    XCTAssertEqual(list.sources[2].categories, ["health", "sector"])
    XCTAssertEqual(list.sources[2].url, "http://sveikatos-klasteris.lt/?feed=rss2")
    XCTAssertEqual(
      list.skipped.map(\.title), ["Klasterių žemėlapis", "Partnerių sąrašas"])
    XCTAssertEqual(list.skipped.map(\.line), [11, 14])
    XCTAssertTrue(list.skipped[0].reason.contains("type=\"link\""), list.skipped[0].reason)
    XCTAssertTrue(list.skipped[1].reason.contains("type=\"include\""), list.skipped[1].reason)
    XCTAssertEqual(
      list.skipped[0].message,
      "\"Klasterių žemėlapis\" skipped: type=\"link\" is a link to a web page, not a feed: "
        + "https://www.clusters.lt/zemelapis/")
  }

  func testDuplicatesNonHTTPURLsAndNonFeedsAreReportedAndSkipped() throws {
    let list = try parse("duplicates.opml")
    XCTAssertEqual(
      list.sources.map(\.url),
      ["https://transporto-klasteris.lt/feed/", "https://turizmas.lt/atom.xml"])
    let reasons = Dictionary(uniqueKeysWithValues: list.skipped.map { ($0.title ?? "", $0.reason) })
    XCTAssertEqual(list.skipped.count, 9)
    XCTAssertTrue(
      reasons["Transporto klasteris (again)"]?.hasPrefix("duplicate of the feed at line 7") == true)
    for (title, scheme) in [
      ("Local file", "\"file:\""), ("Podcast app link", "\"feed:\""), ("Script", "\"javascript:\""),
      ("Relative", "no scheme"),
    ] {
      XCTAssertTrue(reasons[title]?.contains("is not http(s) (\(scheme)") == true, title)
    }
    XCTAssertEqual(reasons["Empty URL"], "its xmlUrl is empty")
    XCTAssertTrue(reasons["A note, not a feed"]?.hasPrefix("no xmlUrl") == true)
    XCTAssertTrue(reasons["Song"]?.contains("type=\"song\" is not a feed outline") == true)
    XCTAssertTrue(reasons["Podcast app link"]?.contains("use the http(s) address") == true)
    // A commented-out folder: reported once, nothing inside it imported.
    XCTAssertEqual(
      reasons["Old members"], "isComment=\"true\": commented out, with everything inside it")
    XCTAssertNil(reasons["Gone member"])
  }

  func testLegacyEncodingIsDecodedByLibxml2() throws {
    let list = try parse("windows-1257.opml")
    XCTAssertEqual(list.title, "Klasterių sąrašas")
    XCTAssertEqual(list.sources.first?.title, "Žalgirio mašinų gamykla")
    XCTAssertEqual(list.sources.first?.id, "zalgirio-masinu-gamykla")
    XCTAssertEqual(list.sources.first?.categories, ["siauliu-regiono-klasteriai"])
  }

  func testBrokenXMLGivesLibxml2sFirstErrorAndLine() throws {
    let error = failure(try fixture("broken.opml"))
    guard case .notXML(let line, let message) = error else {
      return XCTFail("\(String(describing: error))")
    }
    XCTAssertEqual(line, 7)
    XCTAssertTrue(message.contains("Opening and ending tag mismatch: outline line 5"), message)
    XCTAssertEqual(
      failure(Data()).map { "\($0)" }, "not well-formed XML: the file is empty")
    XCTAssertEqual(
      failure(Data("<opml version=\"2.0\"><body><outline text=\"Ž&nbsp;\"/></body></opml>".utf8))
        .map { "\($0)" }, "not well-formed XML: line 1: Entity 'nbsp' not defined")
  }

  func testBytesThatAreNotInTheDeclaredEncodingAreAnError() throws {
    let utf8 =
      Data(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\"><body>\n<outline text=\""
          .utf8)
      + Data([0xFF, 0xFE]) + Data(" x\" xmlUrl=\"https://a.lt/feed/\"/></body></opml>\n".utf8)
    guard case .notXML(let line, let message) = failure(utf8) else { return XCTFail() }
    XCTAssertEqual(line, 3)
    XCTAssertTrue(message.hasPrefix("Input is not proper UTF-8"), message)
    XCTAssertFalse(message.contains("\n"), message)
    // 0xA1 has no character in windows-1257: libxml2's conversion error, not a stray print.
    let baltic =
      Data(
        "<?xml version=\"1.0\" encoding=\"windows-1257\"?>\n<opml version=\"2.0\"><body>\n<outline text=\""
          .utf8)
      + Data([0xA1]) + Data(" x\" xmlUrl=\"https://a.lt/feed/\"/></body></opml>\n".utf8)
    guard case .notXML(_, let why) = failure(baltic) else { return XCTFail() }
    XCTAssertTrue(why.hasPrefix("input conversion failed"), why)
  }

  func testDocumentsThatAreNotOPMLSayWhatTheyAre() throws {
    XCTAssertEqual(
      failure(try fixture("rss-not-opml.xml")),
      .notOPML("root element is <rss>, expected <opml>"))
    XCTAssertEqual(
      failure(try fixture("rss-not-opml.xml")).map { "\($0)" },
      "not OPML: root element is <rss>, expected <opml>")
    XCTAssertEqual(
      failure(Data("<opml version=\"2.0\"><head/></opml>".utf8)), .notOPML("<opml> has no <body>"))
  }

  func testBillionLaughsIsRefusedAtTheFirstEntityDeclaration() throws {
    let error = failure(try fixture("billion-laughs.opml"))
    guard case .hostile(let why) = error else { return XCTFail("\(String(describing: error))") }
    XCTAssertTrue(why.hasPrefix("line 3 declares an entity (<!ENTITY lol …>)"), why)
  }

  func testXXEIsRefusedAndNothingIsRead() throws {
    let error = failure(try fixture("xxe.opml"))
    guard case .hostile(let why) = error else { return XCTFail("\(String(describing: error))") }
    XCTAssertTrue(why.hasPrefix("line 3 declares an external entity (<!ENTITY xxe …>)"), why)
    // The local file's contents appear nowhere.
    let hostname = try String(contentsOfFile: "/etc/hostname", encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    if !hostname.isEmpty { XCTAssertFalse("\(error!)".contains(hostname)) }
  }

  func testQuadraticBlowupIsRefusedBeforeAnyExpansion() throws {
    // One 100 KB entity referenced 20 000 times: 2 GB if expanded.
    let big = String(repeating: "a", count: 100_000)
    let refs = String(repeating: "&big;", count: 20_000)
    let text =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE opml [\n<!ENTITY big \"\(big)\">\n]>\n"
      + "<opml version=\"2.0\"><body><outline text=\"\(refs)\" xmlUrl=\"https://q.example/\"/>"
      + "</body></opml>"
    let error = failure(Data(text.utf8))
    guard case .hostile(let why) = error else { return XCTFail("\(String(describing: error))") }
    XCTAssertTrue(why.contains("<!ENTITY big"), why)
    XCTAssertEqual(
      failure(Data(count: OPMLImport.maxBytes + 1)), .tooLarge(OPMLImport.maxBytes + 1))
  }

  func testTheSameFileGivesTheSameIDsEveryTime() throws {
    let data = try fixture("netnewswire.opml")
    let first = try OPMLImport.parse(data)
    for _ in 0..<3 { XCTAssertEqual(try OPMLImport.parse(data), first) }
  }

  func testClusterwireIDsAreKeptAndWinOverGeneratedOnes() throws {
    let text = """
      <?xml version="1.0" encoding="utf-8"?>
      <opml version="2.0" xmlns:clusterwire="\(ClusterwireOPML.namespace)" xmlns:other="urn:other">
      <body>
        <outline type="rss" text="IRT" title="IRT" xmlUrl="https://irt.example/feed/"/>
        <outline type="rss" text="Kitas" clusterwire:id="irt" xmlUrl="https://kitas.example/feed/"/>
        <outline type="rss" text="Again" clusterwire:id="irt" xmlUrl="https://again.example/feed/"/>
        <outline type="rss" text="Bad" clusterwire:id="Not A Slug" xmlUrl="https://bad.example/"/>
        <outline type="rss" text="Foreign" other:id="foreign-id" xmlUrl="https://f.example/"/>
      </body>
      </opml>
      """
    let list = try OPMLImport.parse(Data(text.utf8))
    XCTAssertEqual(list.sources.map(\.id), ["irt-2", "irt", "again", "bad", "foreign"])
  }

  func testEveryImportedSourceIsADropInTheLoaderAccepts() throws {
    for name in ["feedly.opml", "netnewswire.opml", "thunderbird.opml", "duplicates.opml"] {
      let list = try parse(name)
      let text = DropIn.render(list.sources)
      XCTAssertNil(DropIn.validate(text), name)
      XCTAssertEqual(try DropIn.load(text).get(), list.sources, name)
    }
  }
}
