import Foundation

/// The syndication format a document was recognised as, from its content (never its name).
public enum FeedFormat: String, Sendable, Codable, Hashable {
  case rss20, rss10, rss09x, atom10, atom03, jsonfeed
  /// An HTML page scraped with XPath selectors (a source of kind `html`).
  case html
}

/// A person construct (Atom `author`/`contributor`, RSS `author`/`dc:creator`, JSON Feed `authors`).
public struct Person: Sendable, Hashable, Codable {
  public var name: String?
  public var email: String?
  public var uri: String?
  public init(name: String? = nil, email: String? = nil, uri: String? = nil) {
    self.name = name
    self.email = email
    self.uri = uri
  }
}

/// A category or tag. RSS `category@domain` maps to `scheme`.
public struct Category: Sendable, Hashable, Codable {
  public var term: String
  public var scheme: String?
  public var label: String?
  public init(term: String, scheme: String? = nil, label: String? = nil) {
    self.term = term
    self.scheme = scheme
    self.label = label
  }
}

/// A link with its relation. `href` is always absolute after parsing when a base was known.
public struct Link: Sendable, Hashable, Codable {
  public var href: String
  public var rel: String?
  public var type: String?
  public var title: String?
  public var length: Int64?
  public init(
    href: String, rel: String? = nil, type: String? = nil, title: String? = nil,
    length: Int64? = nil
  ) {
    self.href = href
    self.rel = rel
    self.type = type
    self.title = title
    self.length = length
  }
}

/// A media attachment (RSS `enclosure`, `media:content`, Atom `link rel="enclosure"`, JSON `attachments`).
public struct Enclosure: Sendable, Hashable, Codable {
  public var url: String
  public var type: String?
  public var length: Int64?
  public init(url: String, type: String? = nil, length: Int64? = nil) {
    self.url = url
    self.type = type
    self.length = length
  }
}

/// A text construct. Atom `xhtml` is serialised and kept as `html`, so consumers handle two kinds.
public struct Text: Sendable, Hashable, Codable {
  public enum Kind: String, Sendable, Hashable, Codable {
    case text, html
  }
  public var type: Kind
  public var value: String
  public init(type: Kind, value: String) {
    self.type = type
    self.value = value
  }
  public static func text(_ value: String) -> Text { Text(type: .text, value: value) }
  public static func html(_ value: String) -> Text { Text(type: .html, value: value) }
}

/// The feed an entry says it came from (Atom `atom:source`, RSS `source`).
public struct EntrySource: Sendable, Hashable, Codable {
  public var id: String?
  public var title: String?
  public var link: String?
  public var updated: Date?
  public var icon: String?
  public var rights: String?
  public init(
    id: String? = nil, title: String? = nil, link: String? = nil, updated: Date? = nil,
    icon: String? = nil, rights: String? = nil
  ) {
    self.id = id
    self.title = title
    self.link = link
    self.updated = updated
    self.icon = icon
    self.rights = rights
  }
}

/// One item of a feed, normalised: dates in UTC, URLs absolute, HTML sanitised, title plain text.
public struct Entry: Sendable, Hashable, Codable {
  /// Atom `id`, RSS `guid`, JSON Feed `id`; absent when the document gave none.
  public var id: String?
  /// Plain text (markup removed, entities decoded, whitespace collapsed).
  public var title: String?
  /// The preferred alternate link (absolute).
  public var link: String?
  public var links: [Link]
  public var published: Date?
  public var updated: Date?
  /// Sanitised when `.html`.
  public var summary: Text?
  /// Sanitised when `.html`.
  public var content: Text?
  /// Atom out-of-line content (`<content src="…" type="…"/>`, RFC 4287 4.1.3.2): the entry's
  /// content lives at `href` (absolute), of MIME type `type`; `content` is nil then.
  public var contentSource: Link?
  public var authors: [Person]
  public var contributors: [Person]
  public var categories: [Category]
  public var enclosures: [Enclosure]
  public var source: EntrySource?
  /// `xml:lang` / `dc:language` of the entry when it differs from the feed's.
  public var language: String?

  public init(
    id: String? = nil, title: String? = nil, link: String? = nil, links: [Link] = [],
    published: Date? = nil, updated: Date? = nil, summary: Text? = nil, content: Text? = nil,
    contentSource: Link? = nil, authors: [Person] = [], contributors: [Person] = [],
    categories: [Category] = [],
    enclosures: [Enclosure] = [], source: EntrySource? = nil, language: String? = nil
  ) {
    self.id = id
    self.title = title
    self.link = link
    self.links = links
    self.published = published
    self.updated = updated
    self.summary = summary
    self.content = content
    self.contentSource = contentSource
    self.authors = authors
    self.contributors = contributors
    self.categories = categories
    self.enclosures = enclosures
    self.source = source
    self.language = language
  }
}

/// A whole feed document, normalised.
public struct Feed: Sendable, Hashable, Codable {
  /// Plain text.
  public var title: String?
  /// Plain text.
  public var subtitle: String?
  /// The feed's alternate (HTML) link, absolute.
  public var link: String?
  /// The feed's `rel="self"` link when it declares one.
  public var selfLink: String?
  public var id: String?
  public var updated: Date?
  public var language: String?
  public var authors: [Person]
  public var categories: [Category]
  public var icon: String?
  public var logo: String?
  /// Plain text.
  public var rights: String?
  public var generator: String?
  /// RSS `ttl` in minutes: a scheduling hint, never polled sooner than this.
  public var ttlMinutes: Int?
  public var entries: [Entry]

  public init(
    title: String? = nil, subtitle: String? = nil, link: String? = nil, selfLink: String? = nil,
    id: String? = nil, updated: Date? = nil, language: String? = nil, authors: [Person] = [],
    categories: [Category] = [], icon: String? = nil, logo: String? = nil, rights: String? = nil,
    generator: String? = nil, ttlMinutes: Int? = nil, entries: [Entry] = []
  ) {
    self.title = title
    self.subtitle = subtitle
    self.link = link
    self.selfLink = selfLink
    self.id = id
    self.updated = updated
    self.language = language
    self.authors = authors
    self.categories = categories
    self.icon = icon
    self.logo = logo
    self.rights = rights
    self.generator = generator
    self.ttlMinutes = ttlMinutes
    self.entries = entries
  }
}

/// Something the parser noticed: a recovered XML error, an unparseable date, a dropped entity.
public struct Diagnostic: Sendable, Hashable, Codable {
  public enum Severity: String, Sendable, Hashable, Codable { case warning, error }
  public var severity: Severity
  public var message: String
  public var line: Int?
  public var column: Int?
  public init(severity: Severity, message: String, line: Int? = nil, column: Int? = nil) {
    self.severity = severity
    self.message = message
    self.line = line
    self.column = column
  }
}

/// The result of parsing one document: the feed plus what was wrong with the bytes.
public struct ParsedFeed: Sendable, Hashable {
  public var format: FeedFormat
  /// The encoding the bytes were decoded from (IANA name, lowercase, e.g. `windows-1257`).
  public var encoding: String
  /// True when the XML was not well-formed and libxml2 recovered what it could.
  public var malformed: Bool
  /// In document order; for a malformed document the first error is the one that made it so.
  public var diagnostics: [Diagnostic]
  public var feed: Feed
  public init(
    format: FeedFormat, encoding: String, malformed: Bool = false, diagnostics: [Diagnostic] = [],
    feed: Feed
  ) {
    self.format = format
    self.encoding = encoding
    self.malformed = malformed
    self.diagnostics = diagnostics
    self.feed = feed
  }
}
