import FeedModel
import FeedStore
import Foundation
import PostgresStore
import XCTest

/// Group commit (issue 17, lever 3): concurrent `record` calls share write transactions, each
/// crawl result stays atomic in its own savepoint, on SQLite and (with
/// `CLUSTERWIRE_STORE_BACKEND=postgres`) on PostgreSQL.
///
/// The batches are made deterministic by holding the writer: a first record's `inTransaction`
/// hook blocks (on the writer) until the others are queued behind it, so what the next
/// transactions carry is known exactly.
final class GroupCommitTests: XCTestCase {
  /// Runs `body` on the fixture's own `StoreCore`, whichever backend it is.
  private func onCore(
    _ f: StoreFixture, _ body: (any GroupCommitScenario) async throws -> Void
  ) async throws {
    if let pg = f.store as? PostgresFeedStore {
      try await body(Scenario(core: pg.core))
    } else {
      try await body(Scenario(core: (f.store as! SQLiteFeedStore).core))
    }
  }

  func testConcurrentRecordsShareTransactionsBoundedByCommitBatch() async throws {
    let f = try await StoreFixture(options: StoreOptions(commitBatch: 16, commitDelay: 0.005))
    addTeardownBlock { await f.cleanup() }
    try await f.sources((0..<40).map { source("s\($0)") })
    try await onCore(f) { core in
      let before = core.stats
      // s0 holds the writer until the 39 others are queued: then 16 + 16 + 7 follow.
      let first = Task {
        try await core.record(Self.outcome("s0", etag: "e0"), feed: Self.feed("s0", 1)) {
          core.holdUntilQueued(39)
        }
      }
      try await core.waitUntilHolding()
      let reports = try await withThrowingTaskGroup(of: (Int, IngestReport, String?).self) {
        group in
        for i in 1..<40 {
          group.addTask {
            let report = try await core.record(
              Self.outcome("s\(i)", etag: "e\(i)"), feed: Self.feed("s\(i)", i % 5 + 1),
              hook: nil)
            // Whatever reads the store after record returns sees the result.
            let etag = try await f.store.sourceState(id: "s\(i)")?.etag
            return (i, report, etag)
          }
        }
        var all: [(Int, IngestReport, String?)] = []
        for try await r in group { all.append(r) }
        return all
      }
      let firstReport = try await first.value
      XCTAssertEqual(firstReport.inserted, 1)
      XCTAssertEqual(reports.count, 39)
      for (i, report, etag) in reports {
        XCTAssertEqual(report.inserted, i % 5 + 1, "s\(i)'s own report")
        XCTAssertEqual(etag, "e\(i)", "s\(i) visible once record returned")
      }
      let stats = core.stats
      XCTAssertEqual(stats.results - before.results, 40)
      XCTAssertEqual(stats.transactions - before.transactions, 4, "1 + 16 + 16 + 7")
      XCTAssertEqual(stats.largestBatch, 16, "commit_batch bounds a transaction")
      XCTAssertEqual(stats.rolledBackAlone, 0)
    }
    let counts = try await f.store.counts()
    XCTAssertEqual(counts.entries, 1 + (1..<40).reduce(0) { $0 + $1 % 5 + 1 })
    for i in [0, 7, 39] {
      let entries = try await f.store.entries(sourceID: "s\(i)")
      XCTAssertEqual(entries.count, i == 0 ? 1 : i % 5 + 1)
    }
  }

  func testPoisonedResultIsRolledBackAloneAndOrderIsArrival() async throws {
    let f = try await StoreFixture(options: StoreOptions(commitBatch: 32, commitDelay: 0))
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("hold"), source("a"), source("b"), source("poison")])
    struct Poison: Error {}
    try await onCore(f) { core in
      let before = core.stats
      let hold = Task {
        try await core.record(Self.outcome("hold", etag: "h"), feed: Self.feed("hold", 1)) {
          core.holdUntilQueued(5)
        }
      }
      try await core.waitUntilHolding()
      // Queued one at a time, so the arrival order is known: a, poison (its hook throws after
      // its ingest wrote everything), an unknown source, b, and a again.
      var tasks: [Task<IngestReport, any Error>] = []
      let plan: [(String, String, Int, Bool)] = [
        ("a", "a1", 3, false), ("poison", "p1", 4, true), ("nope", "n1", 1, false),
        ("b", "b1", 2, false), ("a", "a2", 1, false),
      ]
      for (n, (id, etag, count, poisoned)) in plan.enumerated() {
        let feed = Self.feed(id, count, tag: etag)
        tasks.append(
          Task {
            try await core.record(Self.outcome(id, etag: etag), feed: feed) {
              if poisoned { throw Poison() }
            }
          })
        try await core.waitUntilQueued(n + 1)
      }
      _ = try await hold.value
      var outcomes: [String] = []
      for task in tasks {
        do {
          let report = try await task.value
          outcomes.append("ok \(report.inserted)")
        } catch is Poison {
          outcomes.append("poison")
        } catch FeedStoreError.unknownSource(let id) {
          outcomes.append("unknown \(id)")
        }
      }
      XCTAssertEqual(outcomes, ["ok 3", "poison", "unknown nope", "ok 2", "ok 1"])
      let stats = core.stats
      XCTAssertEqual(stats.transactions - before.transactions, 2, "hold, then one batch of 5")
      XCTAssertEqual(stats.rolledBackAlone - before.rolledBackAlone, 2)
    }
    // The poisoned result left nothing: no entries, no validators, no state.
    let poison = try await f.store.sourceState(id: "poison")
    XCTAssertNil(poison?.etag)
    XCTAssertNil(poison?.lastAttempt)
    XCTAssertEqual(poison?.entryCount, 0)
    let poisonEntries = try await f.store.entries(sourceID: "poison")
    XCTAssertEqual(poisonEntries.count, 0)
    // The rest committed, in arrival order: a's second result came last and wins.
    let a = try await f.store.sourceState(id: "a")
    XCTAssertEqual(a?.etag, "a2")
    let aEntries = try await f.store.entries(sourceID: "a")
    XCTAssertEqual(aEntries.count, 4)
    let b = try await f.store.sourceState(id: "b")
    XCTAssertEqual(b?.etag, "b1")
    let counts = try await f.store.counts()
    XCTAssertEqual(counts.entries, 1 + 4 + 2)
  }

  /// When the transaction itself is lost, every caller of the batch gets the error and none of
  /// its results is stored (here a hook ends the transaction behind the committer's back, as an
  /// engine does when it aborts one).
  func testLostTransactionFailsEveryCallerOfTheBatch() async throws {
    let f = try await StoreFixture(options: StoreOptions(commitBatch: 32, commitDelay: 0))
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("hold"), source("a"), source("b"), source("c")])
    struct Boom: Error {}
    try await onCore(f) { core in
      let hold = Task {
        try await core.record(Self.outcome("hold", etag: "h"), feed: Self.feed("hold", 1)) {
          core.holdUntilQueued(3)
        }
      }
      try await core.waitUntilHolding()
      var tasks: [Task<IngestReport, any Error>] = []
      for (n, id) in ["a", "b", "c"].enumerated() {
        let feed = Self.feed(id, 2)
        tasks.append(
          Task {
            try await core.record(Self.outcome(id, etag: id), feed: feed, rollbackAll: id == "b")
          })
        try await core.waitUntilQueued(n + 1)
      }
      _ = try await hold.value
      var failed = 0
      for task in tasks {
        do { _ = try await task.value } catch { failed += 1 }
      }
      XCTAssertEqual(failed, 3, "every caller of the lost batch gets an error")
      XCTAssertGreaterThanOrEqual(core.stats.failedBatches, 1)
    }
    for id in ["a", "b", "c"] {
      let state = try await f.store.sourceState(id: id)
      XCTAssertNil(state?.etag, id)
      let entries = try await f.store.entries(sourceID: id)
      XCTAssertEqual(entries.count, 0, id)
    }
    // The store goes on: the next results commit.
    try await f.ingest("a", [entry(id: "tag:a,2025:after", title: "After")])
    let after = try await f.store.entries(sourceID: "a")
    XCTAssertEqual(after.count, 1)
  }

  /// A lone record with nothing else in flight is committed at once, however long
  /// `commit_delay` is.
  func testLoneRecordDoesNotWaitForCommitDelay() async throws {
    let f = try await StoreFixture(options: StoreOptions(commitBatch: 32, commitDelay: 30))
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    let start = Date()
    for n in 0..<3 {
      try await f.ingest("a", [entry(id: "tag:a,2025:\(n)", title: "Entry \(n)")])
    }
    XCTAssertLessThan(Date().timeIntervalSince(start), 15, "a lone record waited for the delay")
    let entries = try await f.store.entries(sourceID: "a")
    XCTAssertEqual(entries.count, 3)
  }

  /// `commit_delay` lets an idle writer wait for results still being prepared, so a burst
  /// started together shares fewer transactions than results (and all of them commit).
  func testBurstWithCommitDelaySharesTransactions() async throws {
    let f = try await StoreFixture(options: StoreOptions(commitBatch: 64, commitDelay: 0.2))
    addTeardownBlock { await f.cleanup() }
    try await f.sources((0..<24).map { source("s\($0)") })
    try await onCore(f) { core in
      let before = core.stats
      try await withThrowingTaskGroup(of: Void.self) { group in
        for i in 0..<24 {
          group.addTask {
            let report = try await core.record(
              Self.outcome("s\(i)", etag: "e\(i)"), feed: Self.feed("s\(i)", 30), hook: nil)
            XCTAssertEqual(report.inserted, 30)
          }
        }
        try await group.waitForAll()
      }
      let stats = core.stats
      XCTAssertEqual(stats.results - before.results, 24)
      XCTAssertLessThan(stats.transactions - before.transactions, 24)
    }
    let counts = try await f.store.counts()
    XCTAssertEqual(counts.entries, 24 * 30)
  }

  static func outcome(_ id: String, etag: String) -> FetchOutcome {
    FetchOutcome(
      sourceID: id, result: .fetched, attemptedAt: t0, httpStatus: 200, etag: etag,
      nextDue: t0.addingTimeInterval(1800))
  }

  static func feed(_ id: String, _ count: Int, tag: String = "") -> Feed {
    Feed(
      title: "Feed \(id)",
      entries: (0..<count).map {
        entry(
          id: "tag:\(id).example,2025:\(tag)\($0)", title: "\(id) story \(tag) \($0)",
          link: "https://\(id).example/\(tag)/\($0)", summary: "Summary of \(id) \(tag) \($0)")
      })
  }
}

/// What the tests ask of a `StoreCore`, whichever its engine.
private protocol GroupCommitScenario: Sendable {
  var stats: GroupCommitStats { get }
  func record(
    _ outcome: FetchOutcome, feed: Feed?, hook: (@Sendable () throws -> Void)?
  ) async throws -> IngestReport
  /// A record whose hook ends the whole transaction (ROLLBACK) and throws.
  func record(_ outcome: FetchOutcome, feed: Feed?, rollbackAll: Bool) async throws
    -> IngestReport
  /// Called in a hook: blocks the writer until `count` results are queued behind it.
  func holdUntilQueued(_ count: Int)
  func waitUntilHolding() async throws
  func waitUntilQueued(_ count: Int) async throws
}

private struct TimedOut: Error {}
private struct Aborted: Error {}

private final class Scenario<Engine: StoreEngine>: GroupCommitScenario, @unchecked Sendable {
  let core: StoreCore<Engine>
  private let lock = NSLock()
  private var holding = false
  /// The hold ended (the writer took the queue at once: `queued` may never be seen full).
  private var released = false

  init(core: StoreCore<Engine>) { self.core = core }

  var stats: GroupCommitStats { core.commitStats }

  func record(
    _ outcome: FetchOutcome, feed: Feed?, hook: (@Sendable () throws -> Void)?
  ) async throws -> IngestReport {
    guard let hook else { return try await core.record(outcome, feed: feed) }
    return try await core.record(outcome, feed: feed) { _, _ in try hook() }
  }

  func record(_ outcome: FetchOutcome, feed: Feed?, rollbackAll: Bool) async throws
    -> IngestReport
  {
    return try await core.record(outcome, feed: feed) { db, _ in
      if rollbackAll {
        try db.execute("ROLLBACK")
        throw Aborted()
      }
    }
  }

  func holdUntilQueued(_ count: Int) {
    lock.withLock { holding = true }
    let deadline = Date().addingTimeInterval(30)
    while core.committer.queued < count && Date() < deadline { usleep(1000) }
    lock.withLock { released = true }
  }

  func waitUntilHolding() async throws {
    try await poll { self.lock.withLock { self.holding } }
  }

  func waitUntilQueued(_ count: Int) async throws {
    try await poll {
      self.core.committer.queued >= count || self.lock.withLock { self.released }
    }
  }

  private func poll(_ condition: @escaping @Sendable () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(30)
    while !condition() {
      if Date() > deadline { throw TimedOut() }
      try await Task.sleep(nanoseconds: 1_000_000)
    }
  }
}

extension GroupCommitScenario {
  func record(
    _ outcome: FetchOutcome, feed: Feed?, _ hook: @escaping @Sendable () throws -> Void
  ) async throws -> IngestReport {
    try await record(outcome, feed: feed, hook: hook)
  }
}
