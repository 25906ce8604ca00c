import FeedModel
import FeedStore
import Foundation
import GRDB

/// What `copy(fromSQLite:)` moved: rows per table, as counted in the target after the copy
/// (equal to the source's, or the copy would have been rolled back).
public struct StoreCopyReport: Sendable, Hashable {
  public var rows: [String: Int]
  public var seconds: Double
  public init(rows: [String: Int], seconds: Double) {
    self.rows = rows
    self.seconds = seconds
  }
}

extension PostgresFeedStore {
  /// Moves a whole SQLite store into this (empty) PostgreSQL store: every table row for row,
  /// every id, duplicate group, tombstone, archive seal, `meta` counter and source state, in
  /// one write transaction that is rolled back unless the row count of every table (and every
  /// `meta` value) in the target equals the source's. Sources get their `host` from their URL;
  /// no leases are copied (the SQLite store has none).
  ///
  /// The SQLite store is first opened as the daemon would open it (migrated to the current
  /// schema; a store from a newer clusterwire is refused), then read in one snapshot. A target
  /// that holds any source, entry, group or tombstone, or whose counters moved, is refused.
  public func copy(fromSQLite path: String) async throws -> StoreCopyReport {
    guard FileManager.default.fileExists(atPath: path) else {
      throw PostgresStoreError.unexpected("copy-store: no SQLite store at \(path)")
    }
    let started = Date()
    // Brings an older store to the current schema (what the daemon does at start-up).
    try await SQLiteFeedStore(path: path).close()
    var configuration = Configuration()
    configuration.readonly = true
    let queue = try DatabaseQueue(path: path, configuration: configuration)
    defer { try? queue.close() }
    let rows = try await engine.write { pg in
      try queue.read { db in try Self.copy(from: db, to: pg) }
    }
    return StoreCopyReport(rows: rows, seconds: Date().timeIntervalSince(started))
  }

  private static func copy(from db: Database, to pg: PGConnection) throws -> [String: Int] {
    for table in PostgresSchema.tables where table != "meta" {
      let n = try pg.send("SELECT count(*) FROM \(table)").values.first?[0].int64 ?? 0
      if n > 0 { throw PostgresStoreError.targetNotEmpty("\(n) rows in \(table)") }
    }
    let initial: [String: Int64] = [
      "changeToken": 1, "nextEntryID": 1, "groups": 0, "mergedGroups": 0, "tombstones": 0,
    ]
    for v in try pg.send("SELECT key, value FROM meta").values {
      if let key = v[0].string, let value = v[1].int64, initial[key] != value {
        throw PostgresStoreError.targetNotEmpty("meta.\(key) is \(value)")
      }
    }
    try pg.send("DELETE FROM meta")

    var counts: [String: Int] = [:]
    for table in PostgresSchema.tables {
      let targetTypes = try Dictionary(
        uniqueKeysWithValues: pg.send(
          """
          SELECT column_name, data_type FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = $1
          """, [.text(table)]
        ).values.map { ($0[0].string ?? "", $0[1].string ?? "") })
      let columns = try db.columns(in: table).map(\.name)
      for column in columns where targetTypes[column.lowercased()] == nil {
        throw PostgresStoreError.copyMismatch(
          "column \(table).\(column) of the SQLite store has no place in PostgreSQL")
      }
      let types = columns.map { targetTypes[$0.lowercased()] ?? "" }
      let hostColumn = table == "source" ? columns.firstIndex(of: "url") : nil
      var insertColumns = columns
      if hostColumn != nil { insertColumns.append("host") }
      let width = insertColumns.count
      let batchSize = max(1, min(1000, 30000 / width))
      var batch: [SQLValue] = []
      var batchRows = 0
      var copied = 0
      func flush() throws {
        guard batchRows > 0 else { return }
        var placeholders: [String] = []
        var p = 0
        for _ in 0..<batchRows {
          placeholders.append(
            "("
              + (0..<width).map { _ in
                p += 1
                return "$\(p)"
              }.joined(separator: ", ") + ")")
        }
        let inserted = try pg.send(
          "INSERT INTO \(table) (\(insertColumns.joined(separator: ", "))) VALUES "
            + placeholders.joined(separator: ", "), batch
        ).rows
        guard inserted == batchRows else {
          throw PostgresStoreError.copyMismatch(
            "\(table): \(inserted) of \(batchRows) rows inserted")
        }
        copied += inserted
        batch.removeAll(keepingCapacity: true)
        batchRows = 0
      }
      let quoted = columns.map { "\"\($0)\"" }.joined(separator: ", ")
      let cursor = try Row.fetchCursor(db, sql: "SELECT \(quoted) FROM \(table)")
      while let row = try cursor.next() {
        for i in 0..<columns.count {
          batch.append(Self.value(row[i] as DatabaseValue, as: types[i]))
        }
        if let hostColumn {
          let url: String = row[hostColumn] ?? ""
          batch.append(SQLValue(SourceDefinition.hostKey(url)))
        }
        batchRows += 1
        if batchRows == batchSize { try flush() }
      }
      try flush()
      let sourceCount = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
      let targetCount = Int(
        try pg.send("SELECT count(*) FROM \(table)").values.first?[0].int64 ?? -1)
      guard copied == sourceCount, targetCount == sourceCount else {
        throw PostgresStoreError.copyMismatch(
          "\(table): \(sourceCount) rows in SQLite, \(targetCount) in PostgreSQL")
      }
      counts[table] = targetCount
    }
    // The counters the store keeps instead of counting rows must match too.
    var sqliteMeta: [String: Int64] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") {
      sqliteMeta[row["key"]] = row["value"]
    }
    var pgMeta: [String: Int64] = [:]
    for v in try pg.send("SELECT key, value FROM meta").values {
      pgMeta[v[0].string ?? ""] = v[1].int64
    }
    guard sqliteMeta == pgMeta else {
      throw PostgresStoreError.copyMismatch("meta differs: \(sqliteMeta) vs \(pgMeta)")
    }
    return counts
  }

  /// A SQLite value as the PostgreSQL column of `type` takes it (SQLite's dynamic typing may
  /// have stored a blob column's bytes as text, or a whole real as an integer).
  private static func value(_ value: DatabaseValue, as type: String) -> SQLValue {
    switch value.storage {
    case .null:
      return .null
    case .int64(let v):
      return type == "double precision" ? .real(Double(v)) : .integer(v)
    case .double(let v):
      return type == "bigint" ? .integer(Int64(v)) : .real(v)
    case .string(let s):
      return type == "bytea" ? .blob(Data(s.utf8)) : .text(s)
    case .blob(let d):
      return type == "text" ? .text(String(decoding: d, as: UTF8.self)) : .blob(d)
    }
  }
}
