import ArgumentParser
import AsyncHTTPClient
import Config
import Crawler
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging
import Metrics
import Prometheus
import Publisher
import Server
import ServiceLifecycle
import UnixSignals
import WebSub

/// `clusterwire run`: the long-running daemon.
struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Crawl the configured sources forever and serve the merged feeds."
  )

  @Option(help: "The main config file.") var config: String
  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    let (settings, logger) = logging.start(config: config)
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

    let daemon: Daemon
    do {
      daemon = try await Daemon(
        configPath: config, settings: settings, registry: registry, logger: logger)
    } catch {
      fail("cannot start: \(error)")
    }
    try await daemon.run()
  }
}

/// `clusterwire crawl --once`: one full crawl, then exit (cron users, tests).
struct CrawlCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "crawl", abstract: "Crawl every enabled source once and exit.")

  @Option(help: "The main config file.") var config: String
  @Flag(help: "Run one full cycle and exit (the only mode; kept explicit for scripts).") var once =
    false
  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    let (settings, logger) = logging.start(config: config)
    let store: any FeedStore
    do {
      store = try await Wiring.openStore(settings, logger: logger)
    } catch {
      fail("cannot open the store \(settings.store.location): \(error)")
    }
    if settings.store.isShared {
      logger.warning(
        "crawl --once fetches every source now, whatever the fleet's leases and schedule")
    }
    let client = Wiring.makeHTTPClient(settings)
    let crawler = Crawler(
      store: store, options: Wiring.crawlerOptions(settings), logger: logger, httpClient: client)
    do {
      try await crawler.setSources(settings.sources)
      let report = await crawler.crawlOnce()
      let sweep = try await store.sweep(at: Date())
      Wiring.logSweep(sweep, logger: logger)
      print(
        "crawled \(report.sources) sources in \(String(format: "%.1f", report.duration)) s: "
          + "\(report.fetched) fetched, \(report.notModified) not modified, \(report.failed) failed, "
          + "\(report.gone) gone, \(report.newEntries) new entries"
          + (sweep.removed > 0 ? ", \(sweep.removed) removed by retention" : ""))
    } catch {
      try? await client.shutdown()
      try? await store.close()
      fail("crawl failed: \(error)")
    }
    try await client.shutdown()
    try await store.close()
  }
}

/// Everything `run` owns, wired together once; reload swaps settings without a restart.
final class Daemon: Sendable {
  let configPath: String
  let logger: Logger
  let store: any FeedStore
  /// The same store when it is shared by a fleet (PostgreSQL): heartbeat, change notices.
  let shared: (any SharedFeedStore)?
  let client: HTTPClient
  let crawler: Crawler
  let publisher: Publisher
  /// The built-in WebSub hub; nil with `[websub] hub = false`.
  let hub: WebSubHub?
  /// Our subscriptions at the sources' hubs; nil when the store keeps none.
  let subscriber: WebSubSubscriber?
  let notifier = SystemdNotifier()
  let registry: PrometheusCollectorRegistry
  let settingsBox: LockedBox<Settings>
  /// `Settings.configHash` of the running configuration (computed once per load).
  let configHashBox: LockedBox<String>
  let startedAt = Date()

  init(
    configPath: String, settings: Settings, registry: PrometheusCollectorRegistry, logger: Logger
  )
    async throws
  {
    self.configPath = configPath
    self.logger = logger
    self.registry = registry
    self.settingsBox = LockedBox(settings)
    self.configHashBox = LockedBox(settings.configHash)
    store = try await Wiring.openStore(settings, logger: logger)
    shared = store as? any SharedFeedStore
    if let shared {
      logger.info(
        "joined the fleet",
        metadata: [
          "instance": "\(shared.instanceID)", "store": "\(settings.store.location)",
          "config_hash": "\(configHashBox.value.prefix(12))",
        ])
    }
    client = Wiring.makeHTTPClient(settings)
    crawler = Crawler(
      store: store, options: Wiring.crawlerOptions(settings), logger: logger, httpClient: client)
    try await crawler.setSources(settings.sources)
    // Per-source gauges from the store: a restart does not blank them until the next fetch.
    try await crawler.publishStoredMetrics()
    publisher = Publisher(store: store, options: Wiring.publisherOptions(settings))
    hub = WebSubWiring.makeHub(
      settings, store: store, publisher: publisher, client: client, logger: logger)
    subscriber = await WebSubWiring.makeSubscriber(
      settings, store: store, crawler: crawler, client: client, logger: logger)
  }

  /// One retention sweep (start-up, then every `[store] sweep_interval`, and after a reload):
  /// what it removed is logged per source and published at once.
  func sweep() async {
    do {
      let result = try await store.sweep(at: Date())
      Wiring.logSweep(result, logger: logger)
      if result.removed > 0 { await publisher.invalidate() }
      try await crawler.publishStoredMetrics(health: false)
    } catch {
      logger.error("retention sweep failed: \(error)")
    }
  }

  /// `POST /websub` for the server, when the hub is on.
  var hubHandler: (@Sendable (String) async -> (status: Int, body: String))? {
    guard let hub else { return nil }
    return { body in await hub.handle(form: body) }
  }

  /// `/websub/callback/…` for the server, when the subscriber exists.
  var callbackHandler: (@Sendable (CallbackRequest) async -> CallbackAnswer)? {
    guard let subscriber else { return nil }
    return { request in await subscriber.callback(request) }
  }

  func run() async throws {
    let settings = settingsBox.value
    let server = makeServer(
      publisher: publisher,
      options: Wiring.serverOptions(settings),
      logger: logger,
      readiness: { [self] in await self.readiness() },
      metrics: { [self] in await self.metricsText() },
      onRunning: { [self] port in await self.serving(port: port) },
      hub: hubHandler,
      callback: callbackHandler,
      callbackMaxBody: settings.crawl.maxBody)
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
      .init(service: server),
      .init(service: CrawlerService(daemon: self)),
      .init(service: ReloadService(daemon: self)),
      .init(service: HeartbeatService(daemon: self)),
      .init(service: SweepService(daemon: self)),
    ]
    if let hub {
      services.append(
        .init(
          service: WebSubHubService(
            hub: hub, store: store, publisher: publisher, base: settings.server.baseURL)))
    }
    if let subscriber {
      services.append(
        .init(
          service: WebSubSubscriberService(
            subscriber: subscriber, crawler: crawler,
            pollWhileSubscribed: settings.websub.pollWhileSubscribed)))
    }
    if let shared {
      services.append(.init(service: FleetHeartbeatService(daemon: self, store: shared)))
      services.append(.init(service: StoreChangeService(daemon: self, store: shared)))
    }
    let group = ServiceGroup(
      configuration: .init(
        services: services,
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    do {
      try await group.run()
    } catch {
      logger.error("stopped on error: \(error)")
      await shutdown()
      throw ExitCode.failure
    }
    await shutdown()
  }

  private func shutdown() async {
    try? await client.shutdown()
    try? await store.close()
    logger.info("stopped")
  }

  private func serving(port: Int) async {
    let settings = settingsBox.value
    let host =
      settings.server.host.contains(":") ? "[\(settings.server.host)]" : settings.server.host
    let local = "http://\(host):\(port)/"
    logger.info(
      "serving",
      metadata: [
        "url": "\(local)", "feed": "\(local)feed.atom", "sources": "\(settings.sources.count)",
      ])
    if !notifier.isActive {
      // A person at a terminal: say where to look.
      FileHandle.standardOutput.write(
        Data(
          "clusterwire is running.\n  merged feed: \(local)feed.atom\n  page:        \(local)\n"
            .utf8))
    }
    notifier.notify("READY=1", "STATUS=\(await statusLine())")
  }

  /// `/readyz`: the store answers (a shared one: its database can be reached now) and the
  /// scheduler loop made progress recently.
  func readiness() async -> (ready: Bool, reason: String) {
    do {
      if let shared {
        try await shared.ping()
      } else {
        _ = try await store.changeToken()
      }
    } catch {
      return (false, "store unavailable: \(error)")
    }
    let stalled = Date().timeIntervalSince(crawler.lastProgress)
    if stalled > stallLimit {
      return (false, "scheduler stalled for \(Int(stalled)) s")
    }
    return (true, "ok")
  }

  /// The scheduler loop ticks every second while healthy; after this long without a tick,
  /// `/readyz` fails and the watchdog keep-alives stop. Under systemd it is the watchdog period
  /// itself, so a stuck crawler is restarted within about two periods.
  var stallLimit: TimeInterval {
    guard let half = notifier.watchdogInterval else { return 120 }
    let period = 2 * Double(half.components.seconds) + Double(half.components.attoseconds) / 5e17
    return max(10, min(120, period))
  }

  func metricsText() async -> String {
    await updateStoreGauges()
    // The per-source series come from the crawler's table, not from per-source registry handles
    // (see `SourceMetrics`: those cost O(sources) each to register).
    return registry.emitToString() + crawler.sourceMetrics.exposition()
  }

  /// Sets the store gauges; returns the counts it read (nil when the store did not answer).
  @discardableResult
  func updateStoreGauges() async -> StoreCounts? {
    guard let counts = try? await store.counts() else { return nil }
    Gauge(label: "clusterwire_entries_stored").record(counts.entries)
    Gauge(label: "clusterwire_duplicate_groups").record(counts.duplicateGroups)
    Gauge(label: "clusterwire_merged_groups").record(counts.mergedGroups)
    Gauge(label: "clusterwire_sources").record(counts.sources)
    return counts
  }

  /// `STATUS=` text: sources ok/failing and when the next crawl is due. From one aggregate
  /// query (`counts`), never every source's row: it is sent every 10 s at any network size.
  func statusLine(_ counts: StoreCounts? = nil) async -> String {
    let read: StoreCounts?
    if let counts { read = counts } else { read = try? await store.counts() }
    guard let counts = read else { return "store unavailable" }
    var line =
      "\(counts.sources - counts.failingSources) sources ok, \(counts.failingSources) failing"
    if let next = counts.nextDue {
      line += ", next crawl in \(max(0, Int(next.timeIntervalSinceNow))) s"
    }
    return line
  }

  /// SIGHUP: re-read the config; a broken one is rejected and the old one keeps running.
  func reload() async {
    notifier.notify("RELOADING=1", "MONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds())")
    var fresh: Settings
    do {
      fresh = try ConfigLoader.load(path: configPath)
    } catch {
      logger.error(
        "reload rejected, keeping the running configuration", metadata: ["errors": "\(error)"])
      notifier.notify(
        "READY=1", "STATUS=reload rejected: \(error)".replacingOccurrences(of: "\n", with: "; "))
      return
    }
    let old = settingsBox.value
    if fresh.server.host != old.server.host || fresh.server.port != old.server.port {
      logger.warning("listen address changes take effect on restart")
    }
    if fresh.store.path != old.store.path || fresh.store.url != old.store.url
      || fresh.store.passwordFile != old.store.passwordFile
    {
      logger.warning("store changes (path, url, password_file) take effect on restart")
    }
    if fresh.websub != old.websub {
      // The hub runs with the settings it started with, and documents advertise what runs.
      logger.warning("[websub] changes take effect on restart")
      fresh.websub = old.websub
    }
    if fresh.fleet.instance != old.fleet.instance {
      logger.warning("[fleet] instance changes take effect on restart")
    }
    do {
      Wiring.updateStoreOptions(store, Wiring.storeOptions(fresh))
      await crawler.updateOptions(Wiring.crawlerOptions(fresh))
      try await crawler.setSources(fresh.sources)
      await subscriber?.setSources(WebSubWiring.pushSources(fresh))
      await publisher.updateOptions(Wiring.publisherOptions(fresh))
      await publisher.invalidate()
      settingsBox.value = fresh
      configHashBox.value = fresh.configHash
      logger.info(
        "configuration reloaded",
        metadata: [
          "sources": "\(fresh.sources.count)", "config_hash": "\(configHashBox.value.prefix(12))",
        ])
      // New retention limits apply now, not at the next tick.
      await sweep()
    } catch {
      logger.error("reload failed while applying sources: \(error)")
    }
    notifier.notify("READY=1", "STATUS=\(await statusLine())")
  }
}

/// Runs the scheduler until graceful shutdown; the crawler bounds how long in-flight fetches may take.
struct CrawlerService: Service {
  let daemon: Daemon
  func run() async throws {
    try await cancelWhenGracefulShutdown {
      try await daemon.crawler.run()
    }
    daemon.notifier.notify("STOPPING=1")
  }
}

/// Retention on a clock: once at start-up, then every `[store] sweep_interval`, whatever the
/// sources' fetches return (304, failures and 410 included).
struct SweepService: Service {
  let daemon: Daemon
  func run() async throws {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      await daemon.sweep()
      let interval = max(1, daemon.settingsBox.value.store.sweepInterval)
      try? await cancelWhenGracefulShutdown {
        try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
      }
    }
  }
}

/// Turns SIGHUP into reloads.
struct ReloadService: Service {
  let daemon: Daemon
  func run() async throws {
    let signals = await UnixSignalsSequence(trapping: .sighup)
    for await _ in signals.cancelOnGracefulShutdown() {
      daemon.logger.info("SIGHUP: reloading configuration")
      await daemon.reload()
    }
  }
}

/// Watchdog keep-alives (only while the scheduler makes progress), STATUS= updates, store gauges.
struct HeartbeatService: Service {
  let daemon: Daemon
  func run() async throws {
    let interval = daemon.notifier.watchdogInterval ?? .seconds(10)
    var lastStatus = ContinuousClock.now - .seconds(3600)
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      let progress = Date().timeIntervalSince(daemon.crawler.lastProgress)
      if daemon.notifier.watchdogInterval != nil {
        if progress < daemon.stallLimit {
          daemon.notifier.notify("WATCHDOG=1")
        } else {
          daemon.logger.critical(
            "scheduler made no progress for \(Int(progress)) s: withholding the watchdog keep-alive"
          )
        }
      }
      if ContinuousClock.now - lastStatus > .seconds(10) {
        lastStatus = ContinuousClock.now
        let counts = await daemon.updateStoreGauges()
        daemon.notifier.notify("STATUS=\(await daemon.statusLine(counts))")
      }
      // Woken by a graceful shutdown: services stop one after the other, so a plain sleep
      // here delayed every SIGTERM by up to ten seconds.
      try? await cancelWhenGracefulShutdown {
        try await Task.sleep(for: min(interval, .seconds(10)))
      }
    }
  }
}

/// A small lock-protected box for state shared between services.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var _value: Value
  init(_ value: Value) { _value = value }
  var value: Value {
    get { lock.withLock { _value } }
    set { lock.withLock { _value = newValue } }
  }
}

/// Fleet membership (a shared store only): a heartbeat every `[fleet] heartbeat` with the
/// running config's hash; `FleetMembership` compares it with the other live instances' (log
/// line, `clusterwire_fleet_config_mismatch`, `clusterwire_fleet_instances`).
struct FleetHeartbeatService: Service {
  let daemon: Daemon
  let store: any SharedFeedStore

  func run() async throws {
    let membership = FleetMembership(store: store, logger: daemon.logger)
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      let settings = daemon.settingsBox.value
      await membership.beat(
        configHash: daemon.configHashBox.value, expireAfter: settings.fleet.expireAfter)
      let interval = max(0.1, settings.fleet.heartbeat)
      try? await cancelWhenGracefulShutdown {
        try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
      }
    }
  }
}

/// A shared store announces every commit of every instance (`LISTEN`/`NOTIFY`): the publisher
/// looks at the change token at once and re-renders, instead of noticing on its own clock.
struct StoreChangeService: Service {
  let daemon: Daemon
  let store: any SharedFeedStore

  func run() async throws {
    for await _ in store.changeNotifications().cancelOnGracefulShutdown() {
      await daemon.publisher.invalidate()
    }
  }
}
