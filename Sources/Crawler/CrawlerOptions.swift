import AsyncHTTPClient
import FeedParser
import Foundation
import NIOCore

/// Crawl politeness and safety limits (`[crawl]` in the config). Changing them at run time goes
/// through `Crawler.updateOptions`.
public struct CrawlerOptions: Sendable {
  /// Total time for one fetch, redirects and body included.
  public var timeout: TimeInterval = 30
  /// TCP (and TLS) connect timeout. Applied by the `HTTPClient`'s configuration, which the daemon
  /// owns: build it with `httpClientConfiguration()`.
  public var connectTimeout: TimeInterval = 10
  /// Largest body accepted, counted after decompression, enforced while streaming.
  public var maxBody: Int = 10 << 20
  /// Concurrent fetches per host.
  public var perHost: Int = 2
  /// Concurrent fetches overall.
  public var concurrency: Int = 16
  /// Sent on every request unless the source overrides it.
  public var userAgent: String
  /// Longest wait between polls of a failing source, and the cap on server hints.
  public var backoffCap: TimeInterval = 86_400
  /// Redirect hops followed before giving up.
  public var maxRedirects: Int = 5
  /// Limits handed to the feed parser and the HTML scraper. Its `maxBytes` is not used as is:
  /// the crawler hands the parser `effectiveParseOptions`, whose caps follow `maxBody`.
  public var parseOptions: ParseOptions
  /// On shutdown, how long in-flight fetches may run on before they are cancelled.
  public var shutdownGrace: TimeInterval = 5
  /// A fetch still running this long after `timeout + shutdownGrace` is considered hung (the
  /// store or the event loop below it): `Crawler.lastProgress` then stops moving so systemd's
  /// watchdog restarts the daemon.
  public var hangMargin: TimeInterval = 120
  /// With a `SharedFeedStore` (a fleet): how long a claimed source stays leased to this
  /// instance. Longer than `timeout + shutdownGrace` (the config checks it), so a lease never
  /// expires under a fetch still running; an instance that dies loses its leases after this long.
  public var leaseTTL: TimeInterval = 120

  public init(
    timeout: TimeInterval = 30, connectTimeout: TimeInterval = 10, maxBody: Int = 10 << 20,
    perHost: Int = 2, concurrency: Int = 16,
    userAgent: String = "clusterwire/1.0",
    backoffCap: TimeInterval = 86_400, maxRedirects: Int = 5,
    parseOptions: ParseOptions = ParseOptions(), shutdownGrace: TimeInterval = 5
  ) {
    self.timeout = timeout
    self.connectTimeout = connectTimeout
    self.maxBody = maxBody
    self.perHost = perHost
    self.concurrency = concurrency
    self.userAgent = userAgent
    self.backoffCap = backoffCap
    self.maxRedirects = maxRedirects
    self.parseOptions = parseOptions
    self.shutdownGrace = shutdownGrace
  }

  /// The parser limits for a body this crawler accepted. The byte cap is `maxBody`: the fetch has
  /// already enforced it (for HTTP and `file:` alike), and a different cap in the parser would
  /// either refuse, later and with another message, a body the admin's `max_body` allows, or
  /// never apply. The text cap (the defence against entity blow-ups, which reach the parser as
  /// text and not as bytes) keeps its ratio to the byte cap (4× by default), and is never below
  /// `parseOptions.maxTextBytes`, so a larger `max_body` cannot trip it with honest text.
  public var effectiveParseOptions: ParseOptions {
    var effective = parseOptions
    let body = max(1, maxBody)
    effective.maxBytes = body
    let defaults = ParseOptions()
    let ratio = max(1, defaults.maxTextBytes / max(1, defaults.maxBytes))
    let (scaled, overflow) = body.multipliedReportingOverflow(by: ratio)
    effective.maxTextBytes = max(parseOptions.maxTextBytes, overflow ? Int.max : scaled)
    return effective
  }

  /// The `HTTPClient` configuration these options need: redirects off (the crawler follows them
  /// itself to record moves and detect loops), connect/read timeouts, and gzip/deflate with a cap
  /// on the decompressed size (a gzip bomb stops at `maxBody`). No read timeout: the crawler
  /// puts one deadline over each whole fetch (`timeout`), body included. TLS certificates are
  /// verified (AsyncHTTPClient's default).
  public func httpClientConfiguration() -> HTTPClient.Configuration {
    var configuration = HTTPClient.Configuration(
      redirectConfiguration: .disallow,
      timeout: .init(connect: .milliseconds(Int64(connectTimeout * 1000))),
      decompression: .enabled(limit: .size(maxBody)))
    configuration.connectionPool.idleTimeout = .seconds(30)
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, concurrency)
    return configuration
  }
}

/// What one `crawlOnce` did.
public struct CycleReport: Sendable, Hashable {
  public var sources: Int
  public var fetched: Int
  public var notModified: Int
  public var failed: Int
  public var gone: Int
  /// Entries the store inserted in this cycle.
  public var newEntries: Int
  public var duration: TimeInterval

  public init(
    sources: Int = 0, fetched: Int = 0, notModified: Int = 0, failed: Int = 0, gone: Int = 0,
    newEntries: Int = 0, duration: TimeInterval = 0
  ) {
    self.sources = sources
    self.fetched = fetched
    self.notModified = notModified
    self.failed = failed
    self.gone = gone
    self.newEntries = newEntries
    self.duration = duration
  }
}
