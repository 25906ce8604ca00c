import FeedModel
import FeedStore
import Foundation
import XCTest

/// `[source.filter]` in the store (issue 16): refused entries are stored, never published,
/// counted per source, and a changed filter re-judges what is stored without a fetch. Runs on
/// both backends (see `Backend`).
final class FilterStoreTests: XCTestCase {
  private func member(_ filter: EntryFilter?) -> SourceDefinition {
    var s = source("member", categories: ["ict"], language: "lt")
    s.filter = filter
    return s
  }

  private let mixed: [Entry] = [
    entry(id: "n1", title: "Klasteris atidarė naują laboratoriją", link: "https://m.example/n1"),
    entry(
      id: "j1", title: "DARBO SKELBIMAS: ieškome projektų vadovo", link: "https://m.example/j1"),
    entry(
      id: "e1", title: "Renginys: inovacijų diena", link: "https://m.example/e1",
      summary: "Registracija atvira. Nemokama vakarienė."),
    {
      var e = entry(id: "c1", title: "Kvietimas teikti paraiškas", link: "https://m.example/c1")
      e.categories = [Category(term: "karjera", label: "Karjera ir darbas")]
      return e
    }(),
  ]

  private func published(_ f: StoreFixture, _ query: TimelineQuery = TimelineQuery(limit: 100))
    async throws -> [String]
  {
    try await f.allItems(query).compactMap(\.entry.entry.id).sorted()
  }

  func testBlockedEntriesAreStoredButNeverPublishedAndCounted() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    // Case-insensitive; title, summary text and category labels are all read.
    try await f.sources([
      member(EntryFilter(block: ["darbo skelbimas", "nemokama VAKARIENĖ", "^karjera"]))
    ])
    let report = try await f.ingest("member", mixed)
    XCTAssertEqual(report.inserted, 4)
    XCTAssertEqual(report.filteredEntries, 3)
    let all = try await published(f)
    XCTAssertEqual(all, ["n1"])
    let bySource = try await published(f, TimelineQuery(sourceID: "member", limit: 100))
    XCTAssertEqual(bySource, ["n1"])
    let byCategory = try await published(f, TimelineQuery(category: "ict", limit: 100))
    XCTAssertEqual(byCategory, ["n1"])
    let stored = try await f.store.entries(sourceID: "member")
    XCTAssertEqual(stored.count, 4, "filtered entries are kept, so a filter change needs no fetch")
    let state = try await f.store.sourceStates().first { $0.id == "member" }
    XCTAssertEqual(state?.filteredEntries, 3)
    let counts = try await f.store.counts()
    XCTAssertEqual(counts.duplicateGroups, 1)

    // The same document again: nothing moves, the count stays.
    let again = try await f.ingest("member", mixed, at: t0 + 3600)
    XCTAssertEqual(again.unchanged, 4)
    XCTAssertEqual(again.filteredEntries, 3)
  }

  func testKeepOnlyPublishesMatchesAndBlockWins() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([member(EntryFilter(block: ["skelbimas"], keep: ["klasteri", "darbo"]))])
    try await f.ingest("member", mixed)
    // "darbo" keeps j1 but "skelbimas" blocks it: block wins. e1 and c1 match no keep pattern.
    let ids = try await published(f)
    XCTAssertEqual(ids, ["n1"])
  }

  func testAChangedFilterRejudgesStoredEntriesWithoutAFetch() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([member(EntryFilter(block: ["darbo skelbimas"]))])
    try await f.ingest("member", mixed)
    var ids = try await published(f)
    XCTAssertEqual(ids, ["c1", "e1", "n1"])
    let token = try await f.store.changeToken()

    // Reload with another filter: no record() call in between.
    try await f.sources([member(EntryFilter(block: ["renginys"]))])
    ids = try await published(f)
    XCTAssertEqual(ids, ["c1", "j1", "n1"])
    let moved = try await f.store.changeToken()
    XCTAssertGreaterThan(moved, token, "what is published changed: the documents re-render")
    var state = try await f.store.sourceStates().first { $0.id == "member" }
    XCTAssertEqual(state?.filteredEntries, 1)

    // The filter removed: everything is published again.
    try await f.sources([member(nil)])
    ids = try await published(f)
    XCTAssertEqual(ids, ["c1", "e1", "j1", "n1"])
    state = try await f.store.sourceStates().first { $0.id == "member" }
    XCTAssertEqual(state?.filteredEntries, 0)

    // The same filter twice is no change: the token stays.
    try await f.sources([member(EntryFilter(block: ["renginys"]))])
    let t1 = try await f.store.changeToken()
    try await f.sources([member(EntryFilter(block: ["renginys"]))])
    let t2 = try await f.store.changeToken()
    XCTAssertEqual(t1, t2)
  }

  func testAnEditThatMakesAnEntryMatchHidesIt() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([member(EntryFilter(block: ["atšaukta"]))])
    let story = entry(id: "x", title: "Konferencija vyks gegužę", link: "https://m.example/x")
    try await f.ingest("member", [story])
    var ids = try await published(f)
    XCTAssertEqual(ids, ["x"])
    var edited = story
    edited.title = "Konferencija ATŠAUKTA"
    let report = try await f.ingest("member", [edited], at: t0 + 60)
    XCTAssertEqual(report.updated, 1)
    ids = try await published(f)
    XCTAssertEqual(ids, [])
    edited.title = "Konferencija vyks birželį"
    try await f.ingest("member", [edited], at: t0 + 120)
    ids = try await published(f)
    XCTAssertEqual(ids, ["x"])
  }

  func testAFilteredCopyLeavesTheStoryToTheOtherSource() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    // The portal republishes members' news; its copies of job ads are filtered, the member's
    // own copy of a story it shares is not.
    var portal = source("portal", categories: ["network"], priority: 9)
    portal.filter = EntryFilter(block: ["laboratorij"])
    try await f.sources([portal, member(nil)])
    let story = entry(
      id: "p1", title: "Klasteris atidarė naują laboratoriją", link: "https://news.example/lab")
    try await f.ingest("portal", [story])
    var items = try await f.allItems()
    XCTAssertEqual(items.count, 0)
    var copy = story
    copy.id = "m1"
    try await f.ingest("member", [copy])
    items = try await f.allItems()
    XCTAssertEqual(items.map(\.entry.sourceID), ["member"])
    XCTAssertEqual(
      items.first?.duplicates ?? [], [], "the filtered copy is not shown as a duplicate")

    // Unfiltered, the higher-priority portal copy takes over the story, the member's is its copy.
    portal.filter = nil
    try await f.sources([portal, member(nil)])
    items = try await f.allItems()
    XCTAssertEqual(items.map(\.entry.sourceID), ["portal"])
    XCTAssertEqual(items.first?.duplicates.map(\.sourceID), ["member"])
  }
}
