import FeedModel
import FeedStore
import Foundation
import GRDB

/// The raw SQLite limit for the store benchmark: the rows an ingest wrote (entries, their
/// near-duplicate bands, groups and timeline rows), copied into a fresh store by SQLite itself
/// (`INSERT … SELECT` from the ingested file, held in memory), in the ingest's order, with the
/// store's own pragmas, in the same batching as the ingest being compared: `transactions` write
/// transactions with the feeds spread evenly over them (one per feed, or as many as group commit
/// used). It does none of ingest's lookups, matching or hashing, so it is a lower bound on the
/// time of any ingest that writes this schema in that many transactions, on this machine, in the
/// same run. The smaller layouts (one transaction per feed) show what the schema's parts cost.
enum StoreFloor {
  enum Layout: String, CaseIterable {
    /// The store's schema, every table and index.
    case full = "the store's schema"
    /// `entry` with its five indexes; no near-duplicate, group or timeline table.
    case entriesIndexed = "entry rows + their 5 indexes only"
    /// `entry` rows alone, no secondary index.
    case entriesOnly = "entry rows only"
  }

  /// One measured copy.
  struct Result {
    var layout: Layout
    /// Write transactions the copy used.
    var transactions: Int
    var seconds: Double
  }

  /// Seconds to copy `ingested`'s rows into a new store at `path`: the full schema in each of
  /// `transactions`' batchings, then the smaller layouts one transaction per feed.
  static func measure(
    ingested: URL, path: URL, sources: [SourceDefinition], transactions: [Int]
  ) async throws -> [Result] {
    // Outside the timing: per-source copies of the tables that have no source column, so each
    // transaction reads its rows with an index seek instead of a join or a scan.
    let old = try DatabaseQueue(path: ingested.path)
    try await old.write { db in
      try db.execute(
        sql: """
          DROP TABLE IF EXISTS floor_nd; DROP TABLE IF EXISTS floor_grp;
          DROP TABLE IF EXISTS floor_facet;
          CREATE TABLE floor_nd AS SELECT e.sourceID AS sid, n.bucket, n.band, n.entryID
            FROM near_dup n JOIN entry e ON e.id = n.entryID ORDER BY n.entryID;
          CREATE INDEX floor_nd_sid ON floor_nd(sid);
          CREATE TABLE floor_grp AS SELECT e.sourceID AS sid, g.* FROM grp g JOIN entry e ON e.id = g.id
            ORDER BY g.id;
          CREATE INDEX floor_grp_sid ON floor_grp(sid);
          CREATE TABLE floor_facet AS SELECT e.sourceID AS sid, f.* FROM group_facet f
            JOIN entry e ON e.id = f.groupID ORDER BY f.groupID;
          CREATE INDEX floor_facet_sid ON floor_facet(sid);
          """)
    }
    // Each source's entry ids (contiguous when ingested one feed after another): the copy walks
    // them in id order without a sort.
    let idRanges = try await old.read { db in
      var ranges: [String: (Int64, Int64)] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT sourceID, MIN(id), MAX(id) FROM entry GROUP BY sourceID")
      {
        ranges[row[0]] = (row[1], row[2])
      }
      return ranges
    }
    try old.close()

    var results: [Result] = []
    for count in transactions {
      results.append(
        Result(
          layout: .full, transactions: count,
          seconds: try await copy(
            ingested: ingested, path: path, sources: sources, idRanges: idRanges, layout: .full,
            transactions: count)))
    }
    for layout in Layout.allCases where layout != .full {
      results.append(
        Result(
          layout: layout, transactions: sources.count,
          seconds: try await copy(
            ingested: ingested, path: path, sources: sources, idRanges: idRanges, layout: layout,
            transactions: sources.count)))
    }
    return results
  }

  /// `sources` split into `count` consecutive runs whose lengths differ by at most one.
  static func batches(_ sources: [SourceDefinition], _ count: Int) -> [[SourceDefinition]] {
    let n = max(1, min(count, sources.count))
    return (0..<n).map { i in
      Array(sources[(i * sources.count / n)..<((i + 1) * sources.count / n)])
    }
  }

  private static func copy(
    ingested: URL, path: URL, sources: [SourceDefinition], idRanges: [String: (Int64, Int64)],
    layout: Layout, transactions: Int
  ) async throws -> Double {
    for suffix in ["", "-wal", "-shm"] {
      try? FileManager.default.removeItem(atPath: path.path + suffix)
    }
    let store = try SQLiteFeedStore(path: path.path)  // the same migrations, so the same schema
    try await store.syncSources(sources)
    try await store.close()

    var config = Configuration()
    config.prepareDatabase { db in
      try SQLiteFeedStore.configureConnection(db)
      // An `INSERT … SELECT` of a whole feed keeps a statement journal (so it can be rolled back
      // alone); past 64 KB SQLite spills it to a temp file, a cost ingest's one-row statements
      // never pay. In memory it stays.
      try db.execute(sql: "PRAGMA temp_store = MEMORY")
    }
    let queue = try DatabaseQueue(path: path.path, configuration: config)
    try await queue.writeWithoutTransaction { db in
      if layout != .full {
        try db.execute(sql: "DROP TABLE near_dup; DROP TABLE group_facet; DROP TABLE grp")
      }
      if layout == .entriesOnly {
        for index in ["entry_key", "entry_atom", "entry_source_sort", "entry_group", "entry_canon"]
        {
          try db.execute(sql: "DROP INDEX \(index)")
        }
      }
      try db.execute(sql: "VACUUM")
      try db.execute(sql: "ATTACH DATABASE ? AS old", arguments: [ingested.path])
      // Reading the source rows should cost next to nothing: hold all of them in this
      // connection's cache for the attached file (its own cache; `main` keeps the store's).
      try db.execute(sql: "PRAGMA old.cache_size = -1000000")
      for table in ["entry", "floor_nd", "floor_grp", "floor_facet"] {
        _ = try Row.fetchAll(db, sql: "SELECT * FROM old.\(table)").count
      }
    }
    // Statements compiled once (GRDB's statement cache), like ingest's.
    let all = [
      """
      INSERT INTO grp SELECT id, preferredEntryID, sortDate, memberCount, facets FROM old.floor_grp
      WHERE sid = ?
      """,
      "INSERT INTO entry SELECT * FROM old.entry WHERE id BETWEEN ? AND ? AND +sourceID = ?",
      "INSERT INTO near_dup SELECT bucket, band, entryID FROM old.floor_nd WHERE sid = ?",
      """
      INSERT OR IGNORE INTO group_facet SELECT facet, sortDate, groupID FROM old.floor_facet
      WHERE sid = ?
      """,
    ]
    let copies = layout == .full ? all : all.filter { $0.contains("INTO entry") }
    let start = DispatchTime.now()
    for batch in batches(sources, transactions) {
      try await queue.writeWithoutTransaction { db in
        try db.inTransaction(.immediate) {
          for source in batch {
            let now = Date().timeIntervalSince1970
            try db.cachedStatement(
              sql:
                "UPDATE source SET lastAttempt = ?, lastSuccess = ?, httpStatus = 200 WHERE id = ?"
            ).execute(arguments: [now, now, source.id])
            let ids = idRanges[source.id] ?? (0, -1)
            for sql in copies {
              let arguments: StatementArguments =
                sql.contains("BETWEEN") ? [ids.0, ids.1, source.id] : [source.id]
              try db.cachedStatement(sql: sql).execute(arguments: arguments)
            }
            try db.cachedStatement(
              sql: "UPDATE meta SET value = value + 1 WHERE key = 'changeToken'"
            ).execute()
          }
          return .commit
        }
      }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    try queue.close()
    return seconds
  }
}
