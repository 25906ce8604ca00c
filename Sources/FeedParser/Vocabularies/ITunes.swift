import FeedModel
import Foundation

/// iTunes podcast metadata (`itunes:*`) of the channel and its episodes.
extension FeedSAXReader {
  func startITunes(_ c: El, in container: Container, _ t: Tag) -> Container {
    switch container {
    case .feed, .entry:
      switch c {
      case .itOwner:
        return startPerson(container == .feed ? .feedOwner : .entryOwner)
      case .itCategory:
        addITunesCategory(t, feedLevel: container == .feed)
        return .itunesCategory
      case .itImage:
        if let href = attribute(t.n, t.atts, "href") ?? attribute(t.n, t.atts, "url") {
          if let abs = absolute(href, base: bases[Int(t.base)]) {
            editITunes(feedLevel: container == .feed) { $0.image = abs }
          }
          return .skip
        }
        return capture(.text, t)
      case .itName, .itEmail:
        return .skip
      default:
        return capture(.text, t)
      }
    case .itunesCategory:
      if c == .itCategory { addITunesCategory(t, feedLevel: !inEntry) }
      return .itunesCategory
    case .person:
      return c == .itName || c == .itEmail ? capture(.text, t) : .skip
    default:
      return .skip
    }
  }

  func addITunesCategory(_ t: Tag, feedLevel: Bool) {
    guard let term = attribute(t.n, t.atts, "text").flatMap(FeedSAXReader.collapse) else { return }
    let cat = Category(term: term, scheme: NS.itunesScheme)
    if feedLevel {
      FeedSAXReader.addCategory(cat, to: &raw.feed.categories)
    } else {
      FeedSAXReader.addCategory(cat, to: &current.entry.categories)
    }
  }

  func editITunes(feedLevel: Bool, _ body: (inout ITunesInfo) -> Void) {
    if feedLevel {
      raw.feed.itunes.edit(body)
    } else {
      current.entry.itunes.edit(body)
    }
  }

  func finishITunes(_ code: El, _ value: String, in container: Container) {
    if container == .person {
      switch code {
      case .itName: person.name = collapse(value)
      case .itEmail: person.email = trimmed(value)
      default: break
      }
      return
    }
    guard container == .feed || container == .entry else { return }
    let feedLevel = container == .feed
    switch code {
    case .itAuthor:
      guard let p = PersonParser.parse(value) else { return }
      if feedLevel {
        FeedSAXReader.addPerson(p, to: &raw.feed.authors)
      } else {
        FeedSAXReader.addPerson(p, to: &current.entry.authors)
      }
    case .itKeywords:
      let words = value.split(separator: ",").compactMap { FeedSAXReader.collapse(String($0)) }
      guard !words.isEmpty else { return }
      editITunes(feedLevel: feedLevel) { info in
        for w in words where !info.keywords.contains(w) { info.keywords.append(w) }
      }
      for w in words {
        let cat = Category(term: w, scheme: NS.itunesScheme)
        if feedLevel {
          FeedSAXReader.addCategory(cat, to: &raw.feed.categories)
        } else {
          FeedSAXReader.addCategory(cat, to: &current.entry.categories)
        }
      }
    case .itSummary:
      guard let s = trimmed(value) else { return }
      editITunes(feedLevel: feedLevel) { $0.summary = s }
      if feedLevel { raw.itunesSummary = s } else { current.itunesSummary = s }
    case .itSubtitle:
      guard let s = collapse(value) else { return }
      editITunes(feedLevel: feedLevel) { $0.subtitle = s }
    case .itImage:
      guard let abs = absolute(value, base: captureBase) else { return }
      editITunes(feedLevel: feedLevel) { $0.image = abs }
    case .itExplicit:
      guard let b = FeedSAXReader.itunesBool(value) else { return }
      editITunes(feedLevel: feedLevel) { $0.explicit = b }
    case .itBlock:
      guard let b = FeedSAXReader.itunesBool(value) else { return }
      editITunes(feedLevel: feedLevel) { $0.block = b }
    case .itDuration:
      guard let d = FeedSAXReader.duration(value) else { return }
      editITunes(feedLevel: feedLevel) { $0.duration = d }
    case .itType, .itEpisodeType:
      guard let s = trimmed(value)?.lowercased() else { return }
      editITunes(feedLevel: feedLevel) { $0.type = s }
    case .itEpisode:
      guard let v = int(value) else { return }
      editITunes(feedLevel: feedLevel) { $0.episode = v }
    case .itSeason:
      guard let v = int(value) else { return }
      editITunes(feedLevel: feedLevel) { $0.season = v }
    default: break
    }
  }

  /// `yes`/`true`/`explicit` → true, `no`/`false`/`clean` → false, else unknown.
  static func itunesBool(_ s: String) -> Bool? {
    switch trim(s)?.lowercased() {
    case "yes", "true", "explicit", "1": return true
    case "no", "false", "clean", "0": return false
    default: return nil
    }
  }

  /// `HH:MM:SS`, `MM:SS`, `H:MM:SS.sss` or a number of seconds → seconds.
  static func duration(_ s: String) -> Double? {
    guard let t = trim(s) else { return nil }
    let parts = t.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count <= 3 else { return nil }
    var total = 0.0
    for p in parts {
      guard let v = Double(p.trimmingCharacters(in: .whitespaces)), v >= 0, v.isFinite else {
        return nil
      }
      total = total * 60 + v
    }
    return total
  }
}
