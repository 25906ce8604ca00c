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
  /// The language of the linked resource (Atom `hreflang`).
  public var hreflang: String?
  public init(
    href: String, rel: String? = nil, type: String? = nil, title: String? = nil,
    length: Int64? = nil, hreflang: String? = nil
  ) {
    self.href = href
    self.rel = rel
    self.type = type
    self.title = title
    self.length = length
    self.hreflang = hreflang
  }
}

/// A media attachment (RSS `enclosure`, `media:content`, Atom `link rel="enclosure"`, JSON `attachments`).
public struct Enclosure: Sendable, Hashable, Codable {
  public var url: String
  public var type: String?
  public var length: Int64?
  /// Media RSS `medium` (`image`, `audio`, `video`, …) when the document says.
  public var medium: String?
  public var width: Int?
  public var height: Int?
  /// Seconds (Media RSS `duration`, iTunes `duration` of the episode's enclosure).
  public var duration: Double?
  public init(
    url: String, type: String? = nil, length: Int64? = nil, medium: String? = nil,
    width: Int? = nil, height: Int? = nil, duration: Double? = nil
  ) {
    self.url = url
    self.type = type
    self.length = length
    self.medium = medium
    self.width = width
    self.height = height
    self.duration = duration
  }
}

/// A Media RSS thumbnail (`media:thumbnail`), or an iTunes/RSS image used as one.
public struct Thumbnail: Sendable, Hashable, Codable {
  public var url: String
  public var width: Int?
  public var height: Int?
  public init(url: String, width: Int? = nil, height: Int? = nil) {
    self.url = url
    self.width = width
    self.height = height
  }
}

/// Media RSS metadata of an item (`media:*`, including everything inside `media:group`) that has
/// no core equivalent. `media:content` becomes `Entry.enclosures`, `media:category` and
/// `media:keywords` become `Entry.categories` (with scheme and label).
public struct MediaInfo: Sendable, Hashable, Codable {
  public var title: String?
  /// Plain or HTML (`media:description type="html"`, sanitised).
  public var description: Text?
  public var thumbnails: [Thumbnail]
  /// `media:credit` values (names), in document order.
  public var credits: [String]
  /// `media:rating`, e.g. `nonadult`.
  public var rating: String?
  public init(
    title: String? = nil, description: Text? = nil, thumbnails: [Thumbnail] = [],
    credits: [String] = [], rating: String? = nil
  ) {
    self.title = title
    self.description = description
    self.thumbnails = thumbnails
    self.credits = credits
    self.rating = rating
  }
  public var isEmpty: Bool {
    title == nil && description == nil && thumbnails.isEmpty && credits.isEmpty && rating == nil
  }
}

/// iTunes podcast metadata (`itunes:*`) at feed or episode level. `itunes:category` (nested
/// ones too) and `itunes:keywords` become `categories` with scheme `http://www.itunes.com/`;
/// `itunes:author` and `itunes:owner` become authors / `owner`.
public struct ITunesInfo: Sendable, Hashable, Codable {
  public var subtitle: String?
  public var summary: String?
  public var image: String?
  public var explicit: Bool?
  /// Seconds, from `HH:MM:SS`, `MM:SS` or a plain number of seconds.
  public var duration: Double?
  public var owner: Person?
  public var keywords: [String]
  /// `itunes:type` (`episodic`/`serial`) or `itunes:episodeType`.
  public var type: String?
  public var episode: Int?
  public var season: Int?
  public var block: Bool?
  public init(
    subtitle: String? = nil, summary: String? = nil, image: String? = nil,
    explicit: Bool? = nil, duration: Double? = nil, owner: Person? = nil, keywords: [String] = [],
    type: String? = nil, episode: Int? = nil, season: Int? = nil, block: Bool? = nil
  ) {
    self.subtitle = subtitle
    self.summary = summary
    self.image = image
    self.explicit = explicit
    self.duration = duration
    self.owner = owner
    self.keywords = keywords
    self.type = type
    self.episode = episode
    self.season = season
    self.block = block
  }
}

/// A GeoRSS location (GeoRSS Simple `georss:point|line|polygon|box`, GeoRSS GML `gml:pos`,
/// `gml:posList`, `gml:Envelope`, W3C `geo:lat`/`geo:long`/`geo:Point`), carried through.
public struct GeoLocation: Sendable, Hashable, Codable {
  public enum Shape: String, Sendable, Hashable, Codable { case point, line, polygon, box }
  public var shape: Shape
  /// Latitude/longitude pairs in WGS84, in document order (`[lat, lon, lat, lon, …]`).
  public var coordinates: [Double]
  /// `georss:featurename`, `georss:elev` etc. are rare; the feature name is kept.
  public var featureName: String?
  public init(shape: Shape, coordinates: [Double], featureName: String? = nil) {
    self.shape = shape
    self.coordinates = coordinates
    self.featureName = featureName
  }
}

/// A text construct. Atom `xhtml` is serialised and kept as `html`, so consumers handle two kinds.
public struct Text: Sendable, Hashable, Codable {
  public enum Kind: String, Sendable, Hashable, Codable {
    case text, html
  }
  public var type: Kind
  public var value: String
  /// The element's own `xml:lang` when it differs from its entry's (an English summary in a
  /// Lithuanian feed), so a republished copy can say so.
  public var language: String?
  public init(type: Kind, value: String, language: String? = nil) {
    self.type = type
    self.value = value
    self.language = language
  }
  public static func text(_ value: String) -> Text { Text(type: .text, value: value) }
  public static func html(_ value: String) -> Text { Text(type: .html, value: value) }
}

/// The feed an entry says it came from (Atom `atom:source`, RSS `source`).
public struct EntrySource: Sendable, Hashable, Codable {
  public var id: String?
  public var title: String?
  /// The source feed's alternate link (RSS `source@url` is its `self`, kept in `links`).
  public var link: String?
  public var updated: Date?
  public var icon: String?
  public var rights: String?
  public var subtitle: String?
  /// Every link of the source (`self`, `alternate`, `license`, …) with its attributes.
  public var links: [Link]
  public var authors: [Person]
  public var contributors: [Person]
  public var categories: [Category]
  public var logo: String?
  public var generator: String?
  public init(
    id: String? = nil, title: String? = nil, link: String? = nil, updated: Date? = nil,
    icon: String? = nil, rights: String? = nil, subtitle: String? = nil, links: [Link] = [],
    authors: [Person] = [], contributors: [Person] = [], categories: [Category] = [],
    logo: String? = nil, generator: String? = nil
  ) {
    self.id = id
    self.title = title
    self.link = link
    self.updated = updated
    self.icon = icon
    self.rights = rights
    self.subtitle = subtitle
    self.links = links
    self.authors = authors
    self.contributors = contributors
    self.categories = categories
    self.logo = logo
    self.generator = generator
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
  /// `xml:lang` / `dc:language` of the entry when it differs from the feed's; or, when neither
  /// the entry nor its feed declares one, the language detected from its text.
  public var language: String?
  /// The title element's own `xml:lang` when it differs from the entry's.
  public var titleLanguage: String?
  /// `dcterms:created` / Atom 0.3 `created`.
  public var created: Date?
  /// Plain text (Atom `rights`, `dc:rights`, `dcterms:rights` of the item).
  public var rights: String?
  /// `dc:publisher` of the item.
  public var publisher: Person?
  /// RSS `comments` (absolute).
  public var comments: String?
  public var media: MediaInfo?
  public var itunes: ITunesInfo?
  public var geo: GeoLocation?
  /// What the sanitiser read to produce `summary`, `content` and the media description (see
  /// `SanitizerKey`): set by the parser, kept by the store, nil when nothing was sanitised.
  public var sanitizerKeys: SanitizerKeys?

  public init(
    id: String? = nil, title: String? = nil, link: String? = nil, links: [Link] = [],
    published: Date? = nil, updated: Date? = nil, summary: Text? = nil, content: Text? = nil,
    contentSource: Link? = nil, authors: [Person] = [], contributors: [Person] = [],
    categories: [Category] = [],
    enclosures: [Enclosure] = [], source: EntrySource? = nil, language: String? = nil,
    titleLanguage: String? = nil, created: Date? = nil, rights: String? = nil,
    publisher: Person? = nil, comments: String? = nil, media: MediaInfo? = nil,
    itunes: ITunesInfo? = nil, geo: GeoLocation? = nil, sanitizerKeys: SanitizerKeys? = nil
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
    self.titleLanguage = titleLanguage
    self.created = created
    self.rights = rights
    self.publisher = publisher
    self.comments = comments
    self.media = media
    self.itunes = itunes
    self.geo = geo
    self.sanitizerKeys = sanitizerKeys
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
  /// Every feed-level link in document order with its attributes: `atom:link` (any namespace
  /// prefix, `atom10:link` included), RSS `<link>` as `alternate`, `cc:license` /
  /// `creativeCommons:license` as `license`. `self`, `hub`, `next`, `prev-archive` … are here;
  /// `link` and `selfLink` are the preferred `alternate` and the first `self`.
  public var links: [Link]
  public var contributors: [Person]
  /// RSS `pubDate`, `dc:date`, `dcterms:issued`.
  public var published: Date?
  /// `dc:publisher`.
  public var publisher: Person?
  /// RSS `webMaster` (the technical contact; `managingEditor` is an author).
  public var webMaster: Person?
  public var itunes: ITunesInfo?
  /// The feed's `xml:lang` of its title when it differs from the feed's language.
  public var titleLanguage: String?
  public var entries: [Entry]

  public init(
    title: String? = nil, subtitle: String? = nil, link: String? = nil, selfLink: String? = nil,
    id: String? = nil, updated: Date? = nil, language: String? = nil, authors: [Person] = [],
    categories: [Category] = [], icon: String? = nil, logo: String? = nil, rights: String? = nil,
    generator: String? = nil, ttlMinutes: Int? = nil, links: [Link] = [],
    contributors: [Person] = [], published: Date? = nil, publisher: Person? = nil,
    webMaster: Person? = nil, itunes: ITunesInfo? = nil, titleLanguage: String? = nil,
    entries: [Entry] = []
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
    self.links = links
    self.contributors = contributors
    self.published = published
    self.publisher = publisher
    self.webMaster = webMaster
    self.itunes = itunes
    self.titleLanguage = titleLanguage
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
  /// HTML fragments the sanitiser ran on, and those whose stored result was reused instead
  /// (`ParseOptions.reusableHTML`, issue 17).
  public var sanitizedFragments = 0
  public var reusedFragments = 0
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
