import FeedModel
import Foundation

/// How a backend runs the store's transactions. The rules (`StoreCore`, `Ingest`, `Timeline`,
/// `Archive`) only ever see a `Connection` inside one of these two calls.
package protocol StoreEngine: Sendable {
  associatedtype Connection: StoreConnection
  /// One consistent read snapshot.
  func read<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T
  /// One write transaction (SQLite: IMMEDIATE on the writer queue; PostgreSQL: its own).
  func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T
}

/// Every `FeedStore` requirement except `close`, written once over an engine: the SQLite and the
/// PostgreSQL store are thin shells around it (opening, closing, engine extras), so both run the
/// same transactions with the same rules.
package struct StoreCore<Engine: StoreEngine>: Sendable {
  package let engine: Engine
  /// The current retention and matching limits (a config reload changes them); read at the
  /// start of every write transaction.
  package let options: @Sendable () -> StoreOptions
  /// Batches concurrent `record` calls into shared write transactions.
  package let committer: GroupCommitter<Engine>

  /// Sources per retention-sweep transaction: the write lock is never held for a whole sweep
  /// of a large network, so crawl results keep committing in between.
  package static var sweepBatch: Int { 200 }

  package init(engine: Engine, options: @escaping @Sendable () -> StoreOptions) {
    self.engine = engine
    self.options = options
    self.committer = GroupCommitter(engine: engine, options: options)
  }

  /// `inTransaction` runs in the same write transaction after the sync (the PostgreSQL store
  /// records each source's host there, for its fleet-wide per-host limit).
  package func syncSources(
    _ definitions: [SourceDefinition],
    inTransaction: (@Sendable (Engine.Connection) throws -> Void)? = nil
  ) async throws {
    let options = self.options
    try await engine.write { db in
      var ingest = Ingest(db: db, options: options())
      try ingest.syncSources(definitions)
      try inTransaction?(db)
    }
  }

  package func sourceState(id: String) async throws -> SourceState? {
    try await engine.read { db in
      try db.fetchOne("SELECT * FROM source WHERE id = ?", [.text(id)]).map(Timeline.sourceState)
    }
  }

  package func sourceStates() async throws -> [SourceState] {
    try await engine.read { db in
      try db.fetchAll("SELECT * FROM source WHERE active = 1 ORDER BY id").map(
        Timeline.sourceState)
    }
  }

  /// Records one crawl result. `inTransaction` runs inside the same write transaction after
  /// the ingest (the PostgreSQL store releases the source's fleet lease there); when it throws,
  /// nothing of the result is committed.
  ///
  /// Concurrent calls are group-committed (`GroupCommitter`): the single writer may carry up to
  /// `StoreOptions.commitBatch` results in one transaction, each in its own savepoint, so each
  /// result stays atomic and only its own caller sees its error. Returns after the commit.
  @discardableResult
  package func record(
    _ outcome: FetchOutcome, feed: Feed?,
    inTransaction: (@Sendable (Engine.Connection, FetchOutcome) throws -> Void)? = nil
  ) async throws -> IngestReport {
    // Hashing, fingerprinting and encoding happen here, before the write lock is taken: the
    // transaction itself is only lookups and writes.
    committer.willPrepare()
    let prepared: [PreparedEntry]
    do {
      if let feed { prepared = try await PreparedEntry.prepareAll(feed) } else { prepared = [] }
    } catch {
      committer.abandon()
      throw error
    }
    let current = options()
    guard current.commitBatch > 1 else {
      // Group commit off: the result's own transaction, on the caller's task (no queue).
      committer.abandon()
      return try await engine.write { db in
        var ingest = Ingest(db: db, options: current)
        let report = try ingest.record(outcome, feed: feed, prepared: prepared)
        try inTransaction?(db, outcome)
        return report
      }
    }
    return try await committer.submit(
      .init(outcome: outcome, feed: feed, prepared: prepared, hook: inTransaction))
  }

  /// What group commit did so far: transactions, results, the largest batch.
  package var commitStats: GroupCommitStats { committer.stats }

  package func timeline(_ query: TimelineQuery) async throws -> TimelinePage {
    try await engine.read { db in try Timeline.page(db, query) }
  }

  /// The archive layout of one timeline scope (`category`, `sourceID` or `language`, or none),
  /// sealing new pages of `pageSize` first when the current document has reached two pages.
  package func archives(_ query: TimelineQuery, pageSize: Int) async throws -> ArchiveLayout {
    let size = max(1, min(pageSize, Timeline.maxLimit / 2))
    let facet = Archive.facet(query)
    let (seals, unsealed) = try await engine.read { db in
      let seals = try Archive.seals(db, facet: facet)
      return (
        seals, try Archive.unsealedCount(db, facet: facet, after: seals.last, limit: 2 * size)
      )
    }
    guard unsealed >= 2 * size else { return Archive.layout(seals) }
    return try await engine.write { db in
      try Archive.seal(db, query, pageSize: size)
      return Archive.layout(try Archive.seals(db, facet: facet))
    }
  }

  package func counts() async throws -> StoreCounts {
    try await engine.read { db in
      var meta: [String: Int64] = [:]
      for row in try db.fetchAll("SELECT key, value FROM meta") {
        meta[row.string("key")] = row.int64("value")
      }
      // One aggregate pass over the source table (never its rows into memory): the daemon
      // reads this every 10 s for `STATUS=` and the store gauges, at any number of sources.
      let now = Date().timeIntervalSince1970
      let row = try db.fetchOne(
        """
        SELECT COUNT(*) AS sources,
          COUNT(CASE WHEN consecutiveFailures > 0 OR gone = 1 THEN 1 END) AS failing,
          MIN(CASE WHEN gone = 0 AND nextDue > ? THEN nextDue END) AS nextDue
        FROM source WHERE active = 1
        """, [.real(now)])
      let entries = try db.fetchOne(
        "SELECT COALESCE(CAST(SUM(entryCount) AS BIGINT), 0) FROM source")?[0].int64
      return StoreCounts(
        sources: row.map { Int($0.int64("sources")) } ?? 0, entries: Int(entries ?? 0),
        duplicateGroups: Int(meta["groups"] ?? 0), mergedGroups: Int(meta["mergedGroups"] ?? 0),
        tombstones: Int(meta["tombstones"] ?? 0),
        failingSources: row.map { Int($0.int64("failing")) } ?? 0,
        nextDue: Timeline.date(row?.optionalDouble("nextDue")))
    }
  }

  package func facets() async throws -> StoreFacets {
    try await engine.read { db in
      StoreFacets(
        categories: try Timeline.distinctFacets(db, prefix: "c:"),
        languages: try Timeline.distinctFacets(db, prefix: "l:"))
    }
  }

  package func changeToken() async throws -> Int64 {
    try await engine.read { db in
      try db.fetchOne("SELECT value FROM meta WHERE key = 'changeToken'")?[0].int64 ?? 0
    }
  }

  @discardableResult
  package func sweep(at: Date) async throws -> RetentionSweep {
    let ids = try await engine.read { db in
      try db.fetchAll("SELECT id FROM source ORDER BY id").map { $0.string("id") }
    }
    let options = self.options
    var sweep = RetentionSweep()
    var start = 0
    while start < ids.count {
      let batch = Array(ids[start..<min(start + Self.sweepBatch, ids.count)])
      start += batch.count
      let results = try await engine.write { db in
        var ingest = Ingest(db: db, options: options())
        return try ingest.sweep(sourceIDs: batch, at: at)
      }
      sweep.sources += results
    }
    sweep.tombstonesPruned = try await engine.write { db in
      var ingest = Ingest(db: db, options: options())
      return try ingest.pruneTombstones(at: at)
    }
    return sweep
  }

  // MARK: extras (not in the protocol)

  /// A stored entry by the id its source gave it (Atom `id` / RSS `guid`), or nil.
  package func entry(sourceID: String, originalID: String) async throws -> StoredEntry? {
    try await engine.read { db in
      let row =
        try db.fetchOne(
          "SELECT * FROM entry WHERE sourceID = ? AND key = ?",
          [.text(sourceID), .text("i:" + originalID)])
        ?? db.fetchOne(
          "SELECT * FROM entry WHERE sourceID = ? AND guid = ? ORDER BY id LIMIT 1",
          [.text(sourceID), .text(originalID)])
      return try row.map(Timeline.storedEntry)
    }
  }

  /// The source's entries, newest first (by sort date), e.g. for a per-source admin view.
  package func entries(sourceID: String, limit: Int = 100) async throws -> [StoredEntry] {
    try await engine.read { db in
      try db.fetchAll(
        "SELECT * FROM entry WHERE sourceID = ? ORDER BY sortDate DESC, id DESC LIMIT ?",
        [.text(sourceID), SQLValue(limit)]
      ).map(Timeline.storedEntry)
    }
  }

  /// The identity-key strategy currently used for a source: 0 = entry id, then link, then
  /// content hash; 1 = link, then content hash (ids were found shared between stories);
  /// 2 = content hash only.
  package func keyMode(sourceID: String) async throws -> Int? {
    try await engine.read { db in
      try db.fetchOne("SELECT keyMode FROM source WHERE id = ?", [.text(sourceID)])?[0].int64
        .map { Int($0) }
    }
  }
}
