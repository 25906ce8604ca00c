import FeedModel
import Foundation
import XCTest

@testable import FeedParser

/// Issue 13, class 5: an entry whose feed and elements declare no language gets one detected
/// from its text (libexttextcat); a declared language is never second-guessed.
final class LanguageStepTests: XCTestCase {
  override func setUpWithError() throws {
    LibXML.bootstrap()
    try XCTSkipUnless(
      LanguageStep.isAvailable || ProcessInfo.processInfo.environment["CI"] == "true",
      "libexttextcat-data is not installed")
  }

  /// A WordPress RSS 2.0 feed with no `<language>` (a plugin strips it), one English and one
  /// Lithuanian post, one post too short to tell, one with a `dc:language` of its own.
  static let wordpress = """
    <?xml version="1.0" encoding="UTF-8"?>
    <rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
      xmlns:dc="http://purl.org/dc/elements/1.1/">
    <channel>
      <title>Lazerių klasteris</title><link>https://laser.example.lt/</link>
      <description>Naujienos</description>
      <generator>https://wordpress.org/?v=6.4.2</generator>
      <item>
        <title>Cluster members meet investors in Vilnius</title>
        <link>https://laser.example.lt/2026/11/investors/</link>
        <guid isPermaLink="false">https://laser.example.lt/?p=101</guid>
        <description><![CDATA[<p>The cluster brings together manufacturers and research institutes
          to develop new laser technologies for the automotive industry.</p>]]></description>
        <content:encoded><![CDATA[<p>The cluster brings together manufacturers and research
          institutes to develop new laser technologies for the automotive industry, and invites
          members to the annual meeting with investors in Vilnius next month.</p>]]></content:encoded>
      </item>
      <item>
        <title>Klasterio nariai susitiko su investuotojais</title>
        <link>https://laser.example.lt/2026/11/investuotojai/</link>
        <guid isPermaLink="false">https://laser.example.lt/?p=102</guid>
        <description><![CDATA[<p>Klasteris vienija gamintojus ir mokslo institutus, kurie kartu
          kuria naujas lazerių technologijas automobilių pramonei, ir kviečia narius į metinį
          susirinkimą.</p>]]></description>
      </item>
      <item>
        <title>Foto</title><link>https://laser.example.lt/2026/11/foto/</link>
        <guid isPermaLink="false">https://laser.example.lt/?p=103</guid>
        <description><![CDATA[<img src="/a.jpg" alt=""/>]]></description>
      </item>
      <item>
        <title>Cluster members meet investors in Riga</title>
        <link>https://laser.example.lt/2026/11/riga/</link>
        <guid isPermaLink="false">https://laser.example.lt/?p=104</guid>
        <dc:language>lv</dc:language>
        <description>The cluster brings together manufacturers and research institutes to develop
          new laser technologies for the automotive industry.</description>
      </item>
    </channel>
    </rss>
    """

  func testEntriesWithoutLanguageGetTheOneTheirTextIsIn() throws {
    let feed = try FeedParser.parse(Data(Self.wordpress.utf8)).feed
    XCTAssertNil(feed.language)
    XCTAssertEqual(feed.entries.count, 4)
    XCTAssertEqual(feed.entries[0].language, "en")
    XCTAssertEqual(feed.entries[1].language, "lt")
    XCTAssertNil(feed.entries[2].language, "too little text: the source's language decides")
    XCTAssertEqual(feed.entries[3].language, "lv", "a declared language is kept as declared")
  }

  func testAFeedLanguageIsNotSecondGuessed() throws {
    let declared = Self.wordpress.replacingOccurrences(
      of: "<description>Naujienos</description>",
      with: "<description>Naujienos</description><language>lt-LT</language>")
    let feed = try FeedParser.parse(Data(declared.utf8)).feed
    XCTAssertEqual(feed.language, "lt-LT")
    XCTAssertNil(feed.entries[0].language, "the feed's own declaration applies to its entries")
  }

  /// A language declared on an element only (`xml:lang` on a title or content) counts as
  /// declared: not detected. (Built in memory: the SAX reader fills these fields.)
  func testElementLanguageCountsAsDeclared() {
    let lead =
      "The cluster brings together manufacturers and research institutes to develop new laser "
      + "technologies for the automotive industry."
    var feed = Feed(
      title: "F",
      entries: [
        Entry(id: "1", title: "Der Cluster", summary: .text(lead), titleLanguage: "de"),
        Entry(id: "2", title: "Cluster", content: Text(type: .html, value: lead, language: "de")),
        Entry(id: "3", title: "Cluster news", summary: .text(lead)),
      ])
    LanguageStep.detectMissing(in: &feed)
    XCTAssertEqual(feed.entries.map(\.language), [nil, nil, "en"])
  }
}
