import CLibXML2
import FeedModel
import Foundation
import WebText

/// The stages behind `FeedParser.parse`: limits, format sniffing, decoding, the SAX2 reader and
/// normalisation (dates, titles, sanitised HTML). The benchmark switches stages off to show
/// what each costs.
enum FeedPipeline {
  /// How far a parse goes: `.full` is the only production setting.
  enum Stages { case readOnly, noSanitizer, full }

  static func run(
    _ data: Data, contentType: String?, baseURL: URL?, options: ParseOptions, stages: Stages
  ) throws(FeedParserError) -> ParsedFeed {
    if data.isEmpty { throw .empty }
    if data.count > options.maxBytes { throw .tooLarge(size: data.count, limit: options.maxBytes) }
    LibXML.bootstrap()
    let result: Result<ParsedFeed, FeedParserError> = data.withUnsafeBytes { raw in
      do throws(FeedParserError) {
        return .success(
          try read(
            raw, contentType: contentType, baseURL: baseURL, options: options, stages: stages)
        )
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  static func read(
    _ raw: UnsafeRawBufferPointer, contentType: String?, baseURL: URL?, options: ParseOptions,
    stages: Stages
  ) throws(FeedParserError) -> ParsedFeed {
    let (_, bomLength) = FeedEncoding.bom(raw)
    var i = bomLength
    // Zero bytes too: the high bytes of UTF-16/32 code units (JSON Feed in UTF-16 is JSON).
    while i < raw.count,
      raw[i] == 0x20 || raw[i] == 0x0A || raw[i] == 0x0D || raw[i] == 0x09 || raw[i] == 0
    {
      i += 1
    }
    if i == raw.count { throw .empty }
    if raw[i] == UInt8(ascii: "{") || raw[i] == UInt8(ascii: "[") {
      return try readJSON(raw, baseURL: baseURL, stages: stages, options: options)
    }

    var decoded = FeedEncoding.decode(
      raw, contentType: contentType, sniffXMLDeclaration: true, validate: false)
    var reader = FeedSAXReader(baseURL: baseURL, maxTextBytes: options.maxTextBytes)
    var sniff = parse(raw, decoded, reader)
    if reader.needsRepair {
      // libxml2 met bytes that are not UTF-8 (a wrong label) or characters XML forbids: repair
      // them to U+FFFD and read the document again, keeping everything else.
      decoded = FeedEncoding.decode(
        raw, contentType: contentType, sniffXMLDeclaration: true, validate: true)
      reader = FeedSAXReader(baseURL: baseURL, maxTextBytes: options.maxTextBytes)
      reader.stopOnInvalidCharacters = false
      sniff = parse(raw, decoded, reader)
    }
    var diagnostics = decoded.warnings.map { Diagnostic(severity: .warning, message: $0) }
    switch sniff {
    case .empty: throw .empty
    case .html: throw .notAFeed("an HTML page, not a feed")
    case .notMarkup: throw .unreadable("neither XML nor JSON")
    case .xml: break
    }
    if let why = reader.hostile { throw .hostile(why) }
    if let why = reader.notAFeed { throw .notAFeed(why) }
    guard let format = reader.format else {
      if reader.rootName == nil {
        let first =
          reader.firstError.map { "line \($0.line ?? 0): \($0.message)" } ?? "no root element"
        throw .unreadable("not XML: \(first)")
      }
      throw .notAFeed("root element <\(reader.rootName ?? "")> has no channel")
    }
    if reader.foreignAtomURI != nil && reader.foreignAtomElements == 0 {
      throw .notAFeed("root element <\(reader.rootName ?? "")> has no Atom elements")
    }
    var malformed = false
    if let note = reader.recognitionNote {
      // Read although it is not what it claims to be: malformed, with the reason first (after
      // an XML error, if there was one).
      malformed = true
      diagnostics.insert(note, at: 0)
    }
    if let first = reader.firstError {
      malformed = true
      // The error that made the document malformed goes first, then the rest in order.
      diagnostics.insert(first, at: 0)
      diagnostics.append(contentsOf: reader.diagnostics.filter { $0 != first })
      if reader.errorCount > reader.diagnostics.count {
        diagnostics.append(
          Diagnostic(
            severity: .warning,
            message: "\(reader.errorCount - reader.diagnostics.count) more XML errors"))
      }
    } else {
      diagnostics.append(contentsOf: reader.diagnostics)
    }
    if reader.current.entry != Entry() || reader.captureDepth != 0, malformed {
      // A truncated document: keep the entry that was open when the bytes ended.
      if reader.frames.contains(where: { $0.code == .item || $0.code == .entry }) {
        if reader.captureDepth != 0 {
          let depth = reader.captureDepth
          let frame = reader.frames[depth - 1]
          reader.captureDepth = 0
          reader.finishCapture(
            frame.code, in: depth >= 2 ? reader.frames[depth - 2].container : .root,
            lang: frame.lang)
        }
        reader.finishEntry()
      }
    }
    var counts = FragmentCounts()
    let feed =
      stages == .readOnly
      ? unnormalized(reader.raw)
      : normalized(
        reader.raw, baseURL: baseURL, sanitize: stages == .full, options: options,
        counts: &counts, diagnostics: &diagnostics)
    var parsed = ParsedFeed(
      format: format, encoding: decoded.name, malformed: malformed, diagnostics: diagnostics,
      feed: feed)
    parsed.sanitizedFragments = counts.sanitized
    parsed.reusedFragments = counts.reused
    return parsed
  }

  /// Sniffs the decoded bytes and, when they are XML, runs the SAX reader over them.
  static func parse(
    _ raw: UnsafeRawBufferPointer, _ decoded: FeedEncoding.Decoded, _ reader: FeedSAXReader
  ) -> Sniff {
    if let utf8 = decoded.utf8 {
      return utf8.withUnsafeBytes { bytes in
        let s = sniffMarkup(bytes)
        if s == .xml { reader.parse(bytes) }
        return s
      }
    }
    let body = UnsafeRawBufferPointer(rebasing: raw[decoded.skip...])
    let s = sniffMarkup(body)
    if s == .xml { reader.parse(body) }
    return s
  }

  static func readJSON(
    _ raw: UnsafeRawBufferPointer, baseURL: URL?, stages: Stages, options: ParseOptions
  )
    throws(FeedParserError)
    -> ParsedFeed
  {
    let decoded = FeedEncoding.decode(
      raw, contentType: "application/json; charset=utf-8", sniffXMLDeclaration: false)
    var diagnostics = decoded.warnings.map { Diagnostic(severity: .warning, message: $0) }
    let data =
      decoded.utf8.map { Data($0) } ?? Data(UnsafeRawBufferPointer(rebasing: raw[decoded.skip...]))
    let rawFeed = try JSONFeedReader.read(data, baseURL: baseURL)
    var counts = FragmentCounts()
    let feed =
      stages == .readOnly
      ? unnormalized(rawFeed)
      : normalized(
        rawFeed, baseURL: baseURL, sanitize: stages == .full, options: options, counts: &counts,
        diagnostics: &diagnostics)
    var parsed = ParsedFeed(
      format: .jsonfeed, encoding: decoded.name, diagnostics: diagnostics, feed: feed)
    parsed.sanitizedFragments = counts.sanitized
    parsed.reusedFragments = counts.reused
    return parsed
  }

  enum Sniff { case empty, xml, html, notMarkup }

  /// What the first markup of a UTF-8 document is, past whitespace, comments, PIs and a
  /// DOCTYPE other than HTML's: HTML pages are turned away before libxml2 sees them.
  static func sniffMarkup(_ b: UnsafeRawBufferPointer) -> Sniff {
    var i = 0
    let n = b.count
    func startsWith(_ s: String, at j: Int) -> Bool {
      var k = j
      for c in s.utf8 {
        guard k < n, b[k] | (c >= 0x61 ? 0x20 : 0) == c else { return false }
        k += 1
      }
      return true
    }
    while i < n {
      let c = b[i]
      if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
        i += 1
        continue
      }
      if c == 0xEF && i + 2 < n && b[i + 1] == 0xBB && b[i + 2] == 0xBF {
        i += 3
        continue
      }
      guard c == UInt8(ascii: "<") else { return .notMarkup }
      if startsWith("<!--", at: i) {
        var j = i + 4
        while j + 2 < n && !(b[j] == 0x2D && b[j + 1] == 0x2D && b[j + 2] == 0x3E) { j += 1 }
        i = j + 3
        continue
      }
      if startsWith("<?", at: i) {
        var j = i + 2
        while j + 1 < n && !(b[j] == 0x3F && b[j + 1] == 0x3E) { j += 1 }
        i = j + 2
        continue
      }
      if startsWith("<!doctype html", at: i) || startsWith("<html", at: i) {
        let k = startsWith("<html", at: i) ? i + 5 : i + 14
        if k >= n || !(b[k] >= 0x61 && b[k] <= 0x7A) { return .html }
      }
      return .xml
    }
    return .empty
  }

  // MARK: - Normalisation

  static func unnormalized(_ raw: RawFeed) -> Feed {
    var feed = raw.feed
    feed.entries = raw.entries.map(\.entry)
    return feed
  }

  static func text(_ value: String?, isHTML: Bool) -> String? {
    guard let value else { return nil }
    if isHTML { return FeedSAXReader.collapse(HTMLSanitizer.plainText(fromHTML: value)) }
    // `&#146;` in the XML itself arrives as U+0092: read as windows-1252, as HTML5 does.
    return FeedSAXReader.collapse(C1Controls.remap(value))
  }

  static func date(
    _ raw: String?, _ what: @autoclosure () -> String, _ diagnostics: inout [Diagnostic]
  ) -> Date? {
    guard let raw, !raw.isEmpty else { return nil }
    if let d = DateParser.parse(raw) { return d }
    diagnostics.append(
      Diagnostic(severity: .warning, message: "unparseable date '\(raw)' in \(what())"))
    return nil
  }

  static func sanitized(_ t: Text?, base: URL?, sanitize: Bool = true) -> Text? {
    var f = Fragments()
    return sanitized(t, base: base, sanitize: sanitize, reuse: Reuse(), key: &f.summaryKey)
  }

  /// What `sanitized` may reuse: stored results by key, and the policy version keys carry.
  struct Reuse: Sendable {
    var html: [SanitizerKey: String] = [:]
    var policy = HTMLSanitizer.policyVersion
  }

  /// `t` sanitised against `base`; `key` is set to the fragment's `SanitizerKey` when it needed
  /// the sanitiser, whose stored result (`reuse.html[key]`) is then taken instead of running it.
  static func sanitized(
    _ t: Text?, base: URL?, sanitize: Bool, reuse: Reuse, key: inout SanitizerKey?
  ) -> Text? {
    guard let t else { return nil }
    switch t.type {
    case .html:
      // Text without markup, references or characters XML forbids (C0 controls, U+FFFE/FFFF:
      // JSON Feed can carry them; the fuzzer found them kept) is already safe, well-formed HTML.
      var copy = t.value
      if !sanitize || copy.withUTF8({ HTMLSanitizer.scanKind($0) }) == .clean {
        return FeedSAXReader.trim(C1Controls.remap(t.value)).map {
          Text(type: .html, value: $0, language: t.language)
        }
      }
      let k = SanitizerKey(policy: reuse.policy, base: base?.absoluteString, raw: copy)
      key = k
      if let stored = reuse.html[k] {
        return Text(type: .html, value: stored, language: t.language)
      }
      return Text(
        type: .html, value: HTMLSanitizer.sanitize(t.value, baseURL: base), language: t.language)
    case .text:
      return FeedSAXReader.trim(C1Controls.remap(t.value)).map {
        Text(type: .text, value: $0, language: t.language)
      }
    }
  }

  /// How many fragments a parse sanitised and how many it took from `reusableHTML`.
  struct FragmentCounts {
    var sanitized = 0
    var reused = 0
  }

  static func normalized(
    _ raw: RawFeed, baseURL: URL?, sanitize: Bool, options: ParseOptions,
    counts: inout FragmentCounts, diagnostics: inout [Diagnostic]
  ) -> Feed {
    var feed = raw.feed
    feed.title = text(feed.title, isHTML: raw.titleIsHTML)
    feed.subtitle =
      text(feed.subtitle, isHTML: raw.subtitleIsHTML)
      ?? text(feed.itunes?.subtitle ?? raw.itunesSummary, isHTML: false)
    feed.rights = text(feed.rights, isHTML: raw.rightsIsHTML)
    feed.generator = feed.generator.flatMap { FeedSAXReader.collapse($0) }
    feed.updated = date(raw.updatedRaw ?? raw.pubDateRaw, "feed", &diagnostics)
    if feed.updated == nil, raw.updatedRaw != nil, let pub = raw.pubDateRaw {
      feed.updated = DateParser.parse(pub)
    }
    // `dcterms:issued` / Atom `published`, else RSS `pubDate` / `dc:date` (already reported
    // above when unparseable).
    feed.published =
      date(raw.issuedRaw, "feed", &diagnostics) ?? raw.pubDateRaw.flatMap { DateParser.parse($0) }
    feed.language = (feed.language ?? raw.xmlLang).flatMap { FeedSAXReader.collapse($0) }
    if let lang = raw.titleLang.flatMap(FeedSAXReader.trim),
      lang.lowercased() != feed.language?.lowercased()
    {
      feed.titleLanguage = lang
    }
    if feed.logo == nil, let image = feed.itunes?.image { feed.logo = image }
    feed.itunes = feed.itunes.map(normalizedITunes)
    // Without a web document URL (none, or a local file) or xml:base, relative references in
    // HTML are read against the feed's own site link (WordPress and Drupal write root-relative
    // image paths; a `file:` base would only produce links no subscriber can open).
    let siteLink = feed.link.flatMap { URL(string: $0) }.flatMap { $0.scheme == nil ? nil : $0 }
    let htmlBase = (baseURL?.isFileURL == true ? nil : baseURL) ?? siteLink ?? baseURL
    let contentBase: @Sendable (URL?) -> URL? = { captured in
      guard let captured else { return htmlBase }
      return captured.isFileURL ? (siteLink ?? captured) : captured
    }
    let cleaned = sanitizedFragments(
      raw.entries, contentBase: contentBase, sanitize: sanitize, workers: options.sanitizeWorkers,
      reuse: Reuse(html: options.reusableHTML, policy: options.sanitizerPolicy))
    let feedLanguage = feed.language?.lowercased()
    feed.entries.reserveCapacity(raw.entries.count)
    for (index, r) in raw.entries.enumerated() {
      var e = r.entry
      e.title = text(e.title, isHTML: r.titleIsHTML)
      let f = cleaned[index]
      e.summary = f.summary
      e.content = f.content
      if f.summaryKey != nil || f.contentKey != nil || f.mediaKey != nil {
        e.sanitizerKeys = SanitizerKeys(
          policy: options.sanitizerPolicy, summary: f.summaryKey?.hex, content: f.contentKey?.hex,
          media: f.mediaKey?.hex)
        for k in [f.summaryKey, f.contentKey, f.mediaKey] {
          guard let k else { continue }
          if options.reusableHTML[k] != nil { counts.reused += 1 } else { counts.sanitized += 1 }
        }
      }
      e.published = date(r.publishedRaw, "entry \(index + 1)", &diagnostics)
      e.updated = date(r.updatedRaw, "entry \(index + 1)", &diagnostics)
      if r.createdRaw != nil {
        e.created =
          r.createdRaw == r.publishedRaw
          ? e.published : date(r.createdRaw, "entry \(index + 1)", &diagnostics)
        if e.published == nil { e.published = e.created }
      }
      if r.sourceUpdatedRaw != nil, e.source != nil {
        e.source?.updated = date(r.sourceUpdatedRaw, "entry \(index + 1) source", &diagnostics)
      }
      e.rights = text(e.rights, isHTML: r.rightsIsHTML)
      if let lang = r.language.flatMap(FeedSAXReader.trim),
        lang.lowercased() != feedLanguage
      {
        e.language = lang
      }
      // An element's own xml:lang, when it differs from the entry's.
      let entryLanguage = (r.language.flatMap(FeedSAXReader.trim) ?? feed.language)?.lowercased()
      func own(_ lang: String?) -> String? {
        guard let l = lang.flatMap(FeedSAXReader.trim), l.lowercased() != entryLanguage else {
          return nil
        }
        return l
      }
      if e.title != nil { e.titleLanguage = own(r.titleLang) }
      if e.summary != nil { e.summary?.language = own(r.summaryLang) }
      if e.content != nil { e.content?.language = own(r.contentLang) }
      if var media = e.media {
        media.description = cleaned[index].mediaDescription
        e.media = media.isEmpty ? nil : media
      }
      e.itunes = e.itunes.map(normalizedITunes)
      feed.entries.append(e)
    }
    LanguageStep.detectMissing(in: &feed)  // nothing declares a language: guess from the text
    return feed
  }

  /// One entry's HTML after the sanitiser: its summary (or, when it has none, its
  /// `itunes:summary`), content and media description.
  struct Fragments: Sendable {
    var summary: Text?
    var content: Text?
    var mediaDescription: Text?
    /// The `SanitizerKey` of each fragment that needed the sanitiser (nil: it did not).
    var summaryKey: SanitizerKey?
    var contentKey: SanitizerKey?
    var mediaKey: SanitizerKey?
  }

  /// Every entry's fragments through `sanitized`, in entry order. With `workers > 1` and enough
  /// entries, contiguous runs of entries are sanitised on `workers` threads at once (one libxml2
  /// HTML parser context per thread, from `HTMLParserPool`), each result written to its entry's
  /// slot: the same values as the serial path, in the same order.
  static func sanitizedFragments(
    _ entries: [RawEntry], contentBase: @escaping @Sendable (URL?) -> URL?, sanitize: Bool,
    workers: Int, reuse: Reuse = Reuse()
  ) -> [Fragments] {
    @Sendable func fragments(_ r: RawEntry) -> Fragments {
      var f = Fragments()
      f.summary = sanitized(
        r.entry.summary, base: contentBase(r.summaryBase), sanitize: sanitize, reuse: reuse,
        key: &f.summaryKey)
      f.content = sanitized(
        r.entry.content, base: contentBase(r.contentBase), sanitize: sanitize, reuse: reuse,
        key: &f.contentKey)
      if f.summary == nil, let s = r.itunesSummary {
        // `itunes:summary` is the episode's summary when it has no other (as feedparser reads
        // it); podcast hosts put HTML in it.
        f.summary = sanitized(
          Text(type: s.contains("<") ? .html : .text, value: s), base: contentBase(nil),
          sanitize: sanitize, reuse: reuse, key: &f.summaryKey)
      }
      if let description = r.entry.media?.description {
        f.mediaDescription = sanitized(
          description, base: contentBase(r.summaryBase), sanitize: sanitize, reuse: reuse,
          key: &f.mediaKey)
      }
      return f
    }
    // Below a few entries per thread, waking threads costs more than it saves. (Which entries
    // reuse stored HTML is only known once their keys are hashed, on the threads: a document
    // whose entries all changed must not be sanitised on one.)
    let threads = sanitize ? min(workers, entries.count / minEntriesPerWorker) : 1
    guard threads > 1 else { return entries.map(fragments) }
    let slots = FragmentSlots(count: entries.count)
    let chunk = (entries.count + threads - 1) / threads
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      let start = t * chunk
      let end = min(start + chunk, entries.count)
      guard start < end else { return }
      for i in start..<end { slots.set(i, fragments(entries[i])) }
    }
    return slots.values()
  }

  /// Entries a sanitising thread should have at least.
  static let minEntriesPerWorker = 4

  static func normalizedITunes(_ info: ITunesInfo) -> ITunesInfo {
    var i = info
    i.summary = text(i.summary, isHTML: i.summary?.contains("<") ?? false)
    i.subtitle = text(i.subtitle, isHTML: false)
    return i
  }
}

/// The result slots of `sanitizedFragments`: each index is written by exactly one thread, through
/// the raw buffer (an array property would be an exclusive access per write), and read only
/// after `concurrentPerform` has returned, which orders the writes before the reads.
private final class FragmentSlots: @unchecked Sendable {
  private let slots: UnsafeMutableBufferPointer<FeedPipeline.Fragments>

  init(count: Int) {
    slots = .allocate(capacity: count)
    slots.initialize(repeating: FeedPipeline.Fragments())
  }

  deinit {
    slots.deinitialize()
    slots.deallocate()
  }

  func set(_ i: Int, _ value: FeedPipeline.Fragments) { slots[i] = value }

  func values() -> [FeedPipeline.Fragments] { Array(slots) }
}
