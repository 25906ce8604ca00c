import CLibXML2
import FeedParser
import Foundation

/// What one element of a repeated group looks like as a news item.
struct ListingItem {
  let node: xmlNodePtr
  /// The element whose text is the title: a heading, else the main link.
  let title: xmlNodePtr
  let titleText: String
  /// The main link (`a` element) and where it points, absolute.
  let link: xmlNodePtr
  let href: String
  var date: xmlNodePtr?
  var dateValue: Date?
  var summary: xmlNodePtr?
}

/// A group of sibling (or cousin) elements with one shape, each holding one main link.
struct ListingGroup {
  /// The element the group was found under.
  let parent: xmlNodePtr
  let tag: String
  let items: [ListingItem]
  /// Elements of the same shape that held no usable main link.
  let skipped: Int

  /// The nearest element holding every item (the list itself, not a wrapper around it).
  var container: xmlNodePtr {
    guard let first = items.first?.node else { return parent }
    var candidate: xmlNodePtr? = first.pointee.parent
    while let c = candidate {
      if items.allSatisfy({ ListingPage.contains(c, $0.node) }) { return c }
      candidate = c.pointee.parent
    }
    return parent
  }
}

/// Finds repeated structures and reads each member as a news item.
struct ListingGrouper {
  let page: ListingPage
  /// Month names tried first while looking for dates: the page's language.
  let locale: String

  /// Groups of ≥ 3 elements with one tag and a shared class (or none), under one parent
  /// (children) or one grand- or great-grandparent (cousins: Joomla's `items-row > item`, grid
  /// rows of cards), each with one main link.
  func groups() -> [ListingGroup] {
    guard let body = page.body else { return [] }
    var seen = Set<[Int]>()
    var out: [ListingGroup] = []
    let elements = [body] + ListingPage.descendants(body)
    for parent in elements {
      let kids = ListingPage.children(parent)
      guard !kids.isEmpty else { continue }
      // Children, grandchildren and great-grandchildren: Bootstrap grids put each card in a
      // column in a row (`row > col-md-4 > card`).
      var levels = [kids]
      let grandchildren = kids.flatMap(ListingPage.children)
      if kids.count >= 2, grandchildren.count >= 3 {
        levels.append(grandchildren)
        let third = grandchildren.flatMap(ListingPage.children)
        if third.count >= 3 { levels.append(third) }
      }
      for level in levels {
        for members in shapes(level) where members.count >= 3 {
          let key = members.map { Int(bitPattern: $0) }
          guard seen.insert(key).inserted else { continue }
          let items = members.compactMap(item(of:))
          guard items.count >= 3, items.count * 2 >= members.count else { continue }
          out.append(
            ListingGroup(
              parent: parent, tag: ListingPage.tag(members[0]), items: items,
              skipped: members.count - items.count))
        }
      }
    }
    return out
  }

  /// Splits elements into shapes: by tag, then by the stable class most of them share
  /// (`post`, `views-row`); the unclassed ones of a tag are a shape too, as is the whole tag.
  func shapes(_ nodes: [xmlNodePtr]) -> [[xmlNodePtr]] {
    var byTag: [String: [xmlNodePtr]] = [:]
    var order: [String] = []
    for n in nodes {
      let t = ListingPage.tag(n)
      if byTag[t] == nil { order.append(t) }
      byTag[t, default: []].append(n)
    }
    var out: [[xmlNodePtr]] = []
    for t in order {
      guard let all = byTag[t], all.count >= 3 else { continue }
      let stable = all.map { Set(ListingPage.classes($0).filter(ListingVocabulary.isStableClass)) }
      var remaining = Array(all.indices)
      while remaining.count >= 3 {
        var frequency: [String: Int] = [:]
        for k in remaining { for c in stable[k] { frequency[c, default: 0] += 1 } }
        let best = frequency.filter { $0.value >= 3 }.max { a, b in
          if a.value != b.value { return a.value < b.value }
          let ra = ListingVocabulary.itemRank(a.key)
          let rb = ListingVocabulary.itemRank(b.key)
          if ra != rb { return ra < rb }
          return a.key > b.key
        }
        guard let best else { break }
        out.append(remaining.filter { stable[$0].contains(best.key) }.map { all[$0] })
        remaining.removeAll { stable[$0].contains(best.key) }
      }
      let plain = all.indices.filter { stable[$0].isEmpty }.map { all[$0] }
      if plain.count >= 3 && plain.count < all.count { out.append(plain) }
      out.append(all)
    }
    return out
  }

  /// The element read as one story, or nil when it has no main link (or several: then it is a
  /// container of stories, not one).
  func item(of node: xmlNodePtr) -> ListingItem? {
    let inside = ListingPage.descendants(node, limit: 400)
    guard inside.count < 400 else { return nil }
    var links: [(node: xmlNodePtr, href: String)] = []
    if ListingPage.tag(node) == "a", let href = page.absoluteLink(node) {
      links.append((node, href))
    }
    for n in inside where ListingPage.tag(n) == "a" {
      if let href = page.absoluteLink(n) { links.append((n, href)) }
    }
    guard !links.isEmpty else { return nil }
    let substantial = Set(links.filter { isSubstantial(page.text($0.node)) }.map(\.href))
    guard substantial.count <= 2 else { return nil }

    var title: xmlNodePtr
    var link: (node: xmlNodePtr, href: String)
    if let heading = inside.first(where: {
      ListingVocabulary.headings.contains(ListingPage.tag($0)) && !page.text($0).isEmpty
    }) {
      title = heading
      let headingText = page.text(heading)
      if let inner = links.first(where: { ListingPage.contains(heading, $0.node) }) {
        link = inner
      } else if let outer = links.first(where: { ListingPage.contains($0.node, heading) }) {
        link = outer
      } else if let same = links.first(where: { page.text($0.node) == headingText }) {
        link = same
      } else if let more = links.first(where: { isReadMore(page.text($0.node)) }) {
        link = more
      } else if substantial.count <= 1, let first = links.first {
        link = first
      } else {
        return nil
      }
    } else {
      let named = links.filter {
        let text = page.text($0.node)
        return !text.isEmpty && !isReadMore(text)
      }
      guard let longest = named.max(by: { page.text($0.node).count < page.text($1.node).count })
      else { return nil }
      link = longest
      title = longest.node
    }
    let titleText = page.text(title)
    guard titleText.count >= 4, titleText.count <= 300 else { return nil }
    if substantial.count == 2 && !substantial.contains(link.href) { return nil }
    var result = ListingItem(
      node: node, title: title, titleText: titleText, link: link.node, href: link.href)
    (result.date, result.dateValue) = findDate(in: inside, excluding: title)
    result.summary = findSummary(in: inside, item: result)
    return result
  }

  /// Link text that is a story title rather than a label: three words or fifteen characters.
  func isSubstantial(_ text: String) -> Bool {
    guard !isReadMore(text) else { return false }
    return text.count >= 15 || text.split(separator: " ").count >= 3
  }

  /// "Skaityti daugiau", "Plačiau »", "Read more": the scraper's tails and nothing else.
  func isReadMore(_ text: String) -> Bool {
    !text.isEmpty && HTMLScraper.stripReadMore(text).isEmpty
  }

  /// Date strings an element offers, in the scraper's order: its `datetime`, its `content`, its
  /// text.
  static func dateStrings(_ node: xmlNodePtr, page: ListingPage) -> [String] {
    var out: [String] = []
    if let v = HTMLTree.attribute(node, "datetime") { out.append(v) }
    if let v = HTMLTree.attribute(node, "content") { out.append(v) }
    out.append(page.text(node))
    return out.filter { !$0.isEmpty }
  }

  func parseDate(_ node: xmlNodePtr) -> Date? {
    for s in ListingGrouper.dateStrings(node, page: page) {
      if let d = LocaleDateParser.parse(s, locale: locale) { return d }
    }
    return nil
  }

  /// The element holding the item's date: a `time`, else an element whose class, id or itemprop
  /// says date, else the smallest short element whose text reads as a date. Never the title.
  func findDate(in inside: [xmlNodePtr], excluding title: xmlNodePtr) -> (xmlNodePtr?, Date?) {
    let usable = inside.filter {
      !ListingPage.contains($0, title) && !ListingPage.contains(title, $0)
    }
    for n in usable where ListingPage.tag(n) == "time" {
      if let d = parseDate(n) { return (n, d) }
    }
    for n in usable {
      let names =
        ListingPage.classes(n)
        + [HTMLTree.attribute(n, "id"), HTMLTree.attribute(n, "itemprop")]
        .compactMap { $0 }
      guard names.contains(where: ListingVocabulary.mentionsDate), page.text(n).count <= 80 else {
        continue
      }
      if let d = parseDate(n) { return (n, d) }
    }
    // The deepest short element that parses: the last one in document order among nested
    // candidates, so that a `td` wins over its `tr`.
    var best: (xmlNodePtr, Date)?
    for n in usable where page.text(n).count <= 60 {
      guard let d = parseDate(n) else { continue }
      if let (b, _) = best, !ListingPage.contains(b, n) { break }
      best = (n, d)
    }
    if let best { return (best.0, best.1) }
    return (nil, nil)
  }

  /// The element holding the item's lead: one whose class says excerpt/summary/intro…, else the
  /// first paragraph of some length; never one holding the title or the date.
  func findSummary(in inside: [xmlNodePtr], item: ListingItem) -> xmlNodePtr? {
    func eligible(_ n: xmlNodePtr, minimum: Int) -> Bool {
      if ListingPage.contains(n, item.title) || ListingPage.contains(item.title, n) { return false }
      if let date = item.date, ListingPage.contains(n, date) || ListingPage.contains(date, n) {
        return false
      }
      if ListingPage.contains(n, item.link) { return false }
      let text = HTMLScraper.stripReadMore(page.text(n))
      return text.count >= minimum
    }
    for n in inside where ListingPage.classes(n).contains(where: ListingVocabulary.mentionsSummary)
    {
      if eligible(n, minimum: 20) { return n }
    }
    for n in inside where ListingPage.tag(n) == "p" {
      if eligible(n, minimum: 30) { return n }
    }
    return nil
  }
}
