import CLibXML2
import FeedModel
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
  /// The version of what `sanitize` keeps and how it writes it. Bump it with any change of the
  /// policy or of the writer's output: stored HTML produced under an older version is then
  /// sanitised again on its entry's next fetch (its `SanitizerKey`s no longer match), and by
  /// `clusterwire resanitize` for entries no document carries any more.
  public static let policyVersion = 1

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

extension HTMLSanitizer {
  /// A stored entry with its HTML (summary, content, media description) sanitised again under
  /// the current policy, for `clusterwire resanitize`: entries no document carries any more
  /// are never re-fetched, so a policy change reaches them only this way. nil when there is
  /// nothing to do: no HTML, or already produced under `policyVersion` (unless `all`). The
  /// stored HTML is the sanitiser's own output (links already absolute), so this is
  /// idempotent (nil for current-policy HTML that comes out the same), and no base URL is
  /// needed. A rewritten entry's keys keep only the new policy version: the raw HTML is gone,
  /// so the next fetch sanitises its fragments once and keys them.
  public static func resanitized(_ entry: Entry, all: Bool = false) -> Entry? {
    let html = [entry.summary, entry.content, entry.media?.description].contains {
      $0?.type == .html
    }
    guard html, all || entry.sanitizerKeys?.policy != policyVersion else { return nil }
    func again(_ t: Text?) -> Text? {
      guard let t, t.type == .html else { return t }
      return Text(type: .html, value: sanitize(t.value, baseURL: nil), language: t.language)
    }
    var e = entry
    e.summary = again(entry.summary)
    e.content = again(entry.content)
    if let description = entry.media?.description { e.media?.description = again(description) }
    if e == entry, (entry.sanitizerKeys?.policy ?? policyVersion) == policyVersion {
      // A fixed point: the stored row (and its keys) stay as they are. (No keys: only HTML that
      // needed no sanitiser, or a row from before keys, whose HTML did not change either.)
      return nil
    }
    e.sanitizerKeys = SanitizerKeys(policy: policyVersion)
    return e
  }
}
