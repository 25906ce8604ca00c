import FeedModel
import Foundation

/// Read queries for publishing. Every page is one range scan of `group_facet` from the cursor
/// plus primary-key/index lookups for the rows of that page: the cost does not grow with the
/// size of the store.
package enum Timeline {
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
    -> [(String, [SQLValue])]
  {
    let facets = facets(query)
    var sql = "SELECT f.sortDate, f.groupID FROM group_facet f WHERE f.facet = ?"
    var args: [SQLValue] = [.text(facets[0])]
    for extra in facets.dropFirst() {
      sql += """
         AND EXISTS (SELECT 1 FROM group_facet g WHERE g.facet = ? AND g.sortDate = f.sortDate
          AND g.groupID = f.groupID)
        """
      args.append(.text(extra))
    }
    if let before = query.before {
      sql += " AND (f.sortDate, f.groupID) < (?, ?)"
      args += [.integer(milliseconds(before.sortDate)), .integer(before.groupID)]
    }
    if let after = query.after {
      sql += " AND (f.sortDate, f.groupID) > (?, ?)"
      args += [.integer(milliseconds(after.sortDate)), .integer(after.groupID)]
    }
    let order = ascending(query) ? "ASC" : "DESC"
    sql += " ORDER BY f.sortDate \(order), f.groupID \(order) LIMIT ?"
    args.append(SQLValue(max(1, min(query.limit, maxLimit)) + 1))
    let marks = Array(repeating: "?", count: max(1, groupIDs.count)).joined(separator: ", ")
    let ids: [SQLValue] = groupIDs.isEmpty ? [.integer(0)] : groupIDs.map { .integer($0) }
    return [
      (sql, args),
      ("SELECT id, preferredEntryID, memberCount FROM grp WHERE id IN (\(marks))", ids),
      (
        "SELECT id, groupID, atomID, sourceID, title, link, firstSeen FROM entry WHERE groupID IN (\(marks)) AND filtered = 0",
        ids
      ),
      ("SELECT * FROM entry WHERE id IN (\(marks))", ids),
      ("SELECT * FROM source WHERE id IN (\(marks))", ids.map { .text($0.string ?? "") }),
    ]
  }

  static func ascending(_ query: TimelineQuery) -> Bool {
    query.after != nil && query.before == nil
  }

  /// One page of the timeline, with the cursors on either side of it.
  package static func page<DB: StoreConnection>(_ db: DB, _ query: TimelineQuery) throws
    -> TimelinePage
  {
    let limit = max(1, min(query.limit, maxLimit))
    let (pageSQL, pageArgs) = statements(query, groupIDs: [])[0]
    var rows = try db.fetchAll(pageSQL, pageArgs).map {
      (sortDate: $0[0].int64 ?? 0, groupID: $0[1].int64 ?? 0)
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

  private static func exists<DB: StoreConnection>(
    _ db: DB, _ query: TimelineQuery, olderThan c: TimelineCursor
  ) throws -> Bool {
    var q = query
    q.before = c
    q.after = nil
    q.limit = 1
    let (sql, args) = statements(q, groupIDs: [])[0]
    return try db.fetchOne(sql, args) != nil
  }

  private static func exists<DB: StoreConnection>(
    _ db: DB, _ query: TimelineQuery, newerThan c: TimelineCursor
  ) throws -> Bool {
    var q = query
    q.after = c
    q.before = nil
    q.limit = 1
    let (sql, args) = statements(q, groupIDs: [])[0]
    return try db.fetchOne(sql, args) != nil
  }

  private static func loadItems<DB: StoreConnection>(_ db: DB, _ groupIDs: [Int64]) throws
    -> [TimelineItem]
  {
    let stmts = statements(TimelineQuery(), groupIDs: groupIDs)
    var preferred: [Int64: Int64] = [:]
    var merged: [Int64] = []
    for row in try db.fetchAll(stmts[1].0, stmts[1].1) {
      let id = row[0].int64 ?? 0
      preferred[id] = row[1].int64 ?? 0
      if (row[2].int64 ?? 0) > 1 { merged.append(id) }
    }
    var members: [Int64: [SQLRow]] = [:]
    if !merged.isEmpty {
      let marks = Array(repeating: "?", count: merged.count).joined(separator: ", ")
      for row in try db.fetchAll(
        """
        SELECT id, groupID, atomID, sourceID, title, link, firstSeen FROM entry
        WHERE groupID IN (\(marks)) AND filtered = 0 ORDER BY firstSeen, id
        """, merged.map { .integer($0) })
      {
        members[row.int64("groupID"), default: []].append(row)
      }
    }
    let entryIDs = groupIDs.compactMap { preferred[$0] }
    let marks = Array(repeating: "?", count: entryIDs.count).joined(separator: ", ")
    var entries: [Int64: StoredEntry] = [:]
    for row in try db.fetchAll(
      "SELECT * FROM entry WHERE id IN (\(marks))", entryIDs.map { .integer($0) })
    {
      entries[row.int64("id")] = try storedEntry(row)
    }
    var sourceIDs = Set(entries.values.map(\.sourceID))
    for rows in members.values { for r in rows { sourceIDs.insert(r.string("sourceID")) } }
    let sourceMarks = Array(repeating: "?", count: sourceIDs.count).joined(separator: ", ")
    var sources: [String: SourceState] = [:]
    for row in try db.fetchAll(
      "SELECT * FROM source WHERE id IN (\(sourceMarks))", sourceIDs.sorted().map { .text($0) })
    {
      let s = sourceState(row)
      sources[s.id] = s
    }
    var items: [TimelineItem] = []
    for gid in groupIDs {
      guard let pid = preferred[gid], let entry = entries[pid], let source = sources[entry.sourceID]
      else { continue }
      let duplicates = (members[gid] ?? []).filter { $0.int64("id") != pid }.map {
        row -> DuplicateRef in
        let sid = row.string("sourceID")
        return DuplicateRef(
          atomID: row.string("atomID"), sourceID: sid, sourceTitle: sources[sid]?.title,
          title: row.optionalString("title"), link: row.optionalString("link"))
      }
      items.append(
        TimelineItem(groupID: gid, entry: entry, source: source, duplicates: duplicates))
    }
    return items
  }

  /// A `SELECT * FROM entry` row as a stored entry (column names in any case).
  package static func storedEntry(_ row: SQLRow) throws -> StoredEntry {
    var extra: EntryExtra?
    if let data = row.optionalData("extra") {
      let decoder = JSONDecoder()
      decoder.dateDecodingStrategy = .millisecondsSince1970
      extra = try decoder.decode(EntryExtra.self, from: data)
    }
    func text(_ type: Int?, _ value: String?, _ language: String?) -> Text? {
      guard let value else { return nil }
      return Text(type: type == 1 ? .html : .text, value: value, language: language)
    }
    let entry = Entry(
      id: row.optionalString("guid"), title: row.optionalString("title"),
      link: row.optionalString("link"), links: extra?.links ?? [],
      published: date(row.optionalDouble("published")),
      updated: date(row.optionalDouble("updated")),
      summary: text(
        row.optionalInt("summaryType"), row.optionalString("summary"), extra?.summaryLanguage),
      content: text(
        row.optionalInt("contentType"), row.optionalString("content"), extra?.contentLanguage),
      contentSource: extra?.contentSource, authors: extra?.authors ?? [],
      contributors: extra?.contributors ?? [], categories: extra?.categories ?? [],
      enclosures: extra?.enclosures ?? [], source: extra?.source?.source,
      language: row.optionalString("entryLanguage"), titleLanguage: extra?.titleLanguage,
      created: extra?.created, rights: extra?.rights, publisher: extra?.publisher,
      comments: extra?.comments, media: extra?.media, itunes: extra?.itunes, geo: extra?.geo,
      sanitizerKeys: extra?.sanitizerKeys)
    let sortMs = row.int64("sortDate")
    return StoredEntry(
      atomID: row.string("atomID"), sourceID: row.string("sourceID"), entry: entry,
      firstSeen: Date(timeIntervalSince1970: row.double("firstSeen")),
      contentUpdated: Date(timeIntervalSince1970: row.double("contentUpdated")),
      sortDate: Date(timeIntervalSince1970: Double(sortMs) / 1000),
      language: row.optionalString("language"))
  }

  static func date(_ value: Double?) -> Date? {
    value.map { Date(timeIntervalSince1970: $0) }
  }

  /// A `SELECT * FROM source` row as a source's state (column names in any case).
  package static func sourceState(_ row: SQLRow) -> SourceState {
    let categoriesJSON = row.optionalString("categories") ?? "[]"
    let categories =
      (try? JSONDecoder().decode([String].self, from: Data(categoriesJSON.utf8))) ?? []
    let configuredTitle = row.optionalString("title")
    let feedTitle = row.optionalString("feedTitle")
    return SourceState(
      id: row.string("id"), url: row.string("url"),
      kind: SourceKind(rawValue: row.optionalString("kind") ?? "feed") ?? .feed,
      title: configuredTitle ?? feedTitle, categories: categories, priority: row.int("priority"),
      language: row.optionalString("language"), active: row.bool("active"),
      etag: row.optionalString("etag"), lastModified: row.optionalString("lastModified"),
      bodyHash: row.optionalString("bodyHash"),
      lastAttempt: date(row.optionalDouble("lastAttempt")),
      lastSuccess: date(row.optionalDouble("lastSuccess")),
      httpStatus: row.optionalInt("httpStatus"),
      consecutiveFailures: row.int("consecutiveFailures"),
      lastError: row.optionalString("lastError"),
      failingSince: date(row.optionalDouble("failingSince")),
      nextDue: date(row.optionalDouble("nextDue")), movedTo: row.optionalString("movedTo"),
      gone: row.bool("gone"), feedID: row.optionalString("feedID"), feedTitle: feedTitle,
      feedLink: row.optionalString("feedLink"),
      feedUpdated: date(row.optionalDouble("feedUpdated")),
      feedIcon: row.optionalString("feedIcon"), feedRights: row.optionalString("feedRights"),
      feedAuthor: row.optionalString("feedAuthor"),
      feedLanguage: row.optionalString("feedLanguage"), entryCount: row.int("entryCount"),
      retentionDropped: row.int("retentionDropped"), feedHead: row.optionalData("feedHead"),
      filteredEntries: row.int("filteredCount"))
  }

  /// Distinct facet values under a prefix (`c:`, `l:`), by seeking from one value to the next
  /// in the primary key: one index probe per distinct value, never a scan of the rows.
  static func distinctFacets<DB: StoreConnection>(_ db: DB, prefix: String) throws -> [String] {
    var result: [String] = []
    var last = prefix
    var upper = prefix
    let end = upper.unicodeScalars.removeLast()
    upper.unicodeScalars.append(Unicode.Scalar(end.value + 1)!)
    while let facet = try db.fetchOne(
      "SELECT facet FROM group_facet WHERE facet > ? AND facet < ? ORDER BY facet LIMIT 1",
      [.text(last), .text(upper)]
    )?[0].string {
      result.append(String(facet.dropFirst(prefix.count)))
      last = facet
    }
    return result
  }
}
