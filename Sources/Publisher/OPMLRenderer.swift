import FeedModel
import FeedStore
import Foundation

/// OPML 2.0 list of every active source, for people who would rather subscribe to the originals.
enum OPMLRenderer {
  static func render(options: PublisherOptions, sources: [SourceState]) -> [UInt8] {
    var o = Output()
    o.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n")
    o.open("opml", [("version", "2.0")])
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
      // An HTML source has no feed of its own: point at the one we publish for it.
      let xmlURL = s.kind == .feed ? s.url : options.base + "sources/\(s.id).atom"
      o.open(
        "outline",
        [
          ("type", "rss"), ("text", TimelineContext.sourceTitle(s)),
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
