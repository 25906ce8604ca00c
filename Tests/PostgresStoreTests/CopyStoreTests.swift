import FeedModel
import FeedStore
import Foundation
import TestSupport
import XCTest

@testable import PostgresStore

/// `copy(fromSQLite:)`: a SQLite store filled through the public API, copied, then read back
/// through the same API from both: every page, count, tombstone and source state equal.
final class CopyStoreTests: XCTestCase {
  let t = Date(timeIntervalSince1970: 1_750_000_000)

  private func fill(_ store: SQLiteFeedStore) async throws {
    try await store.syncSources([
      src("wire", categories: ["energy"], language: "lt"),
      src("portal", categories: ["energy", "it"]),
      src("cms", categories: ["it"], language: "en"),
      src("broken"), src("dead"), src("leaving"),
    ])
    for i in 0..<12 {
      let at = t.addingTimeInterval(Double(i) * 600)
      try await store.record(
        fetched("wire", at: at),
        feed: Feed(
          language: "lt",
          // A sliding window of three: retention may drop the older ones later.
          entries: (max(0, i - 2)...i).map {
            story(
              "w-\($0)", "Naujiena \($0) apie klasterį", link: "https://news.example/\($0)",
              at: t.addingTimeInterval(Double($0) * 600))
          }))
      if i % 3 == 0 {
        // The same stories, re-posted: duplicate groups.
        try await store.record(
          fetched("portal", at: at.addingTimeInterval(30)),
          feed: Feed(entries: [
            story(
              "p-\(i)", "Naujiena \(i) apie klasterį",
              link: "https://news.example/\(i)?utm_source=p",
              at: at)
          ]))
      }
    }
    // A guid-colliding CMS (key mode 1) with out-of-line extras.
    let base = "https://cms.example/"
    try await store.record(
      fetched("cms", at: t),
      feed: Feed(
        title: "CMS", link: base, id: "urn:cms",
        entries: ["One", "Two", "Three"].indices.map { i in
          let name = ["One", "Two", "Three"][i]
          return Entry(
            id: base, title: name, link: base + "\(i)", published: t.addingTimeInterval(Double(i)),
            summary: .text("Summary " + name), content: .html("<p>" + name + "</p>"),
            authors: [Person(name: "Autorius \(i)")], categories: [FeedModel.Category(term: "x")],
            language: "en")
        }))
    try await store.record(
      FetchOutcome(
        sourceID: "broken", result: .failed, attemptedAt: t, httpStatus: 500, error: "boom",
        nextDue: t.addingTimeInterval(60)), feed: nil)
    try await store.record(
      FetchOutcome(
        sourceID: "dead", result: .gone, attemptedAt: t, httpStatus: 410,
        nextDue: t.addingTimeInterval(60)), feed: nil)
    try await store.record(
      fetched("leaving", at: t),
      feed: Feed(entries: [story("l-1", "Leaving soon", link: "https://l.example/1", at: t)]))
    try await store.syncSources([
      src("wire", categories: ["energy"], language: "lt"),
      src("portal", categories: ["energy", "it"]),
      src("cms", categories: ["it"], language: "en"),
      src("broken"), src("dead"),
    ])
    // Retention: tombstones; archives: seals.
    store.updateOptions(StoreOptions(maxEntriesPerSource: 8))
    try await store.sweep(at: t.addingTimeInterval(86400))
    _ = try await store.archives(TimelineQuery(), pageSize: 2)
    _ = try await store.archives(TimelineQuery(category: "energy"), pageSize: 2)
  }

  /// Every page of `query`, newest to oldest, then back from the oldest.
  private func pages(_ store: some FeedStore, _ query: TimelineQuery) async throws
    -> [TimelinePage]
  {
    var pages: [TimelinePage] = []
    var q = query
    q.limit = 3
    while true {
      let page = try await store.timeline(q)
      pages.append(page)
      guard let older = page.olderCursor else { break }
      q.before = older
    }
    if let newer = pages.last?.newerCursor {
      var back = query
      back.limit = 2
      back.after = newer
      pages.append(try await store.timeline(back))
    }
    return pages
  }

  func testCopyRoundTrip() async throws {
    let fleetConfiguration = try freshConfiguration()
    let dir = try TestSupport.makeTempDirectory("copystore")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("store.sqlite").path
    let sqlite = try SQLiteFeedStore(path: path)
    try await fill(sqlite)
    // WebSub's subscriptions move too: the hub's subscribers and ours at the sources' hubs.
    let now = Date()
    let hubSubscription = HubSubscription(
      topic: "https://agregatorius.example.lt/feed.atom", callback: "https://reader.example/cb",
      callbackHost: "reader.example", secret: "s", leaseSeconds: 86_400,
      expires: now.addingTimeInterval(86_400), created: now)
    try await sqlite.saveHubSubscription(hubSubscription)
    let push = PushSubscription(
      sourceID: "wire", hub: "https://hub.example/", topic: "https://wire.example/feed",
      token: "tok", secret: "sec", state: .verified, requested: now, leaseSeconds: 3600,
      expires: now.addingTimeInterval(3600))
    try await sqlite.savePushSubscription(push)
    try await sqlite.close()

    let pg = try await PostgresFeedStore.open(
      fleetConfiguration, options: StoreOptions(maxEntriesPerSource: 8), instanceID: "copy",
      logger: testLogger)
    addTeardownBlock { try? await pg.close() }
    let report = try await pg.copy(fromSQLite: path)

    let lite = try SQLiteFeedStore(path: path, options: StoreOptions(maxEntriesPerSource: 8))
    addTeardownBlock { try? await lite.close() }
    let liteCounts = try await lite.counts()
    let pgCounts = try await pg.counts()
    XCTAssertEqual(pgCounts, liteCounts)
    XCTAssertGreaterThan(liteCounts.tombstones, 0)
    XCTAssertGreaterThan(liteCounts.mergedGroups, 0)
    XCTAssertEqual(report.rows["entry"], liteCounts.entries)
    XCTAssertEqual(report.rows["tombstone"], liteCounts.tombstones)
    XCTAssertGreaterThan(report.rows["archive_seal"] ?? 0, 0)
    XCTAssertEqual(report.rows["source"], 6)
    XCTAssertEqual(report.rows["websub_hub_subscription"], 1)
    XCTAssertEqual(report.rows["websub_push_subscription"], 1)
    let copiedHub = try await pg.hubSubscriptions(topic: nil, now: now)
    XCTAssertEqual(copiedHub.map(\.callback), [hubSubscription.callback])
    let copiedPush = try await pg.pushSubscription(sourceID: "wire")
    XCTAssertEqual(copiedPush?.token, "tok")
    XCTAssertEqual(copiedPush?.state, .verified)
    let tokens = (try await lite.changeToken(), try await pg.changeToken())
    XCTAssertEqual(tokens.0, tokens.1)
    let facets = (try await lite.facets(), try await pg.facets())
    XCTAssertEqual(facets.0, facets.1)

    let states = (try await lite.sourceStates(), try await pg.sourceStates())
    XCTAssertEqual(states.0, states.1)
    for id in ["wire", "portal", "cms", "broken", "dead", "leaving"] {
      let one = (try await lite.sourceState(id: id), try await pg.sourceState(id: id))
      XCTAssertEqual(one.0, one.1, id)
      XCTAssertNotNil(one.0)
      let entries = (
        try await lite.entries(sourceID: id, limit: 500),
        try await pg.core.entries(sourceID: id, limit: 500)
      )
      XCTAssertEqual(entries.0, entries.1, id)
      let modes = (try await lite.keyMode(sourceID: id), try await pg.core.keyMode(sourceID: id))
      XCTAssertEqual(modes.0, modes.1, id)
    }
    let queries = [
      TimelineQuery(), TimelineQuery(category: "energy"), TimelineQuery(category: "it"),
      TimelineQuery(sourceID: "cms"), TimelineQuery(language: "lt"), TimelineQuery(language: "en"),
    ]
    for query in queries {
      let both = (try await pages(lite, query), try await pages(pg, query))
      XCTAssertEqual(both.0, both.1, "\(query)")
      XCTAssertGreaterThan(both.0.flatMap(\.items).count, 0, "\(query)")
      let archives = (
        try await lite.archives(query, pageSize: 2), try await pg.archives(query, pageSize: 2)
      )
      XCTAssertEqual(archives.0, archives.1, "\(query)")
    }

    // Both go on identically: a tombstoned item stays suppressed, new ids continue the same.
    let old = story("w-0", "Naujiena 0 apie klasterį", link: "https://news.example/0", at: t)
    let fresh = story("w-99", "Visai nauja", link: "https://news.example/99", at: t)
    let outcome = fetched("wire", at: t.addingTimeInterval(90000))
    let reports = (
      try await lite.record(outcome, feed: Feed(entries: [old, fresh])),
      try await pg.record(outcome, feed: Feed(entries: [old, fresh]))
    )
    XCTAssertEqual(reports.0, reports.1)
    XCTAssertEqual(reports.0.suppressed, 1)
    let after = (
      try await lite.timeline(TimelineQuery(limit: 5)),
      try await pg.timeline(TimelineQuery(limit: 5))
    )
    XCTAssertEqual(after.0, after.1)

    // A second copy into the now non-empty store is refused, and changes nothing.
    do {
      _ = try await pg.copy(fromSQLite: path)
      XCTFail("a non-empty target must be refused")
    } catch PostgresStoreError.targetNotEmpty {}
    let still = (try await pg.counts(), try await lite.counts())
    XCTAssertEqual(still.0, still.1)
  }
}
