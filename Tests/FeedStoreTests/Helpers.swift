import FeedModel
import FeedStore
import Foundation
import TestSupport
import XCTest

/// A fixed clock so dates in assertions are exact.
let t0 = Date(timeIntervalSince1970: 1_750_000_000)

func days(_ n: Double) -> TimeInterval { n * 86400 }

/// A store in a fresh temp directory; `cleanup` removes it.
final class StoreFixture: @unchecked Sendable {
  let dir: URL
  let path: String
  var store: SQLiteFeedStore
  let options: StoreOptions

  init(options: StoreOptions = StoreOptions()) throws {
    dir = try TestSupport.makeTempDirectory("feedstore")
    path = dir.appendingPathComponent("db/store.sqlite").path
    self.options = options
    store = try SQLiteFeedStore(path: path, options: options)
  }

  func reopen() async throws {
    try await store.close()
    store = try SQLiteFeedStore(path: path, options: options)
  }

  func cleanup() async {
    try? await store.close()
    try? FileManager.default.removeItem(at: dir)
  }

  func sources(_ defs: [SourceDefinition]) async throws {
    try await store.syncSources(defs)
  }

  @discardableResult
  func ingest(_ source: String, _ entries: [Entry], at: Date = t0, language: String? = nil)
    async throws -> IngestReport
  {
    try await store.record(
      FetchOutcome(
        sourceID: source, result: .fetched, attemptedAt: at, httpStatus: 200,
        nextDue: at.addingTimeInterval(1800)),
      feed: Feed(title: "Feed \(source)", language: language, entries: entries))
  }

  func allItems(_ query: TimelineQuery = TimelineQuery(limit: 1000)) async throws -> [TimelineItem]
  {
    try await store.timeline(query).items
  }
}

func source(
  _ id: String, categories: [String] = [], priority: Int = 0, language: String? = nil
) -> SourceDefinition {
  SourceDefinition(
    id: id, url: "https://\(id).example/feed.xml", categories: categories, priority: priority,
    language: language)
}

func entry(
  id: String? = nil, title: String, link: String? = nil, published: Date? = t0,
  updated: Date? = nil, summary: String? = nil, content: String? = nil, language: String? = nil
) -> Entry {
  Entry(
    id: id, title: title, link: link, published: published, updated: updated,
    summary: summary.map { .text($0) }, content: content.map { .html($0) }, language: language)
}
