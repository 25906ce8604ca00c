import CLibXML2
import Foundation
import WebText

/// What the sanitiser does with one element.
struct HTMLElementPolicy: Sendable {
  enum Action: Sendable {
    /// Written out with its allowed attributes.
    case keep
    /// Removed together with everything inside it.
    case drop
    /// Removed, but its children are kept: a void element (`embed`, `input`, `meta`…) cannot
    /// have content, so whatever libxml2 nested under it is the markup that followed it.
    case dropVoid
    /// The tag goes, its content stays.
    case unwrap
  }
  var action: Action
  /// Written self-closed (`<br/>`), never with children.
  var isVoid = false
  /// Separates words in plain text (`<p>a</p><p>b</p>` → "a b").
  var isBlock = false
  /// Attributes kept besides the global ones (`title`, `lang`, `dir`).
  var attributes: Set<String> = []
}

/// The allowlist shared by `HTMLSanitizer` and `HTMLScraper`.
enum HTMLPolicy {
  static let global: Set<String> = ["title", "lang", "dir"]
  static let urlAttributes: Set<String> = ["href", "src", "cite"]

  static let table: [String: HTMLElementPolicy] = {
    var t: [String: HTMLElementPolicy] = [:]
    // Word breaks in plain text, and the elements dropped with their content, are the shared
    // text rules' (`HTMLText`), so the sanitiser and HTML-to-text agree.
    func keep(_ names: [String], attrs: Set<String> = []) {
      for n in names {
        t[n] = HTMLElementPolicy(
          action: .keep, isBlock: HTMLText.blockElements.contains(n), attributes: attrs)
      }
    }
    keep([
      "b", "strong", "i", "em", "u", "s", "strike", "sub", "sup", "small", "mark", "span",
      "code", "kbd", "samp", "var", "dfn", "abbr", "acronym", "bdi", "tt", "big", "cite", "ruby",
      "rt", "rp",
    ])
    keep(["bdo"], attrs: ["dir"])
    keep(["data"], attrs: ["value"])
    keep(["q"], attrs: ["cite"])
    keep(["del", "ins"], attrs: ["cite", "datetime"])
    keep(["time"], attrs: ["datetime"])
    keep(["a"], attrs: ["href", "hreflang", "name"])
    keep([
      "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "address", "article", "section",
      "aside", "header", "footer", "details", "summary", "figure", "figcaption", "caption",
      "thead", "tbody", "tfoot", "tr", "ul", "dl", "dt", "dd", "center",
    ])
    keep(["blockquote"], attrs: ["cite"])
    keep(["ol"], attrs: ["start", "reversed", "type"])
    keep(["li"], attrs: ["value"])
    keep(["table"], attrs: ["summary"])
    keep(["td", "th"], attrs: ["colspan", "rowspan", "headers", "scope", "abbr"])
    keep(["colgroup"], attrs: ["span"])
    // MathML presentation markup (feedparser's and the HTML5 sanitiser's lists, without
    // `maction`, `mglyph`, `annotation-xml` and the xlink attributes): formulas in science
    // and engineering posts. None of these attributes can hold a URL or a script.
    keep(mathMLElements, attrs: mathMLAttributes)
    t["col"] = HTMLElementPolicy(action: .keep, isVoid: true, attributes: ["span"])
    t["br"] = HTMLElementPolicy(action: .keep, isVoid: true, isBlock: true)
    t["hr"] = HTMLElementPolicy(action: .keep, isVoid: true, isBlock: true)
    t["wbr"] = HTMLElementPolicy(action: .keep, isVoid: true)
    t["img"] = HTMLElementPolicy(
      action: .keep, isVoid: true, attributes: ["src", "alt", "width", "height"])
    // Active content, forms, document-level and foreign markup (svg, MathML's annotation-xml):
    // gone with their content; the text around them stays.
    for n in HTMLText.droppedElements { t[n] = HTMLElementPolicy(action: .drop) }
    for n in HTMLText.droppedVoidElements { t[n] = HTMLElementPolicy(action: .dropVoid) }
    // Everything else (html, body, font, label, nav, main, unknown tags) is unwrapped.
    return t
  }()

  static let mathMLElements = [
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup",
    "mfrac", "msqrt", "mroot", "mstyle", "merror", "mpadded", "mphantom", "menclose", "mfenced",
    "mover", "munder", "munderover", "mmultiscripts", "mprescripts", "none", "mtable", "mtr",
    "mtd", "mlabeledtr", "semantics", "annotation",
  ]
  static let mathMLAttributes: Set<String> = [
    "display", "displaystyle", "scriptlevel", "mathvariant", "mathcolor", "mathbackground",
    "mathsize", "dir", "align", "columnalign", "columnlines", "columnspacing", "columnspan",
    "rowalign", "rowlines", "rowspacing", "rowspan", "equalcolumns", "equalrows", "frame",
    "framespacing", "width", "height", "depth", "lspace", "rspace", "voffset", "linethickness",
    "numalign", "denomalign", "bevelled", "open", "close", "separators", "separator", "fence",
    "form", "stretchy", "symmetric", "largeop", "movablelimits", "accent", "accentunder",
    "minsize", "maxsize", "notation", "subscriptshift", "superscriptshift", "encoding",
    "alttext", "fontstyle", "fontweight",
  ]

  static let unwrap = HTMLElementPolicy(action: .unwrap)
  static let unwrapBlock = HTMLElementPolicy(action: .unwrap, isBlock: true)
  static var blockUnwrapped: Set<String> { HTMLText.blockElements }

  static func policy(for name: String) -> HTMLElementPolicy {
    if let p = table[name] { return p }
    return blockUnwrapped.contains(name) ? unwrapBlock : unwrap
  }
}

/// Policies by slot: one slot per allowlisted or dropped name, and one shared by all unwrapped
/// names (and one for block-level unwrapped names). The number of slots is fixed, so hostile
/// input with thousands of distinct tag names cannot grow anything.
struct HTMLPolicySlots: Sendable {
  struct Slot: Sendable {
    var action: HTMLElementPolicy.Action
    var isVoid: Bool
    var isBlock: Bool
    var isImage: Bool
  }
  let slots: [Slot]
  let tags: [[UInt8]]
  let policies: [HTMLElementPolicy]
  let index: [String: Int]
  let unwrap: Int
  let unwrapBlock: Int

  static let shared = HTMLPolicySlots()

  private init() {
    var slots: [Slot] = []
    var tags: [[UInt8]] = []
    var policies: [HTMLElementPolicy] = []
    var index: [String: Int] = [:]
    func add(_ name: String, _ p: HTMLElementPolicy) -> Int {
      slots.append(
        Slot(action: p.action, isVoid: p.isVoid, isBlock: p.isBlock, isImage: name == "img"))
      tags.append(Array(name.utf8))
      policies.append(p)
      return slots.count - 1
    }
    for (name, policy) in HTMLPolicy.table.sorted(by: { $0.key < $1.key }) {
      index[name] = add(name, policy)
    }
    unwrap = add("", HTMLPolicy.unwrap)
    unwrapBlock = add("", HTMLPolicy.unwrapBlock)
    self.slots = slots
    self.tags = tags
    self.policies = policies
    self.index = index
  }

  func slot(for name: String) -> Int {
    if let k = index[name] { return k }
    return HTMLPolicy.blockUnwrapped.contains(name) ? unwrapBlock : unwrap
  }
}

/// Maps libxml2 element-name pointers to policy slots. Names are often interned in the
/// document's dictionary, so a short list of recently seen pointers answers most lookups without
/// building a String; a miss costs one String and one dictionary lookup.
struct HTMLPolicyCache {
  typealias Slot = HTMLPolicySlots.Slot
  let slots = HTMLPolicySlots.shared.slots
  let tags = HTMLPolicySlots.shared.tags
  let policies = HTMLPolicySlots.shared.policies
  private var names: [UnsafePointer<xmlChar>] = []
  private var known: [Int] = []
  private var next = 0

  mutating func lookup(_ name: UnsafePointer<xmlChar>) -> Int {
    for k in 0..<names.count where names[k] == name { return known[k] }
    var string = String(cString: name).lowercased()
    // `html:p` (prefixed XHTML, MS Office's `o:p`): the local name decides, as in libxml2's
    // tree, which splits the prefix off.
    if let colon = string.lastIndex(of: ":") {
      string = String(string[string.index(after: colon)...])
    }
    let k = HTMLPolicySlots.shared.slot(for: string)
    if names.count < 32 {
      names.append(name)
      known.append(k)
    } else {
      names[next] = name
      known[next] = k
      next = (next + 1) % 32
    }
    return k
  }
}

/// Lowercased names of interned libxml2 attribute names, without a String per lookup.
struct HTMLNameCache {
  private var pointers: [UnsafePointer<xmlChar>] = []
  private var names: [String] = []

  mutating func lookup(_ name: UnsafePointer<xmlChar>) -> String {
    for k in 0..<pointers.count where pointers[k] == name { return names[k] }
    let string = String(cString: name).lowercased()
    if pointers.count < 64 {
      pointers.append(name)
      names.append(string)
    }
    return string
  }
}

/// URL checks and absolutisation for `href`/`src`/`cite`.
enum HTMLURL {
  static var allowedSchemes: Set<String> { URLSafety.htmlSchemes }

  /// Nil when the value is unsafe (`javascript:`, `vbscript:`, a non-image `data:`, an unknown
  /// scheme) however it is obfuscated; else the value made absolute against `base`.
  ///
  /// Fast paths (no Foundation `URL`): an absolute http(s) URL of plain printable ASCII is kept
  /// as it is, and a relative one of the same kind is resolved with libxml2's `xmlBuildURI`
  /// against `baseBytes` (the base's absolute string, NUL-terminated).
  static func clean(
    _ raw: String, base: URL?, baseBytes: [UInt8]? = nil, allowDataImage: Bool
  ) -> String? {
    var copy = raw
    let simple = copy.withUTF8 { b -> Int in
      // 0: not simple; 1: absolute http(s); 2: relative without scheme.
      guard let first = b.first, first > 0x20 else { return 0 }
      for c in b where c <= 0x20 || c >= 0x7F || c == UInt8(ascii: "\\") { return 0 }
      if b.count >= 7, (b[0] | 0x20) == UInt8(ascii: "h"), (b[1] | 0x20) == UInt8(ascii: "t"),
        (b[2] | 0x20) == UInt8(ascii: "t"), (b[3] | 0x20) == UInt8(ascii: "p")
      {
        if b[4] == UInt8(ascii: ":") && b[5] == UInt8(ascii: "/") { return 1 }
        if (b[4] | 0x20) == UInt8(ascii: "s") && b[5] == UInt8(ascii: ":")
          && b[6] == UInt8(ascii: "/")
        {
          return 1
        }
      }
      for c in b {
        if c == UInt8(ascii: ":") { return 0 }  // some scheme: the careful path decides
        if c == UInt8(ascii: "/") || c == UInt8(ascii: "?") || c == UInt8(ascii: "#") { break }
      }
      return 2
    }
    if simple == 1 { return raw }
    if simple == 2, let baseBytes, base != nil {
      let resolved: String? = raw.withCString { ref in
        baseBytes.withUnsafeBufferPointer { b in
          ref.withMemoryRebound(to: xmlChar.self, capacity: 1) { r in
            guard let out = xmlBuildURI(r, b.baseAddress) else { return nil }
            defer { clibxml2_free(out) }
            return String(cString: out)
          }
        }
      }
      if let resolved, let scheme = scheme(of: resolved), scheme == "http" || scheme == "https" {
        return resolved
      }
    }
    return careful(raw, base: base, allowDataImage: allowDataImage)
  }

  /// The general path: control characters and spaces, schemes, data URLs, Foundation resolution.
  static func careful(_ raw: String, base: URL?, allowDataImage: Bool) -> String? {
    // Browsers strip leading/trailing C0 controls and spaces and ignore tabs/newlines inside.
    var scalars = String.UnicodeScalarView()
    var needsRebuild = false
    for s in raw.unicodeScalars {
      // U+FFFE/U+FFFF too: XML forbids them, so the writer would drop them and leave an empty
      // href that the next pass removes (the fuzzer found it: regressions/sanitizer/).
      if s.value <= 0x20 || s.value == 0x7F || (s.value >= 0x80 && s.value <= 0x9F)
        || s.value == 0xFFFE || s.value == 0xFFFF
      {
        needsRebuild = true
        if s.value == 0x20 { scalars.append(s) }  // inner spaces kept (encoded below)
        continue
      }
      scalars.append(s)
    }
    var value = needsRebuild ? String(scalars).trimmingCharacters(in: .whitespaces) : raw
    guard !value.isEmpty else { return nil }
    if let scheme = scheme(of: value) {
      if scheme == "data" {
        guard allowDataImage, isImageData(value) else { return nil }
        return value
      }
      guard allowedSchemes.contains(scheme) else { return nil }
    }
    if value.contains(" ") { value = value.replacingOccurrences(of: " ", with: "%20") }
    guard let base else { return value }
    // A reference without a valid scheme whose first segment has a colon (`javascrÿipt:x`,
    // `Įmonė:apie`) is a relative path to a browser but not to Foundation: "./" says so (the
    // fuzzer found such scraped links left relative: Tests/Fuzz/regressions/scraper/).
    let first = value.unicodeScalars.first
    let reference =
      scheme(of: value) == nil && value.contains(":") && first != "/" && first != "?"
        && first != "#" ? "./" + value : value
    if let url = URL(string: reference, relativeTo: base) {
      let absolute = url.absoluteString
      // Resolution must not produce an unsafe scheme either (e.g. a javascript: base).
      if let scheme = scheme(of: absolute), !allowedSchemes.contains(scheme) { return nil }
      return absolute
    }
    return value
  }

  /// The lowercased scheme, when the value has one (the shared rule, `URLSafety`).
  static func scheme(of value: String) -> String? { URLSafety.scheme(of: value) }

  static func isImageData(_ value: String) -> Bool { URLSafety.isImageData(value) }

  /// The first candidate URL of a `srcset` ("a.jpg 1x, b.jpg 2x" → "a.jpg").
  static func firstSrcsetCandidate(_ srcset: String) -> String? {
    let trimmed = srcset.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty else { return nil }
    let first = trimmed.split(separator: ",", maxSplits: 1).first.map(String.init) ?? trimmed
    let url = first.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(
      String.init)
    return url?.isEmpty == false ? url : nil
  }

  /// True for the stand-ins lazy-loading scripts put in `src` until the real image loads.
  static func isPlaceholder(_ src: String) -> Bool {
    let lower = src.lowercased()
    if lower.hasPrefix("data:") || lower.isEmpty || lower == "#" || lower == "about:blank" {
      return true
    }
    let last = lower.split(separator: "/").last.map(String.init) ?? lower
    for marker in [
      "blank", "spacer", "placeholder", "pixel", "lazy", "transparent", "loading", "grey.gif",
      "1x1",
    ]
    where last.contains(marker) {
      return true
    }
    return false
  }
}

/// Serialises (a sanitised copy of) a libxml2 HTML tree as well-formed, XML-embeddable HTML.
struct HTMLWriter {
  var out: [UInt8] = []
  let base: URL?
  /// `base.absoluteString`, NUL-terminated, for `xmlBuildURI`.
  let baseBytes: [UInt8]?
  private var cache = HTMLPolicyCache()
  private var attributeNames = HTMLNameCache()

  init(base: URL?, capacity: Int) {
    self.base = base
    self.baseBytes = base.map { Array($0.absoluteString.utf8) + [0] }
    out.reserveCapacity(capacity)
  }

  var string: String { String(decoding: out, as: UTF8.self) }

  @inline(__always) static func isForbiddenControl(_ c: UInt8) -> Bool {
    c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D
  }

  /// Bytes below 0x40 that need attention in text: C0 controls other than tab, newline and
  /// return, `&`, `<`, `>`.
  static let textMask: UInt64 = {
    var m: UInt64 = 0
    for c in 0..<0x20 where c != 0x09 && c != 0x0A && c != 0x0D { m |= 1 << UInt64(c) }
    for c in [0x26, 0x3C, 0x3E] { m |= 1 << UInt64(c) }
    return m
  }()
  /// The same plus `"`, for attribute values.
  static let attributeMask: UInt64 = textMask | (1 << 0x22)

  /// Appends text with `&`, `<`, `>` (and `"` when `quote`) escaped and the characters XML
  /// forbids (C0 controls but tab/newline/return, U+FFFE, U+FFFF) removed.
  mutating func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, quote: Bool) {
    guard let base = bytes.baseAddress else { return }
    let mask = quote ? HTMLWriter.attributeMask : HTMLWriter.textMask
    let n = bytes.count
    var runStart = 0
    var i = 0
    while i < n {
      let c = base[i]
      if c >= 0x40 {
        // Only U+FFFE / U+FFFF (EF BF BE/BF) and C1 controls (C2 80…9F) matter up here.
        if c == 0xC2, i + 1 < n, C1Controls.isRemapped(secondByte: base[i + 1]) {
          if i > runStart {
            out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - runStart))
          }
          C1Controls.appendRemapped(UnsafeBufferPointer(start: base + i, count: 2), to: &out)
          i += 2
          runStart = i
          continue
        }
        if c != 0xEF || i + 2 >= n || base[i + 1] != 0xBF || base[i + 2] < 0xBE {
          i += 1
          continue
        }
      } else if (mask >> UInt64(c)) & 1 == 0 {
        i += 1
        continue
      }
      if i > runStart {
        out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - runStart))
      }
      switch c {
      case UInt8(ascii: "&"): appendASCII("&amp;")
      case UInt8(ascii: "<"): appendASCII("&lt;")
      case UInt8(ascii: ">"): appendASCII("&gt;")
      case UInt8(ascii: "\""): appendASCII("&quot;")
      default: break  // dropped
      }
      i += c == 0xEF ? 3 : 1
      runStart = i
    }
    if n > runStart {
      out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: n - runStart))
    }
  }

  mutating func appendEscaped(cString p: UnsafePointer<xmlChar>, quote: Bool) {
    let n = strlen(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self))
    appendEscaped(UnsafeBufferPointer(start: p, count: n), quote: quote)
  }

  mutating func appendEscaped(_ s: String, quote: Bool) {
    var copy = s
    copy.withUTF8 { appendEscaped($0, quote: quote) }
  }

  mutating func appendASCII(_ s: StaticString) {
    s.withUTF8Buffer { out.append(contentsOf: $0) }
  }

  mutating func appendName(_ s: String) {
    out.append(contentsOf: s.utf8)
  }

  /// Open elements deeper than this are unwrapped: readers with libxml2's default limit (256)
  /// must still be able to read the feed this content ends up in.
  static let maxDepth = 100

  /// Writes the sanitised children of `root` (not `root` itself).
  mutating func writeChildren(of root: xmlNodePtr) {
    // For each element descended into: its slot when its start tag was written, else -1.
    var open: [Int] = []
    var depth = 0
    var node = root.pointee.children
    while let n = node {
      var descendAs: Int?
      switch n.pointee.type {
      case XML_ELEMENT_NODE:
        if let name = n.pointee.name {
          let k = cache.lookup(name)
          let slot = cache.slots[k]
          switch slot.action {
          case .drop: break
          case .unwrap, .dropVoid: if n.pointee.children != nil { descendAs = -1 }
          case .keep:
            if slot.isImage {
              writeImage(n)
            } else if slot.isVoid {
              writeStartTag(n, slot: k)
            } else if depth >= HTMLWriter.maxDepth {
              if n.pointee.children != nil { descendAs = -1 }
            } else {
              writeStartTag(n, slot: k)
              if n.pointee.children != nil {
                descendAs = k
                depth += 1
              } else {
                writeEndTag(slot: k)
              }
            }
          }
        }
      case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
        if let content = n.pointee.content { appendEscaped(cString: content, quote: false) }
      default:
        break  // comments, processing instructions, DTDs
      }
      if let k = descendAs {
        open.append(k)
        node = n.pointee.children
        continue
      }
      var current = n
      node = nil
      while true {
        if let next = current.pointee.next {
          node = next
          break
        }
        guard let parent = current.pointee.parent, parent != root, let k = open.popLast() else {
          break
        }
        if k >= 0 {
          writeEndTag(slot: k)
          depth -= 1
        }
        current = parent
      }
    }
  }

  mutating func writeEndTag(slot k: Int) {
    out.append(UInt8(ascii: "<"))
    out.append(UInt8(ascii: "/"))
    out.append(contentsOf: cache.tags[k])
    out.append(UInt8(ascii: ">"))
  }

  mutating func writeAttribute(_ name: String, _ value: String) {
    out.append(UInt8(ascii: " "))
    appendName(name)
    out.append(UInt8(ascii: "="))
    out.append(UInt8(ascii: "\""))
    appendEscaped(value, quote: true)
    out.append(UInt8(ascii: "\""))
  }

  mutating func writeStartTag(_ n: xmlNodePtr, slot k: Int) {
    out.append(UInt8(ascii: "<"))
    out.append(contentsOf: cache.tags[k])
    let policy = cache.policies[k]
    var attr = n.pointee.properties
    while let a = attr {
      attr = a.pointee.next
      guard let rawName = a.pointee.name else { continue }
      let name = attributeNames.lookup(rawName)
      guard policy.attributes.contains(name) || HTMLPolicy.global.contains(name) else { continue }
      if HTMLPolicy.urlAttributes.contains(name) {
        guard let value = HTMLTree.attributeValue(a),
          let clean = HTMLURL.clean(value, base: base, baseBytes: baseBytes, allowDataImage: false)
        else { continue }
        writeAttribute(name, clean)
      } else if let child = a.pointee.children, child.pointee.next == nil,
        child.pointee.type == XML_TEXT_NODE, let content = child.pointee.content
      {
        // The common case, written straight from libxml2's buffer.
        out.append(UInt8(ascii: " "))
        appendName(name)
        out.append(UInt8(ascii: "="))
        out.append(UInt8(ascii: "\""))
        appendEscaped(cString: content, quote: true)
        out.append(UInt8(ascii: "\""))
      } else if let value = HTMLTree.attributeValue(a) {
        writeAttribute(name, value)
      }
    }
    if policy.isVoid {
      out.append(UInt8(ascii: "/"))
    }
    out.append(UInt8(ascii: ">"))
  }

  /// `img` with a real source: lazy-loading attributes (`data-src`, `data-lazy-src`,
  /// `data-original`, `srcset`) replace a missing or placeholder `src`; no usable source, no image.
  mutating func writeImage(_ n: xmlNodePtr) {
    var pairs: [(String, String)] = []
    var attr = n.pointee.properties
    while let a = attr {
      attr = a.pointee.next
      guard let rawName = a.pointee.name, let value = HTMLTree.attributeValue(a) else { continue }
      pairs.append((attributeNames.lookup(rawName), value))
    }
    writeImage(attributes: pairs)
  }

  /// `img` from (lowercased name, value) pairs.
  mutating func writeImage(attributes: [(String, String)]) {
    var src: String?
    var lazy: String?
    var lazySet: String?
    var srcset: String?
    var kept: [(String, String)] = []
    for (name, value) in attributes {
      switch name {
      case "src": src = value
      case "data-src", "data-lazy-src", "data-original", "data-lazy", "data-url":
        if lazy == nil && !value.trimmingCharacters(in: .whitespaces).isEmpty { lazy = value }
      case "data-srcset", "data-lazy-srcset": lazySet = value
      case "srcset": srcset = value
      case "alt", "title", "width", "height", "lang", "dir": kept.append((name, value))
      default: break
      }
    }
    var chosen = src
    let hasLazy = lazy != nil || lazySet != nil || srcset != nil
    if hasLazy && (chosen == nil || HTMLURL.isPlaceholder(chosen!)) {
      if let lazy {
        chosen = lazy
      } else if let first = lazySet.flatMap(HTMLURL.firstSrcsetCandidate) {
        chosen = first
      } else if let first = srcset.flatMap(HTMLURL.firstSrcsetCandidate) {
        chosen = first
      }
    }
    guard let raw = chosen,
      let url = HTMLURL.clean(raw, base: base, baseBytes: baseBytes, allowDataImage: true)
    else {
      return
    }
    appendASCII("<img")
    writeAttribute("src", url)
    for (name, value) in kept { writeAttribute(name, value) }
    appendASCII("/>")
  }

  /// Element slot of a name (see `HTMLPolicyCache`).
  mutating func slot(_ name: UnsafePointer<xmlChar>) -> Int { cache.lookup(name) }
  func slotInfo(_ k: Int) -> HTMLPolicyCache.Slot { cache.slots[k] }

  /// Start tag from SAX attributes (a NULL-terminated array of name, value pairs; a value may be
  /// NULL for a bare attribute).
  mutating func writeStartTag(
    slot k: Int, attributes atts: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
  ) {
    if cache.slots[k].isImage {
      var pairs: [(String, String)] = []
      var i = 0
      while let atts, let name = atts[i] {
        let value = atts[i + 1].map { String(cString: $0) } ?? ""
        pairs.append((attributeNames.lookup(name), value))
        i += 2
      }
      writeImage(attributes: pairs)
      return
    }
    out.append(UInt8(ascii: "<"))
    out.append(contentsOf: cache.tags[k])
    if let atts, atts[0] != nil {
      let policy = cache.policies[k]
      var i = 0
      while let rawName = atts[i] {
        let rawValue = atts[i + 1]
        i += 2
        let name = attributeNames.lookup(rawName)
        guard policy.attributes.contains(name) || HTMLPolicy.global.contains(name) else { continue }
        if HTMLPolicy.urlAttributes.contains(name) {
          guard let rawValue,
            let clean = HTMLURL.clean(
              String(cString: rawValue), base: base, baseBytes: baseBytes, allowDataImage: false)
          else { continue }
          writeAttribute(name, clean)
        } else {
          out.append(UInt8(ascii: " "))
          appendName(name)
          out.append(UInt8(ascii: "="))
          out.append(UInt8(ascii: "\""))
          if let rawValue { appendEscaped(cString: rawValue, quote: true) }
          out.append(UInt8(ascii: "\""))
        }
      }
    }
    if cache.slots[k].isVoid { out.append(UInt8(ascii: "/")) }
    out.append(UInt8(ascii: ">"))
  }
}

/// Silences libxml2's generic (printf-style) error channel on this thread, which XPath
/// evaluation uses for some complaints ("function … not found") that the structured handlers
/// never see. The default handler writes to the channel's context as a `FILE *`, so pointing the
/// context at /dev/null keeps stderr clean without a variadic callback (which Swift cannot write).
enum HTMLQuiet {
  nonisolated(unsafe) static let devNull: UnsafeMutablePointer<FILE>? = fopen("/dev/null", "w")

  static func begin() { xmlSetGenericErrorFunc(UnsafeMutableRawPointer(devNull), nil) }
  static func end() { xmlSetGenericErrorFunc(nil, nil) }
}

/// A small pool of libxml2 HTML parser contexts (one is used by one thread at a time). A context
/// is retired after a number of parses so that its name dictionary cannot grow without bound.
final class HTMLParserPool: @unchecked Sendable {
  /// Contexts that build a tree (the default SAX handler).
  static let tree = HTMLParserPool(configure: nil)

  private let lock = NSLock()
  /// Idle contexts with the number of parses each has done. Guarded by `lock`.
  private var idle: [(context: htmlParserCtxtPtr, uses: Int)] = []
  private let configure: (@Sendable (htmlParserCtxtPtr) -> Void)?
  private let maxUses = 500
  private let maxIdle = 8

  init(configure: (@Sendable (htmlParserCtxtPtr) -> Void)?) {
    self.configure = configure
  }

  func take() -> (context: htmlParserCtxtPtr, uses: Int)? {
    lock.lock()
    let entry = idle.popLast()
    lock.unlock()
    if let entry { return entry }
    guard let ctxt = htmlNewParserCtxt() else { return nil }
    configure?(ctxt)
    return (ctxt, 0)
  }

  func give(_ ctxt: htmlParserCtxtPtr, uses: Int) {
    var keep = uses + 1 < maxUses
    if keep {
      lock.lock()
      keep = idle.count < maxIdle
      if keep { idle.append((ctxt, uses + 1)) }
      lock.unlock()
    }
    if !keep { htmlFreeParserCtxt(ctxt) }
  }
}

/// Helpers over libxml2 HTML trees shared by the sanitiser, the scraper and feed discovery.
public enum HTMLTree {
  public static let parseOptions: Int32 = Int32(
    bitPattern: HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NONET.rawValue
      | HTML_PARSE_NOERROR.rawValue | HTML_PARSE_NOWARNING.rawValue | HTML_PARSE_COMPACT.rawValue
      | HTML_PARSE_NODEFDTD.rawValue)

  /// Parses an HTML fragment (a feed entry's content) as UTF-8. `<body>` is put in front so that
  /// leading text is not wrapped in an implied `<p>`; `IGNORE_ENC` keeps a `<meta charset>`
  /// inside the fragment from re-decoding it. Parser contexts are pooled: creating one costs
  /// about as much as parsing a typical entry.
  static func parseFragment(_ html: String) -> htmlDocPtr? {
    var bytes: [UInt8] = Array("<body>".utf8)
    bytes.reserveCapacity(html.utf8.count + 7)
    bytes.append(contentsOf: html.utf8)
    let options = parseOptions | Int32(bitPattern: HTML_PARSE_IGNORE_ENC.rawValue)
    guard bytes.count < Int32.max, let (context, uses) = HTMLParserPool.tree.take() else {
      return nil
    }
    let doc = bytes.withUnsafeBufferPointer { buf in
      buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
        htmlCtxtReadMemory(context, $0, Int32(buf.count), nil, "UTF-8", options)
      }
    }
    HTMLParserPool.tree.give(context, uses: uses)
    return doc
  }

  /// An attribute's value (entities already decoded by the parser).
  static func attributeValue(_ a: xmlAttrPtr) -> String? {
    if let child = a.pointee.children, child.pointee.next == nil,
      child.pointee.type == XML_TEXT_NODE, let content = child.pointee.content
    {
      return String(cString: content)
    }
    guard
      let content = xmlNodeGetContent(
        UnsafeMutableRawPointer(a).assumingMemoryBound(to: xmlNode.self))
    else { return a.pointee.children == nil ? "" : nil }
    defer { clibxml2_free(content) }
    return String(cString: content)
  }

  /// A whole page as a tree, decoded the way `HTMLScraper` decodes it (BOM, HTTP charset,
  /// `<meta charset>`, then the undeclared-bytes rule); nil when libxml2 reads nothing. The
  /// caller frees it with `xmlFreeDoc`.
  public static func readPage(_ data: Data, contentType: String?, pageURL: URL) -> htmlDocPtr? {
    readPage(data, encoding: HTMLCharset.detect(data, contentType: contentType), pageURL: pageURL)
  }

  /// `readPage` with the encoding already chosen (the scraper reports it).
  static func readPage(_ data: Data, encoding: String, pageURL: URL) -> htmlDocPtr? {
    guard !data.isEmpty, data.count < Int32.max else { return nil }
    let options = parseOptions | Int32(bitPattern: HTML_PARSE_IGNORE_ENC.rawValue)
    return data.withUnsafeBytes { raw in
      raw.withMemoryRebound(to: CChar.self) { buf in
        htmlReadMemory(buf.baseAddress, Int32(buf.count), pageURL.absoluteString, encoding, options)
      }
    }
  }

  /// The value of attribute `name` of element `n`.
  public static func attribute(_ n: xmlNodePtr, _ name: String) -> String? {
    guard let value = xmlGetProp(n, name) else { return nil }
    defer { clibxml2_free(value) }
    return String(cString: value)
  }

  /// Visible text of a subtree: dropped elements (script, style…) skipped, block elements and
  /// `<br>` separated by spaces. Whitespace is not yet collapsed.
  public static func appendText(of root: xmlNodePtr, includeRoot: Bool, into out: inout [UInt8]) {
    var cache = HTMLPolicyCache()
    if includeRoot {
      switch root.pointee.type {
      case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
        if let c = root.pointee.content { appendCString(c, into: &out) }
        return
      case XML_ATTRIBUTE_NODE:
        if let v = attributeValue(
          UnsafeMutableRawPointer(root).assumingMemoryBound(to: xmlAttr.self))
        {
          out.append(contentsOf: v.utf8)
        }
        return
      case XML_ELEMENT_NODE:
        break
      default:
        return
      }
    }
    var node = root.pointee.children
    while let n = node {
      var descend = false
      if n.pointee.type == XML_ELEMENT_NODE, let name = n.pointee.name {
        let k = cache.lookup(name)
        let slot = cache.slots[k]
        if slot.isBlock { out.append(0x20) }
        if case .drop = slot.action {} else { descend = n.pointee.children != nil }
      } else if n.pointee.type == XML_TEXT_NODE || n.pointee.type == XML_CDATA_SECTION_NODE,
        let c = n.pointee.content
      {
        appendCString(c, into: &out)
      }
      if descend {
        node = n.pointee.children
        continue
      }
      var current = n
      node = nil
      while true {
        if let next = current.pointee.next {
          node = next
          break
        }
        guard let parent = current.pointee.parent, parent != root else { break }
        if let name = parent.pointee.name {
          let k = cache.lookup(name)
          if cache.slots[k].isBlock { out.append(0x20) }
        }
        current = parent
      }
    }
  }

  static func appendCString(_ p: UnsafePointer<xmlChar>, into out: inout [UInt8]) {
    let n = strlen(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self))
    out.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
  }
}
