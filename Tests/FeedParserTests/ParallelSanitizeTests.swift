import FeedModel
import FeedParser
import Foundation
import TestSupport
import XCTest

/// Issue 17: a document's entries are sanitised on several threads, and the result must be the
/// serial one — the same values in the same order, whatever the number of threads.
final class ParallelSanitizeTests: XCTestCase {
  private func parse(_ data: Data, workers: Int, contentType: String? = nil) throws -> ParsedFeed {
    try FeedParser.parse(
      data, contentType: contentType, baseURL: URL(string: "https://narys.example.lt/feed/"),
      options: ParseOptions(sanitizeWorkers: workers))
  }

  /// 150 items whose HTML exercises the sanitiser: relative links and images against the item's
  /// base, scripts and event handlers, entities, tables, an `itunes:summary` fallback, a
  /// `media:description`, and plain text.
  static func busyFeed() -> Data {
    var s = """
      <?xml version="1.0" encoding="utf-8"?>
      <rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
        xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
        xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Narys</title>
      <link>https://narys.example.lt/</link>
      """
    for i in 0..<150 {
      s += "<item><title>Naujiena \(i)</title><link>https://narys.example.lt/n/\(i)</link>"
      switch i % 5 {
      case 0:
        s += """
          <description><![CDATA[<p onclick="x()">Apie <b>\(i)</b> &amp; <a href="/n/\(i)">daugiau</a>\
          <script>alert(\(i))</script><img src="img/\(i).png"></p>]]></description>
          """
      case 1:
        s += """
          <content:encoded><![CDATA[<table><tr><td>\(i)</td><td><a href="javascript:x()">x</a>\
          </td></tr></table><p>Skaityti daugiau &raquo;</p>]]></content:encoded>
          """
      case 2:
        s += "<itunes:summary>&lt;p&gt;Epizodas \(i)&lt;/p&gt;</itunes:summary>"
      case 3:
        s += """
          <description>Paprastas tekstas \(i)</description>\
          <media:content url="https://narys.example.lt/v/\(i).mp4"><media:description type="html">\
          &lt;i&gt;Vaizdo įrašas&lt;/i&gt; \(i) &lt;iframe src="https://x"&gt;&lt;/iframe&gt;\
          </media:description></media:content>
          """
      default:
        s += "<description>&lt;div&gt;&lt;p&gt;Nebaigta \(i)&lt;ul&gt;&lt;li&gt;a</description>"
      }
      s += "</item>"
    }
    return Data((s + "</channel></rss>").utf8)
  }

  func testABusyDocumentIsTheSameOnOneAndOnManyThreads() throws {
    let data = Self.busyFeed()
    let serial = try parse(data, workers: 1)
    XCTAssertEqual(serial.feed.entries.count, 150)
    XCTAssertFalse(serial.feed.entries[0].summary?.value.contains("script") ?? true)
    for workers in [2, 3, 7, 64] {
      let parallel = try parse(data, workers: workers)
      XCTAssertEqual(parallel, serial, "\(workers) threads")
    }
  }

  func testEveryFixtureIsTheSameOnOneAndOnManyThreads() throws {
    let dir = TestSupport.fixture("FeedParserTests", "feeds")
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    XCTAssertGreaterThan(names.count, 20)
    for name in names {
      let data = try Data(contentsOf: dir.appendingPathComponent(name))
      let serial = try? parse(data, workers: 1)
      let parallel = try? parse(data, workers: 4)
      XCTAssertEqual(parallel, serial, name)
    }
  }
}
