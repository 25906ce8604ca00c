import FeedModel
import Foundation
import GRDB
import TestSupport
import XCTest

@testable import FeedStore

/// The v2 layout (`near_dup` table, small columns first), its maintenance on every write path,
/// the migration of a v1 file, and the batched per-feed lookups.
final class SchemaV2Tests: XCTestCase {
  /// `near_dup` holds exactly the four band rows of every fingerprinted entry, in its bucket.
  /// `near_dup` as it should be for the stored entries, and as it is.
  static func nearDupSets(_ db: any StoreConnection) throws -> (Set<[Int64]>, Set<[Int64]>) {
    var expected: Set<[Int64]> = []
    for row in try db.fetchAll("SELECT id, simhash, sortDate FROM entry WHERE tokenCount > 0") {
      let id = row[0].int64 ?? 0
      let simhash = UInt64(bitPattern: row[1].int64 ?? 0)
      let bucket = (row[2].int64 ?? 0) / NearDuplicateIndex.bucketMilliseconds
      for band in NearDuplicateIndex.bandKeys(simhash) { expected.insert([bucket, band, id]) }
    }
    let actual = Set(
      try db.fetchAll("SELECT bucket, band, entryID FROM near_dup").map {
        [$0[0].int64 ?? 0, $0[1].int64 ?? 0, $0[2].int64 ?? 0]
      })
    return (expected, actual)
  }

  func assertNearDupConsistent(
    _ f: StoreFixture, file: StaticString = #filePath, line: UInt = #line
  ) async throws {
    let (expected, actual) = try await f.rawRead { try Self.nearDupSets($0) }
    XCTAssertEqual(actual, expected, "near_dup out of step with entry", file: file, line: line)
    XCTAssertFalse(expected.isEmpty, file: file, line: line)
  }

  func assertNearDupConsistent(
    _ store: SQLiteFeedStore, file: StaticString = #filePath, line: UInt = #line
  ) async throws {
    let (expected, actual) = try await store.core.engine.read { try Self.nearDupSets($0) }
    XCTAssertEqual(actual, expected, "near_dup out of step with entry", file: file, line: line)
    XCTAssertFalse(expected.isEmpty, file: file, line: line)
  }

  static let windLead =
    "The Lithuanian government approved a plan on Tuesday to build two new offshore wind parks "
    + "in the Baltic Sea, with the first turbines expected to deliver power in 2028."
  static let portLead =
    "Klaipeda port handled a record volume of containers in the third quarter, the port "
    + "authority said on Monday, crediting new shipping lines from Scandinavia and Poland."

  func testAnEditedStoryIsReindexedSoItsNewTextFindsCopies() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a"), source("b")])
    try await f.ingest(
      "a", [entry(id: "tag:a,1", title: "Wind parks approved", summary: Self.windLead)])
    // The publisher rewrites the item into a different story under the same id.
    let edited = try await f.ingest(
      "a",
      [entry(id: "tag:a,1", title: "Port sets a container record", summary: Self.portLead)],
      at: t0.addingTimeInterval(600))
    XCTAssertEqual(edited.updated, 1)
    try await assertNearDupConsistent(f)
    // Another source's copy of the NEW text joins it; a copy of the OLD text does not.
    let port = try await f.ingest(
      "b",
      [
        entry(
          title: "Port Sets a Container Record!", link: "https://b.example/port",
          summary: Self.portLead)
      ], at: t0.addingTimeInterval(1200))
    XCTAssertEqual(port.joinedGroups, 1)
    let wind = try await f.ingest(
      "b",
      [
        entry(
          title: "Wind parks approved", link: "https://b.example/wind", summary: Self.windLead)
      ], at: t0.addingTimeInterval(1800))
    XCTAssertEqual(wind.joinedGroups, 0)
    try await assertNearDupConsistent(f)
  }

  func testRetentionRemovesBandRows() async throws {
    let f = try await StoreFixture(options: StoreOptions(maxEntriesPerSource: 2))
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    let doc = (0..<6).map { i in
      entry(
        id: "tag:a,\(i)", title: "Story number \(i) about something else entirely",
        published: t0.addingTimeInterval(Double(i) * 60), summary: "Lead text of story \(i).")
    }
    try await f.ingest("a", doc, at: t0.addingTimeInterval(3600))
    // The next document carries only the two newest: the other four may go.
    let r = try await f.ingest("a", Array(doc.suffix(2)), at: t0.addingTimeInterval(7200))
    XCTAssertEqual(r.expired, 4)
    try await assertNearDupConsistent(f)
    let rows = try await f.rawRead { try $0.fetchOne("SELECT COUNT(*) FROM near_dup")?[0].int64 }
    XCTAssertEqual(rows, 8)
  }

  /// A feed bigger than one `IN (…)` chunk and than the parallel-preparation threshold: every
  /// lookup (existing keys, tombstones, taken ids) must work across chunks, and the prepared
  /// hashes must not depend on which task computed them.
  func testLargeFeedAcrossChunksAndWorkers() async throws {
    let f = try await StoreFixture(options: StoreOptions(maxEntriesPerSource: 150))
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    let count = Ingest<SQLiteEngine.Connection>.inListSize * 6 + 5
    let doc = (0..<count).map { i in
      entry(
        id: "https://a.example/news/\(i)", title: "Item \(i): news of the cluster number \(i)",
        link: "https://a.example/news/\(i)", published: t0.addingTimeInterval(Double(i) * 60),
        summary: "Summary \(i) with words that differ \(i * 7919 % 1000)")
    }
    var r = try await f.ingest("a", doc, at: t0.addingTimeInterval(86400))
    XCTAssertEqual(r.inserted, count)
    XCTAssertEqual(r.expired, 0)  // the current document is never cut
    r = try await f.ingest("a", Array(doc.suffix(150)), at: t0.addingTimeInterval(1.5 * 86400))
    XCTAssertEqual(r.expired, count - 150)
    // The same document again: the kept ones are unchanged, the removed ones stay removed.
    r = try await f.ingest("a", doc, at: t0.addingTimeInterval(2 * 86400))
    XCTAssertEqual(r.unchanged, 150)
    XCTAssertEqual(r.suppressed, count - 150)
    XCTAssertEqual(r.inserted, 0)
    XCTAssertEqual(r.updated, 0)
    let newest = try await f.store.entries(sourceID: "a", limit: 1)
    XCTAssertEqual(newest.first?.atomID, "https://a.example/news/\(count - 1)")
    XCTAssertEqual(
      newest.first?.entry.title, "Item \(count - 1): news of the cluster number \(count - 1)")
    // Published ids stay unique when another source carries the same URI ids.
    try await f.sources([source("a"), source("b")])
    r = try await f.ingest("b", Array(doc.suffix(40)), at: t0.addingTimeInterval(3 * 86400))
    XCTAssertEqual(r.inserted, 40)
    XCTAssertEqual(r.joinedGroups, 40)
    let ids = try await f.store.entries(sourceID: "b", limit: 100).map(\.atomID)
    XCTAssertEqual(Set(ids).count, 40)
    XCTAssertTrue(ids.allSatisfy { $0.hasPrefix("urn:clusterwire:b:") })
    try await assertNearDupConsistent(f)
  }

  func testAHigherPriorityCopyTakesOverTheGroupAndItsFacets() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([
      source("low", categories: ["energy"], priority: 0),
      source("high", categories: ["maritime"], priority: 5, language: "lt"),
      source("late", categories: ["ports"], priority: 1),
    ])
    try await f.ingest(
      "low",
      [
        entry(
          title: "Wind parks approved", link: "https://news.example/wind?utm_source=x",
          published: t0, summary: Self.windLead)
      ])
    try await f.ingest(
      "high",
      [
        entry(
          title: "Wind parks approved", link: "https://news.example/wind/",
          published: t0.addingTimeInterval(-3600), summary: Self.windLead)
      ], at: t0.addingTimeInterval(600))
    // A third copy that does not win: the group keeps its preferred entry and date, and
    // gains the newcomer's facets.
    try await f.ingest(
      "late",
      [
        entry(
          title: "Wind parks approved", link: "http://NEWS.example:80/wind",
          published: t0.addingTimeInterval(7200), summary: Self.windLead)
      ], at: t0.addingTimeInterval(9000))
    let all = try await f.allItems()
    XCTAssertEqual(all.count, 1)
    XCTAssertEqual(all[0].entry.sourceID, "high")
    XCTAssertEqual(all[0].entry.sortDate, t0.addingTimeInterval(-3600))
    XCTAssertEqual(Set(all[0].duplicates.map(\.sourceID)), ["low", "late"])
    for query in [
      TimelineQuery(category: "energy"), TimelineQuery(category: "maritime"),
      TimelineQuery(category: "ports"), TimelineQuery(sourceID: "late"),
      TimelineQuery(sourceID: "low"), TimelineQuery(language: "lt"),
    ] {
      let page = try await f.store.timeline(query)
      XCTAssertEqual(page.items.map(\.entry.sourceID), ["high"], "\(query)")
      XCTAssertEqual(page.items.first?.entry.sortDate, t0.addingTimeInterval(-3600))
    }
    let counts = try await f.store.counts()
    XCTAssertEqual(counts.duplicateGroups, 1)
    XCTAssertEqual(counts.mergedGroups, 1)
  }

  /// Published ids embed SHA-256 of the identity key: ids minted before and after a change of
  /// implementation must be the same (FIPS 180-4 test vectors).
  func testPublishedIDHashIsSHA256() {
    XCTAssertEqual(
      sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(
      sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(
      sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
  }

  func testNearDuplicateLookupIsIndexSeeksOnly() async throws {
    try Backend.skipOnPostgres("EXPLAIN QUERY PLAN's SEARCH/SCAN")
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    let plan = try await f.sqlite("EXPLAIN QUERY PLAN's SEARCH/SCAN").pool.read { db in
      try Row.fetchAll(
        db,
        sql: "EXPLAIN QUERY PLAN "
          + Ingest<SQLiteEngine.Connection>.nearDuplicateSQL(bucketCount: 2),
        arguments: StatementArguments(Array(repeating: 0 as Int64, count: 9))
      )
      .map { $0["detail"] as String }
    }
    XCTAssertTrue(plan.contains("SEARCH n USING PRIMARY KEY (bucket=? AND band=?)"), "\(plan)")
    XCTAssertTrue(plan.contains("SEARCH e USING INTEGER PRIMARY KEY (rowid=?)"), "\(plan)")
    XCTAssertFalse(plan.contains { $0.hasPrefix("SCAN") }, "\(plan)")
  }

  /// A file written by the v1 schema (bands as indexed columns of `entry`) opens, keeps its
  /// entries, groups and timeline, and its entries are found as near-duplicates afterwards.
  func testMigratesAVersionOneFile() async throws {
    try Backend.skipOnPostgres("migrating a SQLite file of the v1 schema")
    let dir = try TestSupport.makeTempDirectory("feedstore-v1")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("v1.sqlite").path
    let fp = StoryMatching.fingerprint(title: "Wind parks approved", lead: Self.windLead)
    do {
      let queue = try DatabaseQueue(path: path)
      try Schema.migrator.migrate(queue, upTo: "v1-initial")
      try await queue.write { db in
        try db.execute(
          sql: """
            INSERT INTO source (id, url, kind, categories, priority, entryCount)
            VALUES ('a', 'https://a.example/feed', 'feed', '["energy"]', 0, 1),
                   ('b', 'https://b.example/feed', 'feed', '[]', 0, 0);
            INSERT INTO grp (id, preferredEntryID, sortDate, memberCount, facets)
            VALUES (1, 1, ?, 1, ?);
            INSERT INTO group_facet (facet, sortDate, groupID)
            VALUES ('', ?1, 1), ('s:a', ?1, 1), ('c:energy', ?1, 1);
            UPDATE meta SET value = 2 WHERE key = 'nextEntryID';
            UPDATE meta SET value = 1 WHERE key = 'groups';
            """,
          arguments: [
            milliseconds(t0), ["", "c:energy", "s:a"].joined(separator: "\u{1F}"),
            milliseconds(t0),
          ])
        let b = (0..<4).map { Int64((fp.simhash >> (UInt64($0) * 16)) & 0xFFFF) }
        try db.execute(
          sql: """
            INSERT INTO entry (id, sourceID, key, atomID, groupID, guid, title, link, published,
              summaryType, summary, contentType, content, extra, normTitle, simhash, tokenCount,
              b0, b1, b2, b3, idHash, contentHash, fullHash, firstSeen, contentUpdated, sortDate)
            VALUES (1, 'a', 'i:tag:a,1', 'tag:a,1', 1, 'tag:a,1', 'Wind parks approved',
              'https://a.example/wind', ?, 0, ?, 1, '<p>Body</p>', NULL, ?, ?, ?, ?, ?, ?, ?,
              'x', 'y', 'z', ?, ?, ?)
            """,
          arguments: [
            t0.timeIntervalSince1970, Self.windLead, fp.titleTokens.joined(separator: " "),
            Int64(bitPattern: fp.simhash), fp.tokenCount, b[0], b[1], b[2], b[3],
            t0.timeIntervalSince1970, t0.timeIntervalSince1970, milliseconds(t0),
          ])
      }
      try queue.close()
    }
    let store = try SQLiteFeedStore(path: path)
    defer { Task { try? await store.close() } }
    let applied = try await store.pool.read { try Schema.migrator.appliedMigrations($0) }
    XCTAssertEqual(
      applied,
      [
        "v1-initial", "v2-near-duplicate-table", "v3-retention-lifecycle-archives", "v4-feed-head",
        "v5-websub", "v6-entry-filter",
      ])
    let columns = try await store.pool.read { try $0.columns(in: "entry").map(\.name) }
    XCTAssertFalse(columns.contains("b0"))
    XCTAssertEqual(columns.suffix(4), ["filtered", "extra", "summary", "content"])
    let integrity = try await store.integrityCheck()
    XCTAssertEqual(integrity, "ok")
    try await assertNearDupConsistent(store)

    let kept = try await store.entry(sourceID: "a", originalID: "tag:a,1")
    XCTAssertEqual(kept?.entry.title, "Wind parks approved")
    XCTAssertEqual(kept?.entry.summary?.value, Self.windLead)
    XCTAssertEqual(kept?.entry.content?.value, "<p>Body</p>")
    let copy = try await store.record(
      FetchOutcome(
        sourceID: "b", result: .fetched, attemptedAt: t0.addingTimeInterval(3600),
        nextDue: t0.addingTimeInterval(7200)),
      feed: Feed(entries: [
        entry(
          title: "Wind Parks Approved!", link: "https://b.example/wind",
          published: t0.addingTimeInterval(1800), summary: Self.windLead)
      ]))
    XCTAssertEqual(copy.joinedGroups, 1)
    let page = try await store.timeline(TimelineQuery(category: "energy"))
    XCTAssertEqual(page.items.map(\.entry.atomID), ["tag:a,1"])
    XCTAssertEqual(page.items.first?.duplicates.map(\.sourceID), ["b"])
  }
}
