import Foundation

/// One RFC 5005 archive document of a timeline: the rows in `(after, through]` of the
/// timeline order (sort date, group id). `after` is nil for the oldest page.
public struct ArchivePage: Sendable, Hashable {
  /// 1 for the oldest page.
  public var number: Int
  public var after: TimelineCursor?
  public var through: TimelineCursor
  public init(number: Int, after: TimelineCursor?, through: TimelineCursor) {
    self.number = number
    self.after = after
    self.through = through
  }

  /// The timeline query for this page's rows, newest first.
  public func query(_ scope: TimelineQuery) -> TimelineQuery {
    var q = scope
    q.limit = Timeline.maxLimit
    q.after = after
    // (s, g) <= (S, G) is (s, g) < (S, G + 1): group ids are integers.
    q.before = TimelineCursor(sortDate: through.sortDate, groupID: through.groupID + 1)
    return q
  }
}

/// How a timeline is split into a current document and archive documents (RFC 5005 section
/// 4). Boundaries are sealed once and never move, so an archive page's URL keeps naming the
/// same slice of the timeline: the current document holds every row after the last boundary
/// (between one and two pages' worth), and when it reaches two pages the oldest page's worth is
/// sealed into a new archive page. Rows removed by retention leave their page smaller; a row
/// whose sort date falls inside a sealed page (a back-dated story) joins that page. Together
/// the pages and the current document partition the timeline: following `prev-archive` from
/// the current document visits every row exactly once.
public struct ArchiveLayout: Sendable, Hashable {
  /// Oldest first; `pages[i].number == i + 1`.
  public var pages: [ArchivePage]
  public init(pages: [ArchivePage]) { self.pages = pages }

  /// The current document shows rows strictly after this cursor (nil: all rows).
  public var currentAfter: TimelineCursor? { pages.last?.through }

  /// The current document's query: every row after the last sealed page, newest first.
  public func currentQuery(_ scope: TimelineQuery, pageSize: Int) -> TimelineQuery {
    var q = scope
    q.after = currentAfter
    q.before = nil
    q.limit = min(Timeline.maxLimit, 2 * max(1, pageSize))
    return q
  }
}

/// The SQL side of archive pages (`archive_seal`), shared by every backend's rules.
package enum Archive {
  /// The facet a scope's archive is sealed under. Published scopes are single-facet (all, one
  /// category, one source or one language); a query naming several is archived by its first.
  static func facet(_ query: TimelineQuery) -> String {
    Timeline.facets(query)[0]
  }

  static func cursor(_ sortMs: Int64, _ groupID: Int64) -> TimelineCursor {
    TimelineCursor(sortDate: Date(timeIntervalSince1970: Double(sortMs) / 1000), groupID: groupID)
  }

  static func seals<DB: StoreConnection>(_ db: DB, facet: String) throws -> [(
    sortMs: Int64, groupID: Int64
  )] {
    var seals: [(sortMs: Int64, groupID: Int64)] = []
    try db.each(
      "SELECT sortDate, groupID FROM archive_seal WHERE facet = ? ORDER BY page", [.text(facet)]
    ) { seals.append(($0.int64(0), $0.int64(1))) }
    return seals
  }

  static func layout(_ seals: [(sortMs: Int64, groupID: Int64)]) -> ArchiveLayout {
    var pages: [ArchivePage] = []
    var previous: TimelineCursor?
    for (i, seal) in seals.enumerated() {
      let through = cursor(seal.sortMs, seal.groupID)
      pages.append(ArchivePage(number: i + 1, after: previous, through: through))
      previous = through
    }
    return ArchiveLayout(pages: pages)
  }

  /// Rows after the last seal (the current document), counted only up to `limit`.
  static func unsealedCount<DB: StoreConnection>(
    _ db: DB, facet: String, after: (sortMs: Int64, groupID: Int64)?, limit: Int
  ) throws -> Int {
    let last = after ?? (sortMs: Int64.min, groupID: Int64.min)
    // (PostgreSQL wants the subquery named.)
    return try db.int64s(
      """
      SELECT COUNT(*) FROM (SELECT 1 FROM group_facet WHERE facet = ?
        AND (sortDate, groupID) > (?, ?) LIMIT ?) AS unsealed
      """, [.text(facet), .integer(last.sortMs), .integer(last.groupID), SQLValue(limit)]
    ).first.map { Int($0) } ?? 0
  }

  /// Seals pages of `pageSize` rows, oldest first, while the current document would hold two
  /// pages or more. Runs in the write transaction, re-reading the seals, so two renders racing
  /// seal each page once.
  static func seal<DB: StoreConnection>(_ db: DB, _ query: TimelineQuery, pageSize: Int) throws {
    let facet = facet(query)
    let seals = try seals(db, facet: facet)
    let last = seals.last ?? (sortMs: Int64.min, groupID: Int64.min)
    // One ascending walk of the facet's index range from the last seal.
    let rows = try db.fetchAll(
      """
      SELECT sortDate, groupID FROM group_facet WHERE facet = ? AND (sortDate, groupID) > (?, ?)
      ORDER BY sortDate, groupID
      """, [.text(facet), .integer(last.sortMs), .integer(last.groupID)]
    ).map { (sortMs: $0[0].int64 ?? 0, groupID: $0[1].int64 ?? 0) }
    let newPages = rows.count / pageSize - 1
    guard newPages > 0 else { return }
    for k in 1...newPages {
      let boundary = rows[k * pageSize - 1]
      try db.run(
        "INSERT INTO archive_seal (facet, page, sortDate, groupID) VALUES (?, ?, ?, ?)",
        [
          .text(facet), SQLValue(seals.count + k), .integer(boundary.sortMs),
          .integer(boundary.groupID),
        ])
    }
  }
}
