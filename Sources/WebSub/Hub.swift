import AsyncHTTPClient
import FeedStore
import Foundation
import Logging
import Metrics
import NIOHTTP1
import NetworkGuard

/// What the hub needs to know about the hub itself and its limits (`[websub]`).
public struct HubOptions: Sendable {
  /// Our hub's own URL (`<base_url>websub`), sent as `Link: rel=hub` with every delivery.
  public var hubURL: URL
  public var lease: LeasePolicy
  public var allowPrivateCallbacks: Bool
  public var maxSubscriptions: Int
  public var maxPerCallbackHost: Int
  /// How long one version's delivery is retried before the subscription counts as failing.
  public var retryFor: TimeInterval
  /// One verification or delivery request.
  public var timeout: TimeInterval
  /// First retry delay; doubled on each attempt, capped at `maxRetryDelay`.
  public var firstRetryDelay: TimeInterval
  public var maxRetryDelay: TimeInterval
  /// External hubs pinged (`hub.mode=publish`) when a topic changes.
  public var pings: [URL]
  public var userAgent: String

  public init(
    hubURL: URL, lease: LeasePolicy = LeasePolicy(), allowPrivateCallbacks: Bool = false,
    maxSubscriptions: Int = 10_000, maxPerCallbackHost: Int = 100, retryFor: TimeInterval = 3600,
    timeout: TimeInterval = 10, firstRetryDelay: TimeInterval = 5,
    maxRetryDelay: TimeInterval = 600,
    pings: [URL] = [], userAgent: String = "clusterwire"
  ) {
    self.hubURL = hubURL
    self.lease = lease
    self.allowPrivateCallbacks = allowPrivateCallbacks
    self.maxSubscriptions = maxSubscriptions
    self.maxPerCallbackHost = maxPerCallbackHost
    self.retryFor = retryFor
    self.timeout = timeout
    self.firstRetryDelay = firstRetryDelay
    self.maxRetryDelay = maxRetryDelay
    self.pings = pings
    self.userAgent = userAgent
  }
}

/// One version of a topic's document, as it is distributed.
public struct TopicContent: Sendable, Hashable {
  public var body: [UInt8]
  public var contentType: String
  /// The document's strong validator: the version a delivery claims.
  public var etag: String
  public init(body: [UInt8], contentType: String, etag: String) {
    self.body = body
    self.contentType = contentType
    self.etag = etag
  }
}

/// The built-in WebSub hub (W3C WebSub §5–§7) for our own documents: answers subscription
/// requests at once (202, or 4xx with the reason), verifies intent asynchronously, keeps the
/// verified subscriptions in the store (shared by a fleet), and distributes each new version
/// of a topic once per subscription — a compare-and-set in the store makes exactly one instance
/// of a fleet deliver it — from a queue per subscription, so a slow callback delays only itself.
public actor WebSubHub {
  let store: any WebSubStore
  let options: HubOptions
  let outbound: Outbound
  let logger: Logger
  let isOurTopic: @Sendable (String) -> Bool
  let content: @Sendable (String) async -> TopicContent?
  let metrics: HubMetrics
  /// Verifications under way, by callback host (they count against the bounds too).
  private var pending: [String: Int] = [:]
  /// Per-subscription delivery queues, keyed `topic \n callback`.
  private var queues: [String: DeliveryQueue] = [:]
  /// Tasks started by requests (verifications, denials, pings), so tests and shutdown can wait.
  private let background = BackgroundTasks()
  private var lastPinged: [String: String] = [:]

  /// - Parameters:
  ///   - isOurTopic: whether a topic URL is one of our documents.
  ///   - content: the current version of a topic, nil when it is not (or no longer) ours.
  public init(
    store: any WebSubStore, options: HubOptions, client: HTTPClient,
    policy: NetworkPolicy = NetworkPolicy(), logger: Logger,
    metricsFactory: (any MetricsFactory)? = nil,
    isOurTopic: @escaping @Sendable (String) -> Bool,
    content: @escaping @Sendable (String) async -> TopicContent?
  ) {
    self.store = store
    self.options = options
    self.outbound = Outbound(
      client: client, policy: policy, allowPrivate: options.allowPrivateCallbacks,
      timeout: options.timeout, userAgent: options.userAgent)
    self.logger = logger
    self.isOurTopic = isOurTopic
    self.content = content
    self.metrics = HubMetrics(factory: metricsFactory)
  }

  /// `POST /websub` with a form body: the status and the one-line body to answer with.
  public func handle(form body: String) async -> (status: Int, body: String) {
    let request: HubRequest
    switch HubRequest.parse(
      form: FormFields.parse(body), lease: options.lease, isOurTopic: isOurTopic)
    {
    case .failure(let refusal):
      metrics.requests(refusal.status == 404 ? "unknown_topic" : "refused")
      return (refusal.status, refusal.reason)
    case .success(let r): request = r
    }
    if !options.allowPrivateCallbacks,
      case .refused(let why) = await outbound.policy.vet(
        request.callback)
    {
      metrics.requests("refused")
      return (400, "hub.callback refused: \(why) (set [websub] allow_private_callbacks)")
    }
    let host = request.callback.host?.lowercased() ?? ""
    metrics.requests(request.mode.rawValue)
    if request.mode == .subscribe {
      let counts =
        (try? await store.hubSubscriptionCounts(callbackHost: host, now: Date()))
        ?? (host: 0, total: 0)
      let pendingHere = pending[host, default: 0]
      let pendingAll = pending.values.reduce(0, +)
      let existing =
        (try? await store.hubSubscriptions(topic: request.topic, now: Date()))?
        .contains { $0.callback == request.callback.absoluteString } ?? false
      if !existing {
        var reason: String?
        if counts.host + pendingHere >= options.maxPerCallbackHost {
          reason = "too many subscriptions for callback host \(host)"
        } else if counts.total + pendingAll >= options.maxSubscriptions {
          reason = "this hub has reached its subscription limit"
        }
        if let reason {
          // §5.2: a hub that declines a subscription tells the subscriber with a denial.
          spawn { [outbound, logger, metrics] in
            let url = CallbackQuery.denial(
              callback: request.callback, topic: request.topic, reason: reason)
            do {
              _ = try await outbound.send(url, method: .GET)
            } catch {
              logger.debug("denial to \(request.callback) failed: \(error)")
            }
            metrics.verifications("denied")
          }
          return (202, "accepted")
        }
      }
    }
    pending[host, default: 0] += 1
    spawn { await self.verify(request, host: host) }
    return (202, "accepted")
  }

  private func spawn(_ body: @escaping @Sendable () async -> Void) {
    background.spawn(body)
  }

  /// Waits for every verification, denial and ping started so far (tests, shutdown).
  public func settle() async {
    await background.settle()
  }

  /// §5.3 verification of intent: the callback must echo the challenge with a 2xx.
  private func verify(_ request: HubRequest, host: String) async {
    defer { pending[host, default: 1] -= 1 }
    let challenge = CallbackQuery.challenge()
    let url = CallbackQuery.verification(
      callback: request.callback, mode: request.mode.rawValue, topic: request.topic,
      challenge: challenge,
      leaseSeconds: request.mode == .subscribe ? request.leaseSeconds : nil)
    let callback = request.callback.absoluteString
    do {
      let reply = try await outbound.send(url, method: .GET)
      guard (200..<300).contains(reply.status), reply.body == challenge else {
        let echo = reply.body == challenge ? "" : " without echoing the challenge"
        logger.info(
          "websub \(request.mode.rawValue) not verified: the callback answered \(reply.status)\(echo)",
          metadata: ["topic": "\(request.topic)", "callback": "\(callback)"])
        metrics.verifications("failed")
        return
      }
      let now = Date()
      switch request.mode {
      case .subscribe:
        try await store.saveHubSubscription(
          HubSubscription(
            topic: request.topic, callback: callback, callbackHost: host,
            secret: request.secret, leaseSeconds: request.leaseSeconds,
            expires: now.addingTimeInterval(TimeInterval(request.leaseSeconds)), created: now))
        logger.info(
          "websub subscription verified for \(request.leaseSeconds) s",
          metadata: ["topic": "\(request.topic)", "callback": "\(callback)"])
      case .unsubscribe:
        _ = try await store.removeHubSubscription(topic: request.topic, callback: callback)
        queues["\(request.topic)\n\(callback)"]?.cancel()
        queues["\(request.topic)\n\(callback)"] = nil
        logger.info(
          "websub subscription removed",
          metadata: ["topic": "\(request.topic)", "callback": "\(callback)"])
      }
      metrics.verifications("verified")
      await refreshGauge()
    } catch {
      logger.info(
        "websub \(request.mode.rawValue) not verified: \(error)",
        metadata: ["topic": "\(request.topic)", "callback": "\(callback)"])
      metrics.verifications("failed")
    }
  }

  /// Something publishable changed: every subscribed topic whose document has a new version is
  /// delivered to each of its subscribers (once per version across a fleet), and the external
  /// hubs are pinged for the topics that changed.
  public func distribute(pingTopics: [String] = []) async {
    let now = Date()
    let subscriptions: [HubSubscription]
    do {
      subscriptions = try await store.hubSubscriptions(topic: nil, now: now)
    } catch {
      logger.warning("websub: reading subscriptions failed: \(error)")
      return
    }
    var versions: [String: TopicContent?] = [:]
    for s in subscriptions {
      if versions[s.topic] == nil { versions[s.topic] = .some(await content(s.topic)) }
      guard let version = versions[s.topic] ?? nil, s.deliveredETag != version.etag else {
        continue
      }
      let claimed: Bool
      do {
        claimed = try await store.claimHubDelivery(
          topic: s.topic, callback: s.callback, etag: version.etag, now: now)
      } catch {
        logger.warning("websub: claiming a delivery failed: \(error)")
        continue
      }
      guard claimed else { continue }
      let key = "\(s.topic)\n\(s.callback)"
      let queue: DeliveryQueue
      if let existing = queues[key] {
        queue = existing
      } else {
        queue = DeliveryQueue(hub: self, subscription: s)
        queues[key] = queue
      }
      await queue.offer(version, subscription: s)
    }
    await ping(pingTopics)
  }

  /// `hub.mode=publish&hub.url=…` to each `[websub] ping` hub, for topics whose version moved.
  private func ping(_ topics: [String]) async {
    guard !options.pings.isEmpty else { return }
    for topic in topics {
      guard let version = await content(topic), lastPinged[topic] != version.etag else {
        continue
      }
      lastPinged[topic] = version.etag
      let body = Array(
        "hub.mode=publish&hub.url=\(CallbackQuery.encode(topic))&hub.topic=\(CallbackQuery.encode(topic))"
          .utf8)
      for hub in options.pings {
        spawn { [client = outbound.client, logger, metrics, timeout = options.timeout] in
          var request = HTTPClientRequest(url: hub.absoluteString)
          request.method = .POST
          request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
          request.body = .bytes(body)
          do {
            let response = try await client.execute(request, timeout: .seconds(Int64(timeout)))
            metrics.pings((200..<300).contains(Int(response.status.code)) ? "ok" : "failed")
            if !(200..<300).contains(Int(response.status.code)) {
              logger.warning("websub ping to \(hub) answered \(response.status.code)")
            }
          } catch {
            metrics.pings("failed")
            logger.warning("websub ping to \(hub) failed: \(error)")
          }
        }
      }
    }
  }

  /// Drops expired subscriptions (the lease ran out and was not renewed).
  public func expire(now: Date = Date()) async {
    if let n = try? await store.expireHubSubscriptions(now: now), n > 0 {
      logger.info("websub: \(n) subscriptions expired")
    }
    await refreshGauge()
  }

  func refreshGauge() async {
    if let all = try? await store.hubSubscriptions(topic: nil, now: Date()) {
      metrics.subscriptions(all.count, failing: all.filter { $0.failingSince != nil }.count)
    }
  }

  /// Sends one version to one subscriber: the document with `Link` rel=hub and rel=self and,
  /// when the subscriber gave a secret, `X-Hub-Signature: sha256=…`. True on a 2xx.
  func deliver(_ version: TopicContent, to s: HubSubscription) async -> Bool {
    guard let url = URL(string: s.callback) else { return false }
    var headers = [
      ("Content-Type", version.contentType),
      (
        "Link",
        WebSubLinks(hubs: [options.hubURL] + options.pings, selfURL: URL(string: s.topic))
          .headerValue ?? ""
      ),
    ]
    if let secret = s.secret {
      headers.append(("X-Hub-Signature", HubSignature.header(body: version.body, secret: secret)))
    }
    do {
      let reply = try await outbound.send(url, method: .POST, headers: headers, body: version.body)
      let ok = (200..<300).contains(reply.status)
      metrics.deliveries(ok ? "ok" : "failed")
      if !ok {
        logger.info(
          "websub delivery answered \(reply.status)",
          metadata: ["topic": "\(s.topic)", "callback": "\(s.callback)"])
      }
      return ok
    } catch {
      metrics.deliveries("failed")
      logger.info(
        "websub delivery failed: \(error)",
        metadata: ["topic": "\(s.topic)", "callback": "\(s.callback)"])
      return false
    }
  }

  func recordOutcome(_ s: HubSubscription, success: Bool) async {
    do {
      try await store.recordHubDelivery(
        topic: s.topic, callback: s.callback, success: success, at: Date())
    } catch {
      logger.warning("websub: recording a delivery failed: \(error)")
    }
    if !success {
      logger.warning(
        "websub subscription failing: deliveries did not succeed for \(Int(options.retryFor)) s",
        metadata: ["topic": "\(s.topic)", "callback": "\(s.callback)"])
    }
    await refreshGauge()
  }

  /// Stops every delivery queue (shutdown).
  public func shutdown() async {
    for queue in queues.values { queue.cancel() }
    queues = [:]
    background.cancelAll()
  }
}

/// One subscription's deliveries: the newest version waits while an older one is retried and
/// replaces any version not yet sent (a full document supersedes the one before).
final class DeliveryQueue: @unchecked Sendable {
  private let lock = NSLock()
  private var next: (TopicContent, HubSubscription)?
  /// Whether a run loop is draining `next`: set with the check in `offer`, cleared by the loop
  /// under the same lock when it finds nothing left, so an offer never lands between the two.
  private var running = false
  private var task: Task<Void, Never>?
  private weak var hub: WebSubHub?

  init(hub: WebSubHub, subscription: HubSubscription) { self.hub = hub }

  func offer(_ version: TopicContent, subscription: HubSubscription) async {
    lock.withLock {
      next = (version, subscription)
      guard !running else { return }
      running = true
      task = Task { await self.run() }
    }
  }

  func cancel() { lock.withLock { task?.cancel() } }

  private func take() -> (TopicContent, HubSubscription)? {
    lock.withLock {
      let item = next
      next = nil
      if item == nil { running = false }
      return item
    }
  }

  private func superseded() -> Bool { lock.withLock { next != nil } }

  private func run() async {
    while let (version, subscription) = take() {
      guard let hub else { return }
      let options = hub.options
      let deadline = Date().addingTimeInterval(options.retryFor)
      var delay = options.firstRetryDelay
      var delivered = false
      while !Task.isCancelled {
        if await hub.deliver(version, to: subscription) {
          delivered = true
          break
        }
        if superseded() || Date().addingTimeInterval(delay) > deadline { break }
        try? await Task.sleep(for: .seconds(delay))
        delay = min(delay * 2, options.maxRetryDelay)
      }
      if Task.isCancelled { return }
      if delivered || !superseded() {
        await hub.recordOutcome(subscription, success: delivered)
      }
    }
  }
}

/// `clusterwire_websub_*`: requests, verifications, deliveries, pings and live subscriptions.
struct HubMetrics: Sendable {
  let factory: (any MetricsFactory)?

  private func counter(_ label: String, _ result: String) -> Counter {
    if let factory {
      return Counter(label: label, dimensions: [("result", result)], factory: factory)
    }
    return Counter(label: label, dimensions: [("result", result)])
  }

  func requests(_ result: String) {
    counter("clusterwire_websub_hub_requests_total", result).increment()
  }
  func verifications(_ result: String) {
    counter("clusterwire_websub_verifications_total", result).increment()
  }
  func deliveries(_ result: String) {
    counter("clusterwire_websub_deliveries_total", result).increment()
  }
  func pings(_ result: String) { counter("clusterwire_websub_pings_total", result).increment() }

  func subscriptions(_ total: Int, failing: Int) {
    for (state, n) in [("active", total - failing), ("failing", failing)] {
      let label = "clusterwire_websub_subscriptions"
      let gauge =
        factory.map { Gauge(label: label, dimensions: [("state", state)], factory: $0) }
        ?? Gauge(label: label, dimensions: [("state", state)])
      gauge.record(n)
    }
  }
}
