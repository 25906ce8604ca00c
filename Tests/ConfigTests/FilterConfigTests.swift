import Config
import FeedModel
import Foundation
import TestSupport
import XCTest

/// `[source.filter]` (issue 16): block/keep lists of ICU regular expressions, each checked with
/// its line, and the one matching rule the store, the reload and `try-source` share.
final class FilterConfigTests: XCTestCase {
  var dir: URL!

  override func setUpWithError() throws {
    dir = try TestSupport.makeTempDirectory("cw-filter-config")
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

  private func load(_ main: String) throws -> Settings {
    let url = dir.appendingPathComponent("main.toml")
    try main.write(to: url, atomically: true, encoding: .utf8)
    return try ConfigLoader.load(path: url.path)
  }

  private func issues(_ main: String) throws -> [ConfigIssue] {
    do {
      _ = try load(main)
      XCTFail("expected the config to be rejected")
      return []
    } catch let error as ConfigError {
      return error.issues
    }
  }

  private let head = "[[source]]\nid = \"m\"\nurl = \"https://m.example/feed\"\n"

  func testBlockAndKeepAreRead() throws {
    let s = try load(
      head + """
        [source.filter]
        block = ["darbo skelbimas", "(?:job|career) ad", "darbo skelbimas"]
        keep = "naujien"
        """)
    XCTAssertEqual(
      s.sources[0].filter,
      EntryFilter(block: ["darbo skelbimas", "(?:job|career) ad"], keep: ["naujien"]))
    XCTAssertTrue(
      s.summary().contains("filters:\n  m: block 2, keep only 1 pattern(s)"), s.summary())
    let none = try load(head)
    XCTAssertNil(none.sources[0].filter)
    XCTAssertFalse(none.summary().contains("filters:"))
  }

  func testABadPatternIsAnErrorOnItsLine() throws {
    let found = try issues(
      head + """
        [source.filter]
        block = [
          "ok",
          "([unclosed",
        ]
        """)
    XCTAssertEqual(found.count, 1, "\(found)")
    XCTAssertEqual(found.first?.key, "source[0].filter.block[1]")
    XCTAssertEqual(found.first?.line, 5, "the line of the `block` key; the index names the element")
    XCTAssertTrue(found.first?.message.contains("invalid regular expression") ?? false)
  }

  func testTyposAndWrongTypesAreNamed() throws {
    let typo = try issues(head + "[source.filter]\nblok = [\"x\"]\n")
    XCTAssertEqual(typo.count, 1)
    XCTAssertTrue(typo[0].message.contains("did you mean \"block\""), typo[0].message)
    let number = try issues(head + "[source.filter]\nkeep = [1]\n")
    XCTAssertEqual(number.first?.key, "source[0].filter.keep[0]")
    let notTable = try issues(head + "filter = \"jobs\"\n")
    XCTAssertEqual(notTable.first?.key, "source[0].filter")
  }

  func testTheRuleBlockWinsKeepNarrowsCaseInsensitive() throws {
    let f = try XCTUnwrap(
      EntryFilter(block: ["skelbimas"], keep: ["KLASTER", "darbo"]).compiled())
    XCTAssertNil(f.verdict(title: "Klasterių naujienos", summary: nil, categories: []))
    XCTAssertEqual(
      f.verdict(title: "Darbo skelbimas", summary: nil, categories: []),
      .blocked(pattern: "skelbimas", field: "title"))
    XCTAssertEqual(f.verdict(title: "Renginys", summary: "be klasterio", categories: []), nil)
    XCTAssertEqual(f.verdict(title: "Renginys", summary: nil, categories: []), .notKept)
    XCTAssertEqual(
      f.verdict(title: "Renginys", summary: nil, categories: ["Darbo pasiūlymai"]), nil)
    let html = Entry(
      title: "Renginys", summary: .html("<p>Tai <b>darbo</b> skelbimas</p>"))
    XCTAssertEqual(
      f.verdict(for: html), .blocked(pattern: "skelbimas", field: "summary"),
      "an HTML summary is matched as text")
    XCTAssertNil(EntryFilter().compiled()?.verdict(title: "x", summary: nil, categories: []))
  }
}
