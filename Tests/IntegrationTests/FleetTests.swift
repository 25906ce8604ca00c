import Foundation
import Hummingbird
import TestSupport
import XCTest

/// A fleet of real `clusterwire run` processes on one real PostgreSQL database (issue 14), crawling
/// one loopback origin that counts every request: the crawl is split (each source fetched once
/// per interval by the fleet, never twice), a SIGKILLed instance's sources are taken over within
/// the lease TTL with no entry lost, every instance serves the same bytes under the same ETag, a
/// drop-in plus SIGHUP adds a source fetched once, `copy-store` moves a SQLite store over intact,
/// and `/readyz` fails while the database is gone.
///
/// The database comes from `CLUSTERWIRE_TEST_POSTGRES_URL` (`.ci/run` starts a throwaway server
/// and sets it); each test gets a fresh database. Without it the tests fail under CI and are
/// skipped elsewhere.
final class FleetTests: XCTestCase {
  var dir: URL!
  var nodes: [FleetNode] = []
  var origin: FleetOrigin?
  var cleanups: [() -> Void] = []

  override func setUp() async throws {
    dir = try TestSupport.makeTempDirectory("cw-fleet")
  }

  override func tearDown() async throws {
    for node in nodes { node.stop() }
    await origin?.stop()
    for cleanup in cleanups.reversed() { cleanup() }
    if let dir, testRun?.hasSucceeded ?? false { try? FileManager.default.removeItem(at: dir) }
  }

  // MARK: - helpers

  /// A fresh database on the test server, dropped after the test.
  func freshDatabase() throws -> String {
    let db = try TestPostgresDatabase.fresh()
    cleanups.append { db.drop() }
    return db.url
  }

  /// The origin with `sources` sources of `items` items each, over three hosts.
  func startOrigin(sources: Int, items: Int = 3, delay: TimeInterval = 0) async throws
    -> FleetOrigin
  {
    let o = try await FleetOrigin.start(sources: sources, items: items, delay: delay)
    origin = o
    return o
  }

  /// Starts `count` instances on one store, each in its own directory with its own config
  /// (same sources and store, own listen port and instance id), and waits for READY=1 on each.
  func startFleet(
    count: Int, store: String, origin: FleetOrigin, crawl: String, fleet: String
  ) throws -> [FleetNode] {
    var started: [FleetNode] = []
    for i in 0..<count {
      let name = "node-\(["a", "b", "c", "d"][i])"
      let node = try FleetNode(
        name: name, parent: dir, store: "url = \"\(store)\"",
        sources: origin.sourceTables(), crawl: crawl, fleet: "instance = \"\(name)\"\n" + fleet)
      nodes.append(node)
      started.append(node)
    }
    for node in started where !node.waitReady() {
      throw FleetFailure("\(node.name): no READY=1\n\(node.stderrLog)")
    }
    return started
  }

  /// Polls `condition` (which may be async) until it is true or `timeout` passes.
  func eventually(timeout: TimeInterval, _ condition: () async throws -> Bool) async rethrows
    -> Bool
  {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if try await condition() { return true }
      try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
  }

  func cw(_ args: [String]) throws -> TestSupport.ProcessResult {
    try TestSupport.run(TestSupport.clusterwireBinary, args, timeout: 120)
  }

  /// `clusterwire status --json` of the node's config, decoded.
  func statusJSON(_ node: FleetNode) throws -> FleetStatus {
    let r = try cw(["status", "--json", "--config", node.config.path])
    guard r.status == 0 else { throw FleetFailure("status --json: \(r.stderrString)") }
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    do {
      return try decoder.decode(FleetStatus.self, from: r.stdout)
    } catch {
      throw FleetFailure("status --json: \(error)\n\(r.stdoutString.prefix(2000))")
    }
  }

  /// The entries in the store, as `status` counts them.
  func storedEntries(_ node: FleetNode) throws -> Int? { try statusJSON(node).entries }

  /// Where the instances' answers for `path` part: ETags, and the first differing bytes.
  static func difference(_ fleet: [FleetNode], _ path: String) -> String {
    let answers = fleet.map { $0.get(path) }
    var out = "etags \(answers.map { $0?.etag ?? "-" })"
    guard let a = answers.first??.body else { return out }
    for (node, other) in zip(fleet, answers).dropFirst() {
      guard let b = other?.body, b != a else { continue }
      let x = [UInt8](a)
      let y = [UInt8](b)
      let i = (0..<min(x.count, y.count)).first { x[$0] != y[$0] } ?? min(x.count, y.count)
      let from = max(0, i - 80)
      out +=
        "\n\(fleet[0].name) vs \(node.name) at byte \(i):\n  "
        + String(decoding: x[from..<min(x.count, i + 120)], as: UTF8.self) + "\n  "
        + String(decoding: y[from..<min(y.count, i + 120)], as: UTF8.self)
    }
    return out
  }

  static func entryCount(_ atom: String) -> Int { atom.components(separatedBy: "<entry").count - 1 }

  /// Every pair of consecutive requests for one source, as (source, gap in seconds).
  static func gaps(_ fetches: [FleetOrigin.Fetch], after: Date = .distantPast) -> [(
    String, TimeInterval
  )] {
    var bySource: [String: [Date]] = [:]
    for f in fetches where f.at >= after { bySource[f.source, default: []].append(f.at) }
    var out: [(String, TimeInterval)] = []
    for (source, times) in bySource {
      let sorted = times.sorted()
      for (a, b) in zip(sorted, sorted.dropFirst()) { out.append((source, b.timeIntervalSince(a))) }
    }
    return out
  }

  // MARK: - tests

  /// Three instances, one store, 30 sources over three hosts, a 4 s interval: after the start-up
  /// spread every source is fetched once per interval by the fleet — never twice within an
  /// interval (two requests for one source less than an interval apart would be a duplicate
  /// fetch), never left waiting much longer — and the crawl is split between the instances.
  func testThreeInstancesFetchEverySourceOncePerInterval() async throws {
    let store = try freshDatabase()
    // Each instance fetches one source at a time and the origin takes 0.15 s to answer: one
    // instance alone manages ~5 fetches/s, the 30 sources need 7.5/s, so the fleet keeps the
    // interval only if the crawl really is split.
    let origin = try await startOrigin(sources: 30, delay: 0.15)
    let interval: TimeInterval = 4
    let fleet = try startFleet(
      count: 3, store: store, origin: origin,
      crawl:
        "interval = \"4s\"\ntimeout = \"2s\"\nconnect_timeout = \"1s\"\nper_host = 2\nconcurrency = 1",
      fleet: "lease_ttl = \"8s\"\nheartbeat = \"1s\"")
    let everyoneFetched = await eventually(timeout: 60) { origin.unfetched().isEmpty }
    XCTAssertTrue(
      everyoneFetched, "never fetched: \(origin.unfetched())\n\(fleet[0].stderrLog)")

    // Watch two intervals (and a little) of steady state.
    let t0 = Date()
    try await Task.sleep(for: .seconds(2 * interval + 1.5))
    let fetches = origin.fetches()
    let window = fetches.filter { $0.at >= t0 }
    let gaps = Self.gaps(fetches)
    // Fetch start times at the origin jitter by the scheduling latency of three debug daemons
    // on two cores; a duplicate (two instances on one source) is two requests at once.
    let duplicates = gaps.filter { $0.1 < interval - 0.75 }
    XCTAssertEqual(
      duplicates.count, 0,
      "fetched twice within an interval: \(duplicates.prefix(10))\n\(fleet[0].stderrLog)")
    let late = gaps.filter { $0.1 > interval + 4 }
    XCTAssertEqual(
      late.count, 0, "sources left waiting well past their interval: \(late.prefix(10))")
    for source in origin.sourceIDs {
      let n = window.filter { $0.source == source }.count
      XCTAssertTrue((1...3).contains(n), "\(source) fetched \(n) times in two intervals")
    }

    // `status` lists the three live instances, on one configuration, and per source who
    // holds or last held it; the crawl is split, not done by one instance while others idle.
    let status = try statusJSON(fleet[0])
    XCTAssertEqual(status.fleet?.instances.map(\.id).sorted(), fleet.map(\.name).sorted())
    XCTAssertEqual(status.fleet?.configMismatch, false, "listen and instance differ, nothing else")
    XCTAssertTrue(
      status.fleet?.instances.allSatisfy { $0.heartbeatAgeSeconds <= 5 } ?? false,
      "\(status.fleet?.instances ?? [])")
    XCTAssertEqual(status.sources.count, 30)
    let holders = status.sources.compactMap(\.lastHolder)
    XCTAssertEqual(holders.count, 30, "a source names no last holder: \(status.sources)")
    XCTAssertTrue(Set(holders).isSubset(of: fleet.map(\.name)), "\(Set(holders))")
    XCTAssertGreaterThanOrEqual(Set(holders).count, 2, "one instance did all the work")
    // The human-readable view says the same.
    let text = try cw(["status", "--config", fleet[0].config.path]).stdoutString
    XCTAssertTrue(text.contains("3 live instances"), text)
    for node in fleet { XCTAssertTrue(text.contains(node.name), text) }
  }

  /// SIGKILL one of three instances while fetches are in flight (the origin answers slowly, so
  /// every instance holds leases), then change every source at the origin: the survivors take
  /// the dead instance's sources over within the lease TTL, fetch nothing twice, and every
  /// entry — old and new — is in the store and the merged feed.
  func testKilledInstanceSourcesAreTakenOverWithinTheLeaseTTL() async throws {
    let store = try freshDatabase()
    let origin = try await startOrigin(sources: 30, items: 3, delay: 0.4)
    let interval: TimeInterval = 3
    let leaseTTL: TimeInterval = 8
    let fleet = try startFleet(
      count: 3, store: store, origin: origin,
      // Three fetches at a time each (7.5/s): the survivors need each other for 10/s.
      crawl:
        "interval = \"3s\"\ntimeout = \"2s\"\nconnect_timeout = \"1s\"\nper_host = 4\nconcurrency = 3",
      fleet: "lease_ttl = \"8s\"\nheartbeat = \"1s\"")
    let everyoneFetched = await eventually(timeout: 60) { origin.unfetched().isEmpty }
    XCTAssertTrue(everyoneFetched, "never fetched: \(origin.unfetched())")
    let allStored = await eventually(timeout: 30) {
      Self.entryCount(fleet[1].get("/feed.atom")?.text ?? "") == 90
    }
    XCTAssertTrue(allStored, fleet[1].get("/feed.atom")?.text ?? "no feed")
    try await Task.sleep(for: .seconds(interval))

    let victim = fleet[0]
    kill(victim.process.processIdentifier, SIGKILL)
    victim.process.waitUntilExit()
    let killedAt = Date()
    for source in origin.sourceIDs { origin.addItem(source) }
    let survivors = Array(fleet.dropFirst())

    // Every new item reaches the store through the survivors.
    let caughtUp = await eventually(timeout: leaseTTL + interval + 30) {
      Self.entryCount(survivors[0].get("/feed.atom")?.text ?? "") == 120
    }
    XCTAssertTrue(caughtUp, "entries after the kill: \(survivors[0].get("/feed.atom")?.text ?? "")")
    let fetches = origin.fetches()
    for source in origin.sourceIDs {
      let first = fetches.filter { $0.source == source && $0.at > killedAt }.map(\.at).min()
      let delay = first.map { $0.timeIntervalSince(killedAt) }
      XCTAssertNotNil(delay, "\(source) never fetched after the kill")
      // A lease the dead instance held blocks its source for at most the TTL, then the
      // source is due at once (its interval has passed); the rest keep their interval.
      XCTAssertLessThanOrEqual(
        delay ?? .infinity, leaseTTL + interval + 3, "\(source) waited too long after the kill")
    }
    let duplicates = Self.gaps(fetches).filter { $0.1 < interval - 0.75 }
    XCTAssertEqual(
      duplicates.count, 0, "fetched twice within an interval: \(duplicates.prefix(10))")
    XCTAssertEqual(try storedEntries(survivors[1]), 120)
    for source in origin.sourceIDs {
      XCTAssertTrue(
        survivors[1].get("/feed.atom")?.text.contains(origin.title(source, 3)) ?? false,
        "\(source)'s new item is missing")
    }
    // The dead instance leaves the list of live instances once its heartbeat is stale; its
    // sources name a survivor as their last holder.
    var live: [String] = []
    let expired = try await eventually(timeout: 30) {
      live = try statusJSON(survivors[0]).fleet?.instances.map(\.id).sorted() ?? []
      return live == ["node-b", "node-c"]
    }
    XCTAssertTrue(expired, "live instances: \(live)")
    let holders = Set(try statusJSON(survivors[0]).sources.compactMap(\.lastHolder))
    XCTAssertEqual(holders, ["node-b", "node-c"])
  }

  /// The same store state is the same bytes and the same ETag on every instance, for the merged
  /// feed, every format and a sub-feed; a validator from one instance is a 304 on another; after
  /// a change at the origin every instance re-renders (told by NOTIFY) to the same new bytes.
  func testEveryInstanceServesTheSameBytesBeforeAndAfterAChange() async throws {
    let store = try freshDatabase()
    let origin = try await startOrigin(sources: 9, items: 3)
    let fleet = try startFleet(
      count: 3, store: store, origin: origin,
      crawl: "interval = \"3s\"\ntimeout = \"2s\"\nconnect_timeout = \"1s\"",
      fleet: "lease_ttl = \"8s\"\nheartbeat = \"1s\"")
    let paths = [
      "/feed.atom", "/feed.rss", "/feed.json", "/sources/s03.atom", "/categories/sector-1.atom",
      "/sources.opml",
    ]
    func same(_ path: String, containing text: String) -> (etag: String, body: Data)? {
      let answers = fleet.map { $0.get(path) }
      guard let first = answers[0], first.status == 200, let etag = first.etag,
        text.isEmpty || first.text.contains(text)
      else { return nil }
      for a in answers.dropFirst() {
        guard let a, a.status == 200, a.etag == etag, a.body == first.body else { return nil }
      }
      return (etag, first.body)
    }
    let everyoneStored = await eventually(timeout: 60) {
      Self.entryCount(fleet[2].get("/feed.atom")?.text ?? "") == 27
    }
    XCTAssertTrue(everyoneStored, fleet[2].stderrLog)
    var before: [String: String] = [:]
    for path in paths {
      let marker =
        path.hasSuffix("opml") ? "s08" : (path.contains("s03") ? origin.title("s03", 2) : "")
      var agreed: (etag: String, body: Data)?
      let ok = await eventually(timeout: 15) {
        agreed = same(path, containing: marker)
        return agreed != nil
      }
      XCTAssertTrue(ok, "\(path) differs between instances: \(Self.difference(fleet, path))")
      before[path] = agreed?.etag
      // A subscriber balanced to another instance keeps its conditional GET.
      if let etag = agreed?.etag {
        XCTAssertEqual(fleet[1].get(path, headers: ["If-None-Match": etag])?.status, 304, path)
      }
    }

    origin.addItem("s03")
    let newTitle = origin.title("s03", 3)
    for path in ["/feed.atom", "/feed.rss", "/feed.json", "/sources/s03.atom"] {
      var agreed: (etag: String, body: Data)?
      let ok = await eventually(timeout: 20) {
        agreed = same(path, containing: newTitle)
        return agreed != nil
      }
      XCTAssertTrue(ok, "\(path) after the change: \(Self.difference(fleet, path))")
      XCTAssertNotEqual(agreed?.etag, before[path], "\(path): a new document needs a new ETag")
    }
  }

  /// A drop-in added to every instance's `conf.d`, then SIGHUP to each: the new source is
  /// fetched exactly once by the fleet (a 1 h interval, so any second request is a duplicate),
  /// appears on every instance, and the old sources are not fetched again.
  func testDropInAndSIGHUPOnEveryInstanceAddsASourceFetchedOnce() async throws {
    let store = try freshDatabase()
    let origin = try await startOrigin(sources: 6, items: 2)
    let fleet = try startFleet(
      count: 3, store: store, origin: origin,
      crawl: "interval = \"1h\"\ntimeout = \"5s\"\nconnect_timeout = \"2s\"",
      fleet: "lease_ttl = \"20s\"\nheartbeat = \"1s\"")
    let everyoneFetched = await eventually(timeout: 60) { origin.unfetched().isEmpty }
    XCTAssertTrue(everyoneFetched, "never fetched: \(origin.unfetched())\n\(fleet[0].stderrLog)")
    try await Task.sleep(for: .seconds(4))
    for source in origin.sourceIDs {
      XCTAssertEqual(origin.count(source), 1, "\(source) with a 1 h interval")
    }

    let extra = origin.addSource()
    for node in fleet {
      try origin.sourceTable(extra).write(
        to: node.dir.appendingPathComponent("conf.d/\(extra).toml"), atomically: true,
        encoding: .utf8)
    }
    let readyBefore = fleet.map { n in n.notify.received.filter { $0.contains("READY=1") }.count }
    for node in fleet { kill(node.process.processIdentifier, SIGHUP) }
    for (node, n) in zip(fleet, readyBefore) {
      let reloaded = TestSupport.waitUntil(timeout: 20) {
        node.notify.received.filter { $0.contains("READY=1") }.count > n
      }
      XCTAssertTrue(reloaded, "\(node.name) did not reload: \(node.notify.received)")
    }
    let title = origin.title(extra, 1)
    let everywhere = await eventually(timeout: 30) {
      fleet.allSatisfy { $0.get("/feed.atom")?.text.contains(title) ?? false }
    }
    XCTAssertTrue(everywhere, "the new source never appeared everywhere\n\(fleet[2].stderrLog)")
    try await Task.sleep(for: .seconds(4))
    XCTAssertEqual(origin.count(extra), 1, "the new source, fetched by the fleet")
    for source in origin.sourceIDs where source != extra {
      XCTAssertEqual(origin.count(source), 1, "\(source) was fetched again by a reload")
    }
    XCTAssertEqual(try storedEntries(fleet[1]), 7 * 2)
  }

  /// `copy-store` moves a demo store from SQLite to PostgreSQL through the binary, and a daemon
  /// on the copy serves the same merged feed, byte for byte, as the daemon on the original.
  func testCopyStoreRoundTripServesTheSameDocuments() async throws {
    let store = try freshDatabase()
    let feeds = dir.appendingPathComponent("feeds")
    try FileManager.default.copyItem(
      at: TestSupport.packageRoot.appendingPathComponent("feeds"), to: feeds)
    let sqliteConfig = feeds.appendingPathComponent("demo.toml")
    let sqlitePath = dir.appendingPathComponent("state/demo.sqlite").path
    let port = TestSupport.freePort()
    var text = try String(contentsOf: sqliteConfig, encoding: .utf8)
    text = text.replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(port)")
    let sqliteText = text.replacingOccurrences(
      of: #"(?m)^path = .*$"#, with: "path = \"\(sqlitePath)\"", options: .regularExpression)
    try sqliteText.write(to: sqliteConfig, atomically: true, encoding: .utf8)
    let crawl = try cw(["crawl", "--once", "--config", sqliteConfig.path])
    XCTAssertEqual(crawl.status, 0, crawl.stderrString)

    let paths = ["/feed.atom", "/feed.json", "/feed.rss", "/sources.opml", "/sources/eccp.atom"]
    func serve(_ config: URL, name: String) throws -> [String: Data] {
      let node = try FleetNode(existingConfig: config, name: name, port: port, parent: dir)
      defer { node.stop() }
      XCTAssertTrue(node.waitReady(), node.stderrLog)
      var out: [String: Data] = [:]
      for path in paths {
        let r = node.get(path)
        XCTAssertEqual(r?.status, 200, "\(name) \(path)\n\(node.stderrLog)")
        out[path] = r?.body
      }
      return out
    }
    let fromSQLite = try serve(sqliteConfig, name: "sqlite")
    let sqliteStatus = try cw(["status", "--config", sqliteConfig.path])

    let copy = try cw(["copy-store", "--from", sqlitePath, "--to", store])
    XCTAssertEqual(copy.status, 0, copy.stdoutString + copy.stderrString)

    let pgConfig = feeds.appendingPathComponent("demo-pg.toml")
    try text.replacingOccurrences(
      of: #"(?m)^path = .*$"#, with: "url = \"\(store)\"", options: .regularExpression
    ).write(to: pgConfig, atomically: true, encoding: .utf8)
    let pgStatus = try cw(["status", "--config", pgConfig.path])
    XCTAssertEqual(pgStatus.status, 0, pgStatus.stderrString)
    // The same counts line: entries, stories, merged stories, sources.
    XCTAssertEqual(
      pgStatus.stdoutString.split(separator: "\n").first,
      sqliteStatus.stdoutString.split(separator: "\n").first)
    let fromPostgres = try serve(pgConfig, name: "postgres")
    for path in paths {
      XCTAssertNotNil(fromSQLite[path])
      XCTAssertEqual(
        fromPostgres[path], fromSQLite[path],
        "\(path) differs after copy-store:\n\(String(decoding: fromPostgres[path] ?? Data(), as: UTF8.self).prefix(3000))"
      )
    }
  }

  /// An instance whose database goes away is not ready (503) but stays alive, and is ready again
  /// once the database is back — on a throwaway cluster of its own that the test stops.
  func testReadyzFailsWhileTheDatabaseIsUnreachable() async throws {
    let cluster = try ThrowawayCluster.start(in: dir.appendingPathComponent("pg"))
    cleanups.append { cluster.destroy() }
    let origin = try await startOrigin(sources: 3)
    let fleet = try startFleet(
      count: 1, store: cluster.url, origin: origin,
      crawl: "interval = \"3s\"\ntimeout = \"2s\"\nconnect_timeout = \"1s\"",
      fleet: "lease_ttl = \"8s\"\nheartbeat = \"1s\"")
    let node = fleet[0]
    let ready = await eventually(timeout: 30) { node.get("/readyz")?.status == 200 }
    XCTAssertTrue(ready, "not ready with the database up: \(node.get("/readyz")?.text ?? "-")")

    try cluster.stop()
    let notReady = await eventually(timeout: 20) { node.get("/readyz")?.status == 503 }
    XCTAssertTrue(notReady, "still ready without a database: \(node.get("/readyz")?.text ?? "-")")
    XCTAssertEqual(node.get("/healthz")?.status, 200, "the process itself is alive")
    XCTAssertTrue(node.process.isRunning)

    try cluster.startAgain()
    let back = await eventually(timeout: 40) { node.get("/readyz")?.status == 200 }
    XCTAssertTrue(
      back,
      "not ready after the database came back: \(node.get("/readyz")?.text ?? "-")\n\(node.stderrLog)"
    )
  }
}

// MARK: - the fleet's parts

/// What the tests read of `clusterwire status --json`.
struct FleetStatus: Decodable {
  struct Source: Decodable {
    var id: String
    var state: String
    var entries: Int
    var leaseHolder: String?
    var lastHolder: String?
  }
  struct Instance: Decodable {
    var id: String
    var heartbeatAgeSeconds: Int
    var configHash: String
  }
  struct Fleet: Decodable {
    var instances: [Instance]
    var configMismatch: Bool
  }
  var entries: Int
  var stories: Int
  var sources: [Source]
  var fleet: Fleet?
}

/// A setup step that failed: the test stops with this message.
struct FleetFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// One `clusterwire run` instance in its own directory (config, `conf.d/`, logs, notify socket).
final class FleetNode {
  let name: String
  let dir: URL
  let port: Int
  let config: URL
  let notify: NotifySocket
  let process: Process

  /// A fleet member: `store` is the `[store]` table's body, `sources` the `[[source]]` tables.
  init(name: String, parent: URL, store: String, sources: String, crawl: String, fleet: String)
    throws
  {
    self.name = name
    dir = parent.appendingPathComponent(name)
    try FileManager.default.createDirectory(
      at: dir.appendingPathComponent("conf.d"), withIntermediateDirectories: true)
    port = TestSupport.freePort()
    config = dir.appendingPathComponent("clusterwire.toml")
    try """
    include = ["conf.d/*.toml"]
    [server]
    listen = "127.0.0.1:\(port)"
    base_url = "https://news.example.org/"
    [store]
    \(store)
    [feed]
    title = "Flotilės naujienos"
    entries = 500
    [crawl]
    \(crawl)
    [fleet]
    \(fleet)

    \(sources)
    """.write(to: config, atomically: true, encoding: .utf8)
    notify = try NotifySocket(directory: dir)
    process = try Self.spawn(config: config, notify: notify, dir: dir)
  }

  /// A daemon on a config written elsewhere (listening on `port`).
  init(existingConfig: URL, name: String, port: Int, parent: URL) throws {
    self.name = name
    self.port = port
    config = existingConfig
    dir = parent.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    notify = try NotifySocket(directory: dir)
    process = try Self.spawn(config: config, notify: notify, dir: dir)
  }

  private static func spawn(config: URL, notify: NotifySocket, dir: URL) throws -> Process {
    var env = ProcessInfo.processInfo.environment
    env["NOTIFY_SOCKET"] = notify.path
    return try TestSupport.spawn(
      TestSupport.clusterwireBinary, ["run", "--config", config.path], environment: env,
      logDirectory: dir)
  }

  /// Waits for READY=1; false at once when the process exits first (a rejected config).
  func waitReady(timeout: TimeInterval = 90) -> Bool {
    TestSupport.waitUntil(timeout: timeout) {
      !process.isRunning
        || notify.received.contains { $0.split(separator: "\n").contains("READY=1") }
    } && process.isRunning
  }

  var stderrLog: String {
    let text =
      (try? String(contentsOf: dir.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
    return "--- \(name) stderr (tail) ---\n" + text.suffix(4000)
  }

  struct Answer {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    var etag: String? { headers["etag"] }
  }

  func get(_ path: String, headers: [String: String] = [:]) -> Answer? {
    TestSupport.httpGet(port: port, path: path, headers: headers).map {
      Answer(status: $0.status, headers: $0.headers, body: $0.body)
    }
  }

  func stop() {
    if process.isRunning {
      kill(process.processIdentifier, SIGTERM)
      if !TestSupport.waitUntil(timeout: 15, { !process.isRunning }) {
        kill(process.processIdentifier, SIGKILL)
      }
      process.waitUntilExit()
    }
    notify.close()
  }
}

/// The fleet's origin: sources `s00`, `s01`, … served as RSS from three loopback hosts
/// (127.0.0.1–3, one port), so per-host politeness has three hosts to count. Conditional GETs
/// get 304 while a source is unchanged. Every request is logged with its arrival time.
final class FleetOrigin: @unchecked Sendable {
  struct Fetch: Sendable {
    var source: String
    var at: Date
  }

  let port: Int
  private let lock = NSLock()
  private var items: [String: Int] = [:]
  private var order: [String] = []
  private var log: [Fetch] = []
  private let delay: TimeInterval
  private var tasks: [Task<Void, Error>] = []

  private init(port: Int, sources: Int, items count: Int, delay: TimeInterval) {
    self.port = port
    self.delay = delay
    for i in 0..<sources {
      let id = String(format: "s%02d", i)
      items[id] = count
      order.append(id)
    }
  }

  static func start(sources: Int, items: Int, delay: TimeInterval) async throws -> FleetOrigin {
    let origin = FleetOrigin(
      port: TestSupport.freePort(), sources: sources, items: items, delay: delay)
    for host in 1...3 {
      let router = Router()
      router.get("{file}") { request, context -> Response in
        try await origin.respond(request, file: context.parameters.get("file") ?? "")
      }
      let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.\(host)", port: origin.port)))
      origin.tasks.append(Task { try await app.runService() })
    }
    for host in 1...3 {
      let up = await Self.waitForListener("127.0.0.\(host)", port: origin.port)
      guard up else { throw POSIXError(.ECONNREFUSED) }
    }
    return origin
  }

  func stop() async {
    for t in tasks { t.cancel() }
    for t in tasks { _ = await t.result }
  }

  private static func waitForListener(_ host: String, port: Int) async -> Bool {
    for _ in 0..<200 {
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var addr = sockaddr_in()
      addr.sin_family = sa_family_t(AF_INET)
      addr.sin_port = UInt16(port).bigEndian
      addr.sin_addr.s_addr = inet_addr(host)
      let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      close(fd)
      if rc == 0 { return true }
      try? await Task.sleep(for: .milliseconds(50))
    }
    return false
  }

  private func respond(_ request: Request, file: String) async throws -> Response {
    guard file.hasSuffix(".xml") else { return Response(status: .notFound) }
    let id = String(file.dropLast(4))
    let count: Int? = lock.withLock {
      guard let n = items[id] else { return nil }
      log.append(Fetch(source: id, at: Date()))
      return n
    }
    guard let count else { return Response(status: .notFound) }
    if delay > 0 { try await Task.sleep(for: .milliseconds(Int(delay * 1000))) }
    let etag = "\"\(id)-\(count)\""
    if request.headers[.ifNoneMatch] == etag {
      return Response(status: .notModified, headers: [.eTag: etag])
    }
    return Response(
      status: .ok, headers: [.eTag: etag, .contentType: "application/rss+xml; charset=utf-8"],
      body: ResponseBody(byteBuffer: ByteBuffer(string: document(id, count: count))))
  }

  var sourceIDs: [String] { lock.withLock { order } }

  /// Host 127.0.0.1, .2 or .3, by the source's number.
  func url(_ id: String) -> String {
    let n = Int(id.dropFirst()) ?? 0
    return "http://127.0.0.\(n % 3 + 1):\(port)/\(id).xml"
  }

  func sourceTable(_ id: String) -> String {
    let n = Int(id.dropFirst()) ?? 0
    return """
      [[source]]
      id = "\(id)"
      url = "\(url(id))"
      categories = ["sector-\(n % 3)"]

      """
  }

  func sourceTables() -> String { sourceIDs.map(sourceTable).joined() }

  /// A new source (not yet in any config); returns its id.
  func addSource(items count: Int = 2) -> String {
    lock.withLock {
      let id = String(format: "s%02d", order.count)
      order.append(id)
      items[id] = count
      return id
    }
  }

  /// One more item at the top of the source's document (and a new ETag).
  func addItem(_ id: String) { lock.withLock { items[id, default: 0] += 1 } }

  func fetches() -> [Fetch] { lock.withLock { log } }

  func count(_ id: String) -> Int { lock.withLock { log.filter { $0.source == id }.count } }

  /// Sources never requested so far.
  func unfetched() -> [String] {
    lock.withLock {
      let seen = Set(log.map(\.source))
      return order.filter { !seen.contains($0) }
    }
  }

  /// The title of item `k` (0-based) of source `id`: words drawn per source and item, so no two
  /// items anywhere look like near-duplicates of each other.
  func title(_ id: String, _ k: Int) -> String {
    "\(id) naujiena \(k): " + Self.words(seed: "\(id)/\(k)/t", count: 5)
  }

  private static let vocabulary = """
    klasteris inovacijos bendradarbiavimas projektas technologijos eksportas verslas mokslas \
    tyrimai energetika lazeriai biotechnologijos gamyba skaitmeninis sprendimai renginys \
    konferencija partneriai investicijos regionas programa finansavimas startuoliai darnumas \
    duomenys robotai tekstilė maistas logistika turizmas sveikata mediena chemija baldai \
    kosmosas vandenilis saulė vėjas baterijos puslaidininkiai fotonika medicina švietimas
    """.split(separator: " ").map(String.init)

  static func words(seed: String, count: Int) -> String {
    var state = seed.utf8.reduce(UInt64(1_469_598_103_934_665_603)) {
      ($0 ^ UInt64($1)) &* 1_099_511_628_211
    }
    var out: [String] = []
    for _ in 0..<count {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      out.append(vocabulary[Int(state % UInt64(vocabulary.count))])
    }
    return out.joined(separator: " ")
  }

  func document(_ id: String, count: Int) -> String {
    var s = """
      <?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Šaltinis \(id)</title>
      <link>https://\(id).example.lt/</link>

      """
    for k in stride(from: count - 1, through: 0, by: -1) {
      let date = Date(
        timeIntervalSince1970: 1_795_000_000 + Double(k) * 3600
          + Double(Int(id.dropFirst()) ?? 0) * 60)
      s += """
        <item><title>\(title(id, k))</title><link>https://\(id).example.lt/n/\(k)</link>
        <guid>https://\(id).example.lt/n/\(k)</guid><pubDate>\(Self.rfc822(date))</pubDate>
        <description>\(Self.words(seed: "\(id)/\(k)/d", count: 30))</description></item>

        """
    }
    return s + "</channel></rss>\n"
  }

  static func rfc822(_ date: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return f.string(from: date)
  }
}

// MARK: - PostgreSQL for the tests

/// Where the PostgreSQL tools are: on `PATH`, else Debian's versioned directory.
enum PostgresTools {
  static func find(_ tool: String) -> URL? {
    var dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(
      String.init)
    let debian = "/usr/lib/postgresql"
    if let versions = try? FileManager.default.contentsOfDirectory(atPath: debian) {
      dirs += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "\(debian)/\($0)/bin" }
    }
    for d in dirs {
      let url = URL(fileURLWithPath: d).appendingPathComponent(tool)
      if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return nil
  }

  /// No server or tools: a failure under CI (`.ci/run` must provide them), a skip elsewhere.
  static func unavailable(_ why: String) -> Error {
    if ProcessInfo.processInfo.environment["CI"] != nil {
      return NSError(
        domain: "FleetTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "CI: \(why)"])
    }
    return XCTSkip(why)
  }
}

/// A database of its own on the test server (`CLUSTERWIRE_TEST_POSTGRES_URL`), made with `psql`
/// and dropped (connections and all) afterwards.
struct TestPostgresDatabase {
  let url: String
  let admin: String
  let name: String

  static func fresh() throws -> TestPostgresDatabase {
    guard let admin = ProcessInfo.processInfo.environment["CLUSTERWIRE_TEST_POSTGRES_URL"],
      !admin.isEmpty
    else {
      throw PostgresTools.unavailable(
        "CLUSTERWIRE_TEST_POSTGRES_URL is not set (start a server with .ci/postgres start)")
    }
    guard var parts = URLComponents(string: admin) else {
      throw PostgresTools.unavailable("CLUSTERWIRE_TEST_POSTGRES_URL is not a URL: \(admin)")
    }
    let name = "cw_fleet_\(UUID().uuidString.prefix(8).lowercased())"
    try psql(admin, "CREATE DATABASE \(name)")
    parts.path = "/" + name
    return TestPostgresDatabase(url: parts.string ?? admin, admin: admin, name: name)
  }

  func drop() { try? Self.psql(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }

  static func psql(_ url: String, _ sql: String) throws {
    guard let psql = PostgresTools.find("psql") else {
      throw PostgresTools.unavailable("psql is not installed (apt-get install postgresql-client)")
    }
    let r = try TestSupport.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
    guard r.status == 0 else {
      throw NSError(
        domain: "FleetTests", code: 2,
        userInfo: [NSLocalizedDescriptionKey: "psql \(sql): \(r.stderrString)"])
    }
  }
}

/// A PostgreSQL cluster of one test's own (initdb, pg_ctl on a free loopback port, trust auth),
/// to stop and start again under a running daemon. PostgreSQL refuses to run as root: as root
/// the cluster belongs to `nobody`.
final class ThrowawayCluster {
  let dir: URL
  let port: Int
  private let pgCtl: URL
  private let asRoot = geteuid() == 0

  var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }

  private init(dir: URL, port: Int, pgCtl: URL) {
    self.dir = dir
    self.port = port
    self.pgCtl = pgCtl
  }

  static func start(in dir: URL) throws -> ThrowawayCluster {
    guard let initdb = PostgresTools.find("initdb"), let pgCtl = PostgresTools.find("pg_ctl")
    else {
      throw PostgresTools.unavailable("initdb/pg_ctl not found (apt-get install postgresql)")
    }
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let cluster = ThrowawayCluster(dir: dir, port: TestSupport.freePort(), pgCtl: pgCtl)
    if cluster.asRoot {
      let chown = try TestSupport.run(URL(fileURLWithPath: "/bin/chown"), ["nobody:", dir.path])
      guard chown.status == 0 else {
        throw cluster.failure("chown", (chown.status, chown.stderrString))
      }
    }
    let r = try cluster.runTool(
      initdb, ["-D", cluster.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    guard r.status == 0 else { throw cluster.failure("initdb", r) }
    try cluster.startAgain()
    return cluster
  }

  private var data: String { dir.appendingPathComponent("data").path }

  func startAgain() throws {
    let options = "-p \(port) -k \(dir.path) -c listen_addresses=127.0.0.1 -c fsync=off"
    let r = try runTool(
      pgCtl,
      [
        "-D", data, "-l", dir.appendingPathComponent("server.log").path, "-o", options, "-w",
        "start",
      ])
    guard r.status == 0 else { throw failure("pg_ctl start", r) }
  }

  /// Stops at once, as a crashed or unplugged server would (no checkpoint, connections cut).
  func stop() throws {
    let r = try runTool(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"])
    guard r.status == 0 else { throw failure("pg_ctl stop", r) }
  }

  func destroy() {
    _ = try? runTool(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"])
  }

  /// Runs initdb/pg_ctl (as `nobody` when root) with output to `tool.log`, not pipes: the
  /// server that `pg_ctl start` leaves running would hold a pipe open forever. posix_spawn and
  /// waitpid directly: Foundation's `Process` left `runuser` unreaped here under XCTest.
  private func runTool(_ tool: URL, _ args: [String]) throws -> (status: Int32, output: String) {
    let argv =
      (asRoot ? ["/usr/sbin/runuser", "-u", "nobody", "--", tool.path] : [tool.path]) + args
    let logPath = dir.appendingPathComponent("tool.log").path
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var cArgs = argv.map { strdup($0) }
    cArgs.append(nil)
    defer { for a in cArgs { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
    guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    // WEXITSTATUS: the exit code sits in the second byte of the wait status.
    return (
      (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), String(text.suffix(3000))
    )
  }

  private func failure(_ what: String, _ r: (status: Int32, output: String)) -> Error {
    let log = (try? String(contentsOf: dir.appendingPathComponent("server.log"), encoding: .utf8))
    return NSError(
      domain: "FleetTests", code: 3,
      userInfo: [
        NSLocalizedDescriptionKey:
          "\(what) failed (\(r.status)): \(r.output)\n\(log ?? "")"
      ])
  }
}
