import Foundation
import Hummingbird
import TestSupport
import XCTest

/// `clusterwire run` as systemd runs it: the built binary, a fake `$NOTIFY_SOCKET`, real signals.
final class DaemonTests: XCTestCase {
  var dir: URL!
  var notify: NotifySocket!
  var process: Process?

  override func setUp() async throws {
    dir = try TestSupport.makeTempDirectory("cw-daemon")
    notify = try NotifySocket(directory: dir)
  }

  override func tearDown() async throws {
    if let process, process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    notify.close()
    if let dir, testRun?.hasSucceeded ?? false { try? FileManager.default.removeItem(at: dir) }
  }

  static func rss(title: String, items: [(String, String)]) -> String {
    var s =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>\(title)</title><link>https://example.lt/</link>"
    for (i, item) in items.enumerated() {
      s += "<item><title>\(item.0)</title><link>\(item.1)</link><guid>\(item.1)</guid>"
      s +=
        "<pubDate>Tue, \(10 + i) Nov 2026 10:00:00 +0200</pubDate><description>Apie \(item.0)</description></item>"
    }
    return s + "</channel></rss>"
  }

  func writeConfig(port: Int, extraSources: String = "", crawlInterval: String = "10s") throws
    -> URL
  {
    try Self.rss(title: "Alfa", items: [("Alfa naujiena", "https://alfa.lt/1")])
      .write(to: dir.appendingPathComponent("alfa.xml"), atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(
      at: dir.appendingPathComponent("sources.d"), withIntermediateDirectories: true)
    let config = """
      include = ["sources.d/*.toml"]
      [server]
      listen = "127.0.0.1:\(port)"
      base_url = "http://127.0.0.1:\(port)/"
      [store]
      path = "state/clusterwire.sqlite"
      [feed]
      title = "Testo naujienos"
      author = "Testas"
      [crawl]
      interval = "\(crawlInterval)"
      timeout = "20s"
      [[source]]
      id = "alfa"
      url = "alfa.xml"
      categories = ["ict"]
      \(extraSources)
      """
    let url = dir.appendingPathComponent("clusterwire.toml")
    try config.write(to: url, atomically: true, encoding: .utf8)
    return url
  }

  func start(config: URL, watchdogUSec: Int? = nil) throws -> Process {
    var env = ProcessInfo.processInfo.environment
    env["NOTIFY_SOCKET"] = notify.path
    if let watchdogUSec {
      env["WATCHDOG_USEC"] = String(watchdogUSec)
    }
    let p = try TestSupport.spawn(
      TestSupport.clusterwireBinary, ["run", "--config", config.path], environment: env,
      logDirectory: dir)
    process = p
    return p
  }

  var stderrLog: String {
    (try? String(contentsOf: dir.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
  }

  func feedContains(_ port: Int, _ text: String) -> Bool {
    guard let r = TestSupport.httpGet(port: port, path: "/feed.atom"), r.status == 200 else {
      return false
    }
    return String(decoding: r.body, as: UTF8.self).contains(text)
  }

  func testNotifySequenceReloadAndShutdown() throws {
    let port = TestSupport.freePort()
    let config = try writeConfig(port: port)
    let p = try start(config: config, watchdogUSec: 2_000_000)
    XCTAssertTrue(notify.wait(for: "READY=1", timeout: 60), "no READY=1; stderr:\n\(stderrLog)")
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 30) { feedContains(port, "Alfa naujiena") },
      "first source never appeared; stderr:\n\(stderrLog)")
    XCTAssertTrue(
      notify.wait(for: "WATCHDOG=1", timeout: 5), "no watchdog keep-alive: \(notify.received)")
    XCTAssertTrue(notify.received.contains { $0.contains("STATUS=") })

    // A good reload: a new drop-in source appears without a restart.
    try Self.rss(title: "Beta", items: [("Beta žinia", "https://beta.lt/1")])
      .write(to: dir.appendingPathComponent("beta.xml"), atomically: true, encoding: .utf8)
    try """
    [[source]]
    id = "beta"
    url = "../beta.xml"
    categories = ["energy-construction"]
    """.write(
      to: dir.appendingPathComponent("sources.d/beta.toml"), atomically: true, encoding: .utf8)
    let readyBefore = notify.received.filter { $0.contains("READY=1") }.count
    kill(p.processIdentifier, SIGHUP)
    XCTAssertTrue(notify.wait(for: "RELOADING=1", timeout: 10), "\(notify.received)")
    XCTAssertTrue(notify.received.contains { $0.contains("MONOTONIC_USEC=") })
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 10) {
        notify.received.filter { $0.contains("READY=1") }.count > readyBefore
      })
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 40) { feedContains(port, "Beta žinia") },
      "reloaded source never appeared; stderr:\n\(stderrLog)")

    // A broken reload is rejected with a line number; the daemon keeps serving.
    try "[[source]]\nid = \"gama\"\nurl = \"gama.xml\"\nintervall = \"1h\"\n"
      .write(
        to: dir.appendingPathComponent("sources.d/gama.toml"), atomically: true, encoding: .utf8)
    let readyBeforeBroken = notify.received.filter { $0.contains("READY=1") }.count
    kill(p.processIdentifier, SIGHUP)
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 10) {
        notify.received.filter { $0.contains("READY=1") }.count > readyBeforeBroken
      })
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 5) { stderrLog.contains("gama.toml:4") },
      "the rejected config's error should name the file and line; stderr:\n\(stderrLog)")
    XCTAssertTrue(p.isRunning)
    XCTAssertTrue(feedContains(port, "Beta žinia"))

    // SIGTERM: STOPPING=1 and a clean exit.
    kill(p.processIdentifier, SIGTERM)
    XCTAssertTrue(notify.wait(for: "STOPPING=1", timeout: 15), "\(notify.received)")
    XCTAssertTrue(TestSupport.waitUntil(timeout: 15) { !p.isRunning })
    XCTAssertEqual(p.terminationStatus, 0, stderrLog)
  }

  func testSIGTERMWhileAFetchHangs() async throws {
    // A source that accepts the request and never answers.
    let hits = Counter()
    let router = Router()
    router.get("slow.xml") { _, _ -> String in
      await hits.increment()
      try await Task.sleep(for: .seconds(120))
      return ""
    }
    let serverPort = TestSupport.freePort()
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: serverPort)))
    let serverTask = Task { try await app.runService() }
    defer { serverTask.cancel() }

    let port = TestSupport.freePort()
    let config = try writeConfig(
      port: port,
      extraSources: """
        [[source]]
        id = "slow"
        url = "http://127.0.0.1:\(serverPort)/slow.xml"
        """, crawlInterval: "2s")
    let p = try start(config: config)
    XCTAssertTrue(notify.wait(for: "READY=1", timeout: 60), stderrLog)
    var fetching = false
    for _ in 0..<300 {
      if await hits.value > 0 {
        fetching = true
        break
      }
      try await Task.sleep(for: .milliseconds(100))
    }
    XCTAssertTrue(fetching, "the slow source was never requested; stderr:\n\(stderrLog)")
    let stopAsked = Date()
    kill(p.processIdentifier, SIGTERM)
    while p.isRunning && Date().timeIntervalSince(stopAsked) < 20 {
      try await Task.sleep(for: .milliseconds(100))
    }
    XCTAssertFalse(p.isRunning, "daemon did not stop within 20 s of SIGTERM")
    XCTAssertLessThan(Date().timeIntervalSince(stopAsked), 15)
    XCTAssertEqual(p.terminationStatus, 0, stderrLog)
    XCTAssertTrue(notify.received.contains { $0.contains("STOPPING=1") })
    // The store is intact and reopens: the first source's entry is still there.
    let status = try TestSupport.run(
      TestSupport.clusterwireBinary, ["status", "--config", config.path])
    XCTAssertEqual(status.status, 0, status.stderrString)
    XCTAssertTrue(status.stdoutString.contains("alfa"), status.stdoutString)
  }

  func testInvalidConfigRefusesToStart() throws {
    let config = dir.appendingPathComponent("bad.toml")
    try
      "[server]\nlisten = \"127.0.0.1:8080\"\nbase_url = \"http://x/\"\n[crawl]\ninterval = \"soon\"\n"
      .write(to: config, atomically: true, encoding: .utf8)
    let result = try TestSupport.run(
      TestSupport.clusterwireBinary, ["run", "--config", config.path])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderrString.contains("bad.toml:5"), result.stderrString)
    let check = try TestSupport.run(TestSupport.clusterwireBinary, ["check-config", config.path])
    XCTAssertEqual(check.status, 1)
    XCTAssertTrue(check.stderrString.contains("interval"), check.stderrString)
  }
}

/// A tiny counter the fixture server's handlers share.
actor Counter {
  var value = 0
  func increment() { value += 1 }
}
