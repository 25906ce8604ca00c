import CLibXML2
import FeedParser
import Foundation

/// Writes XPath 1.0 selectors for a group and keeps only the ones that select exactly what was
/// seen. Candidates go from the most robust (a stable class, an `itemprop`, a semantic tag,
/// reached with `//` so that an added wrapper changes nothing) to plain structure; positional
/// indexes come last and only inside an item.
struct ListingSelectorWriter {
  let page: ListingPage

  // MARK: - Items

  /// An absolute expression that selects exactly the group's items, in document order.
  func itemExpression(_ group: ListingGroup) -> String? {
    let nodes = group.items.map(\.node)
    let wanted = nodes.map { Int(bitPattern: $0) }
    let tag = group.tag
    let common = commonClasses(nodes)
    let anchors = self.anchors(above: group.container)
    let filter = tag == "a" ? "[@href]" : "[.//a[@href]]"
    var candidates: [String] = []
    for c in common {
      candidates.append("//\(tag)[\(ListingVocabulary.hasClass(c))]")
      for a in anchors { candidates.append("\(a)//\(tag)[\(ListingVocabulary.hasClass(c))]") }
    }
    if let prop = commonAttribute(nodes, "itemprop") {
      candidates.append("//\(tag)[@itemprop='\(prop)']")
      for a in anchors { candidates.append("\(a)//\(tag)[@itemprop='\(prop)']") }
    }
    if tag == "article" { candidates.append("//article") }
    let parentTags = Set(nodes.compactMap { $0.pointee.parent }.map(ListingPage.tag))
    for a in anchors {
      if parentTags.count == 1, let p = parentTags.first, !p.isEmpty {
        candidates.append("\(a)//\(p)/\(tag)")
        candidates.append("\(a)//\(p)/\(tag)\(filter)")
      }
      candidates.append("\(a)//\(tag)")
      candidates.append("\(a)//\(tag)\(filter)")
    }
    for c in candidates where page.evaluate(c, at: nil).map({ Int(bitPattern: $0) }) == wanted {
      return c
    }
    return nil
  }

  /// Stable classes every node has, best item words first.
  func commonClasses(_ nodes: [xmlNodePtr]) -> [String] {
    guard let first = nodes.first else { return [] }
    var common = Set(ListingPage.classes(first).filter(ListingVocabulary.isStableClass))
    for n in nodes.dropFirst() { common.formIntersection(ListingPage.classes(n)) }
    return common.sorted { a, b in
      let ra = ListingVocabulary.itemRank(a)
      let rb = ListingVocabulary.itemRank(b)
      if ra != rb { return ra > rb }
      if let ia = ListingVocabulary.itemWords.firstIndex(of: a.lowercased()),
        let ib = ListingVocabulary.itemWords.firstIndex(of: b.lowercased()), ia != ib
      {
        return ia < ib
      }
      return a.count != b.count ? a.count < b.count : a < b
    }
  }

  func commonAttribute(_ nodes: [xmlNodePtr], _ name: String) -> String? {
    guard let first = nodes.first, let value = HTMLTree.attribute(first, name),
      ListingVocabulary.isStableID(value)
    else { return nil }
    return nodes.allSatisfy({ HTMLTree.attribute($0, name) == value }) ? value : nil
  }

  /// Where the listing lives, nearest first: ancestors with a stable id or class, `main`, and
  /// the whole document ("") last.
  func anchors(above parent: xmlNodePtr) -> [String] {
    var out: [String] = []
    for n in [parent] + ListingPage.ancestors(parent) {
      let tag = ListingPage.tag(n)
      if tag == "body" || tag == "html" { break }
      if let id = HTMLTree.attribute(n, "id"), ListingVocabulary.isStableID(id) {
        out.append("//\(tag)[@id='\(id)']")
      }
      let classes = ListingPage.classes(n).filter {
        ListingVocabulary.isStableClass($0) && !ListingVocabulary.layoutClasses.contains($0)
      }
      for c in classes.prefix(2) { out.append("//\(tag)[\(ListingVocabulary.hasClass(c))]") }
      if tag == "main" { out.append("//main") }
      if out.count >= 6 { break }
    }
    out.append("")
    return out
  }

  // MARK: - Fields inside an item

  /// A relative expression that, at every item with a target, gives what `accepts` wants;
  /// candidates are drawn from the first items' targets, most robust first.
  func fieldExpression(
    _ items: [ListingItem], role: (String) -> Bool = { _ in false },
    target: (ListingItem) -> xmlNodePtr?,
    accepts: (ListingItem, [xmlNodePtr]) -> Bool
  ) -> String? {
    var candidates: [String] = []
    var seen = Set<String>()
    for item in items.prefix(3) {
      guard let t = target(item) else { continue }
      let found = relativeCandidates(t, in: item.node, role: role, after: item.title)
      for c in found where seen.insert(c).inserted {
        candidates.append(c)
      }
    }
    let checked = items.filter { target($0) != nil }
    guard !checked.isEmpty else { return nil }
    for c in candidates
    where checked.allSatisfy({ accepts($0, page.evaluate(c, at: $0.node)) }) {
      return c
    }
    return nil
  }

  /// Ways to reach `target` from `item`: by itemprop, by its classes, through a classed or
  /// heading ancestor, by tag, by tag path, and last by position among its tag. Expressions
  /// naming a class or itemprop that `role` recognises (`views-field-created` for a date) go
  /// first.
  func relativeCandidates(
    _ target: xmlNodePtr, in item: xmlNodePtr, role: (String) -> Bool, after title: xmlNodePtr
  ) -> [String] {
    if target == item { return ["."] }
    let tag = ListingPage.tag(target)
    var named: [String] = []
    var out: [String] = []
    func add(_ expression: String, name: String) {
      if role(name) { named.append(expression) } else { out.append(expression) }
    }
    if let prop = HTMLTree.attribute(target, "itemprop"), ListingVocabulary.isStableID(prop) {
      add(".//\(tag)[@itemprop='\(prop)']", name: prop)
    }
    for c in ListingPage.classes(target) where ListingVocabulary.isStableClass(c) {
      add(".//\(tag)[\(ListingVocabulary.hasClass(c))]", name: c)
    }
    let chain = ListingPage.ancestors(target).prefix { $0 != item }
    for a in chain {
      let at = ListingPage.tag(a)
      if let prop = HTMLTree.attribute(a, "itemprop"), ListingVocabulary.isStableID(prop) {
        add(".//\(at)[@itemprop='\(prop)']//\(tag)", name: prop)
      }
      for c in ListingPage.classes(a) where ListingVocabulary.isStableClass(c) {
        add(".//\(at)[\(ListingVocabulary.hasClass(c))]//\(tag)", name: c)
      }
      if ListingVocabulary.headings.contains(at) { out.append(".//\(at)//\(tag)") }
    }
    if ListingVocabulary.headings.contains(tag) || tag == "time" { out.append(".//\(tag)") }
    if let parent = chain.first { out.append(".//\(ListingPage.tag(parent))/\(tag)") }
    out.append(".//\(tag)")
    if HTMLTree.attribute(target, "class") == nil { out.append(".//\(tag)[not(@class)]") }
    // The element right after the title's heading ("the paragraph after the h3"), when the
    // target's own classes are shared with other parts of the item.
    for t in [title] + ListingPage.ancestors(title).prefix(while: { $0 != item })
    where t != target && t.pointee.parent == target.pointee.parent {
      var sibling = t.pointee.next
      while let s = sibling, s != target { sibling = s.pointee.next }
      guard sibling == target else { continue }
      let tt = ListingPage.tag(t)
      for c in ListingPage.classes(t) where ListingVocabulary.isStableClass(c) {
        out.append(".//\(tt)[\(ListingVocabulary.hasClass(c))]/following-sibling::\(tag)")
      }
      out.append(".//\(tt)/following-sibling::\(tag)")
    }
    let path = ([tag] + chain.map(ListingPage.tag)).reversed().joined(separator: "/")
    out.append("./" + path)
    let sameTag = page.evaluate(".//\(tag)", at: item)
    if let k = sameTag.firstIndex(of: target) { out.append("(.//\(tag))[\(k + 1)]") }
    return named + out
  }
}
