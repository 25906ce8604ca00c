import FeedModel
import Foundation

/// Dublin Core elements (`dc:`) and DCMI terms (`dcterms:`) at feed and item level.
extension FeedSAXReader {
  func startDublinCore(_ c: El, in container: Container, _ t: Tag) -> Container {
    switch container {
    case .feed:
      return capture(.text, t)
    case .entry:
      return capture(c == .dcDescription ? .html : .text, t)
    default:
      return .skip
    }
  }

  func finishDublinCore(_ code: El, _ value: String, in container: Container) {
    switch container {
    case .feed:
      switch code {
      case .dcTitle:
        if raw.feed.title == nil { raw.feed.title = value }
      case .dcDescription:
        if raw.feed.subtitle == nil { raw.feed.subtitle = value }
      case .dcLanguage:
        if raw.feed.language == nil { raw.feed.language = trimmed(value) }
      case .dcRights:
        if raw.feed.rights == nil { raw.feed.rights = value }
      case .dcCreator:
        if let p = PersonParser.parse(value) { FeedSAXReader.addPerson(p, to: &raw.feed.authors) }
      case .dcContributor:
        if let p = PersonParser.parse(value) {
          FeedSAXReader.addPerson(p, to: &raw.feed.contributors)
        }
      case .dcPublisher:
        if raw.feed.publisher == nil { raw.feed.publisher = PersonParser.parse(value) }
      case .dcDate:
        if raw.pubDateRaw == nil { raw.pubDateRaw = trimmed(value) }
      case .dctIssued:
        if raw.issuedRaw == nil { raw.issuedRaw = trimmed(value) }
      case .dctModified:
        if raw.updatedRaw == nil { raw.updatedRaw = trimmed(value) }
      case .dcSubject:
        if let term = trimmed(value) {
          FeedSAXReader.addCategory(Category(term: term), to: &raw.feed.categories)
        }
      case .dcIdentifier:
        if raw.feed.id == nil { raw.feed.id = trimmed(value) }
      default: break
      }
    case .entry:
      switch code {
      case .dcTitle:
        if current.entry.title == nil { current.entry.title = value }
      case .dcDescription:
        if current.entry.summary == nil {
          current.entry.summary = Text(type: .html, value: value)
          current.summaryBase = captureBase
        }
      case .dcIdentifier:
        if current.entry.id == nil { current.entry.id = trimmed(value) }
      case .dcDate:
        if current.publishedRaw == nil {
          current.publishedRaw = trimmed(value)
        } else if current.updatedRaw == nil {
          current.updatedRaw = trimmed(value)
        }
      case .dctIssued:
        if let d = trimmed(value) { current.publishedRaw = d }
      case .dctCreated:
        current.createdRaw = trimmed(value)
      case .dctModified:
        if let d = trimmed(value) { current.updatedRaw = d }
      case .dcCreator:
        if let p = PersonParser.parse(value) {
          FeedSAXReader.addPerson(p, to: &current.entry.authors)
        }
      case .dcContributor:
        if let p = PersonParser.parse(value) {
          FeedSAXReader.addPerson(p, to: &current.entry.contributors)
        }
      case .dcPublisher:
        if current.entry.publisher == nil { current.entry.publisher = PersonParser.parse(value) }
      case .dcRights:
        if current.entry.rights == nil { current.entry.rights = value }
      case .dcSubject:
        if let term = trimmed(value), !current.entry.categories.contains(where: { $0.term == term })
        {
          current.entry.categories.append(Category(term: term))
        }
      case .dcLanguage:
        current.language = trimmed(value)
      default: break
      }
    default: break
    }
  }
}
