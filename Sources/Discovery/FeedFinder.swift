import CLibXML2
import FeedModel
import FeedParser
import Foundation
import WebText

/// A feed a page points at: a `<link rel="alternate">` of a feed type, or, as a last resort, an
/// `<a href>` whose URL looks like a feed.
public struct FeedLink: Sendable, Hashable {
  /// The advertised format, in order of preference.
  public enum Format: Int, Sendable, Hashable, Comparable, CustomStringConvertible {
    case atom, rss, xml, json
    /// An `<a href>` that looks like a feed: the format is known only once fetched.
    case unknown

    public static func < (a: Format, b: Format) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
      switch self {
      case .atom: "an Atom feed"
      case .rss: "an RSS feed"
      case .xml: "an XML feed"
      case .json: "a JSON Feed"
      case .unknown: "a possible feed"
      }
    }

    /// The format a `<link type>` advertises; nil for types that are not feeds.
    public init?(mediaType: String) {
      let bare = mediaType.split(separator: ";").first.map(String.init) ?? mediaType
      switch bare.trimmingCharacters(in: .whitespaces).lowercased() {
      case "application/atom+xml": self = .atom
      case "application/rss+xml", "application/rdf+xml": self = .rss
      case "application/xml", "text/xml": self = .xml
      case "application/feed+json", "application/json": self = .json
      default: return nil
      }
    }
  }

  public var url: URL
  public var format: Format
  public var title: String?
  /// A comments feed ("comments", "komentarai" in its title or URL): offered after the others.
  public var isComments: Bool
  /// A news feed ("news", "naujienos", "aktualijos" in its title or URL): preferred among
  /// feeds of the same format.
  public var isNews: Bool

  public init(url: URL, format: Format, title: String?) {
    self.url = url
    self.format = format
    self.title = title
    let words = ((title ?? "") + " " + url.absoluteString).lowercased()
    isComments = ["comment", "komentar"].contains { words.contains($0) }
    isNews = ["news", "naujien", "aktualij"].contains { words.contains($0) }
  }
}

/// What feed discovery reads from an HTML page.
public struct PageFacts: Sendable, Hashable {
  /// `<base href>` when the page has one, else the page's URL: what relative links resolve against.
  public var baseURL: URL
  /// `<link rel="alternate">` feeds, best first.
  public var feedLinks: [FeedLink]
  /// `<a href>` links whose URL looks like a feed, in document order, comments feeds left out.
  public var anchorFeeds: [FeedLink]
  /// `og:site_name`.
  public var siteName: String?
  /// `<title>`, whitespace collapsed.
  public var title: String?
  /// Same-site links labelled "Naujienos", "News", "Aktualijos", "Blog": where a home page keeps
  /// its news listing.
  public var newsLinks: [URL]
}

/// A document as the fetch closure of `FeedFinder.discover` returns it.
public struct FetchedDocument: Sendable, Hashable {
  public var status: Int
  /// The body of a 200.
  public var body: Data?
  public var contentType: String?
  /// After redirects: the base for relative links.
  public var finalURL: URL

  public init(status: Int, body: Data?, contentType: String?, finalURL: URL) {
    self.status = status
    self.body = body
    self.contentType = contentType
    self.finalURL = finalURL
  }
}

/// A fetch that got no response at all ("connection refused", "found in a page: … refused").
public struct DiscoveryFetchError: Error, Sendable, Hashable {
  public var message: String
  public init(message: String) { self.message = message }
}

/// One fetch feed discovery asks for.
public struct DiscoveryRequest: Sendable, Hashable {
  public var url: URL
  /// Nil for the URL the admin gave; otherwise the page `url` was derived from: such a URL was
  /// not written by the admin and must pass the private-network guard like a redirect hop.
  public var origin: URL?
  /// `html` for pages read as listings (the `Accept` header), `feed` otherwise.
  public var kind: SourceKind

  public init(url: URL, origin: URL?, kind: SourceKind) {
    self.url = url
    self.origin = origin
    self.kind = kind
  }
}

/// A source discovery found, with the document it was verified on (for the preview).
public struct DiscoveredSource: Sendable, Hashable {
  public var source: SourceDefinition
  /// How it was found: "linked from https://x/ (an Atom feed)", "at a well-known path",
  /// "news listing inferred from https://x/naujienos/".
  public var how: String
  /// For `html` sources: the inference's confidence (0…1).
  public var confidence: Double?
  /// The inference's notes, or the feed's format and entry count.
  public var notes: [String]
  public var document: FetchedDocument

  public init(
    source: SourceDefinition, how: String, confidence: Double? = nil, notes: [String] = [],
    document: FetchedDocument
  ) {
    self.source = source
    self.how = how
    self.confidence = confidence
    self.notes = notes
    self.document = document
  }
}

/// What `discover` did: every step with its outcome, the candidates (best first), and, when
/// there is none, why.
public struct DiscoveryReport: Sendable, Hashable {
  public var steps: [String] = []
  public var candidates: [DiscoveredSource] = []
  /// Why nothing usable was found (empty when a candidate was).
  public var reasons: [String] = []
  public var chosen: DiscoveredSource? { candidates.first }

  public init() {}
}

/// Finds a member site's feed: the URL itself, the feeds its page links, the well-known places
/// of WordPress, Drupal and Joomla (at the page's directory and the site's root), feed-like
/// links, and, when there is no feed, an `html` source inferred from its news listing.
public enum FeedFinder {
  /// Fetches one document; the command passes the crawler's fetcher (see `Probe`).
  public typealias Fetch =
    @Sendable (DiscoveryRequest) async -> Result<
      FetchedDocument, DiscoveryFetchError
    >

  /// The feed in `body`, or nil with why not: a feed is a document FeedParser reads as RSS,
  /// Atom or JSON Feed. An HTML page (a "soft 404" answering 200 at `/feed/`) is not one.
  public static func classify(
    _ body: Data, contentType: String?, url: URL, options: ParseOptions = ParseOptions()
  ) -> Result<ParsedFeed, FeedParserError> {
    LibXML.bootstrap()
    do {
      let parsed = try FeedParser.parse(
        body, contentType: contentType, baseURL: url, options: options)
      if parsed.format == .html { return .failure(.notAFeed("an HTML page")) }
      return .success(parsed)
    } catch {
      return .failure(error)
    }
  }

  /// A readable name for a feed format ("RSS 2.0", "Atom 1.0").
  public static func formatName(_ format: FeedFormat) -> String {
    switch format {
    case .rss20: "RSS 2.0"
    case .rss10: "RSS 1.0"
    case .rss09x: "RSS 0.9x"
    case .atom10: "Atom 1.0"
    case .atom03: "Atom 0.3"
    case .jsonfeed: "JSON Feed"
    case .html: "HTML"
    }
  }

  // MARK: - Reading a page

  /// The feed links, base, names and news links of an HTML page (libxml2's HTML parser).
  public static func readPage(_ html: Data, contentType: String?, pageURL: URL) -> PageFacts {
    var facts = PageFacts(
      baseURL: pageURL, feedLinks: [], anchorFeeds: [], siteName: nil, title: nil, newsLinks: [])
    LibXML.bootstrap()
    guard let doc = HTMLTree.readPage(html, contentType: contentType, pageURL: pageURL) else {
      return facts
    }
    defer { xmlFreeDoc(doc) }
    guard let context = xmlXPathNewContext(doc) else { return facts }
    defer { xmlXPathFreeContext(context) }

    if let base = nodes("//base[@href]", context).first.flatMap({ HTMLTree.attribute($0, "href") }),
      let url = httpURL(base, relativeTo: pageURL)
    {
      facts.baseURL = url
    }
    let base = facts.baseURL
    facts.title = nodes("//title", context).first.map(text).flatMap(nonEmpty)
    facts.siteName =
      nodes("//meta[@property='og:site_name' or @name='og:site_name']", context).first
      .flatMap { HTMLTree.attribute($0, "content") }.map(HTMLText.collapseWhitespace).flatMap(
        nonEmpty)

    var links: [(link: FeedLink, order: Int)] = []
    var seen = Set<String>()
    for (order, node) in nodes("//link[@href]", context).enumerated() {
      let rel = (HTMLTree.attribute(node, "rel") ?? "").lowercased().split(
        whereSeparator: \.isWhitespace)
      guard rel.contains("alternate") || rel.contains("feed"),
        let href = HTMLTree.attribute(node, "href"), let url = httpURL(href, relativeTo: base)
      else { continue }
      // A typed link must have a feed type; an untyped one must look like a feed.
      let format: FeedLink.Format
      if let type = HTMLTree.attribute(node, "type") {
        guard let known = FeedLink.Format(mediaType: type) else { continue }
        format = known
      } else {
        guard looksLikeFeed(url) else { continue }
        format = .unknown
      }
      guard seen.insert(url.absoluteString).inserted else { continue }
      let title = HTMLTree.attribute(node, "title").map(HTMLText.collapseWhitespace).flatMap(
        nonEmpty)
      links.append((FeedLink(url: url, format: format, title: title), order))
    }
    facts.feedLinks = links.sorted { a, b in
      if a.link.isComments != b.link.isComments { return !a.link.isComments }
      if a.link.format != b.link.format { return a.link.format < b.link.format }
      if a.link.isNews != b.link.isNews { return a.link.isNews }
      return a.order < b.order
    }.map(\.link)

    for node in nodes("//a[@href]", context) {
      guard let href = HTMLTree.attribute(node, "href"), let url = httpURL(href, relativeTo: base)
      else { continue }
      let label = text(node)
      if looksLikeFeed(url) {
        let link = FeedLink(url: url, format: .unknown, title: nonEmpty(label))
        if !link.isComments, seen.insert(url.absoluteString).inserted {
          facts.anchorFeeds.append(link)
        }
      } else if isNewsLabel(label), url.host?.lowercased() == pageURL.host?.lowercased(),
        !sameDocument(url, pageURL), !facts.newsLinks.contains(url)
      {
        facts.newsLinks.append(url)
      }
    }
    return facts
  }

  /// Whether a URL's path or query is the usual spelling of a feed (`/feed/`, `rss.xml`,
  /// `?feed=rss2`, `?format=feed&type=rss`, `.atom`).
  public static func looksLikeFeed(_ url: URL) -> Bool {
    let path = url.path.lowercased()
    let last = path.split(separator: "/").last.map(String.init) ?? ""
    if ["feed", "rss", "atom", "rss2", "rss.xml", "atom.xml", "feed.xml", "index.xml"].contains(
      last)
    {
      return true
    }
    if last.hasSuffix(".rss") || last.hasSuffix(".atom") { return true }
    let query = (url.query ?? "").lowercased()
    return query.contains("feed=rss") || query.contains("feed=atom")
      || query.contains("format=feed")
  }

  static let newsLabels: Set<String> = [
    "naujienos", "news", "aktualijos", "blog", "tinklaraštis", "latest news", "visos naujienos",
  ]

  static func isNewsLabel(_ label: String) -> Bool {
    let trimmed = label.lowercased().trimmingCharacters(
      in: .whitespacesAndNewlines.union(.punctuationCharacters).union(.symbols))
    return newsLabels.contains(trimmed)
  }

  // MARK: - Well-known places

  /// The paths to try, in order: `/feed/`, `/rss.xml` (also Drupal's), `/atom.xml`, `/feed.xml`,
  /// `/index.xml`, `/rss/`, `?feed=rss2` at the URL's directory; Joomla's
  /// `?format=feed&type=rss` on the page itself; then the same at the site's root when the URL
  /// is a deeper page.
  public static func wellKnownURLs(for url: URL) -> [URL] {
    guard var components = URLComponents(url: url, resolvingAgainstBaseURL: true) else {
      return []
    }
    components.fragment = nil
    components.query = nil
    let path = components.path.hasPrefix("/") ? components.path : "/" + components.path
    let directory =
      path.hasSuffix("/") ? path : String(path[...(path.lastIndex(of: "/") ?? path.startIndex)])
    var out: [URL] = []
    var seen = Set<String>()
    func add(_ p: String, query: String? = nil) {
      var c = components
      c.path = p
      c.percentEncodedQuery = query
      if let u = c.url, seen.insert(u.absoluteString).inserted { out.append(u) }
    }
    func places(_ dir: String) {
      for name in ["feed/", "rss.xml", "atom.xml", "feed.xml", "index.xml", "rss/"] {
        add(dir + name)
      }
      add(dir, query: "feed=rss2")
      add(dir, query: "format=feed&type=rss")
    }
    places(directory)
    if path != directory { add(path, query: "format=feed&type=rss") }
    if directory != "/" { places("/") }
    return out
  }

  /// Whether `url` is a site's home page (no path beyond `/`, no query).
  public static func isRoot(_ url: URL) -> Bool {
    (url.path.isEmpty || url.path == "/") && (url.query ?? "").isEmpty
  }

  static func rootURL(of url: URL) -> URL? {
    guard var c = URLComponents(url: url, resolvingAgainstBaseURL: true) else { return nil }
    c.path = "/"
    c.query = nil
    c.fragment = nil
    return c.url
  }

  // MARK: - Naming

  /// The site's name for the source's id and title: `og:site_name`, else the `<title>` without
  /// its " – tagline" part (on a deeper page the site's name is the last part), else the feed's
  /// title, else the host without `www.`.
  public static func siteName(facts: PageFacts?, pageURL: URL, feedTitle: String? = nil)
    -> String
  {
    if let name = facts?.siteName { return name }
    if let title = facts?.title {
      let parts = splitTitle(title)
      if let part = isRoot(pageURL) ? parts.first : parts.last, !isGenericTitle(part) {
        return part
      }
    }
    if let feedTitle, let part = splitTitle(feedTitle).first, !isGenericTitle(part) {
      return part
    }
    var host = pageURL.host?.lowercased() ?? "source"
    if host.hasPrefix("www.") { host.removeFirst(4) }
    return host
  }

  /// Titles that name a page, not a site (a Joomla home page is often just "Pradžia").
  static func isGenericTitle(_ title: String) -> Bool {
    [
      "pradžia", "pradinis", "pagrindinis", "pagrindinis puslapis", "home", "home page", "homepage",
      "start", "welcome", "index", "naujienos", "news",
    ].contains(title.lowercased())
  }

  /// "Klasteris – Inovacijos regione" → ["Klasteris", "Inovacijos regione"].
  static func splitTitle(_ title: String) -> [String] {
    var parts = [title]
    for separator in [" – ", " — ", " - ", " | ", " :: ", " » ", " · "] {
      parts = parts.flatMap { $0.components(separatedBy: separator) }
    }
    return parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
  }

  // MARK: - Discovery

  /// Runs discovery from `url` (the admin's), fetching through `fetch`; `onStep` hears each step
  /// as it is recorded, `slug` makes a source id from the site's name (`DropIn.slug`). Stops at
  /// the first verified feed (all of a page's linked feeds that verify are candidates); falls
  /// back to listing inference when no feed exists, keeping candidates at
  /// `ListingInference.confident` or above.
  public static func discover(
    _ url: URL, options: ParseOptions = ParseOptions(),
    slug: @escaping @Sendable (String) -> String, fetch: @escaping Fetch,
    onStep: (@Sendable (String) -> Void)? = nil
  ) async -> DiscoveryReport {
    var run = DiscoveryRun(start: url, options: options, slug: slug, fetch: fetch)
    run.onStep = onStep
    await run.run()
    return run.report
  }

  /// Linked (or feed-like) URLs fetched at most per page: a page with hundreds of `<link>`s
  /// must not turn one `discover` into hundreds of requests.
  public static let maxLinks = 6

  // MARK: - Helpers

  static func nodes(_ expression: String, _ context: xmlXPathContextPtr) -> [xmlNodePtr] {
    guard let result = xmlXPathEvalExpression(expression, context) else { return [] }
    defer { xmlXPathFreeObject(result) }
    guard let set = result.pointee.nodesetval, set.pointee.nodeNr > 0,
      let table = set.pointee.nodeTab
    else { return [] }
    return (0..<Int(set.pointee.nodeNr)).compactMap { table[$0] }
  }

  /// Visible text (the sanitiser's rule: scripts and styles skipped), whitespace collapsed.
  static func text(_ node: xmlNodePtr) -> String {
    var bytes: [UInt8] = []
    HTMLTree.appendText(of: node, includeRoot: false, into: &bytes)
    return HTMLText.collapseWhitespace(String(decoding: bytes, as: UTF8.self))
  }

  static func nonEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }

  /// `href` made absolute against `base`; nil unless it is http(s) (`URLSafety`'s scheme rule).
  static func httpURL(_ href: String, relativeTo base: URL) -> URL? {
    var trimmed = href.trimmingCharacters(in: .whitespacesAndNewlines)
    // The old `feed:` pseudo-scheme: `feed://host/rss`, `feed:https://host/rss`.
    if trimmed.lowercased().hasPrefix("feed:") {
      let rest = trimmed.dropFirst(5)
      trimmed = rest.hasPrefix("//") ? "http:" + rest : String(rest)
    }
    guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
    if let scheme = URLSafety.scheme(of: trimmed), scheme != "http", scheme != "https" {
      return nil
    }
    guard let url = URL(string: trimmed, relativeTo: base)?.absoluteURL,
      let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
      url.host?.isEmpty == false
    else { return nil }
    return url
  }

  static func sameDocument(_ a: URL, _ b: URL) -> Bool {
    func key(_ u: URL) -> String {
      var c = URLComponents(url: u, resolvingAgainstBaseURL: true)
      c?.fragment = nil
      var s = c?.string ?? u.absoluteString
      if s.hasSuffix("/") { s.removeLast() }
      return s.lowercased()
    }
    return key(a) == key(b)
  }
}

/// The state of one discovery: what was fetched, what was found.
struct DiscoveryRun {
  let start: URL
  let options: ParseOptions
  let slug: @Sendable (String) -> String
  let fetch: FeedFinder.Fetch
  var report = DiscoveryReport()
  var tried = Set<String>()
  /// The facts of the admin's page (when it is HTML).
  var pageFacts: PageFacts?
  /// What names the site: the admin's page, or the site's root when that names it better.
  var nameFacts: PageFacts?
  var nameURL: URL

  init(
    start: URL, options: ParseOptions, slug: @escaping @Sendable (String) -> String,
    fetch: @escaping FeedFinder.Fetch
  ) {
    self.start = start
    self.options = options
    self.slug = slug
    self.fetch = fetch
    self.nameURL = start
  }

  /// Told each step as it happens (the command prints them while a slow site answers).
  var onStep: (@Sendable (String) -> Void)?

  mutating func step(_ line: String) {
    report.steps.append(line)
    onStep?(line)
  }

  /// GETs `url` once; nil (with the step recorded) unless it answered 200 with a body.
  mutating func get(_ url: URL, origin: URL?, kind: SourceKind = .feed) async -> FetchedDocument? {
    guard tried.insert(url.absoluteString).inserted else { return nil }
    switch await fetch(DiscoveryRequest(url: url, origin: origin, kind: kind)) {
    case .failure(let error):
      step("GET \(url.absoluteString) → \(error.message)")
      return nil
    case .success(let doc):
      guard doc.status == 200, let body = doc.body, !body.isEmpty else {
        step(
          "GET \(url.absoluteString) → \(doc.status == 200 ? "empty body" : "HTTP \(doc.status)")")
        return nil
      }
      return doc
    }
  }

  /// Verifies `doc` as a feed; records the outcome.
  mutating func verify(_ doc: FetchedDocument, requested: URL) -> ParsedFeed? {
    switch FeedFinder.classify(
      doc.body ?? Data(), contentType: doc.contentType, url: doc.finalURL, options: options)
    {
    case .success(let parsed):
      let n = parsed.feed.entries.count
      step(
        "GET \(requested.absoluteString) → 200, \(FeedFinder.formatName(parsed.format)) feed with \(n) "
          + (n == 1 ? "entry" : "entries"))
      return parsed
    case .failure(let error):
      step("GET \(requested.absoluteString) → 200\(typeNote(doc)), \(Self.why(error))")
      return nil
    }
  }

  /// Why a document is not a feed, in a step's words ("an HTML page, not a feed").
  static func why(_ error: FeedParserError) -> String {
    if case .notAFeed(let why) = error {
      return why.contains("not a feed") ? why : why + ", not a feed"
    }
    return "not a feed: \(error.description)"
  }

  func typeNote(_ doc: FetchedDocument) -> String { doc.contentType.map { " (\($0))" } ?? "" }

  mutating func addFeed(_ parsed: ParsedFeed, doc: FetchedDocument, how: String) {
    let name = FeedFinder.siteName(
      facts: nameFacts, pageURL: nameURL, feedTitle: parsed.feed.title)
    let source = SourceDefinition(
      id: id(for: name), url: doc.finalURL.absoluteString, kind: .feed, title: name)
    let n = parsed.feed.entries.count
    report.candidates.append(
      DiscoveredSource(
        source: source, how: how,
        notes: ["\(FeedFinder.formatName(parsed.format)), \(n) \(n == 1 ? "entry" : "entries")"],
        document: doc))
  }

  func id(for name: String) -> String {
    let made = slug(name)
    if !made.isEmpty { return made }
    return slug(start.host ?? "source").isEmpty ? "source" : slug(start.host ?? "source")
  }

  /// Tries `links` (fetching each, verifying it); true when one or more verified.
  mutating func tryLinks(_ links: [FeedLink], from page: URL, howPrefix: String) async -> Bool {
    var found = false
    if links.count > FeedFinder.maxLinks {
      step(
        "\(page.absoluteString) links \(links.count) feeds: trying the first \(FeedFinder.maxLinks)"
      )
    }
    for link in links.prefix(FeedFinder.maxLinks) {
      step("\(page.absoluteString) links \(link.format): \(link.url.absoluteString)")
      guard let doc = await get(link.url, origin: page),
        let parsed = verify(doc, requested: link.url)
      else { continue }
      let what = link.isComments ? "a comments feed" : link.format.description
      addFeed(parsed, doc: doc, how: "\(howPrefix) \(page.absoluteString) (\(what))")
      found = true
    }
    return found
  }

  /// Tries well-known places in order; true at the first that is a feed.
  mutating func tryWellKnown(_ urls: [URL], origin: URL) async -> Bool {
    for url in urls {
      guard let doc = await get(url, origin: origin), let parsed = verify(doc, requested: url)
      else { continue }
      addFeed(parsed, doc: doc, how: "at a well-known place, \(url.absoluteString)")
      return true
    }
    return false
  }

  mutating func run() async {
    guard let scheme = start.scheme?.lowercased(), scheme == "http" || scheme == "https",
      start.host?.isEmpty == false
    else {
      report.reasons.append("\(start.absoluteString) is not an http(s) URL")
      return
    }
    tried.insert(start.absoluteString)
    var page: FetchedDocument?
    switch await fetch(DiscoveryRequest(url: start, origin: nil, kind: .feed)) {
    case .failure(let error):
      step("GET \(start.absoluteString) → \(error.message)")
      report.reasons.append("\(start.absoluteString) could not be fetched: \(error.message)")
      return
    case .success(let doc):
      if doc.status == 200, let body = doc.body, !body.isEmpty {
        page = doc
      } else {
        step("GET \(start.absoluteString) → HTTP \(doc.status)")
        report.reasons.append("\(start.absoluteString) answered HTTP \(doc.status)")
      }
    }

    // 1. The URL is itself a feed.
    if let page {
      nameURL = page.finalURL
      if case .success(let parsed) = FeedFinder.classify(
        page.body!, contentType: page.contentType, url: page.finalURL, options: options)
      {
        let n = parsed.feed.entries.count
        step(
          "GET \(start.absoluteString) → 200, \(FeedFinder.formatName(parsed.format)) feed with \(n) "
            + (n == 1 ? "entry" : "entries"))
        addFeed(parsed, doc: page, how: "the URL is a feed")
        return
      }
      step("GET \(start.absoluteString) → 200\(typeNote(page)), a page, not a feed")
      pageFacts = FeedFinder.readPage(
        page.body!, contentType: page.contentType, pageURL: page.finalURL)
      nameFacts = pageFacts
    }
    let origin = page?.finalURL ?? start

    // 2. Feeds the page links.
    if let facts = pageFacts {
      if facts.feedLinks.isEmpty {
        step("\(origin.absoluteString) links no feed (<link rel=\"alternate\">)")
      } else if await tryLinks(facts.feedLinks, from: origin, howPrefix: "linked from") {
        return
      }
    }

    // 3. Well-known places at the page's directory (and Joomla's query on the page itself).
    let all = FeedFinder.wellKnownURLs(for: origin)
    let root = FeedFinder.rootURL(of: origin)
    let rootPlaces = root.map { FeedFinder.wellKnownURLs(for: $0) } ?? []
    let local = all.filter { u in !rootPlaces.contains(u) || FeedFinder.isRoot(origin) }
    if await tryWellKnown(local, origin: origin) { return }

    // 4. A deeper page: the site's root, its links, its well-known places.
    var rootFacts: PageFacts?
    if !FeedFinder.isRoot(origin), let root {
      if let doc = await get(root, origin: origin) {
        if case .success(let parsed) = FeedFinder.classify(
          doc.body!, contentType: doc.contentType, url: doc.finalURL, options: options)
        {
          addFeed(parsed, doc: doc, how: "the site's root is a feed")
          return
        }
        step("GET \(root.absoluteString) → 200\(typeNote(doc)), a page, not a feed")
        let facts = FeedFinder.readPage(
          doc.body!, contentType: doc.contentType, pageURL: doc.finalURL)
        rootFacts = facts
        if pageFacts?.siteName == nil, facts.siteName != nil || facts.title != nil {
          // The root names the site better than a deeper page's title does.
          nameFacts = facts
          nameURL = doc.finalURL
        }
        if facts.feedLinks.isEmpty {
          step("\(root.absoluteString) links no feed (<link rel=\"alternate\">)")
        } else if await tryLinks(facts.feedLinks, from: doc.finalURL, howPrefix: "linked from") {
          return
        }
      }
      if await tryWellKnown(rootPlaces, origin: origin) { return }
    }
    if local.count + (FeedFinder.isRoot(origin) ? 0 : rootPlaces.count) > 0 {
      step("no feed at the well-known places")
    }

    // 5. Feed-like <a href> links, as a last resort.
    let anchors = Array(
      ((pageFacts?.anchorFeeds ?? []) + (rootFacts?.anchorFeeds ?? [])).prefix(FeedFinder.maxLinks))
    for link in anchors {
      guard let doc = await get(link.url, origin: origin),
        let parsed = verify(doc, requested: link.url)
      else { continue }
      addFeed(parsed, doc: doc, how: "a feed-like link on \(origin.absoluteString)")
      return
    }

    // 6. No feed: infer an html source from the page's news listing.
    report.reasons.append(
      "no feed: none linked from the page, none at the well-known places"
        + (anchors.isEmpty ? "" : ", no feed-like link answered with a feed"))
    guard let page else { return }
    var listings: [(DiscoveredSource, Double)] = []
    var best = 0.0
    func infer(_ doc: FetchedDocument, label: String) -> [(DiscoveredSource, Double)] {
      let inferred = ListingInference.infer(
        html: doc.body ?? Data(), contentType: doc.contentType, pageURL: doc.finalURL)
      return inferred.map { listing in
        let name = FeedFinder.siteName(facts: nameFacts, pageURL: nameURL)
        let source = SourceDefinition(
          id: id(for: name), url: doc.finalURL.absoluteString, kind: .html, title: name,
          selectors: listing.selectors)
        return (
          DiscoveredSource(
            source: source, how: "news listing inferred from \(label)",
            confidence: listing.confidence,
            notes: listing.notes, document: doc),
          listing.confidence
        )
      }
    }
    var found = infer(page, label: page.finalURL.absoluteString)
    step(inferenceStep(found, page.finalURL))
    if FeedFinder.isRoot(page.finalURL), let news = pageFacts?.newsLinks.first,
      let doc = await get(news, origin: page.finalURL, kind: .html)
    {
      let more = infer(doc, label: news.absoluteString)
      step(inferenceStep(more, news))
      found += more
    }
    for (candidate, confidence) in found {
      best = max(best, confidence)
      if confidence >= ListingInference.confident { listings.append((candidate, confidence)) }
    }
    if listings.isEmpty {
      report.reasons.append(
        found.isEmpty
          ? "no news listing recognised on the page"
          : "no confident news listing (best confidence \(format(best)), needs \(format(ListingInference.confident)))"
      )
      return
    }
    report.reasons = []
    report.candidates += listings.sorted { $0.1 > $1.1 }.map(\.0)
  }

  func inferenceStep(_ found: [(DiscoveredSource, Double)], _ url: URL) -> String {
    guard let best = found.map(\.1).max() else {
      return "\(url.absoluteString): no repeated news listing found"
    }
    return "\(url.absoluteString): \(found.count) listing candidate\(found.count == 1 ? "" : "s"), "
      + "best confidence \(format(best))"
  }

  func format(_ x: Double) -> String { String(format: "%.2f", x) }
}
