import CLibXML2
import FeedModel
import Foundation
import WebText

/// How a captured text construct is to be read.
enum TextMode: UInt8 {
  case text, html, xhtml, base64Text, base64HTML
}

/// Which object the current element belongs to.
enum Container: UInt8 {
  case root, rssRoot, rdfRoot, feed, entry, person, image, source, skip, capture
  /// Inside `media:group` or `media:content`: Media RSS elements of the entry (or feed).
  case media
  /// Inside `itunes:category`: nested categories.
  case itunesCategory
  /// Inside `georss:where` (GML) or `geo:Point`.
  case geo
}

/// Whose person construct is open.
enum PersonRole: UInt8 {
  case feedAuthor, feedContributor, entryAuthor, entryContributor, sourceAuthor
  case sourceContributor, feedOwner, entryOwner
}

/// An entry while it is being read: the model plus what normalisation still needs.
struct RawEntry {
  var entry = Entry()
  var titleIsHTML = false
  var rightsIsHTML = false
  var summaryBase: URL?
  var contentBase: URL?
  var publishedRaw: String?
  var updatedRaw: String?
  var createdRaw: String?
  var sourceUpdatedRaw: String?
  var guid: String?
  var guidIsPermaLink = true
  var rssLink: String?
  var language: String?
  /// `xml:lang` in scope on the title, summary and content elements.
  var titleLang: String?
  var summaryLang: String?
  var contentLang: String?
  /// `itunes:summary`: the summary when the item has no other.
  var itunesSummary: String?
  /// `feedburner:origLink` / `origEnclosureLink`.
  var origLink: String?
  var origEnclosureLink: String?
  /// W3C geo `lat`/`long`, paired when the entry ends.
  var geoLat: Double?
  var geoLong: Double?
  var geoFeatureName: String?
}

/// The feed-level counterpart of `RawEntry`.
struct RawFeed {
  var feed = Feed()
  var titleIsHTML = false
  var subtitleIsHTML = false
  var rightsIsHTML = false
  var updatedRaw: String?
  var pubDateRaw: String?
  /// `dcterms:issued`, Atom `published`: the feed's publication date before RSS `pubDate`.
  var issuedRaw: String?
  /// `xml:lang` of the feed (or channel) element: the language when no element names one.
  var xmlLang: String?
  /// `xml:lang` in scope on the feed's title.
  var titleLang: String?
  /// `itunes:summary` of the channel: the subtitle when it has no other.
  var itunesSummary: String?
  var entries: [RawEntry] = []
}

/// All the state of one SAX2 parse. Reached from the C callbacks through `ctxt->_private`
/// (libxml2's `user_data` stays NULL, see DESIGN.md). Never shared between threads. Element
/// handling is split by vocabulary (Vocabularies/*.swift) behind one dispatch in `startElement`.
final class FeedSAXReader {
  struct Frame {
    var code: El
    var container: Container
    var base: Int32
    var lang: Int32
  }

  // Limits and outcome
  let maxTextBytes: Int
  var textBytes = 0
  var hostile: String?
  var notAFeed: String?
  var format: FeedFormat?
  var rootName: String?
  var diagnostics: [Diagnostic] = []
  var firstError: Diagnostic?
  var errorCount = 0
  var mainContext: xmlParserCtxtPtr?
  /// Set when libxml2 met an invalid character and `stopOnInvalidCharacters` was on.
  var needsRepair = false
  var stopOnInvalidCharacters = true

  // Document state
  var frames: [Frame] = []
  var bases: [URL?]
  var langs: [String?] = [nil]
  var raw = RawFeed()
  var current = RawEntry()
  var person = Person()
  var personRole: PersonRole = .feedAuthor
  var source = EntrySource()
  /// Inside an item/entry (vocabularies that apply at both levels ask).
  var inEntry = false
  /// A root `<feed>` outside Atom's namespace read as Atom: that namespace (nil for none), and
  /// how many of its elements were Atom's (none: it was not Atom after all).
  var foreignAtomURI: String?? = .none
  var foreignAtomElements = 0
  /// Why the document was read although it is not what it claims (flags it malformed).
  var recognitionNote: Diagnostic?
  /// GML shape being read inside `georss:where`; box corners collected.
  var gmlShape: GeoLocation.Shape = .point
  var gmlCorners: [Double] = []

  // Capture of the text of one element
  var captureDepth = 0
  var captureMarkup = false
  var captureEscape = false
  var captureMode: TextMode = .text
  var captureAttr: String?
  var captureAttr2: String?
  var captureBase: URL?
  var captureStripDiv = 0
  var captureSeenElement = false
  /// The captured text, behind a pointer: appends from the SAX callbacks then skip Swift's
  /// dynamic exclusivity checks on class properties (measurable at this call rate).
  let text: UnsafeMutablePointer<ByteBuffer> = {
    let p = UnsafeMutablePointer<ByteBuffer>.allocate(capacity: 1)
    p.initialize(to: ByteBuffer(capacity: 4096))
    return p
  }()

  // Entities declared in the internal subset, as predefined-type proxies (see `entityDecl`).
  var declaredEntities: [String: UnsafeMutablePointer<xmlEntity>] = [:]
  var ignoredEntities: Set<String> = []
  var attributeEntities: [String: UnsafeMutablePointer<xmlEntity>] = [:]
  var lastScan: (base: UnsafePointer<xmlChar>, position: UnsafePointer<xmlChar>, inTag: Bool)?

  // (URI pointer, local-name pointer) → code; libxml2 interns both in the parser dictionary.
  private var cacheKeys = [UInt](repeating: 0, count: 1024)
  private var cacheCodes = [El](repeating: .other, count: 512)
  private var cacheUsed = 0

  init(baseURL: URL?, maxTextBytes: Int) {
    self.bases = [baseURL]
    self.maxTextBytes = maxTextBytes
    frames.reserveCapacity(32)
  }

  deinit {
    for ent in attributeEntities.values { Self.freeProxy(ent) }
    text.pointee.free()
    text.deinitialize(count: 1)
    text.deallocate()
    for ent in declaredEntities.values { Self.freeProxy(ent) }
  }

  /// Frees an entity proxy: its name and content, and `orig`, the raw declared value that
  /// libxml2's `xmlParseEntityDecl` hands to whatever entity `getEntity` returns (found by the
  /// fuzzer as a leak per declared entity: Tests/Fuzz/regressions/parser/entity-orig-leak.xml).
  static func freeProxy(_ ent: UnsafeMutablePointer<xmlEntity>) {
    clibxml2_free(UnsafeMutableRawPointer(mutating: ent.pointee.name))
    clibxml2_free(ent.pointee.content)
    clibxml2_free(ent.pointee.orig)
    ent.deallocate()
  }

  var docBase: URL? { bases[0] }

  // MARK: - Parsing

  /// Runs libxml2's SAX2 parser over UTF-8 bytes.
  func parse(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0, bytes.count < Int(Int32.max) else {
      return
    }
    guard
      let ctxt = xmlCreateMemoryParserCtxt(
        base.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
    else { return }
    mainContext = ctxt
    let handler = UnsafeMutablePointer<xmlSAXHandler>.allocate(capacity: 1)
    handler.initialize(to: FeedSAXReader.makeHandler())
    // xmlFreeParserCtxt frees ctxt->sax with xmlFree (malloc): give it a malloc'd copy.
    let sax = malloc(MemoryLayout<xmlSAXHandler>.size)!.assumingMemoryBound(to: xmlSAXHandler.self)
    sax.initialize(to: handler.pointee)
    handler.deallocate()
    free(ctxt.pointee.sax)
    ctxt.pointee.sax = sax
    ctxt.pointee._private = Unmanaged.passUnretained(self).toOpaque()
    let options =
      XML_PARSE_NONET.rawValue | XML_PARSE_RECOVER.rawValue | XML_PARSE_IGNORE_ENC.rawValue
      | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue
    xmlCtxtUseOptions(ctxt, Int32(bitPattern: options))
    xmlParseDocument(ctxt)
    if ctxt.pointee.wellFormed == 0 && firstError == nil && hostile == nil && notAFeed == nil
      && !needsRepair
    {
      firstError = Diagnostic(severity: .error, message: "not well-formed")
    }
    if let doc = ctxt.pointee.myDoc {
      xmlFreeDoc(doc)
      ctxt.pointee.myDoc = nil
    }
    ctxt.pointee._private = nil
    xmlFreeParserCtxt(ctxt)
    mainContext = nil
  }

  static func makeHandler() -> xmlSAXHandler {
    var h = xmlSAXHandler()
    h.initialized = XML_SAX2_MAGIC
    h.startElementNs = { ctx, localname, _, uri, _, _, nbAttributes, _, attributes in
      guard let reader = FeedSAXReader.from(ctx), let localname else { return }
      reader.startElement(localname, uri, Int(nbAttributes), attributes)
    }
    h.endElementNs = { ctx, localname, _, _ in
      guard let reader = FeedSAXReader.from(ctx) else { return }
      reader.endElement(localname)
    }
    h.characters = { ctx, ch, len in
      guard let reader = FeedSAXReader.from(ctx), let ch, len > 0 else { return }
      reader.characters(ch, Int(len))
    }
    h.cdataBlock = h.characters
    h.ignorableWhitespace = h.characters
    h.getEntity = { ctx, name in
      guard let reader = FeedSAXReader.from(ctx), let name else { return nil }
      return reader.entity(ctx!, name)
    }
    h.entityDecl = { ctx, name, type, _, systemId, content in
      guard let reader = FeedSAXReader.from(ctx), let name else { return }
      reader.entityDecl(name, type, systemId, content)
    }
    h.serror = { ctx, error in
      guard let reader = FeedSAXReader.from(ctx), let error else { return }
      reader.error(error)
    }
    return h
  }

  /// Where `_private` sits in `xmlParserCtxt`: read directly, never through a copy of the struct.
  static let privateOffset = MemoryLayout<xmlParserCtxt>.offset(of: \xmlParserCtxt._private)!

  @inline(__always)
  static func from(_ ctx: UnsafeMutableRawPointer?) -> FeedSAXReader? {
    guard let ctx,
      let p = ctx.load(fromByteOffset: privateOffset, as: UnsafeMutableRawPointer?.self)
    else {
      return nil
    }
    return Unmanaged<FeedSAXReader>.fromOpaque(p).takeUnretainedValue()
  }

  func stop(hostile reason: String) {
    if hostile == nil { hostile = reason }
    if let mainContext { xmlStopParser(mainContext) }
  }

  func stop(notAFeed reason: String) {
    if notAFeed == nil { notAFeed = reason }
    if let mainContext { xmlStopParser(mainContext) }
  }

  // MARK: - Errors and entities

  func error(_ e: UnsafeMutablePointer<xmlError>) {
    if e.pointee.code == Int32(XML_ERR_INVALID_CHAR.rawValue) && stopOnInvalidCharacters {
      // Bytes that are not UTF-8 or characters XML forbids: the pipeline repairs the bytes and
      // parses again (cheaper than validating every document up front).
      needsRepair = true
      if let mainContext { xmlStopParser(mainContext) }
      return
    }
    errorCount += 1
    let level = e.pointee.level
    let isError = level != XML_ERR_WARNING
    // Garbage can raise thousands of errors: only the first ones are kept (and built).
    guard diagnostics.count < 20 || (isError && firstError == nil) else { return }
    let message =
      e.pointee.message.flatMap { FeedSAXReader.trim(String(cString: $0)) }
      ?? "XML error \(e.pointee.code)"
    let d = Diagnostic(
      severity: isError ? .error : .warning, message: message,
      line: Int(e.pointee.line), column: Int(e.pointee.int2))
    if isError && firstError == nil { firstError = d }
    if diagnostics.count < 20 { diagnostics.append(d) }
  }

  /// Internal entities are accepted when small and flat (a feed declaring `nbsp` as `&#160;`);
  /// they become predefined-type proxies whose text libxml2 delivers as is, so no entity is
  /// ever re-parsed or expanded. Large, nested or markup-bearing declarations are an attack;
  /// external and parameter entities are ignored (never loaded: the deny-all loader and the
  /// absence of NOENT/DTDLOAD see to that).
  func entityDecl(
    _ name: UnsafePointer<xmlChar>, _ type: Int32, _ systemId: UnsafePointer<xmlChar>?,
    _ content: UnsafeMutablePointer<xmlChar>?
  ) {
    let key = String(cString: name)
    if declaredEntities.count + ignoredEntities.count > 1000 {
      stop(hostile: "more than 1000 entity declarations")
      return
    }
    guard type == Int32(XML_INTERNAL_GENERAL_ENTITY.rawValue), let content else {
      ignoredEntities.insert(key)
      let what = systemId.map { " (\(String(cString: $0)))" } ?? ""
      diagnostics.append(
        Diagnostic(
          severity: .warning, message: "external or parameter entity '\(key)'\(what) ignored"))
      return
    }
    let value = String(cString: content)
    if value.utf8.count > 1024 {
      stop(hostile: "entity '\(key)' declares \(value.utf8.count) bytes (entity expansion attack?)")
      return
    }
    guard let decoded = FeedSAXReader.decodeFlatEntityValue(value) else {
      // Markup or references to other entities: libxml2 would re-parse the value at every
      // reference (its SAX compatibility mode keeps its own copy of the declaration), which is
      // how expansion attacks work. No feed needs it.
      stop(
        hostile:
          "entity '\(key)' contains markup or references other entities (entity expansion attack?)")
      return
    }
    guard declaredEntities[key] == nil else { return }  // first declaration wins
    let bytes = Array(decoded.utf8) + [0]
    let ent = UnsafeMutablePointer<xmlEntity>.allocate(capacity: 1)
    ent.initialize(to: xmlEntity())
    ent.pointee.type = XML_ENTITY_DECL
    ent.pointee.name = UnsafePointer(xmlStrdup(name))
    bytes.withUnsafeBufferPointer { ent.pointee.content = xmlStrdup($0.baseAddress) }
    ent.pointee.length = Int32(bytes.count - 1)
    ent.pointee.etype = XML_INTERNAL_PREDEFINED_ENTITY
    declaredEntities[key] = ent
  }

  /// Replaces character references and the five XML entities; nil when the value has markup or
  /// refers to any other entity.
  static func decodeFlatEntityValue(_ value: String) -> String? {
    if !value.contains("&") { return value.contains("<") ? nil : value }
    var out = ""
    var rest = Substring(value)
    while let amp = rest.firstIndex(of: "&") {
      out += rest[..<amp]
      guard let semi = rest[amp...].firstIndex(of: ";") else { return nil }
      let ref = rest[rest.index(after: amp)..<semi]
      switch ref {
      case "amp": out += "&"
      case "lt": out += "<"
      case "gt": out += ">"
      case "quot": out += "\""
      case "apos": out += "'"
      default:
        guard ref.hasPrefix("#") else { return nil }
        let digits = ref.dropFirst()
        let code: UInt32?
        if digits.hasPrefix("x") || digits.hasPrefix("X") {
          code = UInt32(digits.dropFirst(), radix: 16)
        } else {
          code = UInt32(digits)
        }
        guard let code, let scalar = Unicode.Scalar(code) else { return nil }
        out.unicodeScalars.append(scalar)
      }
      rest = rest[rest.index(after: semi)...]
    }
    if rest.contains("<") { return nil }
    out += rest
    return out
  }

  /// `getEntity`: declared flat entities, then HTML's (`&eacute;` in RSS), else undeclared.
  func entity(_ ctx: UnsafeMutableRawPointer, _ name: UnsafePointer<xmlChar>)
    -> UnsafeMutablePointer<xmlEntity>?
  {
    var found: UnsafeMutablePointer<xmlEntity>?
    if !declaredEntities.isEmpty || !ignoredEntities.isEmpty {
      let key = String(cString: name)
      if let ent = declaredEntities[key] {
        found = ent
      } else if ignoredEntities.contains(key) {
        return nil
      }
    }
    guard let ent = found ?? HTMLEntityTable.entity(named: name) else { return nil }
    if inAttributeValue(ctx) { return attributeEntity(name) }
    return ent
  }

  /// libxml2 copies only the first byte of a predefined-type entity into an attribute value,
  /// so inside a start tag the reference gets a per-parse general entity instead, which
  /// libxml2 leaves in the value as written (`&eacute;`) for `attributeValue` to decode.
  func attributeEntity(_ name: UnsafePointer<xmlChar>) -> UnsafeMutablePointer<xmlEntity> {
    let key = String(cString: name)
    if let ent = attributeEntities[key] { return ent }
    let ent = UnsafeMutablePointer<xmlEntity>.allocate(capacity: 1)
    ent.initialize(to: xmlEntity())
    ent.pointee.type = XML_ENTITY_DECL
    ent.pointee.name = UnsafePointer(xmlStrdup(name))
    ent.pointee.content = xmlStrdup(name)  // plain text: nothing for libxml2 to expand
    ent.pointee.length = Int32(xmlStrlen(name))
    ent.pointee.etype = XML_INTERNAL_GENERAL_ENTITY
    attributeEntities[key] = ent
    return ent
  }

  /// Whether the parser is inside a start tag: the nearest `<` or `>` before the reference.
  /// The previous answer is remembered, so a run of references costs one scan in total.
  func inAttributeValue(_ ctx: UnsafeMutableRawPointer) -> Bool {
    let ctxt = ctx.assumingMemoryBound(to: xmlParserCtxt.self)
    guard let input = ctxt.pointee.input, let cur = input.pointee.cur, let base = input.pointee.base
    else {
      return false
    }
    let known = lastScan.flatMap { $0.base == base && $0.position <= cur ? $0 : nil }
    var p = cur
    var answer = false
    while p > base {
      if let known, p == known.position {
        answer = known.inTag
        break
      }
      p -= 1
      if p.pointee == UInt8(ascii: ">") { break }
      if p.pointee == UInt8(ascii: "<") {
        answer = true
        break
      }
    }
    lastScan = (base, cur, answer)
    return answer
  }

  // MARK: - Element names

  @inline(__always)
  /// The element's code, from a small open-addressing cache keyed by the interned pointers, so
  /// names are turned into Swift strings once per parse, not once per element.
  func code(_ local: UnsafePointer<xmlChar>, _ uri: UnsafePointer<xmlChar>?) -> El {
    let l = UInt(bitPattern: local)
    let u = UInt(bitPattern: uri)
    var slot = Int(truncatingIfNeeded: ((l >> 3) &* 31 &+ (u >> 3)) & 511)
    for _ in 0..<8 {
      let k = cacheKeys[slot * 2]
      if k == 0 { break }
      if k == l && cacheKeys[slot * 2 + 1] == u { return cacheCodes[slot] }
      slot = (slot + 1) & 511
    }
    let c = NS.classify(
      uri: uri.map { String(cString: $0) }, local: String(cString: local), atomURI: foreignAtomURI)
    if cacheKeys[slot * 2] == 0 && cacheUsed < 384 {
      cacheKeys[slot * 2] = l
      cacheKeys[slot * 2 + 1] = u
      cacheCodes[slot] = c
      cacheUsed += 1
    }
    return c
  }

  /// Forgets every cached classification (the root changed how names are read).
  func resetCodeCache() {
    for i in 0..<cacheKeys.count { cacheKeys[i] = 0 }
    cacheUsed = 0
  }

  // MARK: - SAX events

  typealias Attributes = UnsafeMutablePointer<UnsafePointer<xmlChar>?>?

  /// Counts all text against the cap (entity blow-ups arrive here) and keeps the captured part.
  func characters(_ ch: UnsafePointer<xmlChar>, _ len: Int) {
    textBytes &+= len
    if textBytes > maxTextBytes {
      stop(hostile: "more than \(maxTextBytes) bytes of text (entity expansion?)")
      return
    }
    guard captureDepth != 0 else { return }
    let chunk = UnsafeBufferPointer(start: ch, count: len)
    if captureEscape {
      appendEscaped(chunk, attribute: false)
    } else {
      text.pointee.append(contentsOf: chunk)
    }
  }

  func appendEscaped(_ chunk: UnsafeBufferPointer<UInt8>, attribute: Bool) {
    let out = text
    var runStart = 0
    let n = chunk.count
    var i = 0
    while i < n {
      let c = chunk[i]
      let escape: [UInt8]
      switch c {
      case UInt8(ascii: "&"): escape = FeedSAXReader.ampEntity
      case UInt8(ascii: "<"): escape = FeedSAXReader.ltEntity
      case UInt8(ascii: ">"): escape = FeedSAXReader.gtEntity
      case UInt8(ascii: "\""):
        if !attribute {
          i += 1
          continue
        }
        escape = FeedSAXReader.quotEntity
      default:
        i += 1
        continue
      }
      out.pointee.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[runStart..<i]))
      out.pointee.append(contentsOf: escape)
      i += 1
      runStart = i
    }
    out.pointee.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[runStart..<n]))
  }

  static let ampEntity = Array("&amp;".utf8)
  static let ltEntity = Array("&lt;".utf8)
  static let gtEntity = Array("&gt;".utf8)
  static let quotEntity = Array("&quot;".utf8)

  /// Decides from the parent's container and the element's code what this element is: a new

  /// What a handler needs of a start tag besides its code.
  struct Tag {
    var uri: UnsafePointer<xmlChar>?
    var n: Int
    var atts: Attributes
    var base: Int32
    var lang: Int32
  }

  /// One dispatch for every start tag: the root decides the format; inside a capture the tag
  /// is markup of the captured text; otherwise the element's vocabulary handler decides, from
  /// the parent's container, what it is: an entry, a person, attributes read at once, or text to
  /// capture until its end tag.
  func startElement(
    _ local: UnsafePointer<xmlChar>, _ uri: UnsafePointer<xmlChar>?, _ n: Int, _ atts: Attributes
  ) {
    if hostile != nil || notAFeed != nil { return }
    let parent = frames.last
    var base = parent?.base ?? 0
    var lang = parent?.lang ?? 0
    if n > 0, let atts { scanXMLAttributes(atts, n, &base, &lang) }

    if captureDepth != 0 {
      frames.append(Frame(code: .other, container: .capture, base: base, lang: lang))
      if captureMarkup { serializeStart(local, uri, n, atts) }
      return
    }
    let c = code(local, uri)
    let container = parent?.container ?? .root
    var next: Container = .skip
    switch container {
    case .root:
      next = detectFormat(c, local, uri, n, atts, lang: lang)
    case .skip, .capture:
      break
    default:
      let t = Tag(uri: uri, n: n, atts: atts, base: base, lang: lang)
      switch c.vocabulary {
      case .none: break
      case .core: next = startCore(c, in: container, t)
      case .atom: next = startAtom(c, in: container, t)
      case .dublinCore: next = startDublinCore(c, in: container, t)
      case .itunes: next = startITunes(c, in: container, t)
      case .media: next = startMedia(c, in: container, t)
      case .geo: next = startGeo(c, in: container, t)
      case .license: next = startLicense(c, in: container, t)
      case .feedBurner: next = startFeedBurner(c, in: container, t)
      }
    }
    if next == .feed && raw.xmlLang == nil { raw.xmlLang = langs[Int(lang)] }
    frames.append(Frame(code: c, container: next, base: base, lang: lang))
    if next == .capture { captureDepth = frames.count }
  }

  /// Starts capturing the element's text; the handler's answer for text elements.
  @inline(__always)
  func capture(_ mode: TextMode, _ t: Tag) -> Container {
    beginCapture(mode, base: t.base)
    return .capture
  }

  /// Opens a person construct (Atom `author`/`contributor`, `itunes:owner`).
  func startPerson(_ role: PersonRole) -> Container {
    person = Person()
    personRole = role
    return .person
  }

  /// Hands captured text to `finishCapture`, or closes an entry, person or source.
  func endElement(_ local: UnsafePointer<xmlChar>?) {
    guard let frame = frames.popLast() else { return }
    if hostile != nil || notAFeed != nil { return }
    if captureDepth != 0 {
      if frames.count + 1 == captureDepth {
        captureDepth = 0
        let parent = frames.last?.container ?? .root
        finishCapture(frame.code, in: parent, lang: frame.lang)
      } else if captureMarkup, let local {
        if captureStripDiv == frames.count + 1 {
          captureStripDiv = 0
        } else if !FeedSAXReader.isVoid(local) {
          text.pointee.append(contentsOf: [0x3C, 0x2F])
          text.pointee.append(contentsOf: UnsafeBufferPointer(start: local, count: strlen(local)))
          text.pointee.append(0x3E)
        }
      }
      return
    }
    switch frame.container {
    case .entry where frame.code == .item || frame.code == .entry:
      finishEntry()
    case .person:
      finishPerson()
    case .source:
      current.entry.source = source
    default: break
    }
  }

  func finishPerson() {
    var p = person
    if p.name?.isEmpty == true { p.name = nil }
    if p.name == nil && p.email == nil && p.uri == nil { return }
    switch personRole {
    case .feedAuthor: raw.feed.authors.append(p)
    case .feedContributor: raw.feed.contributors.append(p)
    case .entryAuthor: current.entry.authors.append(p)
    case .entryContributor: current.entry.contributors.append(p)
    case .sourceAuthor: source.authors.append(p)
    case .sourceContributor: source.contributors.append(p)
    case .feedOwner: raw.feed.itunes.edit { $0.owner = p }
    case .entryOwner: current.entry.itunes.edit { $0.owner = p }
    }
  }

  // MARK: - Helpers for starts

  /// The root element decides the format; anything else (HTML, OPML…) stops the parse.
  func detectFormat(
    _ c: El, _ local: UnsafePointer<xmlChar>, _ uri: UnsafePointer<xmlChar>?, _ n: Int,
    _ atts: Attributes,
    lang: Int32
  ) -> Container {
    rootName = String(cString: local)
    switch c {
    case .rss:
      let version = attribute(n, atts, "version").flatMap(FeedSAXReader.trim) ?? "2.0"
      format = version.hasPrefix("0.9") ? .rss09x : .rss20
      return .rssRoot
    case .rdfRDF:
      return .rdfRoot
    case .channel:
      // A bare `<channel>` root (no `<rss>` around it): RSS all the same.
      format = .rss20
      recognitionNote = Diagnostic(
        severity: .error, message: "root <channel> without <rss>; read as RSS 2.0")
      return .feed
    case .feed:
      format = uri.map { String(cString: $0) } == NS.atom03 ? .atom03 : .atom10
      return .feed
    case .html:
      stop(notAFeed: "an HTML page, not a feed")
      return .skip
    default:
      if rootName?.lowercased() == "feed" {
        // A `<feed>` without Atom's namespace (or with another one): read its elements as
        // Atom's, and say so. Whether it was Atom after all is checked at the end.
        let ns = uri.map { String(cString: $0) }
        foreignAtomURI = .some(ns)
        resetCodeCache()
        format = .atom10
        recognitionNote = Diagnostic(
          severity: .error,
          message: ns.map { "root <feed> is in namespace \($0), not Atom's; read as Atom" }
            ?? "root <feed> has no Atom namespace; read as Atom")
        return .feed
      }
      if rootName?.lowercased() == "html" {
        stop(notAFeed: "an HTML page, not a feed")
      } else {
        stop(notAFeed: "root element <\(rootName ?? "")> is not RSS, RDF or Atom")
      }
      return .skip
    }
  }

  /// Applies `xml:base` and `xml:lang` of an element to the inherited values.
  func scanXMLAttributes(
    _ atts: UnsafeMutablePointer<UnsafePointer<xmlChar>?>, _ n: Int, _ base: inout Int32,
    _ lang: inout Int32
  ) {
    for i in 0..<n {
      guard let prefix = atts[i * 5 + 1], prefix[0] == 0x78, prefix[1] == 0x6D, prefix[2] == 0x6C,
        prefix[3] == 0,
        let name = atts[i * 5]
      else { continue }
      let value = attributeValue(atts, i)
      if xmlStrEqual(name, "base") != 0 {
        let parentBase = bases[Int(base)]
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        let resolved =
          URL(string: trimmed, relativeTo: parentBase)?.absoluteURL
          ?? trimmed.addingPercentEncoding(withAllowedCharacters: FeedSAXReader.urlAllowed).flatMap
        {
          URL(string: $0, relativeTo: parentBase)?.absoluteURL
        }
        bases.append(resolved?.scheme == nil ? parentBase : resolved)
        base = Int32(bases.count - 1)
      } else if xmlStrEqual(name, "lang") != 0 {
        langs.append(value.isEmpty ? nil : value)
        lang = Int32(langs.count - 1)
      }
    }
  }

  /// An attribute value with references resolved. Without entity substitution (never NOENT)
  /// libxml2 hands SAX `&amp;` as `&#38;` and keeps other entity references as written
  /// (`attributeEntity`), so both are decoded here.
  func attributeValue(_ atts: UnsafeMutablePointer<UnsafePointer<xmlChar>?>, _ i: Int) -> String {
    guard let v = atts[i * 5 + 3], let e = atts[i * 5 + 4] else { return "" }
    let bytes = UnsafeBufferPointer(start: v, count: e - v)
    let value = String(decoding: bytes, as: UTF8.self)
    guard bytes.contains(UInt8(ascii: "&")) else { return value }
    return decodeAttributeReferences(value)
  }

  func decodeAttributeReferences(_ value: String) -> String {
    var out = ""
    var rest = Substring(value)
    while let amp = rest.firstIndex(of: "&") {
      out += rest[..<amp]
      guard let semi = rest[amp...].firstIndex(of: ";") else { break }
      let ref = String(rest[rest.index(after: amp)..<semi])
      var replacement: String?
      if ref.hasPrefix("#") {
        replacement = FeedSAXReader.decodeFlatEntityValue("&" + ref + ";")
      } else if let ent = declaredEntities[ref], let content = ent.pointee.content {
        replacement = String(cString: content)
      } else if let value = HTMLEntities.value(named: ref) {
        replacement = value
      }
      if let replacement {
        out += replacement
        rest = rest[rest.index(after: semi)...]
      } else {
        out += "&"
        rest = rest[rest.index(after: amp)...]
      }
    }
    out += rest
    return out
  }

  /// An unprefixed attribute's value.
  func attribute(_ n: Int, _ atts: Attributes, _ name: String) -> String? {
    guard let atts else { return nil }
    for i in 0..<n where atts[i * 5 + 1] == nil {
      if let l = atts[i * 5], xmlStrEqual(l, name) != 0 { return attributeValue(atts, i) }
    }
    return nil
  }

  func rdfAbout(_ n: Int, _ atts: Attributes) -> String? {
    guard let atts else { return nil }
    for i in 0..<n {
      if let l = atts[i * 5], xmlStrEqual(l, "about") != 0, let u = atts[i * 5 + 2],
        xmlStrEqual(u, NS.rdf) != 0
      {
        return FeedSAXReader.trim(attributeValue(atts, i))
      }
    }
    return nil
  }

  func atomTextMode(_ n: Int, _ atts: Attributes, _ uri: UnsafePointer<xmlChar>?) -> TextMode {
    let type = attribute(n, atts, "type").flatMap(FeedSAXReader.trim)?.lowercased()
    if format == .atom03 || (uri.map { xmlStrEqual($0, NS.atom03) != 0 } ?? false) {
      let mode = attribute(n, atts, "mode")?.lowercased() ?? "xml"
      let isHTML = type.map { $0.contains("html") } ?? false
      switch mode {
      case "escaped": return isHTML ? .html : .text
      case "base64": return isHTML ? .base64HTML : .base64Text
      default: return isHTML ? (type == "text/html" ? .html : .xhtml) : .text
      }
    }
    switch type {
    case nil, "text"?, "text/plain"?: return .text
    case "html"?, "text/html"?: return .html
    case "xhtml"?, "application/xhtml+xml"?: return .xhtml
    case let t?:
      if t.hasSuffix("+xml") || t.hasSuffix("/xml") { return .xhtml }
      if t.hasPrefix("text/") { return .text }
      return .base64Text
    }
  }

  func beginCapture(_ mode: TextMode, base: Int32) {
    captureMode = mode
    captureMarkup = mode == .html || mode == .xhtml
    captureEscape = mode == .xhtml
    captureAttr = nil
    captureAttr2 = nil
    captureBase = bases[Int(base)]
    captureStripDiv = 0
    captureSeenElement = false
    text.pointee.removeAll(keepingCapacity: true)
  }

  // MARK: - Markup inside text constructs

  static let voidNames: [StaticString] = [
    "br", "img", "hr", "input", "meta", "link", "area", "base", "col", "embed", "param", "source",
    "track", "wbr",
  ]

  static func isVoid(_ local: UnsafePointer<xmlChar>) -> Bool {
    for v in voidNames where xmlStrEqual(local, v.utf8Start) != 0 { return true }
    return false
  }

  /// Writes a child element of an xhtml/html text construct back as markup (the Atom xhtml
  /// wrapper `div` is not part of the content and is dropped).
  func serializeStart(
    _ local: UnsafePointer<xmlChar>, _ uri: UnsafePointer<xmlChar>?, _ n: Int, _ atts: Attributes
  ) {
    if captureMode == .xhtml && !captureSeenElement && frames.count == captureDepth + 1
      && xmlStrEqual(local, "div") != 0
      && text.pointee.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
    {
      captureSeenElement = true
      captureStripDiv = frames.count
      text.pointee.removeAll(keepingCapacity: true)
      return
    }
    captureSeenElement = true
    text.pointee.append(0x3C)
    text.pointee.append(contentsOf: UnsafeBufferPointer(start: local, count: strlen(local)))
    if let atts {
      for i in 0..<n {
        guard let name = atts[i * 5], atts[i * 5 + 3] != nil, atts[i * 5 + 4] != nil else {
          continue
        }
        text.pointee.append(0x20)
        if let prefix = atts[i * 5 + 1], xmlStrEqual(prefix, "xml") == 0 {
          text.pointee.append(contentsOf: UnsafeBufferPointer(start: prefix, count: strlen(prefix)))
          text.pointee.append(0x3A)
        }
        text.pointee.append(contentsOf: UnsafeBufferPointer(start: name, count: strlen(name)))
        text.pointee.append(contentsOf: [0x3D, 0x22])
        var value = attributeValue(atts, i)
        value.withUTF8 { appendEscaped($0, attribute: true) }
        text.pointee.append(0x22)
      }
    }
    text.pointee.append(0x3E)
  }

  // MARK: - Finishing elements

  /// Stores the text of a finished element where it belongs: decoded (base64 text constructs),
  /// then handed to the element's vocabulary handler.
  func finishCapture(_ code: El, in container: Container, lang: Int32) {
    var value = text.pointee.string()
    var mode = captureMode
    if mode == .base64Text || mode == .base64HTML {
      let data = Data(base64Encoded: value, options: .ignoreUnknownCharacters) ?? Data()
      value = String(decoding: data, as: UTF8.self)
      mode = mode == .base64HTML ? .html : .text
    }
    let isHTML = mode == .html || mode == .xhtml
    switch code.vocabulary {
    case .none: break
    case .core: finishCore(code, value, isHTML: isHTML, in: container, lang: lang)
    case .atom: finishAtom(code, value, isHTML: isHTML, in: container, lang: lang)
    case .dublinCore: finishDublinCore(code, value, in: container)
    case .itunes: finishITunes(code, value, in: container)
    case .media: finishMedia(code, value, isHTML: isHTML, in: container)
    case .geo: finishGeo(code, value, in: container)
    case .license: finishLicense(code, value, in: container)
    case .feedBurner: finishFeedBurner(code, value, in: container)
    }
  }

  func startEntry(lang: Int32) {
    current = RawEntry()
    current.language = langs[Int(lang)]
    inEntry = true
  }

  /// Entry link fallback: first alternate link, else the RSS link, else a permalink guid, else
  /// Atom out-of-line content (where the story itself is). Then what the vocabularies left for
  /// the end: FeedBurner's original links, W3C geo pairs, iTunes duration on the enclosure.
  func finishEntry() {
    var r = current
    applyFeedBurner(&r)
    if r.entry.link == nil {
      if let alt = r.entry.links.first(where: { $0.rel == "alternate" }) {
        r.entry.link = alt.href
      } else if let guid = r.guid, r.guidIsPermaLink,
        guid.lowercased().hasPrefix("http://") || guid.lowercased().hasPrefix("https://")
      {
        r.entry.link = absolute(guid, base: docBase)
      } else if let source = r.entry.contentSource {
        r.entry.link = source.href
      }
    }
    finishGeoEntry(&r)
    if let duration = r.entry.itunes?.duration, !r.entry.enclosures.isEmpty,
      r.entry.enclosures[0].duration == nil
    {
      r.entry.enclosures[0].duration = duration
    }
    if r.entry.media?.isEmpty == true { r.entry.media = nil }
    raw.entries.append(r)
    current = RawEntry()
    inEntry = false
  }

  // MARK: - Shared by the handlers

  /// A media attachment, merged into one already listed for the same URL (`<enclosure>` and
  /// `media:content` of the same file) instead of listed twice.
  func addEnclosure(_ enc: Enclosure) {
    if let i = current.entry.enclosures.firstIndex(where: { $0.url == enc.url }) {
      var e = current.entry.enclosures[i]
      e.type = e.type ?? enc.type
      e.length = e.length ?? enc.length
      e.medium = e.medium ?? enc.medium
      e.width = e.width ?? enc.width
      e.height = e.height ?? enc.height
      e.duration = e.duration ?? enc.duration
      current.entry.enclosures[i] = e
    } else {
      current.entry.enclosures.append(enc)
    }
  }

  /// A person read from text, merged into one with the same name or address already listed
  /// (`dc:creator` and `itunes:author` naming the same person).
  static func addPerson(_ p: Person, to list: inout [Person]) {
    if list.isEmpty {
      list.append(p)
      return
    }
    if let i = list.firstIndex(where: {
      (p.name != nil && $0.name == p.name) || (p.email != nil && $0.email == p.email)
    }) {
      list[i].name = list[i].name ?? p.name
      list[i].email = list[i].email ?? p.email
      list[i].uri = list[i].uri ?? p.uri
    } else {
      list.append(p)
    }
  }

  /// A category, unless the same term with the same scheme is already there.
  static func addCategory(_ c: FeedModel.Category, to list: inout [FeedModel.Category]) {
    if !list.contains(where: { $0.term == c.term && $0.scheme == c.scheme }) { list.append(c) }
  }

  /// A link, unless the same href with the same rel is already there.
  static func addLink(_ l: Link, to list: inout [Link]) {
    if !list.contains(where: { $0.href == l.href && $0.rel == l.rel }) { list.append(l) }
  }

  /// An attribute in a namespace (`rdf:resource`, `rdf:about`).
  func attribute(_ n: Int, _ atts: Attributes, _ name: String, namespace: String) -> String? {
    guard let atts else { return nil }
    for i in 0..<n {
      if let l = atts[i * 5], xmlStrEqual(l, name) != 0, let u = atts[i * 5 + 2],
        xmlStrEqual(u, namespace) != 0
      {
        return attributeValue(atts, i)
      }
    }
    return nil
  }

  func int(_ s: String?) -> Int? {
    guard let s = s.flatMap(FeedSAXReader.trim), let v = Int(s), v >= 0 else { return nil }
    return v
  }

  // MARK: - Small text helpers

  static let urlAllowed: CharacterSet = {
    var set = CharacterSet.urlQueryAllowed
    set.insert(charactersIn: "#%")
    return set
  }()

  /// Makes a reference absolute against `base`; nil for empty ones and script URLs.
  func absolute(_ rawValue: String, base: URL?) -> String? {
    FeedSAXReader.absolute(rawValue, base: base)
  }

  static func absolute(_ rawValue: String, base: URL?) -> String? {
    guard let s = trim(rawValue) else { return nil }
    switch URLSafety.classify(s) {
    case .script: return nil
    case .absolute: return s
    case .relative: break
    }
    guard let base else { return s }
    if let u = URL(string: s, relativeTo: base) { return u.absoluteString }
    if let enc = s.addingPercentEncoding(withAllowedCharacters: urlAllowed),
      let u = URL(string: enc, relativeTo: base)
    {
      return u.absoluteString
    }
    return s
  }

  func trimmed(_ s: String) -> String? { FeedSAXReader.trim(s) }

  /// Leading and trailing ASCII whitespace removed (no Foundation: this runs per element);
  /// nil when nothing is left.
  static func trim(_ s: String) -> String? {
    let u = s.utf8
    guard let first = u.firstIndex(where: { !isSpace($0) }) else { return nil }
    let last = u.lastIndex(where: { !isSpace($0) })!
    if first == u.startIndex && last == u.index(before: u.endIndex) { return s }
    return String(s[first...last])
  }

  @inline(__always)
  static func isSpace(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 || c == 0x0B || c == 0x0C
  }

  func collapse(_ s: String) -> String? { FeedSAXReader.collapse(s) }

  /// Whitespace runs become one space, ends trimmed; nil when nothing is left.
  static func collapse(_ s: String) -> String? {
    let utf8 = s.utf8
    // Fast path: nothing to change.
    var clean = true
    var previousSpace = true
    for c in utf8 {
      if c == 0x20 {
        if previousSpace {
          clean = false
          break
        }
        previousSpace = true
      } else if c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0B || c == 0x0C {
        clean = false
        break
      } else {
        previousSpace = false
      }
    }
    if clean && !previousSpace { return s }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count)
    var pending = false
    for c in utf8 {
      if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0B || c == 0x0C {
        pending = !out.isEmpty
      } else {
        if pending {
          out.append(0x20)
          pending = false
        }
        out.append(c)
      }
    }
    return out.isEmpty ? nil : String(decoding: out, as: UTF8.self)
  }

  func int64(_ s: String?) -> Int64? {
    guard let s = s.flatMap(FeedSAXReader.trim), let v = Int64(s), v >= 0 else { return nil }
    return v
  }

}

extension Optional where Wrapped == ITunesInfo {
  /// Edits the iTunes metadata, creating it on first use.
  mutating func edit(_ body: (inout ITunesInfo) -> Void) {
    var v = self ?? ITunesInfo()
    body(&v)
    self = v
  }
}

extension Optional where Wrapped == MediaInfo {
  /// Edits the Media RSS metadata, creating it on first use.
  mutating func edit(_ body: (inout MediaInfo) -> Void) {
    var v = self ?? MediaInfo()
    body(&v)
    self = v
  }
}

/// A growable byte buffer with manual storage (see `FeedSAXReader.text`).
struct ByteBuffer {
  private(set) var base: UnsafeMutablePointer<UInt8>
  private(set) var count = 0
  private var capacity: Int

  init(capacity: Int) {
    self.capacity = capacity
    base = .allocate(capacity: capacity)
  }

  func free() { base.deallocate() }

  @inline(__always)
  private mutating func reserve(_ extra: Int) {
    if count + extra <= capacity { return }
    var newCapacity = capacity * 2
    while newCapacity < count + extra { newCapacity *= 2 }
    let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
    newBase.update(from: base, count: count)
    base.deallocate()
    base = newBase
    capacity = newCapacity
  }

  mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
    guard let src = bytes.baseAddress, bytes.count > 0 else { return }
    reserve(bytes.count)
    (base + count).update(from: src, count: bytes.count)
    count += bytes.count
  }

  mutating func append(contentsOf bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { append(contentsOf: $0) }
  }

  mutating func append(_ byte: UInt8) {
    reserve(1)
    base[count] = byte
    count += 1
  }

  mutating func removeAll(keepingCapacity: Bool) { count = 0 }

  func allSatisfy(_ predicate: (UInt8) -> Bool) -> Bool {
    UnsafeBufferPointer(start: base, count: count).allSatisfy(predicate)
  }

  func string() -> String {
    String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self)
  }
}
