import FeedModel
import FeedStore
import Foundation

/// A small in-memory `FeedStore` with the recording rules the crawler relies on (validators kept
/// when a 304 sends none, failures counted, gone sticky), so crawler tests need no database.
/// A class behind a lock rather than an actor so tests can read it synchronously in assertions.
final class MemoryStore: FeedStore, @unchecked Sendable {
  private struct Data {
    var states: [String: SourceState] = [:]
    var entries: [String: [String: Entry]] = [:]
    var outcomes: [FetchOutcome] = []
    var closed = false
    var token: Int64 = 0
  }
  private let lock = NSLock()
  private var data = Data()

  private func locked<R>(_ body: (inout Data) throws -> R) throws -> R {
    try lock.withLock {
      guard !data.closed else { throw FeedStoreError.closed }
      return try body(&data)
    }
  }

  var states: [String: SourceState] { lock.withLock { data.states } }
  var entries: [String: [String: Entry]] { lock.withLock { data.entries } }
  var outcomes: [FetchOutcome] { lock.withLock { data.outcomes } }
  func outcomes(for id: String) -> [FetchOutcome] { outcomes.filter { $0.sourceID == id } }

  /// Test hook: pretend an earlier run left this state behind.
  func setState(_ state: SourceState) { lock.withLock { data.states[state.id] = state } }

  func syncSources(_ definitions: [SourceDefinition]) async throws {
    try locked { d in
      let ids = Set(definitions.map(\.id))
      for id in d.states.keys where !ids.contains(id) { d.states[id]?.active = false }
      for def in definitions {
        var s = d.states[def.id] ?? SourceState(id: def.id, url: def.url, kind: def.kind)
        if s.url != def.url { s.gone = false }
        s.url = def.url
        s.kind = def.kind
        s.title = def.title
        s.categories = def.categories
        s.priority = def.priority
        s.language = def.language
        s.active = true
        d.states[def.id] = s
      }
    }
  }

  func sourceState(id: String) async throws -> SourceState? {
    try locked { $0.states[id] }
  }

  func sourceStates() async throws -> [SourceState] {
    try locked { $0.states.values.filter(\.active).sorted { $0.id < $1.id } }
  }

  @discardableResult
  func record(_ outcome: FetchOutcome, feed: Feed?) async throws -> IngestReport {
    try locked { d in
      guard var s = d.states[outcome.sourceID] else {
        throw FeedStoreError.unknownSource(outcome.sourceID)
      }
      d.outcomes.append(outcome)
      s.lastAttempt = outcome.attemptedAt
      s.httpStatus = outcome.httpStatus
      s.nextDue = outcome.nextDue
      s.movedTo = outcome.movedTo
      switch outcome.result {
      case .fetched, .notModified:
        s.lastSuccess = outcome.attemptedAt
        s.consecutiveFailures = 0
        s.failingSince = nil
        s.lastError = outcome.error
        if let e = outcome.etag { s.etag = e }
        if let l = outcome.lastModified { s.lastModified = l }
        if let h = outcome.bodyHash { s.bodyHash = h }
      case .failed, .gone:
        if outcome.result == .gone { s.gone = true }
        s.consecutiveFailures += 1
        s.lastError = outcome.error
        if s.failingSince == nil { s.failingSince = outcome.attemptedAt }
      }
      var report = IngestReport()
      if let feed {
        s.feedTitle = feed.title
        var known = d.entries[outcome.sourceID] ?? [:]
        for entry in feed.entries {
          let key = entry.id ?? entry.link ?? (entry.title ?? "")
          if let old = known[key] {
            if old == entry { report.unchanged += 1 } else { report.updated += 1 }
          } else {
            report.inserted += 1
          }
          known[key] = entry
        }
        d.entries[outcome.sourceID] = known
        s.entryCount = known.count
        d.token += 1
      }
      d.states[outcome.sourceID] = s
      return report
    }
  }

  func timeline(_ query: TimelineQuery) async throws -> TimelinePage { TimelinePage(items: []) }

  func counts() async throws -> StoreCounts {
    try locked { d in
      StoreCounts(
        sources: d.states.count, entries: d.entries.values.map(\.count).reduce(0, +),
        duplicateGroups: 0, mergedGroups: 0, tombstones: 0)
    }
  }

  func facets() async throws -> StoreFacets { StoreFacets(categories: [], languages: []) }

  func changeToken() async throws -> Int64 { try locked { $0.token } }

  /// Retention is the SQLite store's business (FeedStoreTests); this double keeps everything.
  func sweep(at: Date) async throws -> RetentionSweep { RetentionSweep() }
  /// No archive page is ever sealed here: the current document holds the whole timeline
  /// (the sealing rules are the SQLite store's, tested in FeedStoreTests/PublisherTests).
  func archives(_ query: TimelineQuery, pageSize: Int) async throws -> ArchiveLayout {
    ArchiveLayout(pages: [])
  }
  func close() async throws { lock.withLock { data.closed = true } }
}

/// A store whose commits hang for `delay` seconds, standing in for a wedged database.
final class HangingStore: FeedStore, @unchecked Sendable {
  let inner = MemoryStore()
  let delay: TimeInterval
  init(delay: TimeInterval) { self.delay = delay }

  func syncSources(_ definitions: [SourceDefinition]) async throws {
    try await inner.syncSources(definitions)
  }
  func sourceState(id: String) async throws -> SourceState? { try await inner.sourceState(id: id) }
  func sourceStates() async throws -> [SourceState] { try await inner.sourceStates() }
  @discardableResult
  func record(_ outcome: FetchOutcome, feed: Feed?) async throws -> IngestReport {
    try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
    return try await inner.record(outcome, feed: feed)
  }
  func timeline(_ query: TimelineQuery) async throws -> TimelinePage { TimelinePage(items: []) }
  func counts() async throws -> StoreCounts { try await inner.counts() }
  func facets() async throws -> StoreFacets { try await inner.facets() }
  func changeToken() async throws -> Int64 { try await inner.changeToken() }
  func sweep(at: Date) async throws -> RetentionSweep { try await inner.sweep(at: at) }
  func archives(_ query: TimelineQuery, pageSize: Int) async throws -> ArchiveLayout {
    try await inner.archives(query, pageSize: pageSize)
  }
  func close() async throws { try await inner.close() }
}
