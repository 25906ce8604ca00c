import Foundation
import GRDB

/// The store's rules on a GRDB `Database` (one connection inside one transaction).
///
/// `statement(_:)` is `RawStatement` (the SQLite C API on GRDB's statement cache), so ingest's
/// hot path costs what it did before the rules became generic. `execute` goes through a cached
/// GRDB statement too: every statement the rules execute has a fixed shape, so the cache stays
/// small. `fetchAll` compiles its statement per call, since the timeline's `IN (…)` lists vary in
/// length and would otherwise fill the cache with one statement per length.
package struct SQLiteConnection: StoreConnection {
  package let db: Database

  package init(_ db: Database) { self.db = db }

  package var dialect: SQLDialect { .sqlite }

  package func statement(_ sql: String) throws -> RawStatement {
    try RawStatement(db, sql)
  }

  @discardableResult
  package func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
    try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
    return db.changesCount
  }

  package func fetchAll(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
    let statement = try db.makeStatement(sql: sql)
    let columns = statement.columnNames
    let values = try Row.fetchAll(statement, arguments: Self.arguments(arguments)).map {
      Array($0.databaseValues.map { SQLValue($0) })
    }
    return SQLRow.rows(columns: columns, values: values)
  }

  static func arguments(_ values: [SQLValue]) -> StatementArguments {
    StatementArguments(values.map(\.databaseValue))
  }
}

extension SQLValue {
  /// The GRDB value of a store value.
  package var databaseValue: DatabaseValue {
    switch self {
    case .null: return .null
    case .integer(let v): return v.databaseValue
    case .real(let v): return v.databaseValue
    case .text(let v): return v.databaseValue
    case .blob(let v): return v.databaseValue
    }
  }

  /// A store value from a GRDB value.
  package init(_ value: DatabaseValue) {
    switch value.storage {
    case .null: self = .null
    case .int64(let v): self = .integer(v)
    case .double(let v): self = .real(v)
    case .string(let v): self = .text(v)
    case .blob(let v): self = .blob(v)
    }
  }
}

/// `StoreCore`'s engine on a GRDB `DatabasePool` (WAL): reads on the pool's readers, each
/// write one `IMMEDIATE` transaction on the writer queue (the write lock is taken up front, so
/// two processes sharing the file never deadlock upgrading a read lock).
package struct SQLiteEngine: StoreEngine {
  package let pool: DatabasePool
  /// Set once the store is closed: every later transaction throws `FeedStoreError.closed`.
  package let closed: SQLiteEngine.ClosedFlag

  /// Whether the store was closed, shared by the store and its engine.
  package final class ClosedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    package init() {}
    /// Marks the store closed; returns whether it already was.
    package func close() -> Bool {
      lock.withLock {
        let was = value
        value = true
        return was
      }
    }
    package var isClosed: Bool { lock.withLock { value } }
  }

  package init(pool: DatabasePool, closed: ClosedFlag = ClosedFlag()) {
    self.pool = pool
    self.closed = closed
  }

  private func checkOpen() throws {
    if closed.isClosed { throw FeedStoreError.closed }
  }

  package func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T)
    async throws -> T
  {
    try checkOpen()
    return try await pool.read { db in try body(SQLiteConnection(db)) }
  }

  package func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T)
    async throws -> T
  {
    try checkOpen()
    return try await pool.writeWithoutTransaction { db in
      var result: T?
      try db.inTransaction(.immediate) {
        result = try body(SQLiteConnection(db))
        return .commit
      }
      return result!
    }
  }
}
