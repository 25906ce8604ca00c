import AsyncHTTPClient
import Config
import Crawler
import FeedModel
import FeedStore
import Foundation
import Logging
import Publisher
import ServiceLifecycle
import WebSub

/// The built-in hub wired to the publisher (topics are our documents under `base_url`) and to
/// the store (subscriptions, shared by a fleet when the store is).
enum WebSubWiring {
  /// Our hub's URL: `<base_url>websub`.
  static func hubURL(_ s: Settings) -> URL {
    let base = s.server.baseURL.absoluteString
    return URL(string: (base.hasSuffix("/") ? base : base + "/") + "websub")!
  }

  /// The hubs every document advertises: ours (when enabled) and the `[websub] ping` ones.
  static func advertisedHubs(_ s: Settings) -> [URL] {
    (s.websub.hub ? [hubURL(s)] : []) + s.websub.ping
  }

  static func hubOptions(_ s: Settings) -> HubOptions {
    HubOptions(
      hubURL: hubURL(s),
      lease: LeasePolicy(
        minimum: Int(s.websub.leaseMin), defaultLease: Int(s.websub.leaseDefault),
        maximum: Int(s.websub.leaseMax)),
      allowPrivateCallbacks: s.websub.allowPrivateCallbacks,
      maxSubscriptions: s.websub.maxSubscriptions,
      maxPerCallbackHost: s.websub.maxPerCallbackHost, retryFor: s.websub.retryFor,
      timeout: s.websub.deliveryTimeout, pings: s.websub.ping, userAgent: s.crawl.userAgent)
  }

  /// The path and query a topic URL names under `base`, or nil when it is not under it.
  static func route(of topic: String, base: URL) -> (path: String, query: [String: String])? {
    let prefix =
      base.absoluteString.hasSuffix("/") ? base.absoluteString : base.absoluteString + "/"
    guard topic.hasPrefix(prefix), let components = URLComponents(string: topic) else {
      return nil
    }
    var rest = Substring(topic.dropFirst(prefix.count))
    if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<cut] }
    let path = "/" + rest
    var query: [String: String] = [:]
    for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
    return (path, query)
  }

  /// The hub for `store`, or nil when `[websub] hub = false` or the store keeps no
  /// subscriptions.
  static func makeHub(
    _ s: Settings, store: any FeedStore, publisher: Publisher, client: HTTPClient, logger: Logger
  ) -> WebSubHub? {
    guard s.websub.hub, let subscriptions = store as? any WebSubStore else { return nil }
    let base = s.server.baseURL
    return WebSubHub(
      store: subscriptions, options: hubOptions(s), client: client, logger: logger,
      isOurTopic: { topic in
        guard let (path, query) = route(of: topic, base: base) else { return false }
        return Publisher.cacheKey(path: path, query: query) != nil
      },
      content: { topic in
        guard let (path, query) = route(of: topic, base: base),
          let doc = try? await publisher.document(path: path, query: query)
        else { return nil }
        return TopicContent(body: doc.body, contentType: doc.contentType, etag: doc.etag)
      })
  }
}

extension WebSubWiring {
  /// The sources the subscriber may subscribe for (id → URL): enabled feed sources with
  /// `websub` on, none when `[websub] subscribe = false` (the subscriber then withdraws what it
  /// had).
  static func pushSources(_ s: Settings) -> [String: String] {
    guard s.websub.subscribe else { return [:] }
    var out: [String: String] = [:]
    for d in s.sources where d.enabled && d.websub && d.kind == .feed { out[d.id] = d.url }
    return out
  }

  /// The subscriber for `store` (nil when the store keeps no subscriptions), fed by the
  /// crawler's fetches and ingesting through the crawler's record path.
  static func makeSubscriber(
    _ s: Settings, store: any FeedStore, crawler: Crawler, client: HTTPClient, logger: Logger
  ) async -> WebSubSubscriber? {
    guard let subscriptions = store as? any WebSubStore else { return nil }
    let subscriber = WebSubSubscriber(
      store: subscriptions,
      options: SubscriberOptions(
        callbackBase: s.server.baseURL, leaseSeconds: Int(s.websub.leaseDefault),
        timeout: s.websub.deliveryTimeout, userAgent: s.crawl.userAgent,
        maxBody: s.crawl.maxBody),
      client: client, logger: logger,
      ingest: { sourceID, body, contentType, base in
        switch await crawler.ingestPushed(
          sourceID: sourceID, body: body, contentType: contentType, base: base)
        {
        case .recorded(let entries, let new): return .recorded(entries: entries, new: new)
        case .rejected(let why): return .rejected(why)
        }
      })
    await subscriber.setSources(pushSources(s))
    crawler.setFetchObserver { observation in
      await subscriber.observe(sourceID: observation.sourceID, links: links(of: observation))
    }
    return subscriber
  }

  /// §4 discovery on a fetch: the `Link` headers, else the document's `rel="hub"` and self.
  static func links(of o: FetchObservation) -> WebSubLinks {
    let hubs = o.feedLinks.filter { $0.rel?.lowercased() == "hub" }.compactMap {
      URL(string: $0.href, relativeTo: o.base)?.absoluteURL
    }
    let selfURL =
      o.selfLink.flatMap { URL(string: $0, relativeTo: o.base)?.absoluteURL }
      ?? o.feedLinks.first { $0.rel?.lowercased() == "self" }.flatMap {
        URL(string: $0.href, relativeTo: o.base)?.absoluteURL
      }
    return WebSubLinks.discover(
      headers: o.linkHeaders, documentHubs: hubs, documentSelf: selfURL, base: o.base)
  }
}

/// Keeps our subscriptions at the sources' hubs: every second, renewals, lapses and
/// withdrawals (`WebSubSubscriber.tick`), and the crawler learns which sources are pushed.
struct WebSubSubscriberService: Service {
  let subscriber: WebSubSubscriber
  let crawler: Crawler
  let pollWhileSubscribed: TimeInterval

  func run() async throws {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      let verified = await subscriber.tick()
      crawler.setPushed(verified, interval: pollWhileSubscribed)
      try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
    }
  }
}

/// Distributes new versions of subscribed topics: looks at the store's change token every
/// second (a shared store's commits by other instances move it too), and expires lapsed
/// subscriptions every minute.
struct WebSubHubService: Service {
  let hub: WebSubHub
  let store: any FeedStore
  let publisher: Publisher
  let base: URL

  func run() async throws {
    var last: Int64?
    var lastExpiry = Date.distantPast
    let topics = ["feed.atom", "feed.rss", "feed.json"].map { base.absoluteString + $0 }
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      if let token = try? await store.changeToken(), token != last {
        if last != nil { await publisher.invalidate() }
        last = token
        await hub.distribute(pingTopics: topics)
      }
      if Date().timeIntervalSince(lastExpiry) > 60 {
        lastExpiry = Date()
        await hub.expire()
      }
      try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
    }
    await hub.shutdown()
  }
}
