import Crypto
import FeedModel
import Foundation

extension Settings {
  /// A stable SHA-256 (lower-case hex) of everything in the configuration that changes what is
  /// fetched or published: the sources (sorted by id, every field), the public base URL, the
  /// merged feed's metadata, crawl politeness, retention and the lease TTL. Instances of a fleet
  /// publish it with their heartbeat, so a fleet running two configurations is noticed.
  ///
  /// Left out on purpose, because they may differ between machines of one fleet without
  /// changing a byte of output: the listen address and connection limits, the log level, the
  /// store URL and password file, the heartbeat, the instance id, concurrency (a machine's
  /// size), the sweep interval and the list of files read (their names and directories).
  public var configHash: String {
    var lines: [String] = ["clusterwire-config-hash 1"]
    func add(_ key: String, _ value: String?) {
      lines.append("\(key)=\(value.map { String(reflecting: $0) } ?? "-")")
    }
    func add(_ key: String, _ value: Double) { add(key, String(value)) }
    func add(_ key: String, _ value: Int) { add(key, String(value)) }
    add("server.base_url", server.baseURL.absoluteString)
    add("feed.title", feed.title)
    add("feed.subtitle", feed.subtitle)
    add("feed.author", feed.author)
    add("feed.entries", feed.entries)
    add("feed.language", feed.language)
    add("crawl.interval", crawl.interval)
    add("crawl.timeout", crawl.timeout)
    add("crawl.connect_timeout", crawl.connectTimeout)
    add("crawl.max_body", crawl.maxBody)
    add("crawl.per_host", crawl.perHost)
    add("crawl.user_agent", crawl.userAgent)
    add("crawl.backoff_max", crawl.backoffMax)
    add("store.max_entries", store.maxEntries)
    add("store.max_age", store.maxAge)
    add("store.duplicate_window", store.duplicateWindow)
    add("store.removed_grace", store.removedGrace)
    add("fleet.lease_ttl", fleet.leaseTTL)
    // The hubs are in every published document: a fleet must agree on them.
    add("websub.hub", websub.hub ? "true" : "false")
    add("websub.ping", websub.ping.map(\.absoluteString).joined(separator: " "))
    add("websub.subscribe", websub.subscribe ? "true" : "false")
    add("websub.lease", "\(websub.leaseMin) \(websub.leaseDefault) \(websub.leaseMax)")
    add("websub.poll_while_subscribed", websub.pollWhileSubscribed)
    for source in sources.sorted(by: { $0.id < $1.id }) {
      let p = "source.\(source.id)."
      add(p + "url", source.url)
      add(p + "kind", source.kind.rawValue)
      add(p + "title", source.title)
      add(p + "categories", source.categories.map { String(reflecting: $0) }.joined(separator: ","))
      add(p + "priority", source.priority)
      add(p + "interval", source.interval)
      add(p + "enabled", source.enabled ? "true" : "false")
      add(p + "user_agent", source.userAgent)
      add(p + "language", source.language)
      if !source.websub { add(p + "websub", "false") }
      if let s = source.selectors {
        add(p + "select.item", s.item)
        add(p + "select.title", s.title)
        add(p + "select.link", s.link)
        add(p + "select.date", s.date)
        add(p + "select.summary", s.summary)
        add(p + "select.content", s.content)
        add(p + "select.author", s.author)
        add(p + "select.categories", s.categories)
        add(p + "select.id", s.id)
        add(p + "date.locale", s.dateLocale)
        add(p + "date.format", s.dateFormat)
        add(p + "date.timezone", s.timeZone)
      }
    }
    let digest = SHA256.hash(data: Data(lines.joined(separator: "\n").utf8))
    return digest.map { byte in
      let hex = String(byte, radix: 16)
      return byte < 16 ? "0" + hex : hex
    }.joined()
  }
}
