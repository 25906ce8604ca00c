import FeedModel
import FeedStore
import Foundation
import XCTest

final class TimelineTests: XCTestCase {
  /// 5 sources, 60 entries each, every 10th story shared by two sources, several entries with
  /// the same timestamp (ties are broken by group id).
  func populate(_ f: StoreFixture) async throws {
    try await f.sources([
      source("s0", categories: ["energy"], language: "lt"),
      source("s1", categories: ["energy", "transport"], language: "en"),
      source("s2", categories: ["transport"], language: "lt"),
      source("s3", categories: ["it"]),
      source("s4", categories: ["it"], language: "en"),
    ])
    for s in 0..<5 {
      var entries: [Entry] = []
      for i in 0..<60 {
        let shared = i % 10 == 0
        let link =
          shared ? "https://shared.example/\(i)" : "https://s\(s).example/\(i)"
        entries.append(
          entry(
            id: "tag:s\(s),\(i)", title: "Story \(s)-\(i) \(UUID().uuidString)", link: link,
            published: t0.addingTimeInterval(-Double(i / 3) * 3600),
            summary: "Unique lead \(UUID().uuidString) for \(s) \(i)"))
      }
      try await f.ingest("s\(s)", entries, at: t0.addingTimeInterval(60))
    }
  }

  func walkOlder(_ f: StoreFixture, _ query: TimelineQuery) async throws -> [TimelineItem] {
    var all: [TimelineItem] = []
    var q = query
    var pages = 0
    while true {
      let page = try await f.store.timeline(q)
      all += page.items
      pages += 1
      XCTAssertLessThan(pages, 1000)
      if pages > 1 { XCTAssertNotNil(page.newerCursor) }
      guard let older = page.olderCursor else { break }
      XCTAssertEqual(older, page.items.last?.cursor)
      q.before = older
    }
    return all
  }

  func testCursorPagingWalksEverythingWithoutGapsOrRepeats() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await populate(f)
    let counts = try await f.store.counts()
    XCTAssertEqual(counts.entries, 300)
    // 6 shared stories appear in all 5 sources.
    XCTAssertEqual(counts.duplicateGroups, 300 - 6 * 4)
    XCTAssertEqual(counts.mergedGroups, 6)

    let all = try await walkOlder(f, TimelineQuery(limit: 17))
    XCTAssertEqual(all.count, counts.duplicateGroups)
    XCTAssertEqual(Set(all.map(\.groupID)).count, all.count)
    // Newest first, ties broken by group id.
    for (a, b) in zip(all, all.dropFirst()) {
      XCTAssertTrue(
        a.entry.sortDate > b.entry.sortDate
          || (a.entry.sortDate == b.entry.sortDate && a.groupID > b.groupID))
    }
    XCTAssertEqual(all.filter { !$0.duplicates.isEmpty }.count, 6)
    XCTAssertTrue(all.filter { !$0.duplicates.isEmpty }.allSatisfy { $0.duplicates.count == 4 })

    // Walking back up with `after` returns the same rows.
    var q = TimelineQuery(limit: 23, after: all.last!.cursor)
    var back: [TimelineItem] = [all.last!]
    while true {
      let page = try await f.store.timeline(q)
      back = page.items + back
      guard let newer = page.newerCursor else { break }
      q.after = newer
    }
    XCTAssertEqual(back.map(\.groupID), all.map(\.groupID))

    // The first page has no newer cursor; a token round-trips.
    let first = try await f.store.timeline(TimelineQuery(limit: 10))
    XCTAssertNil(first.newerCursor)
    let token = first.olderCursor!.token
    XCTAssertEqual(TimelineCursor(token: token), first.olderCursor)
    let second = try await f.store.timeline(
      TimelineQuery(limit: 10, before: TimelineCursor(token: token)))
    XCTAssertEqual(second.items.map(\.groupID), all[10..<20].map(\.groupID))
  }

  func testFilters() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await populate(f)
    // Source: its 60 stories (shared ones shown once, from the preferred copy).
    let s3 = try await walkOlder(f, TimelineQuery(sourceID: "s3", limit: 25))
    XCTAssertEqual(s3.count, 60)
    XCTAssertTrue(
      s3.allSatisfy { $0.entry.sourceID == "s3" || $0.duplicates.contains { $0.sourceID == "s3" } }
    )
    // Category: transport = s1 + s2, minus the shared stories counted once.
    let transport = try await walkOlder(f, TimelineQuery(category: "transport", limit: 25))
    XCTAssertEqual(transport.count, 120 - 6)
    // Language: s0, s2 are lt (feed language falls back to the source's).
    let lt = try await walkOlder(f, TimelineQuery(language: "lt-LT", limit: 25))
    XCTAssertEqual(lt.count, 120 - 6)
    // s3 has no language anywhere: it is in no language sub-feed.
    let en = try await walkOlder(f, TimelineQuery(language: "en", limit: 25))
    XCTAssertEqual(en.count, 120 - 6)
    // Combined filters.
    let itEn = try await walkOlder(f, TimelineQuery(category: "it", language: "en", limit: 25))
    XCTAssertEqual(itEn.count, 60)
    let none = try await f.store.timeline(TimelineQuery(category: "nope"))
    XCTAssertEqual(none.items, [])
    XCTAssertNil(none.olderCursor)

    let facets = try await f.store.facets()
    XCTAssertEqual(facets.categories, ["energy", "it", "transport"])
    XCTAssertEqual(facets.languages, ["en", "lt"])

    // Changing a source's categories moves its stories between sub-feeds.
    try await f.sources([
      source("s0", categories: ["energy"], language: "lt"),
      source("s1", categories: ["energy", "transport"], language: "en"),
      source("s2", categories: ["transport"], language: "lt"),
      source("s3", categories: ["it", "health"]),
      source("s4", categories: ["it"], language: "en"),
    ])
    let health = try await walkOlder(f, TimelineQuery(category: "health", limit: 50))
    XCTAssertEqual(health.count, 60)
  }

  func testTimelineQueriesUseIndexesOnly() async throws {
    try Backend.skipOnPostgres("EXPLAIN QUERY PLAN's SCAN/SEARCH")
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await populate(f)
    let cursor = TimelineCursor(sortDate: t0, groupID: 100)
    for q in [
      TimelineQuery(), TimelineQuery(before: cursor), TimelineQuery(after: cursor),
      TimelineQuery(category: "energy", before: cursor), TimelineQuery(sourceID: "s1"),
      TimelineQuery(category: "it", language: "en", before: cursor),
    ] {
      let plans = try await f.sqlite("EXPLAIN QUERY PLAN").queryPlans(for: q)
      XCTAssertFalse(plans.isEmpty)
      for plan in plans {
        XCTAssertFalse(plan.contains("SCAN "), "full scan in \(plan) for \(q)")
        XCTAssertFalse(plan.contains("TEMP B-TREE"), "sort in \(plan) for \(q)")
        XCTAssertTrue(plan.contains("SEARCH"), plan)
      }
    }
  }
}
