import FeedModel
import FeedStore
import Foundation
import TestSupport
import XCTest

final class StoreBasicsTests: XCTestCase {
  func testMigratesAnEmptyFileAndReopens() async throws {
    try Backend.skipOnPostgres(
      "a SQLite file (PostgreSQL: EngineTests.testConcurrentOpensMigrateOnce)")
    let dir = try TestSupport.makeTempDirectory("feedstore")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("nested/deeper/store.sqlite").path
    // An empty file (e.g. touched by an installer) is an empty database.
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: path, contents: Data())
    var store = try SQLiteFeedStore(path: path)
    try await store.syncSources([source("a")])
    try await store.record(
      FetchOutcome(sourceID: "a", result: .fetched, attemptedAt: t0, nextDue: t0),
      feed: Feed(entries: [entry(id: "tag:a,2025:1", title: "One")]))
    let token = try await store.changeToken()
    let v1 = try await store.integrityCheck()
    XCTAssertEqual(v1, "ok")
    try await store.close()
    do {
      _ = try await store.counts()
      XCTFail("a closed store must throw")
    } catch FeedStoreError.closed {}
    store = try SQLiteFeedStore(path: path)
    let counts = try await store.counts()
    XCTAssertEqual(counts.entries, 1)
    XCTAssertEqual(counts.sources, 1)
    let v2 = try await store.changeToken()
    XCTAssertEqual(v2, token)
    let items = try await store.timeline(TimelineQuery())
    XCTAssertEqual(items.items.map(\.entry.atomID), ["tag:a,2025:1"])
    try await store.close()
  }

  func testUnknownSourceIsRejected() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    do {
      try await f.ingest("nope", [entry(title: "x")])
      XCTFail("expected unknownSource")
    } catch FeedStoreError.unknownSource(let id) {
      XCTAssertEqual(id, "nope")
    }
  }

  /// `counts` carries the daemon's `STATUS=` summary (failing sources, the next crawl) from one
  /// aggregate over active sources: a removed source and a gone source's due time do not count.
  func testCountsSummariseSourceHealth() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([
      source("ok"), source("later"), source("failing"), source("gone"), source("removed"),
    ])
    let now = Date()
    func record(_ id: String, _ result: FetchOutcome.Result, nextDue: Date) async throws {
      try await f.store.record(
        FetchOutcome(
          sourceID: id, result: result, attemptedAt: now,
          httpStatus: result == .gone ? 410 : (result == .failed ? 503 : 200), nextDue: nextDue),
        feed: nil)
    }
    try await record("ok", .notModified, nextDue: now + 600)
    try await record("later", .notModified, nextDue: now + 1200)
    try await record("failing", .failed, nextDue: now + 900)
    try await record("gone", .gone, nextDue: now + 60)
    try await record("removed", .failed, nextDue: now + 30)
    var counts = try await f.store.counts()
    XCTAssertEqual(counts.sources, 5)
    XCTAssertEqual(counts.failingSources, 3)
    XCTAssertEqual(
      counts.nextDue.map { $0.timeIntervalSince1970 } ?? 0, (now + 30).timeIntervalSince1970,
      accuracy: 0.01)
    try await f.sources([source("ok"), source("later"), source("failing"), source("gone")])
    counts = try await f.store.counts()
    XCTAssertEqual(counts.sources, 4)
    XCTAssertEqual(counts.failingSources, 2)
    let next = try XCTUnwrap(counts.nextDue, "\(counts)")
    XCTAssertEqual(next.timeIntervalSince1970, (now + 600).timeIntervalSince1970, accuracy: 0.01)
  }

  func testSourceStateLifecycle() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a", categories: ["energy"], priority: 3, language: "lt")])
    var s = try await f.store.sourceState(id: "a")
    XCTAssertEqual(s?.categories, ["energy"])
    XCTAssertEqual(s?.priority, 3)
    XCTAssertEqual(s?.consecutiveFailures, 0)

    // 200 with validators and a feed: metadata stored.
    try await f.store.record(
      FetchOutcome(
        sourceID: "a", result: .fetched, attemptedAt: t0, httpStatus: 200, etag: "\"v1\"",
        lastModified: "Mon, 01 Jan 2024 00:00:00 GMT", bodyHash: "h1",
        nextDue: t0.addingTimeInterval(600)),
      feed: Feed(
        title: "Feed A", link: "https://a.example/", id: "urn:feed:a", updated: t0,
        language: "lt-LT", authors: [Person(name: "Jonas")], icon: "https://a.example/i.png",
        rights: "© A", entries: [entry(id: "tag:a,1", title: "Vienas")]))
    s = try await f.store.sourceState(id: "a")
    XCTAssertEqual(s?.etag, "\"v1\"")
    XCTAssertEqual(s?.lastSuccess, t0)
    XCTAssertEqual(s?.httpStatus, 200)
    XCTAssertEqual(s?.feedTitle, "Feed A")
    XCTAssertEqual(s?.title, "Feed A")  // no configured override
    XCTAssertEqual(s?.feedID, "urn:feed:a")
    XCTAssertEqual(s?.feedLink, "https://a.example/")
    XCTAssertEqual(s?.feedAuthor, "Jonas")
    XCTAssertEqual(s?.feedIcon, "https://a.example/i.png")
    XCTAssertEqual(s?.feedRights, "© A")
    XCTAssertEqual(s?.feedLanguage, "lt-LT")
    XCTAssertEqual(s?.feedUpdated, t0)
    XCTAssertEqual(s?.entryCount, 1)

    // 304 without validators keeps the stored ones.
    let t1 = t0.addingTimeInterval(600)
    try await f.store.record(
      FetchOutcome(
        sourceID: "a", result: .notModified, attemptedAt: t1, httpStatus: 304, nextDue: t1),
      feed: nil)
    s = try await f.store.sourceState(id: "a")
    XCTAssertEqual(s?.etag, "\"v1\"")
    XCTAssertEqual(s?.lastModified, "Mon, 01 Jan 2024 00:00:00 GMT")
    XCTAssertEqual(s?.bodyHash, "h1")
    XCTAssertEqual(s?.lastSuccess, t1)
    XCTAssertEqual(s?.httpStatus, 304)

    // Failures count up, keep "failing since", never delete entries.
    let t2 = t1.addingTimeInterval(600)
    let t3 = t2.addingTimeInterval(600)
    for (i, t) in [t2, t3].enumerated() {
      try await f.store.record(
        FetchOutcome(
          sourceID: "a", result: .failed, attemptedAt: t, httpStatus: 503,
          error: "HTTP 503 #\(i)", nextDue: t.addingTimeInterval(60), movedTo: nil),
        feed: nil)
    }
    s = try await f.store.sourceState(id: "a")
    XCTAssertEqual(s?.consecutiveFailures, 2)
    XCTAssertEqual(s?.failingSince, t2)
    XCTAssertEqual(s?.lastError, "HTTP 503 #1")
    XCTAssertEqual(s?.lastAttempt, t3)
    XCTAssertEqual(s?.lastSuccess, t1)
    XCTAssertEqual(s?.nextDue, t3.addingTimeInterval(60))
    XCTAssertEqual(s?.etag, "\"v1\"")
    XCTAssertTrue(s?.isFailing ?? false)
    XCTAssertEqual(s?.entryCount, 1)
    let counts = try await f.store.counts()
    XCTAssertEqual(counts.entries, 1)

    // Success clears the streak; a permanent redirect is reported.
    let t4 = t3.addingTimeInterval(600)
    try await f.store.record(
      FetchOutcome(
        sourceID: "a", result: .notModified, attemptedAt: t4, httpStatus: 304, etag: "\"v2\"",
        nextDue: t4, movedTo: "https://new.example/feed"),
      feed: nil)
    s = try await f.store.sourceState(id: "a")
    XCTAssertEqual(s?.consecutiveFailures, 0)
    XCTAssertNil(s?.failingSince)
    XCTAssertEqual(s?.etag, "\"v2\"")
    XCTAssertEqual(s?.movedTo, "https://new.example/feed")

    // 410.
    try await f.store.record(
      FetchOutcome(sourceID: "a", result: .gone, attemptedAt: t4, httpStatus: 410, nextDue: t4),
      feed: nil)
    s = try await f.store.sourceState(id: "a")
    XCTAssertEqual(s?.gone, true)
    XCTAssertTrue(s?.isFailing ?? false)

    // Unconfigured sources go inactive but keep their entries.
    try await f.sources([source("b")])
    let active = try await f.store.sourceStates()
    XCTAssertEqual(active.map(\.id), ["b"])
    let v3 = try await f.store.sourceState(id: "a")?.active
    XCTAssertEqual(v3, false)
    let v4 = try await f.store.counts().entries
    XCTAssertEqual(v4, 1)
  }

  func testChangeTokenMovesOnEveryPublishableChange() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    let t1 = try await f.store.changeToken()
    try await f.sources([source("a")])
    let t2 = try await f.store.changeToken()
    XCTAssertGreaterThan(t2, t1)
    try await f.sources([source("a")])  // nothing changed
    let v5 = try await f.store.changeToken()
    XCTAssertEqual(v5, t2)
    try await f.store.record(
      FetchOutcome(sourceID: "a", result: .failed, attemptedAt: t0, error: "x", nextDue: t0),
      feed: nil)
    let t3 = try await f.store.changeToken()
    // A failure changes no feed (the HTML page's health section refreshes on its own timer).
    XCTAssertEqual(t3, t2)
    try await f.ingest("a", [entry(title: "x")])
    let v6 = try await f.store.changeToken()
    XCTAssertGreaterThan(v6, t3)
  }
}

final class IdentityTests: XCTestCase {
  func testKeyIsIdThenLinkThenHash() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    let doc = [
      entry(id: "post-1", title: "Has an id", link: "https://a.example/1"),
      entry(title: "Has a link", link: "https://a.example/2"),
      entry(title: "Has neither", summary: "Just text"),
    ]
    var r = try await f.ingest("a", doc)
    XCTAssertEqual(r.inserted, 3)
    r = try await f.ingest("a", doc)
    XCTAssertEqual(r.inserted, 0)
    XCTAssertEqual(r.unchanged, 3)

    // Same id, new link and same title: still the same entry (an edit), updated in place.
    r = try await f.ingest(
      "a", [entry(id: "post-1", title: "Has an id", link: "https://a.example/1-moved")])
    XCTAssertEqual(r.updated, 1)
    XCTAssertEqual(r.inserted, 0)
    // Link-keyed entry: tracking parameters do not make it new.
    r = try await f.ingest(
      "a", [entry(title: "Has a link", link: "https://a.example/2?utm_source=rss")])
    XCTAssertEqual(r.inserted, 0)
    // Hash-keyed entry: a different title is a different entry.
    r = try await f.ingest("a", [entry(title: "Has neither, changed", summary: "Just text")])
    XCTAssertEqual(r.inserted, 1)
    let v7 = try await f.store.counts().entries
    XCTAssertEqual(v7, 4)
  }

  func testPublishedAtomIDs() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a"), source("b")])
    try await f.ingest(
      "a",
      [
        entry(id: "https://a.example/p/1", title: "Uri id"),
        entry(id: "tag:a.example,2024:2", title: "Tag id"),
        entry(id: "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", title: "Urn id"),
        entry(id: "12345", title: "Plain guid"),
        entry(title: "No id", link: "https://a.example/p/5"),
      ])
    let entries = try await f.store.entries(sourceID: "a")
    let ids = Dictionary(uniqueKeysWithValues: entries.map { ($0.entry.title!, $0.atomID) })
    XCTAssertEqual(ids["Uri id"], "https://a.example/p/1")
    XCTAssertEqual(ids["Tag id"], "tag:a.example,2024:2")
    XCTAssertEqual(ids["Urn id"], "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66")
    XCTAssertTrue(ids["Plain guid"]!.hasPrefix("urn:clusterwire:a:"), ids["Plain guid"]!)
    XCTAssertTrue(ids["No id"]!.hasPrefix("urn:clusterwire:a:"))
    // Another source re-publishing the same URI id gets its own unique id.
    try await f.ingest("b", [entry(id: "https://a.example/p/1", title: "Uri id")])
    let b = try await f.store.entries(sourceID: "b")
    XCTAssertNotEqual(b[0].atomID, "https://a.example/p/1")
    XCTAssertTrue(b[0].atomID.hasPrefix("urn:clusterwire:b:"))
    // Stable across restarts.
    try await f.reopen()
    let again = try await f.store.entries(sourceID: "a")
    XCTAssertEqual(
      Dictionary(uniqueKeysWithValues: again.map { ($0.entry.title!, $0.atomID) }), ids)
  }

  func testGUIDCollisionInOneDocumentSwitchesToLink() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("cms")])
    // One earlier, well-behaved fetch.
    try await f.ingest(
      "cms", [entry(id: "https://cms.example/", title: "Pirma", link: "https://cms.example/1")])
    let before = try await f.store.entries(sourceID: "cms")
    let v8 = try await f.store.keyMode(sourceID: "cms")
    XCTAssertEqual(v8, 0)
    // Now the CMS emits guid = homepage for every item.
    let doc = [
      entry(id: "https://cms.example/", title: "Pirma", link: "https://cms.example/1"),
      entry(id: "https://cms.example/", title: "Antra", link: "https://cms.example/2"),
      entry(id: "https://cms.example/", title: "Trečia", link: "https://cms.example/3"),
    ]
    var r = try await f.ingest("cms", doc)
    let v9 = try await f.store.keyMode(sourceID: "cms")
    XCTAssertEqual(v9, 1)
    XCTAssertEqual(r.inserted, 2)
    XCTAssertEqual(r.unchanged, 1)
    r = try await f.ingest("cms", doc)
    XCTAssertEqual(r.inserted, 0)
    XCTAssertEqual(r.unchanged, 3)
    let after = try await f.store.entries(sourceID: "cms")
    XCTAssertEqual(Set(after.compactMap(\.entry.title)), ["Pirma", "Antra", "Trečia"])
    // The first entry kept its published id through the re-key; the others are unique.
    XCTAssertEqual(after.first { $0.entry.title == "Pirma" }?.atomID, before[0].atomID)
    XCTAssertEqual(Set(after.map(\.atomID)).count, 3)
    // And survives a restart.
    try await f.reopen()
    r = try await f.ingest("cms", doc)
    XCTAssertEqual(r.unchanged, 3)
    let v10 = try await f.store.counts().entries
    XCTAssertEqual(v10, 3)
  }

  func testGUIDAndLinkCollisionFallsBackToContentHash() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("cms")])
    let doc = [
      entry(id: "1", title: "Pirma naujiena", link: "https://cms.example/"),
      entry(id: "1", title: "Antra naujiena", link: "https://cms.example/"),
    ]
    let r = try await f.ingest("cms", doc)
    XCTAssertEqual(r.inserted, 2)
    let v11 = try await f.store.keyMode(sourceID: "cms")
    XCTAssertEqual(v11, 2)
    let v12 = try await f.ingest("cms", doc).unchanged
    XCTAssertEqual(v12, 2)
  }

  func testGUIDReusedAcrossFetchesDoesNotOverwrite() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("cms")])
    try await f.ingest(
      "cms", [entry(id: "item", title: "Seminaras apie energetiką", link: "https://cms.example/a")]
    )
    let r = try await f.ingest(
      "cms",
      [entry(id: "item", title: "Visai kita naujiena apie vandenį", link: "https://cms.example/b")],
      at: t0.addingTimeInterval(3600))
    XCTAssertEqual(r.inserted, 1)
    XCTAssertEqual(r.updated, 0)
    let v13 = try await f.store.keyMode(sourceID: "cms")
    XCTAssertEqual(v13, 1)
    let titles = Set(try await f.store.entries(sourceID: "cms").compactMap(\.entry.title))
    XCTAssertEqual(titles, ["Seminaras apie energetiką", "Visai kita naujiena apie vandenį"])
  }

  func testUpdatesMoveContentUpdatedOnlyOnRealChange() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    let e1 = entry(
      id: "tag:a,1", title: "Original", link: "https://a.example/1", published: t0,
      updated: t0, summary: "Lead", content: "<p>Body</p>")
    try await f.ingest("a", [e1])
    let first = try await f.store.entries(sourceID: "a")[0]
    XCTAssertEqual(first.contentUpdated, t0)

    // Only dates re-stamped: not an update, our `updated` stays.
    var e2 = e1
    e2.updated = t0.addingTimeInterval(3600)
    e2.published = t0.addingTimeInterval(3600)
    var r = try await f.ingest("a", [e2], at: t0.addingTimeInterval(3600))
    XCTAssertEqual(r.updated, 0)
    XCTAssertEqual(r.unchanged, 1)
    var stored = try await f.store.entries(sourceID: "a")[0]
    XCTAssertEqual(stored.contentUpdated, t0)
    XCTAssertEqual(stored.sortDate, first.sortDate)  // not re-posted
    XCTAssertEqual(stored.entry.updated, t0.addingTimeInterval(3600))  // stored copy is current

    // Whitespace-only change: not an update either.
    var e3 = e2
    e3.content = .html("<p>Body</p>\n   ")
    r = try await f.ingest("a", [e3], at: t0.addingTimeInterval(7200))
    XCTAssertEqual(r.updated, 0)
    let v14 = try await f.store.entries(sourceID: "a")[0].contentUpdated
    XCTAssertEqual(v14, t0)

    // Real change of the body.
    var e4 = e3
    e4.content = .html("<p>Body, corrected.</p>")
    r = try await f.ingest("a", [e4], at: t0.addingTimeInterval(9000))
    XCTAssertEqual(r.updated, 1)
    stored = try await f.store.entries(sourceID: "a")[0]
    XCTAssertEqual(stored.contentUpdated, t0.addingTimeInterval(9000))
    XCTAssertEqual(stored.entry.content?.value, "<p>Body, corrected.</p>")
    XCTAssertEqual(stored.atomID, first.atomID)

    // Title change with a newer publisher `updated`: that date is used.
    var e5 = e4
    e5.title = "Original (updated)"
    e5.updated = t0.addingTimeInterval(9500)
    r = try await f.ingest("a", [e5], at: t0.addingTimeInterval(10000))
    XCTAssertEqual(r.updated, 1)
    stored = try await f.store.entries(sourceID: "a")[0]
    XCTAssertEqual(stored.contentUpdated, t0.addingTimeInterval(9500))
  }
}

final class DuplicateTests: XCTestCase {
  func testSameCanonicalURLAcrossSourcesIsOneGroup() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("member", priority: 1), source("portal", priority: 5)])
    try await f.ingest(
      "member", [entry(id: "m-1", title: "Forum in Vilnius", link: "https://m.example/n/1/")])
    let r = try await f.ingest(
      "portal",
      [
        entry(
          id: "p-77", title: "Reposted: Forum in Vilnius",
          link: "HTTPS://M.example:443/n/1?utm_source=portal#top")
      ], at: t0.addingTimeInterval(60))
    XCTAssertEqual(r.joinedGroups, 1)
    let items = try await f.allItems()
    XCTAssertEqual(items.count, 1)
    XCTAssertEqual(items[0].entry.sourceID, "portal")  // higher priority wins
    XCTAssertEqual(items[0].duplicates.map(\.sourceID), ["member"])
    XCTAssertEqual(items[0].source.id, "portal")
    let counts = try await f.store.counts()
    XCTAssertEqual(counts.duplicateGroups, 1)
    XCTAssertEqual(counts.mergedGroups, 1)
    XCTAssertEqual(counts.entries, 2)
  }

  func testPreferredIsEarliestSeenOnEqualPriorityAndFollowsConfig() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a"), source("b")])
    try await f.ingest("b", [entry(title: "Story", link: "https://x.example/s")])
    try await f.ingest(
      "a", [entry(title: "Story", link: "https://x.example/s")], at: t0.addingTimeInterval(10))
    var items = try await f.allItems()
    XCTAssertEqual(items.map(\.entry.sourceID), ["b"])
    // Raising a's priority in the config changes the preferred copy.
    try await f.sources([source("a", priority: 2), source("b")])
    items = try await f.allItems()
    XCTAssertEqual(items.map(\.entry.sourceID), ["a"])
    XCTAssertEqual(items[0].duplicates.map(\.sourceID), ["b"])
  }

  func testNearDuplicateSameStoryDifferentPunctuationMergesEnglish() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a"), source("b")])
    let lead =
      "The Lithuanian government approved a plan on Tuesday to build two new offshore wind parks "
      + "in the Baltic Sea, with the first turbines expected to deliver power in 2028."
    try await f.ingest(
      "a",
      [
        entry(
          title: "Government approves offshore wind plan", link: "https://a.example/wind",
          summary: lead)
      ])
    try await f.ingest(
      "b",
      [
        entry(
          title: "Government Approves Offshore Wind Plan!", link: "https://b.example/news/991",
          published: t0.addingTimeInterval(3 * 3600), summary: lead + " Read more.")
      ], at: t0.addingTimeInterval(4 * 3600))
    let items = try await f.allItems()
    XCTAssertEqual(items.count, 1)
    XCTAssertEqual(items[0].duplicates.count, 1)
  }

  func testNearDuplicateLithuanianWithAndWithoutDiacritics() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a", language: "lt"), source("b", language: "lt")])
    try await f.ingest(
      "a",
      [
        entry(
          title: "Vyriausybė pritarė vėjo parkų jūroje plėtrai",
          link: "https://a.example/vejas",
          summary:
            "Antradienį Vyriausybė pritarė planui Baltijos jūroje pastatyti du naujus vėjo "
            + "elektrinių parkus; pirmosios turbinos elektrą turėtų gaminti 2028 metais.")
      ])
    try await f.ingest(
      "b",
      [
        entry(
          title: "VYRIAUSYBE PRITARE VEJO PARKU JUROJE PLETRAI",
          link: "https://b.example/straipsnis?id=5",
          summary:
            "Antradieni Vyriausybe pritare planui Baltijos juroje pastatyti du naujus vejo "
            + "elektriniu parkus – pirmosios turbinos elektra turetu gaminti 2028 metais.")
      ])
    let items = try await f.allItems()
    XCTAssertEqual(items.count, 1, items.map { $0.entry.entry.title ?? "" }.description)
  }

  func testDifferentStoriesWithSimilarTitlesDoNotMerge() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a", language: "lt"), source("b", language: "lt")])
    try await f.ingest(
      "a",
      [
        entry(
          title: "Lietuvos bankas pakėlė palūkanų normas", link: "https://a.example/1",
          summary:
            "Lietuvos bankas kartu su euro zonos centriniais bankais nusprendė padidinti "
            + "bazines palūkanų normas ketvirtadaliu procentinio punkto dėl infliacijos."),
        entry(
          title: "Energy conference opens in Vilnius", link: "https://a.example/2",
          summary:
            "More than 400 participants from the Baltic states gathered in Vilnius for the "
            + "annual energy security conference, focused on grid synchronisation."),
      ])
    try await f.ingest(
      "b",
      [
        entry(
          title: "Lietuvos bankas sumažino palūkanų normas", link: "https://b.example/9",
          summary:
            "Mažėjant infliacijai, centrinis bankas paskelbė pirmąjį per penkerius metus "
            + "palūkanų normų sumažinimą; paskolų gavėjai tai pajus jau kitą mėnesį."),
        entry(
          title: "Energy conference opens in Kaunas", link: "https://b.example/10",
          summary:
            "The regional chamber of commerce opened its hydrogen and biomass conference in "
            + "Kaunas, with exhibitors from Poland, Latvia and Finland."),
      ])
    let items = try await f.allItems()
    XCTAssertEqual(items.count, 4)
    XCTAssertTrue(items.allSatisfy { $0.duplicates.isEmpty })
  }

  func testNearDuplicatesOutsideTheWindowDoNotMerge() async throws {
    let f = try await StoreFixture(options: StoreOptions(duplicateWindow: days(7)))
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a"), source("b")])
    let lead =
      "The annual members' meeting elected a new board and approved the budget for next year, "
      + "the chamber said in a statement on Friday afternoon."
    try await f.ingest(
      "a",
      [
        entry(
          title: "Chamber elects new board", link: "https://a.example/1",
          published: t0.addingTimeInterval(-days(30)), summary: lead)
      ])
    try await f.ingest(
      "b",
      [
        entry(
          title: "Chamber elects new board", link: "https://b.example/1", published: t0,
          summary: lead)
      ])
    let v15 = try await f.allItems().count
    XCTAssertEqual(v15, 2)
  }
}

final class RetentionTests: XCTestCase {
  func testCountRetentionNeverDropsTheCurrentDocumentAndLeavesTombstones() async throws {
    let f = try await StoreFixture(options: StoreOptions(maxEntriesPerSource: 3))
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    let doc = (0..<5).map { i in
      entry(
        id: "tag:a,\(i)", title: "Entry \(i)", link: "https://a.example/\(i)",
        published: t0.addingTimeInterval(Double(i) * 60))
    }
    // A document longer than max_entries is kept whole: dropping part of it would only bring
    // those entries back (as new) on the next fetch.
    var r = try await f.ingest("a", doc, at: t0.addingTimeInterval(3600))
    XCTAssertEqual(r.inserted, 5)
    XCTAssertEqual(r.expired, 0)
    // The next document drops the two oldest: now they may go, the newest 3 stay.
    let next = Array(doc[2...])
    r = try await f.ingest("a", next, at: t0.addingTimeInterval(7200))
    XCTAssertEqual(r.expired, 2)
    var kept = try await f.store.entries(sourceID: "a").compactMap(\.entry.id)
    XCTAssertEqual(kept, ["tag:a,4", "tag:a,3", "tag:a,2"])
    // The feed serves the old items again: they are not resurrected.
    r = try await f.ingest("a", doc, at: t0.addingTimeInterval(10800))
    XCTAssertEqual(r.suppressed, 2)
    XCTAssertEqual(r.inserted, 0)
    XCTAssertEqual(r.unchanged, 3)
    kept = try await f.store.entries(sourceID: "a").compactMap(\.entry.id)
    XCTAssertEqual(kept.count, 3)
    let counts = try await f.store.counts()
    XCTAssertGreaterThanOrEqual(counts.tombstones, 2)
    XCTAssertEqual(counts.entries, 3)
    XCTAssertEqual(counts.duplicateGroups, 3)
    let v16 = try await f.allItems().count
    XCTAssertEqual(v16, 3)
    let state = try await f.store.sourceState(id: "a")
    XCTAssertEqual(state?.retentionDropped, 2)
  }

  /// The bug report: a member's news page from 2020 with the default config must publish every
  /// item, because max_age counts from first seen, not from the story's own date.
  func testOldDatedEntriesArePublishedWithTheDefaultConfig() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    let y2020 = Date(timeIntervalSince1970: 1_591_081_200)  // 2020-06-02
    let doc = (0..<5).map { i in
      entry(
        id: "tag:a,2020,\(i)", title: "2020 story \(i)",
        published: y2020.addingTimeInterval(Double(i) * 86400))
    }
    let r = try await f.ingest("a", doc, at: t0)
    XCTAssertEqual(r.inserted, 5)
    XCTAssertEqual(r.expired, 0)
    let published = try await f.allItems().count
    XCTAssertEqual(published, 5)
    let sweep = try await f.store.sweep(at: t0.addingTimeInterval(days(1)))
    XCTAssertEqual(sweep.removed, 0)
    let still = try await f.allItems().count
    XCTAssertEqual(still, 5)
  }

  func testAgeCountsFromFirstSeenAndSparesTheCurrentDocument() async throws {
    let f = try await StoreFixture(options: StoreOptions(maxAge: days(30)))
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    try await f.ingest(
      "a",
      [
        entry(id: "tag:old", title: "Old", published: t0.addingTimeInterval(-days(400))),
        entry(id: "tag:new", title: "New", published: t0),
      ])
    // Forty days later both were first seen over 30 days ago, but both are still in the
    // document (every fetch since was a 304): nothing goes.
    var sweep = try await f.store.sweep(at: t0.addingTimeInterval(days(40)))
    XCTAssertEqual(sweep.removed, 0)
    // The document drops "old": it goes at once, counted by age.
    let r = try await f.ingest(
      "a", [entry(id: "tag:new", title: "New", published: t0)],
      at: t0.addingTimeInterval(days(41)))
    XCTAssertEqual(r.expired, 1)
    let v17 = try await f.store.entries(sourceID: "a").compactMap(\.entry.id)
    XCTAssertEqual(v17, ["tag:new"])
    // The old one re-served is suppressed.
    let again = try await f.ingest(
      "a", [entry(id: "tag:old", title: "Old", published: t0.addingTimeInterval(-days(400)))],
      at: t0.addingTimeInterval(days(42)))
    XCTAssertEqual(again.suppressed, 1)
    // …and "new", first seen 42 days ago, has left this document: it goes now.
    XCTAssertEqual(again.expired, 1)
    sweep = try await f.store.sweep(at: t0.addingTimeInterval(days(43)))
    XCTAssertEqual(sweep.removed, 0)
    let left = try await f.store.entries(sourceID: "a").count
    XCTAssertEqual(left, 0)
    let state = try await f.store.sourceState(id: "a")
    XCTAssertEqual(state?.retentionDropped, 2)
    XCTAssertEqual(state?.entryCount, 0)
  }

  /// The sweep reaches sources whose fetches never bring a changed body: all-304, failing and
  /// gone ones.
  func testSweepCoversNotModifiedFailingAndGoneSources() async throws {
    let f = try await StoreFixture(options: StoreOptions(maxAge: days(10)))
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("quiet"), source("failing"), source("gone")])
    for id in ["quiet", "failing", "gone"] {
      try await f.ingest(
        id,
        [
          entry(id: "tag:\(id),1", title: "One \(id)"),
          entry(id: "tag:\(id),2", title: "Two \(id)"),
        ])
      // The document then carries only the second entry.
      try await f.ingest(
        id, [entry(id: "tag:\(id),2", title: "Two \(id)")], at: t0.addingTimeInterval(60))
    }
    func record(_ id: String, _ result: FetchOutcome.Result, _ at: Date) async throws {
      try await f.store.record(
        FetchOutcome(
          sourceID: id, result: result, attemptedAt: at, httpStatus: result == .gone ? 410 : 304,
          nextDue: at + 1800), feed: nil)
    }
    for day in 1...12 {
      let at = t0.addingTimeInterval(days(Double(day)))
      try await record("quiet", .notModified, at)
      try await record("failing", .failed, at)
    }
    try await record("gone", .gone, t0.addingTimeInterval(days(2)))
    let sweep = try await f.store.sweep(at: t0.addingTimeInterval(days(12)))
    let bySource = Dictionary(uniqueKeysWithValues: sweep.sources.map { ($0.sourceID, $0) })
    // Entry 1 left every document: gone everywhere. Entry 2 is in the current document of the
    // quiet and the failing source (kept), but a 410 source has no document any more.
    XCTAssertEqual(bySource["quiet"]?.byAge, 1)
    XCTAssertEqual(bySource["failing"]?.byAge, 1)
    XCTAssertEqual(bySource["gone"]?.byAge, 2)
    let quiet = try await f.store.entries(sourceID: "quiet").compactMap(\.entry.id)
    XCTAssertEqual(quiet, ["tag:quiet,2"])
    let failing = try await f.store.entries(sourceID: "failing").compactMap(\.entry.id)
    XCTAssertEqual(failing, ["tag:failing,2"])
    let gone = try await f.store.entries(sourceID: "gone").count
    XCTAssertEqual(gone, 0)
  }

  func testTombstonesArePrunedAfterTheLongestWindow() async throws {
    let options = StoreOptions(
      maxEntriesPerSource: 1, maxAge: days(20), duplicateWindow: days(7), inactiveGrace: days(5))
    let f = try await StoreFixture(options: options)
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    try await f.ingest("a", [entry(id: "tag:1", title: "One")])
    try await f.ingest("a", [entry(id: "tag:2", title: "Two")], at: t0 + 60)
    var counts = try await f.store.counts()
    XCTAssertGreaterThan(counts.tombstones, 0)
    // Within the lifetime (max of the windows: 20 days) they stay…
    var sweep = try await f.store.sweep(at: t0.addingTimeInterval(days(19)))
    XCTAssertEqual(sweep.tombstonesPruned, 0)
    // …after it they go, and the counter follows.
    sweep = try await f.store.sweep(at: t0.addingTimeInterval(days(21)))
    XCTAssertGreaterThan(sweep.tombstonesPruned, 0)
    counts = try await f.store.counts()
    XCTAssertEqual(counts.tombstones, 0)
  }

  /// Only publishable changes move the change token, so the publisher keeps its rendered feeds
  /// through 304s, identical bodies and failures.
  func testChangeTokenMovesOnlyWhenSomethingPublishedChanged() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("a")])
    let doc = [entry(id: "tag:1", title: "One")]
    try await f.ingest("a", doc)
    let before = try await f.store.changeToken()
    for (n, result) in [FetchOutcome.Result.notModified, .failed, .gone].enumerated() {
      try await f.store.record(
        FetchOutcome(
          sourceID: "a", result: result, attemptedAt: t0 + Double(n + 1) * 60, nextDue: t0 + 9999),
        feed: nil)
    }
    // The same document again (a changed body with no changed entry).
    try await f.ingest("a", doc, at: t0 + 600)
    var token = try await f.store.changeToken()
    XCTAssertEqual(token, before)
    try await f.ingest("a", doc + [entry(id: "tag:2", title: "Two")], at: t0 + 900)
    token = try await f.store.changeToken()
    XCTAssertGreaterThan(token, before)
  }

  func testRemovingThePreferredCopyPromotesTheNext() async throws {
    let f = try await StoreFixture(options: StoreOptions(maxEntriesPerSource: 1))
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("portal", priority: 9), source("member")])
    try await f.ingest(
      "member", [entry(id: "tag:m1", title: "Story", link: "https://m.example/s")])
    try await f.ingest(
      "portal", [entry(id: "tag:p1", title: "Story", link: "https://m.example/s")])
    var items = try await f.allItems()
    XCTAssertEqual(items.map(\.entry.sourceID), ["portal"])
    // The portal's next fetch pushes its copy out (max 1 per source).
    try await f.ingest(
      "portal",
      [entry(id: "tag:p2", title: "Newer", link: "https://p.example/n", published: t0 + 60)],
      at: t0 + 120)
    items = try await f.allItems()
    XCTAssertEqual(Set(items.map(\.entry.sourceID)), ["portal", "member"])
    let story = items.first { $0.entry.entry.title == "Story" }
    XCTAssertEqual(story?.entry.sourceID, "member")
    XCTAssertEqual(story?.duplicates, [])
    let v18 = try await f.store.counts().mergedGroups
    XCTAssertEqual(v18, 0)
  }
}
