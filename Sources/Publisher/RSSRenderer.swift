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
        ("xmlns:dc", "http://purl.org/dc/elements/1.1/"),
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
    for a in TimelineContext.authors(item) { o.element("dc:creator", a.name) }
    for c in e.categories where !c.term.isEmpty {
      o.element("category", c.term, [("domain", TextTools.safeURL(c.scheme))])
    }
    for slug in item.source.categories {
      o.element("category", slug, [("domain", ctx.base + "categories/")])
    }
    if let enc = e.enclosures.first, let url = TextTools.safeURL(enc.url) {
      o.open(
        "enclosure",
        [
          ("url", url), ("length", String(enc.length ?? 0)),
          ("type", enc.type ?? "application/octet-stream"),
        ],
        close: true)
    }
    if let url = TextTools.safeURL(item.source.url) {
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
