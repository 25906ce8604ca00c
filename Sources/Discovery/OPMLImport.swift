import CLibXML2
import FeedModel
import FeedParser
import Foundation
import WebText

/// A feed outline of an OPML subscription list, as a source.
public struct OPMLSource: Sendable, Hashable {
  public var source: SourceDefinition
  /// The outline's `htmlUrl` (the member's site), for a `# site:` comment in the drop-in.
  public var siteURL: String?
  /// Line of the outline in the OPML file.
  public var line: Int

  public init(source: SourceDefinition, siteURL: String?, line: Int) {
    self.source = source
    self.siteURL = siteURL
    self.line = line
  }
}

/// An outline that did not become a source, and why (printed by `import-opml` on stderr).
public struct OPMLSkipped: Sendable, Hashable, CustomStringConvertible {
  /// The outline's `title`, else its `text`.
  public var title: String?
  public var line: Int
  public var reason: String

  public init(title: String?, line: Int, reason: String) {
    self.title = title
    self.line = line
    self.reason = reason
  }

  /// `"Title" skipped: reason` (the line left to the caller, who knows the file's name).
  public var message: String {
    "\(title.map { "\"\($0)\"" } ?? "untitled outline") skipped: \(reason)"
  }

  public var description: String { "line \(line): \(message)" }
}

/// Why an OPML file could not be read at all.
public enum OPMLError: Error, Sendable, Hashable, CustomStringConvertible {
  /// Larger than `OPMLImport.maxBytes`.
  case tooLarge(Int)
  /// Not well-formed XML: libxml2's first error and its line.
  case notXML(line: Int?, message: String)
  /// Well-formed, but not an OPML document.
  case notOPML(String)
  /// Refused before reading any outline: an entity declaration (expansion bombs, XXE).
  case hostile(String)

  public var description: String {
    switch self {
    case .tooLarge(let bytes):
      "the file is \(bytes) bytes; an OPML subscription list may be at most \(OPMLImport.maxBytes)"
    case .notXML(let line, let message):
      "not well-formed XML: \(line.map { "line \($0): " } ?? "")\(message)"
    case .notOPML(let why): "not OPML: \(why)"
    case .hostile(let why): "refused: \(why)"
    }
  }
}

/// OPML 1.0/2.0 subscription lists (Feedly, Inoreader, NetNewsWire, Thunderbird, our own
/// `/sources.opml`) as sources: one per feed outline, categories from the enclosing folders and
/// the `category` attribute, ids unique and the same on every import of the same file.
public struct OPMLImport: Sendable, Hashable {
  /// The `<head><title>`, when there is one.
  public var title: String?
  /// In document order.
  public var imported: [OPMLSource]
  /// Outlines that are not feeds (links, includes, non-http URLs, duplicates), in document order.
  public var skipped: [OPMLSkipped]

  public var sources: [SourceDefinition] { imported.map(\.source) }

  /// Subscription lists are small; this bounds the tree libxml2 builds.
  public static let maxBytes = 16 << 20

  /// Reads an OPML document with libxml2: no network, no DTD loading, no entity substitution
  /// (and the process-wide deny-all entity loader of `LibXML.bootstrap`), and the first entity
  /// declaration stops the parse, so neither an expansion bomb nor XXE gets anywhere.
  public static func parse(_ data: Data) throws(OPMLError) -> OPMLImport {
    guard data.count <= maxBytes else { throw .tooLarge(data.count) }
    LibXML.bootstrap()
    guard let ctxt = xmlNewParserCtxt() else {
      throw .notXML(line: nil, message: "libxml2 could not allocate a parser")
    }
    defer { xmlFreeParserCtxt(ctxt) }
    let errors = ParseErrors()
    ctxt.pointee._private = Unmanaged.passUnretained(errors).toOpaque()
    // A subscription list needs no entities: the first declaration stops the parse before the
    // entity exists, so nothing can be expanded (bombs) or read (XXE), not even once.
    ctxt.pointee.sax.pointee.entityDecl = { userData, name, _, _, systemID, _ in
      guard let userData else { return }
      let ctxt = userData.assumingMemoryBound(to: xmlParserCtxt.self)
      if let box = ctxt.pointee._private {
        let errors = Unmanaged<ParseErrors>.fromOpaque(box).takeUnretainedValue()
        errors.entity =
          errors.entity ?? (
            name: name.map { String(cString: $0) } ?? "?", external: systemID != nil,
            line: Int(xmlSAX2GetLineNumber(userData))
          )
      }
      xmlStopParser(ctxt)
    }
    let options = Int32(
      bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue
        | XML_PARSE_NOWARNING.rawValue | XML_PARSE_BIG_LINES.rawValue)
    // libxml2's errors, the parser's and those raised without the context (a failed encoding
    // conversion), go to this thread's structured handler while the parse runs: into `errors`,
    // never to stderr.
    let threadHandler: xmlStructuredErrorFunc = { box, error in
      guard let box, let error else { return }
      Unmanaged<ParseErrors>.fromOpaque(box).takeUnretainedValue().record(error.pointee)
    }
    xmlSetStructuredErrorFunc(Unmanaged.passUnretained(errors).toOpaque(), threadHandler)
    defer { xmlSetStructuredErrorFunc(nil, nil) }
    let parsed: xmlDocPtr? = data.withUnsafeBytes { raw in
      guard let base = raw.baseAddress, raw.count > 0 else { return nil }
      return xmlCtxtReadMemory(
        ctxt, base.assumingMemoryBound(to: CChar.self), Int32(raw.count), "subscriptions.opml",
        nil, options)
    }
    if let entity = errors.entity {
      if let parsed { xmlFreeDoc(parsed) }
      throw .hostile(
        "line \(entity.line) declares \(entity.external ? "an external" : "an") entity "
          + "(<!ENTITY \(entity.name) …>); a subscription list needs none, and entity expansion "
          + "is how XML bombs and external-entity (XXE) reads work")
    }
    guard let doc = parsed, ctxt.pointee.wellFormed != 0 else {
      if let parsed { xmlFreeDoc(parsed) }
      guard let first = errors.first else {
        throw .notXML(line: nil, message: data.isEmpty ? "the file is empty" : "unknown error")
      }
      throw .notXML(line: first.line, message: first.message)
    }
    defer { xmlFreeDoc(doc) }
    guard let root = xmlDocGetRootElement(doc) else { throw .notOPML("no root element") }
    let rootName = Self.name(root)
    guard rootName.lowercased() == "opml" else {
      throw .notOPML("root element is <\(rootName)>, expected <opml>")
    }
    let head = elements(root).first { Self.name($0).lowercased() == "head" }
    guard let body = elements(root).first(where: { Self.name($0).lowercased() == "body" }) else {
      throw .notOPML("<opml> has no <body>")
    }
    var walker = Walker(doc: doc)
    for outline in elements(body) where Self.name(outline).lowercased() == "outline" {
      walker.visit(outline, folders: [])
    }
    let title = head.flatMap { h in elements(h).first { Self.name($0).lowercased() == "title" } }
      .flatMap(text)
    return OPMLImport(
      title: title, imported: walker.assignIDs(), skipped: walker.skipped)
  }

  // MARK: - Tree helpers

  static func name(_ node: xmlNodePtr) -> String {
    node.pointee.name.map { String(cString: $0) } ?? ""
  }

  static func elements(_ node: xmlNodePtr) -> [xmlNodePtr] {
    var out: [xmlNodePtr] = []
    var child = node.pointee.children
    while let c = child {
      if c.pointee.type == XML_ELEMENT_NODE { out.append(c) }
      child = c.pointee.next
    }
    return out
  }

  static func text(_ node: xmlNodePtr) -> String? {
    guard let content = xmlNodeGetContent(node) else { return nil }
    defer { clibxml2_free(content) }
    return nonEmpty(String(cString: content))
  }

  static func nonEmpty(_ s: String?) -> String? {
    guard let s else { return nil }
    let trimmed = HTMLText.trimmed(s)
    return trimmed.isEmpty ? nil : trimmed
  }
}

/// libxml2's errors of one parse (through the thread's structured handler), the first one kept,
/// and the first entity declaration (through the context's `entityDecl`, found by `_private`).
private final class ParseErrors {
  struct Entry {
    let line: Int?
    let message: String
  }
  var first: Entry?
  /// The first entity declaration seen (the parse stops there).
  var entity: (name: String, external: Bool, line: Int)?

  func record(_ error: xmlError) {
    guard first == nil, error.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
    let message = error.message.map { String(cString: $0) } ?? "error \(error.code)"
    first = Entry(
      line: error.line > 0 ? Int(error.line) : nil,
      message: message.trimmingCharacters(in: .whitespacesAndNewlines)
        .replacingOccurrences(of: "\n", with: " "))
  }
}

/// One walk over the outlines: sources and skips in document order, ids assigned at the end.
private struct Walker {
  let doc: xmlDocPtr
  var found: [(OPMLSource, explicitID: String?)] = []
  var skipped: [OPMLSkipped] = []
  /// Feed URL (scheme and host lower-cased) → the line and title that first listed it.
  var seen: [String: (index: Int, line: Int, title: String?)] = [:]

  init(doc: xmlDocPtr) { self.doc = doc }

  mutating func visit(_ node: xmlNodePtr, folders: [String]) {
    let line = Int(xmlGetLineNo(node))
    let title = [attribute(node, "title"), attribute(node, "text")].lazy
      .compactMap(OPMLImport.nonEmpty).first
    let type = OPMLImport.nonEmpty(attribute(node, "type"))?.lowercased()
    let children = OPMLImport.elements(node).filter {
      OPMLImport.name($0).lowercased() == "outline"
    }
    func skip(_ reason: String) {
      skipped.append(OPMLSkipped(title: title, line: line, reason: reason))
    }
    // OPML 2.0: a comment outline and everything inside it are commented out.
    if attribute(node, "isComment")?.lowercased() == "true" {
      return skip("isComment=\"true\": commented out, with everything inside it")
    }

    if let xmlURL = OPMLImport.nonEmpty(attribute(node, "xmlUrl")) {
      if let type, type != "rss", type != "atom" {
        skip("type=\"\(type)\" is not a feed outline (only rss, atom or no type)")
      } else if let problem = Self.urlProblem(xmlURL) {
        skip(problem)
      } else if let first = seen[Self.key(xmlURL)] {
        // Readers export a feed filed in two folders twice: one source, in both categories.
        let before = found[first.index].0.source.categories
        for c in categories(node, folders: folders) {
          Self.add(c, to: &found[first.index].0.source.categories)
        }
        let added = found[first.index].0.source.categories.count - before.count
        skip(
          "duplicate of the feed at line \(first.line)"
            + (first.title.map { " (\"\($0)\")" } ?? "") + ": \(xmlURL)"
            + (added > 0 ? " (its categories added there)" : ""))
      } else {
        seen[Self.key(xmlURL)] = (found.count, line, title)
        let categories = categories(node, folders: folders)
        let source = SourceDefinition(
          id: "", url: FeedAddress.normalised(xmlURL), title: title, categories: categories)
        let site = URLSafety.webLink(attribute(node, "htmlUrl"))
        let explicitID = attribute(
          node, ClusterwireOPML.idAttribute, namespace: ClusterwireOPML.namespace
        )
        .flatMap(OPMLImport.nonEmpty)
        found.append((OPMLSource(source: source, siteURL: site, line: line), explicitID))
      }
      // A feed outline with outlines inside is unusual; read them in the same folders.
      for child in children { visit(child, folders: folders) }
      return
    }
    if !children.isEmpty {
      for child in children { visit(child, folders: folders + (title.map { [$0] } ?? [])) }
      return
    }
    let url = OPMLImport.nonEmpty(attribute(node, "url"))
    switch type {
    case "link":
      skip("type=\"link\" is a link to a web page, not a feed\(url.map { ": \($0)" } ?? "")")
    case "include":
      skip(
        "type=\"include\" names another OPML file, which is not followed\(url.map { ": \($0)" } ?? "")"
      )
    default:
      if attribute(node, "xmlUrl") != nil { return skip("its xmlUrl is empty") }
      skip(
        "no xmlUrl: neither a feed nor a folder of feeds"
          + (type.map { " (type=\"\($0)\")" } ?? ""))
    }
  }

  /// The enclosing folders' names, then each `category` attribute entry (`/Sector/ICT,news`:
  /// every part of a slash path), as slugs, without repeats.
  private func categories(_ node: xmlNodePtr, folders: [String]) -> [String] {
    var out: [String] = []
    for folder in folders { Self.add(Slug.make(folder), to: &out) }
    for entry in (attribute(node, "category") ?? "").split(separator: ",") {
      for part in entry.split(separator: "/") { Self.add(Slug.make(String(part)), to: &out) }
    }
    return out
  }

  private static func add(_ slug: String, to list: inout [String]) {
    if !slug.isEmpty, !list.contains(slug) { list.append(slug) }
  }

  /// Nil for an absolute http(s) URL with a host and no whitespace; else why it is skipped.
  static func urlProblem(_ url: String) -> String? {
    guard URLSafety.webLink(url) != nil else {
      let scheme = URLSafety.scheme(of: url)
      let hint =
        scheme == "feed" ? "; feed: is the old feed-reader alias: use the http(s) address" : ""
      return "feed URL \(url) is not http(s) (\(scheme.map { "\"\($0):\"" } ?? "no scheme")\(hint))"
    }
    if url.contains(where: { $0.isWhitespace }) {
      return "feed URL \"\(url)\" contains whitespace"
    }
    guard let host = URL(string: url)?.host, !host.isEmpty else {
      return "feed URL \(url) has no host"
    }
    return nil
  }

  static func key(_ url: String) -> String { FeedAddress.key(url) }

  /// An attribute's value: plain names matched case-insensitively (`xmlUrl`, `xmlURL`,
  /// `xmlurl` all occur in the wild) and only without a namespace; namespaced ones exactly.
  func attribute(_ node: xmlNodePtr, _ name: String, namespace: String? = nil) -> String? {
    var property = node.pointee.properties
    while let p = property {
      defer { property = p.pointee.next }
      let attrName = p.pointee.name.map { String(cString: $0) } ?? ""
      let attrNamespace = p.pointee.ns?.pointee.href.map { String(cString: $0) }
      let matches =
        namespace == nil
        ? attrNamespace == nil && attrName.lowercased() == name.lowercased()
        : attrNamespace == namespace && attrName == name
      guard matches else { continue }
      guard let value = xmlNodeListGetString(doc, p.pointee.children, 1) else { return "" }
      defer { clibxml2_free(value) }
      return String(cString: value)
    }
    return nil
  }

  /// Ids: a valid `clusterwire:id` is kept (the first outline to claim it); the others come
  /// from the title's slug, else the feed's host, with `-2`, `-3` … in document order for
  /// collisions. The same file always gives the same ids.
  func assignIDs() -> [OPMLSource] {
    var used: Set<String> = []
    var reserved: [Int: String] = [:]
    for (index, entry) in found.enumerated() {
      if let id = entry.explicitID, Slug.isValid(id), id.count <= 100, used.insert(id).inserted {
        reserved[index] = id
      }
    }
    var out: [OPMLSource] = []
    for (index, entry) in found.enumerated() {
      var result = entry.0
      if let id = reserved[index] {
        result.source.id = id
      } else {
        let base =
          [entry.0.source.title.map { Slug.make($0) }, Self.hostSlug(entry.0.source.url)]
          .compactMap { $0 }.first { !$0.isEmpty } ?? "source"
        let candidate = Slug.unique(base, avoiding: used)
        used.insert(candidate)
        result.source.id = candidate
      }
      out.append(result)
    }
    return out
  }

  /// `https://www.klasteriai.lt/feed/` → `klasteriai-lt`.
  static func hostSlug(_ url: String) -> String? {
    guard var host = URL(string: url)?.host?.lowercased() else { return nil }
    if host.hasPrefix("www.") { host.removeFirst(4) }
    return Slug.make(host)
  }
}
