import AsyncHTTPClient
import FeedStore
import Foundation
import Logging
import Metrics
import NIOHTTP1
import NetworkGuard

/// What the subscriber needs to know (`[websub]`, `[server] base_url`, `[crawl] max_body`).
public struct SubscriberOptions: Sendable {
  /// `base_url`: our callbacks are `<base>websub/callback/{source}/{token}`.
  public var callbackBase: URL
  /// The lease asked for (the hub decides; its answer in the verification counts).
  public var leaseSeconds: Int
  /// One request to a hub.
  public var timeout: TimeInterval
  public var userAgent: String
  /// A subscribe request the hub has not verified after this long counts as failed.
  public var verifyWithin: TimeInterval
  /// A failed subscription is requested again by a fetch this long after the last request.
  public var retryAfter: TimeInterval
  /// Pushed documents ingested at once; more are answered 503 with `Retry-After` (the hub
  /// retries), so push traffic cannot crowd the crawler out of the store's single writer.
  public var maxConcurrentIngests: Int
  /// `[crawl] max_body`: a pushed body is bounded like a fetched one.
  public var maxBody: Int

  public init(
    callbackBase: URL, leaseSeconds: Int = 864_000, timeout: TimeInterval = 10,
    userAgent: String = "clusterwire", verifyWithin: TimeInterval = 300,
    retryAfter: TimeInterval = 900, maxConcurrentIngests: Int = 2, maxBody: Int = 10 << 20
  ) {
    self.callbackBase = callbackBase
    self.leaseSeconds = leaseSeconds
    self.timeout = timeout
    self.userAgent = userAgent
    self.verifyWithin = verifyWithin
    self.retryAfter = retryAfter
    self.maxConcurrentIngests = maxConcurrentIngests
    self.maxBody = maxBody
  }
}

/// A request to `/websub/callback/…`, as the server hands it over.
public struct CallbackRequest: Sendable {
  public enum Method: Sendable { case get, post, other }
  public var method: Method
  /// The path after `/websub/callback/`: `{source}/{token}` (percent-encoded).
  public var rest: String
  public var query: [String: String]
  /// `X-Hub-Signature`.
  public var signature: String?
  public var contentType: String?
  public var body: Data

  public init(
    method: Method, rest: String, query: [String: String] = [:], signature: String? = nil,
    contentType: String? = nil, body: Data = Data()
  ) {
    self.method = method
    self.rest = rest
    self.query = query
    self.signature = signature
    self.contentType = contentType
    self.body = body
  }
}

/// What to answer a callback request with.
public struct CallbackAnswer: Sendable, Hashable {
  public var status: Int
  public var body: String
  /// Seconds, for a 503.
  public var retryAfter: Int?

  public init(status: Int, body: String, retryAfter: Int? = nil) {
    self.status = status
    self.body = body
    self.retryAfter = retryAfter
  }
}

/// What ingesting a pushed document did (the daemon's crawler runs it).
public enum PushIngestResult: Sendable, Hashable {
  case recorded(entries: Int, new: Int)
  /// Not stored, and why (unparseable, too large, the store failed).
  case rejected(String)
}

/// The WebSub subscriber (W3C WebSub §4–§8) for our sources: when a fetched feed advertises a
/// hub and a self URL, it subscribes there with a callback under `base_url` carrying a random
/// token and a fresh random secret; it answers the verification only for a subscription it
/// asked for (source, token, mode and topic must match), ingests content whose `X-Hub-Signature`
/// verifies through the crawler's own parse-and-record path, renews leases before they run out,
/// and unsubscribes sources that were removed or disabled. Its state lives in the store
/// (`PushSubscription`), so it survives restarts and a fleet shares it.
///
/// Polling is the safety net: while a subscription is verified the crawler only slows down
/// (`verifiedSources`), and when the hub fails, denies or lets the lease lapse, the source is
/// due again at once (`WebSubStore.resumePolling`, and the daemon's crawler for a single node).
public actor WebSubSubscriber {
  let store: any WebSubStore
  let options: SubscriberOptions
  let client: HTTPClient
  let policy: NetworkPolicy
  let logger: Logger
  let ingest: @Sendable (String, Data, String?, URL?) async -> PushIngestResult
  let metrics: SubscriberMetrics
  /// Source id → source URL of the sources that may subscribe (enabled, `websub` on); nil until
  /// the configuration is known, so nothing is unsubscribed before it is.
  private var wanted: [String: String]?
  private var ingesting = 0
  /// Subscribe and unsubscribe requests under way (by source), and their tasks.
  private var requesting: Set<String> = []
  private let background = BackgroundTasks()

  /// - Parameter ingest: parses and records a pushed body (source id, body, Content-Type, the
  ///   topic as the base URL) exactly like a fetched one (`Crawler.ingestPushed`).
  public init(
    store: any WebSubStore, options: SubscriberOptions, client: HTTPClient,
    policy: NetworkPolicy = NetworkPolicy(), logger: Logger,
    metricsFactory: (any MetricsFactory)? = nil,
    ingest: @escaping @Sendable (String, Data, String?, URL?) async -> PushIngestResult
  ) {
    self.store = store
    self.options = options
    self.client = client
    self.policy = policy
    self.logger = logger
    self.ingest = ingest
    self.metrics = SubscriberMetrics(factory: metricsFactory)
  }

  /// The sources that may be pushed (source id → its URL). Subscriptions of the others are
  /// withdrawn on the next `tick`.
  public func setSources(_ sources: [String: String]) {
    wanted = sources
  }

  /// Our callback URL for a source and token.
  public func callbackURL(sourceID: String, token: String) -> URL {
    let base = options.callbackBase.absoluteString
    let prefix = base.hasSuffix("/") ? base : base + "/"
    return URL(
      string: prefix + "websub/callback/\(CallbackQuery.encode(sourceID))/\(token)")!
  }

  // MARK: - discovery

  /// After a fetch of `sourceID`: subscribes when the document (or its `Link` headers)
  /// advertises a hub and a self URL and the source has no live subscription to that hub and
  /// topic (a pending one younger than `verifyWithin`, a failed one younger than `retryAfter`
  /// count as live). A changed hub or topic subscribes anew; the old subscription lapses.
  public func observe(sourceID: String, links: WebSubLinks, now: Date = Date()) async {
    guard let sourceURL = wanted?[sourceID], let topic = links.selfURL, !links.hubs.isEmpty,
      !requesting.contains(sourceID)
    else { return }
    requesting.insert(sourceID)
    defer { requesting.remove(sourceID) }
    let existing: PushSubscription?
    do {
      existing = try await store.pushSubscription(sourceID: sourceID)
    } catch {
      logger.warning("source=\(sourceID) websub: reading its subscription failed: \(error)")
      return
    }
    var hub = links.hubs[0]
    if let e = existing, e.topic == topic.absoluteString,
      links.hubs.contains(where: { $0.absoluteString == e.hub })
    {
      let age = now.timeIntervalSince(e.requested)
      switch e.state {
      case .verified: return  // renewals are `tick`'s
      case .pending where age < options.verifyWithin: return
      case .failing where age < options.retryAfter: return
      case .unsubscribing where age < options.verifyWithin: return
      case .failing:
        // The next advertised hub, when there are several.
        if let i = links.hubs.firstIndex(where: { $0.absoluteString == e.hub }) {
          hub = links.hubs[(i + 1) % links.hubs.count]
        }
      default: break
      }
    }
    await subscribe(
      sourceID: sourceID, sourceURL: sourceURL, hub: hub, topic: topic.absoluteString,
      renewing: nil, now: now)
  }

  /// §5.1: `hub.mode=subscribe` with our callback, lease and secret. The row is saved (pending)
  /// before the request, since a hub may verify before it answers. A renewal keeps the token,
  /// the secret and the verified state until the hub verifies again.
  private func subscribe(
    sourceID: String, sourceURL: String, hub: URL, topic: String, renewing: PushSubscription?,
    now: Date
  ) async {
    requesting.insert(sourceID)
    defer { requesting.remove(sourceID) }
    let token = renewing?.token ?? CallbackQuery.challenge()
    let secret = renewing?.secret ?? CallbackQuery.challenge()
    var row = PushSubscription(
      sourceID: sourceID, hub: hub.absoluteString, topic: topic, token: token, secret: secret,
      state: renewing == nil ? .pending : .verified, requested: now,
      leaseSeconds: renewing?.leaseSeconds, expires: renewing?.expires,
      failingSince: renewing?.failingSince, lastError: nil, lastPush: renewing?.lastPush)
    do {
      try await store.savePushSubscription(row)
    } catch {
      logger.warning("source=\(sourceID) websub: saving its subscription failed: \(error)")
      return
    }
    let callback = callbackURL(sourceID: sourceID, token: token)
    let form = [
      ("hub.mode", "subscribe"), ("hub.topic", topic), ("hub.callback", callback.absoluteString),
      ("hub.secret", secret), ("hub.lease_seconds", String(options.leaseSeconds)),
    ]
    let what = renewing == nil ? "subscribe" : "renewal"
    switch await post(form, to: hub, sourceURL: sourceURL) {
    case .success:
      metrics.requests(what, "accepted")
      logger.info(
        "source=\(sourceID) websub \(what) requested at \(hub.absoluteString)",
        metadata: ["topic": "\(topic)"])
    case .failure(let why):
      metrics.requests(what, "failed")
      logger.warning(
        "source=\(sourceID) websub \(what) at \(hub.absoluteString) failed: \(why); polling goes on as configured"
      )
      // Reread: nothing the hub said can have changed it, but keep what a push recorded.
      if let current = try? await store.pushSubscription(sourceID: sourceID) { row = current }
      await markFailing(row, "\(what) failed: \(why)", now: now)
      if renewing != nil { await resume(sourceID, now: now) }
    }
  }

  /// §6: `hub.mode=unsubscribe`. A hub that cannot be reached, or refuses, leaves nothing to
  /// wait for: the row goes at once (the hub's lease runs out on its own).
  private func unsubscribe(_ s: PushSubscription, now: Date) async {
    requesting.insert(s.sourceID)
    defer { requesting.remove(s.sourceID) }
    var row = s
    row.state = .unsubscribing
    row.requested = now
    try? await store.savePushSubscription(row)
    let form = [
      ("hub.mode", "unsubscribe"), ("hub.topic", s.topic),
      ("hub.callback", callbackURL(sourceID: s.sourceID, token: s.token).absoluteString),
    ]
    guard let hub = URL(string: s.hub) else {
      try? await store.removePushSubscription(sourceID: s.sourceID)
      return
    }
    switch await post(form, to: hub, sourceURL: nil) {
    case .success:
      metrics.requests("unsubscribe", "accepted")
      logger.info("source=\(s.sourceID) websub unsubscribe requested at \(s.hub)")
    case .failure(let why):
      metrics.requests("unsubscribe", "failed")
      logger.info("source=\(s.sourceID) websub unsubscribe at \(s.hub) failed (\(why)): forgotten")
      try? await store.removePushSubscription(sourceID: s.sourceID)
    }
  }

  /// One form POST to a hub; `.success` on a 2xx (a hub answers 202). The hub URL came from a
  /// fetched document: it must lead to public addresses unless the source itself is on the
  /// admin's private network (the redirect rule of `RedirectGuard`). With `sourceURL` nil (an
  /// unsubscribe) it must be public, or have been allowed when the subscription was made.
  private func post(_ form: [(String, String)], to hub: URL, sourceURL: String?) async -> Result<
    Void, Outbound.Failure
  > {
    var allowPrivate = false
    if let text = sourceURL, let url = URL(string: text),
      let destination = try? await policy.destination(of: url)
    {
      allowPrivate = policy.isPrivate(destination)
    } else if sourceURL == nil, let destination = try? await policy.destination(of: hub) {
      allowPrivate = policy.isPrivate(destination)
    }
    let outbound = Outbound(
      client: client, policy: policy, allowPrivate: allowPrivate, timeout: options.timeout,
      userAgent: options.userAgent)
    let body = Array(
      form.map { "\(CallbackQuery.encode($0.0))=\(CallbackQuery.encode($0.1))" }
        .joined(separator: "&").utf8)
    do {
      let reply = try await outbound.send(
        hub, method: .POST, headers: [("Content-Type", "application/x-www-form-urlencoded")],
        body: body)
      guard (200..<300).contains(reply.status) else {
        let reason = reply.body.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200)
        return .failure(
          Outbound.Failure(
            description: "the hub answered \(reply.status)" + (reason.isEmpty ? "" : ": \(reason)"))
        )
      }
      return .success(())
    } catch let failure as Outbound.Failure {
      return .failure(failure)
    } catch {
      return .failure(Outbound.Failure(description: "\(error)"))
    }
  }

  // MARK: - the callback

  /// `GET` (verification of intent, denial) and `POST` (content) at
  /// `/websub/callback/{source}/{token}`. Anything not matching a subscription we asked for is
  /// 404 and stores nothing.
  public func callback(_ request: CallbackRequest, now: Date = Date()) async -> CallbackAnswer {
    let parts = request.rest.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let sourceID = String(parts[0]).removingPercentEncoding,
      !sourceID.isEmpty, !parts[1].isEmpty
    else {
      metrics.callbacks("unknown")
      return CallbackAnswer(status: 404, body: "no such subscription")
    }
    let token = String(parts[1])
    let found: PushSubscription?
    do {
      found = try await store.pushSubscription(sourceID: sourceID)
    } catch {
      logger.warning("source=\(sourceID) websub: reading its subscription failed: \(error)")
      return CallbackAnswer(status: 503, body: "try again", retryAfter: 10)
    }
    guard let subscription = found, Self.sameToken(subscription.token, token) else {
      metrics.callbacks("unknown")
      logger.info("websub callback for an unknown subscription refused: source=\(sourceID)")
      return CallbackAnswer(status: 404, body: "no such subscription")
    }
    switch request.method {
    case .get: return await verification(request.query, subscription, now: now)
    case .post: return await content(request, subscription, now: now)
    case .other: return CallbackAnswer(status: 405, body: "GET or POST")
    }
  }

  /// Token comparison in time independent of where the strings differ.
  static func sameToken(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for i in x.indices { difference |= x[i] ^ y[i] }
    return difference == 0
  }

  /// §5.3 and §5.2. Subscribe is confirmed for a pending, verified (a renewal) or failed (a
  /// late verification) subscription whose topic matches; unsubscribe only when we asked for
  /// it; a denial marks the subscription failing and polling resumes.
  private func verification(
    _ query: [String: String], _ s: PushSubscription, now: Date
  ) async -> CallbackAnswer {
    guard query["hub.topic"] == s.topic else {
      metrics.callbacks("wrong_topic")
      logger.info("source=\(s.sourceID) websub verification for another topic refused")
      return CallbackAnswer(status: 404, body: "no such subscription")
    }
    var row = s
    switch query["hub.mode"] {
    case "subscribe":
      guard s.state != .unsubscribing, let challenge = query["hub.challenge"], !challenge.isEmpty
      else {
        metrics.callbacks("refused")
        return CallbackAnswer(status: 404, body: "not expecting this verification")
      }
      let lease = query["hub.lease_seconds"].flatMap(Int.init) ?? options.leaseSeconds
      row.state = .verified
      row.leaseSeconds = lease
      row.expires = now.addingTimeInterval(TimeInterval(max(0, lease)))
      row.failingSince = nil
      row.lastError = nil
      do {
        try await store.savePushSubscription(row)
      } catch {
        return CallbackAnswer(status: 503, body: "try again", retryAfter: 10)
      }
      metrics.callbacks("verified")
      logger.info(
        "source=\(s.sourceID) websub subscription verified for \(lease) s at \(s.hub)",
        metadata: ["topic": "\(s.topic)"])
      return CallbackAnswer(status: 200, body: challenge)
    case "unsubscribe":
      guard s.state == .unsubscribing, let challenge = query["hub.challenge"], !challenge.isEmpty
      else {
        metrics.callbacks("refused")
        return CallbackAnswer(status: 404, body: "not expecting this verification")
      }
      try? await store.removePushSubscription(sourceID: s.sourceID)
      metrics.callbacks("unsubscribed")
      logger.info("source=\(s.sourceID) websub unsubscribed at \(s.hub)")
      return CallbackAnswer(status: 200, body: challenge)
    case "denied":
      let reason = query["hub.reason"].map { ": \($0.prefix(200))" } ?? ""
      await markFailing(s, "denied by the hub\(reason)", now: now)
      metrics.callbacks("denied")
      logger.warning("source=\(s.sourceID) websub subscription denied by \(s.hub)\(reason)")
      if s.state == .verified { await resume(s.sourceID, now: now) }
      return CallbackAnswer(status: 200, body: "ok")
    default:
      metrics.callbacks("refused")
      return CallbackAnswer(status: 400, body: "hub.mode must be subscribe, unsubscribe or denied")
    }
  }

  /// §7/§8: a content distribution. Answered 2xx whenever it reached a subscription of ours,
  /// even when it is ignored (bad or missing signature, not subscribed any more), as §8
  /// requires; 503 only while the ingest slots are full, so the hub retries later.
  private func content(
    _ request: CallbackRequest, _ s: PushSubscription, now: Date
  ) async -> CallbackAnswer {
    guard s.state != .unsubscribing else {
      metrics.callbacks("ignored")
      return CallbackAnswer(status: 202, body: "ignored: unsubscribing")
    }
    guard HubSignature.verify(header: request.signature, body: request.body, secret: s.secret)
    else {
      metrics.callbacks("bad_signature")
      let why = request.signature == nil ? "no X-Hub-Signature" : "X-Hub-Signature does not verify"
      logger.warning("source=\(s.sourceID) websub content ignored: \(why)")
      return CallbackAnswer(status: 202, body: "ignored")
    }
    guard request.body.count <= options.maxBody else {
      metrics.callbacks("too_large")
      return CallbackAnswer(status: 413, body: "body over max_body (\(options.maxBody) bytes)")
    }
    guard ingesting < max(1, options.maxConcurrentIngests) else {
      metrics.callbacks("busy")
      return CallbackAnswer(status: 503, body: "busy, try again", retryAfter: 5)
    }
    ingesting += 1
    let result = await ingest(
      s.sourceID, request.body, request.contentType, URL(string: s.topic))
    ingesting -= 1
    switch result {
    case .recorded(let entries, let new):
      metrics.callbacks("ingested")
      logger.info("source=\(s.sourceID) result=pushed entries=\(entries) new=\(new)")
      if var row = try? await store.pushSubscription(sourceID: s.sourceID), row.token == s.token {
        row.lastPush = now
        try? await store.savePushSubscription(row)
      }
    case .rejected(let why):
      metrics.callbacks("rejected")
      logger.warning("source=\(s.sourceID) websub content not stored: \(why)")
    }
    return CallbackAnswer(status: 202, body: "accepted")
  }

  // MARK: - leases

  /// Every second or so: withdraws subscriptions of sources no longer wanted, renews leases in
  /// their last quarter, marks lapsed leases and unverified requests failing (polling resumes),
  /// and drops unsubscribes the hub never confirmed. Returns the sources verified now, with
  /// the end of their lease, for the crawler's slower polling.
  @discardableResult
  public func tick(now: Date = Date()) async -> [String: Date] {
    guard let wanted else { return [:] }
    let all: [PushSubscription]
    do {
      all = try await store.pushSubscriptions()
    } catch {
      logger.warning("websub: reading subscriptions failed: \(error)")
      return [:]
    }
    var verified: [String: Date] = [:]
    var counts: [PushSubscription.State: Int] = [:]
    for s in all {
      counts[s.state, default: 0] += 1
      guard !requesting.contains(s.sourceID) else {
        if s.state == .verified, let until = s.expires, until > now { verified[s.sourceID] = until }
        continue
      }
      let age = now.timeIntervalSince(s.requested)
      if wanted[s.sourceID] == nil, s.state != .unsubscribing {
        requesting.insert(s.sourceID)
        spawn { await self.unsubscribe(s, now: now) }
        continue
      }
      switch s.state {
      case .verified:
        guard let until = s.expires, until > now else {
          await markFailing(s, "the lease lapsed without a renewal", now: now)
          logger.warning("source=\(s.sourceID) websub lease lapsed: polling resumes")
          await resume(s.sourceID, now: now)
          continue
        }
        verified[s.sourceID] = until
        let lease = TimeInterval(max(1, s.leaseSeconds ?? options.leaseSeconds))
        if until.timeIntervalSince(now) < lease / 4, age >= max(1, lease / 20),
          let hub = URL(string: s.hub), let sourceURL = wanted[s.sourceID]
        {
          requesting.insert(s.sourceID)
          spawn {
            await self.subscribe(
              sourceID: s.sourceID, sourceURL: sourceURL, hub: hub, topic: s.topic, renewing: s,
              now: now)
          }
        }
      case .pending where age > options.verifyWithin:
        let why = "the hub did not verify within \(Int(options.verifyWithin)) s"
        await markFailing(s, why, now: now)
        logger.warning("source=\(s.sourceID) websub: \(why)")
      case .unsubscribing where age > options.verifyWithin:
        try? await store.removePushSubscription(sourceID: s.sourceID)
      default: break
      }
    }
    metrics.subscriptions(counts)
    return verified
  }

  /// Records that the subscription stopped working, and why (failing since the first time).
  private func markFailing(_ s: PushSubscription, _ why: String, now: Date) async {
    var row = s
    row.state = .failing
    row.failingSince = row.failingSince ?? now
    row.lastError = why
    try? await store.savePushSubscription(row)
  }

  /// The hub stopped pushing: the source is due at once (fleet-wide through the store).
  private func resume(_ sourceID: String, now: Date) async {
    do {
      try await store.resumePolling(sourceID: sourceID, at: now)
    } catch {
      logger.warning("source=\(sourceID) websub: rescheduling its poll failed: \(error)")
    }
  }

  private func spawn(_ body: @escaping @Sendable () async -> Void) {
    background.spawn(body)
  }

  /// Waits for the requests started so far (tests, shutdown).
  public func settle() async {
    await background.settle()
  }

  /// One source's push state for `status`: none, pending, verified until …, failing since …,
  /// unsubscribing.
  public static func describe(_ s: PushSubscription?, now: Date) -> String {
    guard let s else { return "none" }
    let formatter = ISO8601DateFormatter()
    switch s.state {
    case .pending: return "pending"
    case .verified:
      guard let until = s.expires else { return "verified" }
      return until > now ? "verified until \(formatter.string(from: until))" : "lapsed"
    case .failing:
      return "failing since \(formatter.string(from: s.failingSince ?? s.requested))"
    case .unsubscribing: return "unsubscribing"
    }
  }
}

/// `/metrics` series of the subscriber.
struct SubscriberMetrics: Sendable {
  let factory: (any MetricsFactory)?

  func requests(_ mode: String, _ result: String) {
    let dimensions = [("mode", mode), ("result", result)]
    let label = "clusterwire_websub_subscriber_requests_total"
    (factory.map { Counter(label: label, dimensions: dimensions, factory: $0) }
      ?? Counter(label: label, dimensions: dimensions)).increment()
  }

  func callbacks(_ result: String) {
    let label = "clusterwire_websub_callbacks_total"
    (factory.map { Counter(label: label, dimensions: [("result", result)], factory: $0) }
      ?? Counter(label: label, dimensions: [("result", result)])).increment()
  }

  func subscriptions(_ counts: [PushSubscription.State: Int]) {
    for state in ["pending", "verified", "failing", "unsubscribing"] {
      let label = "clusterwire_websub_push_subscriptions"
      let gauge =
        factory.map { Gauge(label: label, dimensions: [("state", state)], factory: $0) }
        ?? Gauge(label: label, dimensions: [("state", state)])
      gauge.record(counts[PushSubscription.State(rawValue: state)!, default: 0])
    }
  }
}
