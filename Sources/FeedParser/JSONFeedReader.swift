import FeedModel
import Foundation

/// JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) into the raw model, which then goes
/// through the same normalisation as the XML formats.
enum JSONFeedReader {
  static func read(_ utf8: Data, baseURL: URL?) throws(FeedParserError) -> RawFeed {
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: utf8, options: [])
    } catch {
      // Lone surrogate escapes (\ud800 without its pair) make Foundation reject the whole
      // document; replace them with U+FFFD and try once more.
      let repaired = replaceLoneSurrogates(utf8)
      guard repaired != utf8,
        let again = try? JSONSerialization.jsonObject(with: repaired, options: [])
      else {
        throw .unreadable("invalid JSON: \(error.localizedDescription)")
      }
      object = again
    }
    guard let root = object as? [String: Any] else {
      throw .notAFeed("JSON, but not a JSON Feed object")
    }
    let version = root["version"] as? String ?? ""
    guard version.contains("jsonfeed.org") || (root["items"] is [Any] && root["title"] != nil)
    else {
      throw .notAFeed("JSON without a jsonfeed.org version")
    }
    let base = baseURL
    func url(_ any: Any?) -> String? {
      guard let s = any as? String else { return nil }
      return FeedSAXReader.absolute(s, base: base)
    }
    func people(_ dict: [String: Any]) -> [Person] {
      var list: [[String: Any]] = (dict["authors"] as? [[String: Any]]) ?? []
      if list.isEmpty, let one = dict["author"] as? [String: Any] { list = [one] }
      return list.compactMap { a in
        let p = Person(
          name: (a["name"] as? String).flatMap(FeedSAXReader.collapse), email: nil,
          uri: url(a["url"]))
        return p.name == nil && p.uri == nil ? nil : p
      }
    }
    var raw = RawFeed()
    raw.feed.title = root["title"] as? String
    raw.feed.subtitle = root["description"] as? String
    raw.feed.link = url(root["home_page_url"])
    raw.feed.selfLink = url(root["feed_url"])
    raw.feed.id = raw.feed.selfLink
    raw.feed.icon = url(root["favicon"]) ?? url(root["icon"])
    raw.feed.logo = url(root["icon"])
    raw.feed.language = root["language"] as? String
    raw.feed.authors = people(root)
    // Feed-level links, as for XML feeds: the site, the feed itself, WebSub hubs, the next page.
    if let home = raw.feed.link { raw.feed.links.append(Link(href: home, rel: "alternate")) }
    if let me = raw.feed.selfLink {
      raw.feed.links.append(Link(href: me, rel: "self", type: "application/feed+json"))
    }
    for hub in root["hubs"] as? [[String: Any]] ?? [] {
      if let u = url(hub["url"]) { raw.feed.links.append(Link(href: u, rel: "hub")) }
    }
    if let next = url(root["next_url"]) { raw.feed.links.append(Link(href: next, rel: "next")) }
    for any in root["items"] as? [Any] ?? [] {
      guard let item = any as? [String: Any] else { continue }
      var r = RawEntry()
      var e = Entry()
      if let id = item["id"] as? String {
        e.id = id
      } else if let n = item["id"] as? NSNumber {
        e.id = n.stringValue
      }
      e.title = item["title"] as? String
      if let link = url(item["url"]) {
        e.link = link
        e.links.append(Link(href: link, rel: "alternate"))
      }
      if let ext = url(item["external_url"]) { e.links.append(Link(href: ext, rel: "related")) }
      if let html = item["content_html"] as? String {
        e.content = .html(html)
      } else if let text = item["content_text"] as? String {
        e.content = .text(text)
      }
      if let summary = item["summary"] as? String { e.summary = .text(summary) }
      r.publishedRaw = item["date_published"] as? String
      r.updatedRaw = item["date_modified"] as? String
      e.authors = people(item)
      e.categories = (item["tags"] as? [Any] ?? []).compactMap {
        ($0 as? String).map { Category(term: $0) }
      }
      for att in item["attachments"] as? [[String: Any]] ?? [] {
        guard let u = url(att["url"]) else { continue }
        e.enclosures.append(
          Enclosure(
            url: u, type: att["mime_type"] as? String,
            length: (att["size_in_bytes"] as? NSNumber)?.int64Value))
      }
      if let image = url(item["image"]) {
        e.links.append(Link(href: image, rel: "enclosure", type: "image/*"))
      }
      r.language = item["language"] as? String
      r.entry = e
      raw.entries.append(r)
    }
    return raw
  }

  /// Rewrites `\uD800`–`\uDFFF` escapes that are not part of a valid pair as `\uFFFD`.
  static func replaceLoneSurrogates(_ data: Data) -> Data {
    var bytes = [UInt8](data)
    func hex(_ i: Int) -> UInt32? {
      guard i + 6 <= bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75 else { return nil }
      return UInt32(String(decoding: bytes[(i + 2)..<(i + 6)], as: UTF8.self), radix: 16)
    }
    var i = 0
    let replacement = Array("\\uFFFD".utf8)
    while i < bytes.count {
      if bytes[i] == 0x5C {
        if let v = hex(i), (0xD800...0xDFFF).contains(v) {
          if v < 0xDC00, let low = hex(i + 6), (0xDC00...0xDFFF).contains(low) {
            i += 12
            continue
          }
          bytes.replaceSubrange(i..<(i + 6), with: replacement)
          i += 6
          continue
        }
        i += 2  // skip the escaped character (e.g. \\ or \")
        continue
      }
      i += 1
    }
    return Data(bytes)
  }
}
