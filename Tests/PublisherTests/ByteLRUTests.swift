import Publisher
import XCTest

/// The byte-bounded LRU every document and validator cache is built on.
final class ByteLRUTests: XCTestCase {
  /// A value that counts its live instances, to see that evicted and replaced values are freed.
  final class Tracked {
    nonisolated(unsafe) static var live = 0
    let name: String
    init(_ name: String) {
      self.name = name
      Tracked.live += 1
    }
    deinit { Tracked.live -= 1 }
  }

  func testByteAccountingAndLeastRecentlyUsedEviction() {
    var lru = ByteLRU<String, Int>(maxBytes: 100)
    XCTAssertTrue(lru.set("a", 1, cost: 40))
    XCTAssertTrue(lru.set("b", 2, cost: 40))
    XCTAssertEqual(lru.totalBytes, 80)
    XCTAssertEqual(lru.count, 2)
    // Touch "a": "b" becomes the least recently used and goes first.
    XCTAssertEqual(lru.get("a"), 1)
    XCTAssertTrue(lru.set("c", 3, cost: 40))
    XCTAssertEqual(lru.totalBytes, 80)
    XCTAssertNil(lru.peek("b"), "the least recently used entry is evicted")
    XCTAssertEqual(lru.peek("a"), 1)
    XCTAssertEqual(lru.peek("c"), 3)
    XCTAssertEqual(lru.evictions, 1)
    XCTAssertEqual(lru.keys(.primary), ["c", "a"])
    // peek does not refresh: "a" is still the oldest.
    _ = lru.peek("a")
    XCTAssertTrue(lru.set("d", 4, cost: 30))
    XCTAssertNil(lru.peek("a"))
    XCTAssertEqual(lru.totalBytes, 70)
    // Removal gives the bytes back.
    XCTAssertEqual(lru.removeValue(forKey: "c"), 3)
    XCTAssertEqual(lru.totalBytes, 30)
    XCTAssertEqual(lru.count, 1)
    lru.removeAll()
    XCTAssertEqual(lru.totalBytes, 0)
    XCTAssertEqual(lru.count, 0)
    XCTAssertNil(lru.get("d"))
  }

  func testCountBoundAndOversizedEntries() {
    var lru = ByteLRU<Int, Int>(maxBytes: 1000, maxCount: 3)
    for i in 0..<10 { lru.set(i, i, cost: 1) }
    XCTAssertEqual(lru.count, 3)
    XCTAssertEqual(lru.keys(.primary), [9, 8, 7])
    // An entry larger than the whole budget is refused (and would otherwise evict everything).
    XCTAssertFalse(lru.set(100, 100, cost: 1001))
    XCTAssertEqual(lru.count, 3)
    XCTAssertNil(lru.peek(100))
    // …and refusing a new version of a key drops the stale old one.
    XCTAssertFalse(lru.set(9, -1, cost: 5000))
    XCTAssertNil(lru.peek(9))
    XCTAssertEqual(lru.count, 2)
  }

  func testExpendableLaneIsEvictedFirstAndBoundedOnItsOwn() {
    var lru = ByteLRU<String, Int>(maxBytes: 100, expendableBytes: 30)
    lru.set("feed", 0, cost: 50)
    // Pages beyond their own budget evict only other pages.
    for i in 0..<10 { lru.set("page\(i)", i, cost: 10, lane: .expendable) }
    XCTAssertEqual(lru.expendableTotal, 30)
    XCTAssertEqual(lru.keys(.expendable), ["page9", "page8", "page7"])
    XCTAssertEqual(lru.peek("feed"), 0, "pages never push out an unpaged document")
    XCTAssertEqual(lru.totalBytes, 80)
    // Over the total budget, expendable entries go before any primary one, even an older one.
    lru.set("other", 1, cost: 40)
    XCTAssertEqual(lru.peek("feed"), 0)
    XCTAssertEqual(lru.peek("other"), 1)
    XCTAssertEqual(lru.keys(.expendable), ["page9"])
    XCTAssertEqual(lru.totalBytes, 100)
    // With no expendable entry left, the least recently used primary one goes.
    lru.set("third", 2, cost: 20)
    XCTAssertEqual(lru.keys(.expendable), [])
    XCTAssertNil(lru.peek("feed"))
    XCTAssertEqual(lru.keys(.primary), ["third", "other"])
    // A page cannot displace primary entries that fill the budget: it is the first to go.
    lru.set("fill", 3, cost: 40)
    XCTAssertFalse(lru.set("page-late", 9, cost: 10, lane: .expendable))
    XCTAssertLessThanOrEqual(lru.totalBytes, 100)
  }

  func testReplacingAKeyFreesTheOldValueAtOnce() {
    Tracked.live = 0
    do {
      var lru = ByteLRU<String, Tracked>(maxBytes: 1000)
      lru.set("/feed.atom", Tracked("v1"), cost: 300)
      lru.set("/feed.atom", Tracked("v2"), cost: 200)
      XCTAssertEqual(Tracked.live, 1, "the old version is released when the new one is stored")
      XCTAssertEqual(lru.totalBytes, 200, "and its bytes are no longer counted")
      XCTAssertEqual(lru.count, 1)
      XCTAssertEqual(lru.peek("/feed.atom")?.name, "v2")
      // Evicted values are released too, not kept in a free slot.
      for i in 0..<10 { lru.set("p\(i)", Tracked("p\(i)"), cost: 200) }
      XCTAssertEqual(lru.count, 5)
      XCTAssertEqual(Tracked.live, 5)
      lru.removeValue(forKey: "p9")
      XCTAssertEqual(Tracked.live, 4)
      // Slots are reused after removals and evictions: the bookkeeping stays consistent. Seven
      // keys of 100 bytes push out three of the four 200-byte pages (oldest first).
      for i in 0..<1000 { lru.set("q\(i % 7)", Tracked("q"), cost: 100) }
      XCTAssertEqual(lru.count, 8)
      XCTAssertEqual(lru.totalBytes, 900)
      XCTAssertEqual(Tracked.live, 8)
      XCTAssertNotNil(lru.peek("p8"))
      XCTAssertNil(lru.peek("p7"))
    }
    XCTAssertEqual(Tracked.live, 0)
  }
}
