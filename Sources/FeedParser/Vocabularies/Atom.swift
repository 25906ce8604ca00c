import CLibXML2
import FeedModel
import Foundation

/// Atom 1.0 and 0.3 (`atom:` / `atom10:` elements inside RSS too): the feed and its entries,
/// person constructs, links, categories and `atom:source`.
extension FeedSAXReader {
  func startAtom(_ c: El, in container: Container, _ t: Tag) -> Container {
    if foreignAtomURI != nil { foreignAtomElements += 1 }
    switch container {
    case .feed:
      switch c {
      case .entry:
        startEntry(lang: t.lang)
        return .entry
      case .aAuthor: return startPerson(.feedAuthor)
      case .aContributor: return startPerson(.feedContributor)
      case .aLink:
        feedLink(t)
        return .skip
      case .aCategory:
        if let cat = atomCategory(t.n, t.atts) {
          FeedSAXReader.addCategory(cat, to: &raw.feed.categories)
        }
        return .skip
      case .aId, .aUpdated, .aPublished, .aIcon, .aLogo:
        return capture(.text, t)
      case .aGenerator:
        let next = capture(.text, t)
        captureAttr = attribute(t.n, t.atts, "uri") ?? attribute(t.n, t.atts, "url")
        return next
      case .aTitle, .aSubtitle, .aRights:
        return capture(atomTextMode(t.n, t.atts, t.uri), t)
      default: return .skip
      }
    case .entry:
      switch c {
      case .aId, .aUpdated, .aPublished, .aCreated:
        return capture(.text, t)
      case .aContent:
        if let src = attribute(t.n, t.atts, "src").flatMap(FeedSAXReader.trim) {
          // Out-of-line content (RFC 4287 4.1.3.2): the element is empty, `type` is a MIME type.
          if let abs = absolute(src, base: bases[Int(t.base)]) {
            current.entry.contentSource = Link(
              href: abs, type: attribute(t.n, t.atts, "type").flatMap(FeedSAXReader.trim))
          }
          return .skip
        }
        return capture(atomTextMode(t.n, t.atts, t.uri), t)
      case .aTitle, .aSummary, .aRights:
        return capture(atomTextMode(t.n, t.atts, t.uri), t)
      case .aLink:
        entryLink(t)
        return .skip
      case .aCategory:
        if let cat = atomCategory(t.n, t.atts) { current.entry.categories.append(cat) }
        return .skip
      case .aAuthor: return startPerson(.entryAuthor)
      case .aContributor: return startPerson(.entryContributor)
      case .aSource:
        source = EntrySource()
        return .source
      default: return .skip
      }
    case .person:
      return c == .aName || c == .aEmail || c == .aUri ? capture(.text, t) : .skip
    case .source:
      switch c {
      case .aTitle, .aSubtitle, .aId, .aUpdated, .aIcon, .aLogo, .aRights:
        return capture(.text, t)
      case .aGenerator:
        let next = capture(.text, t)
        captureAttr = attribute(t.n, t.atts, "uri")
        return next
      case .aLink:
        if let link = link(t) {
          FeedSAXReader.addLink(link, to: &source.links)
          if link.rel == "alternate", source.link == nil { source.link = link.href }
        }
        return .skip
      case .aCategory:
        if let cat = atomCategory(t.n, t.atts) {
          FeedSAXReader.addCategory(cat, to: &source.categories)
        }
        return .skip
      case .aAuthor: return startPerson(.sourceAuthor)
      case .aContributor: return startPerson(.sourceContributor)
      default: return .skip
      }
    default:
      return .skip
    }
  }

  func finishAtom(
    _ code: El, _ value: String, isHTML: Bool, in container: Container, lang: Int32
  ) {
    switch container {
    case .feed:
      switch code {
      case .aTitle:
        raw.feed.title = value
        raw.titleIsHTML = isHTML
        raw.titleLang = langs[Int(lang)]
      case .aSubtitle:
        if raw.feed.subtitle == nil {
          raw.feed.subtitle = value
          raw.subtitleIsHTML = isHTML
        }
      case .aRights:
        if raw.feed.rights == nil {
          raw.feed.rights = value
          raw.rightsIsHTML = isHTML
        }
      case .aUpdated:
        if raw.updatedRaw == nil { raw.updatedRaw = trimmed(value) }
      case .aPublished:
        if raw.issuedRaw == nil { raw.issuedRaw = trimmed(value) }
      case .aGenerator:
        raw.feed.generator = trimmed(value) ?? captureAttr
      case .aId:
        if raw.feed.id == nil { raw.feed.id = trimmed(value) }
      case .aIcon:
        raw.feed.icon = absolute(value, base: captureBase)
      case .aLogo:
        raw.feed.logo = absolute(value, base: captureBase)
      default: break
      }
    case .entry:
      switch code {
      case .aTitle:
        current.entry.title = value
        current.titleIsHTML = isHTML
        current.titleLang = langs[Int(lang)]
      case .aSummary:
        current.entry.summary = Text(type: isHTML ? .html : .text, value: value)
        current.summaryBase = captureBase
        current.summaryLang = langs[Int(lang)]
      case .aContent:
        current.entry.content = Text(type: isHTML ? .html : .text, value: value)
        current.contentBase = captureBase
        current.contentLang = langs[Int(lang)]
      case .aRights:
        current.entry.rights = value
        current.rightsIsHTML = isHTML
      case .aId:
        if let id = trimmed(value) { current.entry.id = id }
      case .aPublished:
        if let d = trimmed(value) { current.publishedRaw = d }
      case .aCreated:
        current.createdRaw = trimmed(value)
        if current.publishedRaw == nil { current.publishedRaw = current.createdRaw }
      case .aUpdated:
        if let d = trimmed(value) { current.updatedRaw = d }
      default: break
      }
    case .person:
      switch code {
      case .aName: person.name = collapse(value)
      case .aEmail: person.email = trimmed(value)
      case .aUri: person.uri = absolute(value, base: captureBase)
      default: break
      }
    case .source:
      switch code {
      case .aTitle: source.title = collapse(value)
      case .aSubtitle: source.subtitle = collapse(value)
      case .aId: source.id = trimmed(value)
      case .aUpdated: current.sourceUpdatedRaw = trimmed(value)
      case .aIcon: source.icon = absolute(value, base: captureBase)
      case .aLogo: source.logo = absolute(value, base: captureBase)
      case .aRights: source.rights = collapse(value)
      case .aGenerator: source.generator = collapse(value) ?? captureAttr
      default: break
      }
    default: break
    }
  }

  /// An `atom:link` with every attribute; nil without a usable `href`.
  func link(_ t: Tag) -> Link? {
    guard let href = attribute(t.n, t.atts, "href"),
      let abs = absolute(href, base: bases[Int(t.base)])
    else {
      return nil
    }
    func attr(_ name: String) -> String? {
      attribute(t.n, t.atts, name).flatMap(FeedSAXReader.trim)
    }
    return Link(
      href: abs, rel: attr("rel") ?? "alternate", type: attr("type"),
      title: attribute(t.n, t.atts, "title").flatMap(FeedSAXReader.collapse),
      length: int64(attribute(t.n, t.atts, "length")), hreflang: attr("hreflang"))
  }

  /// Feed-level links: all kept in `links` (WebSub `hub`, paging, archives…); `link` is the
  /// first alternate, `selfLink` the first self.
  func feedLink(_ t: Tag) {
    guard let l = link(t) else { return }
    FeedSAXReader.addLink(l, to: &raw.feed.links)
    if l.rel == "alternate" {
      if raw.feed.link == nil { raw.feed.link = l.href }
    } else if l.rel == "self" {
      if raw.feed.selfLink == nil { raw.feed.selfLink = l.href }
    }
  }

  func entryLink(_ t: Tag) {
    guard let l = link(t) else { return }
    current.entry.links.append(l)
    if l.rel == "alternate" && current.entry.link == nil { current.entry.link = l.href }
    if l.rel == "enclosure" {
      addEnclosure(Enclosure(url: l.href, type: l.type, length: l.length))
    }
  }

  func atomCategory(_ n: Int, _ atts: Attributes) -> FeedModel.Category? {
    guard let term = attribute(n, atts, "term").flatMap(FeedSAXReader.trim)
    else { return nil }
    return Category(
      term: term, scheme: attribute(n, atts, "scheme"), label: attribute(n, atts, "label"))
  }
}
