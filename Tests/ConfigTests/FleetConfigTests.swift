import Config
import Foundation
import TestSupport
import XCTest

/// `[store] url` / `password_file`, the `[fleet]` table, and `Settings.configHash` (issue 14).
final class FleetConfigTests: XCTestCase {
  private var dir: URL!

  override func setUpWithError() throws {
    dir = try TestSupport.makeTempDirectory("config-fleet")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: dir)
  }

  private func write(_ files: [String: String]) throws {
    for (name, text) in files {
      let url = dir.appendingPathComponent(name)
      try FileManager.default.createDirectory(
        at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try text.write(to: url, atomically: true, encoding: .utf8)
    }
  }

  private func load(_ main: String, extra: [String: String] = [:]) throws -> Settings {
    try write(extra.merging(["main.toml": main]) { a, _ in a })
    return try ConfigLoader.load(path: dir.appendingPathComponent("main.toml").path)
  }

  /// The issues of a config that must not load.
  private func issues(_ main: String, file: StaticString = #filePath, line: UInt = #line) throws
    -> [ConfigIssue]
  {
    do {
      _ = try load(main)
      XCTFail("expected the config to be rejected", file: file, line: line)
      return []
    } catch let error as ConfigError {
      return error.issues
    }
  }

  private func assertSingle(
    _ main: String, line expectedLine: Int, key: String, message: String,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let found = try issues(main, file: file, line: line)
    XCTAssertEqual(found.count, 1, "\(found)", file: file, line: line)
    guard let issue = found.first else { return }
    XCTAssertEqual(issue.line, expectedLine, "\(issue)", file: file, line: line)
    XCTAssertEqual(issue.key, key, "\(issue)", file: file, line: line)
    XCTAssertTrue(
      issue.message.contains(message), "\(issue.message) lacks \(message)", file: file, line: line)
  }

  // MARK: - [store] url

  func testURLSelectsTheSharedStoreAndIsShownWithoutItsPassword() throws {
    let settings = try load(
      """
      [store]
      url = "postgresql://cw:s3cret@db.example.org/clusterwire?sslmode=require"
      """)
    XCTAssertEqual(
      settings.store.url, "postgresql://cw:s3cret@db.example.org/clusterwire?sslmode=require")
    XCTAssertTrue(settings.store.isShared)
    XCTAssertNil(settings.store.passwordFile)
    XCTAssertEqual(
      settings.store.location, "postgresql://cw@db.example.org:5432/clusterwire?sslmode=require")
    let summary = settings.summary()
    XCTAssertTrue(
      summary.contains("store:       postgresql://cw@db.example.org:5432/clusterwire"), summary)
    XCTAssertTrue(summary.contains("password in the URL"), summary)
    XCTAssertTrue(summary.contains("fleet:       lease 2m, heartbeat every 5s"), summary)
    XCTAssertFalse(summary.contains("s3cret"), summary)
    XCTAssertEqual(settings.fleet, Settings.Fleet(leaseTTL: 120, heartbeat: 5, instance: nil))
    XCTAssertEqual(settings.fleet.expireAfter, 135)
  }

  func testNeitherPathNorURLIsTheSQLiteDefault() throws {
    let settings = try load("[store]\nmax_entries = 10\n")
    XCTAssertNil(settings.store.url)
    XCTAssertFalse(settings.store.isShared)
    XCTAssertEqual(
      settings.store.path,
      dir.appendingPathComponent("clusterwire.sqlite").standardizedFileURL.path)
    XCTAssertEqual(settings.store.location, settings.store.path)
    XCTAssertFalse(settings.summary().contains("fleet:"))
  }

  func testPathAndURLTogetherAreAnErrorOnTheURLLine() throws {
    try assertSingle(
      """
      [store]
      path = "db.sqlite"
      url = "postgresql://cw@localhost/clusterwire"
      """, line: 3, key: "store.url", message: "give either path (an SQLite file) or url")
  }

  func testPasswordFileIsResolvedAgainstTheConfigDirectory() throws {
    let settings = try load(
      """
      [store]
      url = "postgres://cw@[::1]:6543/news"
      password_file = "secrets/pg"
      """)
    XCTAssertEqual(
      settings.store.passwordFile,
      dir.appendingPathComponent("secrets/pg").standardizedFileURL.path)
    XCTAssertEqual(settings.store.location, "postgres://cw@[::1]:6543/news")
    XCTAssertTrue(settings.summary().contains("password from \(settings.store.passwordFile!)"))
  }

  func testPasswordFileNeedsAURLAndOnlyOnePassword() throws {
    try assertSingle(
      "[store]\npath = \"x.sqlite\"\npassword_file = \"pw\"\n", line: 3,
      key: "store.password_file", message: "only applies to a PostgreSQL store")
    try assertSingle(
      "[store]\nurl = \"postgresql://cw:pw@h/db\"\npassword_file = \"pw\"\n", line: 3,
      key: "store.password_file", message: "the url already carries a password")
  }

  func testMalformedURLs() throws {
    for (url, message) in [
      ("mysql://cw@h/db", "unsupported scheme \"mysql\""),
      ("postgresql://cw@h", "no database name"),
      ("postgresql:///db", "no host"),
      ("postgresql://cw@h:99999/db", "invalid"),
      ("postgresql://cw@h/db name", "whitespace"),
      ("", "must not be empty"),
    ] {
      try assertSingle(
        "[store]\nurl = \"\(url)\"\n", line: 2, key: "store.url", message: message)
    }
  }

  // MARK: - [fleet]

  func testFleetSettings() throws {
    let settings = try load(
      """
      [store]
      url = "postgresql://cw@db/clusterwire"

      [fleet]
      lease_ttl = "5m"
      heartbeat = "2s"
      instance = "web-1.eu"
      """)
    XCTAssertEqual(
      settings.fleet, Settings.Fleet(leaseTTL: 300, heartbeat: 2, instance: "web-1.eu"))
    XCTAssertEqual(settings.fleet.expireAfter, 306)
    XCTAssertTrue(settings.summary().contains("instance web-1.eu"))
  }

  func testLeaseTTLMustOutlastTheLongestFetch() throws {
    try assertSingle(
      """
      [store]
      url = "postgresql://cw@db/clusterwire"

      [crawl]
      timeout = "60s"

      [fleet]
      lease_ttl = "1m"
      """, line: 8, key: "fleet.lease_ttl",
      message: "lease_ttl 1m must exceed 1m5s: a lease would expire while its fetch may still run")
  }

  func testTheDefaultLeaseTTLAgainstALongTimeoutIsReportedOnTheTimeout() throws {
    let config = """
      [store]
      url = "postgresql://cw@db/clusterwire"

      [crawl]
      timeout = "3m"
      """
    try assertSingle(
      config, line: 5, key: "crawl.timeout",
      message: "the default [fleet] lease_ttl (2m) must exceed 3m5s")
    // A single SQLite node has no leases: the same timeout is fine there.
    let sqlite = try load("[crawl]\ntimeout = \"3m\"\n")
    XCTAssertEqual(sqlite.crawl.timeout, 180)
  }

  func testFleetTyposAndBadValues() throws {
    try assertSingle(
      "[fleet]\nheartbaet = \"5s\"\n", line: 2, key: "fleet.heartbaet",
      message: "unknown key (did you mean \"heartbeat\"?)")
    try assertSingle(
      "[fleet]\nleese_ttl = \"5m\"\n", line: 2, key: "fleet.leese_ttl",
      message: "unknown key (did you mean \"lease_ttl\"?)")
    try assertSingle(
      "[fleet]\ninstance = \"web 1\"\n", line: 2, key: "fleet.instance",
      message: "invalid instance id \"web 1\"")
    try assertSingle(
      "[fleet]\nheartbeat = \"soon\"\n", line: 2, key: "fleet.heartbeat",
      message: "invalid duration")
  }

  // MARK: - configHash

  private let base = """
    [server]
    listen = "127.0.0.1:8080"
    base_url = "https://news.example.org/"

    [store]
    url = "postgresql://cw@db/clusterwire"

    [fleet]
    instance = "a"

    [[source]]
    id = "one"
    url = "https://one.example/feed"

    [[source]]
    id = "two"
    url = "https://two.example/feed"
    categories = ["agri", "food"]
    """

  func testConfigHashIsStableAndIgnoresWhatMayDifferPerMachine() throws {
    let reference = try load(base).configHash
    XCTAssertEqual(reference.count, 64)
    XCTAssertTrue(reference.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    XCTAssertEqual(try load(base).configHash, reference, "stable across loads")
    // Another machine: its own listen address, instance id, log level, concurrency, password
    // file, heartbeat; the sources in another order, one moved into a drop-in.
    let other = """
      include = ["sources.d/*.toml"]

      [server]
      listen = "0.0.0.0:9000"
      base_url = "https://news.example.org/"

      [store]
      url = "postgresql://cw@db-standby/clusterwire"
      password_file = "/etc/clusterwire/pg"

      [crawl]
      concurrency = 64

      [log]
      level = "debug"

      [fleet]
      instance = "b"
      heartbeat = "2s"

      [[source]]
      id = "two"
      url = "https://two.example/feed"
      categories = ["agri", "food"]
      """
    let moved = try load(
      other,
      extra: [
        "sources.d/10-one.toml": "[[source]]\nid = \"one\"\nurl = \"https://one.example/feed\"\n"
      ]
    )
    XCTAssertEqual(moved.configHash, reference)
  }

  func testConfigHashChangesWithWhatIsFetchedOrPublished() throws {
    let reference = try load(base).configHash
    let changes = [
      base.replacingOccurrences(of: "https://one.example/feed", with: "https://one.example/rss"),
      base.replacingOccurrences(of: "[\"agri\", \"food\"]", with: "[\"agri\"]"),
      base.replacingOccurrences(
        of: "https://news.example.org/", with: "https://feeds.example.org/"),
      base + "\ninterval = \"10m\"\n",
      base + "\nenabled = false\n",
      base.replacingOccurrences(of: "[fleet]", with: "[feed]\ntitle = \"Other\"\n\n[fleet]"),
      base.replacingOccurrences(of: "[fleet]", with: "[crawl]\nper_host = 1\n\n[fleet]"),
      base.replacingOccurrences(of: "[fleet]", with: "[fleet]\nlease_ttl = \"10m\""),
    ]
    var seen: Set<String> = [reference]
    for (i, text) in changes.enumerated() {
      let hash = try load(text).configHash
      XCTAssertTrue(seen.insert(hash).inserted, "change \(i) must move the hash")
    }
  }
}
