import FeedModel
import Foundation
import GRDB

/// The SQLite implementation of `FeedStore` (GRDB `DatabasePool`, WAL).
///
/// Durability: every `syncSources` and every `record` is one `IMMEDIATE` write transaction (with
/// `commit_batch` > 1, every group of `record`s the writer commits together: `GroupCommitter`,
/// each crawl result in its own savepoint; `record` returns after the commit). The
/// journal is WAL with `synchronous=NORMAL`: a commit is a `write()` of its frames into the WAL
/// file, so once `commit` returns the transaction is in the operating system's page cache and
/// survives the process being killed (SIGKILL) at any moment; only a power loss or kernel crash
/// can lose the last few commits (never corrupting the file). The kill-9 test proves the former.
/// Foreign keys are on; a busy timeout lets several processes share the file.
public final class SQLiteFeedStore: FeedStore, @unchecked Sendable {
  let pool: DatabasePool
  public let path: String
  /// The store's rules over this file; every protocol requirement delegates to it.
  package let core: StoreCore<SQLiteEngine>
  private let closed = SQLiteEngine.ClosedFlag()
  private let currentOptions: OptionsBox
  /// Retention and matching limits; a config reload changes them (`updateOptions`).
  public var options: StoreOptions { currentOptions.value }

  /// New limits from a reloaded config; the next transaction uses them.
  public func updateOptions(_ options: StoreOptions) {
    currentOptions.value = options
  }

  /// Opens (creating when missing, with its parent directory) and migrates the database.
  public init(path: String, options: StoreOptions = StoreOptions()) throws {
    self.path = path
    let box = OptionsBox(options)
    self.currentOptions = box
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent()
    try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
    var config = Configuration()
    config.foreignKeysEnabled = true
    config.busyMode = .timeout(30)
    config.label = "clusterwire.store"
    config.prepareDatabase(Self.configureConnection)
    pool = try DatabasePool(path: path, configuration: config)
    core = StoreCore(engine: SQLiteEngine(pool: pool, closed: closed), options: { box.value })
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
    // Group commit runs each crawl result in a savepoint: SQLite then copies every page the
    // transaction already dirtied into a sub-journal before a result changes it again, and past
    // 64 KB that journal spills to a temp file. Kept in memory it costs next to nothing
    // (measured: the savepoints' whole overhead, ~12 % of a corpus ingest's CPU, disappears). It
    // also keeps other temp structures (sorts without an index) in memory; the store's queries
    // are index-driven and bounded, so they stay small.
    try db.execute(sql: "PRAGMA temp_store = MEMORY")
  }

  func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    try await core.engine.read { try body($0.db) }
  }

  // MARK: FeedStore

  public func syncSources(_ definitions: [SourceDefinition]) async throws {
    try await core.syncSources(definitions)
  }

  public func sourceState(id: String) async throws -> SourceState? {
    try await core.sourceState(id: id)
  }

  public func sourceStates() async throws -> [SourceState] {
    try await core.sourceStates()
  }

  @discardableResult
  public func record(_ outcome: FetchOutcome, feed: Feed?) async throws -> IngestReport {
    try await core.record(outcome, feed: feed)
  }

  public func timeline(_ query: TimelineQuery) async throws -> TimelinePage {
    try await core.timeline(query)
  }

  /// The archive layout of one timeline scope (`category`, `sourceID` or `language`, or none),
  /// sealing new pages of `pageSize` first when the current document has reached two pages.
  public func archives(_ query: TimelineQuery, pageSize: Int) async throws -> ArchiveLayout {
    try await core.archives(query, pageSize: pageSize)
  }

  public func counts() async throws -> StoreCounts {
    try await core.counts()
  }

  public func facets() async throws -> StoreFacets {
    try await core.facets()
  }

  public func changeToken() async throws -> Int64 {
    try await core.changeToken()
  }

  @discardableResult
  public func sweep(at: Date) async throws -> RetentionSweep {
    try await core.sweep(at: at)
  }

  public func close() async throws {
    if !closed.close() { try pool.close() }
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
    try await core.entry(sourceID: sourceID, originalID: originalID)
  }

  /// The source's entries, newest first (by sort date), e.g. for a per-source admin view.
  public func entries(sourceID: String, limit: Int = 100) async throws -> [StoredEntry] {
    try await core.entries(sourceID: sourceID, limit: limit)
  }

  /// `EXPLAIN QUERY PLAN` of every statement a timeline request runs, for tests that check the
  /// indexes are used (no `SCAN` of a table).
  public func queryPlans(for query: TimelineQuery) async throws -> [String] {
    try await read { db in
      var plans: [String] = []
      for (sql, arguments) in Timeline.statements(query, groupIDs: [1, 2]) {
        let rows = try Row.fetchAll(
          db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: SQLiteConnection.arguments(arguments))
        plans.append(rows.map { $0["detail"] as String? ?? "" }.joined(separator: "; "))
      }
      return plans
    }
  }

  /// The identity-key strategy currently used for a source: 0 = entry id, then link, then
  /// content hash; 1 = link, then content hash (ids were found shared between stories);
  /// 2 = content hash only.
  public func keyMode(sourceID: String) async throws -> Int? {
    try await core.keyMode(sourceID: sourceID)
  }
}

/// The store's current options, read by every transaction and replaced by a config reload.
final class OptionsBox: @unchecked Sendable {
  private let lock = NSLock()
  private var current: StoreOptions
  init(_ options: StoreOptions) { current = options }
  var value: StoreOptions {
    get { lock.withLock { current } }
    set { lock.withLock { current = newValue } }
  }
}
