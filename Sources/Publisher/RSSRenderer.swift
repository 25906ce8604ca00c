import FeedModel
import FeedStore
import Foundation

/// RSS 2.0 for readers that only speak RSS: RFC 822 dates, non-permalink guids carrying the Atom
/// id, `<source url>` for provenance, `atom:link` for self and paging.
enum RSSRenderer {
  static func render(_ ctx: TimelineContext) -> [UInt8] {
    var o = Output()
    o.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n")
    o.open(
      "rss",
      [
        ("version", "2.0"), ("xmlns:atom", "http://www.w3.org/2005/Atom"),
        ("xmlns:dc", Namespaces.dc), ("xmlns:media", Namespaces.media),
        ("xmlns:georss", Namespaces.georss),
        ("xmlns:creativeCommons", Namespaces.creativeCommons),
      ])
    o.open("channel")
    o.raw("\n")
    o.element("title", ctx.title)
    o.element("link", ctx.url(.html))
    o.element("description", ctx.options.subtitle ?? ctx.title)
    o.element("language", TimelineContext.languageTag(ctx.options.language))
    o.element("lastBuildDate", DateFormat.rfc822(ctx.updated))
    o.element("generator", "clusterwire \(ctx.options.generatorVersion)")
    o.element("docs", "https://www.rssboard.org/rss-specification")
    atomLink(&o, ctx.selfURL(.rss), rel: "self")
    for hub in ctx.options.hubLinks {
      o.open("atom:link", [("href", hub), ("rel", "hub")], close: true)
    }
    atomLink(&o, ctx.url(.rss), rel: "first")
    if let next = ctx.nextURL(.rss) { atomLink(&o, next, rel: "next") }
    if let prev = ctx.previousURL(.rss) { atomLink(&o, prev, rel: "previous") }
    o.raw("\n")
    for item in ctx.page.items { self.item(&o, item, ctx) }
    o.close("channel")
    o.close("rss")
    o.raw("\n")
    return o.bytes
  }

  static func atomLink(_ o: inout Output, _ href: String, rel: String) {
    o.open(
      "atom:link", [("href", href), ("rel", rel), ("type", "application/rss+xml")], close: true)
  }

  /// Media RSS `medium` values.
  static let media: Set<String> = ["image", "audio", "video", "document", "executable"]

  static func item(_ o: inout Output, _ item: TimelineItem, _ ctx: TimelineContext) {
    let stored = item.entry
    let e = stored.entry
    o.open("item")
    o.element("title", TimelineContext.entryTitle(item))
    o.element("link", TextTools.safeURL(e.link))
    // RSS has one description: the summary, else the content (both are sanitised HTML or text).
    if let d = e.summary ?? e.content {
      o.element("description", d.type == .html ? d.value : escapeAsHTML(d.value))
    }
    o.element("guid", stored.atomID, [("isPermaLink", "false")])
    o.element("pubDate", DateFormat.rfc822(e.published ?? stored.sortDate))
    // Names only: RSS `author` must be an email address, and an item should not carry both.
    for a in TimelineContext.authors(item) { o.element("dc:creator", a.name) }
    for c in TimelineContext.people(e.contributors) { o.element("dc:contributor", c.name) }
    for c in e.categories where !c.term.isEmpty {
      o.element("category", c.term, [("domain", TextTools.safeURL(c.scheme))])
    }
    for slug in item.source.categories {
      o.element("category", slug, [("domain", ctx.base + "categories/")])
    }
    o.element("comments", TimelineContext.comments(e))
    // One enclosure per item (RSS 2.0); every other attachment, and the first when it has more
    // to say than an enclosure can, as `media:content`.
    let enclosures = e.enclosures.filter { TextTools.safeURL($0.url) != nil }
    if let enc = enclosures.first {
      o.open(
        "enclosure",
        [
          ("url", enc.url), ("length", String(max(0, enc.length ?? 0))),
          ("type", TimelineContext.mediaType(enc.type) ?? "application/octet-stream"),
        ],
        close: true)
    }
    for (i, enc) in enclosures.enumerated()
    where i > 0 || enc.medium != nil || enc.width != nil || enc.height != nil
      || enc.duration != nil
    {
      mediaContent(&o, enc)
    }
    for t in e.media?.thumbnails ?? [] {
      guard let url = TextTools.safeURL(t.url) else { continue }
      o.open(
        "media:thumbnail",
        [
          ("url", url), ("width", t.width.flatMap { $0 > 0 ? String($0) : nil }),
          ("height", t.height.flatMap { $0 > 0 ? String($0) : nil }),
        ], close: true)
    }
    if let rights = e.rights, !rights.isEmpty { o.element("dc:rights", rights) }
    for l in TimelineContext.licenses(e) { o.element("creativeCommons:license", l.href) }
    // The item's language when it is not the channel's.
    let channel = TimelineContext.languageTag(ctx.options.language)
    if let lang = TimelineContext.ownLanguage(stored.language ?? e.language, inherited: channel) {
      o.element("dc:language", lang)
    }
    if let geo = e.geo, let (name, value) = TimelineContext.geoRSS(geo) {
      o.element(name, value)
      if let f = geo.featureName, !f.isEmpty { o.element("georss:featurename", f) }
    }
    // `<source url>`: the entry's own when it brought one (RSS `source` or `atom:source` with a
    // feed URL), else the feed clusterwire read it from.
    let own = TimelineContext.ownSource(e)
    let ownURL = own.flatMap { s in
      TextTools.safeURL(s.links.first { $0.rel == "self" }?.href ?? s.link)
    }
    if let own, let ownURL {
      o.element("source", own.title ?? ownURL, [("url", ownURL)])
      if let via = TextTools.safeURL(item.source.url) {
        o.open(
          "atom:link",
          [("rel", "via"), ("href", via), ("title", TimelineContext.sourceTitle(item.source))],
          close: true)
      }
    } else if let url = TextTools.safeURL(item.source.url) {
      o.element("source", TimelineContext.sourceTitle(item.source), [("url", url)])
    }
    for dup in item.duplicates {
      if let href = TextTools.safeURL(dup.link) {
        let label = [dup.sourceTitle ?? dup.sourceID, dup.title].compactMap { $0 }.joined(
          separator: ": ")
        o.open(
          "atom:link",
          [("rel", "related"), ("href", href), ("type", "text/html"), ("title", label)],
          close: true)
      }
    }
    o.close("item")
    o.raw("\n")
  }

  static func mediaContent(_ o: inout Output, _ enc: Enclosure) {
    func positive(_ v: Int?) -> String? { v.flatMap { $0 > 0 ? String($0) : nil } }
    o.open(
      "media:content",
      [
        ("url", enc.url), ("fileSize", enc.length.flatMap { $0 > 0 ? String($0) : nil }),
        ("type", TimelineContext.mediaType(enc.type)),
        ("medium", enc.medium.flatMap { media.contains($0) ? $0 : nil }),
        ("width", positive(enc.width)), ("height", positive(enc.height)),
        ("duration", TimelineContext.seconds(enc.duration).map { String(Int($0.rounded())) }),
      ], close: true)
  }

  static func escapeAsHTML(_ s: String) -> String {
    var out = ""
    for c in s {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      default: out.append(c)
      }
    }
    return out
  }
}
