import ArgumentParser
import FeedModel
import FeedParser
import FeedStore
import Foundation

/// Store benchmark: ingest throughput with de-duplication on (the standard corpus, parsed with
/// `FeedParser`, plus a synthetic corpus of the same shape so the store is measured alone), then
/// timeline latency on a synthetic store of `--big` entries over `--sources` sources.
struct StoreBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "store-bench", abstract: "Store ingest throughput and timeline latency.")

  @Option(help: "The standard corpus directory (gen_corpus.py output).") var corpus: String?
  @Option(help: "Entries in the synthetic big store (0 skips it).") var big: Int = 1_000_000
  @Option(help: "Sources in the synthetic big store.") var sources: Int = 10_000
  @Option(help: "Directory for the databases (default: a temp dir, removed afterwards).")
  var workdir: String?
  @Option(help: "Timed runs per query (the median is reported).") var runs: Int = 9
  @Option(
    help: """
      Crawl results in flight during the ingest runs, as the daemon's concurrent fetches record \
      them (1 = one after another; both are always reported).
      """)
  var inFlight: Int = 4
  @Option(
    help: "Group commit: at most this many crawl results per transaction ([store] commit_batch).")
  var commitBatch: Int = StoreOptions.defaultCommitBatch
  @Option(help: "Group commit: milliseconds an idle writer waits for results being prepared.")
  var commitDelayMS: Double = StoreOptions.defaultCommitDelay * 1000

  func run() async throws {
    LibXML.bootstrap()
    let dir =
      workdir.map { URL(fileURLWithPath: $0) }
      ?? FileManager.default.temporaryDirectory.appendingPathComponent(
        "store-bench-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { if workdir == nil { try? FileManager.default.removeItem(at: dir) } }
    // Corpus dates span ten years: keep everything so the whole corpus is ingested.
    let keepAll = StoreOptions(
      maxEntriesPerSource: 500, maxAge: 20 * 365 * 86400, commitBatch: commitBatch,
      commitDelay: commitDelayMS / 1000)

    if let corpus {
      var feeds: [Feed] = []
      var failures: [String: Int] = [:]
      let files = try FileManager.default.contentsOfDirectory(atPath: corpus)
        .filter { $0.hasSuffix(".xml") }.sorted()
      for file in files {
        let data = try Data(contentsOf: URL(fileURLWithPath: corpus).appendingPathComponent(file))
        do {
          feeds.append(try FeedParser.parse(data).feed)
        } catch {
          failures["\(error)", default: 0] += 1
        }
      }
      print("corpus: \(files.count) files, \(feeds.count) parsed")
      for (why, n) in failures.sorted(by: { $0.value > $1.value }).prefix(3) {
        print("  not parsed (\(n)): \(why)")
      }
      if !feeds.isEmpty {
        try await ingestAndFloor("standard corpus (FeedParser)", feeds, "corpus", dir, keepAll)
      }
    }
    let synthetic = Synthetic.corpusLike(files: 200, seed: 1)
    try await ingestAndFloor(
      "synthetic corpus-shaped feeds (store only)", synthetic, "synthetic", dir, keepAll)

    if big > 0 { try await bigBench(dir.appendingPathComponent("big.sqlite")) }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print("peak RSS of the whole run: \(usage.ru_maxrss / 1024) MB")
  }

  /// Ingests `feeds` one after another and `inFlight` at a time (the store group-commits the
  /// concurrent results), then measures the raw SQLite limit (`StoreFloor`) on the rows the first
  /// ingest wrote, with the same batching as each ingest (the same number of transactions, feeds
  /// spread evenly over them), and prints ingest throughput / limit throughput.
  func ingestAndFloor(
    _ label: String, _ feeds: [Feed], _ name: String, _ dir: URL, _ options: StoreOptions
  ) async throws {
    let defs = sourceDefinitions(feeds.count)
    var runs: [Int: (seconds: Double, transactions: Int)] = [:]
    for n in Set([1, inFlight]).sorted() {
      runs[n] = try await ingestBench(
        label, feeds, inFlight: n, path: dir.appendingPathComponent("\(name)-\(n).sqlite"),
        options: options)
    }
    let entries = feeds.reduce(0) { $0 + $1.entries.count }
    let floors = try await StoreFloor.measure(
      ingested: dir.appendingPathComponent("\(name)-1.sqlite"),
      path: dir.appendingPathComponent("\(name)-floor.sqlite"), sources: defs,
      transactions: Set(runs.values.map(\.transactions) + [feeds.count]).sorted())
    print("  raw SQLite limit: the same rows copied by SQLite itself, in the same batching:")
    for floor in floors {
      let batching =
        floor.transactions == feeds.count
        ? "one transaction per feed"
        : "\(floor.transactions) transactions (\(fmt(Double(feeds.count) / Double(floor.transactions))) feeds each)"
      var line =
        "    \(floor.layout.rawValue), \(batching): \(fmt(floor.seconds)) s = \(Int(Double(entries) / floor.seconds)) entries/s"
      if floor.layout == .full {
        let same = runs.keys.sorted().filter { runs[$0]!.transactions == floor.transactions }
        let ratios = same.map {
          "\($0) in flight \(fmt(floor.seconds / runs[$0]!.seconds))× of this limit"
        }
        if !ratios.isEmpty { line += "; ingest throughput: " + ratios.joined(separator: ", ") }
      }
      print(line)
    }
  }

  func sourceDefinitions(_ count: Int) -> [SourceDefinition] {
    (0..<count).map {
      SourceDefinition(
        id: "feed-\($0)", url: "https://feed\($0).example/rss", categories: ["c\($0 % 7)"],
        priority: $0 % 3)
    }
  }

  /// Ingests `feeds`, one crawl result per feed, `inFlight` at a time (group-committed: several
  /// concurrent results may share a transaction); returns the first (all new) pass's wall
  /// seconds and how many write transactions it took.
  func ingestBench(
    _ label: String, _ feeds: [Feed], inFlight: Int, path: URL, options: StoreOptions
  ) async throws -> (seconds: Double, transactions: Int) {
    let store = try SQLiteFeedStore(path: path.path, options: options)
    let defs = sourceDefinitions(feeds.count)
    try await store.syncSources(defs)
    let entries = feeds.reduce(0) { $0 + $1.entries.count }
    let now = Date()

    /// Records every feed once, `inFlight` crawl results at a time.
    func pass(at: Date) async throws -> (seconds: Double, cpu: Double, report: IngestReport) {
      let start = DispatchTime.now()
      let cpuStart = processCPUSeconds()
      var report = IngestReport()
      func ingest(_ i: Int) async throws -> IngestReport {
        try await store.record(
          FetchOutcome(
            sourceID: "feed-\(i)", result: .fetched, attemptedAt: at, httpStatus: 200,
            nextDue: at.addingTimeInterval(1800)), feed: feeds[i])
      }
      try await withThrowingTaskGroup(of: IngestReport.self) { group in
        var next = 0
        while next < min(inFlight, feeds.count) {
          let i = next
          group.addTask { try await ingest(i) }
          next += 1
        }
        while let r = try await group.next() {
          report.inserted += r.inserted
          report.updated += r.updated
          report.joinedGroups += r.joinedGroups
          report.unchanged += r.unchanged
          if next < feeds.count {
            let i = next
            group.addTask { try await ingest(i) }
            next += 1
          }
        }
      }
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
      return (seconds, processCPUSeconds() - cpuStart, report)
    }

    let before = store.core.commitStats
    let first = try await pass(at: now)
    let stats = store.core.commitStats
    // With group commit off every result is its own transaction (the committer is not used).
    let transactions =
      options.commitBatch > 1 ? stats.transactions - before.transactions : feeds.count
    let counts = try await store.counts()
    print(
      """
      \(label), \(inFlight) in flight: \(feeds.count) feeds, \(entries) entries in \(fmt(first.seconds)) s wall = \
      \(Int(Double(entries) / first.seconds)) entries/s; \(fmt(first.cpu)) s CPU = \
      \(Int(Double(entries) / first.cpu)) entries/s per core (dedup on; group commit: \
      \(transactions) transactions, \(fmt(Double(feeds.count) / Double(max(1, transactions)))) feeds \
      each, largest \(stats.largestBatch), writer busy \
      \(fmt(Double(stats.writerNanoseconds - before.writerNanoseconds) / 1e9)) s; commit_batch \
      \(options.commitBatch), commit_delay \(Int(options.commitDelay * 1000)) ms)
        inserted \(first.report.inserted), same-feed repeats \(first.report.unchanged), \
      joined another source's story \(first.report.joinedGroups); groups \(counts.duplicateGroups), \
      merged groups \(counts.mergedGroups)
      """)
    // The daemon's usual case: the same feeds fetched again, nothing new.
    let again = try await pass(at: now.addingTimeInterval(3600))
    print(
      """
        same feeds again (\(again.report.unchanged) unchanged, \(again.report.updated) updated, \
      \(again.report.inserted) new): \(fmt(again.seconds)) s wall = \
      \(Int(Double(entries) / again.seconds)) entries/s; \(fmt(again.cpu)) s CPU
      """)
    try await store.close()
    return (first.seconds, transactions)
  }

  func bigBench(_ path: URL) async throws {
    try? FileManager.default.removeItem(at: path)
    let perSource = max(1, big / sources)
    let store = try SQLiteFeedStore(
      path: path.path, options: StoreOptions(maxEntriesPerSource: max(500, perSource)))
    let categories = (0..<20).map { "sector-\($0)" }
    let defs = (0..<sources).map { i in
      SourceDefinition(
        id: "src-\(i)", url: "https://src\(i).example/feed",
        categories: i % 3 == 0
          ? [categories[i % 20], categories[(i / 20) % 20]] : [categories[i % 20]],
        priority: i % 5, language: i % 4 == 0 ? "en" : "lt")
    }
    try await store.syncSources(defs)
    let now = Date()
    var generator = Synthetic(seed: 42)
    let start = DispatchTime.now()
    let cpuStart = processCPUSeconds()
    var joined = 0
    for i in 0..<sources {
      let feed = generator.bigFeed(source: i, entries: perSource, now: now)
      let r = try await store.record(
        FetchOutcome(
          sourceID: "src-\(i)", result: .fetched, attemptedAt: now, httpStatus: 200,
          nextDue: now.addingTimeInterval(1800)), feed: feed)
      joined += r.joinedGroups
      if (i + 1) % 1000 == 0 {
        let s = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        print("  built \((i + 1) * perSource) entries, \(Int(Double((i + 1) * perSource) / s))/s")
      }
    }
    let buildSeconds =
      Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let buildCPU = processCPUSeconds() - cpuStart
    let counts = try await store.counts()
    let size = (try? FileManager.default.attributesOfItem(atPath: path.path)[.size] as? Int) ?? 0
    print(
      """
      big store: \(counts.entries) entries, \(counts.sources) sources, \(counts.duplicateGroups) \
      groups (\(counts.mergedGroups) merged, \(joined) joins) built through record() in \
      \(fmt(buildSeconds)) s wall = \(Int(Double(counts.entries) / buildSeconds)) entries/s \
      (\(fmt(buildCPU)) s CPU, incl. generating the feeds); \
      file \(size / 1_000_000) MB
      """)

    func time(_ label: String, _ query: TimelineQuery) async throws {
      var samples: [Double] = []
      var items = 0
      for _ in 0..<runs {
        let t = DispatchTime.now()
        let page = try await store.timeline(query)
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e6)
        items = page.items.count
      }
      samples.sort()
      print(
        "  \(label): median \(fmt(samples[samples.count / 2])) ms (min \(fmt(samples[0])), max \(fmt(samples.last!))), \(items) items"
      )
    }
    let mid = TimelineCursor(sortDate: now.addingTimeInterval(-150 * 86400), groupID: .max)
    print("timeline at \(counts.entries) entries (limit 50, \(runs) runs each):")
    try await time("first page, merged", TimelineQuery(limit: 50))
    try await time("first page, category sector-7", TimelineQuery(category: "sector-7", limit: 50))
    try await time("first page, language en", TimelineQuery(language: "en", limit: 50))
    try await time("first page, one source", TimelineQuery(sourceID: "src-4242", limit: 50))
    try await time(
      "first page, category + language",
      TimelineQuery(category: "sector-3", language: "en", limit: 50))
    try await time(
      "deep page (cursor 150 days back), merged", TimelineQuery(limit: 50, before: mid))
    try await time(
      "deep page (cursor 150 days back), category",
      TimelineQuery(category: "sector-7", limit: 50, before: mid))
    var t = DispatchTime.now()
    _ = try await store.counts()
    print(
      "  counts(): \(fmt(Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e6)) ms"
    )
    t = DispatchTime.now()
    let facets = try await store.facets()
    print(
      "  facets(): \(fmt(Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e6)) ms (\(facets.categories.count) categories, \(facets.languages.count) languages)"
    )
    try await store.close()
  }

  func fmt(_ x: Double) -> String { String(format: "%.2f", x) }

  /// CPU time of the whole process (all threads: the store works on GRDB's queue). On a shared
  /// machine this is the fairer throughput figure; wall time is printed too.
  func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}

/// Deterministic synthetic feeds.
struct Synthetic {
  var state: UInt64
  init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

  mutating func next() -> UInt64 {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state
  }
  mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }

  static let words = [
    "Lietuvos", "pramonės", "prekybos", "rūmai", "narių", "susitikimas", "energetikos",
    "saulės", "vėjo", "elektrinių", "investicijos", "eksportas", "Vilniuje", "Kaune", "Klaipėdoje",
    "įmonės", "darbuotojų", "atlyginimai", "mokesčių", "reforma", "konferencija", "paroda",
    "verslo", "forumas", "sutartis", "pasirašyta", "naujas", "projektas", "statybos", "uostas",
    "logistika", "transportas", "geležinkelis", "skaitmeninimas", "inovacijos", "tyrimai",
    "universitetas", "studentai", "chamber", "members", "export", "growth", "energy", "market",
    "report", "quarter", "results", "trade", "agreement", "signed", "digital", "future",
  ]

  mutating func sentence(_ n: Int) -> String {
    (0..<n).map { _ in Self.words[int(Self.words.count)] }.joined(separator: " ")
  }

  /// Corpus-shaped: 10–100 entries per feed, ~15 % of entries drawn from a shared story pool
  /// (same guid, link and title in every feed that carries them), a few KB of HTML each.
  static func corpusLike(files: Int, seed: UInt64) -> [Feed] {
    var g = Synthetic(seed: seed)
    let base = Date(timeIntervalSince1970: 1_700_000_000)
    let stories = (0..<400).map { k -> Entry in
      let title = g.sentence(6 + g.int(6))
      return Entry(
        id: "tag:story.example,2024:story-\(k)", title: title,
        link: "https://story.example/straipsniai/\(k)",
        published: base.addingTimeInterval(-Double(g.int(300 * 86400))),
        summary: .html("<p>\(g.sentence(30))</p>"))
    }
    return (0..<files).map { f in
      let n = 10 + g.int(91)
      let entries = (0..<n).map { i -> Entry in
        if g.int(100) < 15 {
          var e = stories[g.int(stories.count)]
          e.content = .html("<p>\(g.sentence(400))</p>")
          return e
        }
        return Entry(
          id: g.int(10) == 0 ? nil : "site\(f)-\(i)-\(g.next() % 1_000_000)",
          title: g.sentence(5 + g.int(8)),
          link: "https://site\(f).example/\(i)/\(g.next() % 1_000_000)",
          published: base.addingTimeInterval(-Double(i * 3600 + g.int(3600))),
          summary: .html("<p>\(g.sentence(20 + g.int(40)))</p>"),
          content: .html("<p>\(g.sentence(300 + g.int(300)))</p><p>\(g.sentence(100))</p>"),
          authors: [Person(name: "Autorius \(g.int(50))")],
          categories: [Category(term: Self.words[g.int(Self.words.count)])])
      }
      return Feed(
        title: "Feed \(f)", link: "https://site\(f).example/", language: "lt", entries: entries)
    }
  }

  /// One source's share of the big store: entries spread over the last 300 days, 3 % of them
  /// copies of a shared story (same link) so the store has merged groups.
  mutating func bigFeed(source: Int, entries: Int, now: Date) -> Feed {
    let list = (0..<entries).map { i -> Entry in
      if int(100) < 3 {
        let k = int(20_000)
        return Entry(
          id: "tag:shared.example:\(k)", title: "Shared story \(k)",
          link: "https://shared.example/\(k)",
          published: now.addingTimeInterval(-Double(k % 300) * 86400),
          summary: .text("Shared story number \(k) lead text"))
      }
      return Entry(
        id: "src\(source)-\(i)", title: "\(sentence(7)) \(source)-\(i)",
        link: "https://src\(source).example/n/\(i)",
        published: now.addingTimeInterval(-Double(int(300 * 86400))),
        summary: .text(sentence(25)), content: .html("<p>\(sentence(40))</p>"))
    }
    return Feed(title: "Source \(source)", entries: list)
  }
}
