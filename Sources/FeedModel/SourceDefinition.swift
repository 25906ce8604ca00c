import Foundation

/// How a source is read: a syndication feed, or an HTML page scraped with XPath selectors.
public enum SourceKind: String, Sendable, Hashable, Codable {
  case feed
  case html
}

/// XPath 1.0 selectors for an HTML news listing. All but `item` are relative to each item node.
public struct HTMLSelectors: Sendable, Hashable, Codable {
  public var item: String
  public var title: String
  public var link: String
  public var date: String?
  public var summary: String?
  public var content: String?
  public var author: String?
  public var categories: String?
  public var id: String?
  /// Month names to try: `lt`, `en`, ….
  public var dateLocale: String
  /// Optional explicit pattern (e.g. `yyyy-MM-dd`); empty/nil tries the locale's usual forms.
  public var dateFormat: String?
  /// IANA zone the page's dates are in (they rarely carry one).
  public var timeZone: String

  public init(
    item: String, title: String, link: String, date: String? = nil, summary: String? = nil,
    content: String? = nil, author: String? = nil, categories: String? = nil, id: String? = nil,
    dateLocale: String = "lt", dateFormat: String? = nil, timeZone: String = "Europe/Vilnius"
  ) {
    self.item = item
    self.title = title
    self.link = link
    self.date = date
    self.summary = summary
    self.content = content
    self.author = author
    self.categories = categories
    self.id = id
    self.dateLocale = dateLocale
    self.dateFormat = dateFormat
    self.timeZone = timeZone
  }
}

/// One source as the admin configured it. Shared by the crawler, the store and the publisher so
/// that none of them depends on the config file format.
public struct SourceDefinition: Sendable, Hashable, Codable {
  /// Stable key, `[a-z0-9-]+`.
  public var id: String
  /// `http`, `https` or `file` URL.
  public var url: String
  public var kind: SourceKind
  /// Overrides the feed's own title when set.
  public var title: String?
  /// Sector slugs; they drive `/categories/{slug}.atom`.
  public var categories: [String]
  /// Higher wins when the same story comes from several sources.
  public var priority: Int
  /// Poll interval in seconds (the per-source override, or the global one).
  public var interval: TimeInterval
  public var enabled: Bool
  /// Per-source User-Agent override.
  public var userAgent: String?
  /// Language to assume when the feed declares none (e.g. `lt`).
  public var language: String?
  /// Required when `kind == .html`.
  public var selectors: HTMLSelectors?
  /// `websub`: subscribe at the hub the source's feed advertises (WebSub) and take its pushes;
  /// false polls only.
  public var websub: Bool
  /// `[source.filter]`: entries it refuses are stored but never published; nil publishes all.
  public var filter: EntryFilter?

  public init(
    id: String, url: String, kind: SourceKind = .feed, title: String? = nil,
    categories: [String] = [], priority: Int = 0, interval: TimeInterval = 1800,
    enabled: Bool = true, userAgent: String? = nil, language: String? = nil,
    selectors: HTMLSelectors? = nil, websub: Bool = true, filter: EntryFilter? = nil
  ) {
    self.id = id
    self.url = url
    self.kind = kind
    self.title = title
    self.categories = categories
    self.priority = priority
    self.interval = interval
    self.enabled = enabled
    self.userAgent = userAgent
    self.language = language
    self.selectors = selectors
    self.websub = websub
    self.filter = filter
  }
}

extension SourceDefinition {
  /// The host that per-host politeness (`per_host`) counts against: the URL's host, lower-cased;
  /// nil for `file://` and unparseable URLs. One rule for the crawler and the fleet's claims.
  public static func hostKey(_ url: String) -> String? {
    guard let parsed = URL(string: url), !parsed.isFileURL else { return nil }
    return parsed.host?.lowercased()
  }

  public var hostKey: String? { Self.hostKey(url) }
}
