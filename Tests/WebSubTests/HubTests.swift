import AsyncHTTPClient
import FeedStore
import Foundation
import Hummingbird
import Logging
import TestSupport
import XCTest

@testable import WebSub

/// What the scripted subscriber saw.
actor Seen {
  var verifications: [[String: String]] = []
  var deliveries: [(path: String, body: String, headers: [String: String], at: Date)] = []
  var failuresLeft: [String: Int] = [:]
  var echo = true

  func verified(_ q: [String: String]) { verifications.append(q) }
  func delivered(_ path: String, _ body: String, _ headers: [String: String]) {
    deliveries.append((path, body, headers, Date()))
  }
  func setFailures(_ path: String, _ n: Int) { failuresLeft[path] = n }
  func setEcho(_ on: Bool) { echo = on }
  /// True when this request should fail (and counts it down).
  func shouldFail(_ path: String) -> Bool {
    guard let n = failuresLeft[path], n > 0 else { return false }
    failuresLeft[path] = n - 1
    return true
  }
  func deliveries(to path: String) -> [(body: String, headers: [String: String], at: Date)] {
    deliveries.filter { $0.path == path }.map { ($0.body, $0.headers, $0.at) }
  }
}

/// The current version of every topic, as the publisher would render it.
final class Topics: @unchecked Sendable {
  private let lock = NSLock()
  private var docs: [String: TopicContent] = [:]
  func set(_ topic: String, _ body: String) {
    lock.withLock {
      docs[topic] = TopicContent(
        body: Array(body.utf8), contentType: "application/atom+xml; charset=utf-8",
        etag: "\"\(body.hashValue)\"")
    }
  }
  func get(_ topic: String) -> TopicContent? { lock.withLock { docs[topic] } }
}

/// Our hub against a scripted subscriber on 127.0.0.1 (a real Hummingbird server), with a real
/// SQLite store.
final class HubTests: XCTestCase {
  var dir: URL!
  var store: SQLiteFeedStore!
  let seen = Seen()
  let topics = Topics()
  var port = 0
  var serverTask: Task<Void, any Error>?
  let topic = "https://news.example.lt/feed.atom"

  override func setUp() async throws {
    dir = try TestSupport.makeTempDirectory("websub-hub")
    store = try SQLiteFeedStore(path: dir.appendingPathComponent("store.sqlite").path)
    topics.set(topic, "<feed>v1</feed>")
    let router = Router()
    let seen = self.seen
    for name in ["fast", "slow", "flaky", "other"] {
      router.get(RouterPath(stringLiteral: name)) { request, _ -> Response in
        var q: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { q[String(k)] = String(v) }
        q["path"] = name
        await seen.verified(q)
        let echo = await seen.echo
        let body = echo ? (q["hub.challenge"] ?? "") : "nope"
        return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
      }
      router.post(RouterPath(stringLiteral: name)) { request, _ -> Response in
        if name == "slow" { try await Task.sleep(for: .seconds(4)) }
        if await seen.shouldFail(name) { return Response(status: .internalServerError) }
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for field in request.headers {
          headers[field.name.canonicalName.lowercased()] = field.value
        }
        await seen.delivered(name, String(buffer: body), headers)
        return Response(status: .accepted)
      }
    }
    port = TestSupport.freePort()
    var quiet = Logger(label: "test.subscriber")
    quiet.logLevel = .critical
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
      logger: quiet)
    serverTask = Task { try await app.runService() }
    XCTAssertTrue(
      TestSupport.waitUntil(timeout: 20) { TestSupport.httpGet(port: port, path: "/") != nil })
  }

  override func tearDown() async throws {
    serverTask?.cancel()
    try? await store.close()
    try? FileManager.default.removeItem(at: dir)
  }

  func makeHub(
    _ options: HubOptions? = nil, allowPrivate: Bool = true
  ) -> WebSubHub {
    var logger = Logger(label: "test.hub")
    logger.logLevel = .error
    let client = HTTPClient.shared
    var o =
      options
      ?? HubOptions(
        hubURL: URL(string: "https://news.example.lt/websub")!, firstRetryDelay: 0.2,
        maxRetryDelay: 0.4)
    o.allowPrivateCallbacks = allowPrivate
    let topics = self.topics
    let ours = self.topic
    let hub = WebSubHub(
      store: store, options: o, client: client, logger: logger,
      isOurTopic: { $0 == ours }, content: { topics.get($0) })
    return hub
  }

  func callback(_ name: String) -> String { "http://127.0.0.1:\(port)/\(name)?user=7" }

  func form(_ fields: [(String, String)]) -> String {
    fields.map { "\(CallbackQuery.encode($0.0))=\(CallbackQuery.encode($0.1))" }
      .joined(separator: "&")
  }

  func subscribe(_ hub: WebSubHub, _ name: String, secret: String? = nil, lease: Int? = nil)
    async -> (status: Int, body: String)
  {
    var fields = [
      ("hub.mode", "subscribe"), ("hub.topic", topic), ("hub.callback", callback(name)),
    ]
    if let secret { fields.append(("hub.secret", secret)) }
    if let lease { fields.append(("hub.lease_seconds", String(lease))) }
    let answer = await hub.handle(form: form(fields))
    await hub.settle()
    return answer
  }

  func testVerificationStoresTheSubscriptionAndDeliveryIsSigned() async throws {
    let hub = makeHub()
    let answer = await subscribe(hub, "fast", secret: "kiek-daug-naujienu", lease: 7200)
    XCTAssertEqual(answer.status, 202)
    let v = await seen.verifications
    XCTAssertEqual(v.count, 1)
    XCTAssertEqual(v.first?["hub.mode"], "subscribe")
    XCTAssertEqual(v.first?["hub.topic"], topic)
    XCTAssertEqual(v.first?["hub.lease_seconds"], "7200")
    XCTAssertEqual(v.first?["user"], "7", "the callback's own query is kept")
    XCTAssertEqual(v.first?["hub.challenge"]?.count, 64)
    let subs = try await store.hubSubscriptions(topic: topic, now: Date())
    XCTAssertEqual(subs.map(\.callback), [callback("fast")])
    XCTAssertEqual(subs.first?.secret, "kiek-daug-naujienu")
    XCTAssertEqual(subs.first?.expires.timeIntervalSinceNow ?? 0, 7200, accuracy: 60)

    topics.set(topic, "<feed>v2 šiandien</feed>")
    await hub.distribute()
    let got = try await waitForDeliveries("fast", count: 1)
    XCTAssertEqual(got[0].body, "<feed>v2 šiandien</feed>")
    XCTAssertEqual(got[0].headers["content-type"], "application/atom+xml; charset=utf-8")
    // Independently computed: python3 hmac.new(b"kiek-daug-naujienu",
    // "<feed>v2 šiandien</feed>".encode(), hashlib.sha256).hexdigest()
    XCTAssertEqual(
      got[0].headers["x-hub-signature"],
      "sha256=" + Self.hmac256("kiek-daug-naujienu", "<feed>v2 šiandien</feed>"))
    let link = try XCTUnwrap(got[0].headers["link"])
    let links = WebSubLinks.parse(headers: [link], base: nil)
    XCTAssertEqual(links.hubs.first?.absoluteString, "https://news.example.lt/websub")
    XCTAssertEqual(links.selfURL?.absoluteString, topic)

    // The same version is not delivered twice; a restart (new hub, same store) keeps it.
    await hub.distribute()
    let again = makeHub()
    await again.distribute()
    try await Task.sleep(for: .milliseconds(300))
    let count = await seen.deliveries(to: "fast").count
    XCTAssertEqual(count, 1)
    topics.set(topic, "<feed>v3</feed>")
    await again.distribute()
    let after = try await waitForDeliveries("fast", count: 2)
    XCTAssertEqual(after[1].body, "<feed>v3</feed>")
  }

  static func hmac256(_ key: String, _ body: String) -> String {
    let r = try! TestSupport.run(
      URL(fileURLWithPath: "/usr/bin/python3"),
      [
        "-c",
        "import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(),"
          + " hashlib.sha256).hexdigest())", key, body,
      ])
    return r.stdoutString.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines)
  }

  func waitForDeliveries(_ name: String, count: Int, timeout: TimeInterval = 20) async throws
    -> [(body: String, headers: [String: String], at: Date)]
  {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      let got = await seen.deliveries(to: name)
      if got.count >= count { return got }
      try await Task.sleep(for: .milliseconds(50))
    }
    let got = await seen.deliveries(to: name)
    XCTFail("\(name): \(got.count) deliveries, expected \(count)")
    return got
  }

  func testVersionsInQuickSuccessionEndWithTheNewestAndTheQueueKeepsWorking() async throws {
    let hub = makeHub()
    _ = await subscribe(hub, "fast")
    for n in 2...6 {
      topics.set(topic, "<feed>v\(n)</feed>")
      await hub.distribute()
    }
    var last: String?
    for _ in 0..<200 {
      last = await seen.deliveries(to: "fast").last?.body
      if last == "<feed>v6</feed>" { break }
      try await Task.sleep(for: .milliseconds(50))
    }
    XCTAssertEqual(last, "<feed>v6</feed>")
    // After the queue drained, a later version still goes out (the queue restarts).
    try await Task.sleep(for: .milliseconds(200))
    let before = await seen.deliveries(to: "fast").count
    XCTAssertLessThanOrEqual(before, 5)
    topics.set(topic, "<feed>v7</feed>")
    await hub.distribute()
    let after = try await waitForDeliveries("fast", count: before + 1)
    XCTAssertEqual(after.last?.body, "<feed>v7</feed>")
  }

  func testNoEchoMeansNoSubscription() async throws {
    let hub = makeHub()
    await seen.setEcho(false)
    let answer = await subscribe(hub, "fast")
    XCTAssertEqual(answer.status, 202)
    let subs = try await store.hubSubscriptions(topic: nil, now: Date())
    XCTAssertTrue(subs.isEmpty)
  }

  func testRetriesAFailingCallbackAndASlowOneDoesNotDelayAFastOne() async throws {
    let hub = makeHub()
    for name in ["fast", "slow", "flaky"] {
      let answer = await subscribe(hub, name)
      XCTAssertEqual(answer.status, 202)
    }
    await seen.setFailures("flaky", 2)
    topics.set(topic, "<feed>v2</feed>")
    let started = Date()
    await hub.distribute()
    let fast = try await waitForDeliveries("fast", count: 1)
    // The slow callback takes 4 s to answer; the fast one is not queued behind it.
    XCTAssertLessThan(fast[0].at.timeIntervalSince(started), 3.5)
    let flaky = try await waitForDeliveries("flaky", count: 1)
    XCTAssertEqual(flaky[0].body, "<feed>v2</feed>")
    let slow = try await waitForDeliveries("slow", count: 1)
    XCTAssertGreaterThanOrEqual(slow[0].at.timeIntervalSince(started), 3.5)
    try await Task.sleep(for: .milliseconds(200))
    let subs = try await store.hubSubscriptions(topic: topic, now: Date())
    XCTAssertTrue(subs.allSatisfy { $0.failingSince == nil && $0.lastDelivery != nil })
  }

  func testACallbackThatKeepsFailingIsMarkedFailing() async throws {
    var o = HubOptions(
      hubURL: URL(string: "https://news.example.lt/websub")!, retryFor: 1.0,
      firstRetryDelay: 0.2, maxRetryDelay: 0.3)
    o.allowPrivateCallbacks = true
    let hub = makeHub(o)
    _ = await subscribe(hub, "flaky")
    await seen.setFailures("flaky", 1000)
    topics.set(topic, "<feed>v2</feed>")
    await hub.distribute()
    var failing: HubSubscription?
    for _ in 0..<100 {
      failing = try await store.hubSubscriptions(topic: topic, now: Date()).first
      if failing?.failingSince != nil { break }
      try await Task.sleep(for: .milliseconds(100))
    }
    XCTAssertNotNil(failing?.failingSince)
    XCTAssertEqual(failing?.failures, 1)
  }

  func testUnsubscribeAfterVerificationRemovesIt() async throws {
    let hub = makeHub()
    _ = await subscribe(hub, "fast")
    let answer = await hub.handle(
      form: form([
        ("hub.mode", "unsubscribe"), ("hub.topic", topic), ("hub.callback", callback("fast")),
      ]))
    await hub.settle()
    XCTAssertEqual(answer.status, 202)
    let v = await seen.verifications
    XCTAssertEqual(v.last?["hub.mode"], "unsubscribe")
    XCTAssertNil(v.last?["hub.lease_seconds"])
    let subs = try await store.hubSubscriptions(topic: nil, now: Date())
    XCTAssertTrue(subs.isEmpty)
  }

  func testLeaseExpiry() async throws {
    let hub = makeHub()
    _ = await subscribe(hub, "fast", lease: 3600)
    let live = try await store.hubSubscriptions(topic: nil, now: Date())
    XCTAssertEqual(live.count, 1)
    await hub.expire(now: Date().addingTimeInterval(3700))
    let after = try await store.hubSubscriptions(topic: nil, now: Date())
    XCTAssertTrue(after.isEmpty)
  }

  func testRefusalsAndBounds() async throws {
    // Private callbacks refused by default (the private-network guard).
    let strict = makeHub(allowPrivate: false)
    let refused = await subscribe(strict, "fast")
    XCTAssertEqual(refused.status, 400)
    XCTAssertTrue(refused.body.contains("127.0.0.1"), refused.body)
    XCTAssertTrue(refused.body.contains("allow_private_callbacks"), refused.body)
    let v0 = await seen.verifications
    XCTAssertTrue(v0.isEmpty, "a refused callback is never requested")
    let unknown = await strict.handle(
      form: form([
        ("hub.mode", "subscribe"), ("hub.topic", "https://news.example.lt/nope.atom"),
        ("hub.callback", callback("fast")),
      ]))
    XCTAssertEqual(unknown.status, 404)
    // Per-host bound: the second subscription from one host is denied (§5.2 denial GET).
    var o = HubOptions(
      hubURL: URL(string: "https://news.example.lt/websub")!, maxPerCallbackHost: 1)
    o.allowPrivateCallbacks = true
    let hub = makeHub(o)
    _ = await subscribe(hub, "fast")
    let second = await subscribe(hub, "other")
    XCTAssertEqual(second.status, 202)
    let v = await seen.verifications
    XCTAssertEqual(v.last?["path"], "other")
    XCTAssertEqual(v.last?["hub.mode"], "denied")
    XCTAssertTrue(v.last?["hub.reason"]?.contains("too many") ?? false)
    let subs = try await store.hubSubscriptions(topic: nil, now: Date())
    XCTAssertEqual(subs.map(\.callback), [callback("fast")])
  }
}
