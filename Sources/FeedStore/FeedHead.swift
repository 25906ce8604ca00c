import FeedModel
import Foundation

/// The fetched feed's own metadata (its `Feed` without entries) as every store persists it: one
/// JSON document per source, written when a changed body is parsed, read back for `atom:source`.
///
/// The rules live here, not in SQL, so every `FeedStore` implementation stores the same bytes:
/// keys sorted, absent values and empty lists omitted (equal heads give equal bytes, so "did the
/// head change" is a byte comparison), every field optional on the way back (a head written
/// before a field existed still decodes).
public enum FeedHead {
  /// The persisted form: every field of `Feed` but `entries`, all optional.
  struct Stored: Codable, Equatable {
    var title: String?
    var subtitle: String?
    var link: String?
    var selfLink: String?
    var id: String?
    var updated: Date?
    var language: String?
    var authors: [Person]?
    var categories: [FeedModel.Category]?
    var icon: String?
    var logo: String?
    var rights: String?
    var generator: String?
    var ttlMinutes: Int?
    var links: [Link]?
    var contributors: [Person]?
    var published: Date?
    var publisher: Person?
    var webMaster: Person?
    var itunes: ITunesInfo?
    var titleLanguage: String?

    init(_ f: Feed) {
      func list<T>(_ a: [T]) -> [T]? { a.isEmpty ? nil : a }
      title = f.title
      subtitle = f.subtitle
      link = f.link
      selfLink = f.selfLink
      id = f.id
      updated = f.updated
      language = f.language
      authors = list(f.authors)
      categories = list(f.categories)
      icon = f.icon
      logo = f.logo
      rights = f.rights
      generator = f.generator
      ttlMinutes = f.ttlMinutes
      links = list(f.links)
      contributors = list(f.contributors)
      published = f.published
      publisher = f.publisher
      webMaster = f.webMaster
      itunes = f.itunes
      titleLanguage = f.titleLanguage
    }

    var feed: Feed {
      Feed(
        title: title, subtitle: subtitle, link: link, selfLink: selfLink, id: id, updated: updated,
        language: language, authors: authors ?? [], categories: categories ?? [], icon: icon,
        logo: logo, rights: rights, generator: generator, ttlMinutes: ttlMinutes,
        links: links ?? [], contributors: contributors ?? [], published: published,
        publisher: publisher, webMaster: webMaster, itunes: itunes, titleLanguage: titleLanguage)
    }
  }

  /// The persisted bytes of a feed's head (its entries are ignored).
  public static func encode(_ feed: Feed) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.dateEncodingStrategy = .millisecondsSince1970
    // Only plain values: encoding cannot fail.
    return (try? encoder.encode(Stored(feed))) ?? Data("{}".utf8)
  }

  /// The head back from its bytes (`entries` empty), or nil when there are none or they are not
  /// a head.
  public static func decode(_ data: Data?) -> Feed? {
    guard let data, !data.isEmpty else { return nil }
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .millisecondsSince1970
    return (try? decoder.decode(Stored.self, from: data))?.feed
  }
}

extension SourceState {
  /// The source feed's own metadata as last parsed (title, subtitle, id, links, updated,
  /// authors, contributors, categories, icon, logo, rights, generator, language, iTunes…), or nil
  /// before the first parse that recorded it. Decoded on each call: a renderer asks once per
  /// source per document, and only when it needs it.
  public func decodedFeedHead() -> Feed? { FeedHead.decode(feedHead) }
}
