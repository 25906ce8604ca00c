import Foundation

/// The words listing inference judges markup by: which class names are stable enough to put in a
/// selector, which name an item or a region of the page, and which mark page furniture.
enum ListingVocabulary {
  /// Class words that name per-render state, not structure (`views-row-odd`, `active`).
  static let volatileParts: Set<String> = [
    "odd", "even", "first", "last", "active", "current", "selected", "sticky", "clearfix",
    "clear", "hidden", "show", "open", "in", "fade", "visible", "focus", "hover", "js", "loaded",
    "lazyloaded", "lazyload", "animated", "wow", "aos",
  ]

  /// Classes common to whole WordPress/Bootstrap pages that name layout, not a listing.
  static let layoutClasses: Set<String> = [
    "container", "container-fluid", "row", "col", "wrapper", "wrap", "inner", "clearfix",
    "site", "page", "grid", "flex", "d-flex", "w-100", "mb", "mt", "pt", "pb",
  ]

  static let utilityPrefixes = [
    "text-", "bg-", "d-", "m-", "p-", "mb-", "mt-", "ms-", "me-", "mx-", "my-", "pb-", "pt-",
    "ps-", "pe-", "px-", "py-", "h-", "w-", "float-", "align-", "justify-", "flex-", "fw-", "fs-",
    "border-", "rounded", "shadow", "col-", "offset-", "order-", "g-", "gap-", "stretched-",
    "visually-", "sr-",
  ]

  /// Item class words, best first: the ones real themes put on each story.
  static let itemWords: [String] = [
    "post", "views-row", "item", "news", "entry", "article", "hentry", "node", "teaser",
    "card", "story", "blog-item", "news-item", "post-item", "naujiena", "naujienos",
  ]

  /// Words in class or id that mark a region of the page as furniture rather than the news:
  /// menus, footers, sidebars, pagination, breadcrumbs, tag clouds, comments, related links.
  static let furnitureWords: [String] = [
    "menu", "nav", "footer", "sidebar", "widget", "breadcrumb", "pagination", "pager",
    "tagcloud", "tag-cloud", "tags", "comment", "related", "share", "social", "cookie", "meniu",
    "susije", "komentar",
  ]

  static let furnitureTags: Set<String> = ["nav", "header", "footer", "aside", "form"]

  /// Words in class, id or itemprop that mark an element as a date.
  static let dateWords: [String] = [
    "date", "time", "data", "published", "created", "posted", "pubdate", "laikas", "paskelbta",
    "datum", "fecha",
  ]

  /// Words in class that mark an element as a story's lead.
  static let summaryWords: [String] = [
    "excerpt", "summary", "intro", "teaser", "lead", "description", "desc", "field-body",
    "entry-content", "abstract", "santrauka", "anons", "aprasymas", "body", "text", "content",
  ]

  static let headings: Set<String> = ["h1", "h2", "h3", "h4", "h5", "h6"]

  /// Whether a class name is worth putting in a selector: no digits (ids, positions, hashes),
  /// no state words, no generated CSS-in-JS names, no quotes.
  static func isStableClass(_ name: String) -> Bool {
    guard name.count >= 2, name.count <= 60 else { return false }
    for c in name.unicodeScalars {
      if c.value >= 0x30 && c.value <= 0x39 { return false }
      if c == "'" || c == "\"" || c == "\\" || c.value > 0x7E { return false }
    }
    let lower = name.lowercased()
    for prefix in ["css-", "sc-", "jsx-", "emotion-", "svelte-", "styled-", "ng-", "is-", "has-"]
    where lower.hasPrefix(prefix) {
      return false
    }
    // Utility classes (Bootstrap, Tailwind) say how a thing looks, not what it is.
    for prefix in utilityPrefixes where lower.hasPrefix(prefix) { return false }
    let parts = lower.split(whereSeparator: { $0 == "-" || $0 == "_" }).map(String.init)
    if parts.contains(where: { volatileParts.contains($0) }) { return false }
    // CSS-module hashes mix cases without separators ("eKkgvZ", "jZbBxQ").
    if !name.contains("-") && !name.contains("_") && name.count <= 10 {
      let uppers = name.unicodeScalars.filter { $0.properties.isUppercase }.count
      if uppers >= 2 && uppers < name.count { return false }
    }
    return true
  }

  /// An id worth anchoring on: no digits (generated or per-post ids), short, no quotes.
  static func isStableID(_ id: String) -> Bool {
    guard !id.isEmpty, id.count <= 40 else { return false }
    for c in id.unicodeScalars {
      if c.value >= 0x30 && c.value <= 0x39 { return false }
      if c == "'" || c == "\"" || c == "\\" || c.value > 0x7E || c == " " { return false }
    }
    return true
  }

  /// Rank of a class as an item marker: 3 for the classic item words, 2 for names containing
  /// one, 1 for any other stable class, 0 for per-item taxonomy (`category-x`, `format-video`).
  static func itemRank(_ name: String) -> Int {
    let lower = name.lowercased()
    if itemWords.contains(lower) { return 3 }
    for prefix in ["category-", "tag-", "format-", "status-", "type-", "post-format", "author-"]
    where lower.hasPrefix(prefix) {
      return 0
    }
    if itemWords.contains(where: { lower.contains($0) }) { return 2 }
    return 1
  }

  /// Whether a class or id names furniture (`menu-main`, `sidebar`, `site-footer`).
  static func isFurniture(_ name: String) -> Bool {
    let lower = name.lowercased()
    return furnitureWords.contains { lower.contains($0) }
  }

  static func mentionsDate(_ name: String) -> Bool {
    let lower = name.lowercased()
    return dateWords.contains { lower.contains($0) }
  }

  /// Words in class or itemprop that mark a story's title.
  static let titleWords = ["title", "headline", "heading", "name", "pavadinimas"]

  static func mentionsTitle(_ name: String) -> Bool {
    let lower = name.lowercased()
    return titleWords.contains { lower.contains($0) }
  }

  static func mentionsSummary(_ name: String) -> Bool {
    let lower = name.lowercased()
    return summaryWords.contains { lower.contains($0) }
  }

  /// `contains(concat(' ', normalize-space(@class), ' '), ' name ')`: one whole class, not a
  /// substring of another (`post` must not match `post-thumbnail`).
  static func hasClass(_ name: String) -> String {
    "contains(concat(' ', normalize-space(@class), ' '), ' \(name) ')"
  }
}
