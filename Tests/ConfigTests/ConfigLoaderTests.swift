import Config
import FeedModel
import Foundation
import TestSupport
import XCTest

/// Loading valid configurations: the full fixture with drop-ins, defaults, path resolution.
final class ConfigLoaderTests: XCTestCase {
  let fixtureDir = TestSupport.fixture("ConfigTests", "valid")

  func testFullConfigWithDropIns() throws {
    let settings = try ConfigLoader.load(
      path: fixtureDir.appendingPathComponent("clusterwire.toml").path)

    XCTAssertEqual(settings.server.host, "::1")
    XCTAssertEqual(settings.server.port, 9090)
    XCTAssertEqual(settings.server.listen, "[::1]:9090")
    XCTAssertEqual(settings.server.baseURL.absoluteString, "https://news.example.org/klasteriai/")

    XCTAssertEqual(
      settings.store.path, fixtureDir.appendingPathComponent("state/clusterwire.sqlite").path)
    XCTAssertEqual(settings.store.maxEntries, 200)
    XCTAssertEqual(settings.store.maxAge, 90 * 86_400)
    XCTAssertEqual(settings.store.duplicateWindow, 3 * 86_400)

    XCTAssertEqual(settings.feed.title, "Lietuvos klasterių naujienos")
    XCTAssertEqual(settings.feed.subtitle, "Visų klasterių naujienos vienoje vietoje")
    XCTAssertEqual(settings.feed.author, "Lietuvos klasterių tinklas")
    XCTAssertEqual(settings.feed.entries, 30)
    XCTAssertEqual(settings.feed.language, "lt")

    XCTAssertEqual(settings.crawl.interval, 5400)
    XCTAssertEqual(settings.crawl.timeout, 45)
    XCTAssertEqual(settings.crawl.connectTimeout, 5)
    XCTAssertEqual(settings.crawl.maxBody, 512 * 1024)
    XCTAssertEqual(settings.crawl.perHost, 3)
    XCTAssertEqual(settings.crawl.concurrency, 8)
    XCTAssertEqual(
      settings.crawl.userAgent, "clusterwire-test/1.0 (+https://news.example.org/about)")
    XCTAssertEqual(settings.crawl.backoffMax, 12 * 3600)
    XCTAssertEqual(settings.log.level, "debug")

    // Main file first, then drop-ins in sorted file order (README.txt is not matched).
    XCTAssertEqual(
      settings.sources.map(\.id),
      ["klaster-lt", "demo-local", "fintech-hub", "bare-path", "klaster-lt-naujienos"])
    XCTAssertEqual(
      settings.files,
      [
        fixtureDir.appendingPathComponent("clusterwire.toml").path,
        fixtureDir.appendingPathComponent("sources.d/10-members.toml").path,
        fixtureDir.appendingPathComponent("sources.d/20-html.toml").path,
      ])

    let klaster = settings.sources[0]
    XCTAssertEqual(klaster.url, "https://klaster.lt/feed/")
    XCTAssertEqual(klaster.kind, .feed)
    XCTAssertEqual(klaster.title, "Klaster.lt")
    XCTAssertEqual(klaster.categories, ["network", "ecosystem"])
    XCTAssertEqual(klaster.priority, 10)
    XCTAssertEqual(klaster.interval, 3600)
    XCTAssertTrue(klaster.enabled)
    XCTAssertNil(klaster.selectors)

    let local = settings.sources[1]
    let demoPath = fixtureDir.appendingPathComponent("demo/local.xml").resolvingSymlinksInPath()
      .path
    XCTAssertTrue(local.url.hasPrefix("file:///"), local.url)
    XCTAssertEqual(URL(string: local.url)?.resolvingSymlinksInPath().path, demoPath)
    XCTAssertFalse(local.enabled)
    XCTAssertEqual(local.interval, 5400, "no override: the global crawl interval")
    XCTAssertEqual(local.language, "en")

    let fintech = settings.sources[2]
    XCTAssertEqual(fintech.userAgent, "clusterwire-special/1.0")
    XCTAssertEqual(fintech.categories, ["fintech", "ict"])
    XCTAssertEqual(fintech.priority, 0)

    // A bare relative path in a drop-in resolves against the drop-in's own directory.
    XCTAssertEqual(URL(string: settings.sources[3].url)?.resolvingSymlinksInPath().path, demoPath)
    XCTAssertTrue(settings.sources[3].url.hasPrefix("file:///"), settings.sources[3].url)

    let html = settings.sources[4]
    XCTAssertEqual(html.kind, .html)
    let selectors = try XCTUnwrap(html.selectors)
    XCTAssertEqual(selectors.item, "//article")
    XCTAssertEqual(selectors.title, ".//h2")
    XCTAssertEqual(selectors.link, ".//h2/a/@href")
    XCTAssertEqual(selectors.date, ".//time | .//*[contains(@class,'date')]")
    XCTAssertEqual(selectors.summary, ".//p[1]")
    XCTAssertNil(selectors.content, "\"\" means not set")
    XCTAssertNil(selectors.author)
    XCTAssertNil(selectors.categories)
    XCTAssertNil(selectors.id)
    XCTAssertEqual(selectors.dateLocale, "en", "defaults to the source's language when supported")
    XCTAssertEqual(selectors.dateFormat, "yyyy-MM-dd")
    XCTAssertEqual(selectors.timeZone, "Europe/Riga")
  }

  func testSummary() throws {
    let settings = try ConfigLoader.load(
      path: fixtureDir.appendingPathComponent("clusterwire.toml").path)
    let summary = settings.summary()
    XCTAssertTrue(summary.contains("listen:      [::1]:9090"), summary)
    XCTAssertTrue(summary.contains("base URL:    https://news.example.org/klasteriai/"), summary)
    XCTAssertTrue(
      summary.contains(fixtureDir.appendingPathComponent("state/clusterwire.sqlite").path), summary)
    XCTAssertTrue(summary.contains("sources:     5 (4 enabled, 1 disabled)"), summary)
    XCTAssertTrue(summary.contains("  feed:      3 enabled, 1 disabled"), summary)
    XCTAssertTrue(summary.contains("  html:      1 enabled, 0 disabled"), summary)
    XCTAssertTrue(summary.contains("  network: 2 enabled\n"), summary)
    XCTAssertTrue(summary.contains("  demo: 0 enabled, 1 disabled"), summary)
    XCTAssertTrue(summary.contains("  (none): 1 enabled"), summary)
    XCTAssertTrue(summary.contains("every 1h30m"), summary)
    XCTAssertTrue(summary.contains("max body 512KiB"), summary)
    XCTAssertTrue(summary.contains("sources.d/20-html.toml"), summary)
  }

  func testDefaults() throws {
    let dir = try TestSupport.makeTempDirectory("config-defaults")
    defer { try? FileManager.default.removeItem(at: dir) }
    let main = dir.appendingPathComponent("c.toml")
    try """
    [[source]]
    id = "a"
    url = "https://a.example/feed"

    [[source]]
    id = "b"
    url = "https://b.example/"
    kind = "html"
    [source.select]
    item = "//li"
    title = "a"
    link = "a/@href"
    """.write(to: main, atomically: true, encoding: .utf8)
    let settings = try ConfigLoader.load(path: main.path)
    XCTAssertEqual(settings.server.host, "127.0.0.1")
    XCTAssertEqual(settings.server.port, 8080)
    XCTAssertEqual(settings.server.baseURL.absoluteString, "http://127.0.0.1:8080/")
    XCTAssertEqual(
      settings.store.path, dir.appendingPathComponent("clusterwire.sqlite").standardizedFileURL.path
    )
    XCTAssertEqual(settings.store.maxEntries, 500)
    XCTAssertEqual(settings.store.maxAge, 365 * 86_400)
    XCTAssertEqual(settings.store.duplicateWindow, 7 * 86_400)
    XCTAssertEqual(settings.feed.entries, 50)
    XCTAssertEqual(settings.feed.language, "lt")
    XCTAssertEqual(settings.feed.title, "clusterwire")
    XCTAssertNil(settings.feed.subtitle)
    XCTAssertEqual(settings.crawl.interval, 1800)
    XCTAssertEqual(settings.crawl.timeout, 30)
    XCTAssertEqual(settings.crawl.connectTimeout, 10)
    XCTAssertEqual(settings.crawl.maxBody, 10 * 1024 * 1024)
    XCTAssertEqual(settings.crawl.perHost, 2)
    XCTAssertEqual(settings.crawl.concurrency, 16)
    XCTAssertEqual(settings.crawl.backoffMax, 86_400)
    XCTAssertEqual(
      settings.crawl.userAgent,
      "clusterwire/\(ConfigLoader.clusterwireVersion) (+http://127.0.0.1:8080/)")
    XCTAssertEqual(settings.log.level, "info")
    XCTAssertEqual(settings.sources.count, 2)
    let a = settings.sources[0]
    XCTAssertEqual(a.kind, .feed)
    XCTAssertEqual(a.priority, 0)
    XCTAssertEqual(a.interval, 1800)
    XCTAssertTrue(a.enabled)
    XCTAssertEqual(a.categories, [])
    XCTAssertNil(a.title)
    XCTAssertNil(a.userAgent)
    let selectors = try XCTUnwrap(settings.sources[1].selectors)
    XCTAssertEqual(selectors.dateLocale, "lt")
    XCTAssertEqual(selectors.timeZone, "Europe/Vilnius")
    XCTAssertNil(selectors.dateFormat)
    XCTAssertNil(selectors.date)
    XCTAssertEqual(settings.files, [main.standardizedFileURL.path])
  }

  func testDefaultUserAgentUsesBaseURL() throws {
    let dir = try TestSupport.makeTempDirectory("config-ua")
    defer { try? FileManager.default.removeItem(at: dir) }
    let main = dir.appendingPathComponent("c.toml")
    try "[server]\nlisten = \"0.0.0.0:80\"\nbase_url = \"https://news.example.org/\"\n"
      .write(to: main, atomically: true, encoding: .utf8)
    let settings = try ConfigLoader.load(path: main.path)
    XCTAssertEqual(settings.server.host, "0.0.0.0")
    XCTAssertEqual(settings.server.port, 80)
    XCTAssertEqual(
      settings.crawl.userAgent,
      "clusterwire/\(ConfigLoader.clusterwireVersion) (+https://news.example.org/)")
  }

  func testRelativePathResolution() throws {
    let dir = try TestSupport.makeTempDirectory("config-paths")
    defer { try? FileManager.default.removeItem(at: dir) }
    let fm = FileManager.default
    try fm.createDirectory(
      at: dir.appendingPathComponent("etc/d"), withIntermediateDirectories: true)
    try fm.createDirectory(
      at: dir.appendingPathComponent("etc/demo dir"), withIntermediateDirectories: true)
    try "<rss/>".write(
      to: dir.appendingPathComponent("etc/demo dir/x.xml"), atomically: true, encoding: .utf8)
    try """
    include = ["d/*.toml"]
    [store]
    path = "../var/db.sqlite"
    [[source]]
    id = "file-scheme"
    url = "file:demo%20dir/x.xml"
    [[source]]
    id = "bare"
    url = "./demo dir/../demo dir/x.xml"
    [[source]]
    id = "absolute"
    url = "file:///srv/feeds/a.xml"
    [[source]]
    id = "absolute-bare"
    url = "/srv/feeds/b.xml"
    [[source]]
    id = "localhost"
    url = "file://localhost/srv/feeds/c.xml"
    """.write(to: dir.appendingPathComponent("etc/main.toml"), atomically: true, encoding: .utf8)
    try """
    [[source]]
    id = "from-drop-in"
    url = "file:../demo%20dir/x.xml"
    """.write(to: dir.appendingPathComponent("etc/d/a.toml"), atomically: true, encoding: .utf8)

    // Load through a relative path from another working directory: results are absolute anyway.
    let previous = fm.currentDirectoryPath
    XCTAssertTrue(fm.changeCurrentDirectoryPath(dir.path))
    defer { _ = fm.changeCurrentDirectoryPath(previous) }
    let settings = try ConfigLoader.load(path: "etc/main.toml")

    let x = dir.appendingPathComponent("etc/demo dir/x.xml").standardizedFileURL.absoluteString
    XCTAssertTrue(x.hasPrefix("file:///") && x.hasSuffix("/etc/demo%20dir/x.xml"), x)
    let urls = Dictionary(uniqueKeysWithValues: settings.sources.map { ($0.id, $0.url) })
    XCTAssertEqual(urls["file-scheme"], x)
    XCTAssertEqual(urls["bare"], x)
    XCTAssertEqual(urls["from-drop-in"], x)
    XCTAssertEqual(urls["absolute"], "file:///srv/feeds/a.xml")
    XCTAssertEqual(urls["absolute-bare"], "file:///srv/feeds/b.xml")
    XCTAssertEqual(urls["localhost"], "file:///srv/feeds/c.xml")
    XCTAssertEqual(
      settings.store.path, dir.appendingPathComponent("var/db.sqlite").standardizedFileURL.path)
    XCTAssertTrue(settings.store.path.hasPrefix("/"))
    XCTAssertEqual(settings.files.count, 2)
    XCTAssertTrue(settings.files.allSatisfy { $0.hasPrefix("/") })
  }

  func testIncludeAcceptsStringAndMissingGlobIsFine() throws {
    let dir = try TestSupport.makeTempDirectory("config-include")
    defer { try? FileManager.default.removeItem(at: dir) }
    try "include = \"conf.d/*.toml\"\n".write(
      to: dir.appendingPathComponent("main.toml"), atomically: true, encoding: .utf8)
    let settings = try ConfigLoader.load(path: dir.appendingPathComponent("main.toml").path)
    XCTAssertEqual(settings.sources, [])
    XCTAssertEqual(settings.files.count, 1)
  }
}
