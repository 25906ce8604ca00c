import Foundation
import TestSupport
import XCTest

/// `clusterwire parse` through the built binary: the JSON shape admins rely on, and clear
/// failures with a non-zero exit.
final class ParseCommandTests: XCTestCase {
  private func parseJSON(_ args: [String], input: Data? = nil) throws -> [String: Any] {
    let result = try TestSupport.run(TestSupport.clusterwireBinary, ["parse"] + args, input: input)
    XCTAssertEqual(result.status, 0, "stderr: \(result.stderrString)")
    let object = try JSONSerialization.jsonObject(with: result.stdout)
    return try XCTUnwrap(object as? [String: Any], "not a JSON object: \(result.stdoutString)")
  }

  func testWordPressFeedAsJSON() throws {
    let path = TestSupport.fixture("IntegrationTests", "wordpress-lt.xml").path
    let json = try parseJSON([path])
    XCTAssertEqual(json["format"] as? String, "rss20")
    XCTAssertEqual(json["encoding"] as? String, "utf-8")
    XCTAssertEqual(json["malformed"] as? Bool, false)
    let feed = try XCTUnwrap(json["feed"] as? [String: Any])
    XCTAssertEqual(feed["title"] as? String, "Klaster.lt – Lietuvos klasterių tinklas")
    XCTAssertEqual(feed["link"] as? String, "https://klaster.lt")
    XCTAssertEqual(feed["language"] as? String, "lt-LT")
    XCTAssertEqual(feed["updated"] as? String, "2020-06-02T07:15:00Z")
    let entries = try XCTUnwrap(json["entries"] as? [[String: Any]])
    XCTAssertEqual(entries.count, 2)
    let first = entries[0]
    XCTAssertEqual(first["title"] as? String, "Klasterių forumas „Inovacijos 2020“")
    XCTAssertEqual(first["id"] as? String, "https://klaster.lt/?p=1234")
    XCTAssertEqual(first["link"] as? String, "https://klaster.lt/naujienos/forumas-2020/")
    XCTAssertEqual(first["published"] as? String, "2020-06-02T07:15:00Z")
    let authors = try XCTUnwrap(first["authors"] as? [[String: Any]])
    XCTAssertEqual(authors.first?["name"] as? String, "Rūta Žemaitytė")
    let categories = try XCTUnwrap(first["categories"] as? [[String: Any]])
    XCTAssertEqual(categories.first?["term"] as? String, "Renginiai")
    let content = try XCTUnwrap(first["content"] as? [String: Any])
    XCTAssertEqual(content["type"] as? String, "html")
    let html = try XCTUnwrap(content["value"] as? String)
    XCTAssertTrue(html.contains("<strong>57 klasteriai</strong>"), html)
    XCTAssertTrue(html.contains("href=\"https://klaster.lt/apie/\""), html)
    XCTAssertTrue(html.contains("src=\"https://klaster.lt/img/forumas.jpg\""), html)
    XCTAssertFalse(html.contains("script"), html)
    XCTAssertFalse(html.contains("onerror"), html)
    let summary = try XCTUnwrap(first["summary"] as? [String: Any])
    XCTAssertTrue(
      (summary["value"] as? String)?.contains("forumas\u{00A0}…") ?? false, "\(summary)")
    // Absent fields are omitted, not null.
    XCTAssertNil(entries[1]["authors"])
    XCTAssertNil(entries[1]["content"])
    XCTAssertEqual(entries[1]["published"] as? String, "2020-06-01T06:00:00Z")
  }

  func testStandardInputWithBaseAndContentType() throws {
    // windows-1257 bytes labelled only by the HTTP charset; relative link resolved against --base.
    var body = Data("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>".utf8)
    // "Šiauliai" in windows-1257
    body.append(contentsOf: [0xD0, 0x69, 0x61, 0x75, 0x6C, 0x69, 0x61, 0x69])
    body.append(Data("</title><item><title>x</title><link>/n/1</link></item></channel></rss>".utf8))
    let json = try parseJSON(
      [
        "-", "--base", "https://example.lt/feed/", "--content-type",
        "application/rss+xml; charset=windows-1257",
      ],
      input: body)
    XCTAssertEqual(json["encoding"] as? String, "windows-1257")
    XCTAssertEqual((json["feed"] as? [String: Any])?["title"] as? String, "Šiauliai")
    let entries = try XCTUnwrap(json["entries"] as? [[String: Any]])
    XCTAssertEqual(entries.first?["link"] as? String, "https://example.lt/n/1")
  }

  func testMalformedFeedReportsWhereItBroke() throws {
    let doc = Data(
      """
      <?xml version="1.0" encoding="utf-8"?>
      <rss version="2.0"><channel><title>Broken</title>
      <item><title>Fine</title><link>https://a.lt/1</link></item>
      <item><title>Bad & worse</title><link>https://a.lt/2</link></item>
      </channel></rss>
      """.utf8)
    let json = try parseJSON(["-"], input: doc)
    XCTAssertEqual(json["malformed"] as? Bool, true)
    let errors = try XCTUnwrap(json["errors"] as? [[String: Any]])
    let first = try XCTUnwrap(errors.first)
    XCTAssertEqual(first["line"] as? Int, 4)
    XCTAssertNotNil(first["column"])
    XCTAssertFalse((first["message"] as? String ?? "").isEmpty)
    let entries = try XCTUnwrap(json["entries"] as? [[String: Any]])
    XCTAssertEqual(entries.first?["title"] as? String, "Fine")
  }

  func testNotAFeedFailsClearly() throws {
    let page = Data(
      "<!DOCTYPE html><html><head><title>Home</title></head><body><p>hi</p></body></html>".utf8)
    let result = try TestSupport.run(TestSupport.clusterwireBinary, ["parse", "-"], input: page)
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderrString.contains("not a feed"), result.stderrString)
    XCTAssertTrue(result.stdout.isEmpty)
  }

  func testMissingFileFailsClearly() throws {
    let result = try TestSupport.run(
      TestSupport.clusterwireBinary, ["parse", "/nonexistent/feed.xml"])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(
      result.stderrString.contains("cannot read /nonexistent/feed.xml"), result.stderrString)
  }

  private func parserFixture(_ name: String) throws -> [String: Any] {
    try parseJSON([TestSupport.fixture("FeedParserTests", "feeds/\(name)").path])
  }

  func testFeedLinksPeopleAndFeedBurnerAsJSON() throws {
    let wp = try parserFixture("wordpress-dc-hub.xml")
    let feed = try XCTUnwrap(wp["feed"] as? [String: Any])
    let links = try XCTUnwrap(feed["links"] as? [[String: Any]])
    XCTAssertEqual(
      links.map { $0["rel"] as? String }, ["self", "hub", "next", "alternate", "alternate"])
    XCTAssertEqual(links[1]["href"] as? String, "https://pubsubhubbub.appspot.com")
    XCTAssertEqual(links[3]["hreflang"] as? String, "en")
    XCTAssertEqual(feed["selfLink"] as? String, "https://klasteriai.example.lt/feed/")
    let entry = try XCTUnwrap((wp["entries"] as? [[String: Any]])?.first)
    XCTAssertEqual(
      entry["comments"] as? String, "https://klasteriai.example.lt/2020/06/02/forumas/#respond")

    let drupal = try XCTUnwrap(try parserFixture("drupal-people.xml")["feed"] as? [String: Any])
    let webMaster = try XCTUnwrap(drupal["webMaster"] as? [String: Any])
    XCTAssertEqual(webMaster["name"] as? String, "Tinklo Meistras")
    XCTAssertEqual(webMaster["email"] as? String, "webmaster@drupal.example.lt")
    XCTAssertEqual((drupal["publisher"] as? [String: Any])?["name"] as? String, "VšĮ Klasteris")
    XCTAssertEqual(
      (drupal["contributors"] as? [[String: Any]])?.first?["email"] as? String,
      "pagalba@drupal.example.lt")
    XCTAssertEqual(drupal["published"] as? String, "2019-01-15T00:00:00Z")

    let fb = try parserFixture("feedburner.xml")
    let fbEntry = try XCTUnwrap((fb["entries"] as? [[String: Any]])?.first)
    XCTAssertEqual(fbEntry["link"] as? String, "https://inovacijos.example.lt/naujienos/kvietimas/")
    let fbLinks = try XCTUnwrap(fbEntry["links"] as? [[String: Any]])
    XCTAssertTrue(fbLinks.contains { $0["rel"] as? String == "via" })
  }

  func testVocabulariesAsJSON() throws {
    let podcast = try parserFixture("podcast.xml")
    let itunes = try XCTUnwrap((podcast["feed"] as? [String: Any])?["itunes"] as? [String: Any])
    XCTAssertEqual(itunes["explicit"] as? Bool, false)
    XCTAssertEqual(
      (itunes["owner"] as? [String: Any])?["email"] as? String, "ona@podcast.example.lt")
    let episode = try XCTUnwrap((podcast["entries"] as? [[String: Any]])?.first)
    let ei = try XCTUnwrap(episode["itunes"] as? [String: Any])
    XCTAssertEqual(ei["duration"] as? Double, 3723)
    XCTAssertEqual(ei["episode"] as? Int, 1)
    XCTAssertEqual((episode["enclosures"] as? [[String: Any]])?.first?["duration"] as? Double, 3723)

    let gallery = try parserFixture("media-gallery.xml")
    let item = try XCTUnwrap((gallery["entries"] as? [[String: Any]])?.first)
    let media = try XCTUnwrap(item["media"] as? [String: Any])
    XCTAssertEqual((media["thumbnails"] as? [[String: Any]])?.count, 2)
    XCTAssertEqual(media["credits"] as? [String], ["Jonas Fotografas"])
    XCTAssertEqual((media["description"] as? [String: Any])?["type"] as? String, "html")
    let enclosures = try XCTUnwrap(item["enclosures"] as? [[String: Any]])
    XCTAssertEqual(enclosures.count, 3)
    XCTAssertEqual(enclosures[0]["width"] as? Int, 1600)
    XCTAssertEqual(enclosures[0]["medium"] as? String, "image")

    let blogger = try parserFixture("blogger-atom.xml")
    let post = try XCTUnwrap((blogger["entries"] as? [[String: Any]])?.first)
    XCTAssertEqual(post["titleLanguage"] as? String, "en")
    XCTAssertEqual((post["content"] as? [String: Any])?["language"] as? String, "en")
    XCTAssertEqual(post["rights"] as? String, "CC BY 4.0")
    let geo = try XCTUnwrap(post["geo"] as? [String: Any])
    XCTAssertEqual(geo["shape"] as? String, "point")
    XCTAssertEqual(geo["coordinates"] as? [Double], [55.7033, 21.1443])
    XCTAssertEqual(geo["featureName"] as? String, "Klaipėda, Lietuva")

    let licensed = try parserFixture("cc-license.xml")
    let licenceLinks = try XCTUnwrap(
      (licensed["feed"] as? [String: Any])?["links"] as? [[String: Any]])
    XCTAssertTrue(licenceLinks.contains { $0["rel"] as? String == "license" })
  }

  func testAtomWithoutNamespaceIsReadAndFlagged() throws {
    let json = try parserFixture("atom-no-namespace.xml")
    XCTAssertEqual(json["format"] as? String, "atom10")
    XCTAssertEqual(json["malformed"] as? Bool, true)
    let errors = try XCTUnwrap(json["errors"] as? [[String: Any]])
    XCTAssertEqual(
      errors.first?["message"] as? String, "root <feed> has no Atom namespace; read as Atom")
    XCTAssertEqual((json["entries"] as? [[String: Any]])?.count, 1)
  }

  func testVersion() throws {
    let result = try TestSupport.run(TestSupport.clusterwireBinary, ["--version"])
    XCTAssertEqual(result.status, 0)
    XCTAssertTrue(
      result.stdoutString.range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression) != nil)
  }
}
