import CLibXML2
import FeedParser
import Foundation
import WebText

/// One page parsed for listing inference: the libxml2 tree (decoded exactly as `HTMLScraper`
/// decodes it), an XPath context for trying candidate selectors, and cached text per element.
///
/// Not `Sendable`: one inference owns one page, on one thread.
final class ListingPage {
  let doc: htmlDocPtr
  let context: xmlXPathContextPtr
  let pageURL: URL
  /// `<base href>` when the page has an http(s) one, else the page URL.
  private(set) var base: URL
  /// `<html lang>`, as written (`lt-LT`).
  private(set) var language: String?
  private var textCache: [xmlNodePtr: String] = [:]
  private var compiled: [String: xmlXPathCompExprPtr] = [:]

  init?(html: Data, contentType: String?, pageURL: URL) {
    LibXML.bootstrap()
    guard !html.isEmpty, html.count <= ParseOptions().maxBytes,
      let doc = HTMLTree.readPage(html, contentType: contentType, pageURL: pageURL)
    else { return nil }
    guard let context = xmlXPathNewContext(doc) else {
      xmlFreeDoc(doc)
      return nil
    }
    context.pointee.error = { _, _ in }  // our own expressions; no stderr noise either way
    self.doc = doc
    self.context = context
    self.pageURL = pageURL
    self.base = pageURL
    if let root = xmlDocGetRootElement(doc), let lang = HTMLTree.attribute(root, "lang") {
      let trimmed = lang.trimmingCharacters(in: .whitespaces)
      language = trimmed.isEmpty ? nil : trimmed
    }
    if let baseElement = evaluate("//base[@href]", at: nil).first,
      let href = HTMLTree.attribute(baseElement, "href"),
      let url = URL(string: href.trimmingCharacters(in: .whitespaces), relativeTo: pageURL)?
        .absoluteURL,
      URLSafety.webLink(url.absoluteString) != nil
    {
      base = url
    }
  }

  deinit {
    for pointer in compiled.values { xmlXPathFreeCompExpr(pointer) }
    xmlXPathFreeContext(context)
    xmlFreeDoc(doc)
  }

  /// The `<body>` element (libxml2 always makes one for a page with content).
  var body: xmlNodePtr? { evaluate("/html/body", at: nil).first }

  /// Nodes an XPath 1.0 expression selects from `node` (the document when nil); empty when the
  /// expression does not compile or selects no node set.
  func evaluate(_ expression: String, at node: xmlNodePtr?) -> [xmlNodePtr] {
    let pointer: xmlXPathCompExprPtr
    if let known = compiled[expression] {
      pointer = known
    } else {
      guard let fresh = xmlXPathCtxtCompile(context, expression) else { return [] }
      compiled[expression] = fresh
      pointer = fresh
    }
    context.pointee.node = node
    guard let result = xmlXPathCompiledEval(pointer, context) else { return [] }
    defer { xmlXPathFreeObject(result) }
    guard result.pointee.type == XPATH_NODESET, let set = result.pointee.nodesetval,
      set.pointee.nodeNr > 0, let tab = set.pointee.nodeTab
    else { return [] }
    var nodes: [xmlNodePtr] = []
    nodes.reserveCapacity(Int(set.pointee.nodeNr))
    for k in 0..<Int(set.pointee.nodeNr) {
      if let n = tab[k] { nodes.append(n) }
    }
    return nodes
  }

  /// Visible text of an element (scripts skipped, blocks separated), whitespace collapsed — the
  /// scraper's rule, so what is compared here is what a scrape produces.
  func text(_ node: xmlNodePtr) -> String {
    if let known = textCache[node] { return known }
    var bytes: [UInt8] = []
    HTMLTree.appendText(of: node, includeRoot: true, into: &bytes)
    let s = bytes.withUnsafeBufferPointer { HTMLText.collapseWhitespace($0) }
    textCache[node] = s
    return s
  }

  /// `href` of an element made absolute against the page's base; nil unless http(s).
  func absoluteLink(_ node: xmlNodePtr) -> String? {
    guard let raw = HTMLTree.attribute(node, "href")?.trimmingCharacters(in: .whitespaces),
      !raw.isEmpty, !raw.hasPrefix("#"),
      let url = URL(string: raw, relativeTo: base)?.absoluteURL
    else { return nil }
    return URLSafety.webLink(url.absoluteString)
  }

  // MARK: - Tree helpers

  static func isElement(_ n: xmlNodePtr) -> Bool { n.pointee.type == XML_ELEMENT_NODE }

  /// Lowercased element name ("" for other nodes).
  static func tag(_ n: xmlNodePtr) -> String {
    guard isElement(n), let name = n.pointee.name else { return "" }
    return String(cString: name).lowercased()
  }

  /// Element children, skipping the ones whose content never shows (`script`, `style`…).
  static func children(_ n: xmlNodePtr) -> [xmlNodePtr] {
    var out: [xmlNodePtr] = []
    var child = n.pointee.children
    while let c = child {
      if isElement(c), !HTMLText.droppedElements.contains(tag(c)) { out.append(c) }
      child = c.pointee.next
    }
    return out
  }

  /// Element descendants in document order (not `n` itself), skipping invisible content.
  static func descendants(_ n: xmlNodePtr, limit: Int = 20_000) -> [xmlNodePtr] {
    var out: [xmlNodePtr] = []
    var stack = Array(children(n).reversed())
    while let next = stack.popLast(), out.count < limit {
      out.append(next)
      stack.append(contentsOf: children(next).reversed())
    }
    return out
  }

  /// Whether `a` is `b` or one of its ancestors.
  static func contains(_ a: xmlNodePtr, _ b: xmlNodePtr) -> Bool {
    var node: xmlNodePtr? = b
    while let n = node {
      if n == a { return true }
      node = n.pointee.parent
    }
    return false
  }

  /// Ancestors of `n` from its parent up to the root element.
  static func ancestors(_ n: xmlNodePtr) -> [xmlNodePtr] {
    var out: [xmlNodePtr] = []
    var node = n.pointee.parent
    while let p = node, isElement(p) {
      out.append(p)
      node = p.pointee.parent
    }
    return out
  }

  static func classes(_ n: xmlNodePtr) -> [String] {
    guard let value = HTMLTree.attribute(n, "class") else { return [] }
    return value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
      .map(String.init)
  }
}
