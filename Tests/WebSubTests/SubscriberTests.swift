import AsyncHTTPClient
import FeedModel
import FeedStore
import Foundation
import Hummingbird
import Logging
import TestSupport
import WebText
import XCTest

@testable import WebSub

/// What the scripted hub received, and how it answers.
actor ScriptedHub {
  var requests: [[String: String]] = []
  /// The status the hub answers subscription requests with.
  var status = 202

  func received(_ form: [String: String]) { requests.append(form) }
  func answer(with status: Int) { self.status = status }
  func requests(mode: String) -> [[String: String]] {
    requests.filter { $0["hub.mode"] == mode }
  }
}

/// The pushed documents the subscriber handed to the crawler.
actor Ingested {
  var bodies: [(source: String, body: String, base: URL?)] = []
  func add(_ source: String, _ body: Data, _ base: URL?) {
    bodies.append((source, String(decoding: body, as: UTF8.self), base))
  }
}

/// Our subscriber against a scripted hub on 127.0.0.1 (a real Hummingbird server) with a real
/// SQLite store. The hub's verification and content requests are made by the test, playing
/// the hub, straight at `callback` (the HTTP route is the daemon tests').
final class SubscriberTests: XCTestCase {
  var dir: URL!
  var store: SQLiteFeedStore!
  let hub = ScriptedHub()
  let ingested = Ingested()
  var port = 0
  var serverTask: Task<Void, any Error>?
  let topic = "https://narys.example.lt/feed.atom"
  var hubURL: URL { URL(string: "http://127.0.0.1:\(port)/hub")! }

  override func setUp() async throws {
    dir = try TestSupport.makeTempDirectory("websub-subscriber")
    store = try SQLiteFeedStore(path: dir.appendingPathComponent("store.sqlite").path)
    try await store.syncSources([
      SourceDefinition(id: "narys", url: "http://127.0.0.1:1/feed.xml"),
      SourceDefinition(id: "kitas", url: "http://127.0.0.1:1/other.xml"),
    ])
    let router = Router()
    let hub = self.hub
    router.post("hub") { request, _ -> Response in
      var request = request
      let body = try await request.collectBody(upTo: 1 << 16)
      let form = FormFields.parse(String(buffer: body))
      await hub.received(form)
      return Response(
        status: .init(code: await hub.status),
        body: ResponseBody(byteBuffer: ByteBuffer(string: "scripted")))
    }
    port = TestSupport.freePort()
    var quiet = Logger(label: "test.hub")
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

  func makeSubscriber(lease: Int = 864_000, ingestDelay: Duration = .zero) async
    -> WebSubSubscriber
  {
    var logger = Logger(label: "test.subscriber")
    logger.logLevel = .error
    let ingested = self.ingested
    let subscriber = WebSubSubscriber(
      store: store,
      options: SubscriberOptions(
        callbackBase: URL(string: "https://agregatorius.example.lt/")!, leaseSeconds: lease,
        timeout: 5, verifyWithin: 60, retryAfter: 120, maxBody: 1000),
      client: HTTPClient.shared, logger: logger,
      ingest: { source, body, _, base in
        if ingestDelay > .zero { try? await Task.sleep(for: ingestDelay) }
        await ingested.add(source, body, base)
        return .recorded(entries: 1, new: 1)
      })
    await subscriber.setSources([
      "narys": "http://127.0.0.1:1/feed.xml", "kitas": "http://127.0.0.1:1/other.xml",
    ])
    return subscriber
  }

  var links: WebSubLinks { WebSubLinks(hubs: [hubURL], selfURL: URL(string: topic)!) }

  /// The callback's path after `/websub/callback/`, from the callback URL the hub was given.
  func callbackPath(_ callback: String?) throws -> String {
    let c = try XCTUnwrap(callback)
    let prefix = "https://agregatorius.example.lt/websub/callback/"
    XCTAssertTrue(c.hasPrefix(prefix), c)
    return String(c.dropFirst(prefix.count))
  }

  func verify(
    _ s: WebSubSubscriber, rest: String, mode: String = "subscribe", topic: String? = nil,
    lease: String? = "3600", now: Date = Date()
  ) async -> CallbackAnswer {
    var q = ["hub.mode": mode, "hub.topic": topic ?? self.topic, "hub.challenge": "iššūkis-42"]
    if let lease { q["hub.lease_seconds"] = lease }
    return await s.callback(CallbackRequest(method: .get, rest: rest, query: q), now: now)
  }

  func testSubscribesWithAFreshTokenAndSecretAndConfirmsOnlyWhatItAskedFor() async throws {
    let s = await makeSubscriber()
    await s.observe(sourceID: "narys", links: links)
    let first = try await unwrapAsync(await hub.requests.first)
    XCTAssertEqual(first["hub.mode"], "subscribe")
    XCTAssertEqual(first["hub.topic"], topic)
    XCTAssertEqual(first["hub.lease_seconds"], "864000")
    let secret = try XCTUnwrap(first["hub.secret"])
    XCTAssertEqual(secret.count, 64, "32 random bytes in hex, under §5.1's 200-byte limit")
    let path = try callbackPath(first["hub.callback"])
    let parts = path.split(separator: "/")
    XCTAssertEqual(parts.count, 2)
    XCTAssertEqual(parts[0], "narys")
    XCTAssertEqual(parts[1].count, 64)
    XCTAssertNotEqual(String(parts[1]), secret)
    var row = try await unwrapAsync(try await store.pushSubscription(sourceID: "narys"))
    XCTAssertEqual(row.state, .pending)
    XCTAssertEqual(WebSubSubscriber.describe(row, now: Date()), "pending")

    // A second fetch while the request is pending asks nothing new.
    await s.observe(sourceID: "narys", links: links)
    let count = await hub.requests.count
    XCTAssertEqual(count, 1)

    // Wrong token, wrong source, wrong topic, an unsubscribe we never asked for: 404.
    var wrongToken = path
    wrongToken.removeLast()
    wrongToken += path.hasSuffix("0") ? "1" : "0"
    var answer = await verify(s, rest: wrongToken)
    XCTAssertEqual(answer.status, 404)
    answer = await verify(s, rest: "kitas/" + parts[1])
    XCTAssertEqual(answer.status, 404)
    answer = await verify(s, rest: "nera/" + parts[1])
    XCTAssertEqual(answer.status, 404)
    answer = await verify(s, rest: "narys")
    XCTAssertEqual(answer.status, 404)
    answer = await verify(s, rest: path, topic: "https://narys.example.lt/other.atom")
    XCTAssertEqual(answer.status, 404)
    answer = await verify(s, rest: path, mode: "unsubscribe", lease: nil)
    XCTAssertEqual(answer.status, 404)
    row = try await unwrapAsync(try await store.pushSubscription(sourceID: "narys"))
    XCTAssertEqual(row.state, .pending, "nothing of that changed the subscription")

    let now = Date()
    answer = await verify(s, rest: path, lease: "7200", now: now)
    XCTAssertEqual(answer, CallbackAnswer(status: 200, body: "iššūkis-42"))
    row = try await unwrapAsync(try await store.pushSubscription(sourceID: "narys"))
    XCTAssertEqual(row.state, .verified)
    XCTAssertEqual(row.leaseSeconds, 7200, "the hub's lease counts, not the one asked for")
    XCTAssertEqual(
      row.expires?.timeIntervalSince1970 ?? 0, now.timeIntervalSince1970 + 7200, accuracy: 0.01)
    XCTAssertTrue(WebSubSubscriber.describe(row, now: now).hasPrefix("verified until 20"))
    let verified = await s.tick(now: now)
    XCTAssertEqual(Array(verified.keys), ["narys"])

    // Verified: more fetches ask nothing; a different self URL subscribes anew.
    await s.observe(sourceID: "narys", links: links)
    let afterVerified = await hub.requests.count
    XCTAssertEqual(afterVerified, 1)
    await s.observe(
      sourceID: "narys",
      links: WebSubLinks(hubs: [hubURL], selfURL: URL(string: "https://narys.example.lt/new")!))
    let renewed = await hub.requests
    XCTAssertEqual(renewed.count, 2)
    XCTAssertNotEqual(renewed[1]["hub.callback"], first["hub.callback"], "a fresh token")
    XCTAssertNotEqual(renewed[1]["hub.secret"], secret, "a fresh secret")
  }

  func testContentIsIngestedOnlyWhenItsSignatureVerifies() async throws {
    let s = await makeSubscriber()
    await s.observe(sourceID: "narys", links: links)
    let form = try await unwrapAsync(await hub.requests.first)
    let path = try callbackPath(form["hub.callback"])
    let secret = try XCTUnwrap(form["hub.secret"])
    _ = await verify(s, rest: path)
    let body = Data(
      "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Naujienos</title></feed>".utf8)

    func push(_ signature: String?, rest: String? = nil, body: Data? = nil) async -> CallbackAnswer
    {
      await s.callback(
        CallbackRequest(
          method: .post, rest: rest ?? path, signature: signature,
          contentType: "application/atom+xml", body: body ?? Data("<feed/>".utf8)))
    }
    // §8: a missing or bad signature is ignored, and still answered 2xx.
    var answer = await push(nil, body: body)
    XCTAssertEqual(answer.status, 202)
    answer = await push("sha256=" + String(repeating: "0", count: 64), body: body)
    XCTAssertEqual(answer.status, 202)
    answer = await push(HubSignature.header(body: body, secret: "another secret"), body: body)
    XCTAssertEqual(answer.status, 202)
    answer = await push("md5=" + Hex.encode(Array(body.prefix(16))), body: body)
    XCTAssertEqual(answer.status, 202)
    var count = await ingested.bodies.count
    XCTAssertEqual(count, 0, "nothing unsigned or mis-signed reaches the store")

    // Unknown token or source: 404, nothing stored.
    answer = await push(
      HubSignature.header(body: body, secret: secret), rest: "narys/abc", body: body)
    XCTAssertEqual(answer.status, 404)
    answer = await push(HubSignature.header(body: body, secret: secret), rest: "nera/x", body: body)
    XCTAssertEqual(answer.status, 404)
    count = await ingested.bodies.count
    XCTAssertEqual(count, 0)

    // Every method the spec names, signed with the secret we sent.
    for method in HubSignature.Method.allCases {
      let signature = HubSignature.header(body: body, secret: secret, method: method)
      answer = await push(signature, body: body)
      XCTAssertEqual(answer.status, 202, method.rawValue)
    }
    let bodies = await ingested.bodies
    XCTAssertEqual(bodies.count, HubSignature.Method.allCases.count)
    XCTAssertEqual(bodies.first?.source, "narys")
    XCTAssertEqual(bodies.first?.base?.absoluteString, topic, "the topic is the base URL")
    XCTAssertTrue(bodies.allSatisfy { $0.body.contains("Naujienos") })
    let row = try await unwrapAsync(try await store.pushSubscription(sourceID: "narys"))
    XCTAssertNotNil(row.lastPush)

    // Over max_body (1000 here): refused, not parsed.
    let big = Data(repeating: 0x20, count: 1001)
    answer = await push(HubSignature.header(body: big, secret: secret), body: big)
    XCTAssertEqual(answer.status, 413)
    count = await ingested.bodies.count
    XCTAssertEqual(count, bodies.count)
  }

  /// At most two pushes are ingested at once (`maxConcurrentIngests`): a third is told to come
  /// back later (503 with Retry-After; the hub retries), so pushes cannot crowd out polling.
  func testPushesBeyondTheIngestSlotsAreAskedToRetry() async throws {
    let s = await makeSubscriber(ingestDelay: .seconds(2))
    await s.observe(sourceID: "narys", links: links)
    let form = try await unwrapAsync(await hub.requests.first)
    let path = try callbackPath(form["hub.callback"])
    _ = await verify(s, rest: path)
    let body = Data("<feed/>".utf8)
    let request = CallbackRequest(
      method: .post, rest: path,
      signature: HubSignature.header(body: body, secret: form["hub.secret"]!),
      body: body)
    async let a = s.callback(request)
    async let b = s.callback(request)
    async let c = s.callback(request)
    let answers = await [a, b, c]
    XCTAssertEqual(answers.filter { $0.status == 202 }.count, 2, "\(answers)")
    XCTAssertEqual(answers.filter { $0.status == 503 }.map(\.retryAfter), [5], "\(answers)")
    let count = await ingested.bodies.count
    XCTAssertEqual(count, 2)
    // The slots free again.
    let later = await s.callback(request)
    XCTAssertEqual(later.status, 202)
  }

  func testRenewsInTheLeasesLastQuarterAndFallsBackWhenTheHubFails() async throws {
    let s = await makeSubscriber(lease: 100)
    await s.observe(sourceID: "narys", links: links)
    let form = try await unwrapAsync(await hub.requests.first)
    let path = try callbackPath(form["hub.callback"])
    let start = Date()
    _ = await verify(s, rest: path, lease: "100", now: start)
    // Record a poll whose next due is far away: the fallback must bring it forward.
    _ = try await store.record(
      FetchOutcome(
        sourceID: "narys", result: .notModified, attemptedAt: start,
        nextDue: start.addingTimeInterval(6 * 3600)), feed: nil)

    // Half-way: nothing to do.
    var verified = await s.tick(now: start.addingTimeInterval(50))
    await s.settle()
    XCTAssertEqual(
      verified["narys"]?.timeIntervalSince1970 ?? 0, start.timeIntervalSince1970 + 100,
      accuracy: 0.001)
    var subscribes = await hub.requests(mode: "subscribe")
    XCTAssertEqual(subscribes.count, 1)

    // In the last quarter: renewed with the same callback and secret, still verified.
    verified = await s.tick(now: start.addingTimeInterval(80))
    await s.settle()
    subscribes = await hub.requests(mode: "subscribe")
    XCTAssertEqual(subscribes.count, 2)
    XCTAssertEqual(subscribes[1]["hub.callback"], form["hub.callback"])
    XCTAssertEqual(subscribes[1]["hub.secret"], form["hub.secret"])
    XCTAssertNotNil(verified["narys"])
    var row = try await unwrapAsync(try await store.pushSubscription(sourceID: "narys"))
    XCTAssertEqual(row.state, .verified)
    // The renewal is verified: the lease runs from then.
    _ = await verify(s, rest: path, lease: "100", now: start.addingTimeInterval(81))
    row = try await unwrapAsync(try await store.pushSubscription(sourceID: "narys"))
    XCTAssertEqual(
      row.expires?.timeIntervalSince1970 ?? 0, start.timeIntervalSince1970 + 181, accuracy: 0.001)

    // The hub fails the next renewal: failing at once, and the source is due at once.
    await hub.answer(with: 503)
    let failedAt = start.addingTimeInterval(160)
    verified = await s.tick(now: failedAt)
    await s.settle()
    row = try await unwrapAsync(try await store.pushSubscription(sourceID: "narys"))
    XCTAssertEqual(row.state, .failing)
    XCTAssertEqual(
      row.failingSince?.timeIntervalSince1970 ?? 0, failedAt.timeIntervalSince1970, accuracy: 0.001)
    XCTAssertTrue(row.lastError?.contains("503") ?? false, row.lastError ?? "")
    XCTAssertTrue(WebSubSubscriber.describe(row, now: failedAt).hasPrefix("failing since 20"))
    let state = try await unwrapAsync(try await store.sourceState(id: "narys"))
    XCTAssertEqual(
      state.nextDue?.timeIntervalSince1970 ?? 0, failedAt.timeIntervalSince1970, accuracy: 0.001,
      "normal polling resumes at once")
    verified = await s.tick(now: failedAt.addingTimeInterval(1))
    XCTAssertTrue(verified.isEmpty)

    // A failed subscription is tried again by a fetch after `retryAfter` (120 s), not before.
    await hub.answer(with: 202)
    await s.observe(sourceID: "narys", links: links, now: failedAt.addingTimeInterval(60))
    subscribes = await hub.requests(mode: "subscribe")
    XCTAssertEqual(subscribes.count, 3)
    await s.observe(sourceID: "narys", links: links, now: failedAt.addingTimeInterval(121))
    subscribes = await hub.requests(mode: "subscribe")
    XCTAssertEqual(subscribes.count, 4)
  }

  func testALapsedLeaseResumesPollingAndADeniedOneFails() async throws {
    let s = await makeSubscriber(lease: 100)
    await s.observe(sourceID: "narys", links: links)
    let form = try await unwrapAsync(await hub.requests.first)
    let path = try callbackPath(form["hub.callback"])
    let start = Date()
    _ = await verify(s, rest: path, lease: "100", now: start)
    _ = try await store.record(
      FetchOutcome(
        sourceID: "narys", result: .notModified, attemptedAt: start,
        nextDue: start.addingTimeInterval(6 * 3600)), feed: nil)
    // The renewal was sent but never verified; the lease runs out.
    _ = await s.tick(now: start.addingTimeInterval(80))
    await s.settle()
    let lapsedAt = start.addingTimeInterval(101)
    let verified = await s.tick(now: lapsedAt)
    XCTAssertTrue(verified.isEmpty)
    var row = try await unwrapAsync(try await store.pushSubscription(sourceID: "narys"))
    XCTAssertEqual(row.state, .failing)
    XCTAssertEqual(row.lastError, "the lease lapsed without a renewal")
    let state = try await unwrapAsync(try await store.sourceState(id: "narys"))
    XCTAssertEqual(
      state.nextDue?.timeIntervalSince1970 ?? 0, lapsedAt.timeIntervalSince1970, accuracy: 0.001)

    // §5.2 denial of the other source's subscription.
    await s.observe(
      sourceID: "kitas",
      links: WebSubLinks(hubs: [hubURL], selfURL: URL(string: topic + "?kitas")!))
    let other = try await unwrapAsync(await hub.requests.last)
    let answer = await s.callback(
      CallbackRequest(
        method: .get, rest: try self.callbackPath(other["hub.callback"]),
        query: ["hub.mode": "denied", "hub.topic": topic + "?kitas", "hub.reason": "per daug"]))
    XCTAssertEqual(answer.status, 200)
    row = try await unwrapAsync(try await store.pushSubscription(sourceID: "kitas"))
    XCTAssertEqual(row.state, .failing)
    XCTAssertEqual(row.lastError, "denied by the hub: per daug")
  }

  func testARemovedSourceIsUnsubscribedAndForgottenOnConfirmation() async throws {
    let s = await makeSubscriber()
    await s.observe(sourceID: "narys", links: links)
    await s.observe(
      sourceID: "kitas",
      links: WebSubLinks(hubs: [hubURL], selfURL: URL(string: topic + "?kitas")!))
    let forms = await hub.requests
    let path = try callbackPath(forms[0]["hub.callback"])
    let otherRest = try self.callbackPath(forms[1]["hub.callback"])
    _ = await verify(s, rest: path)
    _ = await verify(s, rest: otherRest, topic: topic + "?kitas")
    var verified = await s.tick()
    XCTAssertEqual(Set(verified.keys), ["narys", "kitas"])

    // The reload removed "narys" and turned WebSub off for "kitas"'s hub: it goes away.
    await s.setSources(["kitas": "http://127.0.0.1:1/other.xml"])
    verified = await s.tick()
    await s.settle()
    XCTAssertEqual(Array(verified.keys), ["kitas"])
    let unsubscribes = await hub.requests(mode: "unsubscribe")
    XCTAssertEqual(unsubscribes.count, 1)
    XCTAssertEqual(unsubscribes.first?["hub.topic"], topic)
    XCTAssertEqual(unsubscribes.first?["hub.callback"], forms[0]["hub.callback"])
    var row = try await unwrapAsync(try await store.pushSubscription(sourceID: "narys"))
    XCTAssertEqual(row.state, .unsubscribing)
    // Content while unsubscribing is not ingested; the subscribe mode is not confirmed.
    let body = Data("<feed/>".utf8)
    let pushed = await s.callback(
      CallbackRequest(
        method: .post, rest: path,
        signature: HubSignature.header(body: body, secret: forms[0]["hub.secret"]!), body: body))
    XCTAssertEqual(pushed.status, 202)
    let count = await ingested.bodies.count
    XCTAssertEqual(count, 0)
    let late = await verify(s, rest: path)
    XCTAssertEqual(late.status, 404)
    // The hub confirms: the row is gone, and a later tick sends nothing more.
    let answer = await verify(s, rest: path, mode: "unsubscribe", lease: nil)
    XCTAssertEqual(answer, CallbackAnswer(status: 200, body: "iššūkis-42"))
    row = try await unwrapAsync(try await store.pushSubscription(sourceID: "kitas"))
    XCTAssertEqual(row.state, .verified)
    let gone = try await store.pushSubscription(sourceID: "narys")
    XCTAssertNil(gone)
    _ = await s.tick()
    await s.settle()
    let again = await hub.requests(mode: "unsubscribe")
    XCTAssertEqual(again.count, 1)

    // A hub that refuses the unsubscribe leaves nothing to wait for.
    await hub.answer(with: 400)
    await s.setSources([:])
    _ = await s.tick()
    await s.settle()
    let none = try await store.pushSubscriptions()
    XCTAssertEqual(none, [])
  }

  func testNothingIsWithdrawnBeforeTheConfigurationIsKnown() async throws {
    let s = await makeSubscriber()
    await s.observe(sourceID: "narys", links: links)
    // A restarted daemon's subscriber, before its sources are set: it must not unsubscribe.
    var logger = Logger(label: "test.subscriber")
    logger.logLevel = .error
    let fresh = WebSubSubscriber(
      store: store,
      options: SubscriberOptions(callbackBase: URL(string: "https://agregatorius.example.lt/")!),
      client: HTTPClient.shared, logger: logger, ingest: { _, _, _, _ in .rejected("unused") })
    _ = await fresh.tick()
    await fresh.settle()
    let unsubscribes = await hub.requests(mode: "unsubscribe")
    XCTAssertEqual(unsubscribes.count, 0)
    let rows = try await store.pushSubscriptions()
    XCTAssertEqual(rows.map(\.sourceID), ["narys"])
  }
}

/// `XCTUnwrap` of an async expression's value.
func unwrapAsync<T>(
  _ value: @autoclosure () async throws -> T?, file: StaticString = #filePath, line: UInt = #line
) async throws -> T {
  let v = try await value()
  return try XCTUnwrap(v, file: file, line: line)
}
