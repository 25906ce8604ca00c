import Foundation
import TestSupport
import XCTest

/// The newcomer's path, end to end through the built binary: the bundled demo network
/// (`feeds/demo.toml`) under a fake systemd, its merged feed, page and metrics, a drop-in source
/// added with SIGHUP, and a clean SIGTERM.
final class DemoEndToEndTests: XCTestCase {
  func testDemoNetwork() throws {
    let dir = try TestSupport.makeTempDirectory("cw-demo")
    defer { try? FileManager.default.removeItem(at: dir) }
    // A private copy of feeds/: the test adds a drop-in and must not touch the repo.
    let feeds = dir.appendingPathComponent("feeds")
    try FileManager.default.copyItem(
      at: TestSupport.packageRoot.appendingPathComponent("feeds"), to: feeds)
    let port = TestSupport.freePort()
    let configURL = feeds.appendingPathComponent("demo.toml")
    var config = try String(contentsOf: configURL, encoding: .utf8)
    config = config.replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(port)")
    config = config.replacingOccurrences(
      of: #"(?m)^path = .*$"#, with: "path = \"\(dir.path)/state/demo.sqlite\"",
      options: .regularExpression)
    try config.write(to: configURL, atomically: true, encoding: .utf8)

    let notify = try NotifySocket(directory: dir)
    defer { notify.close() }
    var env = ProcessInfo.processInfo.environment
    env["NOTIFY_SOCKET"] = notify.path
    let process = try TestSupport.spawn(
      TestSupport.clusterwireBinary, ["run", "--config", configURL.path], environment: env,
      logDirectory: dir)
    defer {
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
      }
    }
    let stderr = {
      (try? String(contentsOf: dir.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
    }
    XCTAssertTrue(notify.wait(for: "READY=1", timeout: 60), "no READY=1:\n\(stderr())")

    func get(_ path: String) -> String? {
      guard let r = TestSupport.httpGet(port: port, path: path), r.status == 200 else { return nil }
      return String(decoding: r.body, as: UTF8.self)
    }
    let storyA = "Klasterių forumas 2026: daugiau nei 300 dalyvių ir 40 tarptautinių partnerių"
    let scraped = "Kolaboratyvūs robotai baldų gamyboje: klasterio bandomasis projektas"
    // Start-up spreads the first fetches over a few seconds: wait until no source is still
    // waiting for its first fetch (the failing one included) and the copies of story A merged.
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 90) {
        guard let atom = get("/feed.atom"), let page = get("/") else { return false }
        return atom.contains(storyA) && atom.contains(scraped) && page.contains("gone-member.xml")
          && !page.contains("laukia pirmojo nuskaitymo")
          && atom.components(separatedBy: "<entry").contains {
            $0.contains(storyA) && $0.contains("rel=\"related\"")
          }
      }, "the demo's stories never appeared merged:\n\(stderr())")

    let atom = try XCTUnwrap(get("/feed.atom"))
    // Story A was published by three sources: shown once, from the network's own site, naming the others.
    XCTAssertEqual(
      atom.components(separatedBy: "<title type=\"text\">\(storyA)</title>").count - 1, 1, atom)
    let entryA = try XCTUnwrap(atom.components(separatedBy: "<entry").first { $0.contains(storyA) })
    // The preferred copy is the network's own (priority 100), not a member's re-post.
    let sourceA = try XCTUnwrap(entryA.components(separatedBy: "<source>").last)
    XCTAssertTrue(sourceA.contains("Lietuvos klasterių tinklas"), sourceA)
    XCTAssertTrue(
      entryA.contains(
        "<link rel=\"alternate\" href=\"https://klasteriai.example/naujienos/klasteriu-forumas-2026-rezultatai/\""
      ),
      entryA)
    XCTAssertTrue(entryA.contains("rel=\"via\"") || entryA.contains("rel=\"related\""), entryA)
    XCTAssertTrue(entryA.contains("<source>"), entryA)
    // The scraped member page made it into the merged feed with absolute links.
    let scrapedEntry = try XCTUnwrap(
      atom.components(separatedBy: "<entry").first { $0.contains(scraped) })
    XCTAssertTrue(scrapedEntry.contains("href=\"https://"), scrapedEntry)

    // The page reports the failing and the malformed source.
    let page = try XCTUnwrap(get("/"))
    XCTAssertTrue(page.contains("lang=\"lt\""))
    XCTAssertTrue(page.contains("gone-member.xml"), "failing source not reported")
    XCTAssertTrue(page.contains("malformed"), "malformed source not reported")
    XCTAssertTrue(page.contains("/categories/energy-construction.atom"))

    // Sub-feeds and metrics.
    XCTAssertNotNil(get("/categories/manufacturing.atom")?.contains(scraped))
    XCTAssertNotNil(get("/sources/eccp.atom"))
    let metrics = try XCTUnwrap(get("/metrics"))
    XCTAssertTrue(metrics.contains("clusterwire_entries_stored"), metrics)
    XCTAssertTrue(metrics.contains("clusterwire_source_consecutive_failures"), metrics)

    // An admin drops in a new member and reloads.
    let spare = feeds.appendingPathComponent("demo/spare/vandenilio-klasteris.toml")
    try FileManager.default.copyItem(
      at: spare, to: feeds.appendingPathComponent("demo/sources.d/vandenilio-klasteris.toml"))
    kill(process.processIdentifier, SIGHUP)
    XCTAssertTrue(notify.wait(for: "RELOADING=1", timeout: 10))
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 90) {
        get("/sources/vandenilio-klasteris.atom")?.contains("Elektrolizerių bandymai Jonavoje")
          ?? false
      }, "the dropped-in source never appeared:\n\(stderr())")

    kill(process.processIdentifier, SIGTERM)
    XCTAssertTrue(notify.wait(for: "STOPPING=1", timeout: 15))
    XCTAssertTrue(TestSupport.waitUntil(timeout: 15) { !process.isRunning })
    XCTAssertEqual(process.terminationStatus, 0, stderr())
  }

  /// The cron path: `crawl --once`, `status`, then a static `export` for nginx.
  func testCrawlOnceStatusAndExport() throws {
    let dir = try TestSupport.makeTempDirectory("cw-export")
    defer { try? FileManager.default.removeItem(at: dir) }
    let feeds = dir.appendingPathComponent("feeds")
    try FileManager.default.copyItem(
      at: TestSupport.packageRoot.appendingPathComponent("feeds"), to: feeds)
    let config = feeds.appendingPathComponent("demo.toml").path
    let bin = TestSupport.clusterwireBinary

    let crawl = try TestSupport.run(bin, ["crawl", "--once", "--config", config])
    XCTAssertEqual(crawl.status, 0, crawl.stderrString)
    XCTAssertTrue(crawl.stdoutString.contains("crawled 13 sources"), crawl.stdoutString)
    XCTAssertTrue(crawl.stdoutString.contains("1 failed"), crawl.stdoutString)

    let status = try TestSupport.run(bin, ["status", "--config", config])
    XCTAssertEqual(status.status, 0, status.stderrString)
    let failing = try XCTUnwrap(
      status.stdoutString.split(separator: "\n").first { $0.hasPrefix("gyvybes-mokslai") })
    XCTAssertTrue(failing.contains("failing"), String(failing))
    XCTAssertTrue(failing.contains("gone-member.xml"), String(failing))
    XCTAssertTrue(status.stdoutString.contains("seen in several sources"), status.stdoutString)

    let out = dir.appendingPathComponent("public")
    let export = try TestSupport.run(bin, ["export", "--config", config, "--out", out.path])
    XCTAssertEqual(export.status, 0, export.stderrString)
    for path in [
      "feed.atom", "feed.rss", "feed.json", "sources.opml", "index.html",
      "categories/manufacturing.atom", "sources/eccp.atom", "languages/en.atom",
    ] {
      XCTAssertTrue(
        FileManager.default.fileExists(atPath: out.appendingPathComponent(path).path),
        "\(path) not exported: \(export.stdoutString)")
    }
    let atom = try String(contentsOf: out.appendingPathComponent("feed.atom"), encoding: .utf8)
    XCTAssertTrue(atom.hasPrefix("<?xml"), String(atom.prefix(100)))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.path)
      .filter { ($0.hasPrefix(".") && $0 != ".clusterwire-export") || $0.hasSuffix(".tmp") }
    XCTAssertEqual(leftovers, [], "temporary files left behind")
  }
}
