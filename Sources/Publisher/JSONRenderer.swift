import FeedModel
import FeedStore
import Foundation

/// JSON Feed 1.1, with `next_url` paging and a `_clusterwire` extension for provenance.
enum JSONRenderer {
  static func render(_ ctx: TimelineContext) -> [UInt8] {
    var o = Output()
    o.raw("{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":")
    o.jsonString(ctx.title)
    o.raw(",\"home_page_url\":")
    o.jsonString(ctx.url(.html))
    o.raw(",\"feed_url\":")
    o.jsonString(ctx.selfURL(.json))
    if !ctx.options.hubs.isEmpty {
      // JSON Feed 1.1 `hubs`: WebSub endpoints for real-time notification.
      o.raw(",\"hubs\":[")
      for (i, hub) in ctx.options.hubLinks.enumerated() {
        o.raw(i == 0 ? "{\"type\":\"WebSub\",\"url\":" : ",{\"type\":\"WebSub\",\"url\":")
        o.jsonString(hub)
        o.raw("}")
      }
      o.raw("]")
    }
    if let subtitle = ctx.options.subtitle {
      o.raw(",\"description\":")
      o.jsonString(subtitle)
    }
    if let next = ctx.nextURL(.json) {
      o.raw(",\"next_url\":")
      o.jsonString(next)
    }
    if let lang = TimelineContext.languageTag(ctx.options.language) {
      o.raw(",\"language\":")
      o.jsonString(lang)
    }
    o.raw(",\"authors\":[{\"name\":")
    o.jsonString(ctx.options.author)
    o.raw("}],\"items\":[")
    for (i, item) in ctx.page.items.enumerated() {
      if i > 0 { o.raw(",") }
      o.raw("\n")
      self.item(&o, item)
    }
    o.raw("\n]}\n")
    return o.bytes
  }

  static func item(_ o: inout Output, _ item: TimelineItem) {
    let stored = item.entry
    let e = stored.entry
    o.raw("{\"id\":")
    o.jsonString(stored.atomID)
    if let url = TextTools.safeURL(e.link) {
      o.raw(",\"url\":")
      o.jsonString(url)
    }
    if let external = TextTools.safeURL(e.contentSource?.href), external != e.link {
      // Atom out-of-line content: where the story itself is.
      o.raw(",\"external_url\":")
      o.jsonString(external)
    }
    o.raw(",\"title\":")
    o.jsonString(TimelineContext.entryTitle(item))
    let body = e.content ?? e.summary
    if let body {
      o.raw(body.type == .html ? ",\"content_html\":" : ",\"content_text\":")
      o.jsonString(body.value)
    } else {
      o.raw(",\"content_text\":\"\"")
    }
    if let summary = e.summary {
      o.raw(",\"summary\":")
      o.jsonString(summary.type == .html ? TextTools.plainText(summary.value) : summary.value)
    }
    if let published = e.published {
      o.raw(",\"date_published\":")
      o.jsonString(DateFormat.rfc3339(published))
    }
    o.raw(",\"date_modified\":")
    o.jsonString(DateFormat.rfc3339(stored.contentUpdated))
    o.raw(",\"authors\":[")
    for (i, a) in TimelineContext.authors(item).enumerated() {
      if i > 0 { o.raw(",") }
      o.raw("{\"name\":")
      o.jsonString(a.name ?? "")
      if let uri = TextTools.safeURL(a.uri) {
        o.raw(",\"url\":")
        o.jsonString(uri)
      }
      o.raw("}")
    }
    o.raw("]")
    let tags = e.categories.map(\.term).filter { !$0.isEmpty } + item.source.categories
    if !tags.isEmpty {
      o.raw(",\"tags\":[")
      for (i, t) in tags.enumerated() {
        if i > 0 { o.raw(",") }
        o.jsonString(t)
      }
      o.raw("]")
    }
    if let lang = TimelineContext.languageTag(stored.language ?? e.language) {
      o.raw(",\"language\":")
      o.jsonString(lang)
    }
    let thumbnails = (e.media?.thumbnails ?? []).filter { TextTools.safeURL($0.url) != nil }
    if let image = thumbnails.first {
      o.raw(",\"image\":")
      o.jsonString(image.url)
      // A banner is wide: the widest landscape thumbnail other than the image, if any.
      let banner = thumbnails.dropFirst().filter {
        ($0.width ?? 0) > ($0.height ?? .max) && $0.url != image.url
      }.max { ($0.width ?? 0) < ($1.width ?? 0) }
      if let banner {
        o.raw(",\"banner_image\":")
        o.jsonString(banner.url)
      }
    }
    let attachments = e.enclosures.compactMap { enc in TextTools.safeURL(enc.url).map { (enc, $0) }
    }
    if !attachments.isEmpty {
      o.raw(",\"attachments\":[")
      for (i, (enc, url)) in attachments.enumerated() {
        if i > 0 { o.raw(",") }
        o.raw("{\"url\":")
        o.jsonString(url)
        o.raw(",\"mime_type\":")
        o.jsonString(TimelineContext.mediaType(enc.type) ?? "application/octet-stream")
        if let len = enc.length, len >= 0 { o.raw(",\"size_in_bytes\":\(len)") }
        if let d = TimelineContext.seconds(enc.duration) {
          o.raw(",\"duration_in_seconds\":\(Self.number(d))")
        }
        o.raw("}")
      }
      o.raw("]")
    }
    o.raw(",\"_clusterwire\":{")
    // What JSON Feed has no field for: rights, licences, where the story first appeared.
    if let rights = e.rights, !rights.isEmpty {
      o.raw("\"rights\":")
      o.jsonString(rights)
      o.raw(",")
    }
    let licenses = TimelineContext.licenses(e)
    if !licenses.isEmpty {
      o.raw("\"licenses\":[")
      for (i, l) in licenses.enumerated() {
        if i > 0 { o.raw(",") }
        o.jsonString(l.href)
      }
      o.raw("],")
    }
    if let own = TimelineContext.ownSource(e) {
      o.raw("\"original_source\":{")
      var first = true
      func field(_ key: String, _ value: String?) {
        guard let value, !value.isEmpty else { return }
        if !first { o.raw(",") }
        first = false
        o.raw("\"\(key)\":")
        o.jsonString(value)
      }
      field("id", own.id)
      field("title", own.title)
      field("feed_url", TextTools.safeURL(own.links.first { $0.rel == "self" }?.href))
      field(
        "home_page_url",
        TextTools.safeURL(
          own.links.first { ($0.rel ?? "alternate") == "alternate" }?.href ?? own.link))
      o.raw("},")
    }
    o.raw("\"source\":{\"id\":")
    o.jsonString(item.source.id)
    o.raw(",\"title\":")
    o.jsonString(TimelineContext.sourceTitle(item.source))
    o.raw(",\"feed_url\":")
    o.jsonString(item.source.url)
    if let link = TextTools.safeURL(item.source.feedLink) {
      o.raw(",\"home_page_url\":")
      o.jsonString(link)
    }
    o.raw("},\"duplicates\":[")
    for (i, d) in item.duplicates.enumerated() {
      if i > 0 { o.raw(",") }
      o.raw("{\"id\":")
      o.jsonString(d.atomID)
      o.raw(",\"source_id\":")
      o.jsonString(d.sourceID)
      if let t = d.sourceTitle {
        o.raw(",\"source_title\":")
        o.jsonString(t)
      }
      if let t = d.title {
        o.raw(",\"title\":")
        o.jsonString(t)
      }
      if let l = TextTools.safeURL(d.link) {
        o.raw(",\"url\":")
        o.jsonString(l)
      }
      o.raw("}")
    }
    o.raw("]}}")
  }

  /// A JSON number: integral values without a fraction.
  static func number(_ d: Double) -> String {
    d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
  }
}
