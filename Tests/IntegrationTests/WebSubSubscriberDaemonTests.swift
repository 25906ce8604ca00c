import Foundation
import HTTPTypes
import Hummingbird
import Logging
import TestSupport
import XCTest

/// A member site whose feed advertises a hub, and a scripted hub, on one 127.0.0.1 server.
actor MemberWithHub {
  var feed: String
  var fetches: [Date] = []
  var hubRequests: [[String: String]] = []
  var hubStatus = 202
  var servedNewAt: Date?
  var marker: String?

  init(feed: String) { self.feed = feed }
  func setFeed(_ text: String, marker: String? = nil) {
    feed = text
    self.marker = marker
    servedNewAt = nil
  }
  func served() -> String {
    fetches.append(Date())
    if let marker, servedNewAt == nil, feed.contains(marker) { servedNewAt = Date() }
    return feed
  }
  func hubReceived(_ form: [String: String]) -> Int {
    hubRequests.append(form)
    return hubStatus
  }
  func setHubStatus(_ status: Int) { hubStatus = status }
  func fetches(since: Date) -> Int { fetches.filter { $0 > since }.count }
}

/// The real daemon as a WebSub subscriber: against a scripted hub (verification with a wrong
/// token refused, a bad signature ignored, signed content ingested, slower polling while
/// verified, normal polling again when the hub goes away) and against another real daemon's
/// built-in hub (a new entry at the first reaches the second within seconds; a restart keeps
/// the subscription).
final class WebSubSubscriberDaemonTests: XCTestCase {
  var dir: URL!
  var processes: [Process] = []
  var notifies: [NotifySocket] = []
  var servers: [Task<Void, any Error>] = []

  override func setUp() async throws {
    dir = try TestSupport.makeTempDirectory("cw-websub-sub")
  }

  override func tearDown() async throws {
    for p in processes where p.isRunning {
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
    }
    for n in notifies { n.close() }
    for s in servers { s.cancel() }
    if let dir, testRun?.hasSucceeded ?? false { try? FileManager.default.removeItem(at: dir) }
  }

  static func rss(hub: String?, selfURL: String, items: [(String, String)]) -> String {
    var s = """
      <?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>Narys</title><link>https://narys.lt/</link>
      """
    if let hub { s += "<atom:link rel=\"hub\" href=\"\(hub)\"/>" }
    s += "<atom:link rel=\"self\" href=\"\(selfURL)\" type=\"application/rss+xml\"/>"
    for (i, item) in items.enumerated() {
      s += "<item><title>\(item.0)</title><link>\(item.1)</link><guid>\(item.1)</guid>"
      s += "<pubDate>Tue, \(10 + i) Nov 2026 10:00:00 +0200</pubDate></item>"
    }
    return s + "</channel></rss>"
  }

  /// The member's `/member.xml` and, with `hub`, a scripted hub at `POST /hub` that records
  /// each form and answers `member.hubStatus`.
  static func memberRouter(_ member: MemberWithHub, hub: Bool) -> Router<BasicRequestContext> {
    let router = Router()
    router.get("member.xml") { _, _ -> Response in
      var headers = HTTPFields()
      headers[.contentType] = "application/rss+xml"
      return Response(
        status: .ok, headers: headers,
        body: ResponseBody(byteBuffer: ByteBuffer(string: await member.served())))
    }
    guard hub else { return router }
    router.post("hub") { request, _ -> Response in
      var request = request
      let body = String(buffer: try await request.collectBody(upTo: 1 << 16))
      var form: [String: String] = [:]
      for pair in body.split(separator: "&") {
        let kv = pair.split(separator: "=", maxSplits: 1).map {
          String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
        }
        if kv.count == 2 { form[kv[0]] = kv[1] }
      }
      return Response(status: .init(code: await member.hubReceived(form)))
    }
    return router
  }

  /// Starts `clusterwire run` on `config`, logging into `logs`; returns when it is READY.
  func start(config: URL, logs: URL) throws -> Process {
    try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
    let notify = try NotifySocket(directory: logs)
    notifies.append(notify)
    var env = ProcessInfo.processInfo.environment
    env["NOTIFY_SOCKET"] = notify.path
    let p = try TestSupport.spawn(
      TestSupport.clusterwireBinary, ["run", "--config", config.path], environment: env,
      logDirectory: logs)
    processes.append(p)
    XCTAssertTrue(notify.wait(for: "READY=1", timeout: 60), log(logs))
    return p
  }

  func log(_ logs: URL) -> String {
    (try? String(contentsOf: logs.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
  }

  func feedText(_ port: Int) -> String {
    TestSupport.httpGet(port: port, path: "/feed.atom").map {
      String(decoding: $0.body, as: UTF8.self)
    } ?? ""
  }

  /// A raw POST through python3's urllib: the status.
  func post(_ url: String, body: String, headers: [String: String]) throws -> Int {
    let script = """
      import sys, json, urllib.request, urllib.error
      req = urllib.request.Request(sys.argv[1], data=sys.stdin.buffer.read(), method="POST",
          headers=json.loads(sys.argv[2]))
      try:
          print(urllib.request.urlopen(req, timeout=20).status)
      except urllib.error.HTTPError as e:
          print(e.code)
      """
    let json = String(decoding: try JSONSerialization.data(withJSONObject: headers), as: UTF8.self)
    let r = try TestSupport.run(
      URL(fileURLWithPath: "/usr/bin/python3"), ["-c", script, url, json], input: Data(body.utf8))
    return Int(r.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
  }

  func status(config: URL) throws -> [String: Any] {
    let r = try TestSupport.run(
      TestSupport.clusterwireBinary, ["status", "--config", config.path, "--json"])
    let object = try JSONSerialization.jsonObject(with: Data(r.stdoutString.utf8))
    let sources = (object as? [String: Any])?["sources"] as? [[String: Any]] ?? []
    return sources.first ?? [:]
  }

  func serve(_ router: Router<BasicRequestContext>) -> Int {
    var quiet = Logger(label: "test.member")
    quiet.logLevel = .critical
    let port = TestSupport.freePort()
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
      logger: quiet)
    servers.append(Task { try await app.runService() })
    return port
  }

  func testScriptedHubWrongTokenBadSignatureSlowerPollingAndFallback() async throws {
    let memberPort = TestSupport.freePort()
    let hubURL = "http://127.0.0.1:\(memberPort)/hub"
    let selfURL = "http://127.0.0.1:\(memberPort)/member.xml"
    let v1 = Self.rss(hub: hubURL, selfURL: selfURL, items: [("Pirma", "https://narys.lt/1")])
    let v2 = Self.rss(
      hub: hubURL, selfURL: selfURL,
      items: [("Antra", "https://narys.lt/2"), ("Pirma", "https://narys.lt/1")])
    let v3 = Self.rss(
      hub: hubURL, selfURL: selfURL,
      items: [
        ("Trečia", "https://narys.lt/3"), ("Antra", "https://narys.lt/2"),
        ("Pirma", "https://narys.lt/1"),
      ])
    let member = MemberWithHub(feed: v1)
    let router = Self.memberRouter(member, hub: true)
    var log = Logger(label: "test.member")
    log.logLevel = .critical
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: memberPort)),
      logger: log)
    servers.append(Task { try await app.runService() })

    let port = TestSupport.freePort()
    let config = dir.appendingPathComponent("clusterwire.toml")
    try """
    [server]
    listen = "127.0.0.1:\(port)"
    base_url = "http://127.0.0.1:\(port)/"
    [store]
    path = "state/clusterwire.sqlite"
    [crawl]
    interval = "1s"
    [websub]
    poll_while_subscribed = "1h"
    [[source]]
    id = "narys"
    url = "\(selfURL)"
    """.write(to: config, atomically: true, encoding: .utf8)
    let logs = dir.appendingPathComponent("run")
    _ = try start(config: config, logs: logs)

    // The first fetch discovers the hub: a subscribe request with our callback and a secret.
    var subscribe: [String: String]?
    for _ in 0..<300 where subscribe == nil {
      subscribe = await member.hubRequests.first { $0["hub.mode"] == "subscribe" }
      if subscribe == nil { try await Task.sleep(for: .milliseconds(50)) }
    }
    let form = try XCTUnwrap(subscribe, "no subscribe request; stderr:\n\(self.log(logs))")
    XCTAssertEqual(form["hub.topic"], selfURL)
    let callback = try XCTUnwrap(form["hub.callback"])
    let secret = try XCTUnwrap(form["hub.secret"])
    let prefix = "http://127.0.0.1:\(port)/websub/callback/narys/"
    XCTAssertTrue(callback.hasPrefix(prefix), callback)
    let path = String(callback.dropFirst("http://127.0.0.1:\(port)".count))
    XCTAssertEqual(try status(config: config)["push"] as? String, "pending")

    // Verification: a wrong token, a wrong topic, a wrong mode are refused; ours is echoed.
    let challenge = "c-\(UUID().uuidString)"
    func verification(_ p: String, topic: String = selfURL, mode: String = "subscribe") -> String {
      "\(p)?hub.mode=\(mode)&hub.topic=\(topic.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&hub.challenge=\(challenge)&hub.lease_seconds=8"
    }
    let wrong = String(path.dropLast()) + (path.hasSuffix("a") ? "b" : "a")
    XCTAssertEqual(TestSupport.httpGet(port: port, path: verification(wrong))?.status, 404)
    XCTAssertEqual(
      TestSupport.httpGet(port: port, path: verification(path, topic: "http://x.lt/"))?.status,
      404)
    XCTAssertEqual(
      TestSupport.httpGet(port: port, path: verification(path, mode: "unsubscribe"))?.status, 404)
    XCTAssertEqual(TestSupport.httpGet(port: port, path: "/websub/callback/nera/x")?.status, 404)
    let verified = try XCTUnwrap(TestSupport.httpGet(port: port, path: verification(path)))
    let verifiedAt = Date()
    XCTAssertEqual(verified.status, 200)
    XCTAssertEqual(String(decoding: verified.body, as: UTF8.self), challenge)
    let push = try status(config: config)["push"] as? String ?? ""
    XCTAssertTrue(push.hasPrefix("verified until "), push)

    // While verified, polling slows to poll_while_subscribed (the interval is 1 s here).
    try await Task.sleep(for: .milliseconds(2500))
    let windowStart = Date()
    await member.setFeed(v2)
    try await Task.sleep(for: .seconds(3))
    let polls = await member.fetches(since: windowStart)
    XCTAssertLessThanOrEqual(polls, 1, "polled \(polls) times in 3 s while pushed")
    XCTAssertFalse(feedText(port).contains("Antra"), "not polled, not pushed yet")

    // Content: unsigned and mis-signed pushes are answered 2xx and ignored.
    let headers = ["Content-Type": "application/rss+xml"]
    XCTAssertEqual(try post("http://127.0.0.1:\(port)\(path)", body: v2, headers: headers), 202)
    var signed = headers
    signed["X-Hub-Signature"] = "sha256=" + pythonHMAC256("ne tas raktas", v2)
    XCTAssertEqual(try post("http://127.0.0.1:\(port)\(path)", body: v2, headers: signed), 202)
    XCTAssertEqual(
      try post("http://127.0.0.1:\(port)/websub/callback/narys/zzz", body: v2, headers: signed),
      404)
    try await Task.sleep(for: .milliseconds(300))
    XCTAssertFalse(feedText(port).contains("Antra"), "a bad signature stores nothing")
    // Signed with our secret: ingested at once, through the same parser and store.
    signed["X-Hub-Signature"] = "sha256=" + pythonHMAC256(secret, v2)
    XCTAssertEqual(try post("http://127.0.0.1:\(port)\(path)", body: v2, headers: signed), 202)
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 10) { self.feedText(port).contains("Antra") },
      self.log(logs))
    XCTAssertEqual(feedText(port).components(separatedBy: "<entry>").count - 1, 2)

    // The hub goes away (it answers 503): the renewal in the lease's last quarter fails and
    // normal polling resumes at once, before the lease (8 s) would even have lapsed.
    await member.setHubStatus(503)
    await member.setFeed(v3)
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 20) { self.feedText(port).contains("Trečia") },
      self.log(logs))
    let resumedAfter = Date().timeIntervalSince(verifiedAt)
    XCTAssertLessThan(resumedAfter, 12, "polling resumed after \(resumedAfter) s")
    let renewals = await member.hubRequests.filter { $0["hub.mode"] == "subscribe" }
    XCTAssertGreaterThanOrEqual(renewals.count, 2)
    XCTAssertEqual(renewals[1]["hub.callback"], callback, "a renewal keeps the callback")
    XCTAssertEqual(renewals[1]["hub.secret"], secret)
    let failing = try status(config: config)
    XCTAssertTrue((failing["push"] as? String ?? "").hasPrefix("failing since "), "\(failing)")
    XCTAssertTrue((failing["push_last_error"] as? String ?? "").contains("503"), "\(failing)")
    let after = Date()
    try await Task.sleep(for: .seconds(3))
    let normal = await member.fetches(since: after)
    XCTAssertGreaterThanOrEqual(normal, 2, "polling every second again")
  }

  func testTwoDaemonsPushThroughTheFirstsHubAndARestartKeepsTheSubscription() async throws {
    let v1 = DaemonTests.rss(title: "Narys", items: [("Pirma naujiena", "https://narys.lt/1")])
    let member = MemberWithHub(feed: v1)
    let router = Self.memberRouter(member, hub: false)
    let memberPort = serve(router)

    // Daemon A aggregates the member and runs the hub; daemon B's only source is A's feed, and
    // B polls it once an hour: only a push can bring A's news to B within seconds.
    let portA = TestSupport.freePort()
    let portB = TestSupport.freePort()
    let dirA = dir.appendingPathComponent("a")
    let dirB = dir.appendingPathComponent("b")
    for d in [dirA, dirB] {
      try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    }
    let configA = dirA.appendingPathComponent("clusterwire.toml")
    try """
    [server]
    listen = "127.0.0.1:\(portA)"
    base_url = "http://127.0.0.1:\(portA)/"
    [store]
    path = "state/a.sqlite"
    [crawl]
    interval = "1s"
    [websub]
    allow_private_callbacks = true
    [[source]]
    id = "narys"
    url = "http://127.0.0.1:\(memberPort)/member.xml"
    """.write(to: configA, atomically: true, encoding: .utf8)
    let configB = dirB.appendingPathComponent("clusterwire.toml")
    try """
    [server]
    listen = "127.0.0.1:\(portB)"
    base_url = "http://127.0.0.1:\(portB)/"
    [store]
    path = "state/b.sqlite"
    [crawl]
    interval = "1h"
    [[source]]
    id = "tinklas"
    url = "http://127.0.0.1:\(portA)/feed.atom"
    """.write(to: configB, atomically: true, encoding: .utf8)
    let logsA = dirA.appendingPathComponent("run")
    let a = try start(config: configA, logs: logsA)
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 30) { self.feedText(portA).contains("Pirma naujiena") },
      log(logsA))
    let logsB1 = dirB.appendingPathComponent("run1")
    let b = try start(config: configB, logs: logsB1)
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 30) { self.feedText(portB).contains("Pirma naujiena") },
      log(logsB1))
    // B subscribed at A's hub, and A verified it.
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 30) {
        ((try? self.status(config: configB))?["push"] as? String ?? "").hasPrefix("verified")
      }, log(logsB1) + log(logsA))
    let hubView = try TestSupport.run(
      TestSupport.clusterwireBinary, ["status", "--config", configB.path])
    XCTAssertTrue(hubView.stdoutString.contains("verified until"), hubView.stdoutString)

    /// Publishes `items` at the member; the seconds until the first one is in B's feed.
    func measure(_ items: [(String, String)], logs: URL) async throws -> TimeInterval {
      let title = items[0].0
      await member.setFeed(DaemonTests.rss(title: "Narys", items: items), marker: title)
      var arrived: Date?
      for _ in 0..<400 {
        if feedText(portB).contains(title) {
          arrived = Date()
          break
        }
        try await Task.sleep(for: .milliseconds(25))
      }
      let at = try XCTUnwrap(
        arrived, "\(title) did not reach B; B:\n\(log(logs))\nA:\n\(log(logsA))")
      let servedAt = await member.servedNewAt
      let served = try XCTUnwrap(servedAt)
      return at.timeIntervalSince(served)
    }
    let first = ("Pirma naujiena", "https://narys.lt/1")
    let second = ("Antra naujiena", "https://narys.lt/2")
    let third = ("Trečia naujiena", "https://narys.lt/3")
    let latency = try await measure([second, first], logs: logsB1)
    print("websub two daemons: member served the entry → B's merged feed: \(latency) s")
    XCTAssertLessThan(latency, 10, "a push, not B's next poll (1 h)")

    // Restart B: the subscription is in its store and stays verified; no new subscribe.
    kill(b.processIdentifier, SIGTERM)
    b.waitUntilExit()
    let logsB2 = dirB.appendingPathComponent("run2")
    _ = try start(config: configB, logs: logsB2)
    XCTAssertTrue(
      ((try? status(config: configB))?["push"] as? String ?? "").hasPrefix("verified"))
    let again = try await measure([third, second, first], logs: logsB2)
    print("websub two daemons after B's restart: \(again) s")
    XCTAssertLessThan(again, 10)
    XCTAssertFalse(log(logsB2).contains("websub subscribe requested"), log(logsB2))

    // Restart A, the hub: its subscribers are in its store, and B still gets A's news.
    kill(a.processIdentifier, SIGTERM)
    a.waitUntilExit()
    let logsA2 = dirA.appendingPathComponent("run2")
    _ = try start(config: configA, logs: logsA2)
    let fourth = ("Ketvirta naujiena", "https://narys.lt/4")
    let afterHubRestart = try await measure([fourth, third, second, first], logs: logsB2)
    print("websub two daemons after A's restart: \(afterHubRestart) s")
    XCTAssertLessThan(afterHubRestart, 10)
  }

  /// Two instances on one PostgreSQL store: the instance that fetched subscribes, once; the
  /// hub's verification and pushes may reach either (a load balancer), and both answer from the
  /// shared subscription and ingest into the shared store.
  func testAFleetSharesItsPushSubscription() async throws {
    let db = try TestPostgresDatabase.fresh()
    defer { db.drop() }
    let memberPort = TestSupport.freePort()
    let hubURL = "http://127.0.0.1:\(memberPort)/hub"
    let selfURL = "http://127.0.0.1:\(memberPort)/member.xml"
    let v1 = Self.rss(hub: hubURL, selfURL: selfURL, items: [("Pirma", "https://narys.lt/1")])
    let member = MemberWithHub(feed: v1)
    let router = Self.memberRouter(member, hub: true)
    var quiet = Logger(label: "test.member")
    quiet.logLevel = .critical
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: memberPort)),
      logger: quiet)
    servers.append(Task { try await app.runService() })

    var nodes: [FleetNode] = []
    for name in ["node-a", "node-b"] {
      let node = try FleetNode(
        name: name, parent: dir, store: "url = \"\(db.url)\"",
        sources: "[[source]]\nid = \"narys\"\nurl = \"\(selfURL)\"",
        crawl: "interval = \"1h\"", fleet: "instance = \"\(name)\"\nheartbeat = \"1s\"")
      nodes.append(node)
      processes.append(node.process)
    }
    for node in nodes { XCTAssertTrue(node.waitReady(), node.stderrLog) }
    var subscribe: [String: String]?
    for _ in 0..<600 where subscribe == nil {
      subscribe = await member.hubRequests.first { $0["hub.mode"] == "subscribe" }
      if subscribe == nil { try await Task.sleep(for: .milliseconds(50)) }
    }
    let form = try XCTUnwrap(subscribe, nodes.map(\.stderrLog).joined(separator: "\n"))
    let callback = try XCTUnwrap(form["hub.callback"])
    let secret = try XCTUnwrap(form["hub.secret"])
    let prefix = "https://news.example.org/websub/callback/narys/"
    XCTAssertTrue(callback.hasPrefix(prefix), callback)
    let path = String(callback.dropFirst("https://news.example.org".count))
    // Both instances know it: either may be asked to verify.
    let topic = selfURL.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    for node in nodes.reversed() {
      let answer = node.get(
        "\(path)?hub.mode=subscribe&hub.topic=\(topic)&hub.challenge=\(node.name)&hub.lease_seconds=3600"
      )
      XCTAssertEqual(answer?.status, 200, node.name)
      XCTAssertEqual(answer.map { String(decoding: $0.body, as: UTF8.self) }, node.name)
    }
    // A push to either instance lands in the one store: both publish it.
    for (i, node) in nodes.enumerated() {
      let title = ["Antra", "Trečia"][i]
      let doc = Self.rss(
        hub: hubURL, selfURL: selfURL,
        items: [(title, "https://narys.lt/\(i + 2)"), ("Pirma", "https://narys.lt/1")])
      let status = try post(
        "http://127.0.0.1:\(node.port)\(path)", body: doc,
        headers: [
          "Content-Type": "application/rss+xml",
          "X-Hub-Signature": "sha256=" + pythonHMAC256(secret, doc),
        ])
      XCTAssertEqual(status, 202)
      for other in nodes {
        XCTAssertTrue(
          TestSupport.waitUntil(timeout: 15) { self.feedText(other.port).contains(title) },
          "\(title) pushed to \(node.name) is not on \(other.name):\n\(other.stderrLog)")
      }
    }
    let subscribes = await member.hubRequests.filter { $0["hub.mode"] == "subscribe" }
    XCTAssertEqual(subscribes.count, 1, "one subscription for the fleet")
    let fetches = await member.fetches.count
    XCTAssertEqual(fetches, 1, "the fleet fetched the source once (1 h interval)")
  }
}
