import FeedStore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The store's SQL uses SQLite's `?` placeholders; PostgreSQL numbers them (`$1…$n`). The
/// rewrite skips string literals (`'…'`, doubled quotes inside), quoted identifiers (`"…"`),
/// dollar-quoted bodies (`$tag$…$tag$`) and comments, so a `?` inside any of them stays.
package enum Placeholders {
  /// `sql` with every placeholder `?` replaced by `$1`, `$2`, … and how many there were.
  package static func translate(_ sql: String) -> (sql: String, count: Int) {
    let bytes = Array(sql.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + 16)
    var count = 0
    var i = 0
    let n = bytes.count
    func copy(until end: Int) {
      out.append(contentsOf: bytes[i..<min(end, n)])
      i = min(end, n)
    }
    while i < n {
      let c = bytes[i]
      switch c {
      case UInt8(ascii: "?"):
        count += 1
        out.append(UInt8(ascii: "$"))
        out.append(contentsOf: Array(String(count).utf8))
        i += 1
      case UInt8(ascii: "'"), UInt8(ascii: "\""):
        // Up to the closing quote; a doubled quote is an escaped one and continues the run.
        var j = i + 1
        while j < n {
          if bytes[j] == c {
            if j + 1 < n, bytes[j + 1] == c {
              j += 2
              continue
            }
            break
          }
          j += 1
        }
        copy(until: j + 1)
      case UInt8(ascii: "-") where i + 1 < n && bytes[i + 1] == UInt8(ascii: "-"):
        var j = i + 2
        while j < n, bytes[j] != UInt8(ascii: "\n") { j += 1 }
        copy(until: j)
      case UInt8(ascii: "/") where i + 1 < n && bytes[i + 1] == UInt8(ascii: "*"):
        var j = i + 2
        while j + 1 < n, !(bytes[j] == UInt8(ascii: "*") && bytes[j + 1] == UInt8(ascii: "/")) {
          j += 1
        }
        copy(until: j + 2)
      case UInt8(ascii: "$"):
        // `$tag$ … $tag$` (tag empty or an identifier); `$1` is a parameter, copied as it is.
        var j = i + 1
        while j < n, bytes[j] == UInt8(ascii: "_") || isAlnum(bytes[j]) { j += 1 }
        let isTag =
          j < n && bytes[j] == UInt8(ascii: "$")
          && (j == i + 1 || !isDigit(bytes[i + 1]))
        guard isTag else {
          copy(until: j)
          break
        }
        let tag = Array(bytes[i...j])
        var k = j + 1
        var end = n
        while k + tag.count <= n {
          if bytes[k] == UInt8(ascii: "$"), Array(bytes[k..<k + tag.count]) == tag {
            end = k + tag.count
            break
          }
          k += 1
        }
        copy(until: end)
      default:
        out.append(c)
        i += 1
      }
    }
    return (String(decoding: out, as: UTF8.self), count)
  }

  private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
  private static func isAlnum(_ c: UInt8) -> Bool {
    isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c >= 128
  }
}

/// One PostgreSQL connection as the store's rules see it (`StoreConnection`), synchronous: every
/// statement is sent with PostgresNIO's future API and waited for. It is only ever used on a
/// thread of `PostgresEngine`'s own thread pool, never on an event loop (where `wait()` would
/// deadlock) nor on Swift's cooperative pool (which it would starve).
///
/// Statements are cached per SQL text (the placeholder translation is done once); PostgresNIO
/// sends each run as one unnamed parse/bind/execute, so a statement costs one round trip.
package final class PGConnection: StoreConnection {
  package let connection: PostgresConnection
  let logger: Logger
  private var cache: [String: PGStatement] = [:]

  package init(_ connection: PostgresConnection, logger: Logger) {
    self.connection = connection
    self.logger = logger
  }

  package var dialect: SQLDialect { .postgres }

  package func statement(_ sql: String) throws -> PGStatement {
    if let cached = cache[sql] {
      cached.reset()
      cached.clearBindings()
      return cached
    }
    let statement = PGStatement(self, Placeholders.translate(sql))
    if cache.count > 500 { cache.removeAll() }
    cache[sql] = statement
    return statement
  }

  @discardableResult
  package func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
    let statement = try self.statement(sql)
    statement.bindAll(arguments)
    return try statement.run().rows
  }

  package func fetchAll(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
    let statement = try self.statement(sql)
    statement.bindAll(arguments)
    let result = try statement.run()
    return SQLRow.rows(columns: result.columns, values: result.values)
  }

  /// Runs already-numbered SQL (no translation, no cache): the engine's own BEGIN/COMMIT.
  @discardableResult
  package func send(_ sql: String, _ arguments: [SQLValue] = []) throws -> PGResult {
    try send(translated: sql, arguments)
  }

  func send(translated sql: String, _ arguments: [SQLValue]) throws -> PGResult {
    var binds = PostgresBindings(capacity: arguments.count)
    for value in arguments {
      switch value {
      case .null: binds.appendNull()
      case .integer(let v): binds.append(v)
      case .real(let v): binds.append(v)
      case .text(let v): binds.append(v)
      case .blob(let v): binds.append(ByteBuffer(bytes: v))
      }
    }
    let result: PostgresQueryResult
    do {
      result = try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        .wait()
    } catch let error as PSQLError {
      throw PostgresStoreError.unexpected(Self.describe(error))
    }
    return try PGResult(result)
  }

  /// What went wrong, for the log: the server's own message and SQLSTATE, or the client-side
  /// reason (PSQLError's `description` is deliberately generic). Never the bound values.
  static func describe(_ error: PSQLError) -> String {
    if let info = error.serverInfo, let message = info[.message] {
      return message + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
    }
    if let underlying = error.underlying { return "\(error.code): \(underlying)" }
    return "\(error.code)"
  }
}

/// The rows of one statement, converted to `SQLValue`s by PostgreSQL type.
package struct PGResult {
  package var columns: [String]
  package var values: [[SQLValue]]
  /// The command tag's row count (affected rows for INSERT/UPDATE/DELETE, rows for SELECT).
  package var rows: Int

  init(_ result: PostgresQueryResult) throws {
    rows = result.metadata.rows ?? 0
    values = []
    values.reserveCapacity(result.rows.count)
    columns = []
    for row in result.rows {
      var converted: [SQLValue] = []
      converted.reserveCapacity(row.count)
      if columns.isEmpty { columns = row.map(\.columnName) }
      for cell in row { converted.append(try Self.value(cell)) }
      values.append(converted)
    }
  }

  /// One cell as the store's rules expect it: integers (and booleans, as 0/1), reals, text,
  /// bytes; `numeric` (what `SUM` of bigints gives) as an integer when it is one.
  static func value(_ cell: PostgresCell) throws -> SQLValue {
    guard cell.bytes != nil else { return .null }
    switch cell.dataType {
    case .int2, .int4, .int8:
      return .integer(try cell.decode(Int64.self))
    case .float4, .float8:
      return .real(try cell.decode(Double.self))
    case .numeric:
      let decimal = try cell.decode(Decimal.self)
      let number = NSDecimalNumber(decimal: decimal)
      let integer = number.int64Value
      return Decimal(integer) == decimal ? .integer(integer) : .real(number.doubleValue)
    case .bool:
      return .integer(try cell.decode(Bool.self) ? 1 : 0)
    case .bytea:
      var buffer = cell.bytes!
      return .blob(Data(buffer.readBytes(length: buffer.readableBytes) ?? []))
    default:
      return .text(try cell.decode(String.self))
    }
  }
}

/// A statement of a `PGConnection`: bound by 1-based index, run on the first `step()` (or by
/// `execute()`), its rows then read one by one.
package final class PGStatement: StoreStatement {
  private unowned let connection: PGConnection
  let sql: String
  let parameterCount: Int
  private var bindings: [SQLValue]
  private var result: PGResult?
  private var position = -1

  init(_ connection: PGConnection, _ translated: (sql: String, count: Int)) {
    self.connection = connection
    self.sql = translated.sql
    self.parameterCount = translated.count
    bindings = Array(repeating: .null, count: translated.count)
  }

  func clearBindings() {
    for i in bindings.indices { bindings[i] = .null }
  }

  func bindAll(_ values: [SQLValue]) {
    if values.count > bindings.count {
      bindings.append(contentsOf: repeatElement(.null, count: values.count - bindings.count))
    }
    for (i, v) in values.enumerated() { bindings[i] = v }
  }

  private func set(_ index: Int32, _ value: SQLValue) {
    let i = Int(index) - 1
    guard i >= 0 else { return }
    if i >= bindings.count {
      bindings.append(contentsOf: repeatElement(.null, count: i + 1 - bindings.count))
    }
    bindings[i] = value
  }

  package func bind(_ index: Int32, _ value: Int64) throws { set(index, .integer(value)) }
  package func bind(_ index: Int32, _ value: Int) throws { set(index, .integer(Int64(value))) }
  package func bind(_ index: Int32, _ value: Int64?) throws { set(index, SQLValue(value)) }
  package func bind(_ index: Int32, _ value: Double?) throws { set(index, SQLValue(value)) }
  package func bind(_ index: Int32, _ value: String?) throws { set(index, SQLValue(value)) }
  package func bind(_ index: Int32, _ value: Data?) throws { set(index, SQLValue(value)) }

  /// Sends the statement with its bindings and keeps its rows.
  @discardableResult
  func run() throws -> PGResult {
    let result = try connection.send(translated: sql, bindings)
    self.result = result
    position = -1
    return result
  }

  package func execute() throws {
    try run()
    reset()
  }

  package func step() throws -> Bool {
    if result == nil { try run() }
    position += 1
    return position < (result?.values.count ?? 0)
  }

  package func reset() {
    result = nil
    position = -1
  }

  private func value(_ column: Int32) -> SQLValue {
    guard let result, position >= 0, position < result.values.count else { return .null }
    let row = result.values[position]
    return Int(column) < row.count ? row[Int(column)] : .null
  }

  package func isNull(_ column: Int32) -> Bool { value(column).isNull }
  package func int64(_ column: Int32) -> Int64 { value(column).int64 ?? 0 }
  package func int(_ column: Int32) -> Int { Int(value(column).int64 ?? 0) }
  package func double(_ column: Int32) -> Double { value(column).double ?? 0 }
  package func optionalDouble(_ column: Int32) -> Double? { value(column).double }
  package func string(_ column: Int32) -> String { value(column).string ?? "" }
  package func optionalString(_ column: Int32) -> String? { value(column).string }
}
