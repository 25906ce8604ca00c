import FeedModel
import FeedStore
import Foundation
import Publisher
import PublishingTestSupport
import TestSupport
import XCTest

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Shared test data: three sources (one failing), stories in two languages, a duplicate group,
/// and one source full of hostile content.
enum Sample {
  static let base = URL(string: "https://news.example.org/")!
  static let t0 = Date(timeIntervalSince1970: 1_790_000_000)

  static func options(perPage: Int = 50) -> PublisherOptions {
    PublisherOptions(
      baseURL: base, title: "Klasterių naujienos", subtitle: "Lietuvos klasterių tinklas",
      author: "Klasterių tinklas", entriesPerPage: perPage, language: "lt",
      generatorVersion: "0.1.0-test")
  }

  static let sources: [SourceState] = [
    SourceState(
      id: "ict", url: "https://ict.example.lt/feed/", title: "IT klasteris", categories: ["ict"],
      language: "lt",
      lastSuccess: t0, feedID: "https://ict.example.lt/", feedTitle: "IT klasteris feed",
      feedLink: "https://ict.example.lt/", feedUpdated: t0,
      feedIcon: "https://ict.example.lt/icon.png",
      feedRights: "© IT klasteris", feedAuthor: "IT redakcija", entryCount: 3),
    SourceState(
      id: "eccp", url: "https://eccp.example.eu/news.atom", title: "ECCP",
      categories: ["ict", "energy"],
      language: "en", lastSuccess: t0, feedLink: "https://eccp.example.eu/", entryCount: 2),
    SourceState(
      id: "broken", url: "https://broken.example.lt/rss", title: "Sulūžęs šaltinis",
      categories: ["agri-food"],
      lastAttempt: t0, lastSuccess: t0.addingTimeInterval(-86400 * 3), httpStatus: 500,
      consecutiveFailures: 4, lastError: "HTTP 500 Internal Server Error",
      failingSince: t0.addingTimeInterval(-86400 * 2), movedTo: "https://broken.example.lt/feed/",
      entryCount: 1),
  ]

  static let hostileText =
    "Bad <script>alert(1)</script> ]]> &amp; \u{0}\u{1}\u{8}\u{B}\u{C}\u{1B}\u{FFFE}\u{FFFF} \"q\" 'a' \r\n\t end 😀"

  /// Fills a store; returns the group ids in timeline order (newest first).
  @discardableResult
  static func fill(_ store: MemoryStore) -> [Int64] {
    store.setSources(sources)
    var groups: [Int64] = []
    groups.append(
      store.add(
        sourceID: "ict",
        entry: Entry(
          id: "https://ict.example.lt/?p=1", title: "Dirbtinis intelektas pramonėje",
          link: "https://ict.example.lt/di",
          published: t0, updated: t0, summary: .html("<p>Apie <b>DI</b> &amp; pramonę</p>"),
          content: .html("<p>Ilgas tekstas apie <a href=\"https://x.lt/\">DI</a>.</p>"),
          authors: [Person(name: "Jonas Jonaitis", email: "jonas@example.lt")],
          categories: [
            Category(
              term: "DI", scheme: "https://ict.example.lt/tag/", label: "Dirbtinis intelektas")
          ],
          enclosures: [
            Enclosure(url: "https://ict.example.lt/a.mp3", type: "audio/mpeg", length: 1234)
          ]),
        atomID: "https://ict.example.lt/?p=1", sortDate: t0, language: "lt",
        duplicates: [
          DuplicateRef(
            atomID: "tag:eccp.example.eu,2026:ai", sourceID: "eccp", sourceTitle: "ECCP",
            title: "AI in industry",
            link: "https://eccp.example.eu/ai")
        ]))
    groups.append(
      store.add(
        sourceID: "eccp",
        entry: Entry(
          id: "tag:eccp.example.eu,2026:energy", title: "Energy clusters meet in Vilnius",
          link: "https://eccp.example.eu/energy", published: t0.addingTimeInterval(-3600),
          summary: .text("Plain text summary with <angle> brackets & ampersands")),
        atomID: "tag:eccp.example.eu,2026:energy", sortDate: t0.addingTimeInterval(-3600),
        language: "en"))
    groups.append(
      store.add(
        sourceID: "broken",
        entry: Entry(
          id: "broken-1", title: hostileText, link: "javascript:alert(1)",
          published: t0.addingTimeInterval(-7200),
          summary: .html("<p>\(hostileText)</p>"), content: .html("<div>\(hostileText)</div>"),
          authors: [Person(name: hostileText, email: "not an email", uri: "javascript:x")],
          categories: [
            Category(term: hostileText, scheme: "javascript:x", label: hostileText),
            Category(term: ""),
          ],
          enclosures: [Enclosure(url: "https://broken.example.lt/f", type: "garbage")],
          language: "lt-LT"),
        atomID: "urn:x-clusterwire:broken:1", sortDate: t0.addingTimeInterval(-7200), language: "lt"
      ))
    // An entry with no link and no content: Atom then needs inline content.
    groups.append(
      store.add(
        sourceID: "ict", entry: Entry(title: "Be nuorodos"), atomID: "urn:x-clusterwire:ict:nolink",
        sortDate: t0.addingTimeInterval(-10800), language: "lt"))
    return groups
  }

  static func string(_ doc: Document?) -> String {
    String(decoding: doc?.body ?? [], as: UTF8.self)
  }

  /// Runs xmllint; returns (status, stderr).
  static func xmllint(_ args: [String], _ bytes: [UInt8]) throws -> (Int32, String) {
    let candidates = ["/usr/bin/xmllint", "/usr/local/bin/xmllint"]
    guard let exe = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
      XCTFail("xmllint not found: install Debian's libxml2-utils")
      return (-1, "")
    }
    let dir = try TestSupport.makeTempDirectory("pubtest")
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("doc.xml")
    try Data(bytes).write(to: file)
    let r = try TestSupport.run(URL(fileURLWithPath: exe), args + [file.path])
    return (r.status, r.stderrString)
  }
}

/// Pulls elements and attributes out of our XML with Foundation's parser, independently of the
/// project's FeedParser, so paging and structure tests do not depend on it.
final class XMLCollector: NSObject, XMLParserDelegate {
  struct Element {
    var path: String
    var attributes: [String: String]
    var text: String
  }
  var elements: [Element] = []
  private var stack: [(String, [String: String], String)] = []
  var error: Error?

  static func collect(_ bytes: [UInt8]) -> XMLCollector {
    let c = XMLCollector()
    let p = XMLParser(data: Data(bytes))
    p.shouldProcessNamespaces = false
    p.delegate = c
    if !p.parse() { c.error = p.parserError ?? NSError(domain: "xml", code: 1) }
    return c
  }

  func parser(
    _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
    qualifiedName qName: String?,
    attributes attributeDict: [String: String] = [:]
  ) {
    stack.append((elementName, attributeDict, ""))
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    if !stack.isEmpty { stack[stack.count - 1].2 += string }
  }

  func parser(
    _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
    qualifiedName qName: String?
  ) {
    let (name, attrs, text) = stack.removeLast()
    let path = (stack.map(\.0) + [name]).joined(separator: "/")
    elements.append(Element(path: path, attributes: attrs, text: text))
  }

  func all(_ path: String) -> [Element] { elements.filter { $0.path == path } }
  func texts(_ path: String) -> [String] { all(path).map(\.text) }
  func link(_ path: String, rel: String) -> String? {
    all(path).first { $0.attributes["rel"] == rel }?.attributes["href"]
  }
}
