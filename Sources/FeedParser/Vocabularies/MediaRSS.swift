import FeedModel
import Foundation

/// Media RSS (`http://search.yahoo.com/mrss/`, with or without the trailing slash), including
/// everything inside `media:group` and `media:content`. `media:content` becomes an enclosure
/// (merged with an `<enclosure>` of the same URL), `media:category` and `media:keywords`
/// categories; the rest `Entry.media`.
extension FeedSAXReader {
  func startMedia(_ c: El, in container: Container, _ t: Tag) -> Container {
    guard container == .entry || container == .media || container == .feed else { return .skip }
    // At channel level only categories and keywords have somewhere to go.
    if !inEntry && c != .mediaCategory && c != .mediaKeywords && c != .mediaGroup {
      return .skip
    }
    switch c {
    case .mediaGroup:
      return .media
    case .mediaContent:
      if inEntry, let url = attribute(t.n, t.atts, "url"),
        let abs = absolute(url, base: bases[Int(t.base)])
      {
        func attr(_ name: String) -> String? {
          attribute(t.n, t.atts, name).flatMap(FeedSAXReader.trim)
        }
        addEnclosure(
          Enclosure(
            url: abs, type: attr("type"), length: int64(attr("fileSize")),
            medium: attr("medium")?.lowercased(), width: int(attr("width")),
            height: int(attr("height")),
            duration: attr("duration").flatMap(FeedSAXReader.duration)))
      }
      return .media
    case .mediaThumbnail:
      if let url = attribute(t.n, t.atts, "url"), let abs = absolute(url, base: bases[Int(t.base)])
      {
        let thumb = Thumbnail(
          url: abs, width: int(attribute(t.n, t.atts, "width")),
          height: int(attribute(t.n, t.atts, "height")))
        current.entry.media.edit { m in
          if !m.thumbnails.contains(where: { $0.url == abs }) { m.thumbnails.append(thumb) }
        }
      }
      return .skip
    case .mediaTitle, .mediaDescription:
      let type = attribute(t.n, t.atts, "type").flatMap(FeedSAXReader.trim)?.lowercased()
      return capture(type == "html" ? .html : .text, t)
    case .mediaCategory:
      let next = capture(.text, t)
      captureAttr = attribute(t.n, t.atts, "scheme").flatMap(FeedSAXReader.trim)
      captureAttr2 = attribute(t.n, t.atts, "label").flatMap(FeedSAXReader.collapse)
      return next
    case .mediaKeywords, .mediaCredit, .mediaRating:
      return capture(.text, t)
    default:
      return .skip
    }
  }

  func finishMedia(_ code: El, _ value: String, isHTML: Bool, in container: Container) {
    func addCategory(_ cat: FeedModel.Category) {
      if inEntry {
        FeedSAXReader.addCategory(cat, to: &current.entry.categories)
      } else {
        FeedSAXReader.addCategory(cat, to: &raw.feed.categories)
      }
    }
    switch code {
    case .mediaTitle:
      let plain = isHTML ? HTMLSanitizer.plainText(fromHTML: value) : value
      guard let title = collapse(plain) else { return }
      current.entry.media.edit { if $0.title == nil { $0.title = title } }
    case .mediaDescription:
      guard trimmed(value) != nil else { return }
      let text = Text(type: isHTML ? .html : .text, value: value)
      current.entry.media.edit { if $0.description == nil { $0.description = text } }
    case .mediaCategory:
      guard let term = collapse(value) else { return }
      addCategory(
        Category(term: term, scheme: captureAttr ?? NS.mediaCategoryScheme, label: captureAttr2))
    case .mediaKeywords:
      for w in value.split(separator: ",") {
        if let term = collapse(String(w)) { addCategory(Category(term: term)) }
      }
    case .mediaCredit:
      guard let name = collapse(value) else { return }
      current.entry.media.edit { if !$0.credits.contains(name) { $0.credits.append(name) } }
    case .mediaRating:
      guard let rating = collapse(value) else { return }
      current.entry.media.edit { if $0.rating == nil { $0.rating = rating } }
    default: break
    }
  }
}
