import Foundation
import GRDB
import XCTest

@testable import FeedStore

/// `RawStatement`, ingest's direct use of the SQLite C API: values round-trip exactly (an empty
/// string is not NULL, an empty blob is not NULL), errors carry SQLite's message, and a statement
/// that failed is usable again.
final class RawStatementTests: XCTestCase {
  func testValuesRoundTrip() throws {
    try Backend.skipOnPostgres("SQLite's C API (PostgreSQL's seam: PostgresStoreTests.EngineTests)")
    let queue = try DatabaseQueue()
    try queue.write { db in
      try db.execute(sql: "CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n TEXT)")
      let insert = try RawStatement(db, "INSERT INTO t (i, d, s, b, n) VALUES (?, ?, ?, ?, ?)")
      let cases: [(Int64, Double?, String?, Data?)] = [
        (-9_007_199_254_740_993, 1.5, "", Data()),
        (42, nil, "Šiauliai ąčęėįšųūž \u{1F600}", Data([0, 1, 2, 255])),
        (Int64.max, -0.25, nil, nil),
      ]
      for (i, d, s, b) in cases {
        try insert.bind(1, i)
        try insert.bind(2, d)
        try insert.bind(3, s)
        try insert.bind(4, b)
        try insert.bind(5, nil as String?)
        try insert.execute()
      }
      let rows = try Row.fetchAll(
        db, sql: "SELECT i, d, s, typeof(s), b, typeof(b), typeof(n) FROM t ORDER BY rowid")
      XCTAssertEqual(rows.map { $0[0] as Int64 }, cases.map(\.0))
      XCTAssertEqual(rows.map { $0[1] as Double? }, cases.map(\.1))
      XCTAssertEqual(rows.map { $0[2] as String? }, cases.map(\.2))
      XCTAssertEqual(rows.map { $0[3] as String }, ["text", "text", "null"])
      XCTAssertEqual(rows[1][4] as Data?, Data([0, 1, 2, 255]))
      XCTAssertEqual(rows.map { $0[5] as String }, ["blob", "blob", "null"])
      XCTAssertEqual(rows.map { $0[6] as String }, ["null", "null", "null"])

      let select = try RawStatement(db, "SELECT i, d, s FROM t WHERE i > ? ORDER BY rowid")
      try select.bind(1, Int64(0))
      var read: [(Int64, Double?, String?)] = []
      while try select.step() {
        read.append((select.int64(0), select.optionalDouble(1), select.optionalString(2)))
      }
      XCTAssertEqual(read.map(\.0), [42, Int64.max])
      XCTAssertEqual(read.map(\.1), [nil, -0.25])
      XCTAssertEqual(read.map(\.2), ["Šiauliai ąčęėįšųūž \u{1F600}", nil])
    }
  }

  func testErrorsAreDatabaseErrorsAndTheStatementIsReusable() throws {
    try Backend.skipOnPostgres("SQLite's C API (PostgreSQL's seam: PostgresStoreTests.EngineTests)")
    let queue = try DatabaseQueue()
    try queue.write { db in
      try db.execute(sql: "CREATE TABLE t (k TEXT PRIMARY KEY)")
      let sql = "INSERT INTO t (k) VALUES (?)"
      var insert = try RawStatement(db, sql)
      try insert.bind(1, "a")
      try insert.execute()
      try insert.bind(1, "a")
      XCTAssertThrowsError(try insert.execute()) { error in
        guard let error = error as? DatabaseError else { return XCTFail("\(error)") }
        XCTAssertEqual(error.resultCode, .SQLITE_CONSTRAINT)
        XCTAssertEqual(error.sql, sql)
        XCTAssertTrue(error.message?.contains("UNIQUE") ?? false, "\(error)")
      }
      // The next use of the cached statement starts clean.
      insert = try RawStatement(db, sql)
      try insert.bind(1, "b")
      try insert.execute()
      XCTAssertEqual(try String.fetchAll(db, sql: "SELECT k FROM t ORDER BY k"), ["a", "b"])
    }
  }
}
