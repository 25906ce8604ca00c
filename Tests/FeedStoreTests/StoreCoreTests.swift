import FeedModel
import Foundation
import PostgresStore
import TestSupport
import XCTest

@testable import FeedStore

/// A connection as PostgreSQL hands rows back: every column name folded to lower case. It also
/// records every statement the rules send, so their SQL can be checked for SQLite-only syntax.
struct FoldingConnection<Base: StoreConnection>: StoreConnection {
  let base: Base
  let log: SQLLog
  var dialect: SQLDialect { base.dialect }

  func statement(_ sql: String) throws -> Base.Statement {
    log.append(sql)
    return try base.statement(sql)
  }

  func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
    log.append(sql)
    return try base.execute(sql, arguments)
  }

  func fetchAll(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
    log.append(sql)
    return try base.fetchAll(sql, arguments).map {
      SQLRow(columns: $0.columns.map { $0.lowercased() }, values: $0.values)
    }
  }
}

final class SQLLog: @unchecked Sendable {
  private let lock = NSLock()
  private var statements: Set<String> = []
  func append(_ sql: String) { _ = lock.withLock { statements.insert(sql) } }
  var all: Set<String> { lock.withLock { statements } }
}

struct FoldingEngine<Base: StoreEngine>: StoreEngine {
  let base: Base
  let log: SQLLog

  func read<T: Sendable>(
    _ body: @escaping @Sendable (FoldingConnection<Base.Connection>) throws -> T
  )
    async throws -> T
  {
    let log = self.log
    return try await base.read { try body(FoldingConnection(base: $0, log: log)) }
  }

  func write<T: Sendable>(
    _ body: @escaping @Sendable (FoldingConnection<Base.Connection>) throws -> T
  ) async throws -> T {
    let log = self.log
    return try await base.write { try body(FoldingConnection(base: $0, log: log)) }
  }
}

/// `StoreCore` through its generic interface, the way the PostgreSQL store uses it.
final class StoreCoreTests: XCTestCase {
  /// One scenario through any engine: sources, a crawl with a cross-source duplicate, a re-key,
  /// reads of every kind, archives and a retention sweep. Returns what it read.
  func scenario<E: StoreEngine>(_ core: StoreCore<E>) async throws -> [String] {
    var seen: [String] = []
    try await core.syncSources([
      source("a", categories: ["energy"], priority: 2, language: "lt"),
      source("b", categories: ["ports"]),
    ])
    let outcome = { (id: String, at: Date) in
      FetchOutcome(
        sourceID: id, result: .fetched, attemptedAt: at, httpStatus: 200, etag: "\"e-\(id)\"",
        nextDue: at.addingTimeInterval(1800))
    }
    let a = try await core.record(
      outcome("a", t0),
      feed: Feed(
        title: "Feed A", language: "lt",
        entries: (0..<6).map {
          entry(
            id: "tag:a,2025:\($0)", title: "Story number \($0) about the harbour",
            link: "https://a.example/\($0)", published: t0.addingTimeInterval(Double(-$0) * 3600))
        }))
    seen.append("a: \(a)")
    // The same story from b (by canonical URL), and b reusing one id for two stories (re-key).
    let copy = entry(
      id: "x", title: "Story number 1 about the harbour", link: "https://a.example/1?utm_source=b")
    let b1 = try await core.record(
      outcome("b", t0.addingTimeInterval(60)), feed: Feed(title: "Feed B", entries: [copy]))
    let b2 = try await core.record(
      outcome("b", t0.addingTimeInterval(120)),
      feed: Feed(
        title: "Feed B",
        entries: [
          copy, entry(id: "x", title: "Something else entirely", link: "https://b.example/other"),
        ]))
    seen.append("b: \(b1) \(b2)")
    seen.append("keyMode b: \(String(describing: try await core.keyMode(sourceID: "b")))")
    for s in try await core.sourceStates() {
      seen.append(
        "\(s.id) \(s.title ?? "-") \(s.categories) \(s.priority) \(s.language ?? "-") \(s.active) "
          + "\(s.etag ?? "-") \(s.httpStatus ?? 0) \(s.entryCount) \(s.feedTitle ?? "-") "
          + "\(s.nextDue.map { "\($0.timeIntervalSince1970)" } ?? "-")")
    }
    let page = try await core.timeline(TimelineQuery(limit: 4))
    for item in page.items {
      seen.append(
        "\(item.groupID) \(item.entry.atomID) \(item.entry.entry.title ?? "") \(item.source.id) "
          + "\(item.duplicates.map(\.sourceID))")
    }
    let older = try await core.timeline(TimelineQuery(limit: 4, before: page.olderCursor))
    seen.append("older: \(older.items.map(\.entry.atomID)) \(older.newerCursor != nil)")
    let stored = try await core.entry(sourceID: "a", originalID: "tag:a,2025:2")
    seen.append("entry: \(stored?.atomID ?? "-") \(stored?.language ?? "-")")
    seen.append("entries: \(try await core.entries(sourceID: "a", limit: 3).map(\.atomID))")
    let counts = try await core.counts()
    seen.append("counts: \(counts)")
    seen.append("facets: \(try await core.facets())")
    seen.append("archives: \(try await core.archives(TimelineQuery(), pageSize: 2).pages.count)")
    let token = try await core.changeToken()
    // Retention by age (a's entries are protected by its current document; b's are not).
    try await core.syncSources([source("a", categories: ["energy"], priority: 2, language: "lt")])
    // (Sources leave the config at the real clock's time, so the sweep runs after it.)
    let sweep = try await core.sweep(at: Date().addingTimeInterval(days(400)))
    seen.append("sweep: \(sweep.sources.map { "\($0.sourceID) \($0.total)" })")
    seen.append("token moved: \(try await core.changeToken() > token)")
    seen.append("after sweep: \(try await core.counts())")
    return seen
  }

  func testCoreRunsTheSameThroughFoldedColumnNames() async throws {
    let options = StoreOptions(maxAge: days(30), inactiveGrace: days(1))
    let plain = try await StoreFixture(options: options, sqliteOnly: true)
    // On PostgreSQL (CLUSTERWIRE_STORE_BACKEND=postgres) the folded run is the PostgreSQL store:
    // the same scenario must read the same on both backends.
    let folded = try await StoreFixture(options: options)
    addTeardownBlock {
      await plain.cleanup()
      await folded.cleanup()
    }
    let log = SQLLog()
    let expected = try await scenario((plain.store as! SQLiteFeedStore).core)
    let actual: [String]
    if let pg = folded.store as? PostgresFeedStore {
      actual = try await scenario(
        StoreCore(engine: FoldingEngine(base: pg.core.engine, log: log), options: { options }))
    } else {
      actual = try await scenario(
        StoreCore(
          engine: FoldingEngine(base: (folded.store as! SQLiteFeedStore).core.engine, log: log),
          options: { options }))
    }
    XCTAssertEqual(actual, expected)
    // The scenario did what it says (so the comparison compares something).
    XCTAssertTrue(expected.contains("keyMode b: Optional(1)"), "\(expected)")
    XCTAssertTrue(expected.contains { $0.hasSuffix("[\"b\"]") }, "\(expected)")
    XCTAssertTrue(expected.contains("sweep: [\"b 2\"]"), "\(expected)")

    // The rules' SQL is the dialect-neutral subset (StoreSQL.swift).
    let statements = log.all
    XCTAssertGreaterThan(statements.count, 20)
    for sql in statements {
      let upper = sql.uppercased()
      for banned in ["OR IGNORE", "OR REPLACE", "ROWID", "PRAGMA", "IFNULL", "TYPEOF", "\""] {
        XCTAssertFalse(upper.contains(banned), "\(banned) in: \(sql)")
      }
      if let range = upper.range(of: "SUM(") {
        XCTAssertTrue(upper[..<range.lowerBound].hasSuffix("CAST("), "uncast SUM in: \(sql)")
      }
    }
    XCTAssertTrue(statements.contains { $0.contains("ON CONFLICT DO NOTHING") })
    XCTAssertTrue(statements.contains { $0.contains("NOT EXISTS (SELECT 1 FROM entry") })
  }

  func testInTransactionRunsInsideTheWriteAndRollsItBack() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    let core = try f.sqlite("StoreCore<SQLiteEngine> (PostgreSQL's hook: FleetTests)").core
    let outcome = FetchOutcome(
      sourceID: "a", result: .fetched, attemptedAt: t0, httpStatus: 200, etag: "\"v1\"",
      nextDue: t0.addingTimeInterval(1800))
    let feed = Feed(entries: [entry(id: "tag:a,2025:1", title: "One")])

    // Inside the transaction the hook sees the rows the ingest just wrote.
    let report = try await core.record(outcome, feed: feed) { db, outcome in
      let count = try db.fetchOne(
        "SELECT COUNT(*) AS n FROM entry WHERE sourceID = ?", [.text(outcome.sourceID)])
      XCTAssertEqual(count?.int("N"), 1)
      try db.execute("UPDATE source SET lastError = ? WHERE id = ?", [.text("hook"), .text("a")])
    }
    XCTAssertEqual(report.inserted, 1)
    var state = try await f.store.sourceState(id: "a")
    XCTAssertEqual(state?.lastError, "hook")
    let token = try await f.store.changeToken()

    // A hook that throws undoes the whole result: entries, state and counters.
    struct LeaseLost: Error {}
    var second = outcome
    second.etag = "\"v2\""
    second.attemptedAt = t0.addingTimeInterval(600)
    do {
      try await core.record(
        second, feed: Feed(entries: [entry(id: "tag:a,2025:2", title: "Two")])
      ) { _, _ in throw LeaseLost() }
      XCTFail("the hook's error must reach the caller")
    } catch is LeaseLost {}
    state = try await f.store.sourceState(id: "a")
    XCTAssertEqual(state?.etag, "\"v1\"")
    XCTAssertEqual(state?.entryCount, 1)
    let after = try await f.store.changeToken()
    XCTAssertEqual(after, token)
    let entries = try await f.store.entries(sourceID: "a")
    XCTAssertEqual(entries.map(\.atomID), ["tag:a,2025:1"])
  }
}
