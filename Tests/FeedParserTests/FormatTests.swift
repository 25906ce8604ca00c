import FeedModel
import Foundation
import TestSupport
import XCTest

@testable import FeedParser

/// Loads and parses fixtures under `Fixtures/feeds/`.
enum FeedFixtures {
  static func data(_ name: String) throws -> Data {
    try Data(contentsOf: TestSupport.fixture("FeedParserTests", "feeds/\(name)"))
  }

  static func parse(
    _ name: String, contentType: String? = nil, baseURL: URL? = nil,
    options: ParseOptions = ParseOptions()
  ) throws -> ParsedFeed {
    LibXML.bootstrap()
    return try FeedParser.parse(
      try data(name), contentType: contentType, baseURL: baseURL, options: options)
  }

  /// Seconds since 1970 for an RFC 3339 instant written in the test.
  static func date(_ s: String) -> Date {
    let f = ISO8601DateFormatter()
    return f.date(from: s)!
  }
}

final class FormatTests: XCTestCase {
  func testWordPressLithuanianRSS20() throws {
    let p = try FeedFixtures.parse("wordpress-lt.xml")
    XCTAssertEqual(p.format, .rss20)
    XCTAssertEqual(p.encoding, "utf-8")
    XCTAssertFalse(p.malformed)
    let f = p.feed
    XCTAssertEqual(f.title, "Žaliakalnio bendruomenė")
    XCTAssertEqual(f.subtitle, "Kauno Žaliakalnio naujienos – šventės, susirinkimai")
    XCTAssertEqual(f.link, "https://zaliakalnis.example.lt")
    XCTAssertEqual(f.selfLink, "https://zaliakalnis.example.lt/feed/")
    XCTAssertEqual(f.language, "lt-LT")
    XCTAssertEqual(f.ttlMinutes, 60)
    XCTAssertEqual(f.generator, "https://wordpress.org/?v=6.4.2")
    XCTAssertEqual(
      f.logo, "https://zaliakalnis.example.lt/wp-content/uploads/2020/01/logo-32x32.png")
    XCTAssertEqual(f.updated, FeedFixtures.date("2020-06-02T09:15:00Z"))
    XCTAssertEqual(f.entries.count, 2)

    let e = f.entries[0]
    XCTAssertEqual(e.title, "Joninės Ąžuolyne: programa ir „Rasos“ šventė")
    XCTAssertEqual(e.link, "https://zaliakalnis.example.lt/2020/06/02/jonines-azuolyne/")
    XCTAssertEqual(e.id, "https://zaliakalnis.example.lt/?p=1234")
    XCTAssertEqual(e.authors, [Person(name: "Rūta Petrauskienė")])
    XCTAssertEqual(e.categories.map(\.term), ["Renginiai", "Šventės"])
    XCTAssertEqual(e.published, FeedFixtures.date("2020-06-02T08:00:00Z"))
    XCTAssertTrue(
      e.links.contains(
        Link(
          href: "https://zaliakalnis.example.lt/2020/06/02/jonines-azuolyne/#respond",
          rel: "replies", type: "text/html")))
    XCTAssertEqual(e.enclosures.count, 2)
    XCTAssertEqual(
      e.enclosures[0],
      Enclosure(
        url: "https://zaliakalnis.example.lt/wp-content/uploads/2020/06/programa.pdf",
        type: "application/pdf", length: 48213))
    XCTAssertEqual(e.enclosures[1].length, 120300)
    XCTAssertEqual(e.summary?.type, .html)
    let content = try XCTUnwrap(e.content)
    XCTAssertEqual(content.type, .html)
    XCTAssertTrue(content.value.contains("Ąžuolyną"), content.value)
    XCTAssertTrue(
      content.value.contains("https://zaliakalnis.example.lt/vietos/azuolynas/"), content.value)
    XCTAssertFalse(content.value.contains("<script"), content.value)
    XCTAssertFalse(content.value.contains("alert"), content.value)
    // The second entry's undeclared &bdquo; &ldquo; inside CDATA stay HTML entities for the sanitiser.
    XCTAssertEqual(f.entries[1].title, "Seniūnaitijos susirinkimas")
    XCTAssertTrue(p.diagnostics.allSatisfy { $0.severity == .warning })
  }

  func testDrupalAtomWithCategoriesAndXHTML() throws {
    let p = try FeedFixtures.parse("drupal-atom.xml")
    XCTAssertEqual(p.format, .atom10)
    XCTAssertFalse(p.malformed, "\(p.diagnostics)")
    let f = p.feed
    XCTAssertEqual(f.title, "Miesto portalas")
    XCTAssertEqual(f.subtitle, "Naujienos iš savivaldybės")
    XCTAssertEqual(f.link, "https://portalas.example.lt/")
    XCTAssertEqual(f.selfLink, "https://portalas.example.lt/rss/atom.xml")
    XCTAssertEqual(f.id, "tag:portalas.example.lt,2020:feed")
    XCTAssertEqual(f.updated, FeedFixtures.date("2020-06-02T07:00:00Z"))
    XCTAssertEqual(f.rights, "© 2020 Savivaldybė")
    XCTAssertEqual(f.generator, "Drupal")
    XCTAssertEqual(f.icon, "https://portalas.example.lt/favicon.ico")
    XCTAssertEqual(f.logo, "https://portalas.example.lt/logo.png")
    XCTAssertEqual(f.language, "lt")
    XCTAssertEqual(
      f.authors,
      [
        Person(
          name: "Redakcija", email: "redakcija@portalas.example.lt",
          uri: "https://portalas.example.lt/apie")
      ])
    XCTAssertEqual(f.categories, [Category(term: "savivalda", label: "Savivalda")])

    let e = f.entries[0]
    XCTAssertEqual(e.title, "Biudžetas 2021 patvirtintas")
    XCTAssertEqual(e.link, "https://portalas.example.lt/naujienos/2020/biudzetas")
    XCTAssertEqual(e.links.count, 3)
    XCTAssertEqual(
      e.enclosures,
      [
        Enclosure(
          url: "https://portalas.example.lt/media/biudzetas.mp3", type: "audio/mpeg",
          length: 1_234_567)
      ])
    XCTAssertEqual(e.published, FeedFixtures.date("2020-06-01T12:00:00Z"))
    XCTAssertEqual(e.updated, FeedFixtures.date("2020-06-02T04:30:00Z"))
    XCTAssertEqual(e.authors.map(\.name), ["Ona Jankauskienė"])
    XCTAssertEqual(e.contributors.map(\.name), ["Petras"])
    XCTAssertEqual(e.categories.map(\.label), ["Biudžetas", "Finansai"])
    XCTAssertEqual(e.categories.first?.scheme, "https://portalas.example.lt/taxonomy/term/")
    XCTAssertNil(e.language)
    let content = try XCTUnwrap(e.content)
    XCTAssertEqual(content.type, .html)
    XCTAssertTrue(
      content.value.contains("https://portalas.example.lt/turinys/dokumentai/sprendimas.pdf"),
      content.value)
    XCTAssertFalse(
      content.value.contains("<div"), "the xhtml wrapper div is not content: \(content.value)")
    XCTAssertTrue(content.value.contains("&amp;"), content.value)
    XCTAssertTrue(
      try XCTUnwrap(e.summary).value.contains("https://portalas.example.lt/naujienos/2020/detaliau")
    )

    let e2 = f.entries[1]
    XCTAssertEqual(e2.language, "en")
    XCTAssertEqual(e2.content, .text("Budget <approved>."))
    XCTAssertEqual(e2.source?.title, "Other feed")
    XCTAssertEqual(e2.source?.link, "https://other.example/")
    XCTAssertEqual(e2.source?.id, "tag:other.example,2020:feed")
    XCTAssertEqual(e2.source?.updated, FeedFixtures.date("2020-05-29T00:00:00Z"))
  }

  func testDrupalRSSCategoriesAndGuidLink() throws {
    let p = try FeedFixtures.parse("drupal-rss.xml")
    XCTAssertEqual(p.format, .rss20)
    let e = p.feed.entries[0]
    XCTAssertEqual(
      e.categories,
      [
        Category(term: "Infrastruktūra", scheme: "https://portalas.example.lt/taxonomy/term/7"),
        Category(term: "Transportas", scheme: "https://portalas.example.lt/taxonomy/term/9"),
      ])
    XCTAssertEqual(e.id, "88 at https://portalas.example.lt")
    XCTAssertEqual(e.link, "https://portalas.example.lt/naujienos/gatviu-remontas")
    XCTAssertTrue(try XCTUnwrap(e.summary).value.contains("https://portalas.example.lt/gatves"))
    XCTAssertEqual(e.authors, [Person(name: "admin")])
    // No <link>: a permalink guid (isPermaLink absent) is the link.
    XCTAssertEqual(p.feed.entries[1].link, "https://portalas.example.lt/node/89")
    XCTAssertEqual(p.feed.entries[1].published, FeedFixtures.date("2020-05-31T06:00:00Z"))
  }

  func testRSS091WithUndeclaredHTMLEntities() throws {
    let p = try FeedFixtures.parse("rss091.xml")
    XCTAssertEqual(p.format, .rss09x)
    XCTAssertEqual(p.encoding, "windows-1252")
    XCTAssertFalse(p.malformed, "\(p.diagnostics)")
    XCTAssertEqual(p.feed.subtitle, "RSS 0.91 su\u{a0}HTML entities: café © …")
    XCTAssertEqual(p.feed.entries[0].title, "Café opens — «finally»")
    XCTAssertEqual(p.feed.rights, "Copyright 1999")
    XCTAssertEqual(p.feed.authors, [Person(name: "Old Editor", email: "editor@old.example.com")])
    XCTAssertEqual(p.feed.logo, "http://old.example.com/logo.gif")
    XCTAssertTrue(try XCTUnwrap(p.feed.entries[0].summary).value.contains("café"))
  }

  func testUndeclaredEntitiesAlsoInAttributesAndDeclaredOnesWork() throws {
    let xml = """
      <?xml version="1.0"?>
      <!DOCTYPE rss [ <!ENTITY nbsp "&#160;"> <!ENTITY brand "Kaunas &amp; Co"> ]>
      <rss version="2.0"><channel><title>A&nbsp;B &brand; &euro;</title><link>http://x.example/</link>
      <item><title>T&eacute;</title><link>http://x.example/a?x=1&amp;y=&eacute;</link></item></channel></rss>
      """
    let p = try FeedParser.parse(Data(xml.utf8))
    XCTAssertFalse(p.malformed, "\(p.diagnostics)")
    XCTAssertEqual(p.feed.title, "A\u{a0}B Kaunas & Co €")
    XCTAssertEqual(p.feed.entries[0].title, "Té")
    XCTAssertEqual(p.feed.entries[0].link, "http://x.example/a?x=1&y=é")
    let atom = """
      <feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>e</title>
      <link href="http://x.example/?a=1&amp;b=caf&eacute;&#38;c=&quot;q&quot;" title="Caf&eacute; &gt; bar&hellip;"/>
      <category term="&Scaron;iauliai &amp; Co" label="&nbsp;x"/></entry></feed>
      """
    let a = try FeedParser.parse(Data(atom.utf8))
    XCTAssertFalse(a.malformed, "\(a.diagnostics)")
    let e = try XCTUnwrap(a.feed.entries.first)
    XCTAssertEqual(e.links.first?.href, "http://x.example/?a=1&b=café&c=\"q\"")
    XCTAssertEqual(e.links.first?.title, "Café > bar…")
    XCTAssertEqual(e.categories.first?.term, "Šiauliai & Co")
    XCTAssertEqual(e.categories.first?.label, "\u{a0}x")
  }

  func testRSS092EnclosureSourceNoTitle() throws {
    let p = try FeedFixtures.parse("rss092.xml")
    XCTAssertEqual(p.format, .rss09x)
    let e = p.feed.entries[0]
    XCTAssertNil(e.title)
    XCTAssertEqual(
      e.enclosures,
      [Enclosure(url: "http://pod.example.com/ep1.mp3", type: "audio/mpeg", length: 5_588_242)])
    XCTAssertEqual(
      e.source, EntrySource(title: "Original Source", link: "http://source.example.com/rss"))
    XCTAssertEqual(e.categories, [Category(term: "Music", scheme: "http://www.dmoz.org")])
  }

  func testRSS10RDF() throws {
    let p = try FeedFixtures.parse("rss10.rdf")
    XCTAssertEqual(p.format, .rss10)
    XCTAssertEqual(p.feed.title, "RDF kanalas")
    XCTAssertEqual(p.feed.language, "lt")
    XCTAssertEqual(p.feed.updated, FeedFixtures.date("2020-06-02T06:00:00Z"))
    XCTAssertEqual(p.feed.logo, "https://rdf.example.lt/logo.png")
    XCTAssertEqual(p.feed.entries.count, 2)
    let e = p.feed.entries[0]
    XCTAssertEqual(e.id, "https://rdf.example.lt/a/1")
    XCTAssertEqual(e.link, "https://rdf.example.lt/a/1")
    XCTAssertEqual(e.authors, [Person(name: "Autorius Vienas")])
    XCTAssertEqual(e.categories.map(\.term), ["Politika"])
    XCTAssertEqual(e.published, FeedFixtures.date("2020-06-01T10:00:00Z"))
    XCTAssertEqual(e.summary?.type, .html)
    XCTAssertTrue(try XCTUnwrap(e.content).value.contains("išsamiai"))
    XCTAssertEqual(p.feed.entries[1].language, "en")
    XCTAssertEqual(p.feed.entries[1].published, FeedFixtures.date("2020-05-31T00:00:00Z"))
  }

  func testRSS090() throws {
    let p = try FeedFixtures.parse("rss090.rdf")
    XCTAssertEqual(p.format, .rss09x)
    XCTAssertEqual(p.feed.title, "Mozilla Dot Org")
    XCTAssertEqual(
      p.feed.entries.map(\.link),
      ["http://www.mozilla.org/status/", "http://www.mozilla.org/bugs/"])
  }

  func testAtom03EscapedBase64AndInlineXHTML() throws {
    let p = try FeedFixtures.parse("atom03.xml")
    XCTAssertEqual(p.format, .atom03)
    XCTAssertEqual(p.feed.title, "Senas Atom")
    XCTAssertEqual(p.feed.subtitle, "Atom 0.3 kanalas")
    XCTAssertEqual(p.feed.rights, "Visos teisės saugomos")
    XCTAssertEqual(p.feed.updated, FeedFixtures.date("2004-06-02T09:00:00Z"))
    XCTAssertEqual(p.feed.authors, [Person(name: "Jurgis", uri: "http://atom03.example.lt/jurgis")])
    let e = p.feed.entries[0]
    XCTAssertEqual(e.published, FeedFixtures.date("2004-06-01T07:00:00Z"))
    XCTAssertEqual(e.updated, FeedFixtures.date("2004-06-01T12:00:00Z"))
    XCTAssertTrue(try XCTUnwrap(e.summary).value.contains("<b>čia</b>"))
    let content = try XCTUnwrap(e.content)
    XCTAssertEqual(content.type, .html)
    XCTAssertTrue(content.value.contains("<b>turinys</b>"), content.value)
    XCTAssertTrue(content.value.contains("ąčę"), content.value)
    let e2 = p.feed.entries[1]
    XCTAssertEqual(e2.published, FeedFixtures.date("2004-05-30T10:00:00Z"))
    XCTAssertTrue(try XCTUnwrap(e2.content).value.contains("<b>XHTML</b>"))
  }

  func testJSONFeed11() throws {
    let p = try FeedFixtures.parse(
      "jsonfeed11.json", baseURL: URL(string: "https://json.example.lt/feed.json"))
    XCTAssertEqual(p.format, .jsonfeed)
    XCTAssertEqual(p.feed.title, "JSON kanalas")
    XCTAssertEqual(p.feed.link, "https://json.example.lt/")
    XCTAssertEqual(p.feed.selfLink, "https://json.example.lt/feed.json")
    XCTAssertEqual(p.feed.icon, "https://json.example.lt/favicon.ico")
    XCTAssertEqual(p.feed.authors, [Person(name: "Ieva", uri: "https://json.example.lt/ieva")])
    let e = p.feed.entries[0]
    XCTAssertEqual(e.title, "Žinia 😀 su emoji")
    XCTAssertEqual(e.link, "https://json.example.lt/straipsniai/1")
    XCTAssertEqual(e.categories.map(\.term), ["vienas", "du"])
    XCTAssertEqual(
      e.enclosures,
      [Enclosure(url: "https://json.example.lt/a.mp3", type: "audio/mpeg", length: 1000)])
    XCTAssertEqual(e.published, FeedFixtures.date("2020-06-01T07:00:00Z"))
    XCTAssertTrue(try XCTUnwrap(e.content).value.contains("https://json.example.lt/nuoroda"))
    XCTAssertFalse(try XCTUnwrap(e.content).value.contains("script"))
    let e2 = p.feed.entries[1]
    XCTAssertEqual(e2.id, "2")
    XCTAssertEqual(e2.content, .text("Tik tekstas"))
    XCTAssertEqual(e2.language, "en")
    XCTAssertNotNil(e2.title)
    XCTAssertTrue(e2.title!.hasPrefix("Tekstinis"))
    XCTAssertNil(e2.published)
    XCTAssertTrue(
      p.diagnostics.contains { $0.message == "unparseable date 'not a date' in entry 2" },
      "\(p.diagnostics)")
  }

  func testJSONFeed10AndNonFeedJSON() throws {
    let p = try FeedFixtures.parse("jsonfeed10.json")
    XCTAssertEqual(p.format, .jsonfeed)
    XCTAssertEqual(p.feed.authors.map(\.name), ["Solo"])
    XCTAssertEqual(p.feed.entries.first?.content, .text("Hello"))
    XCTAssertThrowsError(try FeedParser.parse(Data(#"{"hello": "world"}"#.utf8))) { error in
      guard case FeedParserError.notAFeed = error else { return XCTFail("\(error)") }
    }
  }

  func testDetectionSkipsBOMCommentsPIsAndWhitespace() throws {
    let xml =
      "\u{FEFF}\n  <?xml version=\"1.0\"?>\n<!-- c -->\n<?xml-stylesheet href=\"a.xsl\"?>\n  <!-- d --><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>T</title></feed>"
    let p = try FeedParser.parse(Data(xml.utf8))
    XCTAssertEqual(p.format, .atom10)
    XCTAssertEqual(p.feed.title, "T")
  }

  func testHTMLIsNotAFeed() throws {
    for name in ["html-page.html", "xhtml-page.xml"] {
      XCTAssertThrowsError(try FeedFixtures.parse(name), name) { error in
        XCTAssertEqual(error as? FeedParserError, .notAFeed("an HTML page, not a feed"))
      }
    }
    XCTAssertThrowsError(try FeedParser.parse(Data("<opml version=\"2.0\"><body/></opml>".utf8))) {
      error in
      guard case FeedParserError.notAFeed(let why) = error else { return XCTFail("\(error)") }
      XCTAssertTrue(why.contains("opml"))
    }
    XCTAssertThrowsError(try FeedParser.parse(Data("   \n ".utf8))) {
      XCTAssertEqual($0 as? FeedParserError, .empty)
    }
    XCTAssertThrowsError(try FeedParser.parse(Data())) {
      XCTAssertEqual($0 as? FeedParserError, .empty)
    }
    XCTAssertThrowsError(try FeedParser.parse(Data("hello, world".utf8))) { error in
      guard case FeedParserError.unreadable = error else { return XCTFail("\(error)") }
    }
  }

  func testMalformedIsRecoveredWithLineAndColumn() throws {
    let p = try FeedFixtures.parse("malformed.xml")
    XCTAssertTrue(p.malformed)
    let first = try XCTUnwrap(p.diagnostics.first)
    XCTAssertEqual(first.severity, .error)
    XCTAssertEqual(first.line, 7)
    XCTAssertNotNil(first.column)
    XCTAssertFalse(first.message.isEmpty)
    XCTAssertEqual(p.feed.entries.first?.title, "One")
    XCTAssertGreaterThanOrEqual(p.feed.entries.count, 2)
    XCTAssertEqual(p.feed.entries.last?.link, "https://broken.example.com/3")
  }

  func testUnparseableDateIsAWarningNotNow() throws {
    let p = try FeedFixtures.parse(
      "rss-relative.xml", baseURL: URL(string: "https://rel.example.com/blog/feed.xml"))
    XCTAssertNil(p.feed.entries[1].published)
    XCTAssertTrue(
      p.diagnostics.contains(
        Diagnostic(severity: .warning, message: "unparseable date 'sometime last week' in entry 2")),
      "\(p.diagnostics)")
    XCTAssertFalse(p.malformed)
  }

  func testTTLAndSelfLinkFromAtomNamespaceInRSS() throws {
    let xml = """
      <rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>
      <atom:link rel="self" href="https://s.example/feed"/><atom:link rel="hub" href="https://hub.example/"/>
      <ttl> 30 </ttl><item><title>x</title><guid isPermaLink="true">https://s.example/p/1</guid></item></channel></rss>
      """
    let p = try FeedParser.parse(Data(xml.utf8))
    XCTAssertEqual(p.feed.selfLink, "https://s.example/feed")
    XCTAssertEqual(p.feed.ttlMinutes, 30)
    XCTAssertEqual(p.feed.entries[0].link, "https://s.example/p/1")
  }

  func testUnescapedMarkupInRSSDescriptionAndXHTMLAttributes() throws {
    let xml = """
      <rss version="2.0"><channel><title>t</title><item><title>Tom &amp; <b>Jerry</b></title>
      <description><p>Hi <b>there</b> &amp; bye</p></description></item></channel></rss>
      """
    let p = try FeedParser.parse(Data(xml.utf8))
    let e = try XCTUnwrap(p.feed.entries.first)
    XCTAssertEqual(e.title, "Tom & Jerry")
    let summary = try XCTUnwrap(e.summary)
    XCTAssertEqual(summary.type, .html)
    XCTAssertTrue(summary.value.contains("<b>there</b>"), summary.value)

    let atom = """
      <feed xmlns="http://www.w3.org/2005/Atom"><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">A <i>b</i> &lt;c&gt;</div></title>
      <entry><title>e</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><a href="http://x.example/?a=1&amp;b=&quot;2&quot;">q</a> 1 &lt; 2</div></content></entry></feed>
      """
    let a = try FeedParser.parse(Data(atom.utf8))
    XCTAssertEqual(a.feed.title, "A b <c>")
    let content = try XCTUnwrap(a.feed.entries.first?.content)
    XCTAssertTrue(content.value.contains("1 &lt; 2"), content.value)
    XCTAssertTrue(content.value.contains("a=1&amp;b="), content.value)
  }
}
