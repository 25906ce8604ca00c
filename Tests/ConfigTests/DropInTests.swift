import Config
import FeedModel
import Foundation
import TestSupport
import XCTest

/// Drop-ins as `discover` and `import-opml` write them: rendered, read back by the real loader
/// to the same source, written without ever overwriting by accident; and the id slugs.
final class DropInTests: XCTestCase {
  /// Renders, validates and loads `source`; the loaded source must equal it.
  private func roundTrip(
    _ source: SourceDefinition, comments: [String] = [], file: StaticString = #filePath,
    line: UInt = #line
  ) throws -> String {
    let text = DropIn.render(source, comments: comments)
    XCTAssertNil(DropIn.validate(text), "\(text)", file: file, line: line)
    let loaded = try DropIn.load(text).get()
    XCTAssertEqual(loaded, [source], "\(text)", file: file, line: line)
    return text
  }

  func testFeedSourceWithEveryNonDefaultKeyLoadsBackTheSame() throws {
    let source = SourceDefinition(
      id: "klasteriai-lt", url: "https://www.clusters.lt/feed/?lang=lt&x=1",
      title: "Lietuvos klasterių tinklas — „Naujienos“", categories: ["network", "ict"],
      priority: 100, interval: 5400, enabled: false, userAgent: "clusterwire/1.0 (+https://a.lt/)",
      language: "lt", websub: false)
    let text = try roundTrip(source, comments: ["site: https://www.clusters.lt/"])
    XCTAssertTrue(text.hasPrefix("# site: https://www.clusters.lt/\n[[source]]\n"), text)
    XCTAssertTrue(text.contains("interval = \"1h30m\"\n"), text)
    XCTAssertFalse(text.contains("kind"), "kind = feed is the default: \(text)")
  }

  func testDefaultsAreOmitted() {
    let text = DropIn.render(SourceDefinition(id: "a", url: "https://a.example/feed"))
    XCTAssertEqual(text, "[[source]]\nid = \"a\"\nurl = \"https://a.example/feed\"\n")
  }

  func testHTMLSourceWithBothQuoteKindsInXPathLoadsBackTheSame() throws {
    let selectors = HTMLSelectors(
      item: "//main//article[contains(concat(' ', normalize-space(@class), ' '), ' type-post ')]",
      title: ".//h2/a[@title=\"Jono 'Naujienos'\"]",
      link: ".//a[@rel=\"bookmark\"]/@href",
      date: ".//span[contains(@class, 'date') and not(contains(., '\\'))]",
      summary: ".//div[contains(@class, 'entry-summary')]/p[1]",
      content: nil, author: ".//span[@class='author']", categories: ".//a[@rel='tag']",
      id: nil, dateLocale: "en", dateFormat: "d MMMM yyyy", timeZone: "UTC")
    let source = SourceDefinition(
      id: "mechatronikos-klasteris", url: "https://mechatronika.example.lt/naujienos/",
      kind: .html, title: "Lietuvos mechatronikos klasteris", categories: ["manufacturing"],
      interval: 1800, language: "lt", selectors: selectors)
    let text = try roundTrip(source)
    // XPath with only double quotes reads best as a literal string; with both, escaped.
    XCTAssertTrue(text.contains("link = './/a[@rel=\"bookmark\"]/@href'\n"), text)
    XCTAssertTrue(text.contains("title = \".//h2/a[@title=\\\"Jono 'Naujienos'\\\"]\"\n"), text)
    XCTAssertTrue(text.contains("kind = \"html\""), text)
    XCTAssertTrue(text.contains("[source.date]\nlocale = \"en\"\nformat = \"d MMMM yyyy\""), text)
  }

  func testHTMLSourceWithDefaultDateSettingsLoadsBackTheSame() throws {
    let source = SourceDefinition(
      id: "joomla", url: "https://joomla.example.lt/index.php/naujienos", kind: .html,
      title: "Joomla klasteris",
      selectors: HTMLSelectors(
        item: "//div[contains(@class,'blog')]//div[contains(@class,'item')]",
        title: ".//h2", link: ".//h2/a/@href", date: ".//time/@datetime"))
    _ = try roundTrip(source)
  }

  func testFilterWithRegexEscapesAndQuotesLoadsBackTheSame() throws {
    let source = SourceDefinition(
      id: "fintech", url: "https://fintech.example.lt/feed/", title: "Fintech Hub LT",
      filter: EntryFilter(
        block: ["\\bdarbo skelbimas\\b", "^(Renginys|Event): \"", "job (ad|offer)s?"],
        keep: ["naujien", "it's news"]))
    let text = try roundTrip(source)
    XCTAssertTrue(text.contains("\n[source.filter]\nblock = ["), text)
  }

  func testControlCharactersNewlinesAndBackslashesAreEscaped() throws {
    let source = SourceDefinition(
      id: "weird", url: "https://weird.example/feed",
      title: "Line one\nline two\tand a \u{1}bell \\ back'slash\u{7F}")
    let text = try roundTrip(source, comments: ["two\nlines\u{0}with a NUL", ""])
    XCTAssertTrue(text.hasPrefix("# two\n# lines with a NUL\n#\n[[source]]\n"), text)
    XCTAssertTrue(text.contains("\\u0001bell"), text)
    XCTAssertTrue(text.contains("\\u007F"), text)
  }

  func testManySourcesInOneDocument() throws {
    let sources = [
      SourceDefinition(id: "a", url: "https://a.example/feed", categories: ["ict"]),
      SourceDefinition(id: "b", url: "https://b.example/rss.xml", title: "B"),
    ]
    let text = DropIn.render(sources)
    XCTAssertNil(DropIn.validate(text))
    XCTAssertEqual(try DropIn.load(text).get(), sources)
  }

  func testValidateGivesTheLoadersErrorsWithDropInLines() throws {
    let text = """
      # a comment
      [[source]]
      id = "Bad Id"
      url = "ftp://example.org/feed"

      [[source]]
      id = "b"
      url = "https://b.example/feed"
      intervall = "30m"
      """
    let errors = try XCTUnwrap(DropIn.validate(text))
    XCTAssertTrue(errors.contains("line 3: source[0].id: invalid source id \"Bad Id\""), errors)
    XCTAssertTrue(errors.contains("line 4: source[0].url: unsupported URL scheme \"ftp\""), errors)
    XCTAssertTrue(
      errors.contains("line 9: source[1].intervall: unknown key (did you mean \"interval\"?)"),
      errors)
    XCTAssertFalse(errors.contains("nonexistent"), "no invented paths in messages: \(errors)")

    let server = try XCTUnwrap(DropIn.validate("[server]\nlisten = \"0.0.0.0:80\"\n"))
    XCTAssertTrue(server.contains("may only contain [[source]] tables"), server)
    XCTAssertEqual(DropIn.validate("# nothing\n"), "the drop-in defines no [[source]] table")
    let syntax = try XCTUnwrap(DropIn.validate("[[source]]\nid = \"a\nurl = 1\n"))
    XCTAssertTrue(syntax.contains("line 2: TOML syntax error"), syntax)
  }

  func testWriteCreatesTheDirectoryAndRefusesToOverwriteWithoutForce() throws {
    let root = try TestSupport.makeTempDirectory("dropin")
    defer { try? FileManager.default.removeItem(at: root) }
    let directory = root.appendingPathComponent("etc/sources.d").path
    let first = DropIn.render(SourceDefinition(id: "irt", url: "https://irt.example.lt/feed/"))
    let path = try DropIn.write(first, id: "irt", directory: directory, force: false)
    XCTAssertEqual(path, directory + "/irt.toml")
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), first)

    let second = DropIn.render(
      SourceDefinition(id: "irt", url: "https://irt.example.lt/rss.xml", title: "IRT"))
    XCTAssertThrowsError(try DropIn.write(second, id: "irt", directory: directory, force: false)) {
      error in
      XCTAssertEqual(error as? DropIn.WriteError, .exists(path))
      XCTAssertEqual(
        "\(error)", "\(path) already exists (use --force to overwrite it)")
    }
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), first, "left untouched")

    XCTAssertEqual(try DropIn.write(second, id: "irt", directory: directory, force: true), path)
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), second)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: directory), ["irt.toml"],
      "no temporary files left behind")
  }

  func testWriteRefusesInvalidTextAndIdsThatAreNotFileNames() throws {
    let root = try TestSupport.makeTempDirectory("dropin")
    defer { try? FileManager.default.removeItem(at: root) }
    let good = DropIn.render(SourceDefinition(id: "a", url: "https://a.example/feed"))
    for id in ["../escape", "a/b", "", "A", ".hidden"] {
      XCTAssertThrowsError(try DropIn.write(good, id: id, directory: root.path, force: true)) {
        XCTAssertEqual($0 as? DropIn.WriteError, .badID(id))
      }
    }
    XCTAssertThrowsError(
      try DropIn.write(
        "[[source]]\nid = \"a\"\n", id: "a", directory: root.path, force: false)
    ) { error in
      guard case .invalid(let why) = error as? DropIn.WriteError else {
        return XCTFail("\(error)")
      }
      XCTAssertTrue(why.contains("source[0].url: missing required key"), why)
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), [])
  }

  func testSlugs() {
    let cases: [(String, String)] = [
      ("Lietuvos klasterių tinklas", "lietuvos-klasteriu-tinklas"),
      ("ĄČĘĖĮŠŲŪŽ ąčęėįšųūž", "aceeisuuz-aceeisuuz"),
      ("Žemės ūkio klasteris „Agro“", "zemes-ukio-klasteris-agro"),
      ("Łódź, Straße & Ærø", "lodz-strasse-aero"),
      ("  --Hello,   World!!-- ", "hello-world"),
      ("O’Brien's Café", "obriens-cafe"),
      ("www.clusters.lt", "www-clusters-lt"),
      ("ＦＵＬＬ ｗｉｄｔｈ ﬁle №5", "full-width-file-no5"),
      ("Новости", "source"),
      ("", "source"),
      ("---", "source"),
    ]
    for (name, expected) in cases {
      XCTAssertEqual(DropIn.slug(name), expected, name)
    }
    let long = DropIn.slug(
      "Lietuvos inžinerinės pramonės asociacija LINPRA ir jos klasteriai")
    XCTAssertEqual(long, "lietuvos-inzinerines-pramones-asociacija")
    XCTAssertLessThanOrEqual(DropIn.slug(String(repeating: "ž", count: 100)).count, 40)
    let noBoundary = DropIn.slug(String(repeating: "a", count: 39) + " bbbbbb")
    XCTAssertEqual(noBoundary, String(repeating: "a", count: 39))
    for (name, _) in cases {
      let slug = DropIn.slug(name)
      XCTAssertTrue(slug.allSatisfy { ("a"..."z").contains($0) || $0.isNumber || $0 == "-" })
      XCTAssertFalse(slug.contains("--") || slug.hasPrefix("-") || slug.hasSuffix("-"), slug)
    }
  }
}
