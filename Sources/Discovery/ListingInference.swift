import CLibXML2
import FeedModel
import FeedParser
import Foundation

/// One way to read a page as a news listing: selectors that `HTMLScraper` accepts, how sure the
/// inference is, and why.
public struct InferredListing: Sendable, Hashable {
  public var selectors: HTMLSelectors
  /// 0…1; `ListingInference.confident` and above is offered as a source.
  public var confidence: Double
  /// How many items the selectors match on the page they were inferred from.
  public var itemCount: Int
  /// What was seen ("12 `article` items, dates in Lithuanian", "lead ends in 'Skaityti daugiau'").
  public var notes: [String]

  public init(selectors: HTMLSelectors, confidence: Double, itemCount: Int, notes: [String]) {
    self.selectors = selectors
    self.confidence = confidence
    self.itemCount = itemCount
    self.notes = notes
  }
}

/// Finds the repeated structure of a news listing in an HTML page and writes XPath selectors for it.
///
/// The page is parsed with libxml2 exactly as `HTMLScraper` parses it. Elements that repeat
/// under one parent (or grandparent) with one tag and class, each holding one main link, are
/// candidate items; for each, XPath selectors are written and kept only when they select exactly
/// the items, titles, links, dates and leads seen; then the real scraper runs them, and what it
/// extracts is scored: item count, dates, leads, title length, distinct same-site links, the
/// share of the page's text the items make, and whether they sit in a menu, footer or sidebar.
public enum ListingInference {
  /// Confidence at which a listing is offered as a source.
  public static let confident = 0.6

  /// Groups written up in full (selectors, a scrape); the rest are ranked out beforehand.
  static let maxCandidates = 12

  /// Candidates, best first (possibly none).
  public static func infer(html: Data, contentType: String?, pageURL: URL) -> [InferredListing] {
    guard let page = ListingPage(html: html, contentType: contentType, pageURL: pageURL) else {
      return []
    }
    let locale = ListingDates.languageCode(page.language) ?? "lt"
    let grouper = ListingGrouper(page: page, locale: locale)
    let bodyText = page.body.map { page.text($0).count } ?? 0
    let ranked = grouper.groups()
      .map { ($0, ListingScore(page: page, bodyText: bodyText).rough($0)) }
      .sorted { $0.1 > $1.1 }
      .prefix(maxCandidates)
    var out: [(listing: InferredListing, links: [String])] = []
    for (group, _) in ranked {
      guard
        let found = describe(
          group, page: page, html: html, contentType: contentType, bodyText: bodyText)
      else { continue }
      out.append(found)
    }
    out.sort { $0.listing.confidence > $1.listing.confidence }
    // The same stories found another way (through the heading instead of the article, a subset
    // of them in a "recent posts" widget): keep the better reading only.
    var kept: [Set<String>] = []
    return out.filter { candidate in
      let links = Set(candidate.links)
      guard !kept.contains(where: { links.isSubset(of: $0) }) else { return false }
      kept.append(links)
      return true
    }.map(\.listing)
  }

  /// Selectors for a group, checked by the real scraper and scored; nil when no selector selects
  /// exactly what was seen or the scrape finds fewer than three stories.
  static func describe(
    _ group: ListingGroup, page: ListingPage, html: Data, contentType: String?, bodyText: Int
  ) -> (listing: InferredListing, links: [String])? {
    let writer = ListingSelectorWriter(page: page)
    let items = group.items
    guard let itemExpression = writer.itemExpression(group) else { return nil }

    guard
      let title = writer.fieldExpression(
        items, role: ListingVocabulary.mentionsTitle, target: { $0.title },
        accepts: { item, nodes in
          nodes.lazy.map(page.text).first { !$0.isEmpty } == item.titleText
        })
    else { return nil }
    let linkNode: String?
    if items.allSatisfy({ $0.title == $0.link }) {
      linkNode = title
    } else {
      linkNode = writer.fieldExpression(
        items, role: ListingVocabulary.mentionsTitle, target: { $0.link },
        accepts: { item, nodes in
          guard let first = nodes.first else { return false }
          return page.absoluteLink(first) == item.href
        })
    }
    guard let linkNode else { return nil }
    let link = linkNode == "." ? "@href" : "\(linkNode)/@href"

    var notes: [String] = []
    let dated = items.filter { $0.date != nil }
    var date: String?
    var style = ListingDateStyle(
      locale: ListingDates.languageCode(page.language) ?? "lt", notes: [])
    if dated.count * 10 >= items.count * 3 {
      let locale = style.locale
      date = writer.fieldExpression(
        items, role: ListingVocabulary.mentionsDate, target: { $0.date },
        accepts: { item, nodes in
          for node in nodes {
            for s in ListingGrouper.dateStrings(node, page: page) {
              if let d = LocaleDateParser.parse(s, locale: locale) { return d == item.dateValue }
            }
          }
          return false
        })
      if date != nil {
        let samples = dated.compactMap { item -> String? in
          guard let node = item.date else { return nil }
          return ListingGrouper.dateStrings(node, page: page).first {
            LocaleDateParser.parse($0, locale: locale) != nil
          }
        }
        style = ListingDates.style(samples: samples, pageLanguage: page.language)
      }
    }

    let summarised = items.filter { $0.summary != nil }
    var summary: String?
    if summarised.count * 2 >= items.count {
      summary = writer.fieldExpression(
        items, role: ListingVocabulary.mentionsSummary, target: { $0.summary },
        accepts: { item, nodes in
          guard let target = item.summary else { return nodes.isEmpty }
          let joined = nodes.map(page.text).filter { !$0.isEmpty }.joined(separator: " ")
          return HTMLScraper.stripReadMore(joined)
            == HTMLScraper.stripReadMore(page.text(target))
        })
    }
    if summary != nil, let tail = readMoreTail(summarised.compactMap(\.summary).map(page.text)) {
      notes.append("leads end in '\(tail)' (stripped)")
    }

    let selectors = HTMLSelectors(
      item: itemExpression, title: title, link: link, date: date, summary: summary,
      dateLocale: style.locale, dateFormat: style.format, timeZone: "Europe/Vilnius")
    guard
      let scraped = try? HTMLScraper.scrape(
        html, contentType: contentType, pageURL: page.pageURL, selectors: selectors)
    else { return nil }
    let entries = scraped.parsed.feed.entries
    guard entries.count >= 3 else { return nil }

    let score = ListingScore(page: page, bodyText: bodyText)
    let (confidence, coverage, furniture, scoreNotes) = score.confidence(
      entries: entries, group: group)
    notes.append(contentsOf: scoreNotes)
    let links = entries.compactMap(\.link)

    notes.insert("\(items.count) `\(group.tag)` items (\(itemExpression))", at: 0)
    notes.append(contentsOf: style.notes)
    let undated = entries.filter { $0.published == nil }.count
    if date == nil {
      notes.append("no dates found: the store will use the time each item is first seen")
    } else if undated > 0 {
      notes.append("\(undated) of \(entries.count) items have no date")
    }
    if summary == nil { notes.append("no lead found") }
    if group.skipped > 0 {
      notes.append("\(group.skipped) more elements of the same shape have no link (not items)")
    }
    if furniture { notes.append("in a menu, header, footer or sidebar: probably not the news") }
    notes.append(
      "items hold \(Int((coverage * 100).rounded()))% of the page's text")
    notes.append(contentsOf: scraped.warnings)
    let listing = InferredListing(
      selectors: selectors, confidence: confidence, itemCount: items.count, notes: notes)
    return (listing, links)
  }

  /// The "read more" tail most leads share ("Skaityti daugiau", "…"), as written; nil when
  /// fewer than half have one.
  static func readMoreTail(_ texts: [String]) -> String? {
    var counts: [String: Int] = [:]
    for text in texts {
      let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
      let stripped = HTMLScraper.stripReadMore(trimmed)
      guard stripped.count < trimmed.count, trimmed.hasPrefix(stripped) else { continue }
      let tail = String(trimmed.dropFirst(stripped.count)).trimmingCharacters(
        in: .whitespacesAndNewlines)
      if !tail.isEmpty { counts[tail, default: 0] += 1 }
    }
    guard let best = counts.max(by: { $0.value < $1.value }), best.value * 2 >= texts.count else {
      return nil
    }
    return best.key
  }
}
