import Foundation
import TestSupport
import XCTest

/// `clusterwire resanitize` through the real binary (issue 17): on a store the crawler just
/// filled, every entry is already under the current sanitiser policy (nothing to do), and
/// re-sanitising all of them anyway changes nothing (the sanitiser is idempotent on its own
/// output). The rewrite of older-policy rows is tested in the store and parser suites.
final class ResanitizeCommandTests: XCTestCase {
  func testResanitizeOnAFreshlyCrawledStoreRewritesNothing() throws {
    let dir = try TestSupport.makeTempDirectory("cw-resanitize")
    defer { try? FileManager.default.removeItem(at: dir) }
    var items = ""
    for i in 0..<12 {
      items += """
        <item><title>Naujiena \(i)</title><link>https://narys.example.lt/n/\(i)</link>
        <guid>n-\(i)</guid><pubDate>Tue, 0\(1 + i % 9) Dec 2026 10:00:00 +0200</pubDate>
        <description><![CDATA[<p onclick="x()">Apie <a href="/n/\(i)">renginį</a> &amp; kita\
        <script>x()</script><img src="img/\(i).png"></p><table><tr><td>\(i)</td></tr></table>]]>\
        </description></item>
        """
    }
    try """
    <?xml version="1.0" encoding="utf-8"?>
    <rss version="2.0"><channel><title>Narys</title><link>https://narys.example.lt/</link>
    \(items)</channel></rss>
    """.write(to: dir.appendingPathComponent("narys.xml"), atomically: true, encoding: .utf8)
    let config = dir.appendingPathComponent("clusterwire.toml")
    try """
    [store]
    path = "state/clusterwire.sqlite"
    [feed]
    title = "Testas"
    author = "Testas"
    [[source]]
    id = "narys"
    url = "narys.xml"
    """.write(to: config, atomically: true, encoding: .utf8)
    let binary = TestSupport.clusterwireBinary
    let crawl = try TestSupport.run(binary, ["crawl", "--once", "--config", config.path])
    XCTAssertEqual(crawl.status, 0, crawl.stderrString)
    XCTAssertTrue(
      crawl.stderrString.contains("html=12-sanitised/0-reused"), "the first parse sanitises all")

    let current = try TestSupport.run(binary, ["resanitize", "--config", config.path])
    XCTAssertEqual(current.status, 0, current.stderrString)
    XCTAssertTrue(
      current.stdoutString.contains("12 stored entries read, 0 rewritten"), current.stdoutString)
    let all = try TestSupport.run(binary, ["resanitize", "--all", "--config", config.path])
    XCTAssertEqual(all.status, 0, all.stderrString)
    XCTAssertTrue(
      all.stdoutString.contains("12 stored entries read, 0 rewritten"),
      "the sanitiser's output is a fixed point: \(all.stdoutString)")

    let bad = try TestSupport.run(
      binary, ["resanitize", "--config", dir.appendingPathComponent("nope.toml").path])
    XCTAssertNotEqual(bad.status, 0)
  }
}
