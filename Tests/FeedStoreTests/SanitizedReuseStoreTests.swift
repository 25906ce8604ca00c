import FeedModel
import FeedStore
import Foundation
import XCTest

/// Issue 17, "sanitise only what changed", in the store: an entry's sanitiser keys are kept with
/// it, `reusableHTML` hands back the sanitised HTML of the source's current document by key, a
/// change of keys (a new policy) rewrites the row, and `rewriteEntries` (`resanitize`) rewrites
/// stored HTML under the update rules. Runs on both backends (see `Backend`).
final class SanitizedReuseStoreTests: XCTestCase {
  private func key(_ n: Int, policy: Int = 1) -> SanitizerKey {
    SanitizerKey(policy: policy, base: "https://m.example/", raw: "<p>raw \(n)</p>")
  }

  private func story(_ n: Int, policy: Int = 1, html: String? = nil, media: Bool = false) -> Entry {
    var e = entry(id: "n\(n)", title: "Naujiena \(n)", link: "https://m.example/n\(n)")
    e.content = .html(html ?? "<p>švaru \(n)</p>")
    e.summary = Text(type: .html, value: "<p>santrauka \(n)</p>")
    var keys = SanitizerKeys(
      policy: policy, summary: key(1000 + n, policy: policy).hex,
      content: key(n, policy: policy).hex)
    if media {
      e.media = MediaInfo(description: Text(type: .html, value: "<i>vaizdas \(n)</i>"))
      keys.media = key(2000 + n, policy: policy).hex
    }
    e.sanitizerKeys = keys
    return e
  }

  func testTheCurrentDocumentsHTMLComesBackByKey() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("m"), source("other")])
    var empty = try await f.store.reusableHTML(sourceID: "m")
    XCTAssertEqual(empty, [:], "nothing before the first document")
    try await f.ingest("m", (0..<5).map { story($0, media: $0 == 2) })
    try await f.ingest("other", [story(7)])
    let map = try await f.store.reusableHTML(sourceID: "m")
    XCTAssertEqual(map.count, 11, "summary and content of 5 entries, one media description")
    XCTAssertEqual(map[key(3)], "<p>švaru 3</p>")
    XCTAssertEqual(map[key(1003)], "<p>santrauka 3</p>")
    XCTAssertEqual(map[key(2002)], "<i>vaizdas 2</i>")
    XCTAssertNil(map[key(7)], "another source's HTML is never offered")
    // Only what the last document carried: an entry that left the feed is not offered.
    try await f.ingest("m", (1..<5).map { story($0) }, at: t0.addingTimeInterval(60))
    let after = try await f.store.reusableHTML(sourceID: "m")
    XCTAssertNil(after[key(0)])
    XCTAssertEqual(after[key(4)], "<p>švaru 4</p>")
    // An unknown source has nothing.
    empty = try await f.store.reusableHTML(sourceID: "nobody")
    XCTAssertEqual(empty, [:])
  }

  func testNewKeysRewriteTheRowQuietly() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("m")])
    try await f.ingest("m", [story(1, policy: 0), story(2, policy: 0)])
    let token = try await f.store.changeToken()
    // The same HTML re-sanitised under a new policy: only the keys moved.
    let report = try await f.ingest(
      "m", [story(1, policy: 1), story(2, policy: 1)], at: t0.addingTimeInterval(60))
    XCTAssertEqual(report.updated, 0, "a new policy is not news")
    XCTAssertEqual(report.inserted, 0)
    let stored = try await f.store.entry(sourceID: "m", originalID: "n1")
    XCTAssertEqual(stored?.entry.sanitizerKeys?.policy, 1)
    XCTAssertEqual(stored?.contentUpdated, t0)
    let map = try await f.store.reusableHTML(sourceID: "m")
    XCTAssertEqual(map[key(1)], "<p>švaru 1</p>")
    XCTAssertNil(map[key(1, policy: 0)])
    let moved = try await f.store.changeToken()
    XCTAssertGreaterThanOrEqual(moved, token)
  }

  func testRewriteEntriesRewritesStoredHTMLOnce() async throws {
    let f = try await StoreFixture()
    addTeardownBlock { await f.cleanup() }
    try await f.sources([source("m"), source("k")])
    try await f.ingest("m", [story(1, policy: 0, html: "<p>senas <b>1</b></p>"), story(2)])
    try await f.ingest("k", [story(3, policy: 0, html: "<p>senas <b>3</b></p>")])
    let items = try await f.allItems().count
    let token = try await f.store.changeToken()
    // A stand-in for the sanitiser of a new policy: <b> is no longer kept.
    let transform: @Sendable (Entry) -> Entry? = { e in
      guard e.sanitizerKeys?.policy != 1 else { return nil }
      var out = e
      out.content = e.content.map {
        Text(
          type: .html,
          value: $0.value.replacingOccurrences(of: "<b>", with: "").replacingOccurrences(
            of: "</b>", with: ""))
      }
      out.sanitizerKeys = SanitizerKeys(policy: 1)
      return out
    }
    let first = try await f.store.rewriteEntries(transform)
    XCTAssertEqual(first.seen, 3)
    XCTAssertEqual(first.rewritten, 2)
    let one = try await f.store.entry(sourceID: "m", originalID: "n1")
    XCTAssertEqual(one?.entry.content?.value, "<p>senas 1</p>")
    XCTAssertEqual(one?.entry.sanitizerKeys, SanitizerKeys(policy: 1))
    XCTAssertEqual(one?.contentUpdated, t0, "not announced as an update")
    let three = try await f.store.entry(sourceID: "k", originalID: "n3")
    XCTAssertEqual(three?.entry.content?.value, "<p>senas 3</p>")
    let untouched = try await f.store.entry(sourceID: "m", originalID: "n2")
    XCTAssertEqual(untouched?.entry.content?.value, "<p>švaru 2</p>")
    let moved = try await f.store.changeToken()
    XCTAssertGreaterThan(moved, token, "every document re-renders")
    let published = try await f.allItems()
    XCTAssertEqual(published.count, items)
    XCTAssertTrue(
      published.contains { $0.entry.entry.content?.value == "<p>senas 1</p>" },
      "the published copy is the rewritten one")
    // Idempotent: a second run finds nothing to do.
    let second = try await f.store.rewriteEntries(transform)
    XCTAssertEqual(second.rewritten, 0)
    let still = try await f.store.changeToken()
    XCTAssertEqual(still, moved)
  }
}
