import FeedModel
import FeedStore
import Foundation

/// The RFC 5005 section 4 links of one Atom document: the current document links its newest
/// archive page (`prev-archive`); an archive page (`fh:archive`) links the current document and
/// its neighbours.
struct ArchiveLinks {
  var isArchive: Bool
  var selfURL: String
  var current: String
  var prevArchive: String?
  var nextArchive: String?
}

/// The stored heads of the sources of one document, each decoded at most once and only when an
/// entry needs it (an entry with its own `atom:source` never does).
struct SourceHeads {
  private var decoded: [String: Feed?] = [:]

  mutating func head(_ s: SourceState) -> Feed? {
    if let known = decoded[s.id] { return known }
    let head = s.decodedFeedHead()
    decoded[s.id] = head
    return head
  }
}

/// Everything one timeline document is rendered from: a pure function of these values, so the
/// same store state always yields the same bytes (and the same ETag).
struct TimelineContext {
  var options: PublisherOptions
  var scope: FeedScope
  var page: TimelinePage
  /// Active sources by id (for titles and the health section).
  var sources: [String: SourceState]
  var sortedSources: [SourceState]
  var facets: StoreFacets
  /// The query that selected this page (`before`/`after`), nil for the first page.
  var pageQuery: (name: String, token: String)?
  /// RFC 5005 archive links: set on the current Atom document and on archive pages.
  var archive: ArchiveLinks?

  var base: String { options.base }

  func url(_ path: String) -> String { base + path.dropFirst() }

  func url(_ format: OutputFormat) -> String { url(DocumentRoute.path(scope, format)) }

  func selfURL(_ format: OutputFormat) -> String {
    if let archive, archive.isArchive { return archive.selfURL }
    guard let q = pageQuery else { return url(format) }
    return url(format) + "?\(q.name)=\(q.token)"
  }

  func nextURL(_ format: OutputFormat) -> String? {
    page.olderCursor.map { url(format) + "?before=\($0.token)" }
  }

  func previousURL(_ format: OutputFormat) -> String? {
    guard pageQuery != nil, let c = page.newerCursor else { return nil }
    return url(format) + "?after=\(c.token)"
  }

  /// The stable feed id: the Atom URL of the (first page of the) feed.
  var feedID: String { url(.atom) }

  var scopeLabel: String? {
    switch scope {
    case .all: return nil
    case .category(let slug): return slug
    case .source(let id): return sources[id].map(Self.sourceTitle) ?? id
    case .language(let code): return code
    }
  }

  var title: String {
    guard let label = scopeLabel else { return options.title }
    return "\(options.title) — \(label)"
  }

  /// Newest `contentUpdated` of the page; for an empty page the newest source success (so the
  /// value is still a function of the store, not of the clock).
  var updated: Date {
    if let d = page.items.map(\.entry.contentUpdated).max() { return d }
    return sortedSources.compactMap(\.lastSuccess).max() ?? Date(timeIntervalSince1970: 0)
  }

  static func sourceTitle(_ s: SourceState) -> String {
    for t in [s.title, s.feedTitle] {
      if let t, !t.trimmingCharacters(in: .whitespaces).isEmpty { return t }
    }
    return s.id
  }

  /// The entry's authors; else the source feed's author; else the source's title — every entry
  /// gets one.
  static func authors(_ item: TimelineItem) -> [Person] {
    let named = people(item.entry.entry.authors)
    if !named.isEmpty { return named }
    if let a = item.source.feedAuthor, !a.trimmingCharacters(in: .whitespaces).isEmpty {
      return [Person(name: a)]
    }
    return [Person(name: sourceTitle(item.source))]
  }

  /// People as person constructs, which need a name: a contributor known only by an email or a
  /// uri is named by it (and keeps it).
  static func people(_ list: [Person]) -> [Person] {
    list.compactMap { p -> Person? in
      let name = [p.name, p.email, p.uri].compactMap { $0 }.first {
        !$0.trimmingCharacters(in: .whitespaces).isEmpty
      }
      guard let name else { return nil }
      var q = p
      q.name = name
      return q
    }
  }

  /// An element's own language tag when it is valid and differs from the one it inherits
  /// (`inherited`), else nil: `xml:lang` is only written where it says something.
  static func ownLanguage(_ tag: String?, inherited: String?) -> String? {
    guard let tag = languageTag(tag) else { return nil }
    if let inherited, inherited.lowercased() == tag.lowercased() { return nil }
    return tag
  }

  /// A duration worth writing: finite, not negative, under a million hours.
  static func seconds(_ d: Double?) -> Double? {
    guard let d, d.isFinite, d >= 0, d < 3.6e9 else { return nil }
    return d
  }

  /// A coordinate as GeoRSS wants it: decimal, never an exponent.
  static func coordinate(_ d: Double) -> String {
    let plain = "\(d)"
    if !plain.contains("e") { return plain.hasSuffix(".0") ? String(plain.dropLast(2)) : plain }
    var s = String(format: "%.9f", d)
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s
  }

  /// The GeoRSS Simple element and value of a location, or nil when its coordinates do not make
  /// that shape (a point is one pair, a box two, a line two or more, a polygon four or more).
  static func geoRSS(_ g: GeoLocation) -> (name: String, value: String)? {
    let c = g.coordinates
    guard c.count % 2 == 0, c.allSatisfy(\.isFinite) else { return nil }
    let pairs = c.count / 2
    for i in 0..<pairs where abs(c[2 * i]) > 90 || abs(c[2 * i + 1]) > 180 { return nil }
    switch g.shape {
    case .point: guard pairs == 1 else { return nil }
    case .box: guard pairs == 2 else { return nil }
    case .line: guard pairs >= 2 else { return nil }
    case .polygon: guard pairs >= 4 else { return nil }
    }
    return ("georss:" + g.shape.rawValue, c.map(coordinate).joined(separator: " "))
  }

  /// The entry's licence links (`rel="license"`), http(s) only, each once.
  static func licenses(_ e: Entry) -> [Link] {
    var seen = Set<String>()
    return e.links.filter {
      $0.rel == "license" && TextTools.safeURL($0.href) != nil && seen.insert($0.href).inserted
    }
  }

  /// Where the entry's comments are: RSS `comments`, else a `rel="replies"` link.
  static func comments(_ e: Entry) -> String? {
    TextTools.safeURL(e.comments)
      ?? e.links.lazy.filter { $0.rel == "replies" }.compactMap { TextTools.safeURL($0.href) }
      .first
  }

  /// The entry's own `atom:source` / RSS `<source>` when it says anything.
  static func ownSource(_ e: Entry) -> EntrySource? {
    guard let s = e.source else { return nil }
    let says =
      [s.id, s.title, s.link].contains { $0.map { !$0.isEmpty } ?? false } || !s.links.isEmpty
    return says ? s : nil
  }

  static func entryTitle(_ item: TimelineItem) -> String {
    if let t = item.entry.entry.title, !t.trimmingCharacters(in: .whitespaces).isEmpty { return t }
    return "(be pavadinimo)"
  }

  /// Checks a language tag against RFC 4287's `atomLanguageTag` pattern.
  static func languageTag(_ s: String?) -> String? {
    guard let s, !s.isEmpty else { return nil }
    let parts = s.split(separator: "-", omittingEmptySubsequences: false)
    guard let first = parts.first, (1...8).contains(first.count),
      first.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.isAlphabetic })
    else { return nil }
    for p in parts.dropFirst() {
      guard (1...8).contains(p.count),
        p.unicodeScalars.allSatisfy({
          $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))
        })
      else { return nil }
    }
    return s
  }

  /// `type/subtype` or nil (Atom's `atomMediaType`).
  static func mediaType(_ s: String?) -> String? {
    guard let s, let slash = s.firstIndex(of: "/"), slash != s.startIndex,
      s.index(after: slash) != s.endIndex
    else { return nil }
    return s
  }

  static func email(_ s: String?) -> String? {
    guard let s, let at = s.firstIndex(of: "@"), at != s.startIndex,
      s.index(after: at) != s.endIndex
    else { return nil }
    return s
  }
}
