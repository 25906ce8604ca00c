import FeedModel
import FeedStore
import Foundation

/// OPML 2.0 list of every active source, for people who would rather subscribe to the originals,
/// and for `import-opml` on another instance: an HTML source is listed as the feed we publish
/// for it (`/sources/ID.atom`), so it imports back as a feed of that sub-feed; so is a `file:`
/// source.
enum OPMLRenderer {
  static func render(options: PublisherOptions, sources: [SourceState]) -> [UInt8] {
    var o = Output()
    o.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n")
    // Our own namespace carries each source's id, so `import-opml` of this list rebuilds the
    // same ids (OPML 2.0 allows namespaced attributes).
    o.open(
      "opml",
      [("version", "2.0"), ("xmlns:\(ClusterwireOPML.prefix)", ClusterwireOPML.namespace)])
    o.raw("\n")
    o.open("head")
    o.element("title", options.title)
    if let created = sources.compactMap(\.lastSuccess).max() {
      o.element("dateModified", DateFormat.rfc822(created))
    }
    o.element("ownerName", options.author)
    o.element("docs", "http://opml.org/spec2.opml")
    o.close("head")
    o.raw("\n")
    o.open("body")
    o.raw("\n")
    for s in sources {
      // An HTML source has no feed of its own, and a `file:` source's URL is a path on this
      // server (not for a public document, and no use to anyone else): point at the feed we
      // publish for it.
      let published = s.kind == .feed && (s.url.hasPrefix("https://") || s.url.hasPrefix("http://"))
      let xmlURL = published ? s.url : options.base + "sources/\(s.id).atom"
      o.open(
        "outline",
        [
          ("type", "rss"), ("\(ClusterwireOPML.prefix):\(ClusterwireOPML.idAttribute)", s.id),
          ("text", TimelineContext.sourceTitle(s)),
          ("title", TimelineContext.sourceTitle(s)), ("xmlUrl", xmlURL),
          ("htmlUrl", TextTools.safeURL(s.feedLink)),
          ("language", TimelineContext.languageTag(s.language ?? s.feedLanguage)),
          (
            "category",
            s.categories.isEmpty ? nil : s.categories.map { "/" + $0 }.joined(separator: ",")
          ),
        ], close: true)
      o.raw("\n")
    }
    o.close("body")
    o.close("opml")
    o.raw("\n")
    return o.bytes
  }
}
