import FeedModel
import FeedStore
import Foundation

/// An in-memory `FeedStore` for the publisher and server tests (shared target): items are placed directly (groups, duplicates,
/// languages), and the timeline obeys the protocol's paging contract.
public final class MemoryStore: FeedStore, @unchecked Sendable {
  private let lock = NSLock()
  private var sources: [SourceState] = []
  private var items: [TimelineItem] = []
  private var token: Int64 = 1
  public private(set) var timelineCalls = 0
  private var nextGroup: Int64 = 1

  public init(sources: [SourceState] = []) { self.sources = sources }

  public func setSources(_ s: [SourceState]) {
    lock.withLock {
      sources = s
      token += 1
    }
  }

  public func updateSource(_ id: String, _ change: (inout SourceState) -> Void) {
    lock.withLock {
      if let i = sources.firstIndex(where: { $0.id == id }) { change(&sources[i]) }
      token += 1
    }
  }

  /// Adds one story; `duplicates` are the other copies named in the merged feed.
  @discardableResult
  public func add(
    sourceID: String, entry: Entry, atomID: String? = nil, sortDate: Date,
    contentUpdated: Date? = nil,
    language: String? = nil, duplicates: [DuplicateRef] = []
  ) -> Int64 {
    lock.withLock {
      let g = nextGroup
      nextGroup += 1
      let source =
        sources.first { $0.id == sourceID }
        ?? SourceState(id: sourceID, url: "https://example.org/\(sourceID)")
      let stored = StoredEntry(
        atomID: atomID ?? "urn:x-test:\(sourceID):\(g)", sourceID: sourceID, entry: entry,
        firstSeen: sortDate,
        contentUpdated: contentUpdated ?? sortDate, sortDate: sortDate, language: language)
      items.append(TimelineItem(groupID: g, entry: stored, source: source, duplicates: duplicates))
      token += 1
      return g
    }
  }

  public func bump() { lock.withLock { token += 1 } }

  /// Changes a source's crawl state without moving the change token, as a store does for a 304,
  /// an identical body or a failed fetch: the health changes, nothing publishable does.
  public func updateSourceHealth(_ id: String, _ change: (inout SourceState) -> Void) {
    lock.withLock {
      if let i = sources.firstIndex(where: { $0.id == id }) { change(&sources[i]) }
    }
  }

  // MARK: FeedStore

  public func syncSources(_ definitions: [SourceDefinition]) async throws {
    lock.withLock {
      for d in definitions where !sources.contains(where: { $0.id == d.id }) {
        sources.append(
          SourceState(
            id: d.id, url: d.url, kind: d.kind, title: d.title, categories: d.categories,
            priority: d.priority,
            language: d.language))
      }
      token += 1
    }
  }

  public func sourceState(id: String) async throws -> SourceState? {
    lock.withLock { sources.first { $0.id == id } }
  }

  public func sourceStates() async throws -> [SourceState] {
    lock.withLock { sources.filter(\.active).sorted { $0.id < $1.id } }
  }

  public func record(_ outcome: FetchOutcome, feed: Feed?) async throws -> IngestReport {
    var report = IngestReport()
    for e in feed?.entries ?? [] {
      add(
        sourceID: outcome.sourceID, entry: e,
        sortDate: e.published ?? e.updated ?? outcome.attemptedAt)
      report.inserted += 1
    }
    bump()
    return report
  }

  private static func key(_ c: TimelineCursor) -> (Int64, Int64) {
    (Int64((c.sortDate.timeIntervalSince1970 * 1000).rounded()), c.groupID)
  }

  public func timeline(_ query: TimelineQuery) async throws -> TimelinePage {
    lock.withLock {
      timelineCalls += 1
      let current = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0) })
      var rows = items.map { item -> TimelineItem in
        var i = item
        if let s = current[item.source.id] { i.source = s }
        return i
      }
      rows = rows.filter { row in
        if let c = query.category, !row.source.categories.contains(c) { return false }
        if let s = query.sourceID, row.entry.sourceID != s { return false }
        if let l = query.language {
          let lang = row.entry.language?.split(separator: "-").first.map { $0.lowercased() }
          if lang != l.lowercased() { return false }
        }
        return true
      }
      rows.sort { Self.key($0.cursor) > Self.key($1.cursor) }
      var page: [TimelineItem]
      if let before = query.before {
        page = Array(rows.filter { Self.key($0.cursor) < Self.key(before) }.prefix(query.limit))
      } else if let after = query.after {
        page = Array(rows.filter { Self.key($0.cursor) > Self.key(after) }.suffix(query.limit))
      } else {
        page = Array(rows.prefix(query.limit))
      }
      let older = page.last.flatMap { last in
        rows.contains { Self.key($0.cursor) < Self.key(last.cursor) } ? last.cursor : nil
      }
      let newer = page.first.flatMap { first in
        rows.contains { Self.key($0.cursor) > Self.key(first.cursor) } ? first.cursor : nil
      }
      return TimelinePage(items: page, olderCursor: older, newerCursor: newer)
    }
  }

  public func counts() async throws -> StoreCounts {
    lock.withLock {
      StoreCounts(
        sources: sources.count, entries: items.count + items.reduce(0) { $0 + $1.duplicates.count },
        duplicateGroups: items.count, mergedGroups: items.filter { !$0.duplicates.isEmpty }.count,
        tombstones: 0)
    }
  }

  public func facets() async throws -> StoreFacets {
    lock.withLock {
      let cats = Set(items.flatMap { $0.source.categories })
      let langs = Set(
        items.compactMap { $0.entry.language?.split(separator: "-").first.map { $0.lowercased() } })
      return StoreFacets(categories: cats.sorted(), languages: langs.sorted())
    }
  }

  public func changeToken() async throws -> Int64 { lock.withLock { token } }

  /// Retention is the SQLite store's business (FeedStoreTests); this double keeps everything.
  public func sweep(at: Date) async throws -> RetentionSweep { RetentionSweep() }
  /// No archive page is ever sealed here: the current document holds the whole timeline
  /// (the sealing rules are the SQLite store's, tested in FeedStoreTests/PublisherTests).
  public func archives(_ query: TimelineQuery, pageSize: Int) async throws -> ArchiveLayout {
    ArchiveLayout(pages: [])
  }
  public func close() async throws {}
}
