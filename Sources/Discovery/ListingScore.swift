import CLibXML2
import FeedModel
import FeedParser
import Foundation

/// How much a group looks like the page's news listing, judged on what the scraper extracted:
/// item count, dates, leads, title length, distinct same-site links that look like story pages,
/// and the share of the page's text the items hold; discounted when the group sits in page
/// furniture, when long prose outside it says the page is one article, and when nothing has a
/// date (a members directory has every other shape of a listing).
struct ListingScore {
  let page: ListingPage
  /// Characters of visible text in the page's body.
  let bodyText: Int

  /// Confidence (0…1, two decimals), the items' share of the page's text, whether the group is
  /// in furniture, and notes on the discounts applied.
  func confidence(entries: [Entry], group: ListingGroup) -> (Double, Double, Bool, [String]) {
    let items = group.items
    var notes: [String] = []
    let n = Double(entries.count)
    let countScore = min(1, (n - 2) / 5)
    let dateShare = Double(entries.filter { $0.published != nil }.count) / n
    let summaryShare = Double(entries.filter { $0.summary != nil }.count) / n
    let titleScore =
      entries.map { min(1, Double(($0.title ?? "").split(separator: " ").count) / 4) }
      .reduce(0, +) / n
    let links = entries.compactMap(\.link)
    let distinct = Double(Set(links).count) / n
    let host = page.pageURL.host?.lowercased()
    let linkQuality =
      links.map { raw -> Double in
        guard let url = URL(string: raw) else { return 0 }
        guard url.host?.lowercased() == host else { return 0.2 }
        let segments = url.path.split(separator: "/")
        let deep = segments.count >= 2 || (segments.last?.count ?? 0) >= 12 || url.query != nil
        return deep ? 1 : 0.6
      }.reduce(0, +) / n
    let itemText = items.reduce(0) { $0 + page.text($1.node).count }
    let coverage = bodyText > 0 ? Double(itemText) / Double(bodyText) : 0
    let coverageScore = min(1, coverage / 0.4)
    let furniture = ListingScore.isFurniture(group.container)
    var confidence =
      0.15 * countScore + 0.2 * dateShare + 0.15 * titleScore + 0.1 * summaryShare + 0.15
      * distinct * linkQuality + 0.25 * coverageScore
    if furniture { confidence *= 0.35 }
    // A few links under one long article ("other news" below a story) are a small part of the
    // page; a listing is most of it.
    if coverage < 0.2 { confidence *= 0.5 + 2.5 * coverage }
    // Long paragraphs outside the items: the page is an article, and the group the links
    // around it.
    let prose = proseOutside(items)
    if prose > itemText {
      confidence *= max(0.4, (Double(itemText) / Double(prose)).squareRoot())
      notes.append("more prose outside the items than in them: an article page?")
    }
    // Dates are what most sets news apart from other lists of pages (members, projects).
    if dateShare == 0 { confidence *= 0.75 }
    // Items the scraper dropped (no link, a repeated link): a mixed group, not one listing.
    confidence *= Double(entries.count) / Double(max(entries.count, items.count))
    confidence = (min(1, max(0, confidence)) * 100).rounded() / 100
    return (confidence, coverage, furniture, notes)
  }

  /// A cheap first ranking, before selectors are written: count, titles, dates, location.
  func rough(_ group: ListingGroup) -> Double {
    let n = Double(group.items.count)
    let dated = Double(group.items.filter { $0.dateValue != nil }.count) / n
    let words = group.items.map { min(1, Double($0.titleText.split(separator: " ").count) / 4) }
    let text = group.items.reduce(0) { $0 + page.text($1.node).count }
    let coverage = bodyText > 0 ? min(1, Double(text) / Double(bodyText) / 0.4) : 0
    let score =
      0.2 * min(1, (n - 2) / 5) + 0.3 * dated + 0.2 * words.reduce(0, +) / n + 0.3 * coverage
    return score * (ListingScore.isFurniture(group.container) ? 0.35 : 1)
  }

  /// Characters in paragraphs of 80 or more characters that are not inside an item: a story's
  /// body on an article page, an introduction on a listing.
  func proseOutside(_ items: [ListingItem]) -> Int {
    guard let body = page.body else { return 0 }
    var total = 0
    for p in page.evaluate(".//p", at: body) {
      let length = page.text(p).count
      guard length >= 80 else { continue }
      if items.contains(where: { ListingPage.contains($0.node, p) }) { continue }
      total += length
    }
    return total
  }

  /// Whether the group sits in page furniture: a `nav`, `header`, `footer`, `aside` or `form`,
  /// or an element whose class or id starts or ends with a furniture word (`menu-main`,
  /// `site-footer`, `widget-area`, `nav-links`), up to the body.
  static func isFurniture(_ node: xmlNodePtr) -> Bool {
    for n in [node] + ListingPage.ancestors(node) {
      let tag = ListingPage.tag(n)
      if tag == "body" || tag == "html" { break }
      if ListingVocabulary.furnitureTags.contains(tag) { return true }
      let names = ListingPage.classes(n) + [HTMLTree.attribute(n, "id")].compactMap { $0 }
      for name in names {
        let parts = name.lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" })
        guard let first = parts.first, let last = parts.last else { continue }
        for word in ListingVocabulary.furnitureWords
        where first.hasPrefix(word) || last.hasPrefix(word) {
          return true
        }
        if ["secondary", "colophon", "masthead"].contains(name.lowercased()) { return true }
      }
    }
    return false
  }
}
