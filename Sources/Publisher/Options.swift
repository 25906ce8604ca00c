import Foundation

/// What the admin configures about the published feeds (`[feed]` in the config). Kept apart from
/// the config file format so the publisher never depends on it.
public struct PublisherOptions: Sendable, Hashable {
  /// The public URL the documents are served under, e.g. `https://news.example.org/`. Feed ids and
  /// self links derive from it, so it must not change once subscribers exist.
  public var baseURL: URL
  public var title: String
  public var subtitle: String?
  /// The feed-level author (Atom requires one; entries without their own fall back further).
  public var author: String
  /// Entries per document (`[feed] entries`).
  public var entriesPerPage: Int
  /// `xml:lang` / `lang` of the documents and the language of the HTML page's labels.
  public var language: String
  public var generatorVersion: String
  /// WebSub hubs advertised by every document (`rel="hub"`, in the document and the `Link`
  /// header): the built-in hub's `<base_url>websub` and the `[websub] ping` hubs; none when
  /// empty.
  public var hubs: [URL]

  public init(
    baseURL: URL, title: String, subtitle: String? = nil, author: String,
    entriesPerPage: Int = 50, language: String = "lt", generatorVersion: String,
    hubs: [URL] = []
  ) {
    self.baseURL = baseURL
    self.title = title
    self.subtitle = subtitle
    self.author = author
    self.entriesPerPage = entriesPerPage
    self.language = language
    self.generatorVersion = generatorVersion
    self.hubs = hubs
  }

  /// The hubs as text, in order.
  var hubLinks: [String] { hubs.map(\.absoluteString) }

  /// The RFC 8288 `Link` value naming the hubs and `selfURL`.
  func linkHeader(selfURL: String) -> String {
    (hubLinks.map { "<\($0)>; rel=\"hub\"" } + ["<\(selfURL)>; rel=\"self\""])
      .joined(separator: ", ")
  }

  /// The base URL as text, always ending in `/` so relative paths append cleanly.
  var base: String {
    let s = baseURL.absoluteString
    return s.hasSuffix("/") ? s : s + "/"
  }
}

/// One rendered document as the server sends it: bytes cached until the store changes.
public struct Document: Sendable, Hashable {
  /// The request path it answers (`/feed.atom`, `/`, …).
  public var path: String
  public var contentType: String
  public var body: [UInt8]
  /// Pre-compressed body, when the renderer had a compressor (the server fills its own cache
  /// otherwise, once per ETag).
  public var gzipped: [UInt8]?
  /// Strong validator, quoted (`"…"`), derived from the bytes.
  public var etag: String
  /// When these bytes first appeared (kept across re-renders that produce the same bytes).
  public var lastModified: Date
  /// The `Link` header the server sends with it (WebSub §4 discovery): each hub as
  /// `rel="hub"` and the document's own URL (the one it names as self) as `rel="self"`.
  public var linkHeader: String?

  public init(
    path: String, contentType: String, body: [UInt8], gzipped: [UInt8]? = nil, etag: String,
    lastModified: Date, linkHeader: String? = nil
  ) {
    self.path = path
    self.contentType = contentType
    self.body = body
    self.gzipped = gzipped
    self.etag = etag
    self.lastModified = lastModified
    self.linkHeader = linkHeader
  }
}

/// Content types of the published formats.
public enum ContentTypes {
  public static let atom = "application/atom+xml; charset=utf-8"
  public static let rss = "application/rss+xml; charset=utf-8"
  public static let json = "application/feed+json; charset=utf-8"
  public static let opml = "text/x-opml; charset=utf-8"
  public static let html = "text/html; charset=utf-8"
}
