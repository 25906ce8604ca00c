import Foundation
import TestSupport
import XCTest

/// Sources without a feed, through the built binary: `try-source`, `parse --html`, and a page that
/// changes its markup under a running store.
final class HTMLSourceTests: XCTestCase {
  var dir: URL!

  override func setUpWithError() throws {
    dir = try TestSupport.makeTempDirectory("cw-html")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: dir)
  }

  static let listing = """
    <!DOCTYPE html><html lang="lt"><head><meta charset="utf-8"><title>Naujienos</title>
    <link rel="canonical" href="https://nariai.example/naujienos/"></head><body>
    <main>
    <article class="post"><h2><a href="/naujienos/pirma/">Pirma naujiena</a></h2>
      <span class="date">02 birželio d., 2026</span>
      <p>Klasterio nariai susitiko Kaune&hellip; <a href="/naujienos/pirma/">Skaityti daugiau</a></p></article>
    <article class="post"><h2><a href="antra/">Antra naujiena</a></h2>
      <span class="date">2026 m. gegužės 28 d.</span>
      <p>Paroda Vilniuje …</p></article>
    <article class="post"><h2><a href="https://kitas.example/trecia">Trečia naujiena</a></h2>
      <p>Be datos.</p></article>
    </main></body></html>
    """

  func writeConfig(page: String) throws -> URL {
    try page.write(to: dir.appendingPathComponent("page.html"), atomically: true, encoding: .utf8)
    let config = """
      [server]
      listen = "127.0.0.1:18099"
      base_url = "http://127.0.0.1:18099/"
      [store]
      path = "state.sqlite"
      [[source]]
      id = "nariai"
      url = "page.html"
      kind = "html"
      [source.select]
      item = "//article"
      title = ".//h2"
      link = ".//h2/a/@href"
      date = ".//*[contains(@class,'date')]"
      summary = ".//p[1]"
      """
    let url = dir.appendingPathComponent("c.toml")
    try config.write(to: url, atomically: true, encoding: .utf8)
    return url
  }

  func testTrySourcePrintsEntriesAndWarnings() throws {
    let config = try writeConfig(page: Self.listing)
    let r = try TestSupport.run(
      TestSupport.clusterwireBinary, ["try-source", "nariai", "--config", config.path])
    XCTAssertEqual(r.status, 0, r.stderrString)
    XCTAssertTrue(r.stdoutString.contains("nariai: 3 entries"), r.stdoutString)
    XCTAssertTrue(r.stdoutString.contains("2026-06-01T21:00:00Z  Pirma naujiena"), r.stdoutString)
    XCTAssertTrue(r.stdoutString.contains("2026-05-27T21:00:00Z  Antra naujiena"), r.stdoutString)
    XCTAssertTrue(r.stderrString.contains("date not parsed on 1 of 3 items"), r.stderrString)
    // Read from disk, the page's links resolve against its canonical address, not file:.
    for path in ["pirma", "antra"] {
      let link = "https://nariai.example/naujienos/\(path)/"
      XCTAssertTrue(r.stdoutString.contains(link), r.stdoutString)
    }
    // The lead lost its "…" + "Skaityti daugiau" tail.
    XCTAssertTrue(
      r.stdoutString.contains("\"value\" : \"Klasterio nariai susitiko Kaune\""), r.stdoutString)
    let unknown = try TestSupport.run(
      TestSupport.clusterwireBinary, ["try-source", "nera", "--config", config.path])
    XCTAssertNotEqual(unknown.status, 0)
    XCTAssertTrue(unknown.stderrString.contains("no source 'nera'"), unknown.stderrString)
  }

  func testParseHTMLWithSelectorOptions() throws {
    let page = dir.appendingPathComponent("p.html")
    try Self.listing.write(to: page, atomically: true, encoding: .utf8)
    let r = try TestSupport.run(
      TestSupport.clusterwireBinary,
      [
        "parse", "--html", page.path, "--base", "https://nariai.example/naujienos/", "--item",
        "//article",
        "--title", ".//h2", "--link", ".//h2/a/@href", "--date", ".//*[contains(@class,'date')]",
        "--summary", ".//p[1]",
      ])
    XCTAssertEqual(r.status, 0, r.stderrString)
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
    XCTAssertEqual(json["format"] as? String, "html")
    let entries = try XCTUnwrap(json["entries"] as? [[String: Any]])
    XCTAssertEqual(
      entries.map { $0["link"] as? String },
      [
        "https://nariai.example/naujienos/pirma/", "https://nariai.example/naujienos/antra/",
        "https://kitas.example/trecia",
      ])
    let missing = try TestSupport.run(
      TestSupport.clusterwireBinary, ["parse", "--html", page.path, "--item", "//article"])
    XCTAssertNotEqual(missing.status, 0)
    XCTAssertTrue(missing.stderrString.contains("--title"), missing.stderrString)
  }

  func testChangedMarkupIsAHealthErrorAndStoredEntriesStay() throws {
    let config = try writeConfig(page: Self.listing)
    let first = try TestSupport.run(
      TestSupport.clusterwireBinary, ["crawl", "--once", "--config", config.path])
    XCTAssertEqual(first.status, 0, first.stderrString)
    XCTAssertTrue(first.stdoutString.contains("3 new entries"), first.stdoutString)

    // (Dates within the default 365-day retention, so all three are kept.)
    // The site is redesigned: no <article> any more.
    try "<html><body><div class=\"news\"><h3>Nauja</h3></div></body></html>"
      .write(to: dir.appendingPathComponent("page.html"), atomically: true, encoding: .utf8)
    let second = try TestSupport.run(
      TestSupport.clusterwireBinary, ["crawl", "--once", "--config", config.path])
    XCTAssertEqual(second.status, 0, second.stderrString)
    XCTAssertTrue(second.stdoutString.contains("1 failed"), second.stdoutString)

    let status = try TestSupport.run(
      TestSupport.clusterwireBinary, ["status", "--config", config.path])
    XCTAssertEqual(status.status, 0, status.stderrString)
    let row = try XCTUnwrap(
      status.stdoutString.split(separator: "\n").first { $0.hasPrefix("nariai") })
    XCTAssertTrue(row.contains("failing"), String(row))
    XCTAssertTrue(row.contains("matched 0 nodes"), String(row))
    XCTAssertTrue(row.contains("  3  "), "stored entries must stay: \(row)")
  }
}

/// Logs as journald wants them, through the built binary.
final class JournalLogTests: XCTestCase {
  func testPriorityPrefixesUnderJournaldAndPlainLinesOtherwise() throws {
    let dir = try TestSupport.makeTempDirectory("cw-log")
    defer { try? FileManager.default.removeItem(at: dir) }
    try
      "<rss version=\"2.0\"><channel><title>t</title><item><title>a</title><link>https://a.example/1</link></item></channel></rss>"
      .write(to: dir.appendingPathComponent("ok.xml"), atomically: true, encoding: .utf8)
    let config = dir.appendingPathComponent("c.toml")
    try """
    [server]
    listen = "127.0.0.1:18098"
    [store]
    path = "s.sqlite"
    [[source]]
    id = "ok"
    url = "ok.xml"
    [[source]]
    id = "missing"
    url = "file:missing.xml"
    """.write(to: config, atomically: true, encoding: .utf8)

    var env = ProcessInfo.processInfo.environment
    env["JOURNAL_STREAM"] = "8:12345"
    let journal = try TestSupport.run(
      TestSupport.clusterwireBinary,
      ["crawl", "--once", "--config", config.path, "--log-level", "debug"],
      environment: env)
    XCTAssertEqual(journal.status, 0, journal.stderrString)
    let lines = journal.stderrString.split(separator: "\n")
    XCTAssertFalse(lines.isEmpty)
    for line in lines {
      XCTAssertNotNil(
        line.range(of: #"^<[0-7]>"#, options: .regularExpression), "no priority prefix: \(line)")
      XCTAssertFalse(line.contains("\u{1B}["), "colour code in: \(line)")
    }
    XCTAssertTrue(
      lines.contains { $0.hasPrefix("<4>") && $0.contains("source=missing") }, journal.stderrString)
    XCTAssertTrue(
      lines.contains { $0.hasPrefix("<6>") && $0.contains("source=ok") }, journal.stderrString)
    XCTAssertTrue(
      lines.contains { $0.hasPrefix("<7>") }, "debug lines missing at --log-level debug")

    env["JOURNAL_STREAM"] = nil
    let plain = try TestSupport.run(
      TestSupport.clusterwireBinary,
      ["crawl", "--once", "--config", config.path, "--log-level", "warning"],
      environment: env)
    XCTAssertEqual(plain.status, 0)
    let plainLines = plain.stderrString.split(separator: "\n")
    XCTAssertTrue(
      plainLines.allSatisfy { !$0.hasPrefix("<") && !$0.contains("\u{1B}[") }, plain.stderrString)
    XCTAssertTrue(
      plainLines.contains { $0.contains("WARNING") && $0.contains("source=missing") },
      plain.stderrString)
    XCTAssertFalse(
      plainLines.contains { $0.contains("source=ok") }, "info lines shown at --log-level warning")

    let bad = try TestSupport.run(
      TestSupport.clusterwireBinary,
      ["crawl", "--once", "--config", config.path, "--log-level", "loud"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderrString.contains("unknown log level 'loud'"), bad.stderrString)
  }
}
