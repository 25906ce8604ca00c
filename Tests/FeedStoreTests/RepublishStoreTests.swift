import FeedModel
import Foundation
import GRDB
import XCTest

@testable import FeedStore

/// The store keeps everything the publisher republishes (issue 13, class 8): every new entry
/// field, the fetched feed's head per source; and entries stored before the upgrade do not all
/// look changed.
final class RepublishStoreTests: XCTestCase {
  /// A podcast episode carrying every field added to `Entry` (dates in whole milliseconds, the
  /// store's precision).
  static let episode = Entry(
    id: "https://pod.example.lt/?p=12", title: "Episode 12: clusters",
    link: "https://pod.example.lt/12/",
    links: [
      Link(
        href: "https://pod.example.lt/12/", rel: "alternate", type: "text/html", hreflang: "lt"),
      Link(href: "https://creativecommons.org/licenses/by/4.0/", rel: "license"),
    ],
    published: t0, updated: t0.addingTimeInterval(60),
    summary: Text(type: .text, value: "An English summary.", language: "en"),
    content: Text(type: .html, value: "<p>Lietuviškai.</p>", language: "lt-LT"),
    authors: [Person(name: "Jonas", email: "jonas@pod.example.lt")],
    contributors: [Person(email: "ed@pod.example.lt"), Person(uri: "https://pod.example.lt/ona")],
    categories: [Category(term: "Technology", scheme: "http://www.itunes.com/", label: "Tech")],
    enclosures: [
      Enclosure(
        url: "https://cdn.example.lt/12.mp3", type: "audio/mpeg", length: 31_337, medium: "audio",
        width: nil, height: nil, duration: 1830.5),
      Enclosure(
        url: "https://cdn.example.lt/12.jpg", type: "image/jpeg", medium: "image", width: 1400,
        height: 1400),
    ],
    source: EntrySource(
      id: "tag:orig,2026:feed", title: "Original", link: "https://orig.example/",
      updated: t0.addingTimeInterval(-60), icon: "https://orig.example/i.png", rights: "©",
      subtitle: "Sub", links: [Link(href: "https://orig.example/feed", rel: "self")],
      authors: [Person(name: "A")], contributors: [Person(uri: "https://orig.example/b")],
      categories: [Category(term: "x", scheme: "https://orig.example/c/", label: "X")],
      logo: "https://orig.example/l.png", generator: "Hugo"),
    language: "lt", titleLanguage: "en", created: t0.addingTimeInterval(-86400),
    rights: "CC BY 4.0", publisher: Person(name: "Klasteris", email: "info@pod.example.lt"),
    comments: "https://pod.example.lt/12/#comments",
    media: MediaInfo(
      title: "Media title", description: .html("<p>desc</p>"),
      thumbnails: [Thumbnail(url: "https://cdn.example.lt/t.jpg", width: 150, height: 150)],
      credits: ["Ona"], rating: "nonadult"),
    itunes: ITunesInfo(
      subtitle: "s", summary: "sum", image: "https://cdn.example.lt/i.jpg", explicit: false,
      duration: 1830, owner: Person(name: "O", email: "o@pod.example.lt"), keywords: ["k"],
      type: "full", episode: 12, season: 2, block: false),
    geo: GeoLocation(shape: .polygon, coordinates: [54, 25, 54.1, 25, 54.1, 25.1, 54, 25]))

  static let head = Feed(
    title: "Podcast", subtitle: "About clusters", link: "https://pod.example.lt/",
    selfLink: "https://pod.example.lt/feed/", id: "tag:pod,2026", updated: t0, language: "lt",
    authors: [Person(name: "Redakcija", email: "r@pod.example.lt")],
    categories: [Category(term: "Business", scheme: "http://www.itunes.com/")],
    icon: "https://pod.example.lt/icon.png", logo: "https://pod.example.lt/logo.png",
    rights: "© Pod", generator: "WordPress", ttlMinutes: 60,
    links: [
      Link(href: "https://pod.example.lt/feed/", rel: "self", type: "application/rss+xml"),
      Link(href: "https://hub.example/", rel: "hub"),
      Link(href: "https://creativecommons.org/licenses/by/4.0/", rel: "license"),
    ],
    contributors: [Person(uri: "https://pod.example.lt/petras")],
    published: t0.addingTimeInterval(-600), publisher: Person(name: "Klasteris"),
    webMaster: Person(email: "web@pod.example.lt"),
    itunes: ITunesInfo(explicit: false, owner: Person(name: "O"), type: "episodic"),
    titleLanguage: "en")

  @discardableResult
  func record(_ f: StoreFixture, _ feed: Feed, at: Date = t0) async throws -> IngestReport {
    try await f.store.record(
      FetchOutcome(
        sourceID: "pod", result: .fetched, attemptedAt: at, httpStatus: 200,
        nextDue: at.addingTimeInterval(1800)),
      feed: feed)
  }

  func testEveryNewEntryFieldSurvivesTheStore() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    try await f.sources([source("pod", language: "lt")])
    var feed = Self.head
    feed.entries = [Self.episode]
    let report = try await record(f, feed)
    XCTAssertEqual(report.inserted, 1)
    let stored = try await f.store.entry(
      sourceID: "pod", originalID: "https://pod.example.lt/?p=12")
    XCTAssertEqual(stored?.entry, Self.episode)
    // Through the timeline too (what the publisher reads), after a reopen.
    try await f.reopen()
    let item = try await f.allItems().first
    XCTAssertEqual(item?.entry.entry, Self.episode)
    // The same document again changes nothing.
    let again = try await record(f, feed, at: t0.addingTimeInterval(600))
    XCTAssertEqual(again.unchanged, 1)
    XCTAssertEqual(again.updated, 0)
  }

  func testTheFeedHeadIsKeptPerSourceAndItsChangesArePublished() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    try await f.sources([source("pod")])
    var feed = Self.head
    feed.entries = [entry(id: "tag:pod,1", title: "One story", link: "https://pod.example.lt/1")]
    try await record(f, feed)
    let state = try await f.store.sourceState(id: "pod")
    XCTAssertEqual(state?.decodedFeedHead(), Self.head, "the whole head, without entries")
    XCTAssertEqual(state?.feedTitle, "Podcast", "the feed* columns stay")
    let listed = try await f.store.sourceStates().first { $0.id == "pod" }
    XCTAssertEqual(listed?.decodedFeedHead(), Self.head)
    let token = try await f.store.changeToken()
    // The same body parsed again: nothing published moved.
    try await record(f, feed, at: t0.addingTimeInterval(600))
    let same = try await f.store.changeToken()
    XCTAssertEqual(same, token)
    // Only the subtitle changed: atom:source shows it, so the feeds must be rendered again.
    feed.subtitle = "About clusters and more"
    try await record(f, feed, at: t0.addingTimeInterval(1200))
    let moved = try await f.store.changeToken()
    XCTAssertGreaterThan(moved, same)
    let changed = try await f.store.sourceState(id: "pod")
    XCTAssertEqual(changed?.decodedFeedHead()?.subtitle, "About clusters and more")
    // A failed fetch keeps the head.
    try await f.store.record(
      FetchOutcome(
        sourceID: "pod", result: .failed, attemptedAt: t0.addingTimeInterval(1800),
        httpStatus: 500, error: "HTTP 500", nextDue: t0.addingTimeInterval(3600)), feed: nil)
    let failed = try await f.store.sourceState(id: "pod")
    XCTAssertEqual(failed?.decodedFeedHead()?.subtitle, "About clusters and more")
  }

  func testHeadBytesAreStableAndToleratesMissingFields() throws {
    XCTAssertEqual(FeedHead.encode(Self.head), FeedHead.encode(Self.head))
    XCTAssertNil(FeedHead.decode(nil))
    XCTAssertNil(FeedHead.decode(Data("not json".utf8)))
    // A head written before a field existed (or by another store) decodes with it absent.
    XCTAssertEqual(FeedHead.decode(Data(#"{"title":"T"}"#.utf8)), Feed(title: "T"))
    XCTAssertEqual(FeedHead.encode(Feed()), Data("{}".utf8))
  }

  // MARK: upgrade

  /// `EntryExtra` and `EntrySource` as the previous release encoded them.
  struct OldLink: Codable {
    var href: String
    var rel: String?
    var type: String?
    var title: String?
    var length: Int64?
  }
  struct OldEnclosure: Codable {
    var url: String
    var type: String?
    var length: Int64?
  }
  struct OldSource: Codable {
    var id: String?
    var title: String?
    var link: String?
    var updated: Date?
    var icon: String?
    var rights: String?
  }
  struct OldExtra: Codable {
    var links: [OldLink]?
    var authors: [Person]?
    var contributors: [Person]?
    var categories: [FeedModel.Category]?
    var enclosures: [OldEnclosure]?
    var source: OldSource?
    var contentSource: OldLink?
  }

  static let oldShaped = Entry(
    id: "tag:old,1", title: "Old story", link: "https://old.example/1",
    links: [Link(href: "https://old.example/1", rel: "alternate", type: "text/html")],
    published: t0, summary: .text("Lead"),
    authors: [Person(name: "A", email: "a@old.example")],
    contributors: [Person(name: "C")], categories: [Category(term: "t", scheme: "s", label: "l")],
    enclosures: [Enclosure(url: "https://old.example/a.mp3", type: "audio/mpeg", length: 5)],
    source: EntrySource(
      id: "tag:src", title: "Src", link: "https://src.example/", updated: t0,
      icon: "https://src.example/i.png", rights: "r"))

  static let oldBytes: Data = {
    let old = OldExtra(
      links: [OldLink(href: "https://old.example/1", rel: "alternate", type: "text/html")],
      authors: [Person(name: "A", email: "a@old.example")], contributors: [Person(name: "C")],
      categories: [Category(term: "t", scheme: "s", label: "l")],
      enclosures: [OldEnclosure(url: "https://old.example/a.mp3", type: "audio/mpeg", length: 5)],
      source: OldSource(
        id: "tag:src", title: "Src", link: "https://src.example/", updated: t0,
        icon: "https://src.example/i.png", rights: "r"))
    return try! PreparedEntry.makeEncoder().encode(old)
  }()

  func testAnEntryWithoutTheNewFieldsEncodesAsBefore() throws {
    let prepared = try PreparedEntry(
      Self.oldShaped, feedLanguage: nil, encoder: PreparedEntry.makeEncoder())
    XCTAssertEqual(
      prepared.extra.map { String(decoding: $0, as: UTF8.self) },
      String(decoding: Self.oldBytes, as: UTF8.self),
      "the extra bytes (part of fullHash) must not change for entries stored before the upgrade")
    // (The model's own encoding of the source would not be: its lists are new and always
    // written.)
    let modelSource = try PreparedEntry.makeEncoder().encode(Self.oldShaped.source)
    XCTAssertTrue(String(decoding: modelSource, as: UTF8.self).contains("\"links\":[]"))
  }

  func testAnEntryStoredBeforeTheUpgradeReadsBackAndIsNotChanged() async throws {
    let f = try await StoreFixture()
    defer { Task { await f.cleanup() } }
    try await f.sources([source("pod")])
    try await record(f, Feed(entries: [Self.oldShaped]))
    // Make the row exactly what the previous release wrote (its blob; the hash of it).
    try await f.rawWrite { db in
      try db.execute("UPDATE entry SET extra = ?", [.blob(Self.oldBytes)])
    }
    let stored = try await f.store.entry(sourceID: "pod", originalID: "tag:old,1")
    XCTAssertEqual(stored?.entry, Self.oldShaped)
    let token = try await f.store.changeToken()
    let report = try await record(f, Feed(entries: [Self.oldShaped]), at: t0.addingTimeInterval(60))
    XCTAssertEqual(report.unchanged, 1)
    XCTAssertEqual(report.updated, 0)
    let after = try await f.store.changeToken()
    XCTAssertEqual(after, token, "an unchanged entry is not rewritten")
  }
}
