import FeedModel
import Foundation

/// FeedBurner (`http://rssnamespace.org/feedburner/ext/1.0`): `feedburner:origLink` is the
/// story's real address and becomes the entry's `link` (the store derives identity and the
/// canonical URL from it, so copies of the story de-duplicate); the proxy address stays in
/// `links` as `rel="via"`. `feedburner:origEnclosureLink` does the same for the enclosure.
extension FeedSAXReader {
  func startFeedBurner(_ c: El, in container: Container, _ t: Tag) -> Container {
    container == .entry ? capture(.text, t) : .skip
  }

  func finishFeedBurner(_ code: El, _ value: String, in container: Container) {
    guard container == .entry, let abs = absolute(value, base: captureBase) else { return }
    if code == .fbOrigLink {
      current.origLink = abs
    } else {
      current.origEnclosureLink = abs
    }
  }

  func applyFeedBurner(_ r: inout RawEntry) {
    if let orig = r.origLink {
      let proxy = r.entry.link
      for i in r.entry.links.indices
      where r.entry.links[i].rel == "alternate" && r.entry.links[i].href != orig {
        r.entry.links[i].rel = "via"
      }
      if !r.entry.links.contains(where: { $0.href == orig && $0.rel == "alternate" }) {
        r.entry.links.insert(Link(href: orig, rel: "alternate"), at: 0)
      }
      r.entry.link = orig
      if let proxy, proxy != orig, !r.entry.links.contains(where: { $0.href == proxy }) {
        r.entry.links.append(Link(href: proxy, rel: "via"))
      }
    }
    if let orig = r.origEnclosureLink, !r.entry.enclosures.isEmpty,
      r.entry.enclosures[0].url != orig
    {
      let proxy = r.entry.enclosures[0].url
      r.entry.enclosures[0].url = orig
      r.entry.links.append(Link(href: proxy, rel: "via", type: r.entry.enclosures[0].type))
    }
  }
}
