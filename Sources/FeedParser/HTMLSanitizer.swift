import CLibXML2
import Foundation
import WebText

/// An allowlist HTML sanitiser on libxml2's HTML parser.
///
/// Kept: text structure, links, images, lists, tables, quotes, code (see `HTMLPolicy`). Dropped
/// with their content: script, style, iframe, object, embed, forms and their controls, meta,
/// base, link, noscript, template, svg, audio/video; MathML presentation markup is kept. Unknown tags are unwrapped. Only
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
        let decoded = HTMLEntities.decode(buf)
        var writer = HTMLWriter(base: baseURL, capacity: decoded.count + 16)
        decoded.withUnsafeBufferPointer { writer.appendEscaped($0, quote: false) }
        return trimmed(writer.string)
      }
    case .markup:
      // `<![CDATA[…]]>` and Word's `<![if …]>` would reach libxml2 as text: resolve them first.
      let source = HTMLText.resolvingMarkedSections(html) ?? html
      return trimmed(HTMLStream.sanitize(source, baseURL: baseURL) ?? "")
    }
  }

  /// Markup removed, entities decoded, whitespace collapsed: for titles (the shared
  /// conversion, `HTMLText.plainText`).
  public static func plainText(fromHTML html: String) -> String { HTMLText.plainText(html) }

  /// How much work a string needs, from one pass over its bytes.
  enum Kind {
    /// Plain text that is already valid, escaped output.
    case clean
    /// Plain text with `>`, characters XML forbids, or C1 controls to remap (and no-break
    /// spaces, which share their first byte).
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
      } else if c == UInt8(ascii: ">") || HTMLWriter.isForbiddenControl(c) || c == 0xEF || c == 0xC2
      {
        if case .clean = kind { kind = .needsEscaping }
      }
    }
    return kind
  }

  static func trimmed(_ s: String) -> String {
    guard let first = s.utf8.first, let last = s.utf8.last else { return s }
    if first > 0x20 && last > 0x20 { return s }
    return s.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
