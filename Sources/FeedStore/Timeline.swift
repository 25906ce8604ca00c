import FeedModel
import Foundation
import GRDB

/// Read queries for publishing. Every page is one range scan of `group_facet` from the cursor
/// plus primary-key/index lookups for the rows of that page: the cost does not grow with the
/// size of the store.
enum Timeline {
  static let maxLimit = 1000

  /// The facets a query asks for: the first drives the index range scan, the others are checked
  /// per row by primary-key lookups.
  static func facets(_ query: TimelineQuery) -> [String] {
    var facets: [String] = []
    if let s = query.sourceID { facets.append("s:" + s) }
    if let c = query.category { facets.append("c:" + c) }
    if let l = primaryLanguage(query.language) { facets.append("l:" + l) }
    return facets.isEmpty ? [""] : facets
  }

  /// The page statement (and the statements that load a page's rows), for `page` and for the
  /// query-plan test.
  static func statements(_ query: TimelineQuery, groupIDs: [Int64])
    -> [(String, [DatabaseValueConvertible?])]
  {
    let facets = facets(query)
    var sql = "SELECT f.sortDate, f.groupID FROM group_facet f WHERE f.facet = ?"
    var args: [DatabaseValueConvertible?] = [facets[0]]
    for extra in facets.dropFirst() {
      sql += """
         AND EXISTS (SELECT 1 FROM group_facet g WHERE g.facet = ? AND g.sortDate = f.sortDate
          AND g.groupID = f.groupID)
        """
      args.append(extra)
    }
    if let before = query.before {
      sql += " AND (f.sortDate, f.groupID) < (?, ?)"
      args += [milliseconds(before.sortDate), before.groupID]
    }
    if let after = query.after {
      sql += " AND (f.sortDate, f.groupID) > (?, ?)"
      args += [milliseconds(after.sortDate), after.groupID]
    }
    let order = ascending(query) ? "ASC" : "DESC"
    sql += " ORDER BY f.sortDate \(order), f.groupID \(order) LIMIT ?"
    args.append(max(1, min(query.limit, maxLimit)) + 1)
    let marks = Array(repeating: "?", count: max(1, groupIDs.count)).joined(separator: ", ")
    let ids: [DatabaseValueConvertible?] = groupIDs.isEmpty ? [0] : groupIDs
    return [
      (sql, args),
      ("SELECT id, preferredEntryID, memberCount FROM grp WHERE id IN (\(marks))", ids),
      (
        "SELECT id, groupID, atomID, sourceID, title, link, firstSeen FROM entry WHERE groupID IN (\(marks))",
        ids
      ),
      ("SELECT * FROM entry WHERE id IN (\(marks))", ids),
      ("SELECT * FROM source WHERE id IN (\(marks))", ids.map { "\($0!)" }),
    ]
  }

  static func ascending(_ query: TimelineQuery) -> Bool {
    query.after != nil && query.before == nil
  }

  static func page(_ db: Database, _ query: TimelineQuery) throws -> TimelinePage {
    let limit = max(1, min(query.limit, maxLimit))
    let (pageSQL, pageArgs) = statements(query, groupIDs: [])[0]
    var rows = try Row.fetchAll(db, sql: pageSQL, arguments: StatementArguments(pageArgs)).map {
      (sortDate: $0[0] as Int64, groupID: $0[1] as Int64)
    }
    let hasMore = rows.count > limit
    if hasMore { rows.removeLast() }
    let asc = ascending(query)
    if asc { rows.reverse() }
    guard !rows.isEmpty else {
      // Nothing in this direction; point back at what exists on the other side, if anything.
      var older: TimelineCursor?
      var newer: TimelineCursor?
      if let before = query.before, try exists(db, query, newerThan: before) { newer = before }
      if let after = query.after, try exists(db, query, olderThan: after) { older = after }
      return TimelinePage(items: [], olderCursor: older, newerCursor: newer)
    }
    let items = try loadItems(db, rows.map(\.groupID))
    let first = TimelineCursor(
      sortDate: Date(timeIntervalSince1970: Double(rows[0].sortDate) / 1000),
      groupID: rows[0].groupID)
    let last = TimelineCursor(
      sortDate: Date(timeIntervalSince1970: Double(rows[rows.count - 1].sortDate) / 1000),
      groupID: rows[rows.count - 1].groupID)
    var olderCursor: TimelineCursor?
    var newerCursor: TimelineCursor?
    if asc {
      if hasMore { newerCursor = first }
      if try exists(db, query, olderThan: last) { olderCursor = last }
    } else {
      if hasMore { olderCursor = last }
      if try exists(db, query, newerThan: first) { newerCursor = first }
    }
    return TimelinePage(items: items, olderCursor: olderCursor, newerCursor: newerCursor)
  }

  private static func exists(_ db: Database, _ query: TimelineQuery, olderThan c: TimelineCursor)
    throws -> Bool
  {
    var q = query
    q.before = c
    q.after = nil
    q.limit = 1
    let (sql, args) = statements(q, groupIDs: [])[0]
    return try Row.fetchOne(db, sql: sql, arguments: StatementArguments(args)) != nil
  }

  private static func exists(_ db: Database, _ query: TimelineQuery, newerThan c: TimelineCursor)
    throws -> Bool
  {
    var q = query
    q.after = c
    q.before = nil
    q.limit = 1
    let (sql, args) = statements(q, groupIDs: [])[0]
    return try Row.fetchOne(db, sql: sql, arguments: StatementArguments(args)) != nil
  }

  private static func loadItems(_ db: Database, _ groupIDs: [Int64]) throws -> [TimelineItem] {
    let stmts = statements(TimelineQuery(), groupIDs: groupIDs)
    var preferred: [Int64: Int64] = [:]
    var merged: [Int64] = []
    for row in try Row.fetchAll(db, sql: stmts[1].0, arguments: StatementArguments(stmts[1].1)) {
      preferred[row[0]] = row[1]
      if (row[2] as Int) > 1 { merged.append(row[0]) }
    }
    var members: [Int64: [Row]] = [:]
    if !merged.isEmpty {
      let marks = Array(repeating: "?", count: merged.count).joined(separator: ", ")
      for row in try Row.fetchAll(
        db,
        sql: """
          SELECT id, groupID, atomID, sourceID, title, link, firstSeen FROM entry
          WHERE groupID IN (\(marks)) ORDER BY firstSeen, id
          """, arguments: StatementArguments(merged))
      {
        members[row["groupID"], default: []].append(row)
      }
    }
    let entryIDs = groupIDs.compactMap { preferred[$0] }
    let marks = Array(repeating: "?", count: entryIDs.count).joined(separator: ", ")
    var entries: [Int64: StoredEntry] = [:]
    for row in try Row.fetchAll(
      db, sql: "SELECT * FROM entry WHERE id IN (\(marks))", arguments: StatementArguments(entryIDs)
    ) {
      entries[row["id"]] = try storedEntry(row)
    }
    var sourceIDs = Set(entries.values.map(\.sourceID))
    for rows in members.values { for r in rows { sourceIDs.insert(r["sourceID"]) } }
    let sourceMarks = Array(repeating: "?", count: sourceIDs.count).joined(separator: ", ")
    var sources: [String: SourceState] = [:]
    for row in try Row.fetchAll(
      db, sql: "SELECT * FROM source WHERE id IN (\(sourceMarks))",
      arguments: StatementArguments(Array(sourceIDs)))
    {
      let s = SQLiteFeedStore.sourceState(row)
      sources[s.id] = s
    }
    var items: [TimelineItem] = []
    for gid in groupIDs {
      guard let pid = preferred[gid], let entry = entries[pid], let source = sources[entry.sourceID]
      else { continue }
      let duplicates = (members[gid] ?? []).filter { ($0["id"] as Int64) != pid }.map {
        row -> DuplicateRef in
        let sid: String = row["sourceID"]
        return DuplicateRef(
          atomID: row["atomID"], sourceID: sid, sourceTitle: sources[sid]?.title,
          title: row["title"], link: row["link"])
      }
      items.append(
        TimelineItem(groupID: gid, entry: entry, source: source, duplicates: duplicates))
    }
    return items
  }

  static func storedEntry(_ row: Row) throws -> StoredEntry {
    var extra: EntryExtra?
    if let data = row["extra"] as Data? {
      let decoder = JSONDecoder()
      decoder.dateDecodingStrategy = .millisecondsSince1970
      extra = try decoder.decode(EntryExtra.self, from: data)
    }
    func text(_ type: Int?, _ value: String?, _ language: String?) -> Text? {
      guard let value else { return nil }
      return Text(type: type == 1 ? .html : .text, value: value, language: language)
    }
    let entry = Entry(
      id: row["guid"], title: row["title"], link: row["link"], links: extra?.links ?? [],
      published: SQLiteFeedStore.date(row["published"]),
      updated: SQLiteFeedStore.date(row["updated"]),
      summary: text(row["summaryType"], row["summary"], extra?.summaryLanguage),
      content: text(row["contentType"], row["content"], extra?.contentLanguage),
      contentSource: extra?.contentSource, authors: extra?.authors ?? [],
      contributors: extra?.contributors ?? [], categories: extra?.categories ?? [],
      enclosures: extra?.enclosures ?? [], source: extra?.source?.source,
      language: row["entryLanguage"], titleLanguage: extra?.titleLanguage,
      created: extra?.created, rights: extra?.rights, publisher: extra?.publisher,
      comments: extra?.comments, media: extra?.media, itunes: extra?.itunes, geo: extra?.geo)
    let sortMs: Int64 = row["sortDate"]
    return StoredEntry(
      atomID: row["atomID"], sourceID: row["sourceID"], entry: entry,
      firstSeen: Date(timeIntervalSince1970: row["firstSeen"]),
      contentUpdated: Date(timeIntervalSince1970: row["contentUpdated"]),
      sortDate: Date(timeIntervalSince1970: Double(sortMs) / 1000), language: row["language"])
  }

  /// Distinct facet values under a prefix (`c:`, `l:`), by seeking from one value to the next
  /// in the primary key: one index probe per distinct value, never a scan of the rows.
  static func distinctFacets(_ db: Database, prefix: String) throws -> [String] {
    var result: [String] = []
    var last = prefix
    var upper = prefix
    let end = upper.unicodeScalars.removeLast()
    upper.unicodeScalars.append(Unicode.Scalar(end.value + 1)!)
    while let facet = try String.fetchOne(
      db,
      sql: "SELECT facet FROM group_facet WHERE facet > ? AND facet < ? ORDER BY facet LIMIT 1",
      arguments: [last, upper])
    {
      result.append(String(facet.dropFirst(prefix.count)))
      last = facet
    }
    return result
  }
}
