import Foundation
import GRDB
import GRDBSQLite

/// A cached GRDB statement bound, stepped and read through the SQLite C API.
///
/// Used only by ingest's per-entry statements. GRDB's general path boxes every argument in an
/// existential (`StatementArguments`) and builds a `Row` per result row; in perf on
/// `cwbench store-bench` that boxing, and the retain/release around it, was most of the
/// writer's own (non-SQLite) time (docs/benchmarks.md, store round 3). The statement still comes
/// from `Database.cachedStatement`, so it is compiled once per connection and finalized by GRDB.
///
/// Every use starts with `sqlite3_reset` + `sqlite3_clear_bindings`, so a statement left half
/// stepped by a thrown error never leaks its state into the next use. Strings and blobs are bound
/// `SQLITE_TRANSIENT` (SQLite copies them), so no Swift buffer has to outlive the call.
///
/// It is `SQLiteConnection`'s `StoreStatement`: the rules' hot path reaches SQLite through it.
package struct RawStatement: StoreStatement {
  private let handle: OpaquePointer
  private let db: Database
  private let sql: String

  package init(_ db: Database, _ sql: String) throws {
    let statement = try db.cachedStatement(sql: sql)
    handle = statement.sqliteStatement
    self.db = db
    self.sql = sql
    sqlite3_reset(handle)
    sqlite3_clear_bindings(handle)
  }

  /// SQLite's "copy this buffer" destructor, which Swift cannot import as a macro.
  private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

  private func check(_ code: Int32) throws {
    guard code == SQLITE_OK else { throw error(code) }
  }

  private func error(_ code: Int32) -> DatabaseError {
    let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
    return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
  }

  // MARK: binding (1-based parameter index, as in SQLite)

  package func bind(_ index: Int32, _ value: Int64) throws {
    try check(sqlite3_bind_int64(handle, index, value))
  }

  package func bind(_ index: Int32, _ value: Int) throws {
    try check(sqlite3_bind_int64(handle, index, Int64(value)))
  }

  package func bind(_ index: Int32, _ value: Int64?) throws {
    guard let value else { return try check(sqlite3_bind_null(handle, index)) }
    try check(sqlite3_bind_int64(handle, index, value))
  }

  package func bind(_ index: Int32, _ value: Double?) throws {
    guard let value else { return try check(sqlite3_bind_null(handle, index)) }
    try check(sqlite3_bind_double(handle, index, value))
  }

  package func bind(_ index: Int32, _ value: String?) throws {
    guard var value else { return try check(sqlite3_bind_null(handle, index)) }
    let code = value.withUTF8 { utf8 -> Int32 in
      guard let base = utf8.baseAddress, utf8.count > 0 else {
        // A zero-length text, not NULL (which a nil pointer would bind).
        return sqlite3_bind_text(handle, index, "", 0, Self.transient)
      }
      return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
        sqlite3_bind_text(handle, index, $0, Int32(utf8.count), Self.transient)
      }
    }
    try check(code)
  }

  package func bind(_ index: Int32, _ value: Data?) throws {
    guard let value else { return try check(sqlite3_bind_null(handle, index)) }
    let code = value.withUnsafeBytes { bytes -> Int32 in
      guard let base = bytes.baseAddress, bytes.count > 0 else {
        return sqlite3_bind_zeroblob(handle, index, 0)
      }
      return sqlite3_bind_blob(handle, index, base, Int32(bytes.count), Self.transient)
    }
    try check(code)
  }

  // MARK: running

  /// Runs a statement that returns no rows.
  package func execute() throws {
    let code = sqlite3_step(handle)
    guard code == SQLITE_DONE || code == SQLITE_ROW else { throw error(code) }
    sqlite3_reset(handle)
  }

  /// Rewinds the statement for another run; its bindings stay.
  package func reset() {
    sqlite3_reset(handle)
  }

  /// Advances to the next result row: false when there is none left.
  package func step() throws -> Bool {
    let code = sqlite3_step(handle)
    if code == SQLITE_ROW { return true }
    guard code == SQLITE_DONE else { throw error(code) }
    return false
  }

  // MARK: reading the current row (0-based column index, as in SQLite)

  package func isNull(_ column: Int32) -> Bool {
    sqlite3_column_type(handle, column) == SQLITE_NULL
  }

  package func int64(_ column: Int32) -> Int64 {
    sqlite3_column_int64(handle, column)
  }

  package func int(_ column: Int32) -> Int {
    Int(sqlite3_column_int64(handle, column))
  }

  package func double(_ column: Int32) -> Double {
    sqlite3_column_double(handle, column)
  }

  package func optionalDouble(_ column: Int32) -> Double? {
    isNull(column) ? nil : sqlite3_column_double(handle, column)
  }

  package func string(_ column: Int32) -> String {
    guard let text = sqlite3_column_text(handle, column) else { return "" }
    let count = Int(sqlite3_column_bytes(handle, column))
    return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
  }

  package func optionalString(_ column: Int32) -> String? {
    isNull(column) ? nil : string(column)
  }
}
