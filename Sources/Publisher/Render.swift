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
    let named = item.entry.entry.authors.compactMap { p -> Person? in
      let name = [p.name, p.email, p.uri].compactMap { $0 }.first {
        !$0.trimmingCharacters(in: .whitespaces).isEmpty
      }
      guard let name else { return nil }
      var q = p
      q.name = name
      return q
    }
    if !named.isEmpty { return named }
    if let a = item.source.feedAuthor, !a.trimmingCharacters(in: .whitespaces).isEmpty {
      return [Person(name: a)]
    }
    return [Person(name: sourceTitle(item.source))]
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
