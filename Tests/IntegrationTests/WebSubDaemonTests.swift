import Foundation
import HTTPTypes
import Hummingbird
import Logging
import TestSupport
import XCTest

/// A member's feed and a WebSub subscriber, scripted on one 127.0.0.1 server.
actor MemberAndSubscriber {
  var feed: String
  var servedNewAt: Date?
  var marker: String?
  var verifications: [[String: String]] = []
  var pushes: [(body: String, signature: String?, at: Date)] = []

  init(feed: String) { self.feed = feed }
  func setFeed(_ text: String, marker: String) {
    feed = text
    self.marker = marker
    servedNewAt = nil
  }
  func served() -> String {
    if let marker, servedNewAt == nil, feed.contains(marker) { servedNewAt = Date() }
    return feed
  }
  func verified(_ q: [String: String]) { verifications.append(q) }
  func pushed(_ body: String, _ signature: String?) { pushes.append((body, signature, Date())) }
}

/// The real daemon's built-in hub: a subscriber subscribes to the merged feed, a member's new
/// entry reaches the subscriber's callback as a signed push as soon as the daemon has it.
final class WebSubDaemonTests: XCTestCase {
  var dir: URL!
  var notify: NotifySocket!
  var process: Process?

  override func setUp() async throws {
    dir = try TestSupport.makeTempDirectory("cw-websub")
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

  var stderrLog: String {
    (try? String(contentsOf: dir.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
  }

  /// POSTs a form with python3's urllib (the test target has no HTTP client of its own).
  func postForm(_ url: String, _ fields: [(String, String)]) throws -> (status: Int, body: String) {
    let script = """
      import sys, urllib.request, urllib.parse, urllib.error
      data = urllib.parse.urlencode(list(zip(sys.argv[2::2], sys.argv[3::2]))).encode()
      req = urllib.request.Request(sys.argv[1], data=data, method="POST",
          headers={"Content-Type": "application/x-www-form-urlencoded"})
      try:
          r = urllib.request.urlopen(req, timeout=20)
          print(r.status); print(r.read().decode())
      except urllib.error.HTTPError as e:
          print(e.code); print(e.read().decode())
      """
    let r = try TestSupport.run(
      URL(fileURLWithPath: "/usr/bin/python3"),
      ["-c", script, url] + fields.flatMap { [$0.0, $0.1] })
    let lines = r.stdoutString.split(separator: "\n", maxSplits: 1)
    return (Int(lines.first ?? "") ?? -1, lines.count > 1 ? String(lines[1]) : r.stderrString)
  }

  func testSubscriberGetsASignedPushOfANewMemberEntryWithinSeconds() async throws {
    let v1 = DaemonTests.rss(title: "Narys", items: [("Pirma naujiena", "https://narys.lt/1")])
    let v2 = DaemonTests.rss(
      title: "Narys",
      items: [("Antra naujiena", "https://narys.lt/2"), ("Pirma naujiena", "https://narys.lt/1")])
    let state = MemberAndSubscriber(feed: v1)
    let router = Router()
    router.get("member.xml") { _, _ -> Response in
      let body = await state.served()
      var headers = HTTPFields()
      headers[.contentType] = "application/rss+xml"
      return Response(
        status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
    router.get("cb") { request, _ -> Response in
      var q: [String: String] = [:]
      for (k, v) in request.uri.queryParameters { q[String(k)] = String(v) }
      await state.verified(q)
      return Response(
        status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: q["hub.challenge"] ?? "")))
    }
    router.post("cb") { request, _ -> Response in
      var request = request
      let body = try await request.collectBody(upTo: 4 << 20)
      await state.pushed(String(buffer: body), request.headers[HTTPField.Name("X-Hub-Signature")!])
      return Response(status: .noContent)
    }
    var quiet = Logger(label: "test.member")
    quiet.logLevel = .critical
    let memberPort = TestSupport.freePort()
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: memberPort)),
      logger: quiet)
    let serverTask = Task { try await app.runService() }
    defer { serverTask.cancel() }

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
    allow_private_callbacks = true
    [[source]]
    id = "narys"
    url = "http://127.0.0.1:\(memberPort)/member.xml"
    """.write(to: config, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["NOTIFY_SOCKET"] = notify.path
    let p = try TestSupport.spawn(
      TestSupport.clusterwireBinary, ["run", "--config", config.path], environment: env,
      logDirectory: dir)
    process = p
    XCTAssertTrue(notify.wait(for: "READY=1", timeout: 60), stderrLog)
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 30) {
        let r = TestSupport.httpGet(port: port, path: "/feed.atom")
        return r.map { String(decoding: $0.body, as: UTF8.self).contains("Pirma naujiena") }
          ?? false
      }, stderrLog)

    // Discovery on our documents: the hub and self links, in the document and the headers.
    let feed = try XCTUnwrap(TestSupport.httpGet(port: port, path: "/feed.atom"))
    let link = feed.headers.first { $0.key.lowercased() == "link" }?.value ?? ""
    XCTAssertTrue(link.contains("<http://127.0.0.1:\(port)/websub>; rel=\"hub\""), link)
    XCTAssertTrue(link.contains("<http://127.0.0.1:\(port)/feed.atom>; rel=\"self\""), link)
    let etag = feed.headers.first { $0.key.lowercased() == "etag" }?.value ?? ""
    let revalidated = try XCTUnwrap(
      TestSupport.httpGet(port: port, path: "/feed.atom", headers: ["If-None-Match": etag]))
    XCTAssertEqual(revalidated.status, 304)
    XCTAssertEqual(revalidated.headers.first { $0.key.lowercased() == "link" }?.value, link)
    let gzip = try XCTUnwrap(
      TestSupport.httpGet(port: port, path: "/feed.atom", headers: ["Accept-Encoding": "gzip"]))
    XCTAssertEqual(gzip.headers.first { $0.key.lowercased() == "link" }?.value, link)
    let page = try XCTUnwrap(TestSupport.httpGet(port: port, path: "/"))
    XCTAssertTrue(
      String(decoding: page.body, as: UTF8.self).contains(
        "<link rel=\"hub\" href=\"http://127.0.0.1:\(port)/websub\">"))
    let get = try XCTUnwrap(TestSupport.httpGet(port: port, path: "/websub"))
    XCTAssertEqual(get.status, 405)
    let text = String(decoding: feed.body, as: UTF8.self)
    XCTAssertTrue(text.contains("href=\"http://127.0.0.1:\(port)/websub\""), text)

    let topic = "http://127.0.0.1:\(port)/feed.atom"
    let callback = "http://127.0.0.1:\(memberPort)/cb?reader=1"
    let secret = "labai-slapta"
    let hub = "http://127.0.0.1:\(port)/websub"
    let bad = try postForm(
      hub,
      [("hub.mode", "subscribe"), ("hub.topic", "http://elsewhere/x"), ("hub.callback", callback)])
    XCTAssertEqual(bad.status, 404, bad.body)
    let answer = try postForm(
      hub,
      [
        ("hub.mode", "subscribe"), ("hub.topic", topic), ("hub.callback", callback),
        ("hub.secret", secret), ("hub.lease_seconds", "86400"),
      ])
    XCTAssertEqual(answer.status, 202, answer.body + stderrLog)
    var verified = false
    for _ in 0..<200 {
      if let q = await state.verifications.first {
        XCTAssertEqual(q["hub.topic"], topic)
        XCTAssertEqual(q["reader"], "1")
        verified = true
        break
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    XCTAssertTrue(verified, "no verification request; stderr:\n\(stderrLog)")
    // Verification is asynchronous: let the hub store the subscription before the change.
    try await Task.sleep(for: .milliseconds(500))

    await state.setFeed(v2, marker: "Antra naujiena")
    var push: (body: String, signature: String?, at: Date)?
    for _ in 0..<300 {
      push = await state.pushes.first { $0.body.contains("Antra naujiena") }
      if push != nil { break }
      try await Task.sleep(for: .milliseconds(50))
    }
    let got = try XCTUnwrap(push, "no push within 15 s; stderr:\n\(stderrLog)")
    XCTAssertTrue(got.body.hasPrefix("<?xml"), got.body)
    XCTAssertTrue(got.body.contains("<feed"), "the whole Atom document is pushed")
    let expected = pythonHMAC256(secret, got.body)
    XCTAssertEqual(got.signature, "sha256=" + expected)
    let servedAt = await state.servedNewAt
    let served = try XCTUnwrap(servedAt)
    let latency = got.at.timeIntervalSince(served)
    print("websub end-to-end: member served the new entry → subscriber callback: \(latency) s")
    XCTAssertLessThan(latency, 10, "a push, not the subscriber's next poll")
  }
}

/// HMAC-SHA256 hex computed by python3's hmac module: a check independent of our code.
func pythonHMAC256(_ key: String, _ body: String) -> String {
  let r = try? TestSupport.run(
    URL(fileURLWithPath: "/usr/bin/python3"),
    [
      "-c",
      "import hmac,hashlib,sys; sys.stdout.write(hmac.new(sys.argv[1].encode(),"
        + " sys.stdin.buffer.read(), hashlib.sha256).hexdigest())", key,
    ], input: Data(body.utf8))
  return r?.stdoutString ?? ""
}
