import CLibXML2
import FeedModel
import Foundation

/// Core RSS 0.9x/2.0 and RSS 1.0 (RDF): the channel and its items, the content module's
/// `content:encoded` and `xhtml:body`.
extension FeedSAXReader {
  func startCore(_ c: El, in container: Container, _ t: Tag) -> Container {
    switch container {
    case .rssRoot:
      switch c {
      case .channel: return .feed
      case .item:
        // Items after `</channel>` (old CMSes): read all the same.
        startEntry(lang: t.lang)
        return .entry
      default: return .skip
      }
    case .rdfRoot:
      switch c {
      case .channel:
        if format == nil {
          format = t.uri.map { xmlStrEqual($0, NS.rss090) != 0 } == true ? .rss09x : .rss10
        }
        return .feed
      case .item:
        // RSS 1.0 items are siblings of the channel under rdf:RDF.
        startEntry(lang: t.lang)
        if let about = rdfAbout(t.n, t.atts) { current.entry.id = about }
        return .entry
      case .image: return .image
      default: return .skip
      }
    case .feed:
      switch c {
      case .item:
        startEntry(lang: t.lang)
        return .entry
      case .image: return .image
      case .title, .description, .link, .language, .copyright, .managingEditor, .webMaster,
        .pubDate, .lastBuildDate, .generator, .ttl:
        return capture(.text, t)
      case .category:
        let next = capture(.text, t)
        captureAttr = attribute(t.n, t.atts, "domain")
        return next
      default: return .skip
      }
    case .entry:
      switch c {
      case .title, .link, .pubDate, .author, .comments:
        return capture(.text, t)
      case .description, .contentEncoded:
        return capture(.html, t)
      case .xhtmlBody:
        return capture(.xhtml, t)
      case .guid:
        let next = capture(.text, t)
        captureAttr = attribute(t.n, t.atts, "isPermaLink")
        return next
      case .category:
        let next = capture(.text, t)
        captureAttr = attribute(t.n, t.atts, "domain")
        return next
      case .source:
        let next = capture(.text, t)
        captureAttr = attribute(t.n, t.atts, "url")
        return next
      case .enclosure:
        // `href` instead of `url` is a common mistake (Atom habits).
        if let url = attribute(t.n, t.atts, "url") ?? attribute(t.n, t.atts, "href"),
          let abs = absolute(url, base: bases[Int(t.base)])
        {
          addEnclosure(
            Enclosure(
              url: abs, type: attribute(t.n, t.atts, "type").flatMap(FeedSAXReader.trim),
              length: int64(attribute(t.n, t.atts, "length"))))
        }
        return .skip
      default: return .skip
      }
    case .image:
      return c == .url ? capture(.text, t) : .skip
    default:
      return .skip
    }
  }

  func finishCore(
    _ code: El, _ value: String, isHTML: Bool, in container: Container, lang: Int32
  ) {
    switch container {
    case .feed:
      switch code {
      case .title:
        if raw.feed.title == nil {
          raw.feed.title = value
          raw.titleIsHTML = isHTML
          raw.titleLang = langs[Int(lang)]
        }
      case .description:
        if raw.feed.subtitle == nil {
          raw.feed.subtitle = value
          raw.subtitleIsHTML = isHTML
        }
      case .link:
        if let abs = absolute(value, base: captureBase) {
          if raw.feed.link == nil { raw.feed.link = abs }
          FeedSAXReader.addLink(Link(href: abs, rel: "alternate"), to: &raw.feed.links)
        }
      case .language:
        if raw.feed.language == nil { raw.feed.language = trimmed(value) }
      case .copyright:
        if raw.feed.rights == nil {
          raw.feed.rights = value
          raw.rightsIsHTML = isHTML
        }
      case .managingEditor:
        if let p = PersonParser.parse(value) { FeedSAXReader.addPerson(p, to: &raw.feed.authors) }
      case .webMaster:
        if raw.feed.webMaster == nil { raw.feed.webMaster = PersonParser.parse(value) }
      case .pubDate:
        if raw.pubDateRaw == nil { raw.pubDateRaw = trimmed(value) }
      case .lastBuildDate:
        if raw.updatedRaw == nil { raw.updatedRaw = trimmed(value) }
      case .generator:
        raw.feed.generator = trimmed(value) ?? captureAttr
      case .ttl:
        raw.feed.ttlMinutes = trimmed(value).flatMap { Int($0) }
      case .category:
        if let term = trimmed(value) {
          raw.feed.categories.append(Category(term: term, scheme: captureAttr))
        }
      default: break
      }
    case .entry:
      switch code {
      case .title:
        current.entry.title = value
        current.titleIsHTML = isHTML
        current.titleLang = langs[Int(lang)]
      case .link:
        if let abs = absolute(value, base: captureBase) {
          current.rssLink = abs
          FeedSAXReader.addLink(Link(href: abs, rel: "alternate"), to: &current.entry.links)
          if current.entry.link == nil { current.entry.link = abs }
        }
      case .description:
        current.entry.summary = Text(type: isHTML ? .html : .text, value: value)
        current.summaryBase = captureBase
        current.summaryLang = langs[Int(lang)]
      case .contentEncoded, .xhtmlBody:
        if current.entry.content == nil || code != .xhtmlBody {
          current.entry.content = Text(type: isHTML ? .html : .text, value: value)
          current.contentBase = captureBase
          current.contentLang = langs[Int(lang)]
        }
      case .guid:
        current.guid = trimmed(value)
        current.guidIsPermaLink =
          captureAttr.map { FeedSAXReader.trim($0)?.lowercased() != "false" } ?? true
        if let g = current.guid { current.entry.id = g }
      case .pubDate:
        if let d = trimmed(value) { current.publishedRaw = d }
      case .author:
        if let p = PersonParser.parse(value) {
          FeedSAXReader.addPerson(p, to: &current.entry.authors)
        }
      case .category:
        if let term = trimmed(value), !current.entry.categories.contains(where: { $0.term == term })
        {
          current.entry.categories.append(Category(term: term, scheme: captureAttr))
        }
      case .comments:
        if let abs = absolute(value, base: captureBase) {
          if current.entry.comments == nil { current.entry.comments = abs }
          current.entry.links.append(Link(href: abs, rel: "replies", type: "text/html"))
        }
      case .source:
        current.entry.source = EntrySource(
          title: collapse(value), link: captureAttr.flatMap { absolute($0, base: captureBase) })
      default: break
      }
    case .image:
      if code == .url, raw.feed.logo == nil { raw.feed.logo = absolute(value, base: captureBase) }
    default: break
    }
  }
}
