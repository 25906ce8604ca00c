import CLibXML2
import FeedModel
import Foundation
import WebText

/// What scraping one HTML page produced, with advice for the admin ("item matched 0 nodes").
public struct ScrapeResult: Sendable, Hashable {
  public var parsed: ParsedFeed
  public var warnings: [String]
  public init(parsed: ParsedFeed, warnings: [String]) {
    self.parsed = parsed
    self.warnings = warnings
  }
}

/// Turns an HTML news listing into feed entries with XPath selectors (libxml2 HTML parser).
public enum HTMLScraper {
  /// Throws `FeedParserError.notAFeed` when `item` matches nothing (the page changed its markup).
  ///
  /// The page is decoded per a BOM, then the HTTP charset, then `<meta charset>`; undeclared
  /// bytes that are not UTF-8 are windows-1257 on a `lang="lt"` (lv, et) page, else windows-1252. Each item's title is plain text, its link absolute (against
  /// `<base href>` when present, else `pageURL`), its date read with the selectors' locale,
  /// format and zone (nil when unparseable: the store keeps the first-seen time), its summary
  /// stripped of "…"/"Read more" tails, its content sanitised. Items without a link are skipped.
  public static func scrape(
    _ data: Data, contentType: String? = nil, pageURL: URL, selectors: HTMLSelectors,
    options: ParseOptions = ParseOptions()
  ) throws(FeedParserError) -> ScrapeResult {
    guard !data.isEmpty else { throw .empty }
    guard data.count <= options.maxBytes else {
      throw .tooLarge(size: data.count, limit: options.maxBytes)
    }
    let encoding = HTMLCharset.detect(data, contentType: contentType)
    guard let doc = HTMLTree.readPage(data, encoding: encoding, pageURL: pageURL) else {
      throw .unreadable("libxml2 could not read the page as HTML")
    }
    defer { xmlFreeDoc(doc) }
    guard let context = xmlXPathNewContext(doc) else { throw .unreadable("out of memory") }
    defer { xmlXPathFreeContext(context) }
    context.pointee.error = { _, _ in }  // runtime XPath errors: no stderr noise
    HTMLQuiet.begin()
    defer { HTMLQuiet.end() }

    var scraper = PageScraper(doc: doc, context: context, pageURL: pageURL, selectors: selectors)
    return try scraper.run(encoding: encoding)
  }

  /// Nil when `expression` compiles as XPath 1.0, else libxml2's complaint.
  ///
  /// The expression is also evaluated once against an empty page, which catches what only shows
  /// at run time (an unknown function, an undeclared namespace prefix).
  public static func xpathError(_ expression: String) -> String? {
    let trimmed = expression.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.isEmpty { return "empty XPath expression" }
    let box = XPathErrorBox()
    let handler: xmlStructuredErrorFunc = { ctx, error in
      guard let ctx, let error, let message = error.pointee.message else { return }
      let box = Unmanaged<XPathErrorBox>.fromOpaque(ctx).takeUnretainedValue()
      if box.message == nil {
        box.message = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
      }
    }
    xmlSetStructuredErrorFunc(Unmanaged.passUnretained(box).toOpaque(), handler)
    HTMLQuiet.begin()
    defer {
      xmlSetStructuredErrorFunc(nil, nil)
      HTMLQuiet.end()
    }
    guard let compiled = xmlXPathCompile(trimmed) else {
      return "\(box.message ?? "invalid expression") in '\(trimmed)'"
    }
    defer { xmlXPathFreeCompExpr(compiled) }
    let page = "<html><body><div></div></body></html>"
    guard
      let doc = page.withCString({
        htmlReadMemory($0, Int32(strlen($0)), nil, "UTF-8", HTMLTree.parseOptions)
      })
    else { return nil }
    defer { xmlFreeDoc(doc) }
    guard let context = xmlXPathNewContext(doc) else { return nil }
    defer { xmlXPathFreeContext(context) }
    context.pointee.node = xmlDocGetRootElement(doc)
    let result = xmlXPathCompiledEval(compiled, context)
    if let result { xmlXPathFreeObject(result) }
    if result == nil || box.message != nil {
      return "\(box.message ?? "evaluation failed") in '\(trimmed)'"
    }
    return nil
  }

  /// Removes the "…", "Skaityti daugiau", "Read more »" tails news listings put after a lead.
  public static func stripReadMore(_ text: String) -> String {
    var s = text.trimmingCharacters(in: .whitespacesAndNewlines)
    var changed = true
    while changed && !s.isEmpty {
      changed = false
      let lower = s.lowercased()
      for tail in readMoreTails where lower.hasSuffix(tail) {
        // A word tail must start at a word boundary ("galore" does not end in "more").
        let cut = lower.index(lower.endIndex, offsetBy: -tail.count)
        if tail.first!.isLetter, cut > lower.startIndex {
          let before = lower[lower.index(before: cut)]
          if before.isLetter || before.isNumber { continue }
        }
        s = String(s.unicodeScalars.dropLast(tail.unicodeScalars.count))
          .trimmingCharacters(in: .whitespacesAndNewlines)
        changed = true
        break
      }
    }
    return s
  }

  /// Lowercased tails, longest first where one contains another.
  static let readMoreTails: [String] = [
    "skaityti daugiau", "skaityti plačiau", "skaityti placiau", "skaityti toliau",
    "skaitykite daugiau",
    "plačiau", "daugiau", "read more", "read full article", "read the full story",
    "read full story", "continue reading", "keep reading", "weiterlesen", "mehr lesen",
    "lire la suite", "lire plus", "»", "›", "→", ">>", "…", "...", "[…]", "[...]", "(…)",
    "(...)", "|",
  ].sorted { $0.count > $1.count }
}

/// Collects libxml2's message for `xpathError`.
private final class XPathErrorBox {
  var message: String?
}

/// Decides the encoding of an HTML page the way browsers do (simplified).
enum HTMLCharset {
  static func detect(_ data: Data, contentType: String?) -> String {
    let bytes = [UInt8](data.prefix(4096))
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { return "utf-8" }
    if bytes.starts(with: [0xFE, 0xFF]) { return "utf-16be" }
    if bytes.starts(with: [0xFF, 0xFE]) { return "utf-16le" }
    if let contentType, let declared = charsetParameter(contentType),
      let known = normalise(declared)
    {
      return known
    }
    if let declared = metaCharset(bytes), let known = normalise(declared) {
      // A page cannot claim UTF-16 in its own ASCII-compatible bytes.
      return known.hasPrefix("utf-16") ? "utf-8" : known
    }
    if isValidUTF8(data) { return "utf-8" }
    // Undeclared legacy bytes: browsers pick a default by locale. Baltic pages mean
    // windows-1257, anything else windows-1252.
    return declaresBalticLanguage(bytes) ? "windows-1257" : "windows-1252"
  }

  /// `lang="lt"` (or lv, et) on the page, e.g. `<html lang="lt-LT">`.
  static func declaresBalticLanguage(_ bytes: [UInt8]) -> Bool {
    let text = String(decoding: bytes.prefix(4096), as: UTF8.self).lowercased()
    for code in ["lt", "lv", "et"] {
      for quote in ["\"", "'", ""] where text.contains("lang=\(quote)\(code)") {
        return true
      }
    }
    return false
  }

  static func isValidUTF8(_ data: Data) -> Bool {
    String(data: data, encoding: .utf8) != nil
  }

  static func charsetParameter(_ contentType: String) -> String? {
    for part in contentType.split(separator: ";").dropFirst() {
      let kv = part.split(separator: "=", maxSplits: 1)
      guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == "charset"
      else {
        continue
      }
      return kv[1].trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
    }
    return nil
  }

  /// `charset=` inside the first 4 KB (covers `<meta charset>` and the http-equiv form).
  static func metaCharset(_ bytes: [UInt8]) -> String? {
    let lower = bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    let needle = Array("charset".utf8)
    guard lower.count > needle.count else { return nil }
    var i = 0
    while i + needle.count < lower.count {
      if lower[i] == needle[0] && Array(lower[i..<(i + needle.count)]) == needle {
        var j = i + needle.count
        while j < lower.count && (lower[j] == 0x20 || lower[j] == 0x09) { j += 1 }
        if j < lower.count && lower[j] == UInt8(ascii: "=") {
          j += 1
          while j < lower.count && (lower[j] == 0x20 || lower[j] == 0x22 || lower[j] == 0x27) {
            j += 1
          }
          let start = j
          while j < lower.count,
            DateScanner.isAlpha(lower[j]) || DateScanner.isDigit(lower[j])
              || lower[j] == UInt8(ascii: "-") || lower[j] == UInt8(ascii: "_")
              || lower[j] == UInt8(ascii: ".") || lower[j] == UInt8(ascii: ":")
          {
            j += 1
          }
          if j > start { return String(decoding: lower[start..<j], as: UTF8.self) }
        }
      }
      i += 1
    }
    return nil
  }

  /// Lowercase IANA name that libxml2 can decode; Latin-1 and ASCII labels mean windows-1252,
  /// as in browsers. Nil for names nothing here knows.
  static func normalise(_ name: String) -> String? {
    var n = name.lowercased().trimmingCharacters(in: .whitespaces)
    switch n {
    case "utf8", "unicode-1-1-utf-8": n = "utf-8"
    case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "cp1252":
      n = "windows-1252"
    case "cp1257", "win-1257", "x-cp1257": n = "windows-1257"
    case "iso8859-13", "latin7", "l7": n = "iso-8859-13"
    default: break
    }
    guard let handler = xmlFindCharEncodingHandler(n) else { return nil }
    xmlCharEncCloseFunc(handler)
    return n
  }
}

/// One scrape: the page, its XPath context and the compiled selectors.
private struct PageScraper {
  let doc: htmlDocPtr
  let context: xmlXPathContextPtr
  let pageURL: URL
  let selectors: HTMLSelectors
  var base: URL

  init(doc: htmlDocPtr, context: xmlXPathContextPtr, pageURL: URL, selectors: HTMLSelectors) {
    self.doc = doc
    self.context = context
    self.pageURL = pageURL
    self.selectors = selectors
    self.base = pageURL
  }

  /// The value of an XPath expression: nodes, or a string for `string()`/`concat()`/numbers.
  enum Value {
    case nodes([xmlNodePtr])
    case string(String)
  }

  final class Compiled {
    let expression: String
    let pointer: xmlXPathCompExprPtr
    init(_ expression: String, _ pointer: xmlXPathCompExprPtr) {
      self.expression = expression
      self.pointer = pointer
    }
    deinit { xmlXPathFreeCompExpr(pointer) }
  }

  func compile(_ expression: String?, role: String) throws(FeedParserError) -> Compiled? {
    guard let expression = expression?.trimmingCharacters(in: .whitespacesAndNewlines),
      !expression.isEmpty
    else { return nil }
    guard let pointer = xmlXPathCtxtCompile(context, expression) else {
      let why = HTMLScraper.xpathError(expression) ?? "invalid XPath"
      throw .notAFeed("\(role) selector is not valid XPath: \(why)")
    }
    return Compiled(expression, pointer)
  }

  func evaluate(_ compiled: Compiled, at node: xmlNodePtr?) -> Value {
    context.pointee.node = node
    guard let result = xmlXPathCompiledEval(compiled.pointer, context) else { return .nodes([]) }
    defer { xmlXPathFreeObject(result) }
    switch result.pointee.type {
    case XPATH_NODESET, XPATH_XSLT_TREE:
      guard let set = result.pointee.nodesetval, set.pointee.nodeNr > 0,
        let tab = set.pointee.nodeTab
      else { return .nodes([]) }
      var nodes: [xmlNodePtr] = []
      nodes.reserveCapacity(Int(set.pointee.nodeNr))
      for k in 0..<Int(set.pointee.nodeNr) {
        if let n = tab[k] { nodes.append(n) }
      }
      return .nodes(nodes)
    default:
      guard let s = xmlXPathCastToString(result) else { return .string("") }
      defer { clibxml2_free(s) }
      return .string(String(cString: s))
    }
  }

  /// Visible text of a node (element text, attribute value, text node), whitespace collapsed.
  static func text(of node: xmlNodePtr) -> String {
    var bytes: [UInt8] = []
    HTMLTree.appendText(of: node, includeRoot: true, into: &bytes)
    return bytes.withUnsafeBufferPointer { HTMLText.collapseWhitespace($0) }
  }

  static func collapse(_ s: String) -> String {
    var copy = s
    return copy.withUTF8 { HTMLText.collapseWhitespace($0) }
  }

  func texts(_ value: Value) -> [String] {
    switch value {
    case .string(let s): return [PageScraper.collapse(s)]
    case .nodes(let nodes): return nodes.map(PageScraper.text(of:))
    }
  }

  /// The link a value names: an attribute's value, an element's `href` (or its first descendant
  /// link's), else the text.
  func link(_ value: Value) -> String? {
    switch value {
    case .string(let s):
      return s.trimmingCharacters(in: .whitespacesAndNewlines)
    case .nodes(let nodes):
      for node in nodes {
        let raw: String?
        switch node.pointee.type {
        case XML_ATTRIBUTE_NODE:
          raw = HTMLTree.attributeValue(
            UnsafeMutableRawPointer(node).assumingMemoryBound(to: xmlAttr.self))
        case XML_ELEMENT_NODE:
          raw = HTMLTree.attribute(node, "href") ?? firstDescendantHref(node)
        default:
          raw = PageScraper.text(of: node)
        }
        if let raw = raw?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty {
          return raw
        }
      }
      return nil
    }
  }

  func firstDescendantHref(_ node: xmlNodePtr) -> String? {
    PageScraper.firstDescendant(of: node, element: "a", attribute: "href")
  }

  /// The `attribute` of the first descendant `element` (document order) that has it.
  static func firstDescendant(of node: xmlNodePtr, element: String, attribute: String) -> String? {
    var stack: [xmlNodePtr] = []
    var child = node.pointee.children
    while let c = child {
      stack.append(c)
      child = c.pointee.next
    }
    stack.reverse()
    while let n = stack.popLast() {
      guard n.pointee.type == XML_ELEMENT_NODE else { continue }
      if let name = n.pointee.name, String(cString: name).lowercased() == element,
        let value = HTMLTree.attribute(n, attribute)
      {
        return value
      }
      var kids: [xmlNodePtr] = []
      var c = n.pointee.children
      while let k = c {
        kids.append(k)
        c = k.pointee.next
      }
      stack.append(contentsOf: kids.reversed())
    }
    return nil
  }

  /// Candidate date strings: a `datetime` (or `content`) attribute of the node, then that of its
  /// first descendant `<time datetime>`, then the node's text.
  func dateCandidates(_ value: Value) -> [String] {
    switch value {
    case .string(let s): return [s]
    case .nodes(let nodes):
      var out: [String] = []
      for node in nodes {
        if node.pointee.type == XML_ELEMENT_NODE {
          if let dt = HTMLTree.attribute(node, "datetime") { out.append(dt) }
          if let dt = HTMLTree.attribute(node, "content") { out.append(dt) }
          if let dt = PageScraper.firstDescendant(of: node, element: "time", attribute: "datetime")
          {
            out.append(dt)
          }
        }
        out.append(PageScraper.text(of: node))
      }
      return out.filter { !$0.isEmpty }
    }
  }

  func content(_ value: Value) -> String {
    var writer = HTMLWriter(base: base, capacity: 1024)
    switch value {
    case .string(let s):
      writer.appendEscaped(s, quote: false)
    case .nodes(let nodes):
      for node in nodes {
        switch node.pointee.type {
        case XML_ELEMENT_NODE: writer.writeChildren(of: node)
        case XML_ATTRIBUTE_NODE, XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
          writer.appendEscaped(PageScraper.text(of: node), quote: false)
        default: break
        }
      }
    }
    return HTMLSanitizer.trimmed(writer.string)
  }

  mutating func run(encoding: String) throws(FeedParserError) -> ScrapeResult {
    guard let itemSelector = try compile(selectors.item, role: "item") else {
      throw .notAFeed("the item selector is empty")
    }
    let titleSel = try compile(selectors.title, role: "title")
    let linkSel = try compile(selectors.link, role: "link")
    let dateSel = try compile(selectors.date, role: "date")
    let summarySel = try compile(selectors.summary, role: "summary")
    let contentSel = try compile(selectors.content, role: "content")
    let authorSel = try compile(selectors.author, role: "author")
    let categoriesSel = try compile(selectors.categories, role: "categories")
    let idSel = try compile(selectors.id, role: "id")

    // <base href> overrides the page URL for relative links.
    if let baseSel = try compile("//base[@href][1]/@href", role: "base"),
      let href = link(evaluate(baseSel, at: nil)),
      let url = URL(string: href, relativeTo: pageURL)?.absoluteURL,
      let scheme = url.scheme?.lowercased(),
      scheme == "http" || scheme == "https" || scheme == "file"
    {
      base = url
    } else if base.isFileURL,
      let canonicalSel = try compile(
        "//link[@rel='canonical'][1]/@href | //meta[@property='og:url'][1]/@content",
        role: "canonical"),
      let href = link(evaluate(canonicalSel, at: nil)),
      let url = URL(string: href)?.absoluteURL,
      let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https"
    {
      // A page saved to disk (a `file:` source) still names its public address: relative links
      // belong to that site, not to the local file system.
      base = url
    }
    var pageTitle: String?
    if let titleSelector = try compile("//title[1]", role: "page title") {
      pageTitle = texts(evaluate(titleSelector, at: nil)).first.flatMap { $0.isEmpty ? nil : $0 }
    }
    var language: String?
    if let langSel = try compile("/html/@lang", role: "language"),
      let lang = texts(evaluate(langSel, at: nil)).first, !lang.isEmpty
    {
      language = lang
    }

    guard case .nodes(let items) = evaluate(itemSelector, at: nil), !items.isEmpty else {
      throw .notAFeed(
        "item selector '\(itemSelector.expression)' matched 0 nodes (did the page change its markup?)"
      )
    }

    let zone = TimeZone(identifier: selectors.timeZone) ?? LocaleDateParser.defaultTimeZone
    var warnings: [String] = []
    if TimeZone(identifier: selectors.timeZone) == nil {
      warnings.append("unknown time zone '\(selectors.timeZone)', using Europe/Vilnius")
    }
    var entries: [Entry] = []
    var seenIDs = Set<String>()
    var emptyTitles = 0
    var missingLinks = 0
    var duplicates = 0
    var dateFailures = 0
    var dateExample: String?

    for item in items {
      var entry = Entry()
      if let titleSel {
        let title = texts(evaluate(titleSel, at: item)).first { !$0.isEmpty }
        entry.title = title
      }
      if entry.title == nil { emptyTitles += 1 }

      var rawLink: String?
      if let linkSel { rawLink = link(evaluate(linkSel, at: item)) }
      // A link that cannot be made absolute (`//cdn.klasterþia</a>`: no valid host) is none.
      guard let raw = rawLink, let absolute = HTMLURL.clean(raw, base: base, allowDataImage: false),
        HTMLURL.scheme(of: absolute) != nil
      else {
        missingLinks += 1
        continue
      }
      entry.link = absolute
      entry.links = [Link(href: absolute, rel: "alternate", type: "text/html")]

      if let dateSel {
        let candidates = dateCandidates(evaluate(dateSel, at: item))
        var date: Date?
        for candidate in candidates {
          date = LocaleDateParser.parse(
            candidate, locale: selectors.dateLocale, format: selectors.dateFormat, timeZone: zone)
          if date != nil { break }
        }
        if let date {
          entry.published = date
        } else {
          dateFailures += 1
          if dateExample == nil { dateExample = candidates.first ?? "" }
        }
      }
      if let summarySel {
        let parts = texts(evaluate(summarySel, at: item)).filter { !$0.isEmpty }
        let summary = HTMLScraper.stripReadMore(parts.joined(separator: " "))
        if !summary.isEmpty { entry.summary = .text(summary) }
      }
      if let contentSel {
        let html = content(evaluate(contentSel, at: item))
        if !html.isEmpty { entry.content = .html(html) }
      }
      if let authorSel {
        entry.authors = texts(evaluate(authorSel, at: item)).filter { !$0.isEmpty }.map {
          Person(name: $0)
        }
      }
      if let categoriesSel {
        var seen = Set<String>()
        for term in texts(evaluate(categoriesSel, at: item)) where !term.isEmpty {
          if seen.insert(term).inserted { entry.categories.append(Category(term: term)) }
        }
      }
      var id = absolute
      if let idSel, let custom = texts(evaluate(idSel, at: item)).first(where: { !$0.isEmpty }) {
        id = custom
      }
      entry.id = id
      guard seenIDs.insert(id).inserted else {
        duplicates += 1
        continue
      }
      entries.append(entry)
    }

    let n = items.count
    if emptyTitles > 0 {
      warnings.append("title empty on \(emptyTitles) of \(n) item\(n == 1 ? "" : "s")")
    }
    if missingLinks > 0 {
      warnings.append("link missing on \(missingLinks) of \(n) item\(n == 1 ? "" : "s") (skipped)")
    }
    if dateFailures > 0 {
      var w = "date not parsed on \(dateFailures) of \(n) item\(n == 1 ? "" : "s")"
      if let example = dateExample {
        w +=
          example.isEmpty
          ? " (the date selector matched nothing)" : " (e.g. '\(example.prefix(80))')"
      }
      warnings.append(w)
    }
    if duplicates > 0 {
      warnings.append(
        "\(duplicates) item\(duplicates == 1 ? "" : "s") repeat an earlier id (skipped)")
    }
    if entries.isEmpty {
      throw .notAFeed(
        "item selector '\(itemSelector.expression)' matched \(n) nodes but none had a link (check the link selector)"
      )
    }
    let feed = Feed(
      title: pageTitle, link: pageURL.absoluteString, language: language, entries: entries)
    return ScrapeResult(
      parsed: ParsedFeed(format: .html, encoding: encoding, feed: feed), warnings: warnings)
  }
}
