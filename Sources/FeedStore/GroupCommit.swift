import FeedModel
import Foundation

// Group commit (issue 17, lever 3).
//
// Every crawl result used to be one write transaction. The store has a single writer anyway
// (SQLite's writer queue; PostgreSQL's fleet-wide write lock), so concurrent `record` calls
// queue up behind it; each of them then paid its own BEGIN, lock, page writes of the hot
// index and `meta` pages, and COMMIT. The committer below lets the writer take every queued
// result (up to `commitBatch`) into ONE transaction, each result inside its own SAVEPOINT:
//
// - "Natural" group commit: a result that arrives while the writer is idle is committed at
//   once (a lone record never waits). Results that arrive while a commit is running queue and
//   go together in the next one. Only when the writer is idle and other `record` calls are
//   still preparing their entries (hashing, fingerprinting: work done before the write) does
//   it wait for them, at most `commitDelay` after the oldest queued result arrived, so a burst
//   of concurrent crawl results shares one commit instead of the first one going alone.
// - Each result stays atomic: its entries, validators and source state are released into the
//   transaction together or rolled back to its savepoint together. A result whose ingest (or
//   its `inTransaction` hook) throws is rolled back alone and only its caller gets the error.
//   If the transaction itself fails (COMMIT, or a savepoint that can no longer be rolled back
//   because the engine aborted the transaction), every caller of the batch gets the error.
// - `record` returns only after the commit of its batch, so whatever reads the store after it
//   sees the result. Results of a batch run in order of arrival.
// - A crash (kill -9) loses at most the uncommitted batch: none of its results' validators were
//   stored either, so the next fetch of those sources reads them again.

/// Counters of the group committer (package-visible, for tests and `cwbench`).
package struct GroupCommitStats: Sendable, Hashable {
  /// Write transactions the committer ran (committed or not).
  package var transactions = 0
  /// Crawl results those transactions carried.
  package var results = 0
  /// The most results one transaction carried.
  package var largestBatch = 0
  /// Results rolled back to their savepoint while the rest of their batch committed.
  package var rolledBackAlone = 0
  /// Transactions that failed as a whole (every caller of the batch got the error).
  package var failedBatches = 0
  /// Nanoseconds the committer's transactions took, from asking for the writer to the commit
  /// (`cwbench` compares it with the wall time: how busy the single writer was).
  package var writerNanoseconds: UInt64 = 0

  package init() {}
}

/// Queues concurrent crawl results and commits them in batches on the engine's writer. One per
/// `StoreCore` (the store's rules stay in `Ingest`; this only decides what shares a
/// transaction).
package final class GroupCommitter<Engine: StoreEngine>: @unchecked Sendable {
  /// Runs inside the result's savepoint after its ingest (the PostgreSQL store releases the
  /// source's lease there).
  package typealias Hook = @Sendable (Engine.Connection, FetchOutcome) throws -> Void

  /// One crawl result as the writer needs it.
  struct Item: Sendable {
    var outcome: FetchOutcome
    var feed: Feed?
    var prepared: [PreparedEntry]
    var hook: Hook?
  }

  private struct Pending {
    var item: Item
    var continuation: CheckedContinuation<IngestReport, any Error>
    var enqueued: UInt64
  }

  private let engine: Engine
  private let options: @Sendable () -> StoreOptions
  // Everything below is guarded by `lock`.
  private let lock = NSLock()
  private var queue: [Pending] = []
  /// A drain task is running (it alone takes results off the queue).
  private var draining = false
  /// `record` calls that announced themselves and are still preparing their entries.
  private var preparing = 0
  /// The drain task waiting for the batch to fill (resumed on any change, or by its timer).
  private var wake: CheckedContinuation<Void, Never>?
  private var counters = GroupCommitStats()

  package init(engine: Engine, options: @escaping @Sendable () -> StoreOptions) {
    self.engine = engine
    self.options = options
  }

  package var stats: GroupCommitStats { lock.withLock { counters } }

  /// Results queued for the writer and not yet taken into a transaction (tests wait on it).
  package var queued: Int { lock.withLock { queue.count } }

  /// Announces a `record` call that is about to prepare its entries: while any are preparing,
  /// an idle writer may wait (at most `commitDelay`) for them to join its batch.
  func willPrepare() {
    lock.withLock { preparing += 1 }
  }

  /// A `record` call that announced itself will not submit (its preparation threw, or group
  /// commit is off and it writes on its own).
  func abandon() {
    let waiter = lock.withLock { () -> CheckedContinuation<Void, Never>? in
      preparing -= 1
      return takeWake()
    }
    waiter?.resume()
  }

  /// Queues one prepared crawl result (after `willPrepare`) and returns its report once the
  /// transaction that carried it committed.
  func submit(_ item: Item) async throws -> IngestReport {
    try await withCheckedThrowingContinuation { continuation in
      let (start, waiter) = lock.withLock {
        () -> (Bool, CheckedContinuation<Void, Never>?) in
        preparing -= 1
        queue.append(
          Pending(
            item: item, continuation: continuation, enqueued: DispatchTime.now().uptimeNanoseconds
          ))
        if draining { return (false, takeWake()) }
        draining = true
        return (true, nil)
      }
      waiter?.resume()
      if start { Task { await self.drain() } }
    }
  }

  /// Must be called with `lock` held.
  private func takeWake() -> CheckedContinuation<Void, Never>? {
    let waiter = wake
    wake = nil
    return waiter
  }

  /// Commits batches until the queue is empty; then the next `submit` starts a new drain.
  private func drain() async {
    while true {
      let current = options()
      let limit = max(1, current.commitBatch)
      await gather(limit: limit, delay: current.commitDelay)
      let batch = lock.withLock { () -> [Pending] in
        let n = min(queue.count, limit)
        let taken = Array(queue.prefix(n))
        queue.removeFirst(n)
        if taken.isEmpty { draining = false }
        return taken
      }
      if batch.isEmpty { return }
      let items = batch.map(\.item)
      let results: [Result<IngestReport, any Error>]
      var failedWhole = false
      let started = DispatchTime.now().uptimeNanoseconds
      do {
        results = try await engine.write { db in try Self.commit(db, items, options: current) }
      } catch {
        results = Array(repeating: .failure(error), count: batch.count)
        failedWhole = true
      }
      let rolledBack =
        failedWhole ? 0 : results.filter { if case .failure = $0 { true } else { false } }.count
      let elapsed = DispatchTime.now().uptimeNanoseconds - started
      lock.withLock {
        counters.writerNanoseconds += elapsed
        counters.transactions += 1
        counters.results += batch.count
        counters.largestBatch = max(counters.largestBatch, batch.count)
        counters.rolledBackAlone += rolledBack
        if failedWhole { counters.failedBatches += 1 }
      }
      for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
    }
  }

  /// Waits, while the writer is idle, for results still being prepared to join the batch: until
  /// `limit` results are queued, nobody is preparing, or `delay` has passed since the oldest
  /// queued result arrived. Returns at once when `delay` is zero.
  private func gather(limit: Int, delay: TimeInterval) async {
    guard delay > 0, limit > 1 else { return }
    let delayNanos = UInt64(delay * 1e9)
    var timerStarted = false
    while true {
      let now = DispatchTime.now().uptimeNanoseconds
      let deadline = lock.withLock { () -> UInt64? in
        guard let oldest = queue.first?.enqueued, queue.count < limit, preparing > 0 else {
          return nil
        }
        let deadline = oldest + delayNanos
        return deadline > now ? deadline : nil
      }
      guard let deadline else { return }
      if !timerStarted {
        timerStarted = true
        // One timer per gather: it only wakes the drain task, which checks again (a late
        // timer from an earlier gather costs one extra check).
        Task { [weak self] in
          try? await Task.sleep(nanoseconds: deadline - now)
          self?.wakeUp()
        }
      }
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumeNow = lock.withLock { () -> Bool in
          // Re-checked under the lock, so no change between the check above and here is lost.
          if queue.count >= limit || preparing == 0
            || DispatchTime.now().uptimeNanoseconds >= deadline
          {
            return true
          }
          wake = continuation
          return false
        }
        if resumeNow { continuation.resume() }
      }
    }
  }

  private func wakeUp() {
    let waiter = lock.withLock { takeWake() }
    waiter?.resume()
  }

  /// The batch's transaction body: each result in its own savepoint (a lone result needs none:
  /// the transaction is its atomic unit). Returns one result per item, in order; throws only
  /// when the transaction itself can no longer commit.
  static func commit(
    _ db: Engine.Connection, _ items: [Item], options: StoreOptions
  ) throws -> [Result<IngestReport, any Error>] {
    if items.count == 1, let item = items.first {
      return [.success(try record(db, item, options: options))]
    }
    var results: [Result<IngestReport, any Error>] = []
    results.reserveCapacity(items.count)
    for item in items {
      try db.execute("SAVEPOINT cw_result")
      do {
        let report = try record(db, item, options: options)
        try db.execute("RELEASE SAVEPOINT cw_result")
        results.append(.success(report))
      } catch {
        // When the engine aborted the whole transaction (SQLite on an I/O error, a broken
        // PostgreSQL connection) the savepoint is gone and this throws: the batch fails.
        try db.execute("ROLLBACK TO SAVEPOINT cw_result")
        try db.execute("RELEASE SAVEPOINT cw_result")
        results.append(.failure(error))
      }
    }
    return results
  }

  /// One result's ingest and hook, with a fresh `Ingest` (its caches and counters never
  /// outlive a savepoint that might be rolled back).
  private static func record(_ db: Engine.Connection, _ item: Item, options: StoreOptions) throws
    -> IngestReport
  {
    var ingest = Ingest(db: db, options: options)
    let report = try ingest.record(item.outcome, feed: item.feed, prepared: item.prepared)
    try item.hook?(db, item.outcome)
    return report
  }
}
