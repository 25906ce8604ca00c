import FeedModel
import FeedStore
import Foundation
import Publisher
import PublishingTestSupport
import XCTest

/// The HTML page shows plain-text summaries as text: escaped, never through the tag stripper.
final class HTMLSummaryTests: XCTestCase {
  static let t0 = Date(timeIntervalSince1970: 1_790_000_000)

  func page(_ summaries: [Text?]) async throws -> String {
    let store = MemoryStore(sources: [
      SourceState(id: "s", url: "https://s.example.lt/feed", title: "Šaltinis")
    ])
    for (i, summary) in summaries.enumerated() {
      store.add(
        sourceID: "s",
        entry: Entry(
          title: "Įrašas \(i)", link: "https://s.example.lt/\(i)", summary: summary),
        sortDate: Self.t0.addingTimeInterval(Double(-i * 60)))
    }
    let publisher = Publisher(store: store, options: Sample.options())
    let doc = try await publisher.document(path: "/", query: [:])
    return Sample.string(doc)
  }

  /// The text of the `<p>` that follows the meta line of the article titled `title`.
  func summaryParagraph(_ html: String, _ title: String) throws -> String {
    let article = try XCTUnwrap(
      html.components(separatedBy: "<article").first { $0.contains(">\(title)</a></h3>") }, title)
    let meta = try XCTUnwrap(article.range(of: "<p class=\"meta\">"))
    let afterMeta = article[meta.upperBound...]
    let metaEnd = try XCTUnwrap(afterMeta.range(of: "</p>\n"))
    let rest = afterMeta[metaEnd.upperBound...]
    guard rest.hasPrefix("<p>"), let end = rest.range(of: "</p>") else { return "" }
    return String(rest[rest.index(rest.startIndex, offsetBy: 3)..<end.lowerBound])
  }

  func testPlainTextSummariesAreEscapedNotStripped() async throws {
    let html = try await page([
      .text("a < b and c > d"),
      .text("<not a tag> & <b>not bold</b>\n\n  spaced   out"),
      .html("<p>Apie <b>DI</b> &amp; pramonę</p>"),
      .text("x<y"),
    ])
    XCTAssertEqual(try summaryParagraph(html, "Įrašas 0"), "a &lt; b and c &gt; d")
    XCTAssertEqual(
      try summaryParagraph(html, "Įrašas 1"),
      "&lt;not a tag&gt; &amp; &lt;b&gt;not bold&lt;/b&gt; spaced out",
      "text kind is shown as written, whitespace collapsed")
    // HTML kind (already sanitised) keeps the old handling: tags dropped, entities decoded and
    // the text escaped again.
    XCTAssertEqual(try summaryParagraph(html, "Įrašas 2"), "Apie DI &amp; pramonę")
    XCTAssertEqual(try summaryParagraph(html, "Įrašas 3"), "x&lt;y")
    XCTAssertFalse(html.contains("<not a tag>"), "never raw markup from a text summary")
    XCTAssertFalse(html.contains("<b>not bold"))
  }

  func testLongPlainTextIsCutOnAWordLikeHTML() async throws {
    let long = String(repeating: "žodis < kitas ", count: 60)
    let html = try await page([.text(long)])
    let p = try summaryParagraph(html, "Įrašas 0")
    XCTAssertTrue(p.hasSuffix("…"), p)
    XCTAssertTrue(p.hasPrefix("žodis &lt; kitas žodis"), p)
    let unescaped = p.replacingOccurrences(of: "&lt;", with: "<")
    XCTAssertLessThanOrEqual(unescaped.count, 401)
    XCTAssertFalse(unescaped.dropLast().hasSuffix(" "))
  }
}
