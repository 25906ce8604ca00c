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
        "enabled": "\(s.enabledSources.count)", "store": "\(s.store.path)",
      ])
  }

  static func storeOptions(_ s: Settings) -> StoreOptions {
    StoreOptions(
      maxEntriesPerSource: s.store.maxEntries, maxAge: s.store.maxAge,
      duplicateWindow: s.store.duplicateWindow, inactiveGrace: s.store.removedGrace)
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

  static func openStore(_ s: Settings) throws -> SQLiteFeedStore {
    try SQLiteFeedStore(path: s.store.path, options: storeOptions(s))
  }

  static func crawlerOptions(_ s: Settings) -> CrawlerOptions {
    var o = CrawlerOptions(userAgent: s.crawl.userAgent)
    o.timeout = s.crawl.timeout
    o.connectTimeout = s.crawl.connectTimeout
    o.maxBody = s.crawl.maxBody
    o.perHost = s.crawl.perHost
    o.concurrency = s.crawl.concurrency
    o.backoffCap = s.crawl.backoffMax
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
      generatorVersion: clusterwireVersion)
  }

  /// One HTTP client for the process, configured by the crawler (which follows redirects itself,
  /// to record moves and detect loops, and caps decompression at the body limit).
  static func makeHTTPClient(_ s: Settings) -> HTTPClient {
    HTTPClient(
      eventLoopGroupProvider: .singleton,
      configuration: crawlerOptions(s).httpClientConfiguration())
  }
}
