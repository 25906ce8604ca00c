import FeedModel
import Foundation

/// The validated configuration: the main file plus its drop-ins, with every default applied,
/// every duration in seconds, every size in bytes and every relative path made absolute. Nothing
/// downstream needs to know the file format.
public struct Settings: Sendable, Hashable {
  /// `[server]`: where the HTTP server listens and the public URL it is known by.
  public struct Server: Sendable, Hashable {
    /// Host or IP literal to bind (IPv6 without brackets, e.g. `::1`).
    public var host: String
    public var port: Int
    /// Public URL used in self links and entry ids; always ends with `/`. Defaults to
    /// `http://<listen>/` (with `localhost` for a wildcard address): set it in production, since
    /// published ids derive from it.
    public var baseURL: URL
    /// `idle_timeout`: seconds a keep-alive connection may sit idle (or a response go unread).
    public var idleTimeout: TimeInterval
    /// `request_head_timeout`: seconds a request head may take to arrive in full (slowloris).
    public var requestHeadTimeout: TimeInterval
    /// `max_connections`: open connections at once; more are closed as soon as accepted.
    public var maxConnections: Int

    public init(
      host: String = "127.0.0.1", port: Int = 8080, baseURL: URL, idleTimeout: TimeInterval = 30,
      requestHeadTimeout: TimeInterval = 10, maxConnections: Int = 10_000
    ) {
      self.host = host
      self.port = port
      self.baseURL = baseURL
      self.idleTimeout = idleTimeout
      self.requestHeadTimeout = requestHeadTimeout
      self.maxConnections = maxConnections
    }

    /// `host:port`, with brackets around IPv6 literals.
    public var listen: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
  }

  /// `[store]`: the SQLite file or the PostgreSQL URL, and retention. Plain fields: Config does
  /// not depend on FeedStore.
  public struct Store: Sendable, Hashable {
    /// Absolute path of the SQLite file (a relative one in the file is resolved against the main
    /// config's directory; without `path`, `clusterwire.sqlite` next to the main config). Not
    /// used when `url` is set.
    public var path: String
    /// `url`: the PostgreSQL store shared by a fleet (`postgresql://user:password@host:port/db`,
    /// `?sslmode=` allowed), as written in the file; nil selects the SQLite file at `path`.
    public var url: String?
    /// `password_file`: absolute path of a file holding the database password (only with `url`;
    /// a relative one is resolved against the main config's directory).
    public var passwordFile: String?
    /// Entries kept per source.
    public var maxEntries: Int
    /// Entries first seen longer ago than this many seconds are dropped (never while they are
    /// still in their source's current document).
    public var maxAge: TimeInterval
    /// Two copies of one story are grouped only if published within this many seconds.
    public var duplicateWindow: TimeInterval
    /// A removed or disabled source's entries are hidden at once and purged after this long.
    public var removedGrace: TimeInterval
    /// How often the retention sweep runs (it also runs at start-up).
    public var sweepInterval: TimeInterval
    /// `commit_batch`: group commit puts at most this many crawl results in one write
    /// transaction (1 = one transaction each). The default is FeedStore's
    /// `StoreOptions.defaultCommitBatch` (Config does not depend on FeedStore: keep them equal).
    public var commitBatch: Int
    /// `commit_delay`: how long an idle writer may wait for crawl results still being prepared
    /// to join its transaction (0 = never; a lone result never waits). Default as
    /// `StoreOptions.defaultCommitDelay`.
    public var commitDelay: TimeInterval

    public init(
      path: String, maxEntries: Int = 500, maxAge: TimeInterval = 365 * 86_400,
      duplicateWindow: TimeInterval = 7 * 86_400, removedGrace: TimeInterval = 30 * 86_400,
      sweepInterval: TimeInterval = 3600, commitBatch: Int = 1, commitDelay: TimeInterval = 0
    ) {
      self.path = path
      self.maxEntries = maxEntries
      self.maxAge = maxAge
      self.duplicateWindow = duplicateWindow
      self.removedGrace = removedGrace
      self.sweepInterval = sweepInterval
      self.commitBatch = commitBatch
      self.commitDelay = commitDelay
    }

    /// True when the store is a PostgreSQL database shared by a fleet.
    public var isShared: Bool { url != nil }

    /// Where the store is, for logs and summaries: the SQLite path, or the URL without its
    /// password (`postgresql://user@host:port/db`).
    public var location: String { url.map { PostgresURL.redacted($0) } ?? path }
  }

  /// `[fleet]`: how instances sharing a PostgreSQL store split the crawl. Only used with
  /// `[store] url`.
  public struct Fleet: Sendable, Hashable {
    /// `lease_ttl`: how long a claimed source stays leased to the instance fetching it; an
    /// instance that dies loses its leases after this long. Must exceed the crawl timeout plus
    /// the shutdown grace, or a lease could expire under a fetch still running.
    public var leaseTTL: TimeInterval
    /// `heartbeat`: how often the instance records that it is alive.
    public var heartbeat: TimeInterval
    /// `instance`: this instance's id in the fleet; nil means host name, pid and a random suffix
    /// (chosen by the daemon at start-up).
    public var instance: String?

    public init(leaseTTL: TimeInterval = 120, heartbeat: TimeInterval = 5, instance: String? = nil)
    {
      self.leaseTTL = leaseTTL
      self.heartbeat = heartbeat
      self.instance = instance
    }

    /// Heartbeats older than this mean the instance is gone: three missed beats plus a lease.
    public var expireAfter: TimeInterval { 3 * heartbeat + leaseTTL }
  }

  /// `[websub]`: the built-in WebSub hub for our documents and the subscriber for our sources.
  public struct WebSub: Sendable, Hashable {
    /// `hub`: serve `POST /websub` and advertise it on every document.
    public var hub: Bool = true
    /// `subscribe`: subscribe at the hubs our sources advertise (per source `websub = false`).
    public var subscribe: Bool = true
    /// `ping`: external hubs told (`hub.mode=publish`) when a topic changes, also advertised.
    public var ping: [URL] = []
    /// Lease bounds in seconds: a requested lease is clamped into `lease_min…lease_max`;
    /// `lease_default` when none is asked for.
    public var leaseMin: TimeInterval = 3600
    public var leaseDefault: TimeInterval = 10 * 86_400
    public var leaseMax: TimeInterval = 30 * 86_400
    /// `allow_private_callbacks`: accept callbacks on loopback and private networks (an
    /// intranet, tests); off, the private-network guard refuses them.
    public var allowPrivateCallbacks: Bool = false
    /// `max_subscriptions` / `max_per_callback_host`: bounds on live subscriptions.
    public var maxSubscriptions: Int = 10_000
    public var maxPerCallbackHost: Int = 100
    /// `retry_for`: how long a failed delivery is retried (exponential back-off) before the
    /// subscription is marked failing.
    public var retryFor: TimeInterval = 3600
    /// `delivery_timeout`: one verification or delivery request.
    public var deliveryTimeout: TimeInterval = 10
    /// `poll_while_subscribed`: the poll interval of a source while its push subscription is
    /// verified (polling never stops).
    public var pollWhileSubscribed: TimeInterval = 6 * 3600

    public init() {}
  }

  /// `[feed]`: the merged feed's own metadata.
  public struct FeedInfo: Sendable, Hashable {
    public var title: String
    public var subtitle: String?
    public var author: String?
    /// Entries per page of the merged feed.
    public var entries: Int
    public var language: String

    public init(
      title: String = "clusterwire", subtitle: String? = nil, author: String? = nil,
      entries: Int = 50, language: String = "lt"
    ) {
      self.title = title
      self.subtitle = subtitle
      self.author = author
      self.entries = entries
      self.language = language
    }
  }

  /// `[crawl]`: politeness and limits. Durations in seconds, sizes in bytes.
  public struct Crawl: Sendable, Hashable {
    public var interval: TimeInterval
    public var timeout: TimeInterval
    public var connectTimeout: TimeInterval
    public var maxBody: Int
    public var perHost: Int
    public var concurrency: Int
    public var userAgent: String
    /// Cap of the exponential back-off after failures.
    public var backoffMax: TimeInterval
    /// On shutdown, how long in-flight fetches may run on before they are cancelled. Not read
    /// from the file; here because `[fleet] lease_ttl` is checked against it.
    public var shutdownGrace: TimeInterval

    public init(
      interval: TimeInterval = 1800, timeout: TimeInterval = 30, connectTimeout: TimeInterval = 10,
      maxBody: Int = 10 << 20, perHost: Int = 2, concurrency: Int = 16, userAgent: String,
      backoffMax: TimeInterval = 86_400, shutdownGrace: TimeInterval = 5
    ) {
      self.interval = interval
      self.timeout = timeout
      self.connectTimeout = connectTimeout
      self.maxBody = maxBody
      self.perHost = perHost
      self.concurrency = concurrency
      self.userAgent = userAgent
      self.backoffMax = backoffMax
      self.shutdownGrace = shutdownGrace
    }
  }

  /// `[log]`.
  public struct Log: Sendable, Hashable {
    /// One of `trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical` (swift-log's names).
    public var level: String
    public init(level: String = "info") { self.level = level }
  }

  public var server: Server
  public var store: Store
  public var feed: FeedInfo
  public var crawl: Crawl
  public var log: Log
  public var fleet: Fleet
  public var websub: WebSub
  /// All sources, main file first then drop-ins in sorted order, each in file order.
  public var sources: [SourceDefinition]
  /// Absolute paths of every file read (main first), e.g. for a reload to report.
  public var files: [String]

  public init(
    server: Server, store: Store, feed: FeedInfo, crawl: Crawl, log: Log,
    fleet: Fleet = Fleet(), websub: WebSub = WebSub(), sources: [SourceDefinition],
    files: [String]
  ) {
    self.server = server
    self.store = store
    self.feed = feed
    self.crawl = crawl
    self.log = log
    self.fleet = fleet
    self.websub = websub
    self.sources = sources
    self.files = files
  }

  /// The enabled sources: what the crawler should poll.
  public var enabledSources: [SourceDefinition] { sources.filter(\.enabled) }

  /// The human summary printed by `clusterwire check-config`.
  public func summary() -> String {
    var out: [String] = []
    out.append("listen:      \(server.listen)")
    out.append("base URL:    \(server.baseURL.absoluteString)")
    out.append("store:       \(store.location)")
    if let url = store.url {
      let password: String
      if let file = store.passwordFile {
        password = "password from \(file)"
      } else if PostgresURL.hasPassword(url) {
        password = "password in the URL"
      } else {
        password = "password from $PGPASSWORD (or none)"
      }
      out.append("             PostgreSQL, shared by a fleet; \(password)")
      out.append(
        "fleet:       lease \(ConfigUnits.formatDuration(fleet.leaseTTL)), heartbeat every "
          + "\(ConfigUnits.formatDuration(fleet.heartbeat)), instance "
          + "\(fleet.instance ?? "host-pid-random (default)")")
    }
    out.append(
      "retention:   \(store.maxEntries) entries per source, \(ConfigUnits.formatDuration(store.maxAge)) "
        + "after first seen (never what a source still serves), swept every "
        + "\(ConfigUnits.formatDuration(store.sweepInterval)); removed sources kept hidden "
        + "\(ConfigUnits.formatDuration(store.removedGrace)); "
        + "duplicates within \(ConfigUnits.formatDuration(store.duplicateWindow))")
    out.append(
      store.commitBatch <= 1
        ? "commits:     one write transaction per crawl result (group commit off)"
        : "commits:     up to \(store.commitBatch) crawl results per write transaction, "
          + (store.commitDelay > 0
            ? "waiting at most \(ConfigUnits.formatDuration(store.commitDelay)) for results still being prepared"
            : "never waiting for more"))
    out.append(
      "feed:        \"\(feed.title)\", \(feed.entries) entries per page, language \(feed.language)")
    out.append(
      "crawl:       every \(ConfigUnits.formatDuration(crawl.interval)), timeout "
        + "\(ConfigUnits.formatDuration(crawl.timeout)), max body \(ConfigUnits.formatSize(crawl.maxBody)), "
        + "\(crawl.concurrency) concurrent, \(crawl.perHost) per host")
    out.append("user agent:  \(crawl.userAgent)")
    var push: [String] = []
    push.append(websub.hub ? "hub at \(server.baseURL.absoluteString)websub" : "no hub")
    if !websub.ping.isEmpty {
      push.append("pings \(websub.ping.map(\.absoluteString).joined(separator: ", "))")
    }
    if websub.subscribe {
      let optedOut = sources.filter { $0.enabled && $0.kind == .feed && !$0.websub }.count
      push.append(
        "subscribes at the sources' hubs (polled every "
          + "\(ConfigUnits.formatDuration(websub.pollWhileSubscribed)) while pushed"
          + (optedOut > 0 ? ", \(optedOut) source\(optedOut == 1 ? "" : "s") polled only" : "")
          + ")")
    } else {
      push.append("sources polled only")
    }
    if websub.hub {
      push.append(
        "leases \(ConfigUnits.formatDuration(websub.leaseMin))–"
          + "\(ConfigUnits.formatDuration(websub.leaseMax))"
          + (websub.allowPrivateCallbacks ? ", private callbacks allowed" : ""))
    }
    out.append("websub:      \(push.joined(separator: "; "))")
    out.append("log level:   \(log.level)")
    let enabled = sources.filter(\.enabled)
    out.append(
      "sources:     \(sources.count) (\(enabled.count) enabled, \(sources.count - enabled.count) disabled)"
    )
    for kind in [SourceKind.feed, .html] {
      let all = sources.filter { $0.kind == kind }
      guard !all.isEmpty else { continue }
      let on = all.filter(\.enabled).count
      out.append(
        "  \(kind.rawValue):\(String(repeating: " ", count: 10 - kind.rawValue.count))\(on) enabled, \(all.count - on) disabled"
      )
    }
    let filtering = sources.filter { !($0.filter?.isEmpty ?? true) }
    if !filtering.isEmpty {
      out.append("filters:")
      for s in filtering {
        guard let f = s.filter else { continue }
        var parts: [String] = []
        if !f.block.isEmpty { parts.append("block \(f.block.count)") }
        if !f.keep.isEmpty { parts.append("keep only \(f.keep.count)") }
        out.append("  \(s.id): \(parts.joined(separator: ", ")) pattern(s)")
      }
    }
    var byCategory: [String: (enabled: Int, disabled: Int)] = [:]
    for source in sources {
      for category in source.categories.isEmpty ? ["(none)"] : source.categories {
        var counts = byCategory[category, default: (0, 0)]
        if source.enabled { counts.enabled += 1 } else { counts.disabled += 1 }
        byCategory[category] = counts
      }
    }
    if !byCategory.isEmpty {
      out.append("categories:")
      for (category, counts) in byCategory.sorted(by: { $0.key < $1.key }) {
        var line = "  \(category): \(counts.enabled) enabled"
        if counts.disabled > 0 { line += ", \(counts.disabled) disabled" }
        out.append(line)
      }
    }
    out.append("files read:")
    out += files.map { "  \($0)" }
    return out.joined(separator: "\n")
  }
}
