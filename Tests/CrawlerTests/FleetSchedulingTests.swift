import AsyncHTTPClient
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging
import XCTest

@testable import Crawler

/// Fleet mode of `Crawler.run()`: several crawlers on one `SharedFeedStore` (the in-memory
/// `FleetBackend`) and one real loopback origin that notes when each request arrived.
final class FleetSchedulingTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  /// Request arrival times per path, as the origin saw them.
  final class Arrivals: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [String: [Date]] = [:]
    func note(_ path: String) { lock.withLock { times[path, default: []].append(Date()) } }
    subscript(path path: String) -> [Date] { lock.withLock { times[path] ?? [] } }
    var total: Int { lock.withLock { times.values.map(\.count).reduce(0, +) } }
  }

  private var cleanups: [@Sendable () async -> Void] = []

  override func tearDown() async throws {
    for cleanup in cleanups.reversed() { await cleanup() }
    cleanups = []
  }

  /// A started origin whose answers come from `respond`, every arrival noted.
  private func origin(
    _ arrivals: Arrivals,
    _ respond: @escaping @Sendable (ScriptedServer.Request) -> ScriptedServer.Action
  ) async throws -> ScriptedServer {
    let server = ScriptedServer { request in
      arrivals.note(request.path)
      return respond(request)
    }
    try await server.start()
    cleanups.append { await server.stop() }
    return server
  }

  /// A crawler of instance `id` on `backend`, with its own HTTP client.
  private func crawler(_ id: String, _ backend: FleetBackend, _ options: CrawlerOptions) -> Crawler
  {
    let client = HTTPClient(
      eventLoopGroupProvider: .singleton, configuration: options.httpClientConfiguration())
    cleanups.append { try? await client.shutdown() }
    var logger = Logger(label: "fleet-\(id)")
    logger.logLevel = .info
    return Crawler(
      store: backend.member(id), options: options, logger: logger, httpClient: client)
  }

  private func options(concurrency: Int, perHost: Int = 16) -> CrawlerOptions {
    var o = CrawlerOptions.test(perHost: perHost)
    o.concurrency = concurrency
    o.leaseTTL = 30
    return o
  }

  /// Runs every crawler until `done` holds (or `timeout`), then stops them all.
  private func run(
    _ crawlers: [Crawler], timeout: TimeInterval, until done: @escaping @Sendable () -> Bool
  ) async throws -> Bool {
    let tasks = crawlers.map { c in Task { try await c.run() } }
    let reached = await eventually(timeout: timeout) { done() }
    for t in tasks { t.cancel() }
    for t in tasks { try await t.value }
    return reached
  }

  /// Two instances, one store, twelve sources on a 2 s interval: every source is polled again
  /// and again, never twice within an interval (the gap between two requests for one path is
  /// the interval, not the near-zero of a second instance fetching it too), and both instances
  /// take part.
  func testTwoInstancesFetchEverySourceOncePerInterval() async throws {
    let arrivals = Arrivals()
    let body = Array(rssFeed(2).utf8)
    let server = try await origin(arrivals) { request in
      request.header("If-None-Match") == "\"v1\""
        ? .respond(status: 304, delay: 0.05)
        : .respond(status: 200, headers: [rssType, ("ETag", "\"v1\"")], body: body, delay: 0.05)
    }
    let backend = FleetBackend()
    let interval: TimeInterval = 2
    let sources = (0..<12).map {
      SourceDefinition(id: "s\($0)", url: server.url("/s\($0)"), interval: interval)
    }
    let a = crawler("a", backend, options(concurrency: 3))
    let b = crawler("b", backend, options(concurrency: 3))
    try await a.setSources(sources)
    try await b.setSources(sources)

    let paths = sources.map { URL(string: $0.url)!.path }
    let reached = try await run([a, b], timeout: 40) {
      paths.allSatisfy { arrivals[path: $0].count >= 3 }
    }
    XCTAssertTrue(reached, "every source polled three times: \(paths.map { arrivals[path: $0] })")
    for path in paths {
      let times = arrivals[path: path]
      for (earlier, later) in zip(times, times.dropFirst()) {
        XCTAssertGreaterThan(
          later.timeIntervalSince(earlier), interval - 0.25,
          "\(path) fetched twice within one interval")
      }
    }
    let claimers = Set(backend.claims.map(\.instance))
    XCTAssertEqual(claimers, ["a", "b"], "both instances crawl")
    // Every request was a claim of its own, and every fetch was committed.
    XCTAssertEqual(backend.store.outcomes.count, arrivals.total)
    XCTAssertGreaterThanOrEqual(backend.claims.count, arrivals.total)
  }

  /// `per_host = 2` for the fleet: an instance with one slot and one with eight never have more
  /// than two requests at once at the one host (each alone would allow 1 + 2 = 3), because the
  /// store counts every live lease.
  func testPerHostHoldsAcrossTheFleet() async throws {
    let arrivals = Arrivals()
    let server = try await origin(arrivals) { _ in .respond(status: 304, delay: 0.3) }
    let backend = FleetBackend()
    let sources = (0..<10).map {
      SourceDefinition(id: "h\($0)", url: server.url("/h\($0)"), interval: 600)
    }
    let a = crawler("a", backend, options(concurrency: 1, perHost: 2))
    let b = crawler("b", backend, options(concurrency: 8, perHost: 2))
    try await a.setSources(sources)
    try await b.setSources(sources)
    // a first, so that it holds one of the two slots when b (which could take both) starts.
    let first = Task { try await a.run() }
    let aClaimed = await eventually(timeout: 20) { !backend.claims.isEmpty }
    XCTAssertTrue(aClaimed)
    let reached = try await run([b], timeout: 30) { backend.store.outcomes.count == 10 }
    first.cancel()
    try await first.value
    XCTAssertTrue(reached, "all ten fetched: \(backend.store.outcomes.count)")
    XCTAssertEqual(server.maxActive, 2, "at most two at once at the host, fleet-wide")
    for source in sources {
      XCTAssertEqual(arrivals[path: URL(string: source.url)!.path].count, 1, source.id)
    }
    XCTAssertEqual(Set(backend.claims.map(\.instance)), ["a", "b"])
  }

  /// An instance that claimed sources and died (never recorded, never released) holds them only
  /// until its leases expire; then the living instance fetches them, once each, and is their
  /// last holder.
  func testADeadInstancesLeasesAreTakenOverAfterTheTTL() async throws {
    let arrivals = Arrivals()
    let server = try await origin(arrivals) { _ in .respond(status: 304) }
    let backend = FleetBackend()
    let sources = (0..<8).map {
      SourceDefinition(id: "d\($0)", url: server.url("/d\($0)"), interval: 600)
    }
    let a = crawler("a", backend, options(concurrency: 4))
    try await a.setSources(sources)
    let ttl: TimeInterval = 2
    let claimedAt = Date()
    let dead = try await backend.member("dead").claimDue(
      now: claimedAt, limit: 4, perHost: 16, leaseTTL: ttl)
    XCTAssertEqual(dead.count, 4)
    let paths = sources.map { URL(string: $0.url)!.path }
    let reached = try await run([a], timeout: 30) { arrivals.total == 8 }
    XCTAssertTrue(reached, "all eight fetched, the dead instance's too: \(arrivals.total)")
    for source in sources {
      let path = URL(string: source.url)!.path
      let times = arrivals[path: path]
      XCTAssertEqual(times.count, 1, source.id)
      guard let first = times.first else { continue }
      if dead.contains(source.id) {
        XCTAssertGreaterThanOrEqual(
          first.timeIntervalSince(claimedAt), ttl - 0.05,
          "\(source.id) taken before its lease ran out")
        XCTAssertLessThan(first.timeIntervalSince(claimedAt), ttl + 10, source.id)
      } else {
        XCTAssertLessThan(
          first.timeIntervalSince(claimedAt), ttl, "\(source.id) waited for another's lease")
      }
    }
    let leases = backend.leaseSnapshot
    for id in dead {
      XCTAssertEqual(leases[id]?.lastHolder, "a", id)
      XCTAssertNil(leases[id]?.owner, "\(id): released with its commit")
    }
    XCTAssertEqual(paths.count, 8)
  }

  /// A source this instance does not know (another instance's config has it) is claimed and at
  /// once given back, never fetched; another instance can then claim it.
  func testAClaimOutsideTheConfigIsReleased() async throws {
    let arrivals = Arrivals()
    let server = try await origin(arrivals) { _ in .respond(status: 304) }
    let backend = FleetBackend()
    let known = SourceDefinition(id: "known", url: server.url("/known"), interval: 600)
    let extra = SourceDefinition(id: "extra", url: server.url("/extra"), interval: 600)
    let b = crawler("b", backend, options(concurrency: 4))
    try await b.setSources([known])
    // Another instance, with a larger config, synced after b.
    try await backend.member("other").syncSources([known, extra])
    let reached = try await run([b], timeout: 30) {
      arrivals.total == 1 && backend.releases.contains { $0 == ("b", "extra") }
    }
    XCTAssertTrue(reached, "known fetched, extra released: \(backend.releases)")
    XCTAssertEqual(arrivals[path: "/extra"].count, 0, "never fetched by an instance without it")
    XCTAssertEqual(arrivals[path: "/known"].count, 1)
    let claimed = try await backend.member("other").claimDue(
      now: Date(), limit: 10, perHost: 16, leaseTTL: 30)
    XCTAssertEqual(claimed, ["extra"], "free for the instance that has it")
  }

  /// Shutdown cancels a fetch that outlives the grace period: nothing is recorded (it is no
  /// failure of the source) and the lease goes back at once instead of after its TTL.
  func testAFetchCancelledBeforeItsCommitReleasesItsLease() async throws {
    let arrivals = Arrivals()
    let server = try await origin(arrivals) { _ in
      .stall(headers: [rssType], partial: Array("<rss>".utf8), declaredLength: 10_000)
    }
    let backend = FleetBackend()
    var o = options(concurrency: 2)
    o.timeout = 30
    o.shutdownGrace = 0.3
    o.leaseTTL = 60
    let a = crawler("a", backend, o)
    try await a.setSources([SourceDefinition(id: "stuck", url: server.url("/stuck"))])
    let reached = try await run([a], timeout: 30) { arrivals.total == 1 }
    XCTAssertTrue(reached)
    XCTAssertTrue(backend.store.outcomes.isEmpty, "a cancelled fetch is not recorded")
    XCTAssertTrue(backend.releases.contains { $0 == ("a", "stuck") }, "\(backend.releases)")
    XCTAssertNil(backend.leaseSnapshot["stuck"]?.owner)
    let again = try await backend.member("b").claimDue(
      now: Date(), limit: 1, perHost: 16, leaseTTL: 30)
    XCTAssertEqual(again, ["stuck"], "claimable by another instance at once")
  }

  /// A store that cannot be reached does not stop the loop: it keeps ticking (the watchdog and
  /// `/readyz` judge the store separately) and crawls as soon as the store is back.
  func testAnUnreachableStoreIsWaitedOut() async throws {
    let arrivals = Arrivals()
    let server = try await origin(arrivals) { _ in .respond(status: 304) }
    let backend = FleetBackend()
    let a = crawler("a", backend, options(concurrency: 2))
    try await a.setSources([SourceDefinition(id: "x", url: server.url("/x"))])
    backend.unavailable = true
    let task = Task { try await a.run() }
    try await Task.sleep(nanoseconds: 2_500_000_000)
    XCTAssertEqual(arrivals.total, 0)
    XCTAssertLessThan(Date().timeIntervalSince(a.lastProgress), 2, "the loop still ticks")
    backend.unavailable = false
    let fetched = await eventually(timeout: 20) { arrivals.total == 1 }
    XCTAssertTrue(fetched)
    task.cancel()
    try await task.value
  }
}

/// Heartbeats and the comparison of configuration hashes across the fleet.
final class FleetMembershipTests: XCTestCase {
  /// Collects log lines for assertions.
  final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(Logger.Level, String)] = []
    func add(_ level: Logger.Level, _ text: String) {
      lock.withLock { lines.append((level, text)) }
    }
    func at(_ level: Logger.Level) -> [String] {
      lock.withLock { lines.filter { $0.0 == level }.map(\.1) }
    }
  }

  struct Capture: LogHandler {
    let lines: Lines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
      get { metadata[key] }
      set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { lines.add(event.level, "\(event.message)") }
  }

  func testAFleetRunningTwoConfigurationsIsReportedUntilItAgrees() async throws {
    let backend = FleetBackend()
    let lines = Lines()
    let logger = Logger(label: "fleet") { _ in Capture(lines: lines) }
    let a = FleetMembership(store: backend.member("a"), logger: logger)
    let b = FleetMembership(store: backend.member("b"), logger: Logger(label: "quiet"))
    let now = Date()

    let alone = await a.beat(configHash: "aaaa", expireAfter: 60, now: now)
    XCTAssertEqual(alone?.instances.map(\.id), ["a"])
    XCTAssertEqual(alone?.mismatched, [])

    await b.beat(configHash: "bbbb", expireAfter: 60, now: now)
    let split = await a.beat(configHash: "aaaa", expireAfter: 60, now: now.addingTimeInterval(1))
    XCTAssertEqual(Set(split?.instances.map(\.id) ?? []), ["a", "b"])
    XCTAssertEqual(split?.mismatched.map(\.id), ["b"])
    XCTAssertEqual(lines.at(.warning).count, 1)
    XCTAssertTrue(
      lines.at(.warning).first?.contains("different configurations: b (localhost, config bbbb)")
        ?? false, "\(lines.at(.warning))")

    // The same split a moment later is not logged again…
    await a.beat(configHash: "aaaa", expireAfter: 60, now: now.addingTimeInterval(2))
    XCTAssertEqual(lines.at(.warning).count, 1)
    // …but is after the repeat interval.
    await a.beat(configHash: "aaaa", expireAfter: 1000, now: now.addingTimeInterval(400))
    XCTAssertEqual(lines.at(.warning).count, 2)

    // b reloads the same config: one configuration again.
    await b.beat(configHash: "aaaa", expireAfter: 1000, now: now.addingTimeInterval(401))
    let agreed = await a.beat(
      configHash: "aaaa", expireAfter: 1000, now: now.addingTimeInterval(402))
    XCTAssertEqual(agreed?.mismatched, [])
    XCTAssertTrue(lines.at(.info).contains("the fleet runs one configuration again"))
  }

  func testSilentInstancesExpireAndStoreFailuresAreLoggedOnce() async throws {
    let backend = FleetBackend()
    let lines = Lines()
    let logger = Logger(label: "fleet") { _ in Capture(lines: lines) }
    let a = FleetMembership(store: backend.member("a"), logger: logger)
    let now = Date()
    try await backend.member("gone").heartbeat(configHash: "x", now: now, expireAfter: 30)
    let report = await a.beat(configHash: "aaaa", expireAfter: 30, now: now.addingTimeInterval(31))
    XCTAssertEqual(
      report?.instances.map(\.id), ["a"], "an instance silent past expireAfter is gone")
    XCTAssertEqual(report?.mismatched, [])

    backend.unavailable = true
    let failed = await a.beat(configHash: "aaaa", expireAfter: 30)
    XCTAssertNil(failed)
    await a.beat(configHash: "aaaa", expireAfter: 30)
    XCTAssertEqual(lines.at(.error).count, 1, "one line per run of failures")
    backend.unavailable = false
    let back = await a.beat(configHash: "aaaa", expireAfter: 30)
    XCTAssertNotNil(back)
    XCTAssertTrue(lines.at(.info).contains("fleet heartbeat recorded again"))
  }
}
