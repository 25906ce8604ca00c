import Foundation

// The one seam between the store's rules and a database engine (issue 14).
//
// `Ingest`, `Retention`, `Timeline` and `Archive` hold every identity, de-duplication,
// retention, tombstone, timeline and paging rule. They are written once, generic over
// `StoreConnection`, and run unchanged on SQLite (`SQLiteConnection`, GRDB underneath) and on
// PostgreSQL (the `PostgresStore` target). Only the few statements whose SQL cannot be shared
// ask `dialect`. The rules run synchronously inside one write transaction that the backend
// opens: SQLite on GRDB's writer queue, PostgreSQL on a thread of its own (PostgresNIO's futures
// are waited for there, never on an event loop).
//
// SQL written against this seam uses `?` placeholders (a PostgreSQL connection numbers them),
// unquoted identifiers (PostgreSQL folds them to lower case, so row lookups by name are
// case-insensitive), integers 0/1 for booleans, `INSERT … ON CONFLICT DO NOTHING` instead of
// `INSERT OR IGNORE`, and `CAST(… AS BIGINT)` around aggregates that PostgreSQL widens.

/// A value bound to, or read from, a store statement.
package enum SQLValue: Sendable, Hashable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
  case blob(Data)

  package init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
  package init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
  package init(_ value: Bool?) { self = value.map { .integer($0 ? 1 : 0) } ?? .null }
  package init(_ value: Double?) { self = value.map { .real($0) } ?? .null }
  package init(_ value: String?) { self = value.map { .text($0) } ?? .null }
  package init(_ value: Data?) { self = value.map { .blob($0) } ?? .null }

  package var isNull: Bool { if case .null = self { return true } else { return false } }
  package var int64: Int64? {
    switch self {
    case .integer(let v): return v
    case .real(let v): return Int64(v)
    case .text(let s): return Int64(s)
    default: return nil
    }
  }
  package var double: Double? {
    switch self {
    case .integer(let v): return Double(v)
    case .real(let v): return v
    case .text(let s): return Double(s)
    default: return nil
    }
  }
  package var string: String? {
    switch self {
    case .text(let s): return s
    case .integer(let v): return String(v)
    case .real(let v): return String(v)
    case .blob(let d): return String(decoding: d, as: UTF8.self)
    case .null: return nil
    }
  }
  package var data: Data? {
    switch self {
    case .blob(let d): return d
    case .text(let s): return Data(s.utf8)
    default: return nil
    }
  }
}

/// One result row, by position or by (case-insensitive) column name.
package struct SQLRow: Sendable {
  package let columns: [String]
  package let values: [SQLValue]
  private let index: [String: Int]

  /// `columns` as the engine reports them; lookups lower-case both sides.
  package init(columns: [String], values: [SQLValue]) {
    self.columns = columns
    self.values = values
    var index: [String: Int] = [:]
    for (i, c) in columns.enumerated() where index[c.lowercased()] == nil {
      index[c.lowercased()] = i
    }
    self.index = index
  }

  private init(columns: [String], values: [SQLValue], index: [String: Int]) {
    self.columns = columns
    self.values = values
    self.index = index
  }

  /// Rows of one result set sharing one column index (built once, not once per row).
  package static func rows(columns: [String], values: [[SQLValue]]) -> [SQLRow] {
    guard let first = values.first else { return [] }
    let template = SQLRow(columns: columns, values: first)
    return values.map { SQLRow(columns: columns, values: $0, index: template.index) }
  }

  package subscript(_ i: Int) -> SQLValue { i < values.count ? values[i] : .null }
  package subscript(_ name: String) -> SQLValue {
    index[name.lowercased()].map { values[$0] } ?? .null
  }
  package func has(_ name: String) -> Bool { index[name.lowercased()] != nil }

  package func int64(_ name: String) -> Int64 { self[name].int64 ?? 0 }
  package func int(_ name: String) -> Int { Int(self[name].int64 ?? 0) }
  package func bool(_ name: String) -> Bool { (self[name].int64 ?? 0) != 0 }
  package func double(_ name: String) -> Double { self[name].double ?? 0 }
  package func string(_ name: String) -> String { self[name].string ?? "" }
  package func optionalInt64(_ name: String) -> Int64? { self[name].int64 }
  package func optionalInt(_ name: String) -> Int? { self[name].int64.map { Int($0) } }
  package func optionalDouble(_ name: String) -> Double? { self[name].double }
  package func optionalString(_ name: String) -> String? { self[name].string }
  package func optionalData(_ name: String) -> Data? { self[name].data }
}

/// The few places where the two engines need different SQL.
package enum SQLDialect: Sendable {
  case sqlite
  case postgres
}

/// A statement compiled once per connection, bound by 1-based index, stepped row by row and read
/// by 0-based column index: the shape of ingest's hot path (`RawStatement` on SQLite, where
/// boxing every argument cost most of the writer's own time). `statement(_:)` hands it back
/// reset, with no bindings.
package protocol StoreStatement {
  func bind(_ index: Int32, _ value: Int64) throws
  func bind(_ index: Int32, _ value: Int) throws
  func bind(_ index: Int32, _ value: Int64?) throws
  func bind(_ index: Int32, _ value: Double?) throws
  func bind(_ index: Int32, _ value: String?) throws
  func bind(_ index: Int32, _ value: Data?) throws
  /// Runs a statement that returns no rows.
  func execute() throws
  /// Advances to the next row; false when there is none (the first call runs the statement).
  func step() throws -> Bool
  /// Ready to be bound and run again.
  func reset()
  func isNull(_ column: Int32) -> Bool
  func int64(_ column: Int32) -> Int64
  func int(_ column: Int32) -> Int
  func double(_ column: Int32) -> Double
  func optionalDouble(_ column: Int32) -> Double?
  func string(_ column: Int32) -> String
  func optionalString(_ column: Int32) -> String?
}

/// One open connection inside one transaction, as the store's rules see it.
package protocol StoreConnection {
  associatedtype Statement: StoreStatement
  var dialect: SQLDialect { get }
  /// A cached, reset statement for `sql`.
  func statement(_ sql: String) throws -> Statement
  /// Runs `sql` (no rows expected) and returns how many rows it changed.
  @discardableResult
  func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
  /// Every row of `sql`.
  func fetchAll(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
}

extension StoreConnection {
  @discardableResult
  package func execute(_ sql: String) throws -> Int { try execute(sql, []) }
  package func fetchAll(_ sql: String) throws -> [SQLRow] { try fetchAll(sql, []) }
  /// The first row of `sql`, or nil.
  package func fetchOne(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLRow? {
    try fetchAll(sql, arguments).first
  }
}

extension StoreStatement {
  /// Binds any `SQLValue` (through the typed binds).
  package func bind(_ index: Int32, value: SQLValue) throws {
    switch value {
    case .null: try bind(index, nil as Int64?)
    case .integer(let v): try bind(index, v)
    case .real(let v): try bind(index, v as Double?)
    case .text(let v): try bind(index, v as String?)
    case .blob(let v): try bind(index, v as Data?)
    }
  }
}

extension StoreConnection {
  /// Runs the cached statement for `sql` with `arguments`: the fast path for the rules'
  /// fixed-shape writes that need no change count.
  package func run(_ sql: String, _ arguments: [SQLValue]) throws {
    let statement = try statement(sql)
    for (i, value) in arguments.enumerated() { try statement.bind(Int32(i + 1), value: value) }
    try statement.execute()
  }

  /// Runs the cached statement for `sql` with `arguments`, calling `row` on each result row
  /// (read by column index): the fast path for the rules' fixed-shape reads.
  package func each(
    _ sql: String, _ arguments: [SQLValue], _ row: (Statement) throws -> Void
  ) throws {
    let statement = try statement(sql)
    for (i, value) in arguments.enumerated() { try statement.bind(Int32(i + 1), value: value) }
    while try statement.step() { try row(statement) }
    statement.reset()
  }

  /// The first column of every row of the cached statement for `sql`, as integers.
  package func int64s(_ sql: String, _ arguments: [SQLValue]) throws -> [Int64] {
    var result: [Int64] = []
    try each(sql, arguments) { result.append($0.int64(0)) }
    return result
  }
}
