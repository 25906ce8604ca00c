import CLibXML2
import Foundation

/// An allowlist HTML sanitiser on libxml2's HTML parser.
///
/// Kept: text structure, links, images, lists, tables, quotes, code (see `HTMLPolicy`). Dropped
/// with their content: script, style, iframe, object, embed, forms and their controls, meta,
/// base, link, noscript, template, svg, math, audio/video. Unknown tags are unwrapped. Only
/// allowlisted attributes survive (never `on*`, `style`, `class`, `id`); `href`/`src`/`cite` must
/// have a safe scheme (`data:` only for png/gif/jpeg/webp images) and are made absolute. Links get
/// no `rel`: `target` is never kept, so there is no opener to protect.
public enum HTMLSanitizer {
  /// Returns well-formed, safe HTML (XML-embeddable) with every href/src absolute against `baseURL`.
  public static func sanitize(_ html: String, baseURL: URL?) -> String {
    var copy = html
    let kind = copy.withUTF8 { scanKind($0) }
    switch kind {
    case .clean:
      return trimmed(html)
    case .needsEscaping:
      return copy.withUTF8 { buf in
        var writer = HTMLWriter(base: baseURL, capacity: buf.count + 16)
        writer.appendEscaped(buf, quote: false)
        return trimmed(writer.string)
      }
    case .entities:
      return copy.withUTF8 { buf in
        let decoded = HTMLTree.decodeEntities(buf)
        var writer = HTMLWriter(base: baseURL, capacity: decoded.count + 16)
        decoded.withUnsafeBufferPointer { writer.appendEscaped($0, quote: false) }
        return trimmed(writer.string)
      }
    case .markup:
      return trimmed(HTMLStream.sanitize(html, baseURL: baseURL) ?? "")
    }
  }

  /// Markup removed, entities decoded, whitespace collapsed: for titles.
  public static func plainText(fromHTML html: String) -> String {
    var copy = html
    let kind = copy.withUTF8 { scanKind($0) }
    switch kind {
    case .clean, .needsEscaping:
      return copy.withUTF8 { buf in
        if !needsCollapsing(buf) { return html }
        return HTMLTree.collapseWhitespace(buf)
      }
    case .entities:
      return copy.withUTF8 { buf in
        let decoded = HTMLTree.decodeEntities(buf)
        return decoded.withUnsafeBufferPointer { HTMLTree.collapseWhitespace($0) }
      }
    case .markup:
      guard let doc = HTMLTree.parseFragment(html) else { return "" }
      defer { xmlFreeDoc(doc) }
      var bytes: [UInt8] = []
      bytes.reserveCapacity(html.utf8.count)
      doc.withMemoryRebound(to: xmlNode.self, capacity: 1) {
        HTMLTree.appendText(of: $0, includeRoot: false, into: &bytes)
      }
      return bytes.withUnsafeBufferPointer { HTMLTree.collapseWhitespace($0) }
    }
  }

  /// How much work a string needs, from one pass over its bytes.
  enum Kind {
    /// Plain text that is already valid, escaped output.
    case clean
    /// Plain text with `>` or characters XML forbids.
    case needsEscaping
    /// `&` but no `<`: entities decoded without a parser.
    case entities
    /// `<`: libxml2's HTML parser.
    case markup
  }

  static func scanKind(_ b: UnsafeBufferPointer<UInt8>) -> Kind {
    var kind = Kind.clean
    for c in b {
      if c == UInt8(ascii: "<") { return .markup }
      if c == UInt8(ascii: "&") {
        kind = .entities
      } else if c == UInt8(ascii: ">") || HTMLWriter.isForbiddenControl(c) || c == 0xEF {
        if case .clean = kind { kind = .needsEscaping }
      }
    }
    return kind
  }

  /// True when `b` has leading/trailing whitespace, a whitespace run, or a control character.
  static func needsCollapsing(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let first = b.first, let last = b.last else { return false }
    if first <= 0x20 || last <= 0x20 { return true }
    var previousSpace = false
    for c in b {
      if c < 0x20 || c == 0x7F || c == 0xC2 || c == 0xEF { return true }
      let space = c == 0x20
      if space && previousSpace { return true }
      previousSpace = space
    }
    return false
  }

  static func trimmed(_ s: String) -> String {
    guard let first = s.utf8.first, let last = s.utf8.last else { return s }
    if first > 0x20 && last > 0x20 { return s }
    return s.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
