import Foundation
import Hummingbird
import TestSupport
import XCTest

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Retention, source lifecycle, static archives and restart metrics through the real binary.
final class RetentionLifecycleTests: XCTestCase {
  var dir: URL!
  var process: Process?
  var helpers: [Process] = []

  override func setUp() async throws {
    dir = try TestSupport.makeTempDirectory("cw-lifecycle")
  }

  override func tearDown() async throws {
    for p in [process].compactMap({ $0 }) + helpers where p.isRunning {
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
    }
    if let dir, testRun?.hasSucceeded ?? false { try? FileManager.default.removeItem(at: dir) }
  }

  var stderrLog: String {
    (try? String(contentsOf: dir.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
  }

  /// An RSS document of `count` items of `source`, dated from `start` one day apart.
  static func rss(_ source: String, count: Int, from start: Int = 0, year: Int = 2026) -> String {
    var s = """
      <?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>\(source)</title>
      <link>https://\(source).example.lt/</link>
      """
    for i in start..<(start + count) {
      let day = i % 28 + 1
      let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"][(i / 28) % 6]
      s += """
        <item><title>\(source) naujiena \(i)</title><link>https://\(source).example.lt/n/\(i)</link>
        <guid>https://\(source).example.lt/n/\(i)</guid>
        <pubDate>\(String(format: "%02d", day)) \(month) \(year) 10:00:00 +0300</pubDate>
        <description>Apie \(source) \(i): \(String(repeating: "\(source)\(i) ", count: 3))</description></item>
        """
    }
    return s + "</channel></rss>"
  }

  func writeConfig(
    sources: [String], port: Int = 8080, entries: Int = 50, store: String = "",
    interval: String = "30m"
  ) throws -> URL {
    var config = """
      [server]
      listen = "127.0.0.1:\(port)"
      base_url = "https://news.example.org/"
      [store]
      path = "state/clusterwire.sqlite"
      \(store)
      [feed]
      title = "Testo naujienos"
      entries = \(entries)
      [crawl]
      interval = "\(interval)"

      """
    for id in sources {
      config += """
        [[source]]
        id = "\(id)"
        url = "\(id).xml"
        categories = ["sector-\(id)"]

        """
    }
    let url = dir.appendingPathComponent("clusterwire.toml")
    try config.write(to: url, atomically: true, encoding: .utf8)
    return url
  }

  func cw(_ args: [String]) throws -> TestSupport.ProcessResult {
    let r = try TestSupport.run(TestSupport.clusterwireBinary, args, timeout: 120)
    XCTAssertEqual(r.status, 0, "clusterwire \(args.joined(separator: " ")): \(r.stderrString)")
    return r
  }

  /// The issue's first finding: a member whose news is from 2020, with the default config.
  func testOldDatedFeedIsPublishedWithTheDefaultConfig() throws {
    try Self.rss("senas", count: 5, year: 2020).write(
      to: dir.appendingPathComponent("senas.xml"), atomically: true, encoding: .utf8)
    let config = try writeConfig(sources: ["senas"])
    let crawl = try cw(["crawl", "--once", "--config", config.path])
    XCTAssertTrue(crawl.stdoutString.contains("5 new entries"), crawl.stdoutString)
    XCTAssertFalse(crawl.stdoutString.contains("removed by retention"), crawl.stdoutString)
    let out = dir.appendingPathComponent("out")
    _ = try cw(["export", "--config", config.path, "--out", out.path])
    let feed = try String(contentsOf: out.appendingPathComponent("feed.atom"), encoding: .utf8)
    XCTAssertEqual(feed.components(separatedBy: "<entry>").count - 1, 5, feed)
    let status = try cw(["status", "--config", config.path]).stdoutString
    XCTAssertTrue(status.contains("DROPPED"), status)
    XCTAssertTrue(status.contains("5 entries"), status)
  }

  /// Follows `prev-archive` from `feed` through a real static file server: returns every
  /// entry id met, in order, and the number of documents read.
  func walkArchives(port: Int, start: String) throws -> (ids: [String], documents: Int) {
    var ids: [String] = []
    var path: String? = start
    var documents = 0
    var visited = Set<String>()
    while let p = path {
      XCTAssertTrue(visited.insert(p).inserted, "archive chain loops at \(p)")
      guard visited.count < 500 else { break }
      let response = try XCTUnwrap(TestSupport.httpGet(port: port, path: p), p)
      XCTAssertEqual(response.status, 200, p)
      let doc = try AtomDoc(response.body)
      if documents > 0 {
        XCTAssertTrue(doc.isArchive, "\(p) has no fh:archive")
        XCTAssertEqual(doc.links["current"], "https://news.example.org" + start)
      }
      ids += doc.entryIDs
      documents += 1
      path = doc.links["prev-archive"].map {
        XCTAssertTrue($0.hasPrefix("https://news.example.org/"), $0)
        return String($0.dropFirst("https://news.example.org".count))
      }
    }
    return (ids, documents)
  }

  func startStaticServer(_ root: URL) throws -> Int {
    let port = TestSupport.freePort()
    let p = try TestSupport.spawn(
      URL(fileURLWithPath: "/usr/bin/env"),
      ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", root.path, "\(port)"],
      environment: ProcessInfo.processInfo.environment, logDirectory: dir)
    helpers.append(p)
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 20) { TestSupport.httpGet(port: port, path: "/") != nil },
      "python3 -m http.server did not start")
    return port
  }

  func testExportedArchivesReachEveryEntryOnceThroughAStaticServer() throws {
    for (id, n) in [("alfa", 64), ("beta", 41), ("gama", 23)] {
      try Self.rss(id, count: n).write(
        to: dir.appendingPathComponent("\(id).xml"), atomically: true, encoding: .utf8)
    }
    let config = try writeConfig(sources: ["alfa", "beta", "gama"], entries: 10)
    _ = try cw(["crawl", "--once", "--config", config.path])
    let out = dir.appendingPathComponent("site")
    _ = try cw(["export", "--config", config.path, "--out", out.path])
    let port = try startStaticServer(out)

    let merged = try walkArchives(port: port, start: "/feed.atom")
    XCTAssertEqual(merged.ids.count, 128, "every stored entry")
    XCTAssertEqual(Set(merged.ids).count, 128, "exactly once")
    XCTAssertGreaterThan(merged.documents, 5)
    // Every sub-feed too.
    let alfa = try walkArchives(port: port, start: "/sources/alfa.atom")
    XCTAssertEqual(Set(alfa.ids).count, 64)
    XCTAssertEqual(alfa.ids.count, 64)
    let sector = try walkArchives(port: port, start: "/categories/sector-beta.atom")
    XCTAssertEqual(sector.ids.count, 41)
    XCTAssertEqual(Set(sector.ids).count, 41)
    XCTAssertTrue(
      FileManager.default.fileExists(
        atPath: out.appendingPathComponent("archive/sources/gama/1.atom").path))

    // Archive pages are stable: new stories do not move what a sealed page holds.
    let page1 = try Data(contentsOf: out.appendingPathComponent("archive/feed/1.atom"))
    try Self.rss("alfa", count: 70).write(
      to: dir.appendingPathComponent("alfa.xml"), atomically: true, encoding: .utf8)
    _ = try cw(["crawl", "--once", "--config", config.path])
    // A source removed from the config: its documents leave the site.
    let fewer = try writeConfig(sources: ["alfa", "beta"], entries: 10)
    _ = try cw(["crawl", "--once", "--config", fewer.path])
    _ = try cw(["export", "--config", fewer.path, "--out", out.path])
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: out.appendingPathComponent("sources/gama.atom").path))
    XCTAssertFalse(
      FileManager.default.fileExists(
        atPath: out.appendingPathComponent("archive/sources/gama/1.atom").path))
    let again = try walkArchives(port: port, start: "/feed.atom")
    XCTAssertEqual(again.ids.count, 70 + 41)
    XCTAssertEqual(Set(again.ids).count, 70 + 41)
    XCTAssertFalse(again.ids.contains { $0.contains("gama") })
    let page1After = try Data(contentsOf: out.appendingPathComponent("archive/feed/1.atom"))
    let before = try AtomDoc(page1).entryIDs.filter { !$0.contains("gama") }
    XCTAssertEqual(try AtomDoc(page1After).entryIDs, before)
    // Nothing half-written is left behind.
    let leftovers = FileManager.default.enumerator(atPath: out.path)?.compactMap { $0 as? String }
      .filter { $0.hasSuffix(".tmp") }
    XCTAssertEqual(leftovers, [])
  }

  func testRemovedSourceLeavesEveryDocumentOnReloadAndComesBackUnchanged() async throws {
    for id in ["alfa", "beta"] {
      try Self.rss(id, count: 3).write(
        to: dir.appendingPathComponent("\(id).xml"), atomically: true, encoding: .utf8)
    }
    let port = TestSupport.freePort()
    let config = try writeConfig(sources: ["alfa", "beta"], port: port)
    let p = try TestSupport.spawn(
      TestSupport.clusterwireBinary, ["run", "--config", config.path],
      environment: ProcessInfo.processInfo.environment, logDirectory: dir)
    process = p
    func body(_ path: String) -> String? {
      guard let r = TestSupport.httpGet(port: port, path: path), r.status == 200 else { return nil }
      return String(decoding: r.body, as: UTF8.self)
    }
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 60) {
        (body("/feed.atom")?.contains("beta naujiena 2") ?? false)
          && (body("/feed.atom")?.contains("alfa naujiena 2") ?? false)
      }, stderrLog)
    let idsBefore = try AtomDoc(Data((body("/feed.atom") ?? "").utf8)).entryIDs

    _ = try writeConfig(sources: ["alfa"], port: port)
    kill(p.processIdentifier, SIGHUP)
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 20) {
        !(body("/feed.atom")?.contains("beta naujiena") ?? true)
      }, stderrLog)
    for path in ["/feed.atom", "/feed.rss", "/feed.json", "/", "/sources.opml"] {
      let text = try XCTUnwrap(body(path), path)
      XCTAssertFalse(text.contains("beta"), "\(path) still names the removed source")
    }
    XCTAssertEqual(TestSupport.httpGet(port: port, path: "/sources/beta.atom")?.status, 404)
    XCTAssertEqual(
      TestSupport.httpGet(port: port, path: "/categories/sector-beta.atom")?.status, 404)

    _ = try writeConfig(sources: ["alfa", "beta"], port: port)
    kill(p.processIdentifier, SIGHUP)
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 20) { body("/feed.atom")?.contains("beta naujiena") ?? false },
      stderrLog)
    let idsAfter = try AtomDoc(Data((body("/feed.atom") ?? "").utf8)).entryIDs
    XCTAssertEqual(Set(idsAfter), Set(idsBefore), "the same stories under the same ids")
    XCTAssertFalse(stderrLog.contains("new_entries=3"), "re-enabling re-announced old stories")
    kill(p.processIdentifier, SIGTERM)
    XCTAssertTrue(TestSupport.waitUntil(timeout: 20) { !p.isRunning })
  }

  /// Retention on a clock while every source answers 304, and per-source metrics that survive a
  /// restart.
  func testSweepWhileEverySourceAnswers304AndMetricsAfterRestart() async throws {
    let state = DocumentState()
    let router = Router()
    router.get("{id}") { request, context -> Response in
      let id = context.parameters.get("id") ?? ""
      if await state.down { return Response(status: .serviceUnavailable) }
      let doc = await state.document(id)
      if request.headers[.ifNoneMatch] == "\"\(doc.etag)\"" {
        await state.count304()
        return Response(status: .notModified, headers: [.eTag: "\"\(doc.etag)\""])
      }
      return Response(
        status: .ok, headers: [.eTag: "\"\(doc.etag)\"", .contentType: "application/rss+xml"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: doc.body)))
    }
    let originPort = TestSupport.freePort()
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: originPort)))
    let serverTask = Task { try await app.runService() }
    defer { serverTask.cancel() }

    let port = TestSupport.freePort()
    var config = """
      [server]
      listen = "127.0.0.1:\(port)"
      base_url = "https://news.example.org/"
      [store]
      path = "state/clusterwire.sqlite"
      max_age = "8s"
      sweep_interval = "1s"
      [feed]
      title = "Testo naujienos"
      [crawl]
      interval = "1s"

      """
    for id in ["a", "b", "c"] {
      await state.set(id, Self.rss(id, count: 3))
      config += "[[source]]\nid = \"\(id)\"\nurl = \"http://127.0.0.1:\(originPort)/\(id)\"\n\n"
    }
    let configURL = dir.appendingPathComponent("clusterwire.toml")
    try config.write(to: configURL, atomically: true, encoding: .utf8)
    var p = try TestSupport.spawn(
      TestSupport.clusterwireBinary, ["run", "--config", configURL.path],
      environment: ProcessInfo.processInfo.environment, logDirectory: dir)
    process = p
    func feed() -> String {
      TestSupport.httpGet(port: port, path: "/feed.atom").map {
        String(decoding: $0.body, as: UTF8.self)
      } ?? ""
    }
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 60) {
        ["a", "b", "c"].allSatisfy { feed().contains("\($0) naujiena 2") }
      }, stderrLog)
    // Every document now carries only its newest item, then answers 304 forever.
    for id in ["a", "b", "c"] { await state.set(id, Self.rss(id, count: 1, from: 2)) }
    let sawMany304 = await state.waitFor304(atLeast: 9, timeout: 30)
    XCTAssertTrue(sawMany304, "the origin never answered 304")
    // max_age (8 s) after first seen, the items that left the documents are swept — by the
    // clock, since no fetch brings a changed body any more; the current items stay.
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 30) {
        let f = feed()
        return !f.contains("naujiena 0<") && !f.contains("naujiena 1<")
      }, "not swept:\n\(feed())\n\(stderrLog)")
    let current = feed()
    for id in ["a", "b", "c"] { XCTAssertTrue(current.contains("\(id) naujiena 2<"), current) }
    XCTAssertTrue(stderrLog.contains("retention removed 2 entries"), stderrLog)
    func gauge(_ text: String, _ name: String) -> String? {
      text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.map {
        String($0.dropFirst(name.count + 1))
      }
    }
    let metrics = String(
      decoding: TestSupport.httpGet(port: port, path: "/metrics")?.body ?? Data(), as: UTF8.self)
    XCTAssertTrue(
      gauge(metrics, #"clusterwire_source_retention_dropped_entries{source="a"}"#)
        .flatMap(Double.init) == 2, metrics)

    let lastSuccess = #"clusterwire_source_last_success_timestamp_seconds{source="c"}"#
    let before = try XCTUnwrap(gauge(metrics, lastSuccess), metrics)

    // Restart with the origin down: the last success can only come from the store.
    kill(p.processIdentifier, SIGTERM)
    XCTAssertTrue(TestSupport.waitUntil(timeout: 20) { !p.isRunning })
    let stoppedAt = Date()
    await state.goDown()
    try config.replacingOccurrences(of: "max_age = \"8s\"", with: "max_age = \"365d\"")
      .write(to: configURL, atomically: true, encoding: .utf8)
    p = try TestSupport.spawn(
      TestSupport.clusterwireBinary, ["run", "--config", configURL.path],
      environment: ProcessInfo.processInfo.environment, logDirectory: dir)
    process = p
    var text = ""
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 30) {
        text = String(
          decoding: TestSupport.httpGet(port: port, path: "/metrics")?.body ?? Data(),
          as: UTF8.self)
        return gauge(text, lastSuccess) != nil
      }, text)
    // The value of the last 304 before the restart (one more may have landed after `before`
    // was read), not of a fetch after it: every fetch now fails.
    let restored = try XCTUnwrap(gauge(text, lastSuccess).flatMap(Double.init))
    XCTAssertGreaterThanOrEqual(restored, try XCTUnwrap(Double(before)))
    XCTAssertLessThanOrEqual(restored, stoppedAt.timeIntervalSince1970)
    XCTAssertEqual(
      gauge(text, #"clusterwire_source_retention_dropped_entries{source="a"}"#).flatMap(
        Double.init),
      2, text)
    kill(p.processIdentifier, SIGTERM)
    XCTAssertTrue(TestSupport.waitUntil(timeout: 20) { !p.isRunning })
  }
}

/// What the fixture origin serves per source, and how often it answered.
actor DocumentState {
  private var docs: [String: (body: String, etag: String)] = [:]
  private(set) var requests = 0
  private(set) var notModified = 0

  func set(_ id: String, _ body: String) {
    docs[id] = (body, String(UInt64(bitPattern: Int64(body.hashValue)), radix: 16))
  }

  func document(_ id: String) -> (body: String, etag: String) {
    requests += 1
    return docs[id] ?? ("", "none")
  }

  func count304() { notModified += 1 }

  /// From now on every request fails (503).
  func goDown() { down = true }
  private(set) var down = false

  func waitFor304(atLeast n: Int, timeout: TimeInterval) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if notModified >= n { return true }
      try? await Task.sleep(for: .milliseconds(100))
    }
    return notModified >= n
  }
}

/// The parts of an Atom document the archive walk needs, read with Foundation's XML parser
/// (libxml2 underneath): entry ids, feed-level links by rel, and `fh:archive`.
struct AtomDoc {
  var entryIDs: [String] = []
  var links: [String: String] = [:]
  var isArchive = false

  init(_ data: Data) throws {
    let delegate = Delegate()
    let parser = XMLParser(data: data)
    parser.shouldProcessNamespaces = true
    parser.delegate = delegate
    guard parser.parse() else {
      throw NSError(
        domain: "AtomDoc", code: 1,
        userInfo: [
          NSLocalizedDescriptionKey: "not well-formed: \(String(describing: parser.parserError))"
        ])
    }
    entryIDs = delegate.ids
    links = delegate.links
    isArchive = delegate.archive
  }

  final class Delegate: NSObject, XMLParserDelegate {
    var stack: [String] = []
    var text = ""
    var ids: [String] = []
    var links: [String: String] = [:]
    var archive = false

    func parser(
      _ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
      qualifiedName: String?, attributes: [String: String] = [:]
    ) {
      stack.append(name)
      text = ""
      if name == "archive", namespaceURI == "http://purl.org/syndication/history/1.0" {
        archive = true
      }
      if name == "link", stack.count == 2, let rel = attributes["rel"],
        let href = attributes["href"]
      {
        links[rel] = href
      }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(
      _ parser: XMLParser, didEndElement name: String, namespaceURI: String?,
      qualifiedName: String?
    ) {
      if name == "id", stack.count == 3, stack[1] == "entry" { ids.append(text) }
      stack.removeLast()
    }
  }
}
