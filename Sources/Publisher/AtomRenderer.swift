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
    for item in ctx.page.items { entry(&o, item, ctx) }
    o.close("feed")
    o.raw("\n")
    return o.bytes
  }

  static func link(
    _ o: inout Output, _ href: String?, rel: String, type: String? = nil, title: String? = nil,
    length: Int64? = nil
  ) {
    guard let href else { return }
    o.open(
      "link",
      [
        ("rel", rel), ("href", href), ("type", TimelineContext.mediaType(type)), ("title", title),
        ("length", length.map(String.init)),
      ], close: true)
  }

  static func person(_ o: inout Output, _ tag: String, _ p: Person) {
    guard let name = p.name else { return }
    o.open(tag)
    o.element("name", name)
    o.element("uri", TextTools.safeURL(p.uri))
    o.element("email", TimelineContext.email(p.email))
    o.close(tag)
  }

  static func textConstruct(_ o: inout Output, _ tag: String, _ t: Text) {
    o.element(tag, t.value, [("type", t.type == .html ? "html" : "text")])
  }

  static func entry(_ o: inout Output, _ item: TimelineItem, _ ctx: TimelineContext) {
    let stored = item.entry
    let e = stored.entry
    o.open("entry", [("xml:lang", TimelineContext.languageTag(stored.language ?? e.language))])
    o.element("id", stored.atomID)
    o.element("title", TimelineContext.entryTitle(item), [("type", "text")])
    o.element("updated", DateFormat.rfc3339(stored.contentUpdated))
    if let published = e.published { o.element("published", DateFormat.rfc3339(published)) }
    let alternate = TextTools.safeURL(e.link)
    link(&o, alternate, rel: "alternate", type: "text/html")
    for l in e.links where l.rel == "enclosure" {
      link(&o, TextTools.safeURL(l.href), rel: "enclosure", type: l.type, length: l.length)
    }
    for enc in e.enclosures
    where !e.links.contains(where: { $0.rel == "enclosure" && $0.href == enc.url }) {
      link(&o, TextTools.safeURL(enc.url), rel: "enclosure", type: enc.type, length: enc.length)
    }
    for dup in item.duplicates {
      let label = [dup.sourceTitle ?? dup.sourceID, dup.title].compactMap { $0 }.joined(
        separator: ": ")
      link(&o, TextTools.safeURL(dup.link), rel: "related", type: "text/html", title: label)
    }
    for a in TimelineContext.authors(item) { person(&o, "author", a) }
    for c in e.contributors { person(&o, "contributor", c) }
    for c in e.categories where !c.term.isEmpty {
      o.open(
        "category",
        [("term", c.term), ("scheme", TextTools.safeURL(c.scheme)), ("label", c.label)],
        close: true)
    }
    for slug in item.source.categories {
      o.open("category", [("term", slug), ("scheme", ctx.base + "categories/")], close: true)
    }
    // Out-of-line content (RFC 4287 4.1.3.2): an empty `content` whose `type` must be a MIME
    // type, and then the entry must have a summary (4.1.1.1); the title serves when it has none.
    let outOfLine = e.content == nil ? TextTools.safeURL(e.contentSource?.href) : nil
    if let summary = e.summary {
      textConstruct(&o, "summary", summary)
    } else if outOfLine != nil {
      o.element("summary", TimelineContext.entryTitle(item), [("type", "text")])
    }
    if let content = e.content {
      textConstruct(&o, "content", content)
    } else if let outOfLine {
      let type = e.contentSource?.type.flatMap { $0.contains("/") ? $0 : nil }
      o.element("content", "", [("type", type), ("src", outOfLine)])
    } else if alternate == nil {
      // RFC 4287 4.1.1.1: an entry without an alternate link must carry content.
      o.element(
        "content", e.summary.map { TextTools.plainText($0.value) } ?? "", [("type", "text")])
    }
    // An archive page must not change when a source is merely fetched again: there the
    // source's `updated` is the story's own (the source as of this story).
    source(
      &o, item.source,
      updated: (ctx.archive?.isArchive ?? false) ? stored.contentUpdated : nil)
    o.close("entry")
    o.raw("\n")
  }

  /// The full `atom:source`, so a reader knows which feed the story came from.
  static func source(_ o: inout Output, _ s: SourceState, updated fixed: Date? = nil) {
    o.open("source")
    o.element("id", s.feedID.flatMap { $0.isEmpty ? nil : $0 } ?? s.url)
    o.element("title", TimelineContext.sourceTitle(s), [("type", "text")])
    if let updated = fixed ?? s.feedUpdated ?? s.lastSuccess {
      o.element("updated", DateFormat.rfc3339(updated))
    }
    link(&o, TextTools.safeURL(s.feedLink), rel: "alternate", type: "text/html")
    link(&o, TextTools.safeURL(s.url), rel: "self")
    if let author = s.feedAuthor, !author.isEmpty { person(&o, "author", Person(name: author)) }
    o.element("icon", TextTools.safeURL(s.feedIcon))
    if let rights = s.feedRights { o.element("rights", rights, [("type", "text")]) }
    o.close("source")
  }
}
