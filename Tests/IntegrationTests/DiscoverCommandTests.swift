import Foundation
import Hummingbird
import TestSupport
import XCTest

/// `clusterwire discover` through the built binary against small member sites served from
/// 127.0.0.1 (Tests/IntegrationTests/Fixtures/discover/), and `try-source`'s filter lines.
final class DiscoverCommandTests: XCTestCase {
  var dir: URL!

  override func setUpWithError() throws {
    dir = try TestSupport.makeTempDirectory("cw-discover")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: dir)
  }

  // MARK: - Helpers

  /// Runs the binary off the cooperative pool (the fixture server's handlers need it).
  func clusterwire(_ arguments: [String]) async throws -> TestSupport.ProcessResult {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(
          with: Result { try TestSupport.run(TestSupport.clusterwireBinary, arguments) })
      }
    }
  }

  /// A minimal main config whose `sources.d/*.toml` drop-ins `check-config` loads.
  func makeConfig() throws -> (config: URL, dropIns: URL) {
    let dropIns = dir.appendingPathComponent("sources.d")
    try FileManager.default.createDirectory(at: dropIns, withIntermediateDirectories: true)
    let config = dir.appendingPathComponent("clusterwire.toml")
    try """
    include = ["sources.d/*.toml"]
    [server]
    listen = "127.0.0.1:18099"
    base_url = "http://127.0.0.1:18099/"
    [store]
    path = "state.sqlite"
    """.write(to: config, atomically: true, encoding: .utf8)
    return (config, dropIns)
  }

  /// `check-config` on a config whose only source is `dropIn`.
  func checkConfig(_ dropIn: String) async throws -> TestSupport.ProcessResult {
    let (config, dropIns) = try makeConfig()
    try dropIn.write(
      to: dropIns.appendingPathComponent("discovered.toml"), atomically: true, encoding: .utf8)
    return try await clusterwire(["check-config", "--config", config.path])
  }

  func assertAccepted(_ dropIn: String, file: StaticString = #filePath, line: UInt = #line)
    async throws
  {
    let check = try await checkConfig(dropIn)
    XCTAssertEqual(
      check.status, 0, "check-config refused:\n\(dropIn)\n\(check.stderrString)", file: file,
      line: line)
  }

  /// The value of `key = "…"` in a drop-in.
  func value(_ key: String, in toml: String) -> String? {
    for line in toml.split(separator: "\n") where line.hasPrefix("\(key) = \"") {
      return String(line.dropFirst(key.count + 4).dropLast())
    }
    return nil
  }

  // MARK: - Sites with a feed

  func testWordPressLinkedFeedsAtomChosenCommentsLast() async throws {
    let site = try await FixtureSite.start("wordpress")
    defer { site.stop() }
    let r = try await clusterwire(["discover", site.origin + "/"])
    XCTAssertEqual(r.status, 0, r.stderrString)
    XCTAssertEqual(value("url", in: r.stdoutString), site.origin + "/feed/atom/", r.stdoutString)
    XCTAssertEqual(value("id", in: r.stdoutString), "saules-energetikos-klasteris")
    XCTAssertEqual(value("title", in: r.stdoutString), "Saulės energetikos klasteris")
    XCTAssertTrue(r.stdoutString.contains("[[source]]"))
    // stderr: the steps, then the preview as try-source prints it.
    let err = r.stderrString
    XCTAssertTrue(
      err.contains("\(site.origin)/ links an Atom feed: \(site.origin)/feed/atom/"), err)
    XCTAssertTrue(
      err.contains("GET \(site.origin)/feed/atom/ → 200, Atom 1.0 feed with 2 entries"), err)
    XCTAssertTrue(err.contains("saules-energetikos-klasteris: 2 entries (atom10, utf-8)"), err)
    XCTAssertTrue(
      err.contains(
        "- 2026-06-02T07:15:00Z  Saulės parkas Utenoje pradėjo veikti\n  \(site.origin)/2026/06/02/saules-parkas-utenoje/\n"
      ), err)
    try await assertAccepted(r.stdoutString)

    // --json: every candidate, best first, each with its preview.
    let j = try await clusterwire(["discover", "--json", site.origin + "/"])
    XCTAssertEqual(j.status, 0, j.stderrString)
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: j.stdout) as? [String: Any])
    let candidates = try XCTUnwrap(json["candidates"] as? [[String: Any]])
    XCTAssertEqual(
      candidates.map { $0["url"] as? String },
      ["/feed/atom/", "/feed/", "/comments/feed/"].map { site.origin + $0 })
    XCTAssertEqual(candidates.map { $0["format"] as? String }, ["atom10", "rss20", "rss20"])
    let entries = try XCTUnwrap(candidates[1]["entries"] as? [[String: Any]])
    XCTAssertEqual(entries.count, 3)
    XCTAssertEqual(entries[0]["title"] as? String, "Saulės parkas Utenoje pradėjo veikti")
    XCTAssertEqual(entries[0]["date"] as? String, "2026-06-02T07:15:00Z")
    XCTAssertEqual(
      entries[0]["link"] as? String, site.origin + "/2026/06/02/saules-parkas-utenoje/")
    XCTAssertTrue(
      (candidates[2]["how"] as? String ?? "").contains("comments feed"), "\(candidates[2])")
    XCTAssertFalse((json["steps"] as? [String] ?? []).isEmpty)
  }

  func testDrupalFeedOnlyAtRSSXMLPastASoft404() async throws {
    let site = try await FixtureSite.start("drupal")
    defer { site.stop() }
    let r = try await clusterwire(["discover", site.origin])
    XCTAssertEqual(r.status, 0, r.stderrString)
    XCTAssertEqual(value("url", in: r.stdoutString), site.origin + "/rss.xml", r.stdoutString)
    XCTAssertEqual(value("id", in: r.stdoutString), "baltic-food-cluster")
    // Drupal's 200 "Page not found" at /feed/ is not taken for a feed.
    XCTAssertTrue(
      r.stderrString.contains(
        "GET \(site.origin)/feed/ → 200 (text/html;charset=utf-8), an HTML page, not a feed"),
      r.stderrString)
    try await assertAccepted(r.stdoutString)
  }

  func testJoomlaQueryFeed() async throws {
    let site = try await FixtureSite.start("joomla")
    defer { site.stop() }
    let r = try await clusterwire(["discover", site.origin + "/"])
    XCTAssertEqual(r.status, 0, r.stderrString)
    XCTAssertEqual(
      value("url", in: r.stdoutString), site.origin + "/?format=feed&type=rss", r.stdoutString)
    // The home page is titled only "Pradžia": the id comes from the host.
    XCTAssertEqual(value("id", in: r.stdoutString), "127-0-0-1")
    XCTAssertTrue(r.stderrString.contains("GET \(site.origin)/feed/ → HTTP 404"), r.stderrString)
    try await assertAccepted(r.stdoutString)
  }

  func testDeeperPageFindsTheFeedAtTheSiteRoot() async throws {
    let site = try await FixtureSite.start("deeper")
    defer { site.stop() }
    let r = try await clusterwire(["discover", site.origin + "/apie-mus/komanda/"])
    XCTAssertEqual(r.status, 0, r.stderrString)
    XCTAssertEqual(value("url", in: r.stdoutString), site.origin + "/feed/", r.stdoutString)
    XCTAssertEqual(value("id", in: r.stdoutString), "medienos-klasteris")
    XCTAssertTrue(
      r.stderrString.contains("GET \(site.origin)/apie-mus/komanda/feed/ → HTTP 404"),
      r.stderrString)
    try await assertAccepted(r.stdoutString)
  }

  // MARK: - No feed

  func testNewsListingIsInferredAndWritten() async throws {
    let site = try await FixtureSite.start("listing")
    defer { site.stop() }
    let (config, dropIns) = try makeConfig()
    let r = try await clusterwire(["discover", site.origin + "/", "--write", dropIns.path])
    XCTAssertEqual(r.status, 0, r.stderrString)
    XCTAssertEqual(value("kind", in: r.stdoutString), "html", r.stdoutString)
    XCTAssertEqual(value("url", in: r.stdoutString), site.origin + "/naujienos/")
    XCTAssertTrue(r.stdoutString.contains("[source.select]"), r.stdoutString)
    for key in ["item", "title", "link", "date"] {
      XCTAssertNotNil(value(key, in: r.stdoutString), "\(key) selector:\n\(r.stdoutString)")
    }
    // The preview on stderr lists the page's four news items with their dates.
    XCTAssertTrue(r.stderrString.contains(": 4 entries (html, utf-8)"), r.stderrString)
    XCTAssertTrue(
      r.stderrString.contains(
        "- 2026-05-27T21:00:00Z  Metalo apdirbimo forumas 2026\n  \(site.origin)/naujienos/metalo-forumas-2026/"
      ), r.stderrString)

    let id = try XCTUnwrap(value("id", in: r.stdoutString))
    let written = dropIns.appendingPathComponent("\(id).toml")
    XCTAssertEqual(try String(contentsOf: written, encoding: .utf8), r.stdoutString)
    let check = try await clusterwire(["check-config", "--config", config.path])
    XCTAssertEqual(check.status, 0, check.stderrString)
    // try-source reads the written source the same way.
    let tried = try await clusterwire(["try-source", id, "--config", config.path])
    XCTAssertEqual(tried.status, 0, tried.stderrString)
    XCTAssertTrue(tried.stdoutString.contains("\(id): 4 entries (html, utf-8)"), tried.stdoutString)

    // An existing file is never overwritten without --force.
    try "# edited by hand\n".write(to: written, atomically: true, encoding: .utf8)
    let again = try await clusterwire(["discover", site.origin + "/", "--write", dropIns.path])
    XCTAssertEqual(again.status, 1, again.stderrString)
    XCTAssertEqual(try String(contentsOf: written, encoding: .utf8), "# edited by hand\n")
    let forced = try await clusterwire([
      "discover", site.origin + "/", "--write", dropIns.path, "--force",
    ])
    XCTAssertEqual(forced.status, 0, forced.stderrString)
    XCTAssertEqual(try String(contentsOf: written, encoding: .utf8), r.stdoutString)
  }

  func testWithTheConfigAKnownFeedIsReportedAndATakenIDAvoided() async throws {
    let site = try await FixtureSite.start("wordpress")
    defer { site.stop() }
    let (config, dropIns) = try makeConfig()
    // Another member already uses the id the site's name gives.
    try """
    [[source]]
    id = "saules-energetikos-klasteris"
    url = "https://kitas.example.lt/feed/"
    """.write(
      to: dropIns.appendingPathComponent("kitas.toml"), atomically: true, encoding: .utf8)
    let r = try await clusterwire([
      "discover", site.origin + "/", "--config", config.path, "--write", dropIns.path,
    ])
    XCTAssertEqual(r.status, 0, r.stderrString)
    XCTAssertEqual(value("id", in: r.stdoutString), "saules-energetikos-klasteris-2")
    XCTAssertTrue(r.stderrString.contains("using 'saules-energetikos-klasteris-2'"), r.stderrString)
    let check = try await clusterwire(["check-config", "--config", config.path])
    XCTAssertEqual(check.status, 0, check.stderrString)

    // Run again: the feed is configured now, nothing new to add.
    let again = try await clusterwire(["discover", site.origin + "/", "--config", config.path])
    XCTAssertEqual(again.status, 1, again.stderrString)
    XCTAssertTrue(
      again.stderrString.contains(
        "is already configured as source 'saules-energetikos-klasteris-2'"), again.stderrString)
    XCTAssertEqual(again.stdoutString, "")
  }

  func testContactPageGivesNothingWithReasons() async throws {
    let site = try await FixtureSite.start("contact")
    defer { site.stop() }
    let r = try await clusterwire(["discover", site.origin + "/"])
    XCTAssertEqual(r.status, 1, r.stderrString)
    XCTAssertEqual(r.stdoutString, "")
    XCTAssertTrue(
      r.stderrString.contains("nothing usable found at \(site.origin)/"), r.stderrString)
    XCTAssertTrue(r.stderrString.contains("no feed: none linked from the page"), r.stderrString)
    XCTAssertTrue(r.stderrString.contains("GET \(site.origin)/rss.xml → HTTP 404"), r.stderrString)

    let j = try await clusterwire(["discover", "--json", site.origin + "/"])
    XCTAssertEqual(j.status, 1)
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: j.stdout) as? [String: Any])
    XCTAssertEqual((json["candidates"] as? [Any])?.count, 0)
    XCTAssertFalse((json["reasons"] as? [String] ?? []).isEmpty)
  }

  func testConfigSettingsApply() async throws {
    let site = try await FixtureSite.start("wordpress")
    defer { site.stop() }
    let plain = try await clusterwire(["discover", site.origin + "/"])
    XCTAssertEqual(plain.status, 0, plain.stderrString)
    XCTAssertTrue(
      site.userAgents.allSatisfy { $0.hasPrefix("clusterwire/") }, "\(site.userAgents)")
    let served = site.userAgents.count

    // The config's user agent and body cap: the 2.6 KB home page is over a 2 KB max_body.
    let config = dir.appendingPathComponent("small.toml")
    try """
    [server]
    listen = "127.0.0.1:18099"
    base_url = "http://127.0.0.1:18099/"
    [store]
    path = "state.sqlite"
    [crawl]
    user_agent = "Klasteriu-tinklas/2.0 (+https://tinklas.example/)"
    max_body = "2 KB"
    """.write(to: config, atomically: true, encoding: .utf8)
    let capped = try await clusterwire([
      "discover", site.origin + "/", "--config", config.path,
    ])
    XCTAssertEqual(capped.status, 1, capped.stderrString)
    XCTAssertTrue(capped.stderrString.contains("body over"), capped.stderrString)
    XCTAssertEqual(
      Array(site.userAgents.dropFirst(served)),
      ["Klasteriu-tinklas/2.0 (+https://tinklas.example/)"])
  }

  func testUnreachableSiteAndUsageErrors() async throws {
    // The config's connect timeout applies (a refused connection is retried until it passes).
    let config = dir.appendingPathComponent("fast.toml")
    try """
    [server]
    listen = "127.0.0.1:18099"
    base_url = "http://127.0.0.1:18099/"
    [store]
    path = "state.sqlite"
    [crawl]
    connect_timeout = "1s"
    """.write(to: config, atomically: true, encoding: .utf8)
    let port = TestSupport.freePort()
    let down = try await clusterwire([
      "discover", "http://127.0.0.1:\(port)/", "--config", config.path,
    ])
    XCTAssertEqual(down.status, 1)
    XCTAssertTrue(down.stderrString.contains("could not be fetched"), down.stderrString)
    for arguments in [
      ["discover", "ftp://a.lt/"], ["discover", "klasteris"],
      ["discover", "https://a.lt/", "--force"],
      ["discover", "https://a.lt/", "--json", "--write", "."],
      ["discover", "https://a.lt/", "--write", dir.appendingPathComponent("nera").path],
    ] {
      let r = try await clusterwire(arguments)
      XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderrString)")
      XCTAssertTrue(r.stderrString.contains("discover:"), r.stderrString)
    }
    let bare = try await clusterwire(["discover", "www.klasteris.lt"])
    XCTAssertTrue(
      bare.stderrString.contains("did you mean https://www.klasteris.lt?"), bare.stderrString)
  }

  // MARK: - try-source and [source.filter]

  func testTrySourceShowsWhatTheFilterDrops() async throws {
    let feed = try String(
      contentsOf: TestSupport.fixture("IntegrationTests", "discover/wordpress/feed.xml"),
      encoding: .utf8
    ).replacingOccurrences(of: "{{origin}}", with: "https://saule.example")
    try feed.write(to: dir.appendingPathComponent("feed.xml"), atomically: true, encoding: .utf8)
    let (config, dropIns) = try makeConfig()
    try """
    [[source]]
    id = "saule"
    url = "\(dir.appendingPathComponent("feed.xml").path)"
    [source.filter]
    block = ["darbo skelbimas"]
    """.write(to: dropIns.appendingPathComponent("saule.toml"), atomically: true, encoding: .utf8)
    let r = try await clusterwire(["try-source", "saule", "--config", config.path])
    XCTAssertEqual(r.status, 0, r.stderrString)
    let out = r.stdoutString
    XCTAssertTrue(
      out.contains(
        """
        - 2026-05-28T09:00:00Z  Ieškome projektų vadovo (darbo skelbimas)
          https://saule.example/2026/05/28/darbo-skelbimas-projektu-vadovas/
          Klasteris ieško projektų vadovo.
          dropped by filter: blocked by /darbo skelbimas/ (title)

        """), out)
    // Only that entry.
    XCTAssertEqual(out.components(separatedBy: "dropped by filter:").count, 2, out)
  }
}

/// One fixture site on 127.0.0.1: `routes.txt` maps `PATH[?QUERY]` to a file, content type and
/// status; a request whose query is not listed gets its path's route (sites ignore unknown
/// parameters); `*` answers everything else (a soft 404), else 404. `{{origin}}` in files
/// becomes this server's origin.
final class FixtureSite: @unchecked Sendable {
  struct Route: Sendable {
    var file: String
    var contentType: String
    var status: Int
  }

  let origin: String
  private var task: Task<Void, Error>?
  private let lock = NSLock()
  private var agents: [String] = []

  private init(origin: String) {
    self.origin = origin
  }

  /// The User-Agent of every request served so far.
  var userAgents: [String] { lock.withLock { agents } }

  static func start(_ name: String) async throws -> FixtureSite {
    let directory = TestSupport.fixture("IntegrationTests", "discover/\(name)")
    var routes: [String: Route] = [:]
    let table = try String(
      contentsOf: directory.appendingPathComponent("routes.txt"), encoding: .utf8)
    for line in table.split(separator: "\n") {
      let words = line.split(separator: " ").map(String.init)
      guard words.count >= 4, let status = Int(words.last!) else { continue }
      routes[words[0]] = Route(
        file: words[1], contentType: words[2..<(words.count - 1)].joined(separator: " "),
        status: status)
    }
    let port = TestSupport.freePort()
    let origin = "http://127.0.0.1:\(port)"
    let fixed = routes
    let router = Router()
    let site = FixtureSite(origin: origin)
    @Sendable func respond(_ request: Request) throws -> Response {
      site.lock.withLock { site.agents.append(request.headers[.userAgent] ?? "") }
      let path = request.uri.path
      let query = request.uri.query.map { "?" + $0 } ?? ""
      guard let route = fixed[path + query] ?? fixed[path] ?? fixed["*"] else {
        return Response(
          status: .notFound, headers: [.contentType: "text/html"],
          body: ResponseBody(byteBuffer: ByteBuffer(string: "<h1>Not Found</h1>")))
      }
      let text = try String(
        contentsOf: directory.appendingPathComponent(route.file), encoding: .utf8)
      return Response(
        status: HTTPResponse.Status(code: route.status),
        headers: [.contentType: route.contentType],
        body: ResponseBody(
          byteBuffer: ByteBuffer(string: text.replacingOccurrences(of: "{{origin}}", with: origin)))
      )
    }
    // "**" does not match the root path.
    router.get("/") { request, _ in try respond(request) }
    router.get("**") { request, _ in try respond(request) }
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
    site.task = Task { try await app.runService() }
    for _ in 0..<200 {
      if TestSupport.httpGet(port: port, path: "/") != nil {
        site.lock.withLock { site.agents = [] }  // the readiness probe's
        return site
      }
      try await Task.sleep(for: .milliseconds(25))
    }
    site.stop()
    throw POSIXError(.ECONNREFUSED)
  }

  func stop() { task?.cancel() }
}
