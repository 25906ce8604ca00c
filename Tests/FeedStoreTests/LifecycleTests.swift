import FeedModel
import FeedStore
import Foundation
import XCTest

/// Removing, disabling and re-enabling sources, and what clears a 410.
final class SourceLifecycleTests: XCTestCase {
  private func story(_ id: String) -> Entry {
    entry(id: id, title: "Cluster opens a new lab", link: "https://news.example/lab")
  }

  func testRemovingASourceHidesItEverywhereAndTheNextCopyTakesOver() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    let portal = source("portal", categories: ["network"], priority: 9, language: "en")
    let member = source("member", categories: ["ict"], language: "lt")
    try await f.sources([portal, member])
    try await f.ingest("member", [story("tag:m1")])
    try await f.ingest("portal", [story("tag:p1"), entry(id: "tag:p2", title: "Portal only")])
    var items = try await f.allItems()
    XCTAssertEqual(items.count, 2)
    XCTAssertEqual(items.first { $0.entry.entry.id == "tag:p1" }?.duplicates.count, 1)
    let tokenBefore = try await f.store.changeToken()

    // The portal's table is deleted from the config.
    try await f.sources([member])
    items = try await f.allItems()
    XCTAssertEqual(items.map(\.entry.sourceID), ["member"])
    XCTAssertEqual(items.first?.entry.entry.id, "tag:m1")
    XCTAssertEqual(items.first?.duplicates, [])
    let portalFeed = try await f.allItems(TimelineQuery(sourceID: "portal", limit: 100))
    XCTAssertEqual(portalFeed.count, 0)
    let network = try await f.allItems(TimelineQuery(category: "network", limit: 100))
    XCTAssertEqual(network.count, 0)
    let english = try await f.allItems(TimelineQuery(language: "en", limit: 100))
    XCTAssertEqual(english.count, 0)
    let facets = try await f.store.facets()
    XCTAssertEqual(facets.categories, ["ict"])
    XCTAssertEqual(facets.languages, ["lt"])
    let states = try await f.store.sourceStates().map(\.id)
    XCTAssertEqual(states, ["member"])
    let counts = try await f.store.counts()
    XCTAssertEqual(counts.duplicateGroups, 1)
    XCTAssertEqual(counts.mergedGroups, 0)
    let tokenAfter = try await f.store.changeToken()
    XCTAssertGreaterThan(tokenAfter, tokenBefore)

    // Back within the grace period: the same rows, the same ids, nothing new.
    try await f.sources([portal, member])
    items = try await f.allItems()
    XCTAssertEqual(items.count, 2)
    let lab = items.first { $0.entry.entry.title == "Cluster opens a new lab" }
    XCTAssertEqual(lab?.entry.sourceID, "portal")
    XCTAssertEqual(lab?.duplicates.map(\.sourceID), ["member"])
    let again = try await f.ingest(
      "portal", [story("tag:p1"), entry(id: "tag:p2", title: "Portal only")], at: t0 + 3600)
    XCTAssertEqual(again.inserted, 0)
    XCTAssertEqual(again.unchanged, 2)
    let merged = try await f.store.counts().mergedGroups
    XCTAssertEqual(merged, 1)
  }

  func testDisabledSourceIsHiddenThenPurgedAfterTheGracePeriod() async throws {
    let f = try await StoreFixture(options: StoreOptions(inactiveGrace: days(3)))
    addTeardownBlock { await f.cleanup() }
    var a = source("a")
    try await f.sources([a, source("b")])
    try await f.ingest(
      "a", [entry(id: "tag:a1", title: "A one"), entry(id: "tag:a2", title: "A two")])
    try await f.ingest("b", [entry(id: "tag:b1", title: "B one")])
    a.enabled = false
    try await f.store.syncSources([a, source("b")])
    var items = try await f.allItems()
    XCTAssertEqual(items.map(\.entry.sourceID), ["b"])
    // Within the grace period the rows stay (hidden).
    var sweep = try await f.store.sweep(at: Date().addingTimeInterval(days(2)))
    XCTAssertEqual(sweep.removed, 0)
    var stored = try await f.store.entries(sourceID: "a").count
    XCTAssertEqual(stored, 2)
    // After it they are purged, counted, and tombstoned.
    sweep = try await f.store.sweep(at: Date().addingTimeInterval(days(4)))
    XCTAssertEqual(sweep.sources, [SourceRetention(sourceID: "a", purged: 2)])
    stored = try await f.store.entries(sourceID: "a").count
    XCTAssertEqual(stored, 0)
    // Re-enabled later, its old items are not announced again as new.
    a.enabled = true
    try await f.store.syncSources([a, source("b")])
    let r = try await f.ingest(
      "a", [entry(id: "tag:a1", title: "A one"), entry(id: "tag:a3", title: "A three")],
      at: Date().addingTimeInterval(days(4)))
    XCTAssertEqual(r.suppressed, 1)
    XCTAssertEqual(r.inserted, 1)
    items = try await f.allItems()
    XCTAssertEqual(Set(items.compactMap(\.entry.entry.id)), ["tag:b1", "tag:a3"])
  }

  func testGoneIsClearedByAnyChangeOfTheSourcesTable() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    var a = source("a")
    try await f.sources([a])
    try await f.store.record(
      FetchOutcome(
        sourceID: "a", result: .gone, attemptedAt: t0, httpStatus: 410, nextDue: t0 + 1800),
      feed: nil)
    var state = try await f.store.sourceState(id: "a")
    XCTAssertEqual(state?.gone, true)
    // The same config again (a reload that did not touch it) keeps it stopped.
    try await f.sources([a])
    state = try await f.store.sourceState(id: "a")
    XCTAssertEqual(state?.gone, true)
    // Any key, not only the URL: here the poll interval, then the user agent.
    a.interval = 7200
    try await f.sources([a])
    state = try await f.store.sourceState(id: "a")
    XCTAssertEqual(state?.gone, false)
    try await f.store.record(
      FetchOutcome(
        sourceID: "a", result: .gone, attemptedAt: t0 + 60, httpStatus: 410, nextDue: t0 + 1800),
      feed: nil)
    a.userAgent = "clusterwire-test/1"
    try await f.sources([a])
    state = try await f.store.sourceState(id: "a")
    XCTAssertEqual(state?.gone, false)
  }
}
