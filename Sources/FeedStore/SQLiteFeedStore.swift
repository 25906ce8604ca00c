import FeedModel
import Foundation
import GRDB

/// The SQLite implementation of `FeedStore` (GRDB `DatabasePool`, WAL).
///
/// Durability: every `record` and `syncSources` is one `IMMEDIATE` write transaction. The
/// journal is WAL with `synchronous=NORMAL`: a commit is a `write()` of its frames into the WAL
/// file, so once `commit` returns the transaction is in the operating system's page cache and
/// survives the process being killed (SIGKILL) at any moment; only a power loss or kernel crash
/// can lose the last few commits (never corrupting the file). The kill-9 test proves the former.
/// Foreign keys are on; a busy timeout lets several processes share the file.
public final class SQLiteFeedStore: FeedStore, @unchecked Sendable {
  let pool: DatabasePool
  public let path: String
  private let lock = NSLock()
  private var isClosed = false
  private var currentOptions: StoreOptions
  /// Retention and matching limits; a config reload changes them (`updateOptions`).
  public var options: StoreOptions { lock.withLock { currentOptions } }

  /// New limits from a reloaded config; the next transaction uses them.
  public func updateOptions(_ options: StoreOptions) {
    lock.withLock { currentOptions = options }
  }

  /// Opens (creating when missing, with its parent directory) and migrates the database.
  public init(path: String, options: StoreOptions = StoreOptions()) throws {
    self.path = path
    self.currentOptions = options
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent()
    try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
    var config = Configuration()
    config.foreignKeysEnabled = true
    config.busyMode = .timeout(30)
    config.label = "clusterwire.store"
    config.prepareDatabase(Self.configureConnection)
    pool = try DatabasePool(path: path, configuration: config)
    let migrator = Schema.migrator
    if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
      throw FeedStoreError.corrupt("\(path) was written by a newer version of clusterwire")
    }
    try migrator.migrate(pool)
  }

  /// The per-connection settings every store connection gets (public so that `cwbench`'s raw
  /// SQLite limit runs with exactly the store's).
  public static func configureConnection(_ db: Database) throws {
    try db.execute(sql: "PRAGMA synchronous = NORMAL")
    // 32 MB of page cache per connection: the random-keyed indexes (canonical URL, published
    // ids) stay in memory instead of being re-read on every lookup.
    try db.execute(sql: "PRAGMA cache_size = -32768")
    // Checkpoint every ~32 MB of WAL instead of every 4 MB: fewer checkpoints write each hot
    // index page back (and fsync) less often. (A background checkpointer on its own
    // connection was measured against this and gained nothing outside the noise.)
    try db.execute(sql: "PRAGMA wal_autocheckpoint = 8192")
  }

  private func checkOpen() throws {
    if lock.withLock({ isClosed }) { throw FeedStoreError.closed }
  }

  /// Runs `body` in one IMMEDIATE transaction (the write lock is taken up front, so two
  /// processes sharing the file never deadlock upgrading a read lock).
  func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T)
    async throws -> T
  {
    try checkOpen()
    return try await pool.writeWithoutTransaction { db in
      var result: T?
      try db.inTransaction(.immediate) {
        result = try body(db)
        return .commit
      }
      return result!
    }
  }

  func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    try checkOpen()
    return try await pool.read(body)
  }

  // MARK: FeedStore

  public func syncSources(_ definitions: [SourceDefinition]) async throws {
    try await writeTransaction { db in
      var ingest = Ingest(db: db, options: self.options)
      try ingest.syncSources(definitions)
    }
  }

  public func sourceState(id: String) async throws -> SourceState? {
    try await read { db in
      try Row.fetchOne(db, sql: "SELECT * FROM source WHERE id = ?", arguments: [id]).map(
        Self.sourceState)
    }
  }

  public func sourceStates() async throws -> [SourceState] {
    try await read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM source WHERE active = 1 ORDER BY id").map(
        Self.sourceState)
    }
  }

  @discardableResult
  public func record(_ outcome: FetchOutcome, feed: Feed?) async throws -> IngestReport {
    // Hashing, fingerprinting and encoding happen here, before the write lock is taken: the
    // transaction itself is only lookups and writes.
    let prepared: [PreparedEntry]
    if let feed { prepared = try await PreparedEntry.prepareAll(feed) } else { prepared = [] }
    return try await writeTransaction { db in
      var ingest = Ingest(db: db, options: self.options)
      return try ingest.record(outcome, feed: feed, prepared: prepared)
    }
  }

  public func timeline(_ query: TimelineQuery) async throws -> TimelinePage {
    try await read { db in try Timeline.page(db, query) }
  }

  public func counts() async throws -> StoreCounts {
    try await read { db in
      let meta = try Self.meta(db)
      let sources = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM source WHERE active = 1") ?? 0
      let entries =
        try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(entryCount), 0) FROM source") ?? 0
      return StoreCounts(
        sources: sources, entries: entries, duplicateGroups: Int(meta["groups"] ?? 0),
        mergedGroups: Int(meta["mergedGroups"] ?? 0), tombstones: Int(meta["tombstones"] ?? 0))
    }
  }

  public func facets() async throws -> StoreFacets {
    try await read { db in
      StoreFacets(
        categories: try Timeline.distinctFacets(db, prefix: "c:"),
        languages: try Timeline.distinctFacets(db, prefix: "l:"))
    }
  }

  public func changeToken() async throws -> Int64 {
    try await read { db in
      try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'changeToken'") ?? 0
    }
  }

  @discardableResult
  public func sweep(at: Date) async throws -> RetentionSweep {
    let ids = try await read { db in try String.fetchAll(db, sql: "SELECT id FROM source") }
    var sweep = RetentionSweep()
    // Batches of sources per transaction: the write lock is never held for a whole sweep of a
    // large network, so crawl results keep committing in between.
    var start = 0
    while start < ids.count {
      let batch = Array(ids[start..<min(start + 200, ids.count)])
      start += batch.count
      let results = try await writeTransaction { db in
        var ingest = Ingest(db: db, options: self.options)
        return try ingest.sweep(sourceIDs: batch, at: at)
      }
      sweep.sources += results
    }
    sweep.tombstonesPruned = try await writeTransaction { db in
      var ingest = Ingest(db: db, options: self.options)
      return try ingest.pruneTombstones(at: at)
    }
    return sweep
  }

  public func close() async throws {
    let wasClosed = lock.withLock {
      let was = isClosed
      isClosed = true
      return was
    }
    if !wasClosed { try pool.close() }
  }

  // MARK: extras (not in the protocol)

  /// `PRAGMA integrity_check`: "ok" for a sound file.
  public func integrityCheck() async throws -> String {
    try await read { db in
      try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n")
    }
  }

  /// A stored entry by the id its source gave it (Atom `id` / RSS `guid`), or nil.
  public func entry(sourceID: String, originalID: String) async throws -> StoredEntry? {
    try await read { db in
      let row =
        try Row.fetchOne(
          db, sql: "SELECT * FROM entry WHERE sourceID = ? AND key = ?",
          arguments: [sourceID, "i:" + originalID])
        ?? Row.fetchOne(
          db, sql: "SELECT * FROM entry WHERE sourceID = ? AND guid = ? ORDER BY id LIMIT 1",
          arguments: [sourceID, originalID])
      return try row.map(Timeline.storedEntry)
    }
  }

  /// The source's entries, newest first (by sort date), e.g. for a per-source admin view.
  public func entries(sourceID: String, limit: Int = 100) async throws -> [StoredEntry] {
    try await read { db in
      try Row.fetchAll(
        db,
        sql: "SELECT * FROM entry WHERE sourceID = ? ORDER BY sortDate DESC, id DESC LIMIT ?",
        arguments: [sourceID, limit]
      ).map(Timeline.storedEntry)
    }
  }

  /// `EXPLAIN QUERY PLAN` of every statement a timeline request runs, for tests that check the
  /// indexes are used (no `SCAN` of a table).
  public func queryPlans(for query: TimelineQuery) async throws -> [String] {
    try await read { db in
      var plans: [String] = []
      for (sql, arguments) in Timeline.statements(query, groupIDs: [1, 2]) {
        let rows = try Row.fetchAll(
          db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: StatementArguments(arguments))
        plans.append(rows.map { $0["detail"] as String? ?? "" }.joined(separator: "; "))
      }
      return plans
    }
  }

  /// The identity-key strategy currently used for a source: 0 = entry id, then link, then
  /// content hash; 1 = link, then content hash (ids were found shared between stories);
  /// 2 = content hash only.
  public func keyMode(sourceID: String) async throws -> Int? {
    try await read { db in
      try Int.fetchOne(db, sql: "SELECT keyMode FROM source WHERE id = ?", arguments: [sourceID])
    }
  }

  // MARK: row mapping

  static func meta(_ db: Database) throws -> [String: Int64] {
    var result: [String: Int64] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") {
      result[row["key"]] = row["value"]
    }
    return result
  }

  static func date(_ value: Double?) -> Date? {
    value.map { Date(timeIntervalSince1970: $0) }
  }

  static func sourceState(_ row: Row) -> SourceState {
    let categoriesJSON: String = row["categories"] ?? "[]"
    let categories =
      (try? JSONDecoder().decode([String].self, from: Data(categoriesJSON.utf8))) ?? []
    let configuredTitle: String? = row["title"]
    let feedTitle: String? = row["feedTitle"]
    return SourceState(
      id: row["id"], url: row["url"],
      kind: SourceKind(rawValue: row["kind"] ?? "feed") ?? .feed,
      title: configuredTitle ?? feedTitle, categories: categories, priority: row["priority"],
      language: row["language"], active: row["active"], etag: row["etag"],
      lastModified: row["lastModified"], bodyHash: row["bodyHash"],
      lastAttempt: date(row["lastAttempt"]), lastSuccess: date(row["lastSuccess"]),
      httpStatus: row["httpStatus"], consecutiveFailures: row["consecutiveFailures"],
      lastError: row["lastError"], failingSince: date(row["failingSince"]),
      nextDue: date(row["nextDue"]), movedTo: row["movedTo"], gone: row["gone"],
      feedID: row["feedID"], feedTitle: feedTitle, feedLink: row["feedLink"],
      feedUpdated: date(row["feedUpdated"]), feedIcon: row["feedIcon"],
      feedRights: row["feedRights"], feedAuthor: row["feedAuthor"],
      feedLanguage: row["feedLanguage"], entryCount: row["entryCount"],
      retentionDropped: row["retentionDropped"] ?? 0, feedHead: row["feedHead"])
  }
}
