import FeedModel
import Foundation

/// Licences: `cc:license` (Creative Commons RDF, `http://web.resource.org/cc/` and
/// `http://creativecommons.org/ns#`, as `rdf:resource` or text) and `creativeCommons:license`
/// (the userland RSS module) → a `rel="license"` link of the feed or the entry.
extension FeedSAXReader {
  func startLicense(_ c: El, in container: Container, _ t: Tag) -> Container {
    guard container == .feed || container == .entry else { return .skip }
    if let resource = attribute(t.n, t.atts, "resource", namespace: NS.rdf) {
      addLicense(resource, base: bases[Int(t.base)], feedLevel: container == .feed)
      return .skip
    }
    return capture(.text, t)
  }

  func finishLicense(_ code: El, _ value: String, in container: Container) {
    guard container == .feed || container == .entry else { return }
    addLicense(value, base: captureBase, feedLevel: container == .feed)
  }

  func addLicense(_ value: String, base: URL?, feedLevel: Bool) {
    guard let abs = absolute(value, base: base) else { return }
    let link = Link(href: abs, rel: "license")
    if feedLevel {
      FeedSAXReader.addLink(link, to: &raw.feed.links)
    } else {
      FeedSAXReader.addLink(link, to: &current.entry.links)
    }
  }
}
