import CLibXML2
import Foundation

/// An independent oracle for the sanitiser's promise: the output, read back by libxml2's HTML
/// parser (as a browser would read it), holds only allowlisted elements and attributes, and no
/// URL that runs script. The lists are written out here on purpose, from the sanitiser's
/// documentation, not imported from it: a bug in its tables must not also blind the check.
enum HTMLSafety {
  static let elements: [String: Set<String>] = {
    var t: [String: Set<String>] = [:]
    for n in [
      "b", "strong", "i", "em", "u", "s", "strike", "sub", "sup", "small", "mark", "span",
      "code", "kbd", "samp", "var", "dfn", "abbr", "acronym", "bdi", "tt", "big", "cite", "ruby",
      "rt", "rp", "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "address", "article",
      "section", "aside", "header", "footer", "details", "summary", "figure", "figcaption",
      "caption", "thead", "tbody", "tfoot", "tr", "ul", "dl", "dt", "dd", "center", "br", "hr",
      "wbr",
    ] {
      t[n] = []
    }
    t["bdo"] = ["dir"]
    t["data"] = ["value"]
    t["q"] = ["cite"]
    t["del"] = ["cite", "datetime"]
    t["ins"] = ["cite", "datetime"]
    t["time"] = ["datetime"]
    t["a"] = ["href", "hreflang", "name"]
    t["blockquote"] = ["cite"]
    t["ol"] = ["start", "reversed", "type"]
    t["li"] = ["value"]
    t["table"] = ["summary"]
    t["td"] = ["colspan", "rowspan", "headers", "scope", "abbr"]
    t["th"] = t["td"]
    t["colgroup"] = ["span"]
    // MathML presentation markup (issue 13), without maction, mglyph, annotation-xml or any
    // link attribute.
    let mathAttributes: Set<String> = [
      "display", "displaystyle", "scriptlevel", "mathvariant", "mathcolor", "mathbackground",
      "mathsize", "align", "columnalign", "columnlines", "columnspacing", "columnspan",
      "rowalign", "rowlines", "rowspacing", "rowspan", "equalcolumns", "equalrows", "frame",
      "framespacing", "width", "height", "depth", "lspace", "rspace", "voffset",
      "linethickness", "numalign", "denomalign", "bevelled", "open", "close", "separators",
      "separator", "fence", "form", "stretchy", "symmetric", "largeop", "movablelimits",
      "accent", "accentunder", "minsize", "maxsize", "notation", "subscriptshift",
      "superscriptshift", "encoding", "alttext", "fontstyle", "fontweight",
    ]
    for n in [
      "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup",
      "mfrac", "msqrt", "mroot", "mstyle", "merror", "mpadded", "mphantom", "menclose",
      "mfenced", "mover", "munder", "munderover", "mmultiscripts", "mprescripts", "none",
      "mtable", "mtr", "mtd", "mlabeledtr", "semantics", "annotation",
    ] {
      t[n] = mathAttributes
    }
    t["col"] = ["span"]
    t["img"] = ["src", "alt", "width", "height"]
    // The document shell libxml2's HTML parser itself adds around a fragment.
    t["html"] = []
    t["body"] = []
    return t
  }()
  static let global: Set<String> = ["title", "lang", "dir"]
  static let urlAttributes: Set<String> = ["href", "src", "cite"]
  static let allowedSchemes: Set<String> = [
    "http", "https", "ftp", "ftps", "mailto", "tel", "news", "nntp", "sms", "xmpp", "magnet",
    "geo", "irc", "ircs",
  ]
  /// Tags whose mere appearance in the output text would be a failure (text `<` is escaped).
  static let forbiddenOpenings = [
    "<script", "<iframe", "<object", "<embed", "<style", "<svg", "<form", "<meta",
    "<link", "<base ", "<base>", "<base/", "<frame", "<applet", "<template", "<noscript",
    "<textarea", "<xmp", "<plaintext",
  ]

  /// Nil when `html` is safe, else what is wrong with it.
  static func violation(in html: String) -> String? {
    let lower = html.lowercased()
    for tag in forbiddenOpenings where lower.contains(tag) { return "contains \(tag)" }
    if let why = xmlViolation(html) { return why }
    let bytes = Array(html.utf8)
    let options = Int32(
      bitPattern: HTML_PARSE_NONET.rawValue | HTML_PARSE_NOERROR.rawValue
        | HTML_PARSE_NOWARNING.rawValue)
    guard
      let doc = bytes.withUnsafeBufferPointer({ b in
        b.withMemoryRebound(to: CChar.self) {
          htmlReadMemory($0.baseAddress, Int32($0.count), nil, "UTF-8", options)
        }
      })
    else { return nil }  // nothing libxml2 could read: empty or text only
    defer { xmlFreeDoc(doc) }
    var stack: [xmlNodePtr] = []
    if let root = xmlDocGetRootElement(doc) { stack.append(root) }
    while let node = stack.popLast() {
      var child = node.pointee.children
      while let c = child {
        stack.append(c)
        child = c.pointee.next
      }
      guard node.pointee.type == XML_ELEMENT_NODE else { continue }
      let name = String(cString: node.pointee.name).lowercased()
      guard let allowed = elements[name] else { return "element <\(name)>" }
      var attribute = node.pointee.properties
      while let a = attribute {
        attribute = a.pointee.next
        let attr = String(cString: a.pointee.name).lowercased()
        guard allowed.contains(attr) || global.contains(attr) else {
          return "attribute \(attr) on <\(name)>"
        }
        guard urlAttributes.contains(attr) else { continue }
        var value = ""
        if let v = xmlNodeListGetString(doc, a.pointee.children, 1) {
          value = String(cString: v)
          clibxml2_free(v)
        }
        if let scheme = browserScheme(value), !allowedSchemes.contains(scheme) {
          if scheme == "data", name == "img", attr == "src", isImageData(value) { continue }
          return "\(attr)=\"\(value)\" on <\(name)>"
        }
      }
    }
    return nil
  }

  /// The sanitiser promises XML-embeddable output: inside one element it is well-formed XML
  /// (only the five predefined entities, every element closed).
  static func xmlViolation(_ html: String) -> String? {
    let wrapped = Array("<r>\(html)</r>".utf8)
    let options = Int32(
      bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue
        | XML_PARSE_NOWARNING.rawValue)
    let doc = wrapped.withUnsafeBufferPointer { b in
      b.withMemoryRebound(to: CChar.self) {
        xmlReadMemory($0.baseAddress, Int32($0.count), nil, "UTF-8", options)
      }
    }
    guard let doc else { return "not well-formed XML" }
    xmlFreeDoc(doc)
    return nil
  }

  /// The scheme a browser sees (WHATWG URL parsing: leading and trailing C0 controls and spaces
  /// stripped, tabs and newlines removed anywhere), lowercased; nil for a relative reference.
  static func browserScheme(_ value: String) -> String? {
    var scheme = ""
    var started = false
    for s in value.unicodeScalars {
      if s == "\t" || s == "\n" || s == "\r" { continue }
      if !started && s.value <= 0x20 { continue }
      started = true
      if s == ":" { return scheme.isEmpty ? nil : scheme }
      let v = s.value
      let isLetter = (v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A
      let isOther = (v >= 0x30 && v <= 0x39) || s == "+" || s == "-" || s == "."
      guard isLetter || (!scheme.isEmpty && isOther) else { return nil }
      scheme.unicodeScalars.append(Unicode.Scalar(isLetter ? v | 0x20 : v)!)
    }
    return nil
  }

  static func isImageData(_ value: String) -> Bool {
    let lower = value.trimmingCharacters(in: .whitespacesAndNewlines).prefix(32).lowercased()
    return ["png", "gif", "jpeg", "jpg", "webp"].contains {
      lower.hasPrefix("data:image/\($0);") || lower.hasPrefix("data:image/\($0),")
    }
  }
}

/// Wraps the process's external entity loader (the production deny-all one `LibXML.bootstrap`
/// installs) and records any load it did not refuse: the in-process half of "nothing reads a
/// file or opens a socket" (`.ci/fuzz` runs the corpus under strace for the other half).
enum EntityLoaderGuard {
  nonisolated(unsafe) static var production: xmlExternalEntityLoader?
  nonisolated(unsafe) static var leaked: String?
  nonisolated(unsafe) static var attempts = 0

  static func install() {
    guard production == nil else { return }
    production = xmlGetExternalEntityLoader()
    xmlSetExternalEntityLoader { url, id, context in
      EntityLoaderGuard.attempts += 1
      let input = EntityLoaderGuard.production?(url, id, context)
      if input != nil {
        EntityLoaderGuard.leaked = url.map { String(cString: $0) } ?? "(no URL)"
      }
      return input
    }
  }

  static func reset() { leaked = nil }
}
