import ArgumentParser
import AsyncHTTPClient
import Config
import Crawler
import Discovery
import FeedModel
import FeedParser
import Foundation

/// `clusterwire discover URL`: finds a member site's feed (or infers an `html` source from its
/// news listing) and prints a ready `[[source]]` drop-in, so "here is the member's address" is
/// enough to add it. Fetches with the crawler's fetcher, limits, user agent and private-network
/// guard. Exit 0 when a source was found, 1 when nothing usable was, 2 for usage errors.
struct DiscoverCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "discover",
    abstract: "Find a site's feed, or infer an html source, and print a [[source]] drop-in.",
    discussion: """
      stdout: the drop-in (or, with --json, every candidate with its preview); stderr: what was \
      tried and a preview of the first entries, as try-source prints them.
      """)

  @Argument(help: "The site's address: its home page, its news page or its feed.")
  var url: String
  @Option(
    help: """
      A main config file: user agent, max_body and timeouts come from its [crawl]; a feed it \
      already has is reported, and the new source's id avoids the ids it uses.
      """)
  var config: String?
  @Flag(help: "Print every candidate with its preview as JSON on stdout.")
  var json = false
  @Option(
    name: .customLong("write"),
    help: ArgumentHelp("Write the drop-in to DIR/ID.toml (validated first).", valueName: "DIR"))
  var directory: String?
  @Flag(help: "With --write: replace an existing file.")
  var force = false

  /// Entries shown in the stderr preview.
  static let previewEntries = 5

  func run() async throws {
    LibXML.bootstrap()
    let trimmed = url.trimmingCharacters(in: .whitespacesAndNewlines)
    guard let target = URL(string: trimmed), let scheme = target.scheme?.lowercased(),
      scheme == "http" || scheme == "https", target.host?.isEmpty == false
    else {
      let hint =
        trimmed.contains("://") || trimmed.isEmpty
        ? "e.g. https://klasteris.lt/" : "did you mean https://\(trimmed)?"
      fail("discover: '\(url)' is not an http(s) URL (\(hint))", code: 2)
    }
    if force && directory == nil { fail("discover: --force needs --write DIR", code: 2) }
    if json && directory != nil { fail("discover: --json and --write exclude each other", code: 2) }
    if let directory {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
        isDirectory.boolValue
      else { fail("discover: --write \(directory): no such directory", code: 2) }
    }

    let options: CrawlerOptions
    let client: HTTPClient
    var configured = ConfiguredSources([])
    if let config {
      let settings = Wiring.loadSettings(config)
      configured = ConfiguredSources(settings.sources)
      options = Wiring.crawlerOptions(settings)
      client = Wiring.makeHTTPClient(settings)
    } else {
      options = CrawlerOptions(userAgent: "clusterwire/\(clusterwireVersion)")
      client = HTTPClient(
        eventLoopGroupProvider: .singleton, configuration: options.httpClientConfiguration())
    }
    let fetch: FeedFinder.Fetch = { request in
      let result = await Probe.probe(
        request.url, origin: request.origin, kind: request.kind, options: options,
        httpClient: client)
      return result.map {
        FetchedDocument(
          status: $0.status, body: $0.body, contentType: $0.contentType, finalURL: $0.finalURL)
      }.mapError { DiscoveryFetchError(message: $0.message) }
    }
    let stderr = FileHandle.standardError
    stderr.write(Data("Tried:\n".utf8))
    let report = await FeedFinder.discover(
      target, options: options.effectiveParseOptions, slug: { DropIn.slug($0) }, fetch: fetch,
      onStep: { FileHandle.standardError.write(Data("  \($0)\n".utf8)) })
    try? await client.shutdown()

    let previews = report.candidates.map { preview($0, options: options) }

    if json {
      FileHandle.standardOutput.write(try jsonReport(report, previews: previews, url: trimmed))
      print()
      if report.candidates.isEmpty {
        PreviewPrinter.write(
          ["Nothing usable found:"] + report.reasons.map { "  " + $0 }, to: stderr)
        throw ExitCode.failure
      }
      return
    }
    guard var chosen = report.chosen, let shown = previews.first else {
      PreviewPrinter.write(
        ["clusterwire: nothing usable found at \(trimmed):"] + report.reasons.map { "  " + $0 },
        to: stderr)
      throw ExitCode.failure
    }
    var summary = [
      "Found: \(chosen.source.kind.rawValue) source \(chosen.source.url), \(chosen.how)"
    ]
    if report.candidates.count > 1 {
      summary.append("Other candidates (see --json):")
      for other in report.candidates.dropFirst() {
        summary.append("  \(other.source.url) (\(other.how))")
      }
    }
    PreviewPrinter.write(summary, to: stderr)
    if let config, let existing = configured.configured(chosen.source.url) {
      PreviewPrinter.write(
        [
          "clusterwire: \(chosen.source.url) is already configured as source '\(existing)' in \(config)"
        ],
        to: stderr)
      throw ExitCode.failure
    }
    let id = configured.claim(chosen.source.id)
    if id != chosen.source.id {
      PreviewPrinter.write(
        ["note: id '\(chosen.source.id)' is taken in \(config ?? "the config"), using '\(id)'"],
        to: stderr)
      chosen.source.id = id
    }
    switch shown {
    case .success(let parsed, let warnings):
      PreviewPrinter.write(warnings.map { "warning: \($0)" }, to: stderr)
      PreviewPrinter.write(
        PreviewPrinter.lines(id: chosen.source.id, parsed: parsed, limit: Self.previewEntries),
        to: stderr)
    case .failure(let message):
      PreviewPrinter.write(["warning: the preview failed: \(message)"], to: stderr)
    }

    let text = DropIn.render(chosen.source, comments: comments(chosen, url: trimmed))
    if let problem = DropIn.validate(text) {
      fail("discover: the drop-in for \(chosen.source.id) does not validate:\n\(problem)")
    }
    FileHandle.standardOutput.write(Data(text.utf8))
    if let directory {
      do {
        let path = try DropIn.write(text, id: chosen.source.id, directory: directory, force: force)
        PreviewPrinter.write(["wrote \(path)"], to: stderr)
      } catch {
        fail("discover: \(error)")
      }
    }
  }

  /// The crawler's parse of the document the candidate was verified on.
  func preview(_ candidate: DiscoveredSource, options: CrawlerOptions) -> SourcePreview {
    let d = candidate.document
    return Probe.preview(
      candidate.source,
      fetched: Probed(
        status: d.status, body: d.body, contentType: d.contentType, finalURL: d.finalURL),
      options: options)
  }

  /// The `#` lines above the drop-in: where it came from, and, for an inferred source, how sure
  /// the inference was.
  func comments(_ candidate: DiscoveredSource, url: String) -> [String] {
    var lines = ["Found by `clusterwire discover \(url)`: \(candidate.how)."]
    if let confidence = candidate.confidence {
      lines.append(
        "Selectors inferred with confidence \(String(format: "%.2f", confidence)): check them with"
          + " `clusterwire try-source \(candidate.source.id)`.")
    }
    lines += candidate.notes
    return lines
  }

  struct JSONReport: Encodable {
    struct Entry: Encodable {
      var title: String?
      var date: String?
      var link: String?
    }
    struct Candidate: Encodable {
      var id: String
      var title: String?
      var kind: String
      var url: String
      var how: String
      var confidence: Double?
      var notes: [String]
      var selectors: HTMLSelectors?
      var dropIn: String
      var format: String?
      var entryCount: Int?
      var entries: [Entry]
      var warnings: [String]
      var previewError: String?
    }
    var url: String
    var steps: [String]
    var reasons: [String]
    var candidates: [Candidate]
  }

  func jsonReport(_ report: DiscoveryReport, previews: [SourcePreview], url: String) throws -> Data
  {
    var candidates: [JSONReport.Candidate] = []
    for (candidate, preview) in zip(report.candidates, previews) {
      let s = candidate.source
      var c = JSONReport.Candidate(
        id: s.id, title: s.title, kind: s.kind.rawValue, url: s.url, how: candidate.how,
        confidence: candidate.confidence, notes: candidate.notes, selectors: s.selectors,
        dropIn: DropIn.render(s, comments: comments(candidate, url: url)), entries: [],
        warnings: [])
      switch preview {
      case .success(let parsed, let warnings):
        c.format = parsed.format.rawValue
        c.entryCount = parsed.feed.entries.count
        c.entries = parsed.feed.entries.prefix(10).map {
          JSONReport.Entry(title: $0.title, date: $0.published.map(rfc3339), link: $0.link)
        }
        c.warnings = warnings
      case .failure(let message):
        c.previewError = message
      }
      candidates.append(c)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(
      JSONReport(url: url, steps: report.steps, reasons: report.reasons, candidates: candidates))
  }
}
