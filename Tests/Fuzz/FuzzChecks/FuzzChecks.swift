import Config
import Discovery
import FeedModel
import FeedParser
import Foundation

/// One fuzz target: which entry point the bytes are fed to.
public enum FuzzTarget: String, CaseIterable, Sendable {
  /// `FeedParser.parse` without a content type (format and encoding sniffed from the bytes).
  case parser
  /// `FeedParser.parse` with a content type and base URL chosen by the first byte.
  case parserCT = "parser-ct"
  /// `HTMLSanitizer.sanitize` (with and without a base URL) and `plainText(fromHTML:)`.
  case sanitizer
  /// `HTMLScraper.scrape` with one fixed selector set.
  case scraper
  /// `DateParser.parse` and `LocaleDateParser.parse` (locale and optional pattern from the input).
  case date
  /// `ConfigLoader.load(contents:path:files:)` with in-memory drop-ins.
  case config
  /// `OPMLImport.parse` (issue 16): a subscription list from anywhere.
  case opml
  /// `ListingInference.infer` (issue 16): a page from any member's site.
  case listing
}

/// An invariant the code under test broke. (A crash needs no type: it just crashes.)
public struct InvariantFailure: Error, CustomStringConvertible, Sendable {
  public var target: FuzzTarget
  public var message: String
  public init(_ target: FuzzTarget, _ message: String) {
    self.target = target
    self.message = message
  }
  public var description: String { "\(target.rawValue): invariant failed: \(message)" }
}

/// The checks every fuzz input goes through: shared by `cwfuzz` (libFuzzer and replay) and the
/// regression tests, so a finding replays through exactly the code that found it.
public enum FuzzChecks {
  /// Once per process, before the first `check`: libxml2 set-up and the entity-loader guard.
  public static func setUp() {
    LibXML.bootstrap()
    EntityLoaderGuard.install()
  }

  /// Runs `data` through `target` and throws when an invariant does not hold.
  public static func check(_ target: FuzzTarget, _ data: Data) throws(InvariantFailure) {
    EntityLoaderGuard.reset()
    switch target {
    case .parser: try checkParser(data, contentType: nil, baseURL: feedBase, target: target)
    case .parserCT:
      let (contentType, base, body) = parserVariant(data)
      try checkParser(body, contentType: contentType, baseURL: base, target: target)
    case .sanitizer: try checkSanitizer(data)
    case .scraper: try checkScraper(data)
    case .date: try checkDate(data)
    case .config: try checkConfig(data)
    case .opml: try checkOPML(data)
    case .listing: try checkListing(data)
    }
    if let leak = EntityLoaderGuard.leaked {
      throw InvariantFailure(target, "the external entity loader returned input for \(leak)")
    }
  }

  /// Nil when `html` satisfies the sanitiser's promises (allowlisted elements and attributes,
  /// safe URLs, well-formed as XML), else what breaks them.
  public static func htmlViolation(_ html: String) -> String? { HTMLSafety.violation(in: html) }

  // MARK: - Feed parser

  static let feedBase = URL(string: "https://fuzz.example/feed/")!

  /// Content types the first byte of a `parser-ct` input picks from (real ones, wrong ones).
  static let contentTypes: [String?] = [
    nil, "application/rss+xml", "application/atom+xml; charset=utf-8",
    "text/xml; charset=windows-1257", "application/xml; charset=iso-8859-13",
    "application/rss+xml; charset=utf-16", "application/feed+json", "application/json",
    "text/html; charset=windows-1252", "text/xml; charset=\"UTF-32\"",
    "application/xml; charset=no-such-encoding", "text/plain; charset=iso-8859-1",
  ]
  static let bases: [URL?] = [
    feedBase, nil, URL(string: "file:///srv/feeds/local.xml")!,
    URL(string: "http://fuzz.example:8080/a/b/c.rss?x=1")!,
  ]

  /// `parser-ct`: byte 0 picks the content type (low nibble) and the base URL (bits 4–5).
  static func parserVariant(_ data: Data) -> (String?, URL?, Data) {
    guard let first = data.first else { return (nil, feedBase, data) }
    let contentType = contentTypes[Int(first & 0x0F) % contentTypes.count]
    let base = bases[Int(first >> 4) % bases.count]
    return (contentType, base, data.dropFirst())
  }

  static func checkParser(
    _ data: Data, contentType: String?, baseURL: URL?, target: FuzzTarget
  ) throws(InvariantFailure) {
    let parsed: ParsedFeed
    do {
      parsed = try FeedParser.parse(Data(data), contentType: contentType, baseURL: baseURL)
    } catch {
      return  // no feed to be had: a typed error is the contract
    }
    try roundTrip(parsed.feed, target)
    try roundTrip(parsed.diagnostics, target)
    try checkFeed(parsed.feed, target)
    try checkReuse(parsed, data, contentType: contentType, baseURL: baseURL, target: target)
  }

  /// Issue 17: parsing the same bytes again with the stored HTML of the first parse to reuse
  /// (what the crawler does for a re-fetched document) sanitises nothing and gives exactly the
  /// first parse.
  static func checkReuse(
    _ parsed: ParsedFeed, _ data: Data, contentType: String?, baseURL: URL?, target: FuzzTarget
  ) throws(InvariantFailure) {
    var options = ParseOptions()
    // A key that does not read back is not reused, so `sanitizedFragments != 0` below catches it.
    for e in parsed.feed.entries {
      for (key, html) in e.reusableHTML { options.reusableHTML[key] = html }
    }
    guard !options.reusableHTML.isEmpty else { return }
    guard
      let again = try? FeedParser.parse(
        Data(data), contentType: contentType, baseURL: baseURL, options: options)
    else {
      throw InvariantFailure(target, "a re-parse reusing stored HTML failed")
    }
    if again.feed != parsed.feed || again.sanitizedFragments != 0 {
      var what = "the feed's head"
      if again.feed.entries.count != parsed.feed.entries.count {
        what = "the number of entries"
      } else if let i = again.feed.entries.indices.first(where: {
        again.feed.entries[$0] != parsed.feed.entries[$0]
      }) {
        let (a, b) = (again.feed.entries[i], parsed.feed.entries[i])
        let fields = zip(Mirror(reflecting: b).children, Mirror(reflecting: a).children)
          .filter { "\($0.value)" != "\($1.value)" }
          .map { "\($0.label ?? "?"): \(quoted("\($0.value)")) became \(quoted("\($1.value)"))" }
        what = "entry \(i + 1), " + fields.joined(separator: "; ")
      }
      throw InvariantFailure(
        target,
        "a re-parse reusing stored HTML differs from the first parse in \(what) "
          + "(\(again.sanitizedFragments) fragments sanitised again)")
    }
  }

  /// What every parsed or scraped feed must satisfy: safe HTML, no script links, sane dates.
  static func checkFeed(_ feed: Feed, _ target: FuzzTarget) throws(InvariantFailure) {
    try checkDate(feed.updated, "feed.updated", target)
    for link in [feed.link, feed.selfLink, feed.icon, feed.logo].compactMap({ $0 }) {
      try checkLink(link, "feed link", target)
    }
    for (i, e) in feed.entries.enumerated() {
      let at = "entry \(i + 1)"
      try checkDate(e.published, "\(at).published", target)
      try checkDate(e.updated, "\(at).updated", target)
      try checkDate(e.source?.updated, "\(at).source.updated", target)
      var links = [e.link, e.contentSource?.href].compactMap { $0 }
      links += e.links.map(\.href) + e.enclosures.map(\.url)
      for link in links { try checkLink(link, "\(at) link", target) }
      for text in [e.summary, e.content].compactMap({ $0 }) where text.type == .html {
        if let why = HTMLSafety.violation(in: text.value) {
          throw InvariantFailure(target, "\(at): unsafe HTML (\(why)) in \(quoted(text.value))")
        }
      }
    }
  }

  /// The feed's JSON (what `clusterwire parse` prints, what the store keeps) re-parses as JSON
  /// and decodes back to the same value.
  static func roundTrip<T: Codable & Equatable>(_ value: T, _ target: FuzzTarget)
    throws(InvariantFailure)
  {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    do {
      let json = try encoder.encode(value)
      _ = try JSONSerialization.jsonObject(with: json)
      let back = try JSONDecoder().decode(T.self, from: json)
      if back != value {
        throw InvariantFailure(
          target, "\(T.self) changed through JSON: \(String(decoding: json, as: UTF8.self))")
      }
    } catch let failure as InvariantFailure {
      throw failure
    } catch {
      throw InvariantFailure(target, "\(T.self) does not round-trip through JSON: \(error)")
    }
  }

  /// Dates come from years 1–9999 of the text plus at most a day of zone offset.
  static func checkDate(_ date: Date?, _ what: String, _ target: FuzzTarget)
    throws(InvariantFailure)
  {
    guard let date else { return }
    let t = date.timeIntervalSince1970
    // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, widened by one day.
    guard t.isFinite, t >= -62_135_596_800 - 86_400, t <= 253_402_300_799 + 86_400 else {
      throw InvariantFailure(target, "\(what) out of range: \(t)")
    }
  }

  /// No link a reader could click runs script (browsers strip controls and whitespace first).
  static func checkLink(_ link: String, _ what: String, _ target: FuzzTarget)
    throws(InvariantFailure)
  {
    if let scheme = HTMLSafety.browserScheme(link), scheme == "javascript" || scheme == "vbscript" {
      throw InvariantFailure(target, "\(what) runs script: \(quoted(link))")
    }
  }

  // MARK: - Sanitiser

  static let htmlBase = URL(string: "https://fuzz.example/naujienos/straipsnis.html")!

  static func checkSanitizer(_ data: Data) throws(InvariantFailure) {
    let input = String(decoding: data, as: UTF8.self)
    for base in [htmlBase, nil] {
      let out = HTMLSanitizer.sanitize(input, baseURL: base)
      if let why = HTMLSafety.violation(in: out) {
        throw InvariantFailure(.sanitizer, "unsafe output (\(why)): \(quoted(out))")
      }
      let again = HTMLSanitizer.sanitize(out, baseURL: base)
      if again != out {
        let a = Array(out.unicodeScalars)
        let b = Array(again.unicodeScalars)
        var i = 0
        while i < min(a.count, b.count), a[i] == b[i] { i += 1 }
        func around(_ x: [Unicode.Scalar]) -> String {
          String(String.UnicodeScalarView(x[max(0, i - 40)..<min(x.count, i + 80)]))
        }
        throw InvariantFailure(
          .sanitizer,
          "not idempotent (base \(base?.absoluteString ?? "nil")) at scalar \(i): "
            + "\(quoted(around(a))) became \(quoted(around(b)))")
      }
    }
    let plain = HTMLSanitizer.plainText(fromHTML: input)
    if plain.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" && $0 != "\n" }) {
      // Titles are collapsed: no control characters survive.
      throw InvariantFailure(.sanitizer, "control character in plain text \(quoted(plain))")
    }
  }

  // MARK: - Scraper

  static let pageURL = URL(string: "https://fuzz.example/naujienos/")!
  static let selectors = HTMLSelectors(
    item: "//article | //li[contains(@class,'news')] | //div[@class='item']",
    title: ".//h2 | .//h3 | ./a", link: ".//a/@href",
    date: ".//time/@datetime | .//time | .//*[contains(@class,'date')]", summary: ".//p",
    content: ".//div[contains(@class,'body')]", author: ".//*[contains(@class,'author')]",
    categories: ".//a[@rel='tag']", dateLocale: "lt", timeZone: "Europe/Vilnius")

  static func checkScraper(_ data: Data) throws(InvariantFailure) {
    let result: ScrapeResult
    do {
      result = try HTMLScraper.scrape(data, pageURL: pageURL, selectors: selectors)
    } catch {
      return
    }
    if result.parsed.format != .html {
      throw InvariantFailure(.scraper, "format \(result.parsed.format), not html")
    }
    try roundTrip(result.parsed.feed, .scraper)
    try checkFeed(result.parsed.feed, .scraper)
    for (i, e) in result.parsed.feed.entries.enumerated() {
      guard let link = e.link, let scheme = HTMLSafety.browserScheme(link),
        HTMLSafety.allowedSchemes.contains(scheme)
      else {
        throw InvariantFailure(
          .scraper,
          "entry \(i + 1): link not absolute with a safe scheme: \(quoted(e.link ?? "nil"))")
      }
    }
  }

  // MARK: - Dates

  static let dateLocales = ["lt", "en", "de", "fr"]

  /// Byte 0 picks the locale; `pattern|text` also tries `pattern` as an explicit format.
  static func checkDate(_ data: Data) throws(InvariantFailure) {
    let locale = dateLocales[Int(data.first ?? 0) % dateLocales.count]
    let text = String(decoding: data.dropFirst(), as: UTF8.self)
    let rfc = DateParser.parse(text)
    try checkDate(rfc, "DateParser.parse", .date)
    if rfc != DateParser.parse(text) {
      throw InvariantFailure(.date, "DateParser.parse is not deterministic on \(quoted(text))")
    }
    if let rfc {
      // What the parser prints (RFC 3339, UTC) it reads back to the same instant.
      let printed = rfc3339(rfc)
      guard let back = DateParser.parse(printed), abs(back.timeIntervalSince(rfc)) < 0.001 else {
        throw InvariantFailure(
          .date,
          "\(quoted(text)) → \(printed) does not read back (\(String(describing: DateParser.parse(printed))))"
        )
      }
    }
    try checkDate(LocaleDateParser.parse(text, locale: locale), "LocaleDateParser.parse", .date)
    if let bar = text.firstIndex(of: "|") {
      let pattern = String(text[..<bar])
      let rest = String(text[text.index(after: bar)...])
      try checkDate(
        LocaleDateParser.parse(rest, locale: locale, format: pattern),
        "LocaleDateParser.parse(format:)",
        .date)
    }
  }

  /// RFC 3339 in UTC with milliseconds, proleptic Gregorian (what `DateParser` reads).
  static func rfc3339(_ date: Date) -> String {
    let ms = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
    var days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
    let msOfDay = ms - days * 86_400_000
    // Howard Hinnant's civil_from_days.
    days += 719_468
    let era = (days >= 0 ? days : days - 146_096) / 146_097
    let doe = days - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    func pad(_ v: Int, _ n: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, n - s.count)) + s
    }
    let h = msOfDay / 3_600_000
    let m = msOfDay / 60_000 % 60
    let s = msOfDay / 1000 % 60
    return
      "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2)).\(pad(msOfDay % 1000, 3))Z"
  }

  // MARK: - Config

  static let configPath = "/cwfuzz/clusterwire.toml"
  /// Drop-ins the fuzzed main file can include (`include = ["sources.d/*.toml"]`); nothing
  /// else exists, so nothing is read from disk. Built per call: a `Data` held in a global
  /// hides its storage pointer in spare bits, and LeakSanitizer then reports it as leaked.
  static var dropIns: [String: Data] {
    [
      "/cwfuzz/sources.d/10-members.toml": Data(
        """
        [[source]]
        id = "klaster-a"
        url = "https://a.example/feed/"
        categories = ["energetika"]
        """.utf8),
      "/cwfuzz/sources.d/20-html.toml": Data(
        """
        [[source]]
        id = "klaster-b"
        url = "https://b.example/naujienos/"
        kind = "html"
        [source.select]
        item = "//article"
        title = ".//h2"
        link = ".//a/@href"
        """.utf8),
    ]
  }

  static func checkConfig(_ data: Data) throws(InvariantFailure) {
    let settings: Settings
    do {
      settings = try ConfigLoader.load(contents: data, path: configPath, files: .memory(dropIns))
    } catch {
      let lines = data.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
      if error.issues.isEmpty { throw InvariantFailure(.config, "ConfigError without issues") }
      for issue in error.issues {
        let known = issue.file == configPath || issue.file.hasPrefix("/cwfuzz/sources.d/")
        if !known { throw InvariantFailure(.config, "issue names an unknown file: \(issue)") }
        if let line = issue.line {
          let max = issue.file == configPath ? lines : 64
          if line < 1 || line > max {
            throw InvariantFailure(.config, "issue line outside the file (\(max) lines): \(issue)")
          }
        } else if !fileLevel(issue) {
          throw InvariantFailure(.config, "issue without a line: \(issue)")
        }
      }
      return
    }
    var ids = Set<String>()
    for source in settings.sources where !ids.insert(source.id).inserted {
      throw InvariantFailure(.config, "duplicate source id \(source.id) accepted")
    }
    if !(1...65535).contains(settings.server.port) {
      throw InvariantFailure(.config, "port \(settings.server.port) accepted")
    }
  }

  // MARK: - Discovery (issue 16)

  /// What `import-opml` promises of whatever it is given: a clear error, or sources whose ids are
  /// unique slugs and whose URLs are http(s), each a drop-in the config loader accepts.
  static func checkOPML(_ data: Data) throws(InvariantFailure) {
    let result: OPMLImport
    do {
      result = try OPMLImport.parse(data)
    } catch {
      if error.description.isEmpty { throw InvariantFailure(.opml, "an error without a message") }
      return
    }
    var ids = Set<String>()
    for s in result.sources {
      guard Slug.isValid(s.id), ids.insert(s.id).inserted else {
        throw InvariantFailure(.opml, "id \(quoted(s.id)) is not a unique slug")
      }
      guard s.url.hasPrefix("http://") || s.url.hasPrefix("https://"),
        FeedAddress.normalised(s.url) == s.url
      else {
        throw InvariantFailure(.opml, "a non-http or unnormalised URL imported: \(quoted(s.url))")
      }
      for c in s.categories where !Slug.isValid(c) {
        throw InvariantFailure(.opml, "category \(quoted(c)) is not a slug")
      }
      if let problem = DropIn.validate(DropIn.render(s)) {
        throw InvariantFailure(.opml, "the drop-in of \(s.id) is refused: \(problem)")
      }
    }
  }

  static let listingPage = URL(string: "https://fuzz.example/naujienos/")!

  /// What `discover` relies on: candidates best first, confidences in 0…1, and selectors that
  /// compile, match what they claim and pass the config's XPath check.
  static func checkListing(_ data: Data) throws(InvariantFailure) {
    let found = ListingInference.infer(html: data, contentType: nil, pageURL: listingPage)
    var previous = Double.infinity
    for candidate in found {
      guard (0...1).contains(candidate.confidence), candidate.confidence <= previous else {
        throw InvariantFailure(.listing, "confidence \(candidate.confidence) out of order or range")
      }
      previous = candidate.confidence
      let sel = candidate.selectors
      for x in [sel.item, sel.title, sel.link] + [sel.date, sel.summary].compactMap({ $0 }) {
        if let problem = HTMLScraper.xpathError(x) {
          throw InvariantFailure(.listing, "selector \(quoted(x)) does not compile: \(problem)")
        }
      }
      guard candidate.itemCount > 0 else {
        throw InvariantFailure(.listing, "a candidate with no items")
      }
    }
  }

  /// Issues that concern a whole file and so have no line.
  static func fileLevel(_ issue: ConfigIssue) -> Bool {
    issue.key == nil
      && (issue.message == "not valid UTF-8" || issue.message == "no such file"
        || issue.message == "cannot read the file")
  }

  static func quoted(_ s: String) -> String {
    let cut =
      s.unicodeScalars.count > 400
      ? String(String.UnicodeScalarView(s.unicodeScalars.prefix(400))) + "…" : s
    return "\"" + cut.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + "\""
  }
}
