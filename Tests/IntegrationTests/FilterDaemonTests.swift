import Foundation
import Hummingbird
import Logging
import Synchronization
import TestSupport
import XCTest

/// `[source.filter]` through the real binary (issue 16): blocked entries never reach a published
/// document, `status` and `/metrics` count them, and a reload with another filter changes what
/// is published without the member being fetched again.
final class FilterDaemonTests: XCTestCase {
  var dir: URL!
  var notify: NotifySocket!
  var process: Process?
  var servers: [Task<Void, any Error>] = []

  override func setUp() async throws {
    dir = try TestSupport.makeTempDirectory("cw-filter")
    notify = try NotifySocket(directory: dir)
  }

  override func tearDown() async throws {
    if let process, process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    for s in servers { s.cancel() }
    notify.close()
    if let dir, testRun?.hasSucceeded ?? false { try? FileManager.default.removeItem(at: dir) }
  }

  var stderrLog: String {
    (try? String(contentsOf: dir.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
  }

  static let feed = """
    <?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Narys</title>
    <link>https://narys.lt/</link>
    <item><title>Klasteris atidarė laboratoriją</title><link>https://narys.lt/1</link>
      <guid>https://narys.lt/1</guid><pubDate>Tue, 10 Nov 2026 10:00:00 +0200</pubDate>
      <description>Naujiena apie laboratoriją.</description></item>
    <item><title>Darbo skelbimas: projektų vadovas</title><link>https://narys.lt/2</link>
      <guid>https://narys.lt/2</guid><pubDate>Wed, 11 Nov 2026 10:00:00 +0200</pubDate>
      <description>Ieškome kolegos.</description></item>
    <item><title>Kviečiame į renginį</title><link>https://narys.lt/3</link>
      <guid>https://narys.lt/3</guid><pubDate>Thu, 12 Nov 2026 10:00:00 +0200</pubDate>
      <description>&lt;p&gt;Nemokama &lt;b&gt;vakarienė&lt;/b&gt; dalyviams&lt;/p&gt;</description>
      <category>Renginiai</category></item>
    </channel></rss>
    """

  func writeConfig(port: Int, memberPort: Int, filter: String) throws -> URL {
    let url = dir.appendingPathComponent("clusterwire.toml")
    try """
    [server]
    listen = "127.0.0.1:\(port)"
    base_url = "http://127.0.0.1:\(port)/"
    [store]
    path = "state/clusterwire.sqlite"
    [crawl]
    interval = "1h"
    [websub]
    subscribe = false
    [[source]]
    id = "narys"
    url = "http://127.0.0.1:\(memberPort)/feed.xml"
    categories = ["ict"]
    \(filter)
    """.write(to: url, atomically: true, encoding: .utf8)
    return url
  }

  func get(_ port: Int, _ path: String) -> String {
    guard let r = TestSupport.httpGet(port: port, path: path), r.status == 200 else { return "" }
    return String(decoding: r.body, as: UTF8.self)
  }

  func testFilteredEntriesAreNeverPublishedCountedAndReloadRejudgesWithoutAFetch() throws {
    let fetches = Atomic<Int>(0)
    let router = Router()
    router.get("/feed.xml") { _, _ -> Response in
      fetches.add(1, ordering: .relaxed)
      return Response(
        status: .ok, headers: [.contentType: "application/rss+xml"],
        body: .init(byteBuffer: ByteBuffer(string: Self.feed)))
    }
    var quiet = Logger(label: "test.member")
    quiet.logLevel = .critical
    let memberPort = TestSupport.freePort()
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: memberPort)),
      logger: quiet)
    servers.append(Task { try await app.runService() })

    let port = TestSupport.freePort()
    let config = try writeConfig(
      port: port, memberPort: memberPort,
      filter: "[source.filter]\nblock = [\"darbo skelbimas\", \"VAKARIENĖ\"]")
    var env = ProcessInfo.processInfo.environment
    env["NOTIFY_SOCKET"] = notify.path
    let p = try TestSupport.spawn(
      TestSupport.clusterwireBinary, ["run", "--config", config.path], environment: env,
      logDirectory: dir)
    process = p
    XCTAssertTrue(notify.wait(for: "READY=1", timeout: 60), "no READY=1; stderr:\n\(stderrLog)")
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 30) {
        get(port, "/feed.atom").contains("Klasteris atidarė laboratoriją")
      }, "the member's news never appeared; stderr:\n\(stderrLog)")

    // Blocked by title, and by the HTML summary read as text: in no published document.
    for path in ["/feed.atom", "/feed.rss", "/feed.json", "/", "/sources/narys.atom"] {
      let body = get(port, path)
      XCTAssertFalse(body.isEmpty, path)
      XCTAssertFalse(body.contains("projektų vadovas"), "\(path) publishes a blocked entry")
      XCTAssertFalse(body.contains("Kviečiame į renginį"), "\(path) publishes a blocked entry")
    }
    let metrics = get(port, "/metrics")
    XCTAssertTrue(
      metrics.contains(#"clusterwire_source_filtered_entries{source="narys"} 2"#), metrics)
    let table = try TestSupport.run(
      TestSupport.clusterwireBinary, ["status", "--config", config.path])
    XCTAssertTrue(table.stdoutString.contains("FILTERED"), table.stdoutString)
    let json = try TestSupport.run(
      TestSupport.clusterwireBinary, ["status", "--config", config.path, "--json"])
    let object = try JSONSerialization.jsonObject(with: Data(json.stdoutString.utf8))
    let sources = (object as? [String: Any])?["sources"] as? [[String: Any]]
    XCTAssertEqual(sources?.first?["filtered"] as? Int, 2, json.stdoutString)
    let fetchesBefore = fetches.load(ordering: .relaxed)
    XCTAssertEqual(fetchesBefore, 1)

    // Another filter, reloaded: the job ad comes back, the event stays out, nothing refetched.
    _ = try writeConfig(
      port: port, memberPort: memberPort, filter: "[source.filter]\nblock = [\"renginiai\"]")
    let ready = notify.received.filter { $0.contains("READY=1") }.count
    kill(p.processIdentifier, SIGHUP)
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 20) {
        notify.received.filter { $0.contains("READY=1") }.count > ready
      }, "no READY=1 after the reload; stderr:\n\(stderrLog)")
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 20) {
        get(port, "/feed.atom").contains("projektų vadovas")
      }, "the unblocked entry never appeared; stderr:\n\(stderrLog)")
    let after = get(port, "/feed.atom")
    XCTAssertFalse(after.contains("Kviečiame į renginį"), "blocked by its category now")
    XCTAssertTrue(after.contains("Klasteris atidarė laboratoriją"))
    XCTAssertTrue(
      get(port, "/metrics").contains(#"clusterwire_source_filtered_entries{source="narys"} 1"#))
    XCTAssertEqual(
      fetches.load(ordering: .relaxed), fetchesBefore, "the reload applied without a fetch")
    XCTAssertTrue(p.isRunning)
  }
}
