import ArgumentParser
import CLibXML2
import FeedModel
import FeedParser
import Foundation

/// `cwbench parse-bench --corpus DIR [--runs 5]`: the feed parser against raw libxml2 over the
/// same in-memory bytes, in the same run. Rows: libxml2 SAX2 with callbacks that only count
/// elements, `xmlReadMemory` + `xmlFreeDoc`, our reader without normalisation, and the full
/// `FeedParser.parse` (decode, read, dates, URLs, sanitised HTML, plain-text titles), on every
/// core and on one sanitising thread.
struct ParseBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "parse-bench",
    abstract: "Feed parser throughput versus raw libxml2 (same run, same bytes).")

  @Option(help: "Directory of feed files (gen_corpus.py output).") var corpus: String
  @Option(help: "Runs per measurement; medians are reported.") var runs: Int = 5
  @Option(help: "Only the first N files (0 = all).") var limit: Int = 0
  @Option(help: "Only this row (1-7), e.g. under perf; 0 = all.") var only: Int = 0

  func run() async throws {
    LibXML.bootstrap()
    let dir = URL(fileURLWithPath: corpus)
    var names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
      .filter { $0 != "manifest.json" }
      .sorted()
    if limit > 0 { names = Array(names.prefix(limit)) }
    let files = try names.map { try Data(contentsOf: dir.appendingPathComponent($0)) }
    guard !files.isEmpty else { throw ValidationError("no files in \(corpus)") }
    let totalBytes = files.reduce(0) { $0 + $1.count }
    print(
      "corpus: \(files.count) files, \(String(format: "%.1f", Double(totalBytes) / 1e6)) MB, runs: \(runs), libxml2 \(LibXML.version)"
    )

    // The pipeline as it was before issue 17: every entry sanitised on the calling thread.
    let serial = ParseOptions(sanitizeWorkers: 1)
    var entries = 0
    var failures = 0
    var malformed = 0
    var diagnostics = 0
    var different: [String] = []
    for (name, f) in zip(names, files) {
      // Sanitising on every core must give exactly the serial result, on the whole corpus.
      if (try? FeedParser.parse(f)) != (try? FeedParser.parse(f, options: serial)) {
        different.append(name)
      }
      if let p = try? FeedParser.parse(f) {
        entries += p.feed.entries.count
        malformed += p.malformed ? 1 : 0
        diagnostics += p.diagnostics.count
      } else {
        failures += 1
      }
    }
    print(
      "entries: \(entries), malformed: \(malformed), diagnostics: \(diagnostics), failed: \(failures)"
    )
    guard different.isEmpty else {
      throw ValidationError(
        "parallel sanitising differs from the serial path on: \(different.joined(separator: ", "))")
    }
    print(
      "parallel sanitising (\(ParseOptions().sanitizeWorkers) threads) = serial on all \(files.count) files"
    )

    // A re-fetch with 10 % of the entries changed (issue 17): each document parsed with the
    // stored HTML of its other entries to reuse (what the crawler loads from the store), i.e.
    // the sanitised fragments of 9 entries in 10, by key. The changed tenth is sanitised again.
    // The result must be exactly the cold parse's.
    var refetch: [ParseOptions] = []
    var reusable = 0
    var toSanitize = 0
    for (name, f) in zip(names, files) {
      var options = ParseOptions()
      if let cold = try? FeedParser.parse(f) {
        for (i, e) in cold.feed.entries.enumerated() {
          let fragments = e.reusableHTML
          if i % 10 == 9 {
            toSanitize += fragments.count
            continue
          }
          for (key, html) in fragments { options.reusableHTML[key] = html }
          reusable += fragments.count
        }
        let warm = try? FeedParser.parse(f, options: options)
        if warm?.feed != cold.feed || warm?.diagnostics != cold.diagnostics {
          different.append(name)
        }
      }
      refetch.append(options)
    }
    guard different.isEmpty else {
      throw ValidationError(
        "a re-fetch reusing stored HTML differs from the cold parse on: \(different.joined(separator: ", "))"
      )
    }
    print(
      "re-fetch: \(reusable) HTML fragments reused, \(toSanitize) sanitised again; = cold parse on all \(files.count) files"
    )

    let rows: [(String, () -> Void)] = [
      ("libxml2 SAX2, counting callbacks", { for f in files { _ = Self.rawSAX(f) } }),
      ("libxml2 xmlReadMemory + xmlFreeDoc", { for f in files { Self.readMemory(f) } }),
      (
        "FeedParser, read only (no normalise)",
        { for f in files { _ = try? FeedParserBenchmark.parseWithoutNormalising(f) } }
      ),
      (
        "FeedParser, all but the HTML sanitiser",
        { for f in files { _ = try? FeedParserBenchmark.parseWithoutSanitising(f) } }
      ),
      ("FeedParser.parse, full pipeline", { for f in files { _ = try? FeedParser.parse(f) } }),
      (
        "FeedParser.parse, full pipeline, 1 sanitising thread",
        { for f in files { _ = try? FeedParser.parse(f, options: serial) } }
      ),
      (
        "FeedParser.parse, re-fetch, 10 % of entries changed",
        { for (f, o) in zip(files, refetch) { _ = try? FeedParser.parse(f, options: o) } }
      ),
    ]
    // Interleave the rows run by run so machine noise hits all of them alike.
    var times = Array(repeating: [Double](), count: rows.count)
    for _ in 0..<max(1, runs) {
      for (i, row) in rows.enumerated() where only == 0 || only == i + 1 {
        let start = DispatchTime.now().uptimeNanoseconds
        row.1()
        times[i].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
      }
    }
    let medians = times.map { t in t.isEmpty ? Double.nan : t.sorted()[t.count / 2] }
    print("")
    print("| measurement | median s | MB/s | entries/s | × raw SAX | × xmlReadMemory |")
    print("|---|---:|---:|---:|---:|---:|")
    for (i, row) in rows.enumerated() {
      let s = medians[i]
      print(
        "| \(row.0) | \(String(format: "%.3f", s)) | \(String(format: "%.1f", Double(totalBytes) / 1e6 / s)) | "
          + "\(String(format: "%.0f", Double(entries) / s)) | \(String(format: "%.2f", medians[0] / s)) | "
          + "\(String(format: "%.2f", medians[1] / s)) |")
    }
  }

  /// libxml2's SAX2 parser with callbacks that only count start tags: the throughput ceiling.
  static func rawSAX(_ data: Data) -> Int {
    var count = 0
    data.withUnsafeBytes { raw in
      guard let base = raw.baseAddress,
        let ctxt = xmlCreateMemoryParserCtxt(
          base.assumingMemoryBound(to: CChar.self), Int32(raw.count))
      else { return }
      var h = xmlSAXHandler()
      h.initialized = XML_SAX2_MAGIC
      h.startElementNs = { ctx, _, _, _, _, _, _, _, _ in
        guard let ctx, let p = ctx.assumingMemoryBound(to: xmlParserCtxt.self).pointee._private
        else { return }
        p.assumingMemoryBound(to: Int.self).pointee += 1
      }
      h.characters = { _, _, _ in }
      h.cdataBlock = { _, _, _ in }
      h.serror = { _, _ in }
      let sax = malloc(MemoryLayout<xmlSAXHandler>.size)!.assumingMemoryBound(
        to: xmlSAXHandler.self)
      sax.initialize(to: h)
      free(ctxt.pointee.sax)
      ctxt.pointee.sax = sax
      withUnsafeMutablePointer(to: &count) { counter in
        ctxt.pointee._private = UnsafeMutableRawPointer(counter)
        xmlCtxtUseOptions(
          ctxt,
          Int32(
            bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue
              | XML_PARSE_NOWARNING.rawValue))
        xmlParseDocument(ctxt)
        ctxt.pointee._private = nil
      }
      if let doc = ctxt.pointee.myDoc { xmlFreeDoc(doc) }
      xmlFreeParserCtxt(ctxt)
    }
    return count
  }

  /// A full libxml2 tree, built and freed: the usual baseline for "parse XML".
  static func readMemory(_ data: Data) {
    data.withUnsafeBytes { raw in
      guard let base = raw.baseAddress else { return }
      let doc = xmlReadMemory(
        base.assumingMemoryBound(to: CChar.self), Int32(raw.count), nil, nil,
        Int32(
          bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue
            | XML_PARSE_NOWARNING.rawValue))
      if let doc { xmlFreeDoc(doc) }
    }
  }
}
