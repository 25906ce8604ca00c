import AsyncHTTPClient
import Config
import Crawler
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging
import Publisher
import Server

/// Settings (the config file's view) → each stage's own options. Keeping this mapping here keeps
/// the stages independent of the config format.
enum Wiring {
  static func loadSettings(_ path: String) -> Settings {
    do {
      return try ConfigLoader.load(path: path)
    } catch {
      fail("invalid configuration:\n\(error)")
    }
  }

  /// What was loaded, at debug: which files, how many sources, where the store is.
  static func logLoaded(_ s: Settings, logger: Logger) {
    logger.debug(
      "configuration loaded",
      metadata: [
        "files": "\(s.files.joined(separator: ","))", "sources": "\(s.sources.count)",
        "enabled": "\(s.enabledSources.count)", "store": "\(s.store.location)",
      ])
  }

  static func storeOptions(_ s: Settings) -> StoreOptions {
    StoreOptions(
      maxEntriesPerSource: s.store.maxEntries, maxAge: s.store.maxAge,
      duplicateWindow: s.store.duplicateWindow, inactiveGrace: s.store.removedGrace,
      commitBatch: s.store.commitBatch, commitDelay: s.store.commitDelay)
  }

  /// One info line per source that lost entries to retention, saying why.
  static func logSweep(_ sweep: RetentionSweep, logger: Logger) {
    for r in sweep.sources {
      var why: [String] = []
      if r.byAge > 0 { why.append("\(r.byAge) first seen longer ago than max_age") }
      if r.byCount > 0 { why.append("\(r.byCount) over max_entries") }
      if r.purged > 0 {
        why.append("\(r.purged) of a source removed longer ago than removed_grace")
      }
      logger.info(
        "retention removed \(r.total) entries: \(why.joined(separator: ", "))",
        metadata: [
          "source": "\(r.sourceID)", "by_age": "\(r.byAge)", "by_count": "\(r.byCount)",
          "purged": "\(r.purged)",
        ])
    }
    if sweep.tombstonesPruned > 0 {
      logger.debug("retention pruned \(sweep.tombstonesPruned) tombstones")
    }
  }

  /// The configured store: the SQLite file, or (with `[store] url`) the PostgreSQL database a
  /// fleet shares, joined as instance `instanceID` (`instanceID(_:)` by default).
  /// The configured store for a one-off admin command (`status`, `export`, `resanitize`), its
  /// fleet instance id naming the command; exits with the reason when it cannot be opened.
  static func openAdminStore(_ s: Settings, command: String) async -> any FeedStore {
    do {
      return try await openStore(
        s, logger: Logger(label: "clusterwire"), instanceID: "\(command)-\(defaultInstanceID())")
    } catch {
      fail("cannot open the store \(s.store.location): \(error)")
    }
  }

  static func openStore(_ s: Settings, logger: Logger, instanceID: String? = nil) async throws
    -> any FeedStore
  {
    guard s.store.isShared else {
      return try SQLiteFeedStore(path: s.store.path, options: storeOptions(s))
    }
    return try await PostgresWiring.openPostgres(
      s, instanceID: instanceID ?? Self.instanceID(s), logger: logger)
  }

  /// Reloaded retention limits, for whichever store is open.
  static func updateStoreOptions(_ store: any FeedStore, _ options: StoreOptions) {
    if let sqlite = store as? SQLiteFeedStore {
      sqlite.updateOptions(options)
    } else if !PostgresWiring.updateOptions(store, options) {
      Logger(label: "clusterwire").warning("store options changes take effect on restart")
    }
  }

  /// This process's id in the fleet: `[fleet] instance`, else `defaultInstanceID()`.
  static func instanceID(_ s: Settings) -> String { s.fleet.instance ?? defaultInstanceID() }

  /// `host-pid-random`: unique per process even when two instances share a host (containers
  /// with the same host name, a restart reusing a pid). Computed once per process.
  static func defaultInstanceID() -> String { processInstanceID }

  private static let processInstanceID = PostgresWiring.defaultInstanceID()

  static func crawlerOptions(_ s: Settings) -> CrawlerOptions {
    var o = CrawlerOptions(userAgent: s.crawl.userAgent)
    o.timeout = s.crawl.timeout
    o.connectTimeout = s.crawl.connectTimeout
    o.maxBody = s.crawl.maxBody
    o.perHost = s.crawl.perHost
    o.concurrency = s.crawl.concurrency
    o.backoffCap = s.crawl.backoffMax
    o.shutdownGrace = s.crawl.shutdownGrace
    o.leaseTTL = s.fleet.leaseTTL
    return o
  }

  /// The listen address and the connection limits of `[server]`.
  static func serverOptions(_ s: Settings) -> ServerOptions {
    ServerOptions(
      host: s.server.host, port: s.server.port, idleTimeout: .seconds(s.server.idleTimeout),
      requestHeadTimeout: .seconds(s.server.requestHeadTimeout),
      maxConnections: s.server.maxConnections)
  }

  static func publisherOptions(_ s: Settings) -> PublisherOptions {
    PublisherOptions(
      baseURL: s.server.baseURL, title: s.feed.title, subtitle: s.feed.subtitle,
      author: s.feed.author ?? s.feed.title, entriesPerPage: s.feed.entries,
      language: s.feed.language,
      generatorVersion: clusterwireVersion, hubs: WebSubWiring.advertisedHubs(s))
  }

  /// One HTTP client for the process, configured by the crawler (which follows redirects itself,
  /// to record moves and detect loops, and caps decompression at the body limit).
  static func makeHTTPClient(_ s: Settings) -> HTTPClient {
    HTTPClient(
      eventLoopGroupProvider: .singleton,
      configuration: crawlerOptions(s).httpClientConfiguration())
  }
}
