import FeedModel
import FeedParser
import Foundation
import TestSupport
import XCTest

/// Issue 13, end to end through the real binary: member feeds in the shapes that lose data
/// (a FeedBurner-proxied podcast, Blogger Atom with per-element `xml:lang`, licence links and
/// GeoRSS, a planet whose entries carry their own `atom:source`, a Lithuanian WordPress feed with an
/// English item, an old CMS emitting `&#146;`) are crawled into a fresh store and exported; the
/// merged Atom feed is then read back with the project's own parser, and checked with RELAX NG.
final class RepublishEndToEndTests: XCTestCase {
  struct Exported {
    var dir: URL
    var merged: ParsedFeed
    var atomBytes: Data
    func read(_ path: String) throws -> ParsedFeed {
      let data = try Data(contentsOf: dir.appendingPathComponent(path))
      return try FeedParser.parse(data, contentType: "application/atom+xml", baseURL: nil)
    }
  }

  static func crawlAndExport() throws -> Exported {
    let dir = try TestSupport.makeTempDirectory("cw-republish")
    let fixtures = TestSupport.packageRoot.appendingPathComponent(
      "Tests/IntegrationTests/Fixtures/republish")
    for name in try FileManager.default.contentsOfDirectory(atPath: fixtures.path) {
      try FileManager.default.copyItem(
        at: fixtures.appendingPathComponent(name), to: dir.appendingPathComponent(name))
    }
    let config = """
      [server]
      listen = "127.0.0.1:\(TestSupport.freePort())"
      base_url = "https://naujienos.example/"
      [store]
      path = "state/clusterwire.sqlite"
      [feed]
      title = "Klasterių naujienos"
      author = "Klasterių tinklas"
      language = "lt"
      [[source]]
      id = "podcast"
      url = "podcast-feedburner.xml"
      [[source]]
      id = "jurinis"
      url = "blogger-atom.xml"
      [[source]]
      id = "planet"
      url = "planet.xml"
      [[source]]
      id = "inovacijos"
      url = "wordpress-mixed.xml"
      language = "lt"
      [[source]]
      id = "oldcms"
      url = "oldcms.xml"
      """
    let configURL = dir.appendingPathComponent("clusterwire.toml")
    try config.write(to: configURL, atomically: true, encoding: .utf8)
    let bin = TestSupport.clusterwireBinary
    let crawl = try TestSupport.run(bin, ["crawl", "--once", "--config", configURL.path])
    XCTAssertEqual(crawl.status, 0, crawl.stderrString + crawl.stdoutString)
    let out = dir.appendingPathComponent("public")
    let export = try TestSupport.run(
      bin, ["export", "--config", configURL.path, "--out", out.path])
    XCTAssertEqual(export.status, 0, export.stderrString)
    let atom = try Data(contentsOf: out.appendingPathComponent("feed.atom"))
    let merged = try FeedParser.parse(atom, contentType: "application/atom+xml", baseURL: nil)
    return Exported(dir: out, merged: merged, atomBytes: atom)
  }

  func entry(_ feed: ParsedFeed, titled prefix: String) throws -> Entry {
    try XCTUnwrap(
      feed.feed.entries.first { ($0.title ?? "").hasPrefix(prefix) },
      "no entry titled \(prefix)…: \(feed.feed.entries.map { $0.title ?? "-" })")
  }

  func testEverythingKeptSurvivesTheMergedFeed() throws {
    let out = try Self.crawlAndExport()
    defer { try? FileManager.default.removeItem(at: out.dir.deletingLastPathComponent()) }
    let merged = out.merged
    XCTAssertFalse(merged.malformed, "\(merged.diagnostics)")
    XCTAssertEqual(merged.feed.entries.count, 6, "\(merged.feed.entries.map { $0.title ?? "-" })")

    // FeedBurner podcast: the original link is the entry's link; enclosure, thumbnail, people.
    let episode = try entry(merged, titled: "12 serija")
    XCTAssertEqual(episode.link, "https://podcast.example/12-serija-lazeriu-klasteris/")
    XCTAssertTrue(
      episode.enclosures.contains {
        $0.url == "https://media.podcast.example/ep12.mp3" && $0.length == 28_734_112
          && $0.type == "audio/mpeg"
      }, "\(episode.enclosures)")
    XCTAssertEqual(episode.media?.thumbnails.first?.url, "https://podcast.example/ep12.jpg")
    XCTAssertEqual(episode.authors.first?.name, "Rūta Petraitė")
    XCTAssertEqual(episode.authors.first?.email, "ruta@podcast.example")
    XCTAssertTrue(
      episode.categories.contains {
        $0.term == "eksportas" && $0.scheme == "https://podcast.example/tema"
      },
      "\(episode.categories)")
    // atom:source built from the fetched feed.
    let built = try XCTUnwrap(episode.source)
    XCTAssertEqual(built.title, "Klasterių balsas")
    XCTAssertEqual(built.subtitle, "Pokalbiai su klasterių vadovais.")
    XCTAssertEqual(built.rights, "© 2026 Klasterių balsas")
    XCTAssertEqual(built.generator, "Podbean 2.0")
    XCTAssertEqual(built.authors.first?.email, "redakcija@podcast.example")
    XCTAssertEqual(built.link, "https://podcast.example/")
    XCTAssertTrue(built.links.contains { $0.rel == "self" }, "\(built.links)")

    // Blogger: per-element language, licence, rights, contributors, GeoRSS, labelled category.
    let corridor = try entry(merged, titled: "Port of Klaipėda")
    XCTAssertEqual(corridor.titleLanguage ?? corridor.language, "en")
    XCTAssertEqual((corridor.content ?? corridor.summary)?.language ?? corridor.language, "en")
    XCTAssertTrue(
      corridor.links.contains {
        $0.rel == "license" && $0.href == "https://creativecommons.org/licenses/by-sa/4.0/"
      }, "\(corridor.links)")
    XCTAssertEqual(corridor.rights, "CC BY-SA 4.0")
    XCTAssertEqual(corridor.contributors.count, 2, "\(corridor.contributors)")
    XCTAssertTrue(corridor.contributors.contains { $0.email == "vertejas@jurinis.example" })
    XCTAssertTrue(corridor.contributors.contains { $0.uri == "https://jurinis.example/komanda" })
    XCTAssertEqual(corridor.geo?.shape, .point)
    XCTAssertEqual(corridor.geo?.coordinates.first ?? 0, 55.7033, accuracy: 1e-6)
    XCTAssertEqual(corridor.geo?.coordinates.last ?? 0, 21.1443, accuracy: 1e-6)
    XCTAssertTrue(
      corridor.categories.contains { $0.term == "uostas" && $0.label == "Uostas" },
      "\(corridor.categories)")
    let blog = try XCTUnwrap(corridor.source)
    XCTAssertEqual(blog.id, "tag:blogger.com,1999:blog-8812345")
    XCTAssertEqual(blog.link, "https://jurinis.blogspot.example/")
    XCTAssertTrue(
      blog.links.contains {
        $0.rel == "self" && $0.href == "https://jurinis.blogspot.example/feeds/posts/default"
      }, "\(blog.links)")

    // A planet entry keeps its own atom:source (RFC 4287 4.2.11).
    let riga = try entry(merged, titled: "Latvian ICT cluster")
    let own = try XCTUnwrap(riga.source)
    XCTAssertEqual(own.id, "https://ict.lv.example/feed/")
    XCTAssertEqual(own.title, "Latvijas IKT klasteris")
    XCTAssertEqual(own.subtitle, "Ziņas")
    XCTAssertEqual(own.rights, "© LIKTA")

    // An old CMS's cp1252 character references become the characters they meant.
    let report = try entry(merged, titled: "The cluster")
    XCTAssertEqual(report.title, "The cluster’s annual report")
    let lead = (report.summary ?? report.content)?.value ?? ""
    XCTAssertTrue(lead.contains("chairman’s “letter”"), lead)
    XCTAssertTrue(lead.contains("out – read"), lead)
  }

  func testDetectedLanguageBeatsTheConfiguredOneAndTheFeedIsValid() throws {
    let out = try Self.crawlAndExport()
    defer { try? FileManager.default.removeItem(at: out.dir.deletingLastPathComponent()) }
    // The Lithuanian member's English item is English; its Lithuanian one stays Lithuanian.
    let english = try out.read("languages/en.atom").feed.entries.compactMap(\.title)
    XCTAssertTrue(english.contains { $0.hasPrefix("Innovation cluster hosts") }, "\(english)")
    XCTAssertFalse(english.contains { $0.hasPrefix("Klasteris kviečia") }, "\(english)")
    let lithuanian = try out.read("languages/lt.atom").feed.entries.compactMap(\.title)
    XCTAssertTrue(lithuanian.contains { $0.hasPrefix("Klasteris kviečia") }, "\(lithuanian)")
    XCTAssertFalse(
      lithuanian.contains { $0.hasPrefix("Innovation cluster hosts") }, "\(lithuanian)")

    // RELAX NG (RFC 4287's schema) over the merged feed with all the new elements in it.
    let rng = TestSupport.packageRoot.appendingPathComponent(
      "Tests/PublisherTests/Fixtures/atom.rng")
    let xmllint = URL(fileURLWithPath: "/usr/bin/xmllint")
    for path in ["feed.atom", "sources/jurinis.atom", "languages/en.atom"] {
      let result = try TestSupport.run(
        xmllint, ["--noout", "--relaxng", rng.path, out.dir.appendingPathComponent(path).path])
      XCTAssertEqual(result.status, 0, "\(path): \(result.stderrString)")
    }
  }
}
