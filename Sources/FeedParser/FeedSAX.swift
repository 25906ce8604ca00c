import CLibXML2
import FeedModel
import Foundation

/// Vocabulary of the elements the reader acts on. RSS 0.9x/2.0 (no namespace) and RSS 1.0
/// elements share codes; Atom 0.3 and 1.0 share the `a…` codes (0.3 names map to 1.0 ones).
enum El: UInt8 {
  case other
  // RSS
  case rss, channel, item, title, link, description, language, copyright, managingEditor, pubDate
  case lastBuildDate, category, generator, ttl, image, url, textInput, guid, author, comments
  case enclosure, source
  // Atom
  case feed, entry, aTitle, aSubtitle, aLink, aId, aUpdated, aPublished, aCreated, aSummary
  case aContent, aAuthor, aContributor, aName, aEmail, aUri, aCategory, aGenerator, aIcon, aLogo
  case aRights, aSource
  // Dublin Core, content, media, RDF, XHTML
  case dcCreator, dcDate, dcLanguage, dcRights, dcSubject, dcTitle, dcDescription, dcIdentifier
  case dcContributor, dctModified, dctCreated
  case contentEncoded, mediaContent, mediaGroup, xhtmlBody, rdfRDF, html
}

/// Namespace URIs the reader knows.
enum NS {
  static let atom10 = "http://www.w3.org/2005/Atom"
  static let atom03 = "http://purl.org/atom/ns#"
  static let rss10 = "http://purl.org/rss/1.0/"
  static let rss090 = "http://my.netscape.com/rdf/simple/0.9/"
  static let rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  static let dc = "http://purl.org/dc/elements/1.1/"
  static let dcterms = "http://purl.org/dc/terms/"
  static let content = "http://purl.org/rss/1.0/modules/content/"
  static let media = "http://search.yahoo.com/mrss/"
  static let xhtml = "http://www.w3.org/1999/xhtml"

  static let rssNames: [String: El] = [
    "rss": .rss, "channel": .channel, "item": .item, "title": .title, "link": .link,
    "description": .description, "language": .language, "copyright": .copyright,
    "managingEditor": .managingEditor, "pubDate": .pubDate, "lastBuildDate": .lastBuildDate,
    "category": .category, "generator": .generator, "ttl": .ttl, "image": .image, "url": .url,
    "textInput": .textInput, "textinput": .textInput, "guid": .guid, "author": .author,
    "comments": .comments, "enclosure": .enclosure, "source": .source,
  ]
  static let atomNames: [String: El] = [
    "feed": .feed, "entry": .entry, "title": .aTitle, "subtitle": .aSubtitle, "tagline": .aSubtitle,
    "link": .aLink, "id": .aId, "updated": .aUpdated, "modified": .aUpdated,
    "published": .aPublished, "issued": .aPublished, "created": .aCreated, "summary": .aSummary,
    "content": .aContent, "author": .aAuthor, "contributor": .aContributor, "name": .aName,
    "email": .aEmail, "uri": .aUri, "url": .aUri, "category": .aCategory,
    "generator": .aGenerator, "icon": .aIcon, "logo": .aLogo, "rights": .aRights,
    "copyright": .aRights, "source": .aSource,
  ]
  static let dcNames: [String: El] = [
    "creator": .dcCreator, "date": .dcDate, "language": .dcLanguage, "rights": .dcRights,
    "subject": .dcSubject, "title": .dcTitle, "description": .dcDescription,
    "identifier": .dcIdentifier, "contributor": .dcContributor,
  ]
  static let dctermsNames: [String: El] = [
    "modified": .dctModified, "created": .dctCreated, "issued": .dctCreated, "date": .dcDate,
    "rights": .dcRights, "creator": .dcCreator, "language": .dcLanguage, "subject": .dcSubject,
  ]

  /// Classifies a (namespace, local name) pair; the slow path behind the pointer cache.
  static func classify(uri: String?, local: String) -> El {
    if local == "html" && (uri == nil || uri == xhtml) { return .html }
    switch uri {
    case nil, rss10?, rss090?, "http://backend.userland.com/rss2"?,
      "http://blogs.law.harvard.edu/tech/rss"?:
      return rssNames[local] ?? .other
    case atom10?, atom03?: return atomNames[local] ?? .other
    case dc?: return dcNames[local] ?? .other
    case dcterms?: return dctermsNames[local] ?? .other
    case content?: return local == "encoded" ? .contentEncoded : .other
    case media?, "http://search.yahoo.com/mrss"?:
      return local == "content" ? .mediaContent : local == "group" ? .mediaGroup : .other
    case rdf?: return local == "RDF" ? .rdfRDF : .other
    case xhtml?: return local == "body" || local == "div" ? .xhtmlBody : .other
    default: return .other
    }
  }
}

/// How a captured text construct is to be read.
enum TextMode: UInt8 {
  case text, html, xhtml, base64Text, base64HTML
}

/// Which object the current element belongs to.
enum Container: UInt8 {
  case root, rssRoot, rdfRoot, feed, entry, person, image, source, skip, capture
}

/// An entry while it is being read: the model plus what normalisation still needs.
struct RawEntry {
  var entry = Entry()
  var titleIsHTML = false
  var summaryBase: URL?
  var contentBase: URL?
  var publishedRaw: String?
  var updatedRaw: String?
  var sourceUpdatedRaw: String?
  var guid: String?
  var guidIsPermaLink = true
  var rssLink: String?
  var language: String?
}

/// The feed-level counterpart of `RawEntry`.
struct RawFeed {
  var feed = Feed()
  var titleIsHTML = false
  var subtitleIsHTML = false
  var rightsIsHTML = false
  var updatedRaw: String?
  var pubDateRaw: String?
  /// `xml:lang` of the feed (or channel) element: the language when no element names one.
  var xmlLang: String?
  var entries: [RawEntry] = []
}

/// All the state of one SAX2 parse. Reached from the C callbacks through `ctxt->_private`
/// (libxml2's `user_data` stays NULL, see DESIGN.md). Never shared between threads.
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
  var personIsContributor = false
  var personOwner: Container = .feed
  var source = EntrySource()

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
      uri: uri.map { String(cString: $0) }, local: String(cString: local))
    if cacheKeys[slot * 2] == 0 && cacheUsed < 384 {
      cacheKeys[slot * 2] = l
      cacheKeys[slot * 2 + 1] = u
      cacheCodes[slot] = c
      cacheUsed += 1
    }
    return c
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
  /// entry, a person, a link read from attributes, or text to capture until its end tag.
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
    case .rssRoot:
      if c == .channel { next = .feed }
    case .rdfRoot:
      switch c {
      case .channel:
        next = .feed
        if format == nil {
          format = uri.map { String(cString: $0) } == NS.rss090 ? .rss09x : .rss10
        }
      case .item:
        next = .entry
        startEntry(lang: lang)
        if let about = rdfAbout(n, atts) { current.entry.id = about }
      case .image: next = .image
      default: break
      }
    case .feed:
      switch c {
      case .item, .entry:
        next = .entry
        startEntry(lang: lang)
      case .image: next = .image
      case .aAuthor, .aContributor:
        next = .person
        person = Person()
        personIsContributor = c == .aContributor
        personOwner = .feed
      case .aLink:
        feedLink(n, atts, base: bases[Int(base)])
      case .aCategory:
        if let cat = atomCategory(n, atts) { raw.feed.categories.append(cat) }
      case .title, .description, .link, .language, .copyright, .managingEditor, .pubDate,
        .lastBuildDate, .generator, .ttl, .aId, .aUpdated, .aPublished, .aIcon, .aLogo, .dcCreator,
        .dcDate, .dcLanguage, .dcRights, .dcTitle, .dcDescription, .dcSubject, .dcIdentifier,
        .dctModified:
        next = .capture
        beginCapture(.text, base: base)
      case .category:
        next = .capture
        beginCapture(.text, base: base)
        captureAttr = attribute(n, atts, "domain")
      case .aGenerator:
        next = .capture
        beginCapture(.text, base: base)
        captureAttr = attribute(n, atts, "uri") ?? attribute(n, atts, "url")
      case .aTitle, .aSubtitle, .aRights:
        next = .capture
        beginCapture(atomTextMode(n, atts, uri), base: base)
      default: break
      }
    case .entry:
      switch c {
      case .title, .link, .pubDate, .author, .comments, .dcCreator, .dcDate, .dcLanguage,
        .dcRights, .dcTitle, .dcSubject, .dcIdentifier, .dcContributor, .dctModified, .dctCreated,
        .aId, .aUpdated, .aPublished, .aCreated:
        next = .capture
        beginCapture(.text, base: base)
      case .description, .contentEncoded, .dcDescription:
        next = .capture
        beginCapture(.html, base: base)
      case .xhtmlBody:
        next = .capture
        beginCapture(.xhtml, base: base)
      case .guid:
        next = .capture
        beginCapture(.text, base: base)
        captureAttr = attribute(n, atts, "isPermaLink")
      case .category:
        next = .capture
        beginCapture(.text, base: base)
        captureAttr = attribute(n, atts, "domain")
      case .source:
        next = .capture
        beginCapture(.text, base: base)
        captureAttr = attribute(n, atts, "url")
      case .aContent:
        if let src = attribute(n, atts, "src").flatMap(FeedSAXReader.trim) {
          // Out-of-line content (RFC 4287 4.1.3.2): the element is empty, `type` is a MIME type.
          if let abs = absolute(src, base: bases[Int(base)]) {
            current.entry.contentSource = Link(
              href: abs, type: attribute(n, atts, "type").flatMap(FeedSAXReader.trim))
          }
        } else {
          next = .capture
          beginCapture(atomTextMode(n, atts, uri), base: base)
        }
      case .aTitle, .aSummary:
        next = .capture
        beginCapture(atomTextMode(n, atts, uri), base: base)
      case .enclosure:
        if let url = attribute(n, atts, "url"), let abs = absolute(url, base: bases[Int(base)]) {
          current.entry.enclosures.append(
            Enclosure(
              url: abs, type: attribute(n, atts, "type"),
              length: int64(attribute(n, atts, "length"))))
        }
      case .mediaContent:
        if let url = attribute(n, atts, "url"), let abs = absolute(url, base: bases[Int(base)]) {
          let enc = Enclosure(
            url: abs, type: attribute(n, atts, "type"),
            length: int64(attribute(n, atts, "fileSize")))
          if !current.entry.enclosures.contains(where: { $0.url == abs }) {
            current.entry.enclosures.append(enc)
          }
        }
      case .mediaGroup: next = .entry
      case .aLink: entryLink(n, atts, base: bases[Int(base)])
      case .aCategory:
        if let cat = atomCategory(n, atts) { current.entry.categories.append(cat) }
      case .aAuthor, .aContributor:
        next = .person
        person = Person()
        personIsContributor = c == .aContributor
        personOwner = .entry
      case .aSource:
        next = .source
        source = EntrySource()
      default: break
      }
    case .person:
      if c == .aName || c == .aEmail || c == .aUri {
        next = .capture
        beginCapture(.text, base: base)
      }
    case .image:
      if c == .url {
        next = .capture
        beginCapture(.text, base: base)
      }
    case .source:
      switch c {
      case .aTitle, .aId, .aUpdated, .aIcon, .aRights:
        next = .capture
        beginCapture(.text, base: base)
      case .aLink:
        let rel = attribute(n, atts, "rel") ?? "alternate"
        if rel == "alternate", source.link == nil, let href = attribute(n, atts, "href") {
          source.link = absolute(href, base: bases[Int(base)])
        }
      default: break
      }
    case .skip, .capture: break
    }
    if next == .feed && raw.xmlLang == nil { raw.xmlLang = langs[Int(lang)] }
    frames.append(Frame(code: c, container: next, base: base, lang: lang))
    if next == .capture { captureDepth = frames.count }
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
      var p = person
      if p.name == nil && p.email == nil && p.uri == nil { break }
      if p.name?.isEmpty == true { p.name = nil }
      switch (personOwner, personIsContributor) {
      case (.feed, false): raw.feed.authors.append(p)
      case (.entry, false): current.entry.authors.append(p)
      case (.entry, true): current.entry.contributors.append(p)
      default: break
      }
    case .source:
      current.entry.source = source
    default: break
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
    case .feed:
      format = uri.map { String(cString: $0) } == NS.atom03 ? .atom03 : .atom10
      return .feed
    case .html:
      stop(notAFeed: "an HTML page, not a feed")
      return .skip
    default:
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
      } else if let desc = htmlEntityLookup(ref), let scalar = Unicode.Scalar(desc.pointee.value) {
        replacement = String(Character(scalar))
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

  func startEntry(lang: Int32) {
    current = RawEntry()
    current.language = langs[Int(lang)]
  }

  func feedLink(_ n: Int, _ atts: Attributes, base: URL?) {
    guard let href = attribute(n, atts, "href"), let abs = absolute(href, base: base) else {
      return
    }
    let rel = attribute(n, atts, "rel").flatMap(FeedSAXReader.trim) ?? "alternate"
    if rel == "alternate" {
      if raw.feed.link == nil { raw.feed.link = abs }
    } else if rel == "self" {
      if raw.feed.selfLink == nil { raw.feed.selfLink = abs }
    }
  }

  func entryLink(_ n: Int, _ atts: Attributes, base: URL?) {
    guard let href = attribute(n, atts, "href"), let abs = absolute(href, base: base) else {
      return
    }
    let rel = attribute(n, atts, "rel").flatMap(FeedSAXReader.trim) ?? "alternate"
    let type = attribute(n, atts, "type")
    let length = int64(attribute(n, atts, "length"))
    current.entry.links.append(
      Link(href: abs, rel: rel, type: type, title: attribute(n, atts, "title"), length: length))
    if rel == "alternate" && current.entry.link == nil { current.entry.link = abs }
    if rel == "enclosure" && !current.entry.enclosures.contains(where: { $0.url == abs }) {
      current.entry.enclosures.append(Enclosure(url: abs, type: type, length: length))
    }
  }

  func atomCategory(_ n: Int, _ atts: Attributes) -> FeedModel.Category? {
    guard let term = attribute(n, atts, "term").flatMap(FeedSAXReader.trim)
    else { return nil }
    return Category(
      term: term, scheme: attribute(n, atts, "scheme"), label: attribute(n, atts, "label"))
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

  /// Stores the text of a finished element where it belongs, by container and element code.
  func finishCapture(_ code: El, in container: Container, lang: Int32) {
    var value = text.pointee.string()
    var mode = captureMode
    if mode == .base64Text || mode == .base64HTML {
      let data = Data(base64Encoded: value, options: .ignoreUnknownCharacters) ?? Data()
      value = String(decoding: data, as: UTF8.self)
      mode = mode == .base64HTML ? .html : .text
    }
    let isHTML = mode == .html || mode == .xhtml
    switch container {
    case .feed:
      switch code {
      case .title, .aTitle, .dcTitle:
        if raw.feed.title == nil || code == .aTitle {
          raw.feed.title = value
          raw.titleIsHTML = isHTML
        }
      case .description, .aSubtitle, .dcDescription:
        if raw.feed.subtitle == nil {
          raw.feed.subtitle = value
          raw.subtitleIsHTML = isHTML
        }
      case .link:
        if raw.feed.link == nil { raw.feed.link = absolute(value, base: captureBase) }
      case .language, .dcLanguage:
        if raw.feed.language == nil { raw.feed.language = trimmed(value) }
      case .copyright, .aRights, .dcRights:
        if raw.feed.rights == nil {
          raw.feed.rights = value
          raw.rightsIsHTML = isHTML
        }
      case .managingEditor, .dcCreator:
        if let p = FeedSAXReader.rssPerson(value) { raw.feed.authors.append(p) }
      case .pubDate, .dcDate:
        if raw.pubDateRaw == nil { raw.pubDateRaw = trimmed(value) }
      case .lastBuildDate, .aUpdated, .dctModified:
        if raw.updatedRaw == nil { raw.updatedRaw = trimmed(value) }
      case .generator, .aGenerator:
        raw.feed.generator = trimmed(value) ?? captureAttr
      case .ttl:
        raw.feed.ttlMinutes = trimmed(value).flatMap { Int($0) }
      case .aId, .dcIdentifier:
        if raw.feed.id == nil { raw.feed.id = trimmed(value) }
      case .aIcon:
        raw.feed.icon = absolute(value, base: captureBase)
      case .aLogo:
        raw.feed.logo = absolute(value, base: captureBase)
      case .category, .dcSubject:
        if let term = trimmed(value) {
          raw.feed.categories.append(Category(term: term, scheme: captureAttr))
        }
      default: break
      }
    case .entry:
      switch code {
      case .title, .aTitle, .dcTitle:
        if current.entry.title == nil || code != .dcTitle {
          current.entry.title = value
          current.titleIsHTML = isHTML
        }
      case .link:
        if let abs = absolute(value, base: captureBase) {
          current.rssLink = abs
          if !current.entry.links.contains(where: { $0.href == abs && $0.rel == "alternate" }) {
            current.entry.links.append(Link(href: abs, rel: "alternate"))
          }
          if current.entry.link == nil { current.entry.link = abs }
        }
      case .description, .aSummary, .dcDescription:
        if current.entry.summary == nil || code != .dcDescription {
          current.entry.summary = Text(type: isHTML ? .html : .text, value: value)
          current.summaryBase = captureBase
        }
      case .contentEncoded, .aContent, .xhtmlBody:
        if current.entry.content == nil || code != .xhtmlBody {
          current.entry.content = Text(type: isHTML ? .html : .text, value: value)
          current.contentBase = captureBase
        }
      case .guid:
        current.guid = trimmed(value)
        current.guidIsPermaLink =
          captureAttr.map { FeedSAXReader.trim($0)?.lowercased() != "false" } ?? true
        if let g = current.guid { current.entry.id = g }
      case .aId:
        if let id = trimmed(value) { current.entry.id = id }
      case .dcIdentifier:
        if current.entry.id == nil { current.entry.id = trimmed(value) }
      case .pubDate, .aPublished, .dctCreated:
        if let d = trimmed(value) { current.publishedRaw = d }
      case .aCreated:
        if current.publishedRaw == nil { current.publishedRaw = trimmed(value) }
      case .aUpdated, .dctModified:
        if let d = trimmed(value) { current.updatedRaw = d }
      case .dcDate:
        if current.publishedRaw == nil {
          current.publishedRaw = trimmed(value)
        } else if current.updatedRaw == nil {
          current.updatedRaw = trimmed(value)
        }
      case .author, .dcCreator:
        if let p = FeedSAXReader.rssPerson(value), !current.entry.authors.contains(p) {
          current.entry.authors.append(p)
        }
      case .dcContributor:
        if let name = collapse(value) { current.entry.contributors.append(Person(name: name)) }
      case .category, .dcSubject:
        if let term = trimmed(value), !current.entry.categories.contains(where: { $0.term == term })
        {
          current.entry.categories.append(Category(term: term, scheme: captureAttr))
        }
      case .comments:
        if let abs = absolute(value, base: captureBase) {
          current.entry.links.append(Link(href: abs, rel: "replies", type: "text/html"))
        }
      case .source:
        current.entry.source = EntrySource(
          title: collapse(value), link: captureAttr.flatMap { absolute($0, base: captureBase) })
      case .dcLanguage:
        current.language = trimmed(value)
      default: break
      }
    case .person:
      switch code {
      case .aName: person.name = collapse(value)
      case .aEmail: person.email = trimmed(value)
      case .aUri: person.uri = absolute(value, base: captureBase)
      default: break
      }
    case .image:
      if code == .url, raw.feed.logo == nil { raw.feed.logo = absolute(value, base: captureBase) }
    case .source:
      switch code {
      case .aTitle: source.title = collapse(value)
      case .aId: source.id = trimmed(value)
      case .aUpdated: current.sourceUpdatedRaw = trimmed(value)
      case .aIcon: source.icon = absolute(value, base: captureBase)
      case .aRights: source.rights = collapse(value)
      default: break
      }
    default: break
    }
  }

  /// Entry link fallback: first alternate link, else the RSS link, else a permalink guid, else
  /// Atom out-of-line content (where the story itself is).
  func finishEntry() {
    var r = current
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
    raw.entries.append(r)
    current = RawEntry()
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
    switch schemeKind(s) {
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

  enum SchemeKind { case relative, absolute, script }

  /// Whether a reference has a scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"),
  /// and whether it is one that runs code.
  ///
  /// Read as a browser reads it (WHATWG URL parsing): leading C0 controls and spaces are
  /// skipped and tabs and newlines ignored anywhere, so `java&#9;script:` and `\u{1}javascript:`
  /// are script URLs too (the fuzzer found the tab form kept as an entry link:
  /// Tests/Fuzz/regressions/parser/link-tab-in-scheme.xml).
  static func schemeKind(_ s: String) -> SchemeKind {
    var i = 0
    var javascript = true
    var vbscript = true
    for c in s.utf8 {
      if c == 0x09 || c == 0x0A || c == 0x0D || (i == 0 && c <= 0x20) { continue }
      switch c {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
        let lower = c | 0x20
        javascript = javascript && i < 10 && javascriptBytes[i] == lower
        vbscript = vbscript && i < 8 && vbscriptBytes[i] == lower
      case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"),
        UInt8(ascii: "."):
        if i == 0 { return .relative }
        javascript = false
        vbscript = false
      case UInt8(ascii: ":"):
        if i == 0 { return .relative }
        return (javascript && i == 10) || (vbscript && i == 8) ? .script : .absolute
      default:
        return .relative
      }
      i += 1
    }
    return .relative
  }
  static let javascriptBytes = Array("javascript".utf8)
  static let vbscriptBytes = Array("vbscript".utf8)

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

  /// RSS `author`/`managingEditor`: "jo@example.com (Jo Doe)", "Jo Doe <jo@example.com>" or a name.
  static func rssPerson(_ raw: String) -> Person? {
    guard let s = collapse(raw) else { return nil }
    let u = s.utf8
    let hasAt = u.contains(UInt8(ascii: "@"))
    if !hasAt { return Person(name: s) }
    if let open = u.firstIndex(of: UInt8(ascii: "(")), u.last == UInt8(ascii: ")") {
      let email = trim(String(s[..<open])) ?? ""
      let name = trim(String(s[s.index(after: open)..<s.index(before: s.endIndex)]))
      if email.utf8.contains(UInt8(ascii: "@")) && !email.utf8.contains(0x20) {
        return Person(name: name, email: email)
      }
    }
    if let open = u.firstIndex(of: UInt8(ascii: "<")), u.last == UInt8(ascii: ">") {
      let name = trim(String(s[..<open]))
      let email = trim(String(s[s.index(after: open)..<s.index(before: s.endIndex)])) ?? ""
      if email.utf8.contains(UInt8(ascii: "@")) {
        return Person(name: name, email: email)
      }
    }
    if !u.contains(0x20) { return Person(email: s) }
    return Person(name: s)
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
