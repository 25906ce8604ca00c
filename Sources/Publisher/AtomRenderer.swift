import FeedModel
import FeedStore
import Foundation

/// RFC 4287 Atom with RFC 5005 paging links. Validated against the RFC's RELAX NG schema in tests.
enum AtomRenderer {
  static func render(_ ctx: TimelineContext) -> [UInt8] {
    var o = Output()
    o.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n")
    let isArchive = ctx.archive?.isArchive ?? false
    o.open(
      "feed",
      [
        ("xmlns", "http://www.w3.org/2005/Atom"),
        ("xmlns:fh", isArchive ? "http://purl.org/syndication/history/1.0" : nil),
        ("xmlns:media", Namespaces.media), ("xmlns:georss", Namespaces.georss),
        ("xml:lang", TimelineContext.languageTag(ctx.options.language)),
      ])
    o.raw("\n")
    if isArchive { o.raw("<fh:archive/>\n") }
    o.element("id", ctx.feedID)
    o.element("title", ctx.title, [("type", "text")])
    if let subtitle = ctx.options.subtitle { o.element("subtitle", subtitle, [("type", "text")]) }
    o.element("updated", DateFormat.rfc3339(ctx.updated))
    o.open("author")
    o.element("name", ctx.options.author)
    o.element("uri", ctx.base)
    o.close("author")
    o.element(
      "generator", "clusterwire",
      [
        ("version", ctx.options.generatorVersion)
      ])
    link(&o, ctx.selfURL(.atom), rel: "self", type: "application/atom+xml")
    for hub in ctx.options.hubLinks { link(&o, hub, rel: "hub") }
    link(&o, ctx.url(.html), rel: "alternate", type: "text/html")
    if let archive = ctx.archive {
      let atom = "application/atom+xml"
      if archive.isArchive { link(&o, archive.current, rel: "current", type: atom) }
      link(&o, archive.prevArchive, rel: "prev-archive", type: atom)
      link(&o, archive.nextArchive, rel: "next-archive", type: atom)
    }
    if !isArchive {
      link(&o, ctx.url(.atom), rel: "first", type: "application/atom+xml")
      if let next = ctx.nextURL(.atom) {
        link(&o, next, rel: "next", type: "application/atom+xml")
      }
      if let prev = ctx.previousURL(.atom) {
        link(&o, prev, rel: "previous", type: "application/atom+xml")
      }
    }
    o.raw("\n")
    var heads = SourceHeads()
    for item in ctx.page.items { entry(&o, item, ctx, heads: &heads) }
    o.close("feed")
    o.raw("\n")
    return o.bytes
  }

  static func link(
    _ o: inout Output, _ href: String?, rel: String, type: String? = nil, title: String? = nil,
    length: Int64? = nil, hreflang: String? = nil
  ) {
    guard let href else { return }
    o.open(
      "link",
      [
        ("rel", rel), ("href", href), ("type", TimelineContext.mediaType(type)),
        ("hreflang", TimelineContext.languageTag(hreflang)), ("title", title),
        ("length", length.flatMap { $0 >= 0 ? String($0) : nil }),
      ], close: true)
  }

  /// A person construct; callers pass people named by `TimelineContext.people`.
  static func person(_ o: inout Output, _ tag: String, _ p: Person) {
    guard let name = p.name else { return }
    o.open(tag)
    o.element("name", name)
    o.element("uri", TextTools.safeURL(p.uri))
    o.element("email", TimelineContext.email(p.email))
    o.close(tag)
  }

  static func category(_ o: inout Output, _ c: FeedModel.Category) {
    guard !c.term.isEmpty else { return }
    o.open(
      "category", [("term", c.term), ("scheme", TextTools.safeURL(c.scheme)), ("label", c.label)],
      close: true)
  }

  static func textConstruct(_ o: inout Output, _ tag: String, _ t: Text, inherited: String?) {
    o.element(
      tag, t.value,
      [
        ("type", t.type == .html ? "html" : "text"),
        ("xml:lang", TimelineContext.ownLanguage(t.language, inherited: inherited)),
      ])
  }

  static func entry(
    _ o: inout Output, _ item: TimelineItem, _ ctx: TimelineContext, heads: inout SourceHeads
  ) {
    let stored = item.entry
    let e = stored.entry
    let language = TimelineContext.languageTag(stored.language ?? e.language)
    // What the entry's elements inherit: its own xml:lang, else the feed's.
    let inherited = language ?? TimelineContext.languageTag(ctx.options.language)
    o.open("entry", [("xml:lang", language)])
    o.element("id", stored.atomID)
    o.element(
      "title", TimelineContext.entryTitle(item),
      [
        ("type", "text"),
        ("xml:lang", TimelineContext.ownLanguage(e.titleLanguage, inherited: inherited)),
      ])
    o.element("updated", DateFormat.rfc3339(stored.contentUpdated))
    if let published = e.published { o.element("published", DateFormat.rfc3339(published)) }
    if let rights = e.rights, !rights.isEmpty { o.element("rights", rights, [("type", "text")]) }
    let alternate = TextTools.safeURL(e.link)
    let ownAlternate = e.links.first { ($0.rel ?? "alternate") == "alternate" && $0.href == e.link }
    link(
      &o, alternate, rel: "alternate", type: "text/html", title: ownAlternate?.title,
      hreflang: ownAlternate?.hreflang)
    // Translations (alternates in another language) too, one per type and language (RFC 4287
    // 4.1.1).
    var alternates: Set<String> = [
      "text/html " + (TimelineContext.languageTag(ownAlternate?.hreflang)?.lowercased() ?? "")
    ]
    for l in e.links where (l.rel ?? "alternate") == "alternate" && l.href != e.link {
      guard let href = TextTools.safeURL(l.href),
        let language = TimelineContext.languageTag(l.hreflang)
      else { continue }
      let type = TimelineContext.mediaType(l.type) ?? "text/html"
      guard alternates.insert(type + " " + language.lowercased()).inserted else { continue }
      link(&o, href, rel: "alternate", type: type, title: l.title, hreflang: language)
    }
    for l in TimelineContext.licenses(e) {
      link(&o, l.href, rel: "license", type: l.type, title: l.title, hreflang: l.hreflang)
    }
    for l in e.links where l.rel == "enclosure" {
      let enc = e.enclosures.first { $0.url == l.href }
      link(
        &o, TextTools.safeURL(l.href), rel: "enclosure", type: l.type ?? enc?.type,
        title: l.title, length: l.length ?? enc?.length, hreflang: l.hreflang)
    }
    for enc in e.enclosures
    where !e.links.contains(where: { $0.rel == "enclosure" && $0.href == enc.url }) {
      link(&o, TextTools.safeURL(enc.url), rel: "enclosure", type: enc.type, length: enc.length)
    }
    link(&o, TimelineContext.comments(e), rel: "replies", type: "text/html")
    for dup in item.duplicates {
      let label = [dup.sourceTitle ?? dup.sourceID, dup.title].compactMap { $0 }.joined(
        separator: ": ")
      link(&o, TextTools.safeURL(dup.link), rel: "related", type: "text/html", title: label)
    }
    let ownSource = TimelineContext.ownSource(e)
    if ownSource != nil {
      // The entry's atom:source names the feed it first appeared in; the feed clusterwire read
      // it from stays named too.
      link(
        &o, TextTools.safeURL(item.source.url), rel: "via",
        title: TimelineContext.sourceTitle(item.source))
    }
    for a in TimelineContext.authors(item) { person(&o, "author", a) }
    for c in TimelineContext.people(e.contributors) { person(&o, "contributor", c) }
    for c in e.categories { category(&o, c) }
    for slug in item.source.categories {
      o.open("category", [("term", slug), ("scheme", ctx.base + "categories/")], close: true)
    }
    // Out-of-line content (RFC 4287 4.1.3.2): an empty `content` whose `type` must be a MIME
    // type, and then the entry must have a summary (4.1.1.1); the title serves when it has none.
    let outOfLine = e.content == nil ? TextTools.safeURL(e.contentSource?.href) : nil
    if let summary = e.summary {
      textConstruct(&o, "summary", summary, inherited: inherited)
    } else if outOfLine != nil {
      o.element("summary", TimelineContext.entryTitle(item), [("type", "text")])
    }
    if let content = e.content {
      textConstruct(&o, "content", content, inherited: inherited)
    } else if let outOfLine {
      let type = e.contentSource?.type.flatMap { $0.contains("/") ? $0 : nil }
      o.element("content", "", [("type", type), ("src", outOfLine)])
    } else if alternate == nil {
      // RFC 4287 4.1.1.1: an entry without an alternate link must carry content.
      o.element(
        "content", e.summary.map { TextTools.plainText($0.value) } ?? "", [("type", "text")])
    }
    if let own = ownSource {
      // RFC 4287 4.2.11: an atom:source is added only "if it is not already present".
      source(&o, own)
    } else {
      // An archive page must not change when a source is merely fetched again: there the
      // source's `updated` is the story's own (the source as of this story).
      source(
        &o, item.source, head: heads.head(item.source),
        updated: (ctx.archive?.isArchive ?? false) ? stored.contentUpdated : nil)
    }
    extensions(&o, e)
    o.close("entry")
    o.raw("\n")
  }

  /// Media RSS thumbnails and GeoRSS, as the W3C feed validator accepts them in Atom.
  static func extensions(_ o: inout Output, _ e: Entry) {
    for t in e.media?.thumbnails ?? [] {
      guard let url = TextTools.safeURL(t.url) else { continue }
      o.open(
        "media:thumbnail",
        [
          ("url", url), ("width", t.width.flatMap { $0 > 0 ? String($0) : nil }),
          ("height", t.height.flatMap { $0 > 0 ? String($0) : nil }),
        ], close: true)
    }
    if let geo = e.geo, let (name, value) = TimelineContext.geoRSS(geo) {
      o.element(name, value)
      if let f = geo.featureName, !f.isEmpty { o.element("georss:featurename", f) }
    }
  }

  /// The links of a source worth republishing: where it is (`self`), its pages (`alternate`),
  /// its licence and related resources; never its paging or hub links. Each once; one alternate
  /// per type and language (RFC 4287 4.1.1).
  static func sourceLinks(_ links: [Link]) -> [Link] {
    var seen = Set<String>()
    var alternates = Set<String>()
    var out: [Link] = []
    for var l in links {
      let rel = l.rel ?? "alternate"
      guard ["alternate", "self", "license", "related", "via"].contains(rel),
        let href = TextTools.safeURL(l.href), seen.insert(rel + " " + href).inserted
      else { continue }
      if rel == "alternate" {
        let key =
          (TimelineContext.mediaType(l.type) ?? "") + " "
          + (TimelineContext.languageTag(l.hreflang) ?? "")
        guard alternates.insert(key).inserted else { continue }
      }
      l.rel = rel
      l.href = href
      out.append(l)
    }
    return out
  }

  static func sourceLink(_ o: inout Output, _ l: Link) {
    link(
      &o, l.href, rel: l.rel ?? "alternate", type: l.type, title: l.title, length: l.length,
      hreflang: l.hreflang)
  }

  /// The entry's own `atom:source`, as the entry brought it.
  static func source(_ o: inout Output, _ s: EntrySource) {
    o.open("source")
    o.element("id", s.id.flatMap { $0.isEmpty ? nil : $0 })
    o.element("title", s.title, [("type", "text")])
    o.element("subtitle", s.subtitle, [("type", "text")])
    if let updated = s.updated { o.element("updated", DateFormat.rfc3339(updated)) }
    var links = s.links
    if let link = s.link, !links.contains(where: { ($0.rel ?? "alternate") == "alternate" }) {
      links.insert(Link(href: link, rel: "alternate"), at: 0)
    }
    for l in sourceLinks(links) { sourceLink(&o, l) }
    for a in TimelineContext.people(s.authors) { person(&o, "author", a) }
    for c in TimelineContext.people(s.contributors) { person(&o, "contributor", c) }
    for c in s.categories { category(&o, c) }
    o.element("generator", s.generator.flatMap { $0.isEmpty ? nil : $0 })
    o.element("icon", TextTools.safeURL(s.icon))
    o.element("logo", TextTools.safeURL(s.logo))
    if let rights = s.rights, !rights.isEmpty { o.element("rights", rights, [("type", "text")]) }
    o.close("source")
  }

  /// The `atom:source` of an entry that brought none: the fetched feed's head as stored (or,
  /// before one was stored, the source's feed* columns), so a reader knows which feed the story
  /// came from.
  static func source(
    _ o: inout Output, _ s: SourceState, head: Feed?, updated fixed: Date? = nil
  ) {
    func nonEmpty(_ v: String?) -> String? { v.flatMap { $0.isEmpty ? nil : $0 } }
    o.open("source")
    o.element("id", nonEmpty(head?.id) ?? nonEmpty(s.feedID) ?? s.url)
    o.element("title", nonEmpty(head?.title) ?? TimelineContext.sourceTitle(s), [("type", "text")])
    o.element("subtitle", nonEmpty(head?.subtitle), [("type", "text")])
    if let updated = fixed ?? head?.updated ?? s.feedUpdated ?? s.lastSuccess {
      o.element("updated", DateFormat.rfc3339(updated))
    }
    // `self` is the feed's own when it declares one, else the URL clusterwire fetches.
    var links = [Link(href: nonEmpty(head?.selfLink) ?? s.url, rel: "self")]
    if let head {
      links += head.links.filter { $0.rel != "self" }
      if let alternate = head.link, !links.contains(where: { $0.rel == "alternate" }) {
        links.append(Link(href: alternate, rel: "alternate", type: "text/html"))
      }
    } else if let alternate = s.feedLink {
      links.append(Link(href: alternate, rel: "alternate", type: "text/html"))
    }
    // Alternates first (as before the head was stored), then self, licence…
    let isAlternate = { (l: Link) in (l.rel ?? "alternate") == "alternate" }
    for l in sourceLinks(links.filter(isAlternate) + links.filter { !isAlternate($0) }) {
      sourceLink(&o, l)
    }
    let authors = TimelineContext.people(head?.authors ?? [])
    if !authors.isEmpty {
      for a in authors { person(&o, "author", a) }
    } else if let author = s.feedAuthor, !author.isEmpty {
      person(&o, "author", Person(name: author))
    }
    for c in TimelineContext.people(head?.contributors ?? []) { person(&o, "contributor", c) }
    for c in head?.categories ?? [] { category(&o, c) }
    o.element("generator", nonEmpty(head?.generator))
    if let head {
      o.element("icon", TextTools.safeURL(head.icon))
      o.element("logo", TextTools.safeURL(head.logo))
    } else {
      o.element("icon", TextTools.safeURL(s.feedIcon))
    }
    if let rights = nonEmpty(head?.rights) ?? s.feedRights {
      o.element("rights", rights, [("type", "text")])
    }
    o.close("source")
  }
}

/// The extension namespaces the feeds use.
enum Namespaces {
  static let media = "http://search.yahoo.com/mrss/"
  static let georss = "http://www.georss.org/georss"
  static let dc = "http://purl.org/dc/elements/1.1/"
  static let creativeCommons = "http://backend.userland.com/creativeCommonsRssModule"
}
