import FeedModel
import Foundation

/// What the rest of the daemon may ask of persistent storage. Everything is async and speaks
/// FeedModel types only, so a PostgreSQL implementation (several daemons sharing one database)
/// can follow the SQLite one without callers changing. Nothing outside this target writes SQL.
public protocol FeedStore: Sendable {
  /// Makes the store's view of the configured sources match `definitions`: new ones are added,
  /// changed ones updated (title, categories, priority, language, URL), ones no longer configured
  /// are marked inactive (their entries stay until retention removes them).
  func syncSources(_ definitions: [SourceDefinition]) async throws

  /// The persisted crawl state of one source, or nil when it was never synced.
  func sourceState(id: String) async throws -> SourceState?

  /// Every active source's state, ordered by id.
  func sourceStates() async throws -> [SourceState]

  /// Records one crawl of one source in a single transaction: the fetch outcome (validators,
  /// status, errors, next due) and, when `feed` is given, its entries (identity, updates,
  /// duplicate grouping, retention, tombstones). A failure never deletes stored entries.
  @discardableResult
  func record(_ outcome: FetchOutcome, feed: Feed?) async throws -> IngestReport

  /// The merged timeline: one row per duplicate group (its preferred entry), newest first.
  func timeline(_ query: TimelineQuery) async throws -> TimelinePage

  /// How a timeline scope (a query's category, source or language, or none) is split into a
  /// current document and sealed RFC 5005 archive pages of `pageSize` rows (see
  /// `ArchiveLayout`); seals new pages first when the current document reached two pages.
  func archives(_ query: TimelineQuery, pageSize: Int) async throws -> ArchiveLayout

  /// Totals for status pages and metrics.
  func counts() async throws -> StoreCounts

  /// Distinct source categories (sector slugs) and entry languages that have entries, for sub-feeds.
  func facets() async throws -> StoreFacets

  /// A number that increases whenever anything publishable changed; the publisher re-renders
  /// only when it moves.
  func changeToken() async throws -> Int64

  /// Applies retention to every source (active, failing, gone or removed) as of `at`: entries
  /// first seen longer ago than `max_age` and no longer in their source's current document,
  /// entries over `max_entries`, sources inactive for longer than the grace period; then prunes
  /// tombstones past their lifetime. Moves the change token only when something was removed.
  /// The daemon runs it at start-up and on a clock, so retention never waits for a changed body.
  @discardableResult
  func sweep(at: Date) async throws -> RetentionSweep

  /// Flushes and closes; further calls throw.
  func close() async throws

  /// The stored sanitised HTML of the source's current entries by the `SanitizerKey` of the raw
  /// HTML it came from (issue 17): the crawler hands it to the parser of a changed document,
  /// which then sanitises only the fragments that changed.
  func reusableHTML(sourceID: String) async throws -> [SanitizerKey: String]

  /// Runs `transform` over every stored entry (nil keeps it) and writes back the changed ones
  /// under the store's update rules: `clusterwire resanitize`. Returns (read, rewritten).
  func rewriteEntries(_ transform: @escaping @Sendable (Entry) -> Entry?) async throws -> (
    seen: Int, rewritten: Int
  )
}

/// Persisted per-source crawl state and feed metadata.
extension FeedStore {
  /// A store that keeps no sanitised HTML reuses nothing.
  public func reusableHTML(sourceID: String) async throws -> [SanitizerKey: String] { [:] }

  public func rewriteEntries(_ transform: @escaping @Sendable (Entry) -> Entry?) async throws -> (
    seen: Int, rewritten: Int
  ) { (0, 0) }
}

public struct SourceState: Sendable, Hashable, Codable {
  public var id: String
  public var url: String
  public var kind: SourceKind
  /// The configured title override, else the feed's own title.
  public var title: String?
  public var categories: [String]
  public var priority: Int
  public var language: String?
  public var active: Bool

  // HTTP validators and body identity
  public var etag: String?
  public var lastModified: String?
  public var bodyHash: String?

  // health
  public var lastAttempt: Date?
  public var lastSuccess: Date?
  public var httpStatus: Int?
  public var consecutiveFailures: Int
  public var lastError: String?
  /// When the first failure of the current failure streak happened ("failing since").
  public var failingSince: Date?
  public var nextDue: Date?
  /// Target of a 301/308 seen on the last fetch (reported, the config is never rewritten).
  public var movedTo: String?
  /// 410 Gone: polling stopped until the admin changes the source.
  public var gone: Bool

  // the source feed's own metadata, for atom:source
  public var feedID: String?
  public var feedTitle: String?
  public var feedLink: String?
  public var feedUpdated: Date?
  public var feedIcon: String?
  public var feedRights: String?
  public var feedAuthor: String?
  public var feedLanguage: String?
  /// The source feed's whole head as `FeedHead` bytes (`decodedFeedHead()` reads it): kept as
  /// bytes so listing sources or loading a timeline page decodes nothing it does not render.
  public var feedHead: Data?

  public var entryCount: Int
  /// Entries retention removed from this source so far (age, count, purge after removal).
  public var retentionDropped: Int
  /// Stored entries the source's `[source.filter]` refuses now (never published).
  public var filteredEntries: Int

  public init(
    id: String, url: String, kind: SourceKind = .feed, title: String? = nil,
    categories: [String] = [], priority: Int = 0, language: String? = nil, active: Bool = true,
    etag: String? = nil, lastModified: String? = nil, bodyHash: String? = nil,
    lastAttempt: Date? = nil, lastSuccess: Date? = nil, httpStatus: Int? = nil,
    consecutiveFailures: Int = 0, lastError: String? = nil, failingSince: Date? = nil,
    nextDue: Date? = nil, movedTo: String? = nil, gone: Bool = false, feedID: String? = nil,
    feedTitle: String? = nil, feedLink: String? = nil, feedUpdated: Date? = nil,
    feedIcon: String? = nil, feedRights: String? = nil, feedAuthor: String? = nil,
    feedLanguage: String? = nil, entryCount: Int = 0, retentionDropped: Int = 0,
    feedHead: Data? = nil, filteredEntries: Int = 0
  ) {
    self.id = id
    self.url = url
    self.kind = kind
    self.title = title
    self.categories = categories
    self.priority = priority
    self.language = language
    self.active = active
    self.etag = etag
    self.lastModified = lastModified
    self.bodyHash = bodyHash
    self.lastAttempt = lastAttempt
    self.lastSuccess = lastSuccess
    self.httpStatus = httpStatus
    self.consecutiveFailures = consecutiveFailures
    self.lastError = lastError
    self.failingSince = failingSince
    self.nextDue = nextDue
    self.movedTo = movedTo
    self.gone = gone
    self.feedID = feedID
    self.feedTitle = feedTitle
    self.feedLink = feedLink
    self.feedUpdated = feedUpdated
    self.feedIcon = feedIcon
    self.feedRights = feedRights
    self.feedAuthor = feedAuthor
    self.feedLanguage = feedLanguage
    self.feedHead = feedHead
    self.entryCount = entryCount
    self.retentionDropped = retentionDropped
    self.filteredEntries = filteredEntries
  }

  /// Healthy when the last attempt succeeded (or none was made yet).
  public var isFailing: Bool { consecutiveFailures > 0 || gone }
}

/// What the crawler learned from one fetch of one source.
public struct FetchOutcome: Sendable, Hashable {
  public enum Result: String, Sendable, Hashable, Codable {
    /// 200 with a body that parsed (the `feed` passed alongside holds its entries).
    case fetched
    /// 304, or a 200 whose body hash equals the stored one.
    case notModified
    /// Network error, timeout, 4xx/5xx, oversize body, unparseable document…
    case failed
    /// 410: polling stops.
    case gone
  }
  public var sourceID: String
  public var result: Result
  public var attemptedAt: Date
  public var httpStatus: Int?
  /// New validators: stored on every 200 and 304 (nil keeps the stored one on a 304).
  public var etag: String?
  public var lastModified: String?
  public var bodyHash: String?
  /// Human-readable reason for `failed`/`gone`, or a warning (e.g. "malformed XML at 3:14: …").
  public var error: String?
  public var nextDue: Date
  /// Permanent redirect target seen on this fetch.
  public var movedTo: String?

  public init(
    sourceID: String, result: Result, attemptedAt: Date, httpStatus: Int? = nil,
    etag: String? = nil, lastModified: String? = nil, bodyHash: String? = nil,
    error: String? = nil, nextDue: Date, movedTo: String? = nil
  ) {
    self.sourceID = sourceID
    self.result = result
    self.attemptedAt = attemptedAt
    self.httpStatus = httpStatus
    self.etag = etag
    self.lastModified = lastModified
    self.bodyHash = bodyHash
    self.error = error
    self.nextDue = nextDue
    self.movedTo = movedTo
  }
}

/// What one `record` did to the entries.
public struct IngestReport: Sendable, Hashable {
  public var inserted: Int
  public var updated: Int
  public var unchanged: Int
  /// Entries that matched a tombstone and were not resurrected.
  public var suppressed: Int
  /// New entries that joined an existing duplicate group (from another source).
  public var joinedGroups: Int
  /// Entries removed by retention in this transaction.
  public var expired: Int
  /// For a source with a `[source.filter]`: how many of its stored entries it refuses after
  /// this transaction (nil for a source without one).
  public var filteredEntries: Int?
  public init(
    inserted: Int = 0, updated: Int = 0, unchanged: Int = 0, suppressed: Int = 0,
    joinedGroups: Int = 0, expired: Int = 0
  ) {
    self.inserted = inserted
    self.updated = updated
    self.unchanged = unchanged
    self.suppressed = suppressed
    self.joinedGroups = joinedGroups
    self.expired = expired
  }
}

/// An opaque position in the timeline. Stable: (sort date, group id) of the boundary row.
public struct TimelineCursor: Sendable, Hashable, Codable {
  public var sortDate: Date
  public var groupID: Int64
  public init(sortDate: Date, groupID: Int64) {
    self.sortDate = sortDate
    self.groupID = groupID
  }
  /// URL-safe text form, e.g. for `?before=`.
  public var token: String {
    "\(Int64((sortDate.timeIntervalSince1970 * 1000).rounded()))-\(groupID)"
  }
  public init?(token: String) {
    let parts = token.split(separator: "-")
    guard parts.count == 2, let ms = Int64(parts[0]), let g = Int64(parts[1]) else { return nil }
    self.init(sortDate: Date(timeIntervalSince1970: Double(ms) / 1000), groupID: g)
  }
}

/// A request for one page of the merged timeline.
public struct TimelineQuery: Sendable, Hashable {
  /// A source category (sector slug) from the config.
  public var category: String?
  public var sourceID: String?
  /// Entry language (e.g. `lt`, `en`), primary subtag.
  public var language: String?
  public var limit: Int
  /// Rows strictly older than this cursor (the "next" page).
  public var before: TimelineCursor?
  /// Rows strictly newer than this cursor (the "previous" page); still returned newest first.
  public var after: TimelineCursor?
  public init(
    category: String? = nil, sourceID: String? = nil, language: String? = nil, limit: Int = 50,
    before: TimelineCursor? = nil, after: TimelineCursor? = nil
  ) {
    self.category = category
    self.sourceID = sourceID
    self.language = language
    self.limit = limit
    self.before = before
    self.after = after
  }
}

/// A stored entry as the publisher needs it.
public struct StoredEntry: Sendable, Hashable {
  /// The published Atom id: stable forever (`tag:`/`urn:` form when the source's id is not a URI).
  public var atomID: String
  public var sourceID: String
  public var entry: Entry
  public var firstSeen: Date
  /// Our `updated`: moves only when title, summary, content or link really changed.
  public var contentUpdated: Date
  /// `published ?? updated ?? firstSeen`: what the timeline sorts on.
  public var sortDate: Date
  public var language: String?
  public init(
    atomID: String, sourceID: String, entry: Entry, firstSeen: Date, contentUpdated: Date,
    sortDate: Date, language: String? = nil
  ) {
    self.atomID = atomID
    self.sourceID = sourceID
    self.entry = entry
    self.firstSeen = firstSeen
    self.contentUpdated = contentUpdated
    self.sortDate = sortDate
    self.language = language
  }
}

/// Another copy of the same story, from another source.
public struct DuplicateRef: Sendable, Hashable {
  public var atomID: String
  public var sourceID: String
  public var sourceTitle: String?
  public var title: String?
  public var link: String?
  public init(
    atomID: String, sourceID: String, sourceTitle: String? = nil, title: String? = nil,
    link: String? = nil
  ) {
    self.atomID = atomID
    self.sourceID = sourceID
    self.sourceTitle = sourceTitle
    self.title = title
    self.link = link
  }
}

/// One row of the merged timeline: the preferred copy of a story and where else it appeared.
public struct TimelineItem: Sendable, Hashable {
  public var groupID: Int64
  public var entry: StoredEntry
  public var source: SourceState
  public var duplicates: [DuplicateRef]
  public init(groupID: Int64, entry: StoredEntry, source: SourceState, duplicates: [DuplicateRef]) {
    self.groupID = groupID
    self.entry = entry
    self.source = source
    self.duplicates = duplicates
  }
  public var cursor: TimelineCursor { TimelineCursor(sortDate: entry.sortDate, groupID: groupID) }
}

public struct TimelinePage: Sendable, Hashable {
  /// Newest first.
  public var items: [TimelineItem]
  /// Set when older rows exist.
  public var olderCursor: TimelineCursor?
  /// Set when newer rows exist.
  public var newerCursor: TimelineCursor?
  public init(
    items: [TimelineItem], olderCursor: TimelineCursor? = nil, newerCursor: TimelineCursor? = nil
  ) {
    self.items = items
    self.olderCursor = olderCursor
    self.newerCursor = newerCursor
  }
}

public struct StoreCounts: Sendable, Hashable {
  public var sources: Int
  public var entries: Int
  public var duplicateGroups: Int
  /// Groups with more than one member.
  public var mergedGroups: Int
  public var tombstones: Int
  /// Active sources failing now (`SourceState.isFailing`).
  public var failingSources: Int
  /// The earliest future `nextDue` among active sources that are not gone.
  public var nextDue: Date?
  public init(
    sources: Int, entries: Int, duplicateGroups: Int, mergedGroups: Int, tombstones: Int,
    failingSources: Int = 0, nextDue: Date? = nil
  ) {
    self.sources = sources
    self.entries = entries
    self.duplicateGroups = duplicateGroups
    self.mergedGroups = mergedGroups
    self.tombstones = tombstones
    self.failingSources = failingSources
    self.nextDue = nextDue
  }
}

public struct StoreFacets: Sendable, Hashable {
  public var categories: [String]
  public var languages: [String]
  public init(categories: [String], languages: [String]) {
    self.categories = categories
    self.languages = languages
  }
}

/// Store tuning from the config (`[store]`).
public struct StoreOptions: Sendable, Hashable {
  /// Keep at most this many entries per source…
  public var maxEntriesPerSource: Int
  /// …and none older than this (seconds).
  public var maxAge: TimeInterval
  /// Near-duplicate stories are only grouped within this window (seconds).
  public var duplicateWindow: TimeInterval
  /// How long the rows of a removed or disabled source are kept (hidden) before they are
  /// purged: re-enabling it within this time brings its stories back under the same ids instead
  /// of announcing them again as new.
  public var inactiveGrace: TimeInterval
  /// Group commit: at most this many crawl results share one write transaction (1 = off: each
  /// result is its own transaction, run on its caller's task). Bounds the latency a result adds
  /// to the ones queued behind it.
  public var commitBatch: Int
  /// Group commit: how long (seconds) an idle writer may wait for `record` calls that are still
  /// preparing their entries to join its transaction, counted from the oldest queued result
  /// (0 = never wait: only results that queued while a commit ran are batched). A lone result
  /// never waits.
  public var commitDelay: TimeInterval
  public init(
    maxEntriesPerSource: Int = 500, maxAge: TimeInterval = 365 * 86400,
    duplicateWindow: TimeInterval = 7 * 86400, inactiveGrace: TimeInterval = 30 * 86400,
    commitBatch: Int = StoreOptions.defaultCommitBatch,
    commitDelay: TimeInterval = StoreOptions.defaultCommitDelay
  ) {
    self.maxEntriesPerSource = maxEntriesPerSource
    self.maxAge = maxAge
    self.duplicateWindow = duplicateWindow
    self.inactiveGrace = inactiveGrace
    self.commitBatch = commitBatch
    self.commitDelay = commitDelay
  }

  /// Default `commitBatch`: 1, each crawl result its own transaction. Measured on SQLite
  /// (`cwbench store-bench --in-flight 16`, alternated runs of one binary): batches of 8 ingest
  /// 12 600 entries/s against 14 000 one by one, because an SQLite WAL commit with
  /// `synchronous=NORMAL` is only a `write()` and batching makes the results of a batch wait for
  /// each other instead of overlapping their preparation with the writer. A PostgreSQL fleet,
  /// whose every commit is a network round trip and a server-side WAL flush, may set 8: a first
  /// ingest of a corpus feed (~46 new entries) holds the writer ~3.7 ms, so a result then waits
  /// at most 2 × 8 × 3.7 ms ≈ 60 ms, inside the 100 ms fetch-to-publication budget.
  public static let defaultCommitBatch = 1
  /// Default `commitDelay`: 0, "natural" group commit. Measured on the corpus (store-bench): an
  /// SQLite WAL commit with `synchronous=NORMAL` is cheap (200 one-result transactions and 27
  /// batched ones kept the writer busy 0.71 s and 0.75 s), while waiting idles the single writer
  /// and stops preparation overlapping with writing, so a wait never paid for itself. A
  /// PostgreSQL fleet, whose every commit is a round trip and a server fsync, may set a few ms.
  public static let defaultCommitDelay: TimeInterval = 0
}

public enum FeedStoreError: Error, Sendable, CustomStringConvertible {
  case closed
  case unknownSource(String)
  case corrupt(String)
  public var description: String {
    switch self {
    case .closed: return "the store is closed"
    case .unknownSource(let id): return "unknown source '\(id)'"
    case .corrupt(let why): return "store is corrupt: \(why)"
    }
  }
}
