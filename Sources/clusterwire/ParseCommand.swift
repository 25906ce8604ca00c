import ArgumentParser
import FeedModel
import FeedParser
import Foundation

/// `clusterwire parse FILE|-`: what the daemon would see in a document, as JSON. Admins use it to
/// debug a source; tests use it to check the parser through the real binary.
struct ParseCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "parse",
    abstract: "Parse a feed (or, with --html, a news page) and print the normalised result as JSON."
  )

  @Argument(help: "A file path, or - for standard input.")
  var input: String

  @Option(help: "The document's own URL: relative links resolve against it.")
  var base: String?

  @Option(
    name: .customLong("content-type"),
    help: "The HTTP Content-Type it was served with (its charset counts).")
  var contentType: String?

  @Option(name: .customLong("max-bytes"), help: "Refuse documents larger than this many bytes.")
  var maxBytes: Int = ParseOptions().maxBytes

  @Flag(help: "Treat the input as an HTML news page scraped with the --item/--title/… selectors.")
  var html = false

  @OptionGroup(title: "HTML selectors (XPath 1.0; with --html)")
  var selectors: SelectorOptions

  func run() throws {
    LibXML.bootstrap()
    let data: Data
    do {
      data = try Self.read(input)
    } catch {
      fail("cannot read \(input): \(error.localizedDescription)")
    }
    let baseURL =
      base.flatMap(URL.init(string:)) ?? (input == "-" ? nil : URL(fileURLWithPath: input))
    let options = ParseOptions(maxBytes: maxBytes)
    let output: ParseOutput
    if html {
      guard let sel = selectors.makeSelectors() else {
        fail("--html needs at least --item, --title and --link")
      }
      let pageURL = baseURL ?? URL(string: "file:///")!
      do {
        let result = try HTMLScraper.scrape(
          data, contentType: contentType, pageURL: pageURL, selectors: sel, options: options)
        for warning in result.warnings {
          FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        output = ParseOutput(result.parsed, warnings: result.warnings)
      } catch {
        fail("\(input): \(error)")
      }
    } else {
      do {
        output = ParseOutput(
          try FeedParser.parse(data, contentType: contentType, baseURL: baseURL, options: options))
      } catch {
        fail("\(input): \(error)")
      }
    }
    FileHandle.standardOutput.write(try output.jsonData())
    FileHandle.standardOutput.write(Data("\n".utf8))
  }

  static func read(_ path: String) throws -> Data {
    if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    return try Data(contentsOf: URL(fileURLWithPath: path))
  }
}

/// Selector options shared by `parse --html` (and mirrored by a source's `[source.select]`).
struct SelectorOptions: ParsableArguments {
  @Option(help: "Item selector, e.g. //article") var item: String?
  @Option(help: "Title, relative to an item, e.g. .//h2") var title: String?
  @Option(help: "Link, e.g. .//h2/a/@href") var link: String?
  @Option(help: "Date, e.g. .//time") var date: String?
  @Option(help: "Summary, e.g. .//p[1]") var summary: String?
  @Option(help: "Content (HTML kept and sanitised)") var content: String?
  @Option(help: "Author") var author: String?
  @Option(name: .customLong("categories"), help: "Categories (each node one)")
  var categoriesSelector: String?
  @Option(name: .customLong("id"), help: "Entry id (default: the link)") var idSelector: String?
  @Option(name: .customLong("date-locale"), help: "Month names: lt, en, de, fr") var dateLocale:
    String = "lt"
  @Option(name: .customLong("date-format"), help: "Explicit date pattern, e.g. yyyy-MM-dd")
  var dateFormat: String?
  @Option(name: .customLong("timezone"), help: "The page's time zone") var timeZone: String =
    "Europe/Vilnius"

  func makeSelectors() -> HTMLSelectors? {
    guard let item, let title, let link else { return nil }
    return HTMLSelectors(
      item: item, title: title, link: link, date: date, summary: summary, content: content,
      author: author, categories: categoriesSelector, id: idSelector, dateLocale: dateLocale,
      dateFormat: dateFormat, timeZone: timeZone)
  }
}

/// The JSON shape of `clusterwire parse` (absent fields omitted, dates RFC 3339 UTC).
struct ParseOutput: Encodable {
  struct TextOut: Encodable {
    var type: String
    var value: String
    /// The element's own `xml:lang` when it differs from its entry's.
    var language: String?
    init(_ t: Text) {
      type = t.type.rawValue
      value = t.value
      language = t.language
    }
  }
  struct FeedOut: Encodable {
    var title, subtitle, link, selfLink, id, updated, published, language, titleLanguage: String?
    var links: [Link]?
    var authors, contributors: [Person]?
    var publisher, webMaster: Person?
    var categories: [FeedModel.Category]?
    var icon, logo, rights, generator: String?
    var itunes: ITunesOut?
  }
  struct EntryOut: Encodable {
    var id, title, link: String?
    var links: [Link]?
    var published, updated, created: String?
    var language, titleLanguage: String?
    var summary, content: TextOut?
    var contentSource: Link?
    var authors, contributors: [Person]?
    var publisher: Person?
    var rights, comments: String?
    var categories: [FeedModel.Category]?
    var enclosures: [Enclosure]?
    var media: MediaOut?
    var itunes: ITunesOut?
    var geo: GeoLocation?
    var source: SourceOut?
  }
  struct ITunesOut: Encodable {
    var subtitle, summary, image, type: String?
    var explicit, block: Bool?
    var duration: Double?
    var owner: Person?
    var keywords: [String]?
    var episode, season: Int?
    init(_ i: ITunesInfo) {
      subtitle = i.subtitle
      summary = i.summary
      image = i.image
      type = i.type
      explicit = i.explicit
      block = i.block
      duration = i.duration
      owner = i.owner
      keywords = i.keywords.nilIfEmpty
      episode = i.episode
      season = i.season
    }
  }
  struct MediaOut: Encodable {
    var title: String?
    var description: TextOut?
    var thumbnails: [Thumbnail]?
    var credits: [String]?
    var rating: String?
    init(_ m: MediaInfo) {
      title = m.title
      description = m.description.map(TextOut.init)
      thumbnails = m.thumbnails.nilIfEmpty
      credits = m.credits.nilIfEmpty
      rating = m.rating
    }
  }
  struct SourceOut: Encodable {
    var id, title, subtitle, link, updated, icon, logo, rights, generator: String?
    var links: [Link]?
    var authors, contributors: [Person]?
    var categories: [FeedModel.Category]?
    init(_ s: EntrySource) {
      id = s.id
      title = s.title
      subtitle = s.subtitle
      link = s.link
      updated = s.updated.map(rfc3339)
      icon = s.icon
      logo = s.logo
      rights = s.rights
      generator = s.generator
      links = s.links.nilIfEmpty
      authors = s.authors.nilIfEmpty
      contributors = s.contributors.nilIfEmpty
      categories = s.categories.nilIfEmpty
    }
  }
  struct ErrorOut: Encodable {
    var severity: String
    var message: String
    var line: Int?
    var column: Int?
  }

  var format: String
  var encoding: String
  var malformed: Bool
  var errors: [ErrorOut]
  var warnings: [String]?
  var feed: FeedOut
  var entries: [EntryOut]

  init(_ parsed: ParsedFeed, warnings: [String]? = nil) {
    format = parsed.format.rawValue
    encoding = parsed.encoding
    malformed = parsed.malformed
    errors = parsed.diagnostics.map {
      ErrorOut(
        severity: $0.severity.rawValue, message: $0.message, line: $0.line, column: $0.column)
    }
    self.warnings = warnings
    let f = parsed.feed
    feed = FeedOut(
      title: f.title, subtitle: f.subtitle, link: f.link, selfLink: f.selfLink, id: f.id,
      updated: f.updated.map(rfc3339), published: f.published.map(rfc3339),
      language: f.language, titleLanguage: f.titleLanguage, links: f.links.nilIfEmpty,
      authors: f.authors.nilIfEmpty, contributors: f.contributors.nilIfEmpty,
      publisher: f.publisher, webMaster: f.webMaster, categories: f.categories.nilIfEmpty,
      icon: f.icon, logo: f.logo, rights: f.rights, generator: f.generator,
      itunes: f.itunes.map(ITunesOut.init))
    entries = f.entries.map { e in
      EntryOut(
        id: e.id, title: e.title, link: e.link, links: e.links.nilIfEmpty,
        published: e.published.map(rfc3339), updated: e.updated.map(rfc3339),
        created: e.created.map(rfc3339), language: e.language, titleLanguage: e.titleLanguage,
        summary: e.summary.map(TextOut.init), content: e.content.map(TextOut.init),
        contentSource: e.contentSource, authors: e.authors.nilIfEmpty,
        contributors: e.contributors.nilIfEmpty, publisher: e.publisher, rights: e.rights,
        comments: e.comments, categories: e.categories.nilIfEmpty,
        enclosures: e.enclosures.nilIfEmpty, media: e.media.map(MediaOut.init),
        itunes: e.itunes.map(ITunesOut.init),
        geo: e.geo, source: e.source.map(SourceOut.init))
    }
  }

  func jsonData() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(self)
  }
}

extension Array {
  var nilIfEmpty: [Element]? { isEmpty ? nil : self }
}

/// `2020-06-02T00:00:00Z`: RFC 3339 in UTC, whole seconds.
func rfc3339(_ date: Date) -> String {
  var t = time_t(floor(date.timeIntervalSince1970))
  var tmv = tm()
  gmtime_r(&t, &tmv)
  return String(
    format: "%04d-%02d-%02dT%02d:%02d:%02dZ", tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday,
    tmv.tm_hour, tmv.tm_min, tmv.tm_sec)
}
