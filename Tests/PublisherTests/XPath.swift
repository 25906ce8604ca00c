import CLibXML2
import FeedParser
import Foundation
import XCTest

/// XPath 1.0 queries over a rendered document with libxml2 (namespace-aware, unlike
/// `XMLCollector`), for what the project's parser cannot read back yet.
final class XPathDocument {
  private let doc: xmlDocPtr
  private let context: xmlXPathContextPtr

  static let namespaces = [
    "a": "http://www.w3.org/2005/Atom", "media": "http://search.yahoo.com/mrss/",
    "georss": "http://www.georss.org/georss", "dc": "http://purl.org/dc/elements/1.1/",
    "cc": "http://backend.userland.com/creativeCommonsRssModule",
    "fh": "http://purl.org/syndication/history/1.0",
  ]

  init(_ bytes: [UInt8]) throws {
    LibXML.bootstrap()
    let options = Int32(
      bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue
        | XML_PARSE_NOWARNING.rawValue)
    let parsed = bytes.withUnsafeBufferPointer { buf in
      buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
        xmlReadMemory($0, Int32(buf.count), "doc.xml", "UTF-8", options)
      }
    }
    doc = try XCTUnwrap(parsed, "not well-formed XML")
    context = xmlXPathNewContext(doc)
    for (prefix, uri) in Self.namespaces { xmlXPathRegisterNs(context, prefix, uri) }
  }

  deinit {
    xmlXPathFreeContext(context)
    xmlFreeDoc(doc)
  }

  private func evaluate<T>(_ expr: String, _ body: (xmlXPathObjectPtr) -> T) -> T? {
    guard let object = xmlXPathEvalExpression(expr, context) else {
      XCTFail("bad XPath: \(expr)")
      return nil
    }
    defer { xmlXPathFreeObject(object) }
    return body(object)
  }

  /// The string value of an expression (`string(…)` of a node-set: its first node's text).
  func string(_ expr: String) -> String {
    evaluate(expr) { object in
      guard let s = xmlXPathCastToString(object) else { return "" }
      defer { clibxml2_free(s) }
      return String(cString: s)
    } ?? ""
  }

  func number(_ expr: String) -> Double {
    evaluate(expr) { xmlXPathCastToNumber($0) } ?? .nan
  }

  func count(_ expr: String) -> Int { Int(number("count(\(expr))")) }

  /// The text of every node an expression selects, in document order.
  func strings(_ expr: String) -> [String] {
    evaluate(expr) { object -> [String] in
      guard let set = object.pointee.nodesetval, set.pointee.nodeNr > 0 else { return [] }
      return (0..<Int(set.pointee.nodeNr)).map { i in
        guard let node = set.pointee.nodeTab[i], let s = xmlNodeGetContent(node) else {
          return ""
        }
        defer { clibxml2_free(s) }
        return String(cString: s)
      }
    } ?? []
  }
}
