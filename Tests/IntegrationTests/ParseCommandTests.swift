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

  func testVersion() throws {
    let result = try TestSupport.run(TestSupport.clusterwireBinary, ["--version"])
    XCTAssertEqual(result.status, 0)
    XCTAssertTrue(
      result.stdoutString.range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression) != nil)
  }
}
