import FeedModel
import FeedStore
import Foundation
import TestSupport
import XCTest

@testable import PostgresStore

/// Two (or more) `PostgresFeedStore` instances on one fresh database, closed at teardown.
final class Fleet: @unchecked Sendable {
  let configuration: PostgresStoreConfiguration
  var stores: [PostgresFeedStore] = []

  init(_ count: Int, options: StoreOptions = StoreOptions()) async throws {
    configuration = try freshConfiguration()
    for i in 0..<count {
      stores.append(
        try await PostgresFeedStore.open(
          configuration, options: options, instanceID: "i\(i)", logger: testLogger))
    }
  }

  subscript(_ i: Int) -> PostgresFeedStore { stores[i] }

  func close() async {
    for s in stores { try? await s.close() }
  }
}

func src(_ id: String, host: String? = nil, categories: [String] = [], language: String? = nil)
  -> SourceDefinition
{
  SourceDefinition(
    id: id, url: "https://\(host ?? "\(id).example")/\(id).xml", categories: categories,
    language: language)
}

func fetched(_ id: String, at: Date, nextDue: Date? = nil) -> FetchOutcome {
  FetchOutcome(
    sourceID: id, result: .fetched, attemptedAt: at, httpStatus: 200,
    nextDue: nextDue ?? at.addingTimeInterval(1800))
}

func story(_ id: String, _ title: String, link: String, at: Date) -> Entry {
  Entry(id: id, title: title, link: link, published: at, summary: .text("Lead of " + title))
}

final class FleetTests: XCTestCase {
  func testSyncSourcesRecordsEachSourcesHost() async throws {
    let fleet = try await Fleet(1)
    addTeardownBlock { await fleet.close() }
    try await fleet[0].syncSources([src("a", host: "News.Example:443"), src("b")])
    let hosts = try await fleet[0].engine.read { pg in
      try pg.fetchAll("SELECT id, host FROM source ORDER BY id").map {
        "\($0.string("id"))=\($0.optionalString("host") ?? "nil")"
      }
    }
    XCTAssertEqual(
      hosts,
      [
        "a=\(SourceDefinition.hostKey("https://News.Example:443/a.xml") ?? "nil")",
        "b=\(SourceDefinition.hostKey("https://b.example/b.xml") ?? "nil")",
      ])
  }

  func testTwoInstancesClaimDisjointSets() async throws {
    let now = Date()
    let fleet = try await Fleet(2)
    addTeardownBlock { await fleet.close() }
    try await fleet[0].syncSources((0..<20).map { src("s\($0)") })
    async let x = fleet[0].claimDue(now: now, limit: 12, perHost: 5, leaseTTL: 300)
    async let y = fleet[1].claimDue(now: now, limit: 12, perHost: 5, leaseTTL: 300)
    let (a, b) = try await (x, y)
    XCTAssertEqual(a.count + b.count, 20, "\(a) \(b)")
    XCTAssertTrue(Set(a).isDisjoint(with: b))
    XCTAssertEqual(Set(a).union(b), Set((0..<20).map { "s\($0)" }))
    let again = try await fleet[0].claimDue(now: now, limit: 50, perHost: 5, leaseTTL: 300)
    XCTAssertEqual(again, [], "everything is leased")
    let leases = try await fleet[1].leases()
    for id in a {
      XCTAssertEqual(leases[id]?.owner, "i0")
      XCTAssertEqual(leases[id]?.lastHolder, "i0")
    }
    for id in b { XCTAssertEqual(leases[id]?.owner, "i1") }
  }

  func testDueOrderAndWhatIsNeverClaimed() async throws {
    let now = Date()
    let fleet = try await Fleet(1)
    addTeardownBlock { await fleet.close() }
    let s = fleet[0]
    try await s.syncSources(["old", "older", "new", "future", "gone", "removed"].map { src($0) })
    try await s.record(fetched("old", at: now, nextDue: now.addingTimeInterval(-100)), feed: nil)
    try await s.record(fetched("older", at: now, nextDue: now.addingTimeInterval(-200)), feed: nil)
    try await s.record(fetched("future", at: now, nextDue: now.addingTimeInterval(600)), feed: nil)
    try await s.record(
      FetchOutcome(
        sourceID: "gone", result: .gone, attemptedAt: now, httpStatus: 410,
        nextDue: now.addingTimeInterval(-50)), feed: nil)
    // Leaving the config makes a source inactive.
    try await s.syncSources(["old", "older", "new", "future", "gone"].map { src($0) })
    let claimed = try await s.claimDue(now: now, limit: 10, perHost: 10, leaseTTL: 60)
    XCTAssertEqual(claimed, ["new", "older", "old"], "never fetched first, then oldest due")
  }

  func testPerHostHoldsAcrossInstances() async throws {
    let now = Date()
    let fleet = try await Fleet(2)
    addTeardownBlock { await fleet.close() }
    try await fleet[0].syncSources(
      (0..<6).map { src("h\($0)", host: "busy.example") } + [src("x"), src("y")])
    let a = try await fleet[0].claimDue(now: now, limit: 10, perHost: 2, leaseTTL: 300)
    XCTAssertEqual(a.filter { $0.hasPrefix("h") }.count, 2, "\(a)")
    XCTAssertEqual(Set(a.filter { !$0.hasPrefix("h") }), ["x", "y"])
    let b = try await fleet[1].claimDue(now: now, limit: 10, perHost: 2, leaseTTL: 300)
    XCTAssertEqual(b, [], "busy.example already has 2 fetches running in the fleet")
    // A commits one result: its lease is released, the host has room for one more.
    let done = try XCTUnwrap(a.first { $0.hasPrefix("h") })
    try await fleet[0].record(fetched(done, at: now), feed: nil)
    let c = try await fleet[1].claimDue(now: now, limit: 10, perHost: 2, leaseTTL: 300)
    XCTAssertEqual(c.count, 1)
    XCTAssertTrue(c[0].hasPrefix("h") && !a.contains(c[0]), "\(c)")
    // Racing claimers never exceed the limit either.
    try await fleet[0].release(sourceIDs: a)
    try await fleet[1].release(sourceIDs: c)
    async let p = fleet[0].claimDue(now: now, limit: 10, perHost: 3, leaseTTL: 300)
    async let q = fleet[1].claimDue(now: now, limit: 10, perHost: 3, leaseTTL: 300)
    let (p1, q1) = try await (p, q)
    XCTAssertEqual((p1 + q1).filter { $0.hasPrefix("h") }.count, 3, "\(p1) \(q1)")
  }

  /// A claim reads a bounded number of due sources: a long queue on a host that is at its limit
  /// never hides the due sources of other hosts behind it.
  func testAHostAtItsLimitDoesNotHideOtherHosts() async throws {
    let now = Date()
    let fleet = try await Fleet(1)
    addTeardownBlock { await fleet.close() }
    let queued = PostgresFeedStore.candidateBound(limit: 4) * 3
    // The busy host's sources are due first (ids sort first, none fetched yet).
    try await fleet[0].syncSources(
      (0..<queued).map { src(String(format: "a%04d", $0), host: "busy.example") }
        + (0..<3).map { src("z\($0)", host: "other.example") })
    let first = try await fleet[0].claimDue(now: now, limit: 4, perHost: 2, leaseTTL: 300)
    XCTAssertEqual(first, ["a0000", "a0001"], "due order, busy.example up to its limit")
    let second = try await fleet[0].claimDue(now: now, limit: 4, perHost: 2, leaseTTL: 300)
    XCTAssertEqual(second, ["z0", "z1"], "busy.example is full: the next host's sources")
    let third = try await fleet[0].claimDue(now: now, limit: 4, perHost: 2, leaseTTL: 300)
    XCTAssertEqual(third, [])
  }

  /// `file://` sources have no host: like the crawler, the claims do not count them per host.
  func testSourcesWithoutAHostAreNotLimitedPerHost() async throws {
    let now = Date()
    let fleet = try await Fleet(1)
    addTeardownBlock { await fleet.close() }
    try await fleet[0].syncSources(
      (0..<5).map { SourceDefinition(id: "f\($0)", url: "file:///srv/feeds/f\($0).xml") }
        + (0..<3).map { src("h\($0)", host: "one.example") })
    let claimed = try await fleet[0].claimDue(now: now, limit: 20, perHost: 1, leaseTTL: 300)
    XCTAssertEqual(claimed.filter { $0.hasPrefix("f") }.count, 5, "\(claimed)")
    XCTAssertEqual(claimed.filter { $0.hasPrefix("h") }.count, 1, "\(claimed)")
  }

  func testAnExpiredLeaseIsClaimableAndReleaseGivesItBack() async throws {
    let now = Date()
    let fleet = try await Fleet(2)
    addTeardownBlock { await fleet.close() }
    try await fleet[0].syncSources([src("a"), src("b")])
    // Claimed two minutes ago with a one-minute lease: expired now (the instance died).
    let dead = try await fleet[0].claimDue(
      now: now.addingTimeInterval(-120), limit: 1, perHost: 5, leaseTTL: 60)
    XCTAssertEqual(dead.count, 1)
    var leases = try await fleet[1].leases()
    XCTAssertNil(leases[dead[0]]?.owner, "an expired lease has no owner")
    XCTAssertEqual(leases[dead[0]]?.lastHolder, "i0")
    let live = try await fleet[0].claimDue(now: now, limit: 1, perHost: 5, leaseTTL: 600)
    let taken = try await fleet[1].claimDue(now: now, limit: 5, perHost: 5, leaseTTL: 600)
    XCTAssertEqual(Set(taken), Set(["a", "b"]).subtracting(live), "the expired one is taken over")
    leases = try await fleet[0].leases()
    XCTAssertEqual(leases[dead[0]]?.owner, live == dead ? "i0" : "i1")
    // release gives back only one's own leases.
    try await fleet[0].release(sourceIDs: taken)
    let none = try await fleet[0].claimDue(now: now, limit: 5, perHost: 5, leaseTTL: 600)
    XCTAssertEqual(none, [])
    try await fleet[1].release(sourceIDs: taken)
    let back = try await fleet[0].claimDue(now: now, limit: 5, perHost: 5, leaseTTL: 600)
    XCTAssertEqual(back, taken)
  }

  func testRecordReleasesOnlyItsOwnLease() async throws {
    let now = Date()
    let fleet = try await Fleet(2)
    addTeardownBlock { await fleet.close() }
    try await fleet[0].syncSources([src("a"), src("b")])
    let claimed = try await fleet[0].claimDue(now: now, limit: 5, perHost: 5, leaseTTL: 3600)
    XCTAssertEqual(Set(claimed), ["a", "b"])
    // Another instance recording "b" (e.g. after its lease expired) does not free i0's lease.
    try await fleet[1].record(fetched("b", at: now), feed: nil)
    try await fleet[0].record(
      fetched("a", at: now),
      feed: Feed(entries: [story("a-1", "One", link: "https://a.example/1", at: now)]))
    let leases = try await fleet[1].leases()
    XCTAssertNil(leases["a"]?.owner)
    XCTAssertNil(leases["a"]?.until)
    XCTAssertEqual(leases["a"]?.lastHolder, "i0")
    XCTAssertEqual(leases["b"]?.owner, "i0")
    // The recorded source is due again only at its next due time.
    let due = try await fleet[1].claimDue(now: now, limit: 5, perHost: 5, leaseTTL: 600)
    XCTAssertEqual(due, [])
    let later = try await fleet[1].claimDue(
      now: now.addingTimeInterval(1801), limit: 5, perHost: 5, leaseTTL: 600)
    XCTAssertEqual(later, ["a"])
  }

  func testHeartbeatsListInstancesAndExpireTheSilent() async throws {
    let now = Date()
    let fleet = try await Fleet(2)
    addTeardownBlock { await fleet.close() }
    try await fleet[0].heartbeat(configHash: "h1", now: now, expireAfter: 60)
    try await fleet[1].heartbeat(configHash: "h2", now: now.addingTimeInterval(1), expireAfter: 60)
    var instances = try await fleet[0].instances()
    XCTAssertEqual(instances.map(\.id), ["i1", "i0"], "newest heartbeat first")
    XCTAssertEqual(instances.map(\.configHash), ["h2", "h1"])
    XCTAssertEqual(instances[0].pid, Int(ProcessInfo.processInfo.processIdentifier))
    XCTAssertEqual(
      instances[1].heartbeat.timeIntervalSince1970, now.timeIntervalSince1970, accuracy: 0.001)
    // i0 beats on; i1 falls silent for longer than expireAfter.
    try await fleet[0].heartbeat(
      configHash: "h1", now: now.addingTimeInterval(120), expireAfter: 60)
    instances = try await fleet[1].instances()
    XCTAssertEqual(instances.map(\.id), ["i0"])
  }

  func testChangeNotificationsAnnounceAnotherInstancesCommits() async throws {
    let now = Date()
    let fleet = try await Fleet(2)
    addTeardownBlock { await fleet.close() }
    try await fleet[0].syncSources([src("a")])
    let start = try await fleet[0].changeToken()
    let tokens = TokenCollector(fleet[0].changeNotifications())
    await tokens.wait { t, _ in t == [start] }
    try await fleet[1].record(
      fetched("a", at: now),
      feed: Feed(entries: [story("a-1", "One", link: "https://a.example/1", at: now)]))
    let moved = try await fleet[1].changeToken()
    XCTAssertGreaterThan(moved, start)
    await tokens.wait { t, _ in t.last == moved }
  }

  // MARK: de-duplication under concurrency

  /// The same story reaches two instances through two sources at the same moment, many times:
  /// always one duplicate group holding both copies, never two groups.
  func testConcurrentDuplicatesAlwaysEndInOneGroup() async throws {
    let now = Date()
    let fleet = try await Fleet(2)
    addTeardownBlock { await fleet.close() }
    try await fleet[0].syncSources([src("wire"), src("portal")])
    let rounds = 60
    for round in 0..<rounds {
      let at = now.addingTimeInterval(Double(round))
      let title = "Round \(round): the cluster forum opens in Vilnius"
      let link = "https://news.example/story/\(round)"
      async let x = fleet[0].record(
        fetched("wire", at: at),
        feed: Feed(entries: [story("w-\(round)", title, link: link, at: at)]))
      async let y = fleet[1].record(
        fetched("portal", at: at),
        feed: Feed(entries: [
          story("p-\(round)", title, link: link + "?utm_source=portal&fbclid=1", at: at)
        ]))
      let (a, b) = try await (x, y)
      XCTAssertEqual(a.inserted + b.inserted, 2)
      XCTAssertEqual(a.joinedGroups + b.joinedGroups, 1, "round \(round)")
    }
    let counts = try await fleet[1].counts()
    XCTAssertEqual(counts.entries, 2 * rounds)
    XCTAssertEqual(counts.duplicateGroups, rounds)
    XCTAssertEqual(counts.mergedGroups, rounds)
    let items = try await fleet[0].timeline(TimelineQuery(limit: 500)).items
    XCTAssertEqual(items.count, rounds)
    for item in items {
      XCTAssertEqual(item.duplicates.count, 1, item.entry.entry.title ?? "")
      XCTAssertEqual(
        Set([item.entry.sourceID] + item.duplicates.map(\.sourceID)), ["wire", "portal"])
    }
  }

  /// A source whose CMS repeats one guid, recorded by two instances at once (an expired lease
  /// taken over while the first was still committing): the downgrade happens once, the three
  /// stories stay three entries with three ids.
  func testConcurrentGUIDCollisionDowngradesOnce() async throws {
    let now = Date()
    let fleet = try await Fleet(2)
    addTeardownBlock { await fleet.close() }
    let rounds = 15
    try await fleet[0].syncSources((0..<rounds).map { src("cms\($0)") })
    for round in 0..<rounds {
      let id = "cms\(round)"
      let base = "https://\(id).example/"
      try await fleet[0].record(
        fetched(id, at: now),
        feed: Feed(entries: [story(base, "Pirma", link: base + "1", at: now)]))
      let doc = Feed(entries: [
        story(base, "Pirma", link: base + "1", at: now),
        story(base, "Antra", link: base + "2", at: now),
        story(base, "Trečia", link: base + "3", at: now),
      ])
      async let x = fleet[0].record(fetched(id, at: now), feed: doc)
      async let y = fleet[1].record(fetched(id, at: now), feed: doc)
      let (a, b) = try await (x, y)
      XCTAssertEqual(a.inserted + b.inserted, 2, "round \(round)")
      let mode = try await fleet[1].core.keyMode(sourceID: id)
      XCTAssertEqual(mode, 1)
      let entries = try await fleet[0].core.entries(sourceID: id)
      XCTAssertEqual(Set(entries.compactMap(\.entry.title)), ["Pirma", "Antra", "Trečia"])
      XCTAssertEqual(Set(entries.map(\.atomID)).count, 3)
    }
  }

  /// Retention's tombstones hold when two instances re-serve the removed items at once.
  func testConcurrentRecordsDoNotResurrectTombstonedEntries() async throws {
    let now = Date()
    let fleet = try await Fleet(2, options: StoreOptions(maxEntriesPerSource: 3))
    addTeardownBlock { await fleet.close() }
    let rounds = 10
    try await fleet[0].syncSources((0..<rounds).map { src("t\($0)") })
    for round in 0..<rounds {
      let id = "t\(round)"
      let doc = (0..<5).map { i in
        story(
          "tag:\(id),\(i)", "Entry \(i) of \(id)", link: "https://\(id).example/\(i)",
          at: now.addingTimeInterval(Double(i) * 60))
      }
      try await fleet[0].record(fetched(id, at: now), feed: Feed(entries: doc))
      let r = try await fleet[1].record(
        fetched(id, at: now.addingTimeInterval(60)), feed: Feed(entries: Array(doc[2...])))
      XCTAssertEqual(r.expired, 2)
      let tombstones = try await fleet[0].counts().tombstones
      async let x = fleet[0].record(
        fetched(id, at: now.addingTimeInterval(120)), feed: Feed(entries: doc))
      async let y = fleet[1].record(
        fetched(id, at: now.addingTimeInterval(120)), feed: Feed(entries: doc))
      let (a, b) = try await (x, y)
      XCTAssertEqual(a.suppressed, 2)
      XCTAssertEqual(b.suppressed, 2)
      XCTAssertEqual(a.inserted + b.inserted, 0)
      let kept = try await fleet[1].core.entries(sourceID: id).compactMap(\.entry.id)
      XCTAssertEqual(kept, ["tag:\(id),4", "tag:\(id),3", "tag:\(id),2"])
      let after = try await fleet[1].counts().tombstones
      XCTAssertEqual(after, tombstones, "the suppressed items left the tombstones as they were")
    }
    let counts = try await fleet[0].counts()
    XCTAssertEqual(counts.entries, 3 * rounds)
    XCTAssertGreaterThanOrEqual(counts.tombstones, 2 * rounds)
  }
}
