import ArgumentParser
import AsyncHTTPClient
import FeedModel
import FeedStore
import Foundation
import Hummingbird
import Logging
import Publisher
import Server

/// `cwbench serve-bench`: our server (in-process, over a store with realistic data) against nginx
/// serving the same bytes from a file, measured by `wrk` in the same run — 200s, then 304s with
/// `If-None-Match` — plus the publisher's render time (optionally from a 1M-entry SQLite store).
struct ServeBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve-bench",
    abstract: "wrk against clusterwire's server and nginx serving the same document")

  @Option(help: "Entries in the in-memory bench store.") var entries = 3000
  @Option(help: "Sources in the in-memory bench store.") var sources = 60
  @Option(help: "Path to measure.") var path = "/feed.atom"
  @Option(help: "wrk duration per run, seconds.") var duration = 10
  @Option(help: "wrk connections.") var connections = 32
  @Option(help: "wrk threads.") var threads = 2
  @Option(help: "Rounds of every row, interleaved (medians and spread are printed).")
  var rounds = 1
  @Option(help: "nginx worker processes (our server runs one event loop per core).")
  var nginxWorkers = ProcessInfo.processInfo.activeProcessorCount
  @Option(help: "Port for nginx on 127.0.0.1.") var nginxPort = 18481
  @Option(help: "Port for clusterwire (0 = any).") var port = 0
  @Option(
    help:
      "Build a SQLite store with this many entries and time the merged feed's render (0 = skip).")
  var renderEntries = 0
  @Option(help: "After the runs, keep serving this many seconds (for a browser or curl).")
  var holdSeconds = 0
  @Flag(help: "Skip wrk/nginx (render timing and --hold-seconds only).") var noWrk = false

  func run() async throws {
    let store = BenchStore.make(sources: sources, entries: entries)
    let options = PublisherOptions(
      baseURL: URL(string: "https://news.example.org/")!, title: "Lietuvos klasterių naujienos",
      subtitle: "Klasterių tinklo ir narių naujienos vienoje vietoje", author: "Klasterių tinklas",
      entriesPerPage: 50, language: "lt", generatorVersion: "bench")
    let publisher = Publisher(store: store, options: options)

    // Render time: a fresh publisher per run, so every render is cold.
    var renders: [Double] = []
    for _ in 0..<20 {
      let fresh = Publisher(store: store, options: options)
      let start = ContinuousClock.now
      _ = try await fresh.document(path: "/feed.atom", query: [:])
      renders.append(Self.ms(ContinuousClock.now - start))
    }
    renders.sort()
    print(
      "render /feed.atom from \(entries)-entry memory store: median \(Self.f(renders[renders.count / 2])) ms, "
        + "max \(Self.f(renders.last!)) ms")

    var logger = Logger(label: "serve-bench")
    // Cancelling the server at the end logs shutdown noise at error level.
    logger.logLevel = .critical
    let (stream, continuation) = AsyncStream<Int>.makeStream()
    let app = makeServer(
      publisher: publisher, options: ServerOptions(host: "127.0.0.1", port: port), logger: logger,
      readiness: { (true, "ok") }, metrics: { "" }, onRunning: { continuation.yield($0) })
    let serverTask = Task { try await app.runService(gracefulShutdownSignals: []) }
    var ourPort = 0
    for await p in stream {
      ourPort = p
      break
    }
    defer { serverTask.cancel() }

    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    let (body, etag) = try await Self.fetch(client, "http://127.0.0.1:\(ourPort)\(path)")
    print("document \(path): \(body.count) bytes, ETag \(etag ?? "-")")

    if !noWrk {
      try await compareWithNginx(client: client, ourPort: ourPort, body: body, etag: etag ?? "")
    }
    try await client.shutdown()

    if renderEntries > 0 { try await renderFromSQLite(options: options) }

    if holdSeconds > 0 {
      print("serving on http://127.0.0.1:\(ourPort)/ for \(holdSeconds) s")
      try await Task.sleep(for: .seconds(holdSeconds))
    }
    serverTask.cancel()
    _ = try? await serverTask.value
  }

  // MARK: wrk vs nginx

  func compareWithNginx(client: HTTPClient, ourPort: Int, body: [UInt8], etag: String) async throws
  {
    guard let wrk = Self.which("wrk"),
      let nginx = Self.which("nginx") ?? Self.which("/usr/sbin/nginx")
    else {
      throw ValidationError("needs wrk and nginx: apt-get install -y wrk nginx-light")
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "serve-bench-\(getpid())")
    try FileManager.default.createDirectory(
      at: dir.appendingPathComponent("www"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("www" + path)
    try FileManager.default.createDirectory(
      at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(body).write(to: file)
    // nginx as a production static server: sendfile, keepalive without a request limit, the
    // open-file cache (no open/fstat per request), one worker per core, SO_REUSEPORT so the
    // kernel spreads connections over the workers evenly, no access log (ours keeps none).
    let conf = """
      daemon off;
      worker_processes \(nginxWorkers);
      pid \(dir.path)/nginx.pid;
      error_log \(dir.path)/error.log warn;
      events { worker_connections 1024; }
      http {
        access_log off;
        sendfile on;
        tcp_nopush on;
        tcp_nodelay on;
        keepalive_requests 1000000;
        keepalive_timeout 30s;
        open_file_cache max=1000 inactive=60s;
        open_file_cache_valid 60s;
        client_body_temp_path \(dir.path)/body;
        proxy_temp_path \(dir.path)/proxy;
        fastcgi_temp_path \(dir.path)/fastcgi;
        uwsgi_temp_path \(dir.path)/uwsgi;
        scgi_temp_path \(dir.path)/scgi;
        types { application/atom+xml atom; }
        default_type application/octet-stream;
        server {
          listen 127.0.0.1:\(nginxPort) reuseport;
          root \(dir.path)/www;
          etag on;
          add_header Cache-Control "public, max-age=300";
        }
      }
      """
    let confFile = dir.appendingPathComponent("nginx.conf")
    try conf.write(to: confFile, atomically: true, encoding: .utf8)
    let proc = Process()
    proc.executableURL = URL(fileURLWithPath: nginx)
    proc.arguments = ["-c", confFile.path, "-p", dir.path]
    proc.standardOutput = FileHandle.nullDevice
    try proc.run()
    defer {
      // Only the nginx master we started, by its pid (it stops its own workers).
      if proc.isRunning { kill(proc.processIdentifier, SIGQUIT) }
      proc.waitUntilExit()
    }
    let nginxURL = "http://127.0.0.1:\(nginxPort)\(path)"
    var nginxETag: String?
    for _ in 0..<50 {
      if let (b, e) = try? await Self.fetch(client, nginxURL) {
        guard b == body else { throw ValidationError("nginx serves different bytes") }
        nginxETag = e
        break
      }
      try await Task.sleep(for: .milliseconds(100))
    }
    guard let nginxETag else {
      throw ValidationError("nginx did not start: see \(dir.path)/error.log")
    }
    let ours = "http://127.0.0.1:\(ourPort)\(path)"

    let nginxHead = try Self.headBytes(nginxURL)
    let ourHead = try Self.headBytes(ours)
    print(
      "response head bytes (200, no gzip): nginx \(nginxHead), clusterwire \(ourHead); body \(body.count)"
    )
    print(
      "\nwrk -t\(threads) -c\(connections) -d\(duration)s --latency, same machine, loopback; "
        + "wrk, nginx (\(nginxWorkers) workers) and clusterwire (one event loop per core) share "
        + "\(ProcessInfo.processInfo.activeProcessorCount) cores; \(rounds) round(s), rows interleaved:"
    )
    let plan: [(String, String, String?)] = [
      ("nginx 200", nginxURL, nil),
      ("clusterwire 200", ours, nil),
      ("nginx 304", nginxURL, "If-None-Match: \(nginxETag)"),
      ("clusterwire 304", ours, "If-None-Match: \(etag)"),
      ("clusterwire 200 gzip", ours, "Accept-Encoding: gzip"),
    ]
    var results = [[WrkResult]](repeating: [], count: plan.count)
    for round in 1...max(1, rounds) {
      for (i, row) in plan.enumerated() {
        let r = try runWrk(wrk, row.1, header: row.2)
        results[i].append(r)
        print(
          "ROUND \(round) | \(row.0) | \(Self.f(r.rps)) req/s | p50 \(Self.f(r.p50ms)) ms | p99 \(Self.f(r.p99ms)) ms | \(r.bad)"
        )
      }
    }
    func median(_ xs: [Double]) -> Double {
      let s = xs.sorted()
      return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    print(
      "\n\(Self.pad("target", 22)) \(Self.pad("req/s median", 14)) \(Self.pad("min-max", 20)) \(Self.pad("p50", 10)) \(Self.pad("p99", 10)) errors/non-2xx3xx"
    )
    var medians: [Double] = []
    for (i, row) in plan.enumerated() {
      let rps = results[i].map(\.rps)
      medians.append(median(rps))
      let bad = Set(results[i].map(\.bad)).sorted().joined(separator: "; ")
      print(
        "MEDIAN | \(row.0) | \(Self.f(median(rps))) | \(Self.f(rps.min()!))-\(Self.f(rps.max()!)) | "
          + "\(Self.f(median(results[i].map(\.p50ms)))) | \(Self.f(median(results[i].map(\.p99ms)))) | \(bad)"
      )
    }
    print(
      "ratio clusterwire/nginx (medians): 200 = \(Self.f(medians[1] / medians[0]))x, 304 = \(Self.f(medians[3] / medians[2]))x (target >= 1.0)"
    )
    print("clusterwire 304 vs its own 200: \(Self.f(medians[3] / medians[1]))x")
  }

  /// Bytes of a response head (status line and fields, up to the blank line), read raw.
  static func headBytes(_ url: String) throws -> Int {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = ["-s", "-D", "-", "-o", "/dev/null", url]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return out.count
  }

  struct WrkResult {
    var rps: Double
    var p50ms: Double
    var p99ms: Double
    var bad: String
  }

  func runWrk(_ wrk: String, _ url: String, header: String?) throws -> WrkResult {
    var args = ["-t\(threads)", "-c\(connections)", "-d\(duration)s", "--latency"]
    if let header { args += ["-H", header] }
    args.append(url)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: wrk)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    var rps = 0.0
    var p50 = 0.0
    var p99 = 0.0
    var bad: [String] = []
    for line in out.split(separator: "\n") {
      let f = line.split(separator: " ", omittingEmptySubsequences: true)
      if f.first == "Requests/sec:", f.count > 1 { rps = Double(f[1]) ?? 0 }
      if f.first == "50%", f.count > 1 { p50 = Self.parseLatency(String(f[1])) }
      if f.first == "99%", f.count > 1 { p99 = Self.parseLatency(String(f[1])) }
      if line.contains("Non-2xx or 3xx") || line.contains("Socket errors") {
        bad.append(line.trimmingCharacters(in: .whitespaces))
      }
    }
    return WrkResult(
      rps: rps, p50ms: p50, p99ms: p99, bad: bad.isEmpty ? "none" : bad.joined(separator: "; "))
  }

  static func parseLatency(_ s: String) -> Double {
    for (unit, factor) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where s.hasSuffix(unit) {
      return (Double(s.dropLast(unit.count)) ?? 0) * factor
    }
    return Double(s) ?? 0
  }

  // MARK: 1M-entry SQLite render

  func renderFromSQLite(options: PublisherOptions) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "serve-bench-db-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    let perSource = 1000
    let sourceCount = max(1, renderEntries / perSource)
    let store = try SQLiteFeedStore(
      path: dir.appendingPathComponent("store.sqlite").path,
      options: StoreOptions(
        maxEntriesPerSource: perSource * 2, maxAge: 100 * 365 * 86400, duplicateWindow: 3600))
    let defs = (0..<sourceCount).map {
      SourceDefinition(
        id: "src-\($0)", url: "https://s\($0).example.lt/feed",
        categories: [BenchStore.sectors[$0 % BenchStore.sectors.count]])
    }
    try await store.syncSources(defs)
    let start = ContinuousClock.now
    let now = Date()
    for s in 0..<sourceCount {
      let feed = Feed(
        title: "Šaltinis \(s)", link: "https://s\(s).example.lt/",
        entries: (0..<perSource).map { i in BenchStore.entry(source: s, index: i, now: now) })
      try await store.record(
        FetchOutcome(
          sourceID: "src-\(s)", result: .fetched, attemptedAt: now, httpStatus: 200, nextDue: now),
        feed: feed)
      if s % 100 == 99 {
        print(
          "  ingested \((s + 1) * perSource) entries in \(Self.f(Self.ms(ContinuousClock.now - start) / 1000)) s"
        )
      }
    }
    let counts = try await store.counts()
    print("SQLite store: \(counts.entries) entries, \(counts.duplicateGroups) groups")
    var times: [Double] = []
    for _ in 0..<5 {
      let fresh = Publisher(store: store, options: options)
      let t = ContinuousClock.now
      _ = try await fresh.document(path: "/feed.atom", query: [:])
      times.append(Self.ms(ContinuousClock.now - t))
    }
    times.sort()
    print(
      "render /feed.atom (50 entries) from the \(counts.entries)-entry SQLite store: median \(Self.f(times[2])) ms, max \(Self.f(times[4])) ms"
    )
    let fresh = Publisher(store: store, options: options)
    let t = ContinuousClock.now
    let doc = try await fresh.document(
      path: "/feed.atom",
      query: ["before": "\(Int64(now.timeIntervalSince1970 * 1000) - 86_400_000 * 30)-0"])
    print(
      "render of a deep page (?before= 30 days back): \(Self.f(Self.ms(ContinuousClock.now - t))) ms, \(doc?.body.count ?? 0) bytes"
    )
    try await store.close()
  }

  // MARK: helpers

  static func fetch(_ client: HTTPClient, _ url: String) async throws -> ([UInt8], String?) {
    let resp = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
    let body = try await resp.body.collect(upTo: 64 << 20)
    guard resp.status == .ok else { throw ValidationError("\(url): HTTP \(resp.status.code)") }
    return (Array(buffer: body), resp.headers.first(name: "etag"))
  }

  static func which(_ name: String) -> String? {
    if name.hasPrefix("/") {
      return FileManager.default.isExecutableFile(atPath: name) ? name : nil
    }
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin", "/sbin", "/bin"] {
      let p = dir + "/" + name
      if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
  }

  static func ms(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
  }
  static func f(_ v: Double) -> String { String(format: "%.2f", v) }
  static func pad(_ s: String, _ n: Int) -> String {
    s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
  }
}

/// A read-only in-memory store with realistic Lithuanian news, so the HTTP figures measure the
/// server, not SQLite.
final class BenchStore: FeedStore, @unchecked Sendable {
  static let sectors = [
    "ict", "fintech", "creative-industries", "manufacturing", "agri-food", "energy", "transport",
    "health", "tourism",
  ]
  let states: [SourceState]
  let items: [TimelineItem]

  init(states: [SourceState], items: [TimelineItem]) {
    self.states = states
    self.items = items
  }

  static let words = [
    "klasteris", "inovacijos", "eksportas", "bendradarbiavimas", "skaitmenizacija", "gamyba",
    "energetika",
    "tvarumas", "startuoliai", "investicijos", "mokslas", "universitetas", "partneriai", "forumas",
    "Vilniuje",
    "Kaune", "Klaipėdoje", "Šiauliuose", "Panevėžyje", "projektas", "mugė", "konferencija",
    "technologijos",
    "dirbtinis", "intelektas", "finansai", "sveikata", "turizmas", "transportas", "logistika",
    "maistas",
    "ūkininkai", "kūrybinės", "industrijos", "dizainas", "robotika", "žaliasis", "kursas",
    "vandenilis",
    "saulės", "elektrinės", "pastatai", "renovacija", "mokymai", "stipendijos", "eksporto",
    "rinkos",
    "Vokietija", "Skandinavija", "Japonija", "programa", "kvietimas", "paraiškos", "laimėtojai",
    "apdovanojimai",
  ]

  /// Distinct, realistic-looking text per (source, index), so the store does not fold everything
  /// into a few near-duplicate groups.
  static func phrase(_ seed: Int, _ count: Int) -> String {
    var x = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 &+ 0x632B_E59B_D9B4_E019
    var out: [String] = []
    for _ in 0..<count {
      x ^= x >> 31
      x = x &* 0xBF58_476D_1CE4_E5B9
      x ^= x >> 27
      out.append(words[Int(x % UInt64(words.count))])
    }
    return out.joined(separator: " ")
  }

  static func entry(source: Int, index: Int, now: Date) -> Entry {
    let date = now.addingTimeInterval(-Double(index * 3600 + source * 37))
    let seed = source * 1_000_003 + index
    var title = phrase(seed, 7)
    title = title.prefix(1).uppercased() + title.dropFirst()
    return Entry(
      id: "https://s\(source).example.lt/?p=\(index)",
      title: title, link: "https://s\(source).example.lt/naujienos/\(index)/", published: date,
      updated: date,
      summary: .html(
        "<p>Lietuvos klasterių tinklas: \(phrase(seed &+ 7, 18)). Renginyje dalyvavo "
          + "\(index % 90 + 10) organizacijų atstovų; \(phrase(seed &+ 11, 12)).</p>"),
      authors: [Person(name: "Redakcija \(source)")],
      categories: [Category(term: phrase(seed &+ 3, 1)), Category(term: phrase(seed &+ 5, 1))])
  }

  static func make(sources: Int, entries: Int) -> BenchStore {
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    let states = (0..<sources).map { s in
      SourceState(
        id: "src-\(s)", url: "https://s\(s).example.lt/feed/", title: "Klasteris \(s)",
        categories: [sectors[s % sectors.count]], language: "lt", lastSuccess: now,
        httpStatus: 200, consecutiveFailures: s % 17 == 5 ? 3 : 0,
        lastError: s % 17 == 5 ? "HTTP 503 Service Unavailable" : nil,
        failingSince: s % 17 == 5 ? now.addingTimeInterval(-7200) : nil,
        feedID: "https://s\(s).example.lt/", feedTitle: "Klasteris \(s)",
        feedLink: "https://s\(s).example.lt/",
        feedUpdated: now, feedAuthor: "Klasteris \(s)", entryCount: entries / max(1, sources))
    }
    var items: [TimelineItem] = []
    for i in 0..<entries {
      let s = i % sources
      let e = entry(source: s, index: i / sources, now: now)
      let stored = StoredEntry(
        atomID: e.id!, sourceID: "src-\(s)", entry: e, firstSeen: e.published!,
        contentUpdated: e.published!,
        sortDate: e.published!, language: "lt")
      let dups =
        i % 10 == 0
        ? [
          DuplicateRef(
            atomID: "urn:x:dup:\(i)", sourceID: "src-\((s + 1) % sources)",
            sourceTitle: "Klasteris \((s + 1) % sources)", title: e.title,
            link: "https://dup.example.lt/\(i)")
        ]
        : []
      items.append(
        TimelineItem(groupID: Int64(i + 1), entry: stored, source: states[s], duplicates: dups))
    }
    items.sort { ($0.entry.sortDate, $0.groupID) > ($1.entry.sortDate, $1.groupID) }
    return BenchStore(states: states, items: items)
  }

  func syncSources(_ definitions: [SourceDefinition]) async throws {}
  func sourceState(id: String) async throws -> SourceState? { states.first { $0.id == id } }
  func sourceStates() async throws -> [SourceState] { states }
  func record(_ outcome: FetchOutcome, feed: Feed?) async throws -> IngestReport { IngestReport() }

  func timeline(_ query: TimelineQuery) async throws -> TimelinePage {
    let key = { (c: TimelineCursor) in
      (Int64((c.sortDate.timeIntervalSince1970 * 1000).rounded()), c.groupID)
    }
    let rows = items.filter { item in
      (query.category.map { item.source.categories.contains($0) } ?? true)
        && (query.sourceID.map { item.entry.sourceID == $0 } ?? true)
        && (query.language.map { item.entry.language == $0 } ?? true)
    }
    var page: [TimelineItem]
    if let b = query.before {
      page = Array(rows.lazy.filter { key($0.cursor) < key(b) }.prefix(query.limit))
    } else if let a = query.after {
      page = Array(rows.filter { key($0.cursor) > key(a) }.suffix(query.limit))
    } else {
      page = Array(rows.prefix(query.limit))
    }
    let older = page.last.flatMap { l in
      rows.last.map { key($0.cursor) < key(l.cursor) } == true ? l.cursor : nil
    }
    let newer = page.first.flatMap { f in
      rows.first.map { key($0.cursor) > key(f.cursor) } == true ? f.cursor : nil
    }
    return TimelinePage(items: page, olderCursor: older, newerCursor: newer)
  }

  func counts() async throws -> StoreCounts {
    StoreCounts(
      sources: states.count, entries: items.count, duplicateGroups: items.count, mergedGroups: 0,
      tombstones: 0)
  }
  func facets() async throws -> StoreFacets {
    StoreFacets(categories: Self.sectors, languages: ["lt"])
  }
  func changeToken() async throws -> Int64 { 1 }
  /// Nothing to expire: the benchmark's stores hold one crawl's worth of entries.
  func sweep(at: Date) async throws -> RetentionSweep { RetentionSweep() }
  /// No archive page is ever sealed here: the current document holds the whole timeline
  /// (the sealing rules are the SQLite store's, tested in FeedStoreTests/PublisherTests).
  func archives(_ query: TimelineQuery, pageSize: Int) async throws -> ArchiveLayout {
    ArchiveLayout(pages: [])
  }
  func close() async throws {}
}
