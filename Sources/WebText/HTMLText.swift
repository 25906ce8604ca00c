#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The one HTML-to-text conversion (titles, the publisher's plain summaries, story
/// fingerprints): tags dropped, the content of script-like elements dropped, block elements and
/// `<br>` made word breaks, character references decoded through `HTMLEntities`, comments
/// dropped but CDATA sections kept as text, C1 controls remapped (`C1Controls`), whitespace
/// collapsed and trimmed, and the control characters XML forbids removed. A `<` that does not
/// start a tag (`1 < 2`) is text, as in HTML5.
public enum HTMLText {
  /// Elements that separate words (`<p>a</p><p>b</p>` → "a b").
  public static let blockElements: Set<String> = [
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "address", "article", "section",
    "aside", "header", "footer", "details", "summary", "figure", "figcaption", "caption",
    "thead", "tbody", "tfoot", "tr", "ul", "dl", "dt", "dd", "center", "blockquote", "ol", "li",
    "table", "td", "th", "br", "hr", "body", "main", "nav", "label", "legend", "fieldset",
    "math", "mtr", "mtd", "mtable",
  ]

  /// Elements whose content is not text for a reader: active content, forms, document-level
  /// and foreign markup (SVG; MathML's `annotation-xml`, which can hold HTML). The sanitiser
  /// drops them with their content too.
  public static let droppedElements: Set<String> = [
    "script", "style", "iframe", "frame", "frameset", "object", "applet", "form", "button",
    "select", "option", "optgroup", "textarea", "datalist", "output", "noscript", "noframes",
    "noembed", "template", "svg", "head", "title", "xml", "canvas", "audio", "video", "map",
    "dialog", "portal", "slot", "plaintext", "xmp", "listing", "annotation-xml",
  ]

  /// Void elements of the same kind: no content, nothing to drop but the tag.
  public static let droppedVoidElements: Set<String> = [
    "embed", "input", "meta", "base", "link", "param", "source", "track", "keygen", "area",
  ]

  /// Elements whose content HTML reads as raw text up to the end tag (no markup inside).
  static let rawTextElements: Set<String> = [
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
  ]

  /// Plain text of an HTML fragment, cut at `limit` characters on a word (with `…`).
  public static func plainText(_ html: String, limit: Int = .max) -> String {
    var copy = html
    let text = copy.withUTF8 { b -> String? in
      if isPlain(b) { return nil }
      var out: [UInt8] = []
      out.reserveCapacity(b.count)
      appendText(b, into: &out)
      return out.withUnsafeBufferPointer { collapseWhitespace($0) }
    }
    return cut(text ?? html, limit: limit)
  }

  /// True when `b` needs no work at all: no markup, reference, C1 control, control character,
  /// no-break space or whitespace to collapse.
  static func isPlain(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let first = b.first, let last = b.last else { return true }
    if first <= 0x20 || last <= 0x20 { return false }
    var previousSpace = false
    for c in b {
      if c < 0x20 || c == 0x7F || c == 0xC2 || c == 0xEF || c == UInt8(ascii: "<")
        || c == UInt8(ascii: "&")
      {
        return false
      }
      let space = c == 0x20
      if space && previousSpace { return false }
      previousSpace = space
    }
    return true
  }

  /// Appends the text of `b` (not yet collapsed) to `out`.
  static func appendText(_ b: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    let n = b.count
    var i = 0
    var run = 0
    func flush(_ end: Int) {
      if end > run {
        C1Controls.appendRemapped(UnsafeBufferPointer(rebasing: b[run..<end]), to: &out)
      }
    }
    while i < n {
      let c = b[i]
      if c == UInt8(ascii: "&") {
        flush(i)
        if let next = HTMLEntities.decodeReference(b, at: i, into: &out) {
          i = next
        } else {
          out.append(c)
          i += 1
        }
        run = i
        continue
      }
      guard c == UInt8(ascii: "<"), i + 1 < n else {
        i += 1
        continue
      }
      let d = b[i + 1]
      if HTMLEntities.isAlpha(d) {
        flush(i)
        let tag = readTag(b, from: i + 1)
        i = tag.end
        if blockElements.contains(tag.name) { out.append(0x20) }
        if droppedElements.contains(tag.name) && !tag.selfClosing {
          i = skipContent(of: tag.name, b, from: i)
          out.append(0x20)
        }
        run = i
      } else if d == UInt8(ascii: "/") {
        flush(i)
        let tag = readTag(b, from: i + 2)
        i = tag.end
        if blockElements.contains(tag.name) { out.append(0x20) }
        run = i
      } else if d == UInt8(ascii: "!") {
        flush(i)
        if hasPrefix(b, i, "<![CDATA[") {
          let start = i + 9
          let end = find(b, "]]>", from: start) ?? n
          C1Controls.appendRemapped(UnsafeBufferPointer(rebasing: b[start..<end]), to: &out)
          i = min(n, end + 3)
        } else if hasPrefix(b, i, "<!--") {
          i = endOfComment(b, from: i + 4)
        } else {
          i = (find(b, ">", from: i + 2) ?? (n - 1)) + 1  // doctype, `<![if …]>`, bogus
        }
        run = i
      } else if d == UInt8(ascii: "?") {
        flush(i)
        i = (find(b, ">", from: i + 2) ?? (n - 1)) + 1
        run = i
      } else {
        i += 1  // a `<` that is text
      }
    }
    flush(n)
  }

  /// `html` with its marked sections resolved the way `plainText` reads them, for an HTML
  /// parser that would otherwise show them as text or lose their content: a `<![CDATA[…]]>`
  /// (left over from a feed's own CDATA) becomes its text, escaped; any other `<![…]>` (Word's
  /// `<![if !supportLists]>`, `<![endif]>`) is removed. Comments are left as they are. Nil when
  /// there is nothing to resolve.
  public static func resolvingMarkedSections(_ html: String) -> String? {
    var copy = html
    return copy.withUTF8 { b -> String? in
      guard find(b, "<![", from: 0) != nil else { return nil }
      var out: [UInt8] = []
      out.reserveCapacity(b.count)
      let n = b.count
      var i = 0
      while i < n {
        if b[i] == UInt8(ascii: "<"), hasPrefix(b, i, "<!--") {
          let end = endOfComment(b, from: i + 4)
          out.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<end]))
          i = end
        } else if b[i] == UInt8(ascii: "<"), hasPrefix(b, i, "<![CDATA[") {
          let end = find(b, "]]>", from: i + 9) ?? n
          for c in b[(i + 9)..<end] {
            switch c {
            case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
            default: out.append(c)
            }
          }
          i = min(n, end + 3)
        } else if b[i] == UInt8(ascii: "<"), hasPrefix(b, i, "<![") {
          i = (find(b, ">", from: i + 3) ?? (n - 1)) + 1
        } else {
          out.append(b[i])
          i += 1
        }
      }
      return String(decoding: out, as: UTF8.self)
    }
  }

  /// The lowercased local name of the tag whose name starts at `b[from]`, the index after its
  /// `>`, and whether it ends with `/>`. Quoted attribute values may contain `>`.
  static func readTag(_ b: UnsafeBufferPointer<UInt8>, from: Int) -> (
    name: String, end: Int, selfClosing: Bool
  ) {
    let n = b.count
    var j = from
    var name: [UInt8] = []
    while j < n {
      let c = b[j]
      if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C || c == UInt8(ascii: "/")
        || c == UInt8(ascii: ">")
      {
        break
      }
      if c == UInt8(ascii: ":") {
        name.removeAll()  // `o:p`, `html:p`: the local name decides
      } else if name.count < 32 {
        name.append(c &- 0x41 < 26 ? c | 0x20 : c)
      }
      j += 1
    }
    var previous: UInt8 = 0
    var quote: UInt8 = 0
    var afterEquals = false
    while j < n {
      let c = b[j]
      j += 1
      if quote != 0 {
        if c == quote { quote = 0 }
        continue
      }
      if c == UInt8(ascii: ">") {
        return (String(decoding: name, as: UTF8.self), j, previous == UInt8(ascii: "/"))
      }
      if afterEquals && (c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")) {
        quote = c
        afterEquals = false
        continue
      }
      let space = c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C
      if c == UInt8(ascii: "=") {
        afterEquals = true
      } else if !space {
        afterEquals = false
      }
      if !space { previous = c }
    }
    return (String(decoding: name, as: UTF8.self), n, false)
  }

  /// The index after the end tag that closes `name` (its content skipped), or the end of input.
  /// Raw-text elements end at the first `</name`; others count nested start tags of that name.
  static func skipContent(of name: String, _ b: UnsafeBufferPointer<UInt8>, from: Int) -> Int {
    let n = b.count
    let raw = rawTextElements.contains(name)
    if name == "plaintext" { return n }
    var depth = 1
    var i = from
    while i < n {
      guard b[i] == UInt8(ascii: "<"), i + 1 < n else {
        i += 1
        continue
      }
      if b[i + 1] == UInt8(ascii: "/") {
        let tag = readTag(b, from: i + 2)
        if tag.name == name {
          depth -= 1
          if depth == 0 { return tag.end }
        }
        i = raw ? i + 2 : tag.end
      } else if !raw && HTMLEntities.isAlpha(b[i + 1]) {
        let tag = readTag(b, from: i + 1)
        if tag.name == name && !tag.selfClosing { depth += 1 }
        i = tag.end
      } else if !raw && hasPrefix(b, i, "<!--") {
        i = endOfComment(b, from: i + 4)
      } else {
        i += 1
      }
    }
    return n
  }

  /// The index after the `-->` (or `--!>`) that ends a comment whose text starts at `from`;
  /// `<!-->` and `<!--->` are empty comments.
  public static func endOfComment(_ b: UnsafeBufferPointer<UInt8>, from: Int) -> Int {
    let n = b.count
    if from < n && b[from] == UInt8(ascii: ">") { return from + 1 }
    if from + 1 < n && b[from] == UInt8(ascii: "-") && b[from + 1] == UInt8(ascii: ">") {
      return from + 2
    }
    var i = from
    while i + 2 < n {
      if b[i] == UInt8(ascii: "-") && b[i + 1] == UInt8(ascii: "-") {
        if b[i + 2] == UInt8(ascii: ">") { return i + 3 }
        if b[i + 2] == UInt8(ascii: "!") && i + 3 < n && b[i + 3] == UInt8(ascii: ">") {
          return i + 4
        }
      }
      i += 1
    }
    return n
  }

  public static func hasPrefix(_ b: UnsafeBufferPointer<UInt8>, _ at: Int, _ prefix: StaticString)
    -> Bool
  {
    prefix.withUTF8Buffer { p in
      guard at + p.count <= b.count else { return false }
      for k in 0..<p.count where (b[at + k] &- 0x61 < 26 ? b[at + k] & 0xDF : b[at + k]) != p[k] {
        return false
      }
      return true
    }
  }

  public static func find(_ b: UnsafeBufferPointer<UInt8>, _ needle: StaticString, from: Int)
    -> Int?
  {
    // memchr for the first byte (vectorised in libc): the sanitiser runs this over every HTML
    // fragment, and almost none contain the needle.
    needle.withUTF8Buffer { p -> Int? in
      guard let base = b.baseAddress, p.count > 0 else { return nil }
      let first = Int32(p[0])
      var i = from
      let last = b.count - p.count
      while i <= last {
        guard let hit = memchr(base + i, first, last - i + 1) else { return nil }
        i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        var k = 1
        while k < p.count && base[i + k] == p[k] { k += 1 }
        if k == p.count { return i }
        i += 1
      }
      return nil
    }
  }

  /// Collapses runs of whitespace (ASCII and no-break spaces) to one space, trims the ends and
  /// drops the control characters XML forbids (C0 but tab/newline/return, which become spaces,
  /// DEL, U+FFFE, U+FFFF).
  public static func collapseWhitespace(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var pendingSpace = false
    var i = 0
    let n = bytes.count
    while i < n {
      let c = bytes[i]
      if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C {
        pendingSpace = true
        i += 1
        continue
      }
      if c == 0xC2 && i + 1 < n && bytes[i + 1] == 0xA0 {
        pendingSpace = true
        i += 2
        continue
      }
      if c < 0x20 || c == 0x7F {
        i += 1
        continue
      }
      if c == 0xEF && i + 2 < n && bytes[i + 1] == 0xBF
        && (bytes[i + 2] == 0xBE || bytes[i + 2] == 0xBF)
      {
        i += 3
        continue
      }
      if pendingSpace && !out.isEmpty { out.append(0x20) }
      pendingSpace = false
      out.append(c)
      i += 1
    }
    return String(decoding: out, as: UTF8.self)
  }

  public static func collapseWhitespace(_ s: String) -> String {
    var copy = s
    return copy.withUTF8 { collapseWhitespace($0) }
  }

  /// `s` cut at `limit` characters on a word boundary in its second half (else mid-word), with
  /// `…` appended; `s` itself when it is short enough.
  public static func cut(_ s: String, limit: Int) -> String {
    guard limit < Int.max, s.utf8.count > limit, s.count > limit else { return s }
    let prefix = s.prefix(limit)
    if let space = prefix.lastIndex(of: " "),
      prefix.distance(from: prefix.startIndex, to: space) > limit / 2
    {
      return String(prefix[..<space]) + "…"
    }
    return String(prefix) + "…"
  }

  /// `s` without leading and trailing Unicode whitespace.
  public static func trimmed(_ s: String) -> String {
    let scalars = s.unicodeScalars
    guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else {
      return ""
    }
    let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
    if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return s }
    return String(scalars[first...last])
  }
}
