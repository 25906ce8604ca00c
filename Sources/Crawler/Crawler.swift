import AsyncHTTPClient
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging
import NIOHTTP1
import NetworkGuard

/// Polls the configured sources politely and forever: conditional GETs, per-host and global
/// concurrency limits, exponential backoff, server hints. Each fetch is parsed and committed to
/// the store in one `record` call; one source's trouble never delays or touches another.
///
/// Thread-safe: the daemon calls `setSources`/`updateOptions` on reload while `run()` goes on.
public final class Crawler: Sendable {
  private let store: any FeedStore
  /// The same store when several instances share it: `run()` then claims due sources from it.
  private let shared: (any SharedFeedStore)?
  private let logger: Logger
  private let client: HTTPClient
  private let policy: NetworkPolicy
  private let hopConfiguration: HTTPClient.Configuration?
  private let state: Locked<State>
  private let progress: Locked<Date>
  private let wakeup = Wakeup()
  /// Per-source `/metrics` series; the daemon appends `sourceMetrics.exposition()` to its scrape.
  public let sourceMetrics = SourceMetrics()

  struct Scheduled: Sendable {
    var definition: SourceDefinition
    var due: Date
    var gone: Bool
    /// Position in the configured order (the due queue's tie-break).
    var rank: Int = 0
  }

  struct State: Sendable {
    var options: CrawlerOptions
    var sources: [String: Scheduled] = [:]
    /// Configured order, for deterministic cycles.
    var order: [String] = []
    /// What `run()` polls next (single node only; a shared store decides that in fleet mode).
    var queue = DueQueue()
    /// Sources whose WebSub subscription is verified, until when (see `setPushed`).
    var pushedUntil: [String: Date] = [:]
    var pushInterval: TimeInterval = 0
    var observer: (@Sendable (FetchObservation) async -> Void)?
  }

  /// The result of one fetch, handed back to the scheduler loop.
  struct Completion: Sendable {
    var sourceID: String
    var host: String?
    var result: FetchOutcome.Result
    var nextDue: Date
    var newEntries: Int
    var recorded: Bool
  }

  /// `httpClient` belongs to the caller, who shuts it down after the crawler stopped; build it with
  /// `options.httpClientConfiguration()` (redirects disabled, timeouts, decompression cap).
  /// `policy` vets redirect hops (its resolver is the system's unless a test injects one);
  /// `hopClientConfiguration` is the configuration of the short-lived clients that connect
  /// pinned hops, `options.httpClientConfiguration()` when nil (pass the one `httpClient` was
  /// built with if it differs, e.g. extra trust roots).
  public init(
    store: any FeedStore, options: CrawlerOptions, logger: Logger, httpClient: HTTPClient,
    policy: NetworkPolicy = NetworkPolicy(), hopClientConfiguration: HTTPClient.Configuration? = nil
  ) {
    self.store = store
    self.shared = store as? any SharedFeedStore
    self.logger = logger
    self.client = httpClient
    self.policy = policy
    self.hopConfiguration = hopClientConfiguration
    self.state = Locked(State(options: options))
    self.progress = Locked(Date())
    LibXML.bootstrap()  // idempotent; the daemon normally did it already on the main thread
  }

  /// The last time the scheduler loop (or `crawlOnce`) made progress. The daemon sends systemd's
  /// `WATCHDOG=1` and answers `/readyz` only while this keeps moving.
  public var lastProgress: Date { progress.withLock { $0 } }

  /// When the scheduler will next poll `sourceID` (nil when unknown, disabled or gone).
  public func nextDue(for sourceID: String) -> Date? {
    state.withLock { s in
      guard let entry = s.sources[sourceID], !entry.gone else { return nil }
      return entry.due
    }
  }

  /// Applies a (re)loaded configuration: the store learns the sources, new ones are scheduled
  /// soon (spread, see `Schedule.startupDelay`), removed or disabled ones stop being polled, a
  /// changed interval applies from the last attempt, a changed URL is polled soon. Persisted
  /// `nextDue` times in the future are kept (a restart does not re-poll everything).
  public func setSources(_ sources: [SourceDefinition]) async throws {
    try await store.syncSources(sources)
    let states = try await store.sourceStates()
    let stored = Dictionary(states.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    let now = Date()
    state.withLock { s in
      var next: [String: Scheduled] = [:]
      var fresh: [String] = []
      var order: [String] = []
      for definition in sources where definition.enabled && next[definition.id] == nil {
        let id = definition.id
        order.append(id)
        let persisted = stored[id]
        if var existing = s.sources[id] {
          let old = existing.definition
          existing.definition = definition
          if old.url != definition.url {
            existing.gone = false
            fresh.append(id)
          } else {
            let wasGone = existing.gone
            existing.gone = persisted?.gone ?? existing.gone
            // The store clears a 410 when the source's table changed in any way: poll soon.
            if wasGone && !existing.gone { fresh.append(id) }
            if old.interval != definition.interval, (persisted?.consecutiveFailures ?? 0) == 0 {
              let base = persisted?.lastAttempt ?? now
              existing.due = max(now, base.addingTimeInterval(definition.interval))
            }
          }
          next[id] = existing
        } else {
          let gone = persisted?.gone ?? false
          if let due = persisted?.nextDue, due > now {
            next[id] = Scheduled(definition: definition, due: due, gone: gone)
          } else {
            next[id] = Scheduled(definition: definition, due: now, gone: gone)
            if !gone { fresh.append(id) }
          }
        }
      }
      for id in fresh {
        guard let entry = next[id] else { continue }
        let delay = Schedule.startupDelay(
          id: id, count: fresh.count, interval: entry.definition.interval)
        next[id]?.due = now.addingTimeInterval(delay)
      }
      for (rank, id) in order.enumerated() { next[id]?.rank = rank }
      s.sources = next
      s.order = order
      s.queue.rebuild(from: next)
    }
    // A source that left the config leaves `/metrics` too; a changed filter re-judged the
    // stored entries (`syncSources`), so its gauge moves now, not at the next fetch.
    let configured = Set(sources.map(\.id))
    sourceMetrics.retain(configured)
    sourceMetrics.restore(states.filter { configured.contains($0.id) }, health: false)
    logger.info(
      "crawler sources set",
      metadata: ["sources": "\(sources.count)", "enabled": "\(sources.filter(\.enabled).count)"])
    wakeup.signal()
  }

  /// Sets the per-source gauges from what the store remembers (last success, failures, last
  /// HTTP status, entries lost to retention), so a restart does not blank them until each
  /// source's next fetch. `health: false` refreshes only the retention gauges (the crawler
  /// keeps the others current itself).
  public func publishStoredMetrics(health: Bool = true) async throws {
    sourceMetrics.restore(try await store.sourceStates(), health: health)
  }

  /// Called after every committed fetch of a feed source that allows WebSub (`websub = true`),
  /// with what it advertised; the WebSub subscriber subscribes from it. Runs in its own task,
  /// so a slow hub never delays the crawl.
  public func setFetchObserver(_ observer: @escaping @Sendable (FetchObservation) async -> Void) {
    state.withLock { $0.observer = observer }
  }

  /// The sources a hub pushes to (verified WebSub subscriptions, until when): their successful
  /// polls wait at least `interval` (`[websub] poll_while_subscribed`) while the lease lasts,
  /// and never past its end. A source that leaves the set (lease lapsed, hub failed) is due at
  /// once.
  public func setPushed(_ verified: [String: Date], interval: TimeInterval) {
    let now = Date()
    let resumed = state.withLock { s -> Bool in
      let before = s.pushedUntil
      s.pushedUntil = verified
      s.pushInterval = interval
      var resumed = false
      for id in before.keys where verified[id] == nil {
        guard let entry = s.sources[id], !entry.gone, entry.due > now else { continue }
        s.sources[id]?.due = now
        resumed = true
        if shared == nil { s.queue.push(.init(due: now, rank: entry.rank, id: id)) }
      }
      return resumed
    }
    if resumed { wakeup.signal() }
  }

  /// Ingests a document a WebSub hub pushed for `sourceID` exactly like a fetched one: the same
  /// `max_body`, parser and limits, the same `record` transaction and de-duplication. The
  /// schedule, validators and redirect notes stay as the last poll left them, so polling goes
  /// on as before. `base` (the topic) resolves relative links.
  public func ingestPushed(sourceID: String, body: Data, contentType: String?, base: URL?)
    async -> PushedIngest
  {
    let (entry, options) = state.withLock { ($0.sources[sourceID], $0.options) }
    guard let entry, !entry.gone, entry.definition.kind == .feed else {
      return .rejected("source \(sourceID) is not a polled feed source")
    }
    let definition = entry.definition
    guard body.count <= options.maxBody else {
      return .rejected("body of \(body.count) bytes is over max_body (\(options.maxBody))")
    }
    guard let base = base ?? URL(string: definition.url) else {
      return .rejected("no base URL")
    }
    let stored: SourceState?
    do {
      stored = try await store.sourceState(id: sourceID)
    } catch {
      return .rejected("cannot read stored state: \(error)")
    }
    let reusable = await reusableHTML(definition)
    switch Self.parse(
      definition, body: body, contentType: contentType, finalURL: base, options: options,
      reusableHTML: reusable)
    {
    case .failure(let message):
      return .rejected(message)
    case .success(let parsed, let warnings):
      CrawlMetrics.sanitizer(sanitized: parsed.sanitizedFragments, reused: parsed.reusedFragments)
      let now = Date()
      let due = shared == nil ? entry.due : (stored?.nextDue ?? entry.due)
      let outcome = FetchOutcome(
        sourceID: sourceID, result: .fetched, attemptedAt: now, httpStatus: stored?.httpStatus,
        etag: stored?.etag, lastModified: stored?.lastModified, bodyHash: nil,
        error: warnings.isEmpty ? nil : warnings.joined(separator: "; "), nextDue: due,
        movedTo: stored?.movedTo)
      do {
        let report = try await store.record(outcome, feed: parsed.feed)
        return .recorded(entries: parsed.feed.entries.count, new: report.inserted)
      } catch {
        return .rejected("could not record: \(error)")
      }
    }
  }

  /// Applies new limits; fetches already running finish with the old ones.
  public func updateOptions(_ options: CrawlerOptions) async {
    state.withLock { s in
      s.options = options
      s.queue.rebuild(from: s.sources)  // a higher per_host frees parked sources
    }
    wakeup.signal()
  }

  /// Polls every enabled, not-gone source once, now, within the concurrency and per-host
  /// limits, and returns when all are done (for `crawl --once` and benchmarks).
  public func crawlOnce() async -> CycleReport {
    let clock = ContinuousClock()
    let started = clock.now
    let (definitions, options) = state.withLock { s in
      (
        s.order.compactMap { id in s.sources[id].flatMap { $0.gone ? nil : $0.definition } },
        s.options
      )
    }
    var report = CycleReport(sources: definitions.count)
    var queue = HostQueues(definitions)
    await withTaskGroup(of: Completion.self) { group in
      var running = 0
      var perHost: [String: Int] = [:]
      while true {
        while running < max(1, options.concurrency),
          let (host, definition) = queue.pop(where: { host in
            host == nil || perHost[host!, default: 0] < max(1, options.perHost)
          })
        {
          if let host { perHost[host, default: 0] += 1 }
          running += 1
          group.addTask { await self.fetchGracefully(definition, host: host, options: options) }
        }
        guard let done = await group.next() else { break }
        running -= 1
        if let host = done.host { perHost[host, default: 1] -= 1 }
        apply(done, countsAsProgress: true)
        switch done.recorded ? done.result : .failed {  // not committed: it did not happen
        case .fetched: report.fetched += 1
        case .notModified: report.notModified += 1
        case .failed: report.failed += 1
        case .gone: report.gone += 1
        }
        report.newEntries += done.newEntries
      }
    }
    let elapsed = clock.now - started
    report.duration =
      Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    CrawlMetrics.cycle(duration: report.duration)
    logger.info(
      "crawl cycle done",
      metadata: [
        "sources": "\(report.sources)", "fetched": "\(report.fetched)",
        "not_modified": "\(report.notModified)", "failed": "\(report.failed)",
        "gone": "\(report.gone)", "new_entries": "\(report.newEntries)",
        "seconds": "\(String(format: "%.2f", report.duration))",
      ])
    return report
  }

  /// The scheduler loop: polls each source when it is due, forever, until the task is cancelled.
  /// On cancellation it stops starting fetches; running ones get `shutdownGrace` seconds to finish
  /// (and commit) before they are cancelled. Each commit is one store transaction, so it either
  /// happened or not.
  ///
  /// With a `SharedFeedStore` the store decides what is due, fleet-wide (see `runFleet`).
  public func run() async throws {
    if let shared {
      await runFleet(shared)
      return
    }
    enum Event: Sendable {
      case tick
      case done(Completion)
    }
    progress.withLock { $0 = Date() }
    await withTaskGroup(of: Event.self) { group in
      var inFlight: [String: Date] = [:]  // source id → start
      var perHost: [String: Int] = [:]
      var timerRunning = false
      while !Task.isCancelled {
        let now = Date()
        let (start, options, earliest) = state.withLock {
          s -> ([(SourceDefinition, String?)], CrawlerOptions, Date?) in
          let (start, earliest) = s.queue.take(
            now: now, slots: max(1, s.options.concurrency) - inFlight.count, sources: s.sources,
            running: inFlight, perHost: perHost, perHostLimit: max(1, s.options.perHost))
          return (start, s.options, earliest)
        }
        // A fetch far past its deadline means something below us hangs (the store, the event
        // loop): stop reporting progress so systemd's watchdog restarts the daemon.
        let stuckAfter = options.timeout + options.shutdownGrace + options.hangMargin
        if !inFlight.values.contains(where: { now.timeIntervalSince($0) > stuckAfter }) {
          progress.withLock { $0 = now }
        }
        for (definition, host) in start {
          if let host { perHost[host, default: 0] += 1 }
          inFlight[definition.id] = now
          group.addTask {
            .done(await self.fetchGracefully(definition, host: host, options: options))
          }
        }
        if !timerRunning {
          // Tick at least every second so `lastProgress` moves while everything is idle.
          let delay = min(1, max(0.01, earliest.map { $0.timeIntervalSince(now) } ?? 1))
          timerRunning = true
          group.addTask {
            await self.wakeup.wait(upTo: delay)
            return .tick
          }
        }
        guard let event = await group.next() else { break }
        switch event {
        case .tick:
          timerRunning = false
        case .done(let done):
          inFlight[done.sourceID] = nil
          if let host = done.host { perHost[host, default: 1] -= 1 }
          apply(done, countsAsProgress: false)
          state.withLock { $0.queue.hostFreed(done.host, sources: $0.sources) }
        }
      }
      logger.info("crawler stopping", metadata: ["in_flight": "\(inFlight.count)"])
    }
  }

  /// Fleet mode of `run()`: several instances share the store, so due-ness comes from it, not
  /// from this instance's schedule. Every tick (at most a second apart, and at once when a fetch
  /// finishes) it claims up to the free concurrency in due sources, leased to this instance
  /// (`claimDue`, which also holds `perHost` across the fleet), and fetches them with this
  /// instance's definitions. `record` releases a lease with the commit; a claim this instance
  /// cannot serve (a source not in its config, a local per-host slot taken) is released at
  /// once, and so is a fetch that ends without a commit (cancelled at shutdown, store error),
  /// so nobody waits for a lease to expire unless an instance died.
  private func runFleet(_ shared: any SharedFeedStore) async {
    enum Event: Sendable {
      case tick
      case done(Completion)
    }
    progress.withLock { $0 = Date() }
    logger.info("crawler in fleet mode", metadata: ["instance": "\(shared.instanceID)"])
    await withTaskGroup(of: Event.self) { group in
      var inFlight: [String: Date] = [:]  // source id → start
      var perHost: [String: Int] = [:]
      var timerRunning = false
      var warnedUnknown: Set<String> = []
      var lastClaimError: Date?
      while !Task.isCancelled {
        let now = Date()
        let options = state.withLock { $0.options }
        let stuckAfter = options.timeout + options.shutdownGrace + options.hangMargin
        if !inFlight.values.contains(where: { now.timeIntervalSince($0) > stuckAfter }) {
          progress.withLock { $0 = now }
        }
        let capacity = max(1, options.concurrency) - inFlight.count
        if capacity > 0 {
          do {
            let claimed = try await shared.claimDue(
              now: now, limit: capacity, perHost: max(1, options.perHost),
              leaseTTL: options.leaseTTL)
            lastClaimError = nil
            let definitions = state.withLock { s in claimed.map { s.sources[$0]?.definition } }
            var giveBack: [String] = []
            for (id, definition) in zip(claimed, definitions) {
              // Our own fetch outlived its lease and the claim came back to us: its commit
              // releases the new lease too.
              if inFlight[id] != nil { continue }
              guard let definition else {
                giveBack.append(id)
                let message =
                  "source=\(id) claimed but not in this instance's configuration: released "
                  + "(does the fleet run different configurations?)"
                if warnedUnknown.insert(id).inserted {
                  logger.warning("\(message)")
                } else {
                  logger.debug("\(message)")
                }
                continue
              }
              let host = definition.hostKey
              if let host, perHost[host, default: 0] >= max(1, options.perHost) {
                giveBack.append(id)
                continue
              }
              if let host { perHost[host, default: 0] += 1 }
              inFlight[id] = now
              group.addTask {
                .done(
                  await self.fetchLeased(definition, host: host, options: options, shared: shared))
              }
            }
            if !giveBack.isEmpty {
              do {
                try await shared.release(sourceIDs: giveBack)
              } catch {
                logger.error("cannot release \(giveBack.count) leases: \(error)")
              }
            }
          } catch {
            if !Task.isCancelled,
              lastClaimError.map({ now.timeIntervalSince($0) >= 60 }) ?? true
            {
              logger.error("cannot claim due sources from the shared store: \(error)")
              lastClaimError = now
            }
          }
        }
        if !timerRunning {
          timerRunning = true
          group.addTask {
            await self.wakeup.wait(upTo: 1)
            return .tick
          }
        }
        guard let event = await group.next() else { break }
        switch event {
        case .tick:
          timerRunning = false
        case .done(let done):
          inFlight[done.sourceID] = nil
          if let host = done.host { perHost[host, default: 1] -= 1 }
          apply(done, countsAsProgress: false)
        }
      }
      logger.info("crawler stopping", metadata: ["in_flight": "\(inFlight.count)"])
    }
  }

  /// One leased fetch: a fetch that ends without a commit gives its lease back. The release
  /// runs in a task of its own, since this one may be cancelled (shutdown) by then.
  private func fetchLeased(
    _ definition: SourceDefinition, host: String?, options: CrawlerOptions,
    shared: any SharedFeedStore
  ) async -> Completion {
    let done = await fetchGracefully(definition, host: host, options: options)
    if !done.recorded {
      let logger = self.logger
      let id = definition.id
      await Task {
        do {
          try await shared.release(sourceIDs: [id])
        } catch {
          logger.warning("source=\(id) cannot release its lease (it expires on its own): \(error)")
        }
      }.value
    }
    return done
  }

  // MARK: - one fetch

  /// Stores a completed fetch's next due time. `run()` judges progress itself (a hung fetch must
  /// stop the watchdog even while others complete), `crawlOnce` counts every completion.
  private func apply(_ done: Completion, countsAsProgress: Bool) {
    if countsAsProgress { progress.withLock { $0 = Date() } }
    state.withLock { s in
      // A source removed by a reload while its fetch ran stays removed.
      guard let entry = s.sources[done.sourceID] else { return }
      s.sources[done.sourceID]?.due = done.nextDue
      if done.result == .gone {
        s.sources[done.sourceID]?.gone = true
      } else if shared == nil {
        s.queue.push(.init(due: done.nextDue, rank: entry.rank, id: done.sourceID))
        s.queue.compact(sources: s.sources)
      }
    }
  }

  /// Runs one fetch in its own task so that cancelling the crawler leaves it `shutdownGrace`
  /// seconds to finish and commit, and only then cancels it.
  private func fetchGracefully(
    _ definition: SourceDefinition, host: String?, options: CrawlerOptions
  ) async -> Completion {
    let inner = Task { await self.fetchAndRecord(definition, host: host, options: options) }
    return await withTaskCancellationHandler {
      await inner.value
    } onCancel: {
      Task {
        try? await Task.sleep(nanoseconds: UInt64(max(0, options.shutdownGrace) * 1e9))
        inner.cancel()
      }
    }
  }

  static func hostKey(_ url: String) -> String? { SourceDefinition.hostKey(url) }

  /// Fetch, interpret, parse, record, log and measure one source.
  func fetchAndRecord(
    _ definition: SourceDefinition, host: String?, options: CrawlerOptions
  ) async -> Completion {
    let clock = ContinuousClock()
    let started = clock.now
    let attemptedAt = Date()
    let stored: SourceState?
    do {
      stored = try await store.sourceState(id: definition.id)
    } catch {
      stored = nil
      logger.error("source=\(definition.id) cannot read stored state: \(error)")
    }
    let interpretation = await interpret(definition, stored: stored, options: options)
    if shared != nil, Task.isCancelled {
      // Shutdown cut the fetch short: in a fleet that is no failure of the source, and the
      // lease goes back (`fetchLeased`) so another instance fetches it at once.
      logger.info("source=\(definition.id) fetch cancelled before its commit: lease released")
      return Completion(
        sourceID: definition.id, host: host, result: .failed, nextDue: attemptedAt, newEntries: 0,
        recorded: false)
    }
    let failures = interpretation.result == .failed ? (stored?.consecutiveFailures ?? 0) + 1 : 0
    let kind: Schedule.FetchResultKind
    switch interpretation.result {
    case .fetched, .notModified: kind = .success
    case .failed: kind = .failure
    case .gone: kind = .gone
    }
    var nextDue = Schedule.nextDue(
      now: attemptedAt, result: kind, interval: definition.interval, failures: failures,
      hint: interpretation.hint, retryAfter: interpretation.retryAfter, cap: options.backoffCap,
      jitter: Double.random(in: 0..<1))
    let (pushedUntil, pushInterval, observer) = state.withLock {
      ($0.pushedUntil[definition.id], $0.pushInterval, $0.observer)
    }
    if kind == .success, let pushedUntil, pushedUntil > attemptedAt {
      // A hub pushes this source: poll only as the safety net, and again when the lease ends.
      nextDue = max(nextDue, min(attemptedAt.addingTimeInterval(pushInterval), pushedUntil))
    }
    let outcome = FetchOutcome(
      sourceID: definition.id, result: interpretation.result, attemptedAt: attemptedAt,
      httpStatus: interpretation.status, etag: interpretation.etag,
      lastModified: interpretation.lastModified, bodyHash: interpretation.bodyHash,
      error: interpretation.message, nextDue: nextDue, movedTo: interpretation.movedTo)
    var newEntries = 0
    var filteredEntries: Int?
    var recorded = true
    do {
      let ingest = try await store.record(outcome, feed: interpretation.feed)
      newEntries = ingest.inserted
      filteredEntries = ingest.filteredEntries
    } catch {
      recorded = false
      logger.error("source=\(definition.id) could not record the fetch: \(error)")
    }
    let elapsed = clock.now - started
    let seconds =
      Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    log(
      definition, outcome, newEntries: newEntries, entries: interpretation.feed?.entries.count,
      fragments: interpretation.fragments, seconds: seconds)
    sourceMetrics.record(
      sourceID: definition.id, outcome: outcome, newEntries: newEntries, duration: seconds,
      consecutiveFailures: failures, filteredEntries: filteredEntries)
    CrawlMetrics.fetch(result: outcome.result, duration: seconds)
    if recorded, let observer, definition.websub, definition.kind == .feed,
      outcome.result == .fetched || outcome.result == .notModified
    {
      // A 304 has no document: the stored head of the last one parsed says what it advertised.
      let document = interpretation.feed ?? stored?.decodedFeedHead()
      let observation = FetchObservation(
        sourceID: definition.id, linkHeaders: interpretation.linkHeaders,
        feedLinks: document?.links ?? [], selfLink: document?.selfLink,
        base: interpretation.finalURL)
      Task { await observer(observation) }
    }
    return Completion(
      sourceID: definition.id, host: host, result: outcome.result, nextDue: nextDue,
      newEntries: newEntries, recorded: recorded)
  }

  /// What one fetch meant, before scheduling.
  struct Interpretation: Sendable {
    var result: FetchOutcome.Result
    var status: Int?
    var etag: String?
    var lastModified: String?
    var bodyHash: String?
    var message: String?
    var movedTo: String?
    var feed: Feed?
    /// Longest of max-age / Expires / RSS ttl, in seconds.
    var hint: TimeInterval?
    var retryAfter: TimeInterval?
    /// The response's `Link` field values and where it came from (WebSub discovery).
    var linkHeaders: [String] = []
    var finalURL: URL?
    /// HTML fragments of the parsed document sanitised and reused (issue 17), for the log.
    var fragments: (sanitized: Int, reused: Int) = (0, 0)
  }

  func interpret(
    _ definition: SourceDefinition, stored: SourceState?, options: CrawlerOptions
  ) async -> Interpretation {
    guard let url = URL(string: definition.url), url.scheme != nil else {
      return Interpretation(result: .failed, message: "invalid URL \(definition.url)")
    }
    let fetcher = Fetcher(
      client: client, options: options, policy: policy, hopConfiguration: hopConfiguration)
    let raw: RawFetch
    do {
      raw = try await fetcher.fetch(
        url: url, kind: definition.kind.rawValue, userAgent: definition.userAgent,
        conditions: .init(etag: stored?.etag, lastModified: stored?.lastModified))
    } catch {
      return Interpretation(
        result: .failed, status: error.status, message: error.message, movedTo: error.movedTo)
    }
    let now = Date()
    let headers = raw.headers
    let etag = headers.first(name: "ETag")
    let lastModified = headers.first(name: "Last-Modified")
    var hint: TimeInterval? = nil
    if let cc = headers.first(name: "Cache-Control"),
      let maxAge = ServerHints.maxAge(cacheControl: cc)
    {
      hint = maxAge
    } else if let expires = headers.first(name: "Expires") {
      hint = ServerHints.expires(expires, now: now)
    }
    switch raw.status {
    case 304:
      return Interpretation(
        result: .notModified, status: 304, etag: etag, lastModified: lastModified,
        movedTo: raw.movedTo, hint: hint, linkHeaders: headers["Link"], finalURL: raw.finalURL)
    case 200:
      break
    case 410:
      return Interpretation(
        result: .gone, status: 410, message: "HTTP 410 Gone: polling stopped", movedTo: raw.movedTo)
    default:
      let retryAfter = headers.first(name: "Retry-After").flatMap {
        ServerHints.retryAfter($0, now: now)
      }
      var message = "HTTP \(raw.status)"
      if let retryAfter, raw.status == 429 || raw.status == 503 {
        message += " (retry after \(formatSeconds(retryAfter)))"
      }
      return Interpretation(
        result: .failed, status: raw.status, message: message, movedTo: raw.movedTo,
        retryAfter: (raw.status == 429 || raw.status == 503) ? retryAfter : nil)
    }
    let body = raw.body ?? Data()
    let hash = BodyHash.hex(body)
    if let previous = stored?.bodyHash, previous == hash {
      return Interpretation(
        result: .notModified, status: 200, etag: etag, lastModified: lastModified, bodyHash: hash,
        movedTo: raw.movedTo, hint: hint, linkHeaders: headers["Link"], finalURL: raw.finalURL)
    }
    let contentType = headers.first(name: "Content-Type")
    let status: Int? = url.isFileURL ? nil : 200
    let reusable = await reusableHTML(definition)
    switch Self.parse(
      definition, body: body, contentType: contentType, finalURL: raw.finalURL, options: options,
      reusableHTML: reusable)
    {
    case .failure(let message):
      return Interpretation(result: .failed, status: status, message: message, movedTo: raw.movedTo)
    case .success(let parsed, let warnings):
      CrawlMetrics.sanitizer(sanitized: parsed.sanitizedFragments, reused: parsed.reusedFragments)
      if let ttl = parsed.feed.ttlMinutes, ttl > 0 {
        hint = max(hint ?? 0, TimeInterval(ttl) * 60)
      }
      return Interpretation(
        result: .fetched, status: status, etag: etag, lastModified: lastModified, bodyHash: hash,
        message: warnings.isEmpty ? nil : warnings.joined(separator: "; "), movedTo: raw.movedTo,
        feed: parsed.feed, hint: hint, linkHeaders: headers["Link"], finalURL: raw.finalURL,
        fragments: (parsed.sanitizedFragments, parsed.reusedFragments))
    }
  }

  /// The sanitised HTML stored for a feed source's current entries (issue 17): parsing a
  /// changed document then sanitises only its changed fragments. A store that cannot answer
  /// costs only the reuse (everything is sanitised), never the fetch.
  func reusableHTML(_ definition: SourceDefinition) async -> [SanitizerKey: String] {
    guard definition.kind == .feed else { return [:] }
    do {
      return try await store.reusableHTML(sourceID: definition.id)
    } catch {
      logger.warning(
        "source=\(definition.id) cannot read stored HTML to reuse, sanitising all: \(error)")
      return [:]
    }
  }

  /// Bytes to entries: feeds through `FeedParser`, `html` sources through `HTMLScraper` with
  /// their selectors. Warnings are what the admin should see even on success (malformed XML,
  /// scraper advice such as "date not parsed on 3 of 10 items").
  static func parse(
    _ definition: SourceDefinition, body: Data, contentType: String?, finalURL: URL,
    options: CrawlerOptions, reusableHTML: [SanitizerKey: String] = [:]
  ) -> SourcePreview {
    switch definition.kind {
    case .feed:
      do {
        var parseOptions = options.effectiveParseOptions
        parseOptions.reusableHTML = reusableHTML
        let parsed = try FeedParser.parse(
          body, contentType: contentType, baseURL: finalURL, options: parseOptions)
        var warnings: [String] = []
        if parsed.malformed {
          let first =
            parsed.diagnostics.first(where: { $0.severity == .error }) ?? parsed.diagnostics.first
          if let first {
            let position = first.line.map { line in "\(line):\(first.column ?? 0)" }
            warnings.append(
              "malformed XML" + (position.map { " at \($0)" } ?? "") + ": \(first.message)")
          } else {
            warnings.append("malformed XML")
          }
        }
        return .success(parsed, warnings)
      } catch {
        return .failure(error.description)
      }
    case .html:
      guard let selectors = definition.selectors else {
        return .failure("html source without selectors")
      }
      do {
        let scraped = try HTMLScraper.scrape(
          body, contentType: contentType, pageURL: finalURL, selectors: selectors,
          options: options.effectiveParseOptions)
        return .success(scraped.parsed, scraped.warnings)
      } catch {
        return .failure(error.description)
      }
    }
  }

  /// Fetches and parses one source without touching any store or schedule (no validators are
  /// sent), for `clusterwire try-source`: the admin sees the entries it would produce and the
  /// warnings before reloading the daemon.
  public static func preview(
    _ source: SourceDefinition, options: CrawlerOptions, httpClient: HTTPClient, logger: Logger,
    policy: NetworkPolicy = NetworkPolicy()
  ) async -> SourcePreview {
    LibXML.bootstrap()
    guard let url = URL(string: source.url), url.scheme != nil else {
      return .failure("invalid URL \(source.url)")
    }
    let fetcher = Fetcher(client: httpClient, options: options, policy: policy)
    let raw: RawFetch
    do {
      raw = try await fetcher.fetch(
        url: url, kind: source.kind.rawValue, userAgent: source.userAgent, conditions: .init())
    } catch {
      return .failure(error.message)
    }
    if let moved = raw.movedTo {
      logger.warning(
        "source=\(source.id) moved permanently to \(moved): update its url in the config")
    }
    guard raw.status == 200, let body = raw.body else {
      return .failure("HTTP \(raw.status)")
    }
    return previewParse(
      source, body: body, contentType: raw.headers.first(name: "Content-Type"),
      finalURL: raw.finalURL, options: options)
  }

  /// One line per fetch. Levels, chosen for journald on a 1 000-source network: `fetched` at
  /// info, `not-modified` at debug (the bulk of the traffic, nothing happened), failures at
  /// warning, `gone` at error, a permanent move at warning (the admin should update the URL).
  private func log(
    _ definition: SourceDefinition, _ outcome: FetchOutcome, newEntries: Int, entries: Int?,
    fragments: (sanitized: Int, reused: Int) = (0, 0), seconds: TimeInterval
  ) {
    let status = outcome.httpStatus.map(String.init) ?? "-"
    let ms = Int((seconds * 1000).rounded())
    var line = "source=\(definition.id) status=\(status)"
    switch outcome.result {
    case .fetched:
      line += " result=fetched entries=\(entries ?? 0) new=\(newEntries) \(ms)ms"
      if fragments.sanitized + fragments.reused > 0 {
        // How much of the sanitiser's work the stored HTML saved (issue 17).
        line += " html=\(fragments.sanitized)-sanitised/\(fragments.reused)-reused"
      }
      if let warning = outcome.error { line += " warning=\"\(warning)\"" }
      logger.info("\(line)")
    case .notModified:
      logger.debug("\(line) result=not-modified \(ms)ms")
    case .failed:
      line += " result=failed \(ms)ms error=\"\(outcome.error ?? "unknown")\""
      line += " next=\(ISO8601DateFormatter().string(from: outcome.nextDue))"
      logger.warning("\(line)")
    case .gone:
      logger.error(
        "\(line) result=gone \(ms)ms: the source is gone (HTTP 410); polling stopped until its configuration changes"
      )
    }
    if let moved = outcome.movedTo {
      logger.warning(
        "source=\(definition.id) moved permanently to \(moved): update its url in the config")
    }
  }
}

/// What a committed fetch of a feed advertised, for the WebSub subscriber (`setFetchObserver`):
/// the response's `Link` field values (empty for `file:` sources) and the document's links (on
/// a 304, those of the stored head of the last document parsed).
public struct FetchObservation: Sendable {
  public var sourceID: String
  public var linkHeaders: [String]
  /// The parsed document's links (`rel="hub"` among them).
  public var feedLinks: [Link]
  public var selfLink: String?
  /// The URL the response came from, to resolve relative links.
  public var base: URL?
}

/// What `Crawler.ingestPushed` did with a pushed document.
public enum PushedIngest: Sendable, Hashable {
  case recorded(entries: Int, new: Int)
  case rejected(String)
}

/// What fetching and parsing one source produced, for `Crawler.preview`.
public enum SourcePreview: Sendable {
  /// The parsed document and warnings worth showing (malformed XML, scraper advice).
  case success(ParsedFeed, [String])
  /// Why there is nothing to show ("HTTP 404", "not a feed: …", "timed out after 30 s").
  case failure(String)
}

/// Pending sources grouped by host, handed out round-robin so one big host does not starve the
/// others while it sits at its per-host limit.
struct HostQueues {
  private var queues: [String?: [SourceDefinition]] = [:]
  private var heads: [String?: Int] = [:]
  private var hosts: [String?] = []
  private var cursor = 0

  init(_ definitions: [SourceDefinition]) {
    for definition in definitions {
      let host = Crawler.hostKey(definition.url)
      if queues[host] == nil {
        hosts.append(host)
        heads[host] = 0
      }
      queues[host, default: []].append(definition)
    }
  }

  var isEmpty: Bool { hosts.isEmpty }

  /// The next source whose host `available` accepts, or nil when none can start now.
  mutating func pop(where available: (String?) -> Bool) -> (String?, SourceDefinition)? {
    var checked = 0
    while checked < hosts.count {
      if cursor >= hosts.count { cursor = 0 }
      let host = hosts[cursor]
      if available(host), let head = heads[host], let queue = queues[host], head < queue.count {
        heads[host] = head + 1
        if head + 1 >= queue.count {
          hosts.remove(at: cursor)
          queues[host] = nil
          heads[host] = nil
        } else {
          cursor += 1
        }
        return (host, queue[head])
      }
      cursor += 1
      checked += 1
    }
    return nil
  }
}
