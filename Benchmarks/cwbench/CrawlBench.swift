import ArgumentParser
import AsyncHTTPClient
import Crawler
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging

/// Crawl benchmark: a `feed-server` child process on 127.0.0.1 serves `--sources` feeds; the
/// crawler runs full cycles against a temporary SQLite store:
///  1. cold: nothing stored, every source is a 200 and fully ingested;
///  2. mixed: conditional GETs, `--not-modified-ratio` of them 304, the rest changed (a 200 with
///     one new item) — the steady state of a real network;
///  3. all-304: the server restarted with ratio 1, every source answers 304.
/// Each reports the cycle time and the peak RSS so far (VmHWM).
struct CrawlBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "crawl-bench", abstract: "Full crawl cycles against a loopback feed server.")

  @Option(help: "Number of sources.") var sources: Int = 10_000
  @Option(help: "Share of 304s in the mixed cycle.") var notModifiedRatio: Double = 0.3
  @Flag(name: .customLong("all-304"), help: "Skip the mixed cycle: cold, then all-304 only.")
  var all304 = false
  @Option(help: "Global concurrency.") var concurrency: Int = 16
  @Option(
    help: "Per-host limit (all sources share the host 127.0.0.1, so this is the real limit).")
  var perHost: Int = 16
  @Flag(help: "Use the in-memory store instead of SQLite (isolates the crawler).") var memoryStore =
    false
  @Option(help: "Directory for the database (default: a temp dir, removed afterwards).")
  var workdir: String?

  func run() async throws {
    LibXML.bootstrap()
    let dir =
      workdir.map { URL(fileURLWithPath: $0) }
      ?? FileManager.default.temporaryDirectory.appendingPathComponent(
        "crawl-bench-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { if workdir == nil { try? FileManager.default.removeItem(at: dir) } }

    var server = try ServerProcess.start(sources: sources, ratio: notModifiedRatio, port: 0)
    let port = server.port
    print("feed-server pid \(server.pid) on 127.0.0.1:\(port), \(sources) sources")

    let store: any FeedStore
    if memoryStore {
      store = BenchMemoryStore()
    } else {
      store = try SQLiteFeedStore(path: dir.appendingPathComponent("crawl.sqlite").path)
    }
    var options = CrawlerOptions(
      timeout: 30, maxBody: 10 << 20, perHost: perHost, concurrency: concurrency,
      userAgent: "cwbench/1.0")
    options.backoffCap = 86_400
    let client = HTTPClient(
      eventLoopGroupProvider: .singleton, configuration: options.httpClientConfiguration())
    var logger = Logger(label: "crawl-bench")
    logger.logLevel = .error
    let crawler = Crawler(store: store, options: options, logger: logger, httpClient: client)
    let definitions = (0..<sources).map {
      SourceDefinition(id: "s\($0)", url: "http://127.0.0.1:\(port)/s/\($0).xml", interval: 1800)
    }
    try await crawler.setSources(definitions)
    print("baseline RSS before crawling: \(rssMB(field: "VmRSS")) MB")

    func cycle(_ name: String) async {
      let r = await crawler.crawlOnce()
      print(
        String(
          format:
            "%@ %7.2f s  fetched %5d  not-modified %5d  failed %4d  new entries %7d  peak RSS %4d MB",
          name.padding(toLength: 8, withPad: " ", startingAt: 0) as NSString, r.duration, r.fetched,
          r.notModified, r.failed, r.newEntries,
          rssMB(field: "VmHWM")))
      fflush(nil)  // progress is visible through a pipe too
    }
    await cycle("cold")
    if !all304 { await cycle("mixed") }
    server.stop()
    server = try ServerProcess.start(sources: sources, ratio: 1, port: port)
    await cycle("all-304")
    server.stop()
    try await client.shutdown()
    try await store.close()
    if let sqlite = try? FileManager.default.attributesOfItem(
      atPath: dir.appendingPathComponent("crawl.sqlite").path)[.size] as? Int
    {
      print("database: \(sqlite >> 20) MB")
    }
  }

  func rssMB(field: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
      return -1
    }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
      let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
      return kb / 1024
    }
    return -1
  }
}

/// `cwbench feed-server` as a child process; it prints its port once listening.
struct ServerProcess {
  let process: Process
  let port: Int
  var pid: Int32 { process.processIdentifier }

  static func start(sources: Int, ratio: Double, port: Int) throws -> ServerProcess {
    let process = Process()
    // Relative paths resolve against the current directory, as the shell did.
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    process.arguments = [
      "feed-server", "--port", "\(port)", "--sources", "\(sources)", "--not-modified-ratio",
      "\(ratio)", "--lifetime", "7200",
    ]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    // Wait for "listening PORT" (retrying a reused port for a moment).
    var buffer = Data()
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
      let chunk = out.fileHandleForReading.availableData
      if chunk.isEmpty {
        if !process.isRunning { break }
        continue
      }
      buffer.append(chunk)
      if let line = String(data: buffer, encoding: .utf8)?.split(separator: "\n").first(where: {
        $0.hasPrefix("listening ")
      }), let bound = Int(line.dropFirst("listening ".count)) {
        return ServerProcess(process: process, port: bound)
      }
    }
    process.terminate()
    throw ValidationError("feed-server did not start")
  }

  func stop() {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
  }
}

/// Enough of a store to time the crawler alone (`--memory-store`): states only, entries counted.
final class BenchMemoryStore: FeedStore, @unchecked Sendable {
  private let lock = NSLock()
  private var states: [String: SourceState] = [:]
  private var seen: [String: Set<String>] = [:]

  func syncSources(_ definitions: [SourceDefinition]) async throws {
    lock.withLock {
      for d in definitions where states[d.id] == nil {
        states[d.id] = SourceState(id: d.id, url: d.url, kind: d.kind)
      }
    }
  }
  func sourceState(id: String) async throws -> SourceState? { lock.withLock { states[id] } }
  func sourceStates() async throws -> [SourceState] {
    lock.withLock { states.values.sorted { $0.id < $1.id } }
  }
  func record(_ outcome: FetchOutcome, feed: Feed?) async throws -> IngestReport {
    lock.withLock {
      var s = states[outcome.sourceID] ?? SourceState(id: outcome.sourceID, url: "")
      s.lastAttempt = outcome.attemptedAt
      s.nextDue = outcome.nextDue
      s.httpStatus = outcome.httpStatus
      if outcome.result == .failed { s.consecutiveFailures += 1 } else { s.consecutiveFailures = 0 }
      if let e = outcome.etag { s.etag = e }
      if let h = outcome.bodyHash { s.bodyHash = h }
      states[outcome.sourceID] = s
      var report = IngestReport()
      for entry in feed?.entries ?? [] {
        if seen[outcome.sourceID, default: []].insert(entry.id ?? entry.link ?? "").inserted {
          report.inserted += 1
        }
      }
      return report
    }
  }
  func timeline(_ query: TimelineQuery) async throws -> TimelinePage { TimelinePage(items: []) }
  func counts() async throws -> StoreCounts {
    StoreCounts(sources: 0, entries: 0, duplicateGroups: 0, mergedGroups: 0, tombstones: 0)
  }
  func facets() async throws -> StoreFacets { StoreFacets(categories: [], languages: []) }
  func changeToken() async throws -> Int64 { 0 }
  /// Nothing to expire: the benchmark's stores hold one crawl's worth of entries.
  func sweep(at: Date) async throws -> RetentionSweep { RetentionSweep() }
  /// No archive page is ever sealed here: the current document holds the whole timeline
  /// (the sealing rules are the SQLite store's, tested in FeedStoreTests/PublisherTests).
  func archives(_ query: TimelineQuery, pageSize: Int) async throws -> ArchiveLayout {
    ArchiveLayout(pages: [])
  }
  func close() async throws {}
}
