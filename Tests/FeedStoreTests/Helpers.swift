import FeedModel
import FeedStore
import Foundation
import Logging
import PostgresStore
import TestSupport
import XCTest

/// A fixed clock so dates in assertions are exact.
let t0 = Date(timeIntervalSince1970: 1_750_000_000)

func days(_ n: Double) -> TimeInterval { n * 86400 }

/// Which store the suite runs against: SQLite by default, PostgreSQL (a fresh database per
/// fixture) when `CLUSTERWIRE_STORE_BACKEND=postgres`, which `.ci/test`'s second run sets.
enum Backend {
  static var isPostgres: Bool {
    ProcessInfo.processInfo.environment["CLUSTERWIRE_STORE_BACKEND"] == "postgres"
  }

  /// Skips a test that is about SQLite itself (its file, its query planner, GRDB) when the
  /// suite runs on PostgreSQL.
  static func skipOnPostgres(_ reason: String) throws {
    if isPostgres { throw XCTSkip("SQLite only: " + reason) }
  }
}

/// What the suite asks of a store beyond the protocol; both stores have it.
protocol TestStore: FeedStore {
  func entries(sourceID: String, limit: Int) async throws -> [StoredEntry]
  func entry(sourceID: String, originalID: String) async throws -> StoredEntry?
  func keyMode(sourceID: String) async throws -> Int?
  func updateOptions(_ options: StoreOptions)
}

extension TestStore {
  func entries(sourceID: String) async throws -> [StoredEntry] {
    try await entries(sourceID: sourceID, limit: 100)
  }
}

extension SQLiteFeedStore: TestStore {}
extension PostgresFeedStore: TestStore {}

/// A store in a fresh temp directory (SQLite) or a fresh database (PostgreSQL, see `Backend`);
/// `cleanup` removes it.
final class StoreFixture: @unchecked Sendable {
  let dir: URL
  let path: String
  /// The PostgreSQL store's configuration, when the suite runs on PostgreSQL.
  let postgres: PostgresStoreConfiguration?
  var store: any TestStore
  let options: StoreOptions

  /// `sqliteOnly`: SQLite whatever the backend (a reference to compare the other store with).
  init(options: StoreOptions = StoreOptions(), sqliteOnly: Bool = false) async throws {
    dir = try TestSupport.makeTempDirectory("feedstore")
    path = dir.appendingPathComponent("db/store.sqlite").path
    self.options = options
    if Backend.isPostgres && !sqliteOnly {
      let configuration = try PostgresStoreConfiguration(
        url: TestPostgres.freshDatabase(), environment: [:])
      postgres = configuration
      store = try await Self.openPostgres(configuration, options)
    } else {
      postgres = nil
      store = try SQLiteFeedStore(path: path, options: options)
    }
  }

  private static func openPostgres(_ c: PostgresStoreConfiguration, _ options: StoreOptions)
    async throws -> PostgresFeedStore
  {
    var logger = Logger(label: "test.store")
    logger.logLevel = .error
    return try await PostgresFeedStore.open(
      c, options: options, instanceID: "test", logger: logger)
  }

  /// The SQLite store, for tests of SQLite itself; skips the test on PostgreSQL.
  func sqlite(_ reason: String) throws -> SQLiteFeedStore {
    try Backend.skipOnPostgres(reason)
    return store as! SQLiteFeedStore
  }

  /// A read transaction on the store's own engine, whichever it is (raw SQL in `?` form).
  func rawRead<T: Sendable>(_ body: @escaping @Sendable (any StoreConnection) throws -> T)
    async throws -> T
  {
    if let pg = store as? PostgresFeedStore {
      return try await pg.core.engine.read { try body($0) }
    }
    return try await (store as! SQLiteFeedStore).core.engine.read { try body($0) }
  }

  /// A write transaction on the store's own engine, whichever it is.
  func rawWrite(_ body: @escaping @Sendable (any StoreConnection) throws -> Void) async throws {
    if let pg = store as? PostgresFeedStore {
      return try await pg.core.engine.write { try body($0) }
    }
    try await (store as! SQLiteFeedStore).core.engine.write { try body($0) }
  }

  func reopen() async throws {
    try await store.close()
    if let postgres {
      store = try await Self.openPostgres(postgres, options)
    } else {
      store = try SQLiteFeedStore(path: path, options: options)
    }
  }

  func cleanup() async {
    try? await store.close()
    try? FileManager.default.removeItem(at: dir)
  }

  func sources(_ defs: [SourceDefinition]) async throws {
    try await store.syncSources(defs)
  }

  @discardableResult
  func ingest(_ source: String, _ entries: [Entry], at: Date = t0, language: String? = nil)
    async throws -> IngestReport
  {
    try await store.record(
      FetchOutcome(
        sourceID: source, result: .fetched, attemptedAt: at, httpStatus: 200,
        nextDue: at.addingTimeInterval(1800)),
      feed: Feed(title: "Feed \(source)", language: language, entries: entries))
  }

  func allItems(_ query: TimelineQuery = TimelineQuery(limit: 1000)) async throws -> [TimelineItem]
  {
    try await store.timeline(query).items
  }
}

func source(
  _ id: String, categories: [String] = [], priority: Int = 0, language: String? = nil
) -> SourceDefinition {
  SourceDefinition(
    id: id, url: "https://\(id).example/feed.xml", categories: categories, priority: priority,
    language: language)
}

func entry(
  id: String? = nil, title: String, link: String? = nil, published: Date? = t0,
  updated: Date? = nil, summary: String? = nil, content: String? = nil, language: String? = nil
) -> Entry {
  Entry(
    id: id, title: title, link: link, published: published, updated: updated,
    summary: summary.map { .text($0) }, content: content.map { .html($0) }, language: language)
}
