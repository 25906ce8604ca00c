import FeedStore
import Foundation
import XCTest

/// WebSub's subscriptions in the store (issue 15), on SQLite and, with
/// `CLUSTERWIRE_STORE_BACKEND=postgres`, on PostgreSQL: the same rules on both.
final class WebSubStoreTests: XCTestCase {
  static let topic = "https://news.example/feed.atom"

  static func hub(
    _ callback: String = "https://reader.example/cb/1", topic: String = topic,
    host: String = "reader.example", expires: Date = t0.addingTimeInterval(days(10)),
    created: Date = t0, secret: String? = "s1"
  ) -> HubSubscription {
    HubSubscription(
      topic: topic, callback: callback, callbackHost: host, secret: secret,
      leaseSeconds: 864_000, expires: expires, created: created)
  }

  static func push(_ sourceID: String, state: PushSubscription.State = .pending)
    -> PushSubscription
  {
    PushSubscription(
      sourceID: sourceID, hub: "https://hub.example/", topic: "https://\(sourceID).example/feed",
      token: "tok-\(sourceID)", secret: "secret-\(sourceID)", state: state, requested: t0)
  }

  func testSaveReadAndRenew() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    let store = f.websub
    let original = Self.hub()
    try await store.saveHubSubscription(original)
    var all = try await store.hubSubscriptions(topic: nil, now: t0)
    XCTAssertEqual(all, [original])

    // A delivery claimed, then a failed one: the renewal keeps created and the etag, resets
    // the failures, takes the new lease and secret.
    let claimed = try await store.claimHubDelivery(
      topic: Self.topic, callback: original.callback, etag: "\"v1\"", now: t0)
    XCTAssertTrue(claimed)
    try await store.recordHubDelivery(
      topic: Self.topic, callback: original.callback, success: false, at: t0)
    let renewed = Self.hub(
      expires: t0.addingTimeInterval(days(20)), created: t0.addingTimeInterval(days(5)),
      secret: "s2")
    try await store.saveHubSubscription(renewed)
    all = try await store.hubSubscriptions(topic: Self.topic, now: t0)
    var expected = renewed
    expected.created = t0
    expected.deliveredETag = "\"v1\""
    XCTAssertEqual(all, [expected])
    XCTAssertEqual(all.first?.failures, 0)
    XCTAssertNil(all.first?.failingSince)
  }

  func testRenewingAnExpiredSubscriptionStartsOver() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    let store = f.websub
    try await store.saveHubSubscription(Self.hub(expires: t0.addingTimeInterval(60)))
    _ = try await store.claimHubDelivery(
      topic: Self.topic, callback: Self.hub().callback, etag: "a", now: t0)
    let later = t0.addingTimeInterval(days(1))
    let again = Self.hub(expires: later.addingTimeInterval(days(10)), created: later)
    try await store.saveHubSubscription(again)
    let all = try await store.hubSubscriptions(topic: nil, now: later)
    XCTAssertEqual(all, [again], "an expired row counts as absent: new created, no etag")
  }

  func testRemove() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    let store = f.websub
    try await store.saveHubSubscription(Self.hub())
    try await store.saveHubSubscription(Self.hub("https://reader.example/cb/2"))
    let removed = try await store.removeHubSubscription(
      topic: Self.topic, callback: "https://reader.example/cb/1")
    XCTAssertTrue(removed)
    let again = try await store.removeHubSubscription(
      topic: Self.topic, callback: "https://reader.example/cb/1")
    XCTAssertFalse(again)
    let unknown = try await store.removeHubSubscription(
      topic: "https://other.example/", callback: "https://reader.example/cb/2")
    XCTAssertFalse(unknown)
    let left = try await store.hubSubscriptions(topic: nil, now: t0).map(\.callback)
    XCTAssertEqual(left, ["https://reader.example/cb/2"])
  }

  func testExpiryFilteringOrderAndSweep() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    let store = f.websub
    let other = "https://news.example/c/tech.atom"
    try await store.saveHubSubscription(Self.hub("https://b.example/", host: "b.example"))
    try await store.saveHubSubscription(
      Self.hub("https://a.example/", host: "a.example", expires: t0.addingTimeInterval(100)))
    try await store.saveHubSubscription(Self.hub("https://c.example/", topic: other))
    try await store.saveHubSubscription(
      Self.hub("https://d.example/", topic: other, expires: t0.addingTimeInterval(-1)))

    let live = try await store.hubSubscriptions(topic: nil, now: t0)
    XCTAssertEqual(
      live.map { "\($0.topic) \($0.callback)" },
      [
        "\(other) https://c.example/", "\(Self.topic) https://a.example/",
        "\(Self.topic) https://b.example/",
      ])
    let ofTopic = try await store.hubSubscriptions(topic: Self.topic, now: t0)
    XCTAssertEqual(ofTopic.map(\.callback), ["https://a.example/", "https://b.example/"])
    // `expires` is exclusive: a lease ending at `now` has ended.
    let atExpiry = try await store.hubSubscriptions(
      topic: Self.topic, now: t0.addingTimeInterval(100))
    XCTAssertEqual(atExpiry.map(\.callback), ["https://b.example/"])

    let swept = try await store.expireHubSubscriptions(now: t0)
    XCTAssertEqual(swept, 1)
    let sweptLater = try await store.expireHubSubscriptions(now: t0.addingTimeInterval(100))
    XCTAssertEqual(sweptLater, 1)
    let sweptNothing = try await store.expireHubSubscriptions(now: t0.addingTimeInterval(100))
    XCTAssertEqual(sweptNothing, 0)
    let remaining = try await store.hubSubscriptions(topic: nil, now: .distantPast)
    XCTAssertEqual(remaining.map(\.callback), ["https://c.example/", "https://b.example/"])
  }

  func testCountsPerHostAndTotal() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    let store = f.websub
    for i in 0..<3 {
      try await store.saveHubSubscription(Self.hub("https://r.example/\(i)", host: "r.example"))
    }
    try await store.saveHubSubscription(
      Self.hub("https://r.example/old", host: "r.example", expires: t0))
    try await store.saveHubSubscription(Self.hub("https://q.example/", host: "Q.Example"))
    let r = try await store.hubSubscriptionCounts(callbackHost: "r.example", now: t0)
    XCTAssertEqual(r.host, 3)
    XCTAssertEqual(r.total, 4)
    let q = try await store.hubSubscriptionCounts(callbackHost: "q.EXAMPLE", now: t0)
    XCTAssertEqual(q.host, 1, "hosts compare lower-cased")
    XCTAssertEqual(q.total, 4)
    let stored = try await store.hubSubscriptions(topic: nil, now: t0).map(\.callbackHost)
    XCTAssertTrue(stored.contains("q.example"))
    let none = try await store.hubSubscriptionCounts(callbackHost: "x.example", now: t0)
    XCTAssertEqual(none.host, 0)
    XCTAssertEqual(none.total, 4)
    let empty = try await store.hubSubscriptionCounts(
      callbackHost: "r.example", now: t0.addingTimeInterval(days(30)))
    XCTAssertEqual(empty.host, 0)
    XCTAssertEqual(empty.total, 0)
  }

  func testClaimIsACompareAndSet() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    let store = f.websub
    let s = Self.hub(expires: t0.addingTimeInterval(100))
    try await store.saveHubSubscription(s)
    func claim(_ etag: String, now: Date = t0, callback: String? = nil) async throws -> Bool {
      try await store.claimHubDelivery(
        topic: Self.topic, callback: callback ?? s.callback, etag: etag, now: now)
    }
    var result = try await claim("\"v1\"")
    XCTAssertTrue(result, "NULL differs from any etag")
    result = try await claim("\"v1\"")
    XCTAssertFalse(result, "the same version is claimed once")
    result = try await claim("\"v2\"")
    XCTAssertTrue(result, "a new version")
    let stored = try await store.hubSubscriptions(topic: nil, now: t0)
    XCTAssertEqual(stored.first?.deliveredETag, "\"v2\"")
    result = try await claim("\"v3\"", now: t0.addingTimeInterval(100))
    XCTAssertFalse(result, "expired")
    result = try await claim("\"v3\"", callback: "https://unknown.example/")
    XCTAssertFalse(result, "unknown subscription")
    let unchanged = try await store.hubSubscriptions(topic: nil, now: t0)
    XCTAssertEqual(unchanged.first?.deliveredETag, "\"v2\"")
  }

  func testConcurrentClaimsHaveOneWinner() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    let store = f.websub
    let s = Self.hub()
    try await store.saveHubSubscription(s)
    for version in 0..<3 {
      let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
        for _ in 0..<8 {
          group.addTask {
            try await store.claimHubDelivery(
              topic: Self.topic, callback: s.callback, etag: "v\(version)", now: t0)
          }
        }
        return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
      }
      XCTAssertEqual(wins, 1, "version \(version)")
    }
  }

  func testRecordDelivery() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    let store = f.websub
    let s = Self.hub()
    try await store.saveHubSubscription(s)
    func stored() async throws -> HubSubscription? {
      try await store.hubSubscriptions(topic: Self.topic, now: t0).first
    }
    let t1 = t0.addingTimeInterval(60)
    let t2 = t0.addingTimeInterval(120)
    try await store.recordHubDelivery(
      topic: Self.topic, callback: s.callback, success: false, at: t1)
    try await store.recordHubDelivery(
      topic: Self.topic, callback: s.callback, success: false, at: t2)
    var current = try await stored()
    XCTAssertEqual(current?.failures, 2)
    XCTAssertEqual(current?.failingSince, t1, "since the first failure")
    XCTAssertNil(current?.lastDelivery)
    try await store.recordHubDelivery(
      topic: Self.topic, callback: s.callback, success: true, at: t2)
    current = try await stored()
    XCTAssertEqual(current?.failures, 0)
    XCTAssertNil(current?.failingSince)
    XCTAssertEqual(current?.lastDelivery, t2)
    // Recording for an unknown subscription changes nothing and does not throw.
    try await store.recordHubDelivery(
      topic: Self.topic, callback: "https://unknown.example/", success: false, at: t2)
    let all = try await store.hubSubscriptions(topic: nil, now: t0)
    XCTAssertEqual(all.count, 1)
  }

  func testSubscriptionsSurviveReopen() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    var s = Self.hub(secret: nil)
    try await f.websub.saveHubSubscription(s)
    _ = try await f.websub.claimHubDelivery(
      topic: Self.topic, callback: s.callback, etag: "e", now: t0)
    try await f.websub.recordHubDelivery(
      topic: Self.topic, callback: s.callback, success: false, at: t0)
    let push = Self.push("a", state: .verified)
    try await f.websub.savePushSubscription(push)
    try await f.reopen()
    s.deliveredETag = "e"
    s.failures = 1
    s.failingSince = t0
    let hubs = try await f.websub.hubSubscriptions(topic: nil, now: t0)
    XCTAssertEqual(hubs, [s])
    let pushes = try await f.websub.pushSubscriptions()
    XCTAssertEqual(pushes, [push])
  }

  func testPushSubscriptions() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    let store = f.websub
    try await f.sources([source("b")])
    let b = Self.push("b")
    let a = Self.push("a")
    try await store.savePushSubscription(b)
    try await store.savePushSubscription(a)
    var listed = try await store.pushSubscriptions()
    XCTAssertEqual(listed, [a, b])
    let none = try await store.pushSubscription(sourceID: "zzz")
    XCTAssertNil(none)

    // Upsert: every field replaced, the optional ones set and then cleared again.
    var verified = b
    verified.state = .verified
    verified.hub = "https://hub2.example/"
    verified.token = "tok-2"
    verified.secret = "secret-2"
    verified.requested = t0.addingTimeInterval(10)
    verified.leaseSeconds = 3600
    verified.expires = t0.addingTimeInterval(3610)
    verified.failingSince = t0.addingTimeInterval(5)
    verified.lastError = "hub said 500"
    verified.lastPush = t0.addingTimeInterval(20)
    try await store.savePushSubscription(verified)
    var read = try await store.pushSubscription(sourceID: "b")
    XCTAssertEqual(read, verified)
    var unsubscribing = Self.push("b", state: .unsubscribing)
    unsubscribing.requested = t0.addingTimeInterval(30)
    try await store.savePushSubscription(unsubscribing)
    read = try await store.pushSubscription(sourceID: "b")
    XCTAssertEqual(read, unsubscribing)

    // A source that leaves the config, even once purged, keeps its subscription (the daemon
    // unsubscribes first, then removes the row).
    try await f.sources([])
    _ = try await f.store.sweep(at: Date().addingTimeInterval(days(365)))
    listed = try await store.pushSubscriptions()
    XCTAssertEqual(listed.map(\.sourceID), ["a", "b"])

    try await store.removePushSubscription(sourceID: "b")
    try await store.removePushSubscription(sourceID: "b")
    listed = try await store.pushSubscriptions()
    XCTAssertEqual(listed, [a])
    try await f.reopen()
    let reopened = try await f.websub.pushSubscriptions()
    XCTAssertEqual(reopened, [a])
  }

  /// A lapsed or failed push subscription brings the source's next poll forward, never back,
  /// and leaves a gone source stopped.
  func testResumePollingOnlyBringsTheNextPollForward() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    try await f.sources([source("a"), source("b"), source("c")])
    let late = t0.addingTimeInterval(6 * 3600)
    let soon = t0.addingTimeInterval(60)
    _ = try await f.store.record(
      FetchOutcome(sourceID: "a", result: .notModified, attemptedAt: t0, nextDue: late), feed: nil)
    _ = try await f.store.record(
      FetchOutcome(sourceID: "b", result: .notModified, attemptedAt: t0, nextDue: soon), feed: nil)
    _ = try await f.store.record(
      FetchOutcome(
        sourceID: "c", result: .gone, attemptedAt: t0, httpStatus: 410,
        nextDue: .distantFuture), feed: nil)
    let at = t0.addingTimeInterval(120)
    for id in ["a", "b", "c", "unknown"] {
      try await f.websub.resumePolling(sourceID: id, at: at)
    }
    let states = Dictionary(
      uniqueKeysWithValues: try await f.store.sourceStates().map { ($0.id, $0) })
    XCTAssertEqual(
      states["a"]?.nextDue?.timeIntervalSince1970 ?? 0, at.timeIntervalSince1970, accuracy: 0.001)
    XCTAssertEqual(
      states["b"]?.nextDue?.timeIntervalSince1970 ?? 0, soon.timeIntervalSince1970, accuracy: 0.001)
    XCTAssertEqual(states["c"]?.gone, true)
    XCTAssertNotEqual(states["c"]?.nextDue?.timeIntervalSince1970 ?? 0, at.timeIntervalSince1970)
  }
}

extension StoreFixture {
  /// The fixture's store (whichever backend) as the WebSub hub and subscriber see it.
  fileprivate var websub: any WebSubStore { store as! any WebSubStore }
}
