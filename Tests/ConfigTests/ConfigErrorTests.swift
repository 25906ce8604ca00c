import Config
import Foundation
import TestSupport
import XCTest

/// Every kind of config error, each with its exact file, line and key; and all errors at once.
final class ConfigErrorTests: XCTestCase {
  private var dir: URL!

  override func setUpWithError() throws {
    dir = try TestSupport.makeTempDirectory("config-errors")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: dir)
  }

  private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

  /// Writes the files (name → contents), loads `main.toml`, returns the issues (fails if it loaded).
  private func issues(
    _ files: [String: String], file: StaticString = #filePath, line: UInt = #line
  ) throws -> [ConfigIssue] {
    for (name, text) in files {
      let url = dir.appendingPathComponent(name)
      try FileManager.default.createDirectory(
        at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try text.write(to: url, atomically: true, encoding: .utf8)
    }
    do {
      _ = try ConfigLoader.load(path: path("main.toml"))
      XCTFail("expected the config to be rejected", file: file, line: line)
      return []
    } catch {
      XCTAssertFalse(error.issues.isEmpty, file: file, line: line)
      return error.issues
    }
  }

  /// Asserts exactly one issue, at `line` on `key`, whose message contains `message`.
  private func assertSingle(
    _ files: [String: String], line expectedLine: Int, key: String, message: String,
    in fileName: String = "main.toml",
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let found = try issues(files, file: file, line: line)
    XCTAssertEqual(found.count, 1, "\(found)", file: file, line: line)
    guard let issue = found.first else { return }
    XCTAssertEqual(issue.file, path(fileName), file: file, line: line)
    XCTAssertEqual(issue.line, expectedLine, "\(issue)", file: file, line: line)
    XCTAssertEqual(issue.key, key, "\(issue)", file: file, line: line)
    XCTAssertTrue(
      issue.message.contains(message), "\(issue.message) lacks \(message)", file: file, line: line)
  }

  func testUnknownKeyWithSuggestion() throws {
    try assertSingle(
      [
        "main.toml": """
        [server]
        listen = "127.0.0.1:8080"

        [crawl]
        interval = "30m"
        per_hots = 2
        """
      ], line: 6, key: "crawl.per_hots", message: "unknown key (did you mean \"per_host\"?)")
  }

  /// toml++ aborts the process on a `}` where an array expects a value or `]` (the fuzzer found
  /// it); the loader reports it as a syntax error on its line instead, whatever the nesting.
  func testBraceClosingAnArrayIsASyntaxErrorNotACrash() throws {
    for (text, line) in [
      ("[[source]]\nid = \"a\"\ncategories = [\n  \"network\",\n}\n", 5),
      ("x = [ }\n", 1),
      ("x = { y = [ \"a\", # }\n } ] }\n", 2),
      ("x = [[1, 2], [3, }]]\n", 1),
    ] {
      let found = try issues(["main.toml": text])
      XCTAssertEqual(found.count, 1, "\(text): \(found)")
      XCTAssertEqual(found.first?.line, line, "\(text): \(found)")
      XCTAssertTrue(
        found.first?.message.contains("an array is closed with '}'") ?? false, "\(found)")
    }
    // Braces inside strings and comments, and inline tables inside arrays, are fine.
    let url = dir.appendingPathComponent("ok.toml")
    try """
    [feed]
    title = "a } [ b"
    [[source]]
    id = "a" # ] }
    url = "https://a.example/"
    categories = ['x}', "y]"]
    """.write(to: url, atomically: true, encoding: .utf8)
    do {
      _ = try ConfigLoader.load(path: url.path)
    } catch {
      XCTAssertFalse(error.issues.contains { $0.message.contains("TOML syntax") }, "\(error)")
    }
  }

  /// Windows line endings: lines are counted as in a Unix file, and a header without a key after a
  /// CRLF line is reported, not handed to toml++ (which aborts on it; found by the fuzzer).
  func testCRLFFilesKeepTheirLineNumbersAndGuards() throws {
    try assertSingle(
      ["main.toml": "[server]\r\nlisten = \"127.0.0.1:8080\"\r\n\r\n[crawl]\r\nper_hots = 2\r\n"],
      line: 5, key: "crawl.per_hots", message: "unknown key")
    let found = try issues(["main.toml": "x = 5\r\n\r\n[ = 5\r\n"])
    XCTAssertEqual(found.count, 1, "\(found)")
    XCTAssertEqual(found.first?.line, 3, "\(found)")
    XCTAssertTrue(found.first?.message.contains("table header needs a key") ?? false, "\(found)")
  }

  func testIncludeAfterATableIsExplained() throws {
    try assertSingle(
      ["main.toml": "[server]\nlisten = \"127.0.0.1:1\"\ninclude = [\"d/*.toml\"]\n"], line: 3,
      key: "server.include", message: "include must come before the first [table]")
  }

  func testUnknownTopLevelTable() throws {
    try assertSingle(
      ["main.toml": "# comment\n[sever]\nlisten = \"127.0.0.1:1\"\n"], line: 2, key: "sever",
      message: "unknown key (did you mean \"server\"?)")
  }

  func testUnknownKeyInSelectTable() throws {
    try assertSingle(
      [
        "main.toml": """
        [[source]]
        id = "a"
        url = "https://a.example/"

        [[source]]
        id = "b"
        url = "https://b.example/news"
        kind = "html"
        [source.select]
        item = "//article"
        title = ".//h2"
        link = ".//a/@href"
        summmary = ".//p"
        """
      ], line: 13, key: "source[1].select.summmary",
      message: "unknown key (did you mean \"summary\"?)")
  }

  func testWrongTypes() throws {
    let found = try issues([
      "main.toml": """
      [feed]
      entries = "fifty"
      [[source]]
      id = "a"
      url = "https://a.example/"
      enabled = "yes"
      priority = 1.5
      categories = ["x", 3]
      """
    ])
    XCTAssertEqual(
      found.map { "\($0.line ?? 0) \($0.key ?? "")" },
      [
        "2 feed.entries", "6 source[0].enabled", "7 source[0].priority",
        "8 source[0].categories[1]",
      ])
    XCTAssertTrue(
      found[0].message.contains("expected an integer, found a string"), found[0].message)
    XCTAssertTrue(found[1].message.contains("expected a boolean"), found[1].message)
    XCTAssertTrue(found[2].message.contains("found a floating-point number"), found[2].message)
  }

  func testTableWhereValueExpected() throws {
    try assertSingle(
      ["main.toml": "server = \"localhost\"\n"], line: 1, key: "server", message: "expected a table"
    )
    try assertSingle(
      ["main.toml": "[source]\nid = \"a\"\n"], line: 1, key: "source", message: "[[source]]")
  }

  func testMissingRequiredKeys() throws {
    let found = try issues([
      "main.toml": """
      [[source]]
      id = "ok"
      url = "https://ok.example/"

      [[source]]
      title = "No id, no url"
      """
    ])
    XCTAssertEqual(found.map(\.line), [5, 5])
    XCTAssertEqual(Set(found.compactMap(\.key)), ["source[1].id", "source[1].url"])
    XCTAssertTrue(found.allSatisfy { $0.message.contains("missing required key") })
  }

  func testHTMLSourceNeedsSelectors() throws {
    let found = try issues([
      "main.toml": """
      [[source]]
      id = "page"
      url = "https://a.example/news"
      kind = "html"

      [[source]]
      id = "page2"
      url = "https://b.example/news"
      kind = "html"
      [source.select]
      item = "//article"
      title = ""
      """
    ])
    XCTAssertEqual(
      found.map { "\($0.line ?? 0) \($0.key ?? "")" },
      ["1 source[0].select", "10 source[1].select.link", "12 source[1].select.title"])
    XCTAssertTrue(found[0].message.contains("[source.select]"), found[0].message)
    XCTAssertTrue(found[1].message.contains("missing required key"), found[1].message)
    XCTAssertTrue(found[2].message.contains("must not be empty"), found[2].message)
  }

  func testSelectorsOnlyForHTML() throws {
    try assertSingle(
      [
        "main.toml": """
        [[source]]
        id = "a"
        url = "https://a.example/"
        [source.select]
        item = "//x"
        """
      ], line: 4, key: "source[0].select", message: "only applies to kind = \"html\"")
  }

  func testDuplicateIdsAcrossFilesNameBothLines() throws {
    let found = try issues([
      "main.toml": """
      include = ["sources.d/*.toml"]

      [[source]]
      id = "same"
      url = "https://a.example/"
      """,
      "sources.d/b.toml": """
      [[source]]
      id = "other"
      url = "https://b.example/"

      [[source]]
      id = "same"
      url = "https://c.example/"
      """,
    ])
    XCTAssertEqual(found.count, 1, "\(found)")
    XCTAssertEqual(found[0].file, path("sources.d/b.toml"))
    XCTAssertEqual(found[0].line, 6)
    XCTAssertEqual(found[0].key, "source[1].id")
    XCTAssertTrue(found[0].message.contains("duplicate source id \"same\""), found[0].message)
    XCTAssertTrue(
      found[0].message.contains("first defined at \(path("main.toml")):4"), found[0].message)
  }

  func testBadIds() throws {
    let found = try issues([
      "main.toml": """
      [[source]]
      id = "Klaster_LT"
      url = "https://a.example/"
      [[source]]
      id = "ok-1"
      url = "https://b.example/"
      [[source]]
      id = "with space"
      url = "https://c.example/"
      """
    ])
    XCTAssertEqual(found.map(\.line), [2, 8])
    XCTAssertEqual(found.map(\.key), ["source[0].id", "source[2].id"])
    XCTAssertTrue(found.allSatisfy { $0.message.contains("[a-z0-9-]+") })
  }

  func testBadURLs() throws {
    let found = try issues([
      "main.toml": """
      [[source]]
      id = "ftp"
      url = "ftp://a.example/feed"
      [[source]]
      id = "nohost"
      url = "https:///feed"
      [[source]]
      id = "noscheme"
      url = "klaster.lt/feed/"
      [[source]]
      id = "remote-file"
      url = "file://server/share/x.xml"
      [[source]]
      id = "space"
      url = "https://a.example/my feed"
      """
    ])
    XCTAssertEqual(found.map(\.line), [3, 6, 9, 12, 15])
    XCTAssertEqual(found.map(\.key), (0..<5).map { "source[\($0)].url" })
    XCTAssertTrue(found[0].message.contains("unsupported URL scheme \"ftp\""), found[0].message)
    XCTAssertTrue(found[1].message.contains("invalid URL"), found[1].message)
    XCTAssertTrue(
      found[2].message.contains("did you mean \"https://klaster.lt/feed/\"?"), found[2].message)
    XCTAssertTrue(found[3].message.contains("remote host \"server\""), found[3].message)
    XCTAssertTrue(found[4].message.contains("whitespace"), found[4].message)
  }

  func testBadDurationInDropIn() throws {
    let main = "include = [\"feeds/*.toml\"]\n"
    let dropIn = """
      # Member clusters of the ICT sector.
      [[source]]
      id = "a"
      url = "https://a.example/"

      [[source]]
      id = "b"
      url = "https://b.example/"

      [[source]]
      id = "c"
      url = "https://c.example/"
      title = "C"
      interval = "5 minutes"
      """
    let found = try issues(["main.toml": main, "feeds/x.toml": dropIn])
    XCTAssertEqual(found.count, 1)
    XCTAssertEqual(
      found[0].description,
      "\(path("feeds/x.toml")):14: source[2].interval: invalid duration \"5 minutes\" (use e.g. 90s, 30m, 6h, 1d)"
    )
  }

  func testBadDurationsAndSizes() throws {
    let found = try issues([
      "main.toml": """
      [store]
      max_age = "forever"
      duplicate_window = "-1d"
      [crawl]
      timeout = "0s"
      max_body = "10 megs"
      backoff_max = true
      """
    ])
    XCTAssertEqual(
      found.map { "\($0.line ?? 0) \($0.key ?? "")" },
      [
        "2 store.max_age", "3 store.duplicate_window", "5 crawl.timeout", "6 crawl.max_body",
        "7 crawl.backoff_max",
      ])
    XCTAssertTrue(found[3].message.contains("invalid size \"10 megs\""), found[3].message)
    XCTAssertTrue(found[2].message.contains("greater than zero"), found[2].message)
    XCTAssertTrue(found[4].message.contains("expected a duration"), found[4].message)
  }

  func testBadListenAndBaseURL() throws {
    for (listen, fragment) in [
      ("127.0.0.1", "no port"), ("::1:8080", "IPv6 addresses need brackets"),
      ("[::zz]:80", "invalid IPv6"),
      ("127.0.0.1:99999", "invalid port"), ("300.1.1.1:80", "invalid IPv4"),
      ("my host:80", "bad host"),
    ] {
      try assertSingle(
        ["main.toml": "[server]\n\nlisten = \"\(listen)\"\n"], line: 3, key: "server.listen",
        message: fragment)
    }
    for bad in ["news.example.org", "ftp://news.example.org/", "https://news.example.org/?a=b"] {
      try assertSingle(
        ["main.toml": "[server]\nbase_url = \"\(bad)\"\n"], line: 2, key: "server.base_url",
        message: "invalid base URL")
    }
  }

  func testLimitsMustBePositive() throws {
    let found = try issues([
      "main.toml": "[crawl]\nper_host = 0\nconcurrency = -3\n[feed]\nentries = 0\n"
    ])
    XCTAssertEqual(found.map(\.key), ["crawl.per_host", "crawl.concurrency", "feed.entries"])
    XCTAssertEqual(found.map(\.line), [2, 3, 5])
    XCTAssertTrue(found[0].message.contains("must be at least 1, found 0"), found[0].message)
  }

  func testUnknownKindLocaleTimeZoneAndLogLevel() throws {
    let found = try issues([
      "main.toml": """
      [log]
      level = "verbose"

      [[source]]
      id = "a"
      url = "https://a.example/"
      kind = "atom"

      [[source]]
      id = "b"
      url = "https://b.example/"
      kind = "html"
      [source.select]
      item = "//li"
      title = "a"
      link = "a/@href"
      [source.date]
      locale = "xx"
      timezone = "Europe/Atlantis"
      """
    ])
    XCTAssertEqual(
      found.map { "\($0.line ?? 0) \($0.key ?? "")" },
      ["2 log.level", "7 source[0].kind", "18 source[1].date.locale", "19 source[1].date.timezone"])
    XCTAssertTrue(found[1].message.contains("unknown kind \"atom\""), found[1].message)
    XCTAssertTrue(found[2].message.contains("supported: bg, cs, da, de, el, en,"), found[2].message)
    XCTAssertTrue(found[3].message.contains("unknown time zone"), found[3].message)
  }

  func testInvalidXPath() throws {
    let found = try issues([
      "main.toml": """
      [[source]]
      id = "b"
      url = "https://b.example/"
      kind = "html"
      [source.select]
      item = "//li"
      title = "a["
      link = "a/@href"
      date = "))"
      """
    ])
    XCTAssertEqual(found.map(\.line), [7, 9], "\(found)")
    XCTAssertEqual(found.map(\.key), ["source[0].select.title", "source[0].select.date"])
    XCTAssertTrue(found.allSatisfy { $0.message.hasPrefix("invalid XPath") })
  }

  func testTOMLSyntaxErrorHasLine() throws {
    let found = try issues([
      "main.toml": "[server]\nlisten = \"127.0.0.1:8080\"\nbase_url = https://x/\n"
    ])
    XCTAssertEqual(found.count, 1)
    XCTAssertEqual(found[0].line, 3)
    XCTAssertNil(found[0].key)
    XCTAssertTrue(found[0].message.hasPrefix("TOML syntax error"), found[0].message)
  }

  func testDropInMayOnlyContainSources() throws {
    let found = try issues([
      "main.toml": "include = [\"d/*.toml\"]\n",
      "d/a.toml":
        "[[source]]\nid = \"a\"\nurl = \"https://a.example/\"\n\n[server]\nlisten = \"0.0.0.0:1\"\n",
    ])
    XCTAssertEqual(found.count, 1)
    XCTAssertEqual(found[0].file, path("d/a.toml"))
    XCTAssertEqual(found[0].line, 5)
    XCTAssertEqual(found[0].key, "server")
    XCTAssertTrue(found[0].message.contains("may only contain [[source]] tables"), found[0].message)
  }

  func testMissingFiles() throws {
    do {
      _ = try ConfigLoader.load(path: path("nope.toml"))
      XCTFail("loaded a missing file")
    } catch {
      XCTAssertEqual(error.description, "\(path("nope.toml")): no such file")
    }
    try assertSingle(
      ["main.toml": "include = [\"a.toml\", \"extra.toml\"]\n", "a.toml": ""], line: 1,
      key: "include[1]",
      message: "included file \"extra.toml\" does not exist")
  }

  func testAllErrorsAreCollectedAcrossFilesInOrder() throws {
    let found = try issues([
      "main.toml": """
      include = ["conf.d/*.toml"]
      [server]
      listen = "nowhere"
      [crawl]
      interval = "soon"
      [[source]]
      id = "BAD"
      url = "gopher://x/"
      """,
      "conf.d/1.toml": "[[source]]\nid = \"x\"\nurl = \"https://x.example/\"\ninterval = 5.5\n",
      "conf.d/2.toml": "[[source]]\nid = \"x\"\nurl = \"https://y.example/\"\nfoo = 1\n",
    ])
    XCTAssertEqual(
      found.map {
        "\(URL(fileURLWithPath: $0.file).lastPathComponent):\($0.line ?? 0) \($0.key ?? "")"
      },
      [
        "main.toml:3 server.listen", "main.toml:5 crawl.interval", "main.toml:7 source[0].id",
        "main.toml:8 source[0].url", "1.toml:4 source[0].interval", "2.toml:2 source[0].id",
        "2.toml:4 source[0].foo",
      ])
    let error = ConfigError(issues: found)
    XCTAssertEqual(error.description.split(separator: "\n").count, 7)
  }

  /// The line locator must not be fooled by multi-line strings and arrays, and must follow
  /// dotted keys and inline tables.
  func testLineLocatorFollowsTOMLStructure() throws {
    let found = try issues([
      "main.toml": #"""
      [feed]
      subtitle = """
      [crawl]
      per_host = "looks like a key"
      """
      title = "x" # [crawl]
      [crawl]
      interval = [
        "not", # a comment ]
        "a duration",
      ]
      per_host = 0
      [[source]]
      id = "a"
      url = "https://a.example/"
      kind = "html"
      select.item = "//li"
      select.title = "a"
      select.link = "a/@href"
      select.extra = "x"
      date = { locale = "xx" }
      """#
    ])
    XCTAssertEqual(
      found.map { "\($0.line ?? 0) \($0.key ?? "")" },
      [
        "8 crawl.interval", "12 crawl.per_host", "20 source[0].select.extra",
        "21 source[0].date.locale",
      ])
  }

  /// A drop-in that does not parse is reported with its line; the other files are still checked.
  func testSyntaxErrorInDropInDoesNotHideOtherErrors() throws {
    let found = try issues([
      "main.toml": "include = [\"d/*.toml\"]\n[crawl]\nconcurrency = 0\n",
      "d/1.toml": "[[source]]\nid = \"a\"\nurl = \"https://a.example/\n",
      "d/2.toml": "[[source]]\nid = \"b\"\nurl = \"https://b.example/\"\nenabled = 1\n",
    ])
    XCTAssertEqual(
      found.map { "\(URL(fileURLWithPath: $0.file).lastPathComponent):\($0.line ?? 0)" },
      ["main.toml:3", "1.toml:3", "2.toml:4"])
    XCTAssertTrue(found[1].message.hasPrefix("TOML syntax error"), found[1].message)
  }
}
