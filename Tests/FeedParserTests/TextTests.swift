import FeedModel
import XCTest

@testable import FeedParser

/// Issue 13, class 5 through the whole parser: language detected from text when nothing
/// declares one, an old CMS's `&#146;` references, `<!` descriptions, MathML.
final class TextTests: XCTestCase {
  static let english =
    "The cluster brings together manufacturers and research institutes to develop new laser "
    + "technologies for the automotive industry."
  static let lithuanian =
    "Klasteris vienija gamintojus ir mokslo institutus, kurie kartu kuria naujas lazerių "
    + "technologijas automobilių pramonei."

  override func setUpWithError() throws {
    try XCTSkipUnless(
      FileManager.default.fileExists(atPath: "/usr/share/libexttextcat/en.lm")
        || ProcessInfo.processInfo.environment["CI"] == "true",
      "libexttextcat-data is not installed")
  }

  /// A WordPress RSS feed with its `<language>` removed (a common theme bug).
  func wordpress(language: String?, items: [(String, String)]) -> Data {
    let lang = language.map { "<language>\($0)</language>" } ?? ""
    let body = items.map { title, text in
      """
      <item><title>\(title)</title><link>https://laser.example.lt/\(title.count)</link>
      <description><![CDATA[<p>\(text)</p>]]></description>
      <content:encoded><![CDATA[<p>\(text)</p><p>Read more on our site.</p>]]></content:encoded>
      </item>
      """
    }.joined()
    return Data(
      """
      <?xml version="1.0" encoding="UTF-8"?>
      <rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
      <channel><title>Lazerių klasteris</title><link>https://laser.example.lt/</link>\(lang)
      \(body)</channel></rss>
      """.utf8)
  }

  func testLanguageDetectedWhenNothingDeclaresOne() throws {
    let parsed = try FeedParser.parse(
      wordpress(
        language: nil,
        items: [
          ("Laser cluster meets in Vilnius", Self.english),
          ("Lazerių klasterio susitikimas", Self.lithuanian),
          ("Nuotraukos", "2026"),
        ]))
    XCTAssertNil(parsed.feed.language)
    XCTAssertEqual(parsed.feed.entries.map(\.language), ["en", "lt", nil])
  }

  func testDeclaredLanguageIsNotOverridden() throws {
    let parsed = try FeedParser.parse(
      wordpress(language: "lt", items: [("Laser cluster meets in Vilnius", Self.english)]))
    XCTAssertEqual(parsed.feed.language, "lt")
    XCTAssertEqual(parsed.feed.entries.first?.language, nil)
    // An entry's own xml:lang is kept as declared.
    let atom = Data(
      """
      <feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:x</id>
      <entry xml:lang="de"><title>\(Self.english)</title><id>urn:1</id></entry></feed>
      """.utf8)
    XCTAssertEqual(try FeedParser.parse(atom).feed.entries.first?.language, "de")
  }

  /// An old CMS writing windows-1252 references in an XML feed: the XML parser turns `&#146;`
  /// into U+0092; titles and HTML come out with the characters HTML5 gives them.
  func testOldCMSWindows1252References() throws {
    let feed = Data(
      """
      <?xml version="1.0" encoding="ISO-8859-1"?>
      <rss version="2.0"><channel><title>Senas CMS</title><link>http://old.example.lt/</link>
      <language>en</language>
      <item><title>It&#146;s &#147;new&#148;</title><link>http://old.example.lt/1</link>
      <description>We&amp;#146;re open &amp;#150; come &lt;b&gt;in&lt;/b&gt;</description></item>
      </channel></rss>
      """.utf8)
    let e = try XCTUnwrap(try FeedParser.parse(feed).feed.entries.first)
    XCTAssertEqual(e.summary?.value, "We’re open – come <b>in</b>")
    // The XML parser turns `&#146;` into U+0092; normalisation reads it as windows-1252.
    XCTAssertEqual(e.title, "It’s “new”")
  }

  func testDescriptionStartingWithCommentKeepsText() throws {
    let feed = Data(
      """
      <rss version="2.0"><channel><title>Drupal</title><link>https://d.example.lt/</link>
      <language>lt</language>
      <item><title>A</title><description>&lt;!-- teaser --&gt;Renginys vyks rytoj</description></item>
      <item><title>B</title><description>&lt;![CDATA[Liko CDATA]]&gt; ir tekstas</description></item>
      </channel></rss>
      """.utf8)
    let entries = try FeedParser.parse(feed).feed.entries
    XCTAssertEqual(
      entries.map { $0.summary?.value }, ["Renginys vyks rytoj", "Liko CDATA ir tekstas"])
  }

  func testMathMLInContentSurvives() throws {
    let feed = Data(
      """
      <feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>Physics</title><id>urn:p</id>
      <entry><title>Mass and energy</title><id>urn:e</id>
      <content type="html">&lt;p&gt;&lt;math&gt;&lt;mi&gt;E&lt;/mi&gt;&lt;mo&gt;=&lt;/mo&gt;&lt;mi&gt;m&lt;/mi&gt;&lt;msup&gt;&lt;mi&gt;c&lt;/mi&gt;&lt;mn&gt;2&lt;/mn&gt;&lt;/msup&gt;&lt;/math&gt;&lt;svg&gt;&lt;script&gt;x()&lt;/script&gt;&lt;/svg&gt; holds&lt;/p&gt;</content>
      </entry></feed>
      """.utf8)
    let e = try XCTUnwrap(try FeedParser.parse(feed).feed.entries.first)
    XCTAssertEqual(
      e.content?.value,
      "<p><math><mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></math> holds</p>")
  }
}
