import FeedModel
import Foundation
import Synchronization

/// The parts of an `Entry` that have no column of their own, stored as one JSON blob.
///
/// Its bytes go into `fullHash`, so the encoding is stable: keys sorted, absent values and empty
/// lists omitted. A field added later is optional and absent when empty, so an entry that does
/// not carry it encodes exactly as before (stored entries do not all look changed after an
/// upgrade), and blobs written before it existed still decode.
struct EntryExtra: Codable, Equatable {
  var links: [Link]?
  var authors: [Person]?
  var contributors: [Person]?
  var categories: [FeedModel.Category]?
  var enclosures: [Enclosure]?
  var source: StoredSource?
  /// Atom out-of-line content (`Entry.contentSource`).
  var contentSource: Link?
  var titleLanguage: String?
  /// `Text.language` of the summary and the content (the columns hold their type and value).
  var summaryLanguage: String?
  var contentLanguage: String?
  var created: Date?
  var rights: String?
  var publisher: Person?
  var comments: String?
  var media: MediaInfo?
  var itunes: ITunesInfo?
  var geo: GeoLocation?
  /// The keys of the raw HTML the stored fragments were sanitised from (issue 17): what
  /// `reusableHTML` hands the parser of the source's next changed document.
  var sanitizerKeys: SanitizerKeys?

  /// `EntrySource` as stored: the fields it had first keep their keys, the lists added later are
  /// omitted when empty (an old entry's source encodes as it did, and an old blob, which has no
  /// lists, decodes).
  struct StoredSource: Codable, Equatable {
    var id: String?
    var title: String?
    var link: String?
    var updated: Date?
    var icon: String?
    var rights: String?
    var subtitle: String?
    var links: [Link]?
    var authors: [Person]?
    var contributors: [Person]?
    var categories: [FeedModel.Category]?
    var logo: String?
    var generator: String?

    init(_ s: EntrySource) {
      id = s.id
      title = s.title
      link = s.link
      updated = s.updated
      icon = s.icon
      rights = s.rights
      subtitle = s.subtitle
      links = s.links.isEmpty ? nil : s.links
      authors = s.authors.isEmpty ? nil : s.authors
      contributors = s.contributors.isEmpty ? nil : s.contributors
      categories = s.categories.isEmpty ? nil : s.categories
      logo = s.logo
      generator = s.generator
    }

    var source: EntrySource {
      EntrySource(
        id: id, title: title, link: link, updated: updated, icon: icon, rights: rights,
        subtitle: subtitle, links: links ?? [], authors: authors ?? [],
        contributors: contributors ?? [], categories: categories ?? [], logo: logo,
        generator: generator)
    }
  }

  init(_ e: Entry) {
    links = e.links.isEmpty ? nil : e.links
    authors = e.authors.isEmpty ? nil : e.authors
    contributors = e.contributors.isEmpty ? nil : e.contributors
    categories = e.categories.isEmpty ? nil : e.categories
    enclosures = e.enclosures.isEmpty ? nil : e.enclosures
    source = e.source.map(StoredSource.init)
    contentSource = e.contentSource
    titleLanguage = e.titleLanguage
    summaryLanguage = e.summary?.language
    contentLanguage = e.content?.language
    created = e.created
    rights = e.rights
    publisher = e.publisher
    comments = e.comments
    media = e.media.flatMap { $0.isEmpty ? nil : $0 }
    itunes = e.itunes
    geo = e.geo
    sanitizerKeys = e.sanitizerKeys
  }

  static let empty = EntryExtra(Entry())

  var isEmpty: Bool { self == Self.empty }
}

/// Everything derived from one incoming entry before it touches the database. Built outside the
/// write transaction (see `prepareAll`), so the CPU work of a crawl result (hashing,
/// fingerprinting, encoding) runs in parallel and never holds the write lock.
struct PreparedEntry: Sendable {
  var entry: Entry
  var guid: String?
  var link: String?
  var canonical: String?
  var fingerprint: StoryMatching.Fingerprint
  var normTitle: String
  var idHash: String
  var contentHash: String
  var fullHash: String
  var extra: Data?
  /// Whether the entry or its feed has a language tag; the source's configured one is the
  /// fallback, applied in the transaction (`language(sourceLanguage:)`).
  var hasLanguageTag: Bool
  /// The primary subtag of the entry's (else its feed's) language tag.
  var primaryTag: String?
  /// Whether `guid` can be published as the entry's Atom id as it is.
  var guidIsURI: Bool

  /// The identity key of an entry under a key mode (see `SQLiteFeedStore.keyMode`).
  static func key(mode: Int, guid: String?, canonical: String?, link: String?, idHash: String)
    -> String
  {
    if mode == 0, let guid { return "i:" + guid }
    if mode <= 1, let l = canonical ?? link { return "l:" + l }
    return "h:" + idHash
  }

  func key(_ mode: Int) -> String {
    Self.key(mode: mode, guid: guid, canonical: canonical, link: link, idHash: idHash)
  }

  /// What makes two items with one key "clearly different stories".
  var signature: String { normTitle + "\u{1}" + (canonical ?? link ?? "") }

  /// The primary language subtag stored for the entry; `sourceLanguage` is
  /// `primaryLanguage(source.language)`, computed once per crawl result.
  func language(sourceLanguage: String?) -> String? {
    hasLanguageTag ? primaryTag : sourceLanguage
  }

  /// The encoder of `extra`: sorted keys, so equal values give equal bytes (the bytes go into
  /// `fullHash`).
  static func makeEncoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    e.dateEncodingStrategy = .millisecondsSince1970
    return e
  }

  init(_ entry: Entry, feedLanguage: String?, encoder: JSONEncoder) throws {
    func clean(_ s: String?) -> String? {
      guard let t = s?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else {
        return nil
      }
      return t
    }
    let guid = clean(entry.id)
    let link = clean(entry.link)
    let canonical = link.flatMap(StoryMatching.canonicalURL)
    var lead = entry.summary
    if lead.map({ $0.value.allSatisfy(\.isWhitespace) }) ?? true { lead = entry.content }
    let fingerprint = StoryMatching.fingerprint(
      title: entry.title, lead: lead?.value ?? "", leadIsHTML: lead?.type == .html)
    let normTitle = fingerprint.titleTokens.joined(separator: " ")
    let date = (entry.published ?? entry.updated).map { String(milliseconds($0)) }

    let title = FieldHash.of(entry.title)
    let summary = FieldHash.of(entry.summary?.value)
    // Out-of-line content counts as the content (its URL moving is a real change). Entries
    // without it hash exactly as before, so no stored entry looks changed after an upgrade.
    let content = FieldHash.of(entry.content?.value ?? entry.contentSource.map { "src:" + $0.href })
    let linkHash = FieldHash.of(canonical ?? link)
    let extraValue = EntryExtra(entry)
    let extra = extraValue.isEmpty ? nil : try encoder.encode(extraValue)
    self.entry = entry
    self.guid = guid
    self.link = link
    self.canonical = canonical
    self.fingerprint = fingerprint
    self.normTitle = normTitle
    idHash = FieldHash.combine([
      FieldHash.of(normTitle), FieldHash.of(date), entry.content != nil ? content : summary,
    ])
    contentHash = FieldHash.combine([title, summary, content, linkHash])
    fullHash = FieldHash.combine([
      title, summary, content, linkHash, FieldHash.of(guid), FieldHash.of(link),
      FieldHash.of(entry.published.map { String(milliseconds($0)) }),
      FieldHash.of(entry.updated.map { String(milliseconds($0)) }),
      FieldHash.of(entry.summary?.type.rawValue), FieldHash.of(entry.content?.type.rawValue),
      FieldHash.of(entry.language), FieldHash.of(extra),
    ])
    self.extra = extra
    let languageTag = entry.language ?? feedLanguage
    hasLanguageTag = languageTag != nil
    primaryTag = primaryLanguage(languageTag)
    guidIsURI = guid.map(isAbsoluteURI) ?? false
  }

  /// Prepares a feed's entries, split over the processor's cores when there are enough of them
  /// to be worth a task each.
  static func prepareAll(_ feed: Feed) async throws -> [PreparedEntry] {
    let entries = feed.entries
    let language = feed.language
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, entries.count / 8)
    if workers <= 1 {
      let encoder = makeEncoder()
      return try entries.map { try PreparedEntry($0, feedLanguage: language, encoder: encoder) }
    }
    let chunk = (entries.count + workers - 1) / workers
    return try await withThrowingTaskGroup(of: (Int, [PreparedEntry]).self) { group in
      for start in stride(from: 0, to: entries.count, by: chunk) {
        let slice = entries[start..<min(start + chunk, entries.count)]
        group.addTask {
          let encoder = makeEncoder()
          return (
            start, try slice.map { try PreparedEntry($0, feedLanguage: language, encoder: encoder) }
          )
        }
      }
      var parts: [(Int, [PreparedEntry])] = []
      for try await part in group { parts.append(part) }
      return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
    }
  }
}

/// Milliseconds since 1970: the unit of `sortDate`, identical to the cursor token's.
@inline(__always) func milliseconds(_ date: Date) -> Int64 {
  Int64((date.timeIntervalSince1970 * 1000).rounded())
}

/// The primary language subtag (`lt-LT` → `lt`), lowercased.
func primaryLanguage(_ tag: String?) -> String? {
  guard let tag else { return nil }
  let primary = tag.trimmingCharacters(in: .whitespacesAndNewlines)
    .split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map { $0.lowercased() }
  guard let primary, !primary.isEmpty else { return nil }
  return primary
}

/// Whether an id can be published as an Atom id as it is.
func isAbsoluteURI(_ s: String) -> Bool {
  let lower = s.prefix(8).lowercased()
  guard
    lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("urn:")
      || lower.hasPrefix("tag:")
  else { return false }
  return !s.contains(where: { $0.isWhitespace }) && s.count > 6
}

/// One write transaction's worth of work: source sync, or one crawl result. Generic over the
/// engine (`StoreConnection`), so SQLite and PostgreSQL run these very rules; specialised by the
/// optimiser for each engine, so the SQLite hot path stays direct C-API calls.
package struct Ingest<DB: StoreConnection> {
  let db: DB
  let options: StoreOptions
  private var sourceCache: [String: (categories: [String], priority: Int)] = [:]
  /// Each source's `[source.filter]`, compiled, read once per transaction (nil: no filter).
  private var filterCache: [String: CompiledEntryFilter?] = [:]
  private var deltas: [String: Int64] = [:]
  private let encoder = PreparedEntry.makeEncoder()
  /// Set when a stored entry was rewritten (a change that is published even if it counts as
  /// neither new nor updated, e.g. new categories).
  private var rewroteRows = false

  package init(db: DB, options: StoreOptions) {
    self.db = db
    self.options = options
  }

  static var facetSeparator: Character { IngestConstants.facetSeparator }
  /// Near-duplicate candidates read per new entry, at most (see `nearDuplicateSQL`).
  static var candidateLimit: Int { IngestConstants.candidateLimit }

  // MARK: sources

  mutating func syncSources(_ definitions: [SourceDefinition], at now: Date = Date()) throws {
    var existing: [String: SQLRow] = [:]
    for row in try db.fetchAll(
      """
      SELECT id, url, kind, title, categories, priority, language, active, configHash, filterSpec
      FROM source
      """)
    {
      existing[row.string("id")] = row
    }
    var changed = false
    var refreshFacets: Set<String> = []
    var refreshPreference: Set<String> = []
    var toggled: [String] = []
    var refilter: [String] = []
    var configured: Set<String> = []
    for def in definitions {
      configured.insert(def.id)
      let categories = String(decoding: try encoder.encode(def.categories), as: UTF8.self)
      let active = def.enabled
      let hash = Self.configHash(def)
      let spec = Self.filterSpec(def.filter)
      if let row = existing[def.id] {
        if row.optionalString("filterSpec") != spec {
          try db.execute(
            "UPDATE source SET filterSpec = ? WHERE id = ?", [SQLValue(spec), .text(def.id)])
          refilter.append(def.id)
        }
        let oldURL = row.string("url")
        let oldCategories = row.string("categories")
        let oldPriority = row.int("priority")
        let oldHash = row.optionalString("configHash")
        let wasActive = row.bool("active")
        let same =
          oldURL == def.url && row.string("kind") == def.kind.rawValue
          && row.optionalString("title") == def.title && oldCategories == categories
          && oldPriority == def.priority && row.optionalString("language") == def.language
          && wasActive == active
        if oldHash != hash {
          // Any change of the source's table is the admin's answer to a 410 Gone (a store
          // upgraded from before the hash existed only records it).
          try db.execute(
            oldHash == nil
              ? "UPDATE source SET configHash = ? WHERE id = ?"
              : "UPDATE source SET configHash = ?, nextDue = CASE WHEN gone = 1 THEN NULL ELSE nextDue END, gone = 0 WHERE id = ?",
            [.text(hash), .text(def.id)])
        }
        if same { continue }
        changed = true
        try db.execute(
          """
          UPDATE source SET url = ?, kind = ?, title = ?, categories = ?, priority = ?,
            language = ?, active = ?, inactiveSince = ? WHERE id = ?
          """,
          [
            .text(def.url), .text(def.kind.rawValue), SQLValue(def.title), .text(categories),
            SQLValue(def.priority), SQLValue(def.language), SQLValue(active),
            SQLValue(active ? nil : now.timeIntervalSince1970), .text(def.id),
          ])
        if oldURL != def.url {
          // Validators, the current document and redirect/gone state belong to the old URL; the
          // new one is due at once (a fleet schedules from `nextDue`).
          try db.execute(
            """
            UPDATE source SET etag = NULL, lastModified = NULL, bodyHash = NULL, movedTo = NULL,
              gone = 0, currentIDs = NULL, nextDue = NULL WHERE id = ?
            """, [.text(def.id)])
        }
        if wasActive != active {
          toggled.append(def.id)
        } else {
          if oldCategories != categories { refreshFacets.insert(def.id) }
          if oldPriority != def.priority { refreshPreference.insert(def.id) }
        }
      } else {
        changed = true
        try db.execute(
          """
          INSERT INTO source (id, url, kind, title, categories, priority, language, active,
            configHash, inactiveSince, filterSpec)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
          [
            .text(def.id), .text(def.url), .text(def.kind.rawValue), SQLValue(def.title),
            .text(categories), SQLValue(def.priority), SQLValue(def.language), SQLValue(active),
            .text(hash), SQLValue(active ? nil : now.timeIntervalSince1970), SQLValue(spec),
          ])
      }
    }
    for (id, row) in existing.sorted(by: { $0.key < $1.key })
    where !configured.contains(id) && row.bool("active") {
      changed = true
      try db.execute(
        "UPDATE source SET active = 0, inactiveSince = ? WHERE id = ?",
        [.real(now.timeIntervalSince1970), .text(id)])
      toggled.append(id)
    }
    sourceCache = [:]
    filterCache = [:]
    try refreshGroups(ofSources: toggled)
    for id in refilter where try self.refilter(sourceID: id) { changed = true }
    for id in refreshFacets.union(refreshPreference).sorted() {
      let sql =
        refreshFacets.contains(id)
        ? "SELECT DISTINCT groupID FROM entry WHERE sourceID = ?"
        : """
        SELECT DISTINCT e.groupID FROM entry e JOIN grp g ON g.id = e.groupID
        WHERE e.sourceID = ? AND g.memberCount > 1
        """
      for groupID in try db.int64s(sql, [.text(id)]) {
        try refreshGroup(groupID)
      }
    }
    if changed { bump("changeToken") }
    try flushDeltas()
  }

  /// A digest of everything the admin wrote for one source, to notice any change of its table.
  static func configHash(_ def: SourceDefinition) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = (try? encoder.encode(def)) ?? Data(def.id.utf8)
    return sha256Hex(String(decoding: data, as: UTF8.self))
  }

  /// The stored form of a source's filter: sorted-keys JSON, nil for none (or an empty one), so
  /// equal filters compare equal as text.
  static func filterSpec(_ filter: EntryFilter?) -> String? {
    guard let filter, !filter.isEmpty else { return nil }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return (try? encoder.encode(filter)).map { String(decoding: $0, as: UTF8.self) }
  }

  /// A source's compiled filter, as `syncSources` stored it (compiled once per process per spec).
  private mutating func filter(of sourceID: String) throws -> CompiledEntryFilter? {
    if let cached = filterCache[sourceID] { return cached }
    var spec: String?
    try db.each("SELECT filterSpec FROM source WHERE id = ?", [.text(sourceID)]) {
      spec = $0.optionalString(0)
    }
    let compiled = spec.flatMap(CompiledFilters.compiled)
    filterCache[sourceID] = .some(compiled)
    return compiled
  }

  /// Re-judges every stored entry of a source by its current filter (a reload changed it):
  /// entries whose verdict moved are flagged or unflagged and their groups recomputed, so what
  /// is published follows the filter without refetching. True when anything published changed.
  mutating func refilter(sourceID: String) throws -> Bool {
    let filter = try self.filter(of: sourceID)
    var flips: [(id: Int64, groupID: Int64, filtered: Bool)] = []
    for row in try db.fetchAll("SELECT * FROM entry WHERE sourceID = ?", [.text(sourceID)]) {
      let was = row.bool("filtered")
      // The stored row read back as the publisher reads it, judged as ingest judges a parsed
      // entry: one mapping, one verdict.
      let now =
        try filter.map { try $0.verdict(for: Timeline.storedEntry(row).entry) != nil } ?? false
      if was != now { flips.append((row.int64("id"), row.int64("groupID"), now)) }
    }
    for f in flips {
      try db.run(
        "UPDATE entry SET filtered = ? WHERE id = ?", [SQLValue(f.filtered), .integer(f.id)])
    }
    for groupID in Set(flips.map(\.groupID)).sorted() { try refreshGroup(groupID) }
    try recountFiltered(sourceID)
    return !flips.isEmpty
  }

  /// Rewrites a source's stored entries through `transform` (each row read back as the
  /// publisher reads it; nil keeps the row), for `clusterwire resanitize` (issue 17). Hashes,
  /// fingerprint and near-duplicate index follow the new text exactly as for a fetched change,
  /// through the same `update`; identity, group, sort date and content date stay (a new
  /// sanitiser policy is not news). Bumps the change token when anything changed, so every
  /// document re-renders. Returns the number of rows rewritten.
  mutating func rewrite(sourceID: String, transform: (Entry) throws -> Entry?) throws -> Int {
    let encoder = PreparedEntry.makeEncoder()
    var changed = 0
    for row in try db.fetchAll("SELECT * FROM entry WHERE sourceID = ?", [.text(sourceID)]) {
      guard let new = try transform(Timeline.storedEntry(row).entry) else { continue }
      let p = try PreparedEntry(new, feedLanguage: nil, encoder: encoder)
      guard p.fullHash != row.string("fullHash") else { continue }
      let ex = ExistingRow(
        id: row.int64("id"), groupID: row.int64("groupID"), sortDate: row.int64("sortDate"),
        language: row.optionalString("language"), simhash: row.int64("simhash"),
        tokenCount: row.int("tokenCount"), normTitle: row.string("normTitle"),
        canonical: row.optionalString("canonicalURL"), contentHash: row.string("contentHash"),
        fullHash: row.string("fullHash"), contentUpdated: row.double("contentUpdated"),
        updated: row.optionalDouble("updated"), filtered: row.bool("filtered"))
      try update(
        ex, p, language: ex.language, contentUpdated: ex.contentUpdated, filtered: ex.filtered)
      changed += 1
    }
    if changed > 0 { bump("changeToken") }
    try flushDeltas()
    return changed
  }

  /// `source.filteredCount`: how many of the source's stored entries its filter refuses now.
  private func recountFiltered(_ sourceID: String) throws {
    try db.run(
      """
      UPDATE source SET filteredCount = (SELECT COUNT(*) FROM entry
        WHERE entry.sourceID = source.id AND entry.filtered = 1) WHERE id = ?
      """, [.text(sourceID)])
  }

  private mutating func categories(of sourceID: String) throws -> [String] {
    try sourceInfo(sourceID).categories
  }

  private mutating func priority(of sourceID: String) throws -> Int {
    try sourceInfo(sourceID).priority
  }

  /// A source's categories and priority, read once per transaction.
  private mutating func sourceInfo(_ sourceID: String) throws -> (
    categories: [String], priority: Int
  ) {
    if let cached = sourceCache[sourceID] { return cached }
    var json = "[]"
    var priority = 0
    try db.each("SELECT categories, priority FROM source WHERE id = ?", [.text(sourceID)]) {
      json = $0.string(0)
      priority = $0.int(1)
    }
    let categories = (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    let info = (categories: categories, priority: priority)
    sourceCache[sourceID] = info
    return info
  }

  // MARK: record

  /// Records one crawl result; `prepared` are `feed`'s entries run through
  /// `PreparedEntry.prepareAll`.
  mutating func record(_ outcome: FetchOutcome, feed: Feed?, prepared: [PreparedEntry])
    throws -> IngestReport
  {
    guard
      let row = try db.fetchOne(
        """
        SELECT etag, lastModified, bodyHash, consecutiveFailures, failingSince, lastSuccess,
          gone, language, keyMode, entryCount, feedID, feedTitle, feedLink, feedUpdated,
          feedIcon, feedRights, feedAuthor, feedLanguage, feedHead FROM source WHERE id = ?
        """, [.text(outcome.sourceID)])
    else { throw FeedStoreError.unknownSource(outcome.sourceID) }
    let at = outcome.attemptedAt.timeIntervalSince1970
    var etag = row.optionalString("etag")
    var lastModified = row.optionalString("lastModified")
    var bodyHash = row.optionalString("bodyHash")
    var failures = row.int("consecutiveFailures")
    var failingSince = row.optionalDouble("failingSince")
    var lastSuccess = row.optionalDouble("lastSuccess")
    var gone = row.bool("gone")
    switch outcome.result {
    case .fetched:
      etag = outcome.etag
      lastModified = outcome.lastModified
      bodyHash = outcome.bodyHash ?? bodyHash
      failures = 0
      failingSince = nil
      lastSuccess = at
      gone = false
    case .notModified:
      etag = outcome.etag ?? etag
      lastModified = outcome.lastModified ?? lastModified
      bodyHash = outcome.bodyHash ?? bodyHash
      failures = 0
      failingSince = nil
      lastSuccess = at
      gone = false
    case .failed:
      failures += 1
      failingSince = failingSince ?? at
    case .gone:
      failures += 1
      failingSince = failingSince ?? at
      gone = true
    }
    let lastError = outcome.error ?? (outcome.result == .gone ? "410 Gone" : nil)
    try db.run(
      """
      UPDATE source SET etag = ?, lastModified = ?, bodyHash = ?, lastAttempt = ?,
        lastSuccess = ?, httpStatus = ?, consecutiveFailures = ?, lastError = ?,
        failingSince = ?, nextDue = ?, movedTo = ?, gone = ? WHERE id = ?
      """,
      [
        SQLValue(etag), SQLValue(lastModified), SQLValue(bodyHash), .real(at),
        SQLValue(lastSuccess), SQLValue(outcome.httpStatus), SQLValue(failures),
        SQLValue(lastError), SQLValue(failingSince), .real(outcome.nextDue.timeIntervalSince1970),
        SQLValue(outcome.movedTo), SQLValue(gone), .text(outcome.sourceID),
      ])
    var report = IngestReport()
    // Only what is published moves the change token: a 304, an identical body or a failure
    // leaves every rendered feed valid (the HTML page's health section refreshes on its own).
    var publishedChange = false
    if outcome.result == .gone {
      // The document is gone: nothing of it protects its entries from retention any more.
      try db.run("UPDATE source SET currentIDs = NULL WHERE id = ?", [.text(outcome.sourceID)])
    }
    if let feed {
      let author = feed.authors.first.flatMap { $0.name ?? $0.email }
      let oldMeta: [String?] = [
        row.optionalString("feedID"), row.optionalString("feedTitle"),
        row.optionalString("feedLink"), row.optionalDouble("feedUpdated").map { "\($0)" },
        row.optionalString("feedIcon"), row.optionalString("feedRights"),
        row.optionalString("feedAuthor"), row.optionalString("feedLanguage"),
      ]
      let newMeta: [String?] = [
        feed.id, feed.title, feed.link, feed.updated.map { "\($0.timeIntervalSince1970)" },
        feed.icon ?? feed.logo, feed.rights, author, feed.language,
      ]
      // The whole head is what `atom:source` is built from: a change of any of it is published.
      let head = FeedHead.encode(feed)
      if oldMeta != newMeta || row.optionalData("feedHead") != head { publishedChange = true }
      try db.run(
        """
        UPDATE source SET feedID = ?, feedTitle = ?, feedLink = ?, feedUpdated = ?, feedIcon = ?,
          feedRights = ?, feedAuthor = ?, feedLanguage = ?, feedHead = ? WHERE id = ?
        """,
        [
          SQLValue(feed.id), SQLValue(feed.title), SQLValue(feed.link),
          SQLValue(feed.updated?.timeIntervalSince1970), SQLValue(feed.icon ?? feed.logo),
          SQLValue(feed.rights), SQLValue(author), SQLValue(feed.language), SQLValue(head),
          .text(outcome.sourceID),
        ])
      report = try ingestEntries(
        prepared, sourceID: outcome.sourceID, mode: row.int("keyMode"),
        entryCount: row.int("entryCount"),
        sourceLanguage: primaryLanguage(row.optionalString("language")), at: outcome.attemptedAt)
      if report.inserted + report.updated + report.expired > 0 || rewroteRows {
        publishedChange = true
      }
    }
    if publishedChange { bump("changeToken") }
    try flushDeltas()
    return report
  }

  // MARK: entries

  private struct ExistingRow {
    var id: Int64
    var groupID: Int64
    var sortDate: Int64
    var language: String?
    var simhash: Int64
    var tokenCount: Int
    var normTitle: String
    var canonical: String?
    var contentHash: String
    var fullHash: String
    var contentUpdated: Double
    var updated: Double?
    var filtered: Bool
  }

  private mutating func ingestEntries(
    _ prepared: [PreparedEntry], sourceID: String, mode initialMode: Int,
    entryCount initialCount: Int, sourceLanguage: String?, at: Date
  ) throws -> IngestReport {
    var report = IngestReport()
    var mode = initialMode
    var keys: [String] = []
    var existing: [ExistingRow?] = []
    while true {
      keys = prepared.map { $0.key(mode) }
      if mode < 2 && Self.hasCollision(prepared, keys) {
        mode += 1
        try migrateKeys(sourceID: sourceID, to: mode)
        continue
      }
      existing = try lookup(sourceID: sourceID, keys: keys)
      if mode == 0 {
        let strike = zip(prepared, existing).contains { p, ex in
          guard let ex, p.guid != nil, let a = ex.canonical, let b = p.canonical else {
            return false
          }
          return a != b && ex.normTitle != p.normTitle
        }
        if strike {
          // The same id came back as a clearly different story (new title AND new link): the
          // source reuses ids. Re-key everything by link before anything is overwritten.
          mode = 1
          try migrateKeys(sourceID: sourceID, to: mode)
          continue
        }
      }
      break
    }

    let filter = try self.filter(of: sourceID)
    var filterMoved = false
    var count = initialCount
    var seen = Set<String>()
    var fresh: [Int] = []
    // The entry ids of this document: retention never drops them.
    var current: [Int64] = []
    current.reserveCapacity(prepared.count)
    let atSeconds = at.timeIntervalSince1970
    for i in prepared.indices {
      if !seen.insert(keys[i]).inserted {
        report.unchanged += 1
        continue
      }
      guard let ex = existing[i] else {
        fresh.append(i)
        continue
      }
      current.append(ex.id)
      if ex.fullHash == prepared[i].fullHash {
        report.unchanged += 1
        continue
      }
      let p = prepared[i]
      let contentChanged = ex.contentHash != p.contentHash
      var contentUpdated = ex.contentUpdated
      if contentChanged {
        report.updated += 1
        // The publisher's own `updated` when it moved with this change, else now.
        let stamped = p.entry.updated?.timeIntervalSince1970
        if let stamped, stamped != ex.updated, stamped > ex.contentUpdated, stamped <= atSeconds {
          contentUpdated = stamped
        } else {
          contentUpdated = max(atSeconds, ex.contentUpdated + 0.001)
        }
      } else {
        report.unchanged += 1
      }
      let language = p.language(sourceLanguage: sourceLanguage)
      let filtered = filter?.verdict(for: p.entry) != nil
      rewroteRows = true
      try update(ex, p, language: language, contentUpdated: contentUpdated, filtered: filtered)
      if ex.filtered != filtered { filterMoved = true }
      if ex.language != language || ex.filtered != filtered { try refreshGroup(ex.groupID) }
    }

    if !fresh.isEmpty {
      // What every new entry needs to know, asked once for the whole feed: which keys were
      // removed before (tombstones), which published ids are taken, and which canonical URLs
      // another source already has. (Rows this transaction inserts belong to this source, so
      // they never change these answers for the entries after them.)
      let hasTombstones = try !db.int64s(
        "SELECT 1 FROM tombstone WHERE sourceID = ? LIMIT 1", [.text(sourceID)]
      ).isEmpty
      if hasTombstones {
        var removed = Set<String>()
        try fetchIn(
          "SELECT key FROM tombstone WHERE sourceID = ? AND key IN", before: [sourceID],
          fresh.map { keys[$0] }
        ) { removed.insert($0.string(0)) }
        let before = fresh.count
        fresh.removeAll { removed.contains(keys[$0]) }
        report.suppressed += before - fresh.count
      }
      let atomIDs = fresh.map {
        Self.atomID(prepared[$0], key: keys[$0], mode: mode, sourceID: sourceID)
      }
      var taken = Set<String>()
      try fetchIn("SELECT atomID FROM entry WHERE atomID IN", atomIDs) {
        taken.insert($0.string(0))
      }
      var canonicalGroups: [String: Int64] = [:]
      let canonicals = fresh.compactMap { prepared[$0].canonical }
      if !canonicals.isEmpty {
        try fetchIn(
          """
          SELECT canonicalURL, groupID FROM entry
          WHERE canonicalURL IS NOT NULL AND sourceID <> ? AND canonicalURL IN
          """, before: [sourceID], canonicals
        ) { row in
          let url = row.string(0)
          if canonicalGroups[url] == nil { canonicalGroups[url] = row.int64(1) }
        }
      }
      for (n, i) in fresh.enumerated() {
        let filtered = filter?.verdict(for: prepared[i].entry) != nil
        if filtered { filterMoved = true }
        let (joined, id) = try insert(
          prepared[i], key: keys[i], atomID: atomIDs[n], atomIDTaken: taken.contains(atomIDs[n]),
          canonicalGroup: prepared[i].canonical.flatMap { canonicalGroups[$0] },
          sourceID: sourceID, language: prepared[i].language(sourceLanguage: sourceLanguage),
          filtered: filtered, at: at)
        if joined { report.joinedGroups += 1 }
        report.inserted += 1
        current.append(id)
        count += 1
      }
    }
    try db.run(
      "UPDATE source SET currentIDs = ? WHERE id = ?",
      [.blob(Retention.pack(current)), .text(sourceID)])

    let dropped = try applyRetention(
      sourceID: sourceID, mode: mode, entryCount: count, protected: Set(current), at: at)
    count -= dropped.total
    report.expired += dropped.total
    if filterMoved || (filter != nil && dropped.total > 0) { try recountFiltered(sourceID) }
    if filter != nil || filterMoved {
      report.filteredEntries = try db.fetchOne(
        "SELECT filteredCount FROM source WHERE id = ?", [.text(sourceID)]
      )?[0].int64.map { Int($0) }
    }
    if count != initialCount || dropped.total > 0 {
      try db.run(
        "UPDATE source SET entryCount = ?, retentionDropped = retentionDropped + ? WHERE id = ?",
        [SQLValue(count), SQLValue(dropped.total), .text(sourceID)])
    }
    return report
  }

  /// Two items of one document share a key but are clearly different stories.
  static func hasCollision(_ prepared: [PreparedEntry], _ keys: [String]) -> Bool {
    var first: [String: Int] = [:]
    for (i, key) in keys.enumerated() {
      if let j = first[key] {
        if prepared[i].signature != prepared[j].signature { return true }
      } else {
        first[key] = i
      }
    }
    return false
  }

  /// The stored rows of a source under `keys`, aligned with `keys` (nil: not stored).
  private func lookup(sourceID: String, keys: [String]) throws -> [ExistingRow?] {
    var found: [String: ExistingRow] = [:]
    try fetchIn(
      """
      SELECT key, id, groupID, sortDate, language, simhash, tokenCount, normTitle, canonicalURL,
        contentHash, fullHash, contentUpdated, updated, filtered FROM entry
      WHERE sourceID = ? AND key IN
      """, before: [sourceID], keys
    ) { row in
      found[row.string(0)] = ExistingRow(
        id: row.int64(1), groupID: row.int64(2), sortDate: row.int64(3),
        language: row.optionalString(4), simhash: row.int64(5), tokenCount: row.int(6),
        normTitle: row.string(7), canonical: row.optionalString(8), contentHash: row.string(9),
        fullHash: row.string(10), contentUpdated: row.double(11), updated: row.optionalDouble(12),
        filtered: row.int(13) != 0)
    }
    return keys.map { found[$0] }
  }

  /// Values per `IN (…)` list in `fetchIn`.
  static var inListSize: Int { IngestConstants.inListSize }
  static var inList: String { IngestConstants.inList }

  /// Runs `sql`, which ends with `IN`, with `(?, …)` appended, over `values` in chunks of
  /// `inListSize`, calling `row` on each result row: a feed's lookups become a few statements,
  /// each compiled once and cached whatever the feed's size (a short last chunk is padded with
  /// NULL, which matches nothing). `before` binds the parameters ahead of the list.
  private func fetchIn(
    _ sql: String, before: [String] = [], _ values: [String],
    _ row: (DB.Statement) throws -> Void
  ) throws {
    let statement = try db.statement(sql + Self.inList)
    var start = 0
    while start < values.count {
      let end = min(start + Self.inListSize, values.count)
      var index: Int32 = 1
      for v in before {
        try statement.bind(index, v)
        index += 1
      }
      for i in start..<(start + Self.inListSize) {
        try statement.bind(index, i < end ? values[i] : nil)
        index += 1
      }
      while try statement.step() { try row(statement) }
      statement.reset()
      start = end
    }
  }

  /// Re-keys a source's stored entries after its key mode was raised. A row whose new key is
  /// already taken keeps its old one: nothing is duplicated and nothing is lost.
  private func migrateKeys(sourceID: String, to mode: Int) throws {
    let rows = try db.fetchAll(
      "SELECT id, key, guid, link, canonicalURL, idHash FROM entry WHERE sourceID = ?",
      [.text(sourceID)])
    for row in rows {
      let newKey = PreparedEntry.key(
        mode: mode, guid: row.optionalString("guid"), canonical: row.optionalString("canonicalURL"),
        link: row.optionalString("link"), idHash: row.string("idHash"))
      if newKey != row.string("key") {
        // (What `UPDATE OR IGNORE` did on SQLite alone: a taken key leaves the row as it is.)
        try db.run(
          """
          UPDATE entry SET key = ? WHERE id = ?
            AND NOT EXISTS (SELECT 1 FROM entry WHERE sourceID = ? AND key = ?)
          """, [.text(newKey), row["id"], .text(sourceID), .text(newKey)])
      }
    }
    try db.run("UPDATE source SET keyMode = ? WHERE id = ?", [SQLValue(mode), .text(sourceID)])
  }

  /// Entry ids come from a persisted counter (read once per transaction, written back at the
  /// end) so an id, and the group id derived from it, is never reused after a deletion.
  private var nextID: Int64?

  private mutating func allocateID() throws -> Int64 {
    if nextID == nil {
      // PostgreSQL: the counter row stays locked until commit, so two instances writing at once
      // never hand out the same id (SQLite's write transaction is exclusive already).
      let sql =
        db.dialect == .postgres
        ? "SELECT value FROM meta WHERE key = 'nextEntryID' FOR UPDATE"
        : "SELECT value FROM meta WHERE key = 'nextEntryID'"
      guard let value = try db.int64s(sql, []).first
      else { throw FeedStoreError.corrupt("meta.nextEntryID missing") }
      nextID = value
    }
    let id = nextID!
    nextID = id + 1
    bump("nextEntryID")
    return id
  }

  private func facetList(sourceID: String, language: String?, categories: [String]) -> [String] {
    var facets = ["", "s:" + sourceID]
    for c in categories { facets.append("c:" + c) }
    if let language { facets.append("l:" + language) }
    return facets
  }

  /// The published id of a new entry: its own id when that is an absolute URI and ids are its
  /// key, else one derived from its source and key.
  static func atomID(_ p: PreparedEntry, key: String, mode: Int, sourceID: String) -> String {
    if mode == 0, let guid = p.guid, p.guidIsURI { return guid }
    return "urn:clusterwire:\(sourceID):\(sha256Hex(key).prefix(32))"
  }

  /// Inserts a new entry; returns whether it joined another source's duplicate group, and its
  /// id. `atomIDTaken` and `canonicalGroup` come from the feed's batched lookups.
  private mutating func insert(
    _ p: PreparedEntry, key: String, atomID preferredAtomID: String, atomIDTaken: Bool,
    canonicalGroup: Int64?, sourceID: String, language: String?, filtered: Bool, at: Date
  ) throws -> (joined: Bool, id: Int64) {
    let id = try allocateID()
    var sortDate = p.entry.published ?? p.entry.updated ?? at
    if sortDate > at { sortDate = at }  // a future date would pin the story on top
    let sortMs = milliseconds(sortDate)

    var atomID = preferredAtomID
    if atomIDTaken {
      // Another source published the same id (syndicated copy) or a key came back after a
      // re-key: derive a unique one from this source and entry.
      atomID = "urn:clusterwire:\(sourceID):\(sha256Hex(key + "\u{1}\(id)").prefix(32))"
    }

    let existingGroup =
      try canonicalGroup ?? findNearDuplicate(p, sourceID: sourceID, sortMs: sortMs)
    let groupID = existingGroup ?? id
    // A filtered entry keeps its group id (a later copy of the story from another source may
    // still join it) but is no member: no group row of its own, no timeline rows, no join.
    if existingGroup == nil && !filtered {
      let facets = facetList(
        sourceID: sourceID, language: language, categories: try categories(of: sourceID)
      ).sorted()
      let group = try db.statement(
        "INSERT INTO grp (id, preferredEntryID, sortDate, memberCount, facets) VALUES (?, ?, ?, 1, ?)"
      )
      try group.bind(1, id)
      try group.bind(2, id)
      try group.bind(3, sortMs)
      try group.bind(4, Self.encodeFacets(facets))
      try group.execute()
      try insertFacets(facets, sortMs: sortMs, groupID: id)
      bump("groups")
    }
    let e = p.entry
    let row = try db.statement(
      """
      INSERT INTO entry (id, sourceID, key, groupID, sortDate, firstSeen, contentUpdated, language,
        simhash, tokenCount, normTitle, canonicalURL, idHash, contentHash, fullHash, atomID, guid,
        link, title, published, updated, entryLanguage, summaryType, contentType, extra, summary,
        content, filtered)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      """)
    try row.bind(1, id)
    try row.bind(2, sourceID)
    try row.bind(3, key)
    try row.bind(4, groupID)
    try row.bind(5, sortMs)
    try row.bind(6, at.timeIntervalSince1970)
    try row.bind(7, (e.updated ?? e.published ?? at).timeIntervalSince1970)
    try row.bind(8, language)
    try row.bind(9, Int64(bitPattern: p.fingerprint.simhash))
    try row.bind(10, p.fingerprint.tokenCount)
    try row.bind(11, p.normTitle)
    try row.bind(12, p.canonical)
    try row.bind(13, p.idHash)
    try row.bind(14, p.contentHash)
    try row.bind(15, p.fullHash)
    try row.bind(16, atomID)
    try row.bind(17, p.guid)
    try row.bind(18, e.link)
    try row.bind(19, e.title)
    try row.bind(20, e.published?.timeIntervalSince1970)
    try row.bind(21, e.updated?.timeIntervalSince1970)
    try row.bind(22, e.language)
    try row.bind(23, e.summary.map { Int64($0.type == .html ? 1 : 0) })
    try row.bind(24, e.content.map { Int64($0.type == .html ? 1 : 0) })
    try row.bind(25, p.extra)
    try row.bind(26, e.summary?.value)
    try row.bind(27, e.content?.value)
    try row.bind(28, Int64(filtered ? 1 : 0))
    try row.execute()
    if p.fingerprint.tokenCount > 0 {
      try indexNearDuplicate(id: id, simhash: p.fingerprint.simhash, sortMs: sortMs)
    }
    if let existingGroup, !filtered {
      try join(
        groupID: existingGroup, entryID: id, sourceID: sourceID, language: language,
        sortMs: sortMs, firstSeen: at.timeIntervalSince1970)
      return (true, id)
    }
    return (false, id)
  }

  private func update(
    _ ex: ExistingRow, _ p: PreparedEntry, language: String?, contentUpdated: Double,
    filtered: Bool
  ) throws {
    let e = p.entry
    let simhash = Int64(bitPattern: p.fingerprint.simhash)
    try db.run(
      """
      UPDATE entry SET guid = ?, title = ?, link = ?, published = ?, updated = ?, summaryType = ?,
        summary = ?, contentType = ?, content = ?, entryLanguage = ?, extra = ?, language = ?,
        normTitle = ?, simhash = ?, tokenCount = ?, contentHash = ?, fullHash = ?,
        contentUpdated = ?, filtered = ?
      WHERE id = ?
      """,
      [
        SQLValue(p.guid), SQLValue(e.title), SQLValue(e.link),
        SQLValue(e.published?.timeIntervalSince1970), SQLValue(e.updated?.timeIntervalSince1970),
        SQLValue(e.summary.map { $0.type == .html ? 1 : 0 }), SQLValue(e.summary?.value),
        SQLValue(e.content.map { $0.type == .html ? 1 : 0 }), SQLValue(e.content?.value),
        SQLValue(e.language), SQLValue(p.extra), SQLValue(language), .text(p.normTitle),
        .integer(simhash), SQLValue(p.fingerprint.tokenCount), .text(p.contentHash),
        .text(p.fullHash), .real(contentUpdated), SQLValue(filtered), .integer(ex.id),
      ])
    let wasIndexed = ex.tokenCount > 0
    let isIndexed = p.fingerprint.tokenCount > 0
    if wasIndexed != isIndexed || (isIndexed && ex.simhash != simhash) {
      if wasIndexed {
        try unindexNearDuplicate(
          id: ex.id, simhash: UInt64(bitPattern: ex.simhash), sortMs: ex.sortDate)
      }
      if isIndexed {
        try indexNearDuplicate(id: ex.id, simhash: p.fingerprint.simhash, sortMs: ex.sortDate)
      }
    }
  }

  /// Inserts a new group's timeline rows, one statement for all its facets.
  /// Deletes a group's timeline rows (those it had at `sortMs`).
  private func deleteFacets(_ facets: some Sequence<String>, sortMs: Int64, groupID: Int64) throws {
    let delete = try db.statement(
      "DELETE FROM group_facet WHERE facet = ? AND sortDate = ? AND groupID = ?")
    for f in facets {
      try delete.bind(1, f)
      try delete.bind(2, sortMs)
      try delete.bind(3, groupID)
      try delete.execute()
    }
  }

  /// `grp.facets`: a group's timeline facets in one text column, so they can be deleted without
  /// a scan of `group_facet`.
  static func encodeFacets(_ facets: [String]) -> String {
    facets.joined(separator: String(facetSeparator))
  }

  static func decodeFacets(_ text: String) -> [String] {
    text.split(separator: facetSeparator, omittingEmptySubsequences: false).map(String.init)
  }

  private func updateGroup(
    _ groupID: Int64, preferred: Int64, sortMs: Int64, memberCount: Int, facets: [String]
  ) throws {
    let update = try db.statement(
      "UPDATE grp SET preferredEntryID = ?, sortDate = ?, memberCount = ?, facets = ? WHERE id = ?")
    try update.bind(1, preferred)
    try update.bind(2, sortMs)
    try update.bind(3, memberCount)
    try update.bind(4, Self.encodeFacets(facets))
    try update.bind(5, groupID)
    try update.execute()
  }

  /// The multi-row `group_facet` insert for `count` facets (one statement per group).
  /// (Built once for the usual counts, so the hot path does not rebuild the text.)
  static func facetInsertSQL(count: Int) -> String {
    let built = IngestConstants.facetInsertSQLs
    return count < built.count ? built[count] : IngestConstants.makeFacetInsertSQL(count: count)
  }

  private func insertFacets(_ facets: [String], sortMs: Int64, groupID: Int64) throws {
    guard !facets.isEmpty else { return }
    let insert = try db.statement(Self.facetInsertSQL(count: facets.count))
    var index: Int32 = 1
    for f in facets {
      try insert.bind(index, f)
      try insert.bind(index + 1, sortMs)
      try insert.bind(index + 2, groupID)
      index += 3
    }
    try insert.execute()
  }

  private func indexNearDuplicate(id: Int64, simhash: UInt64, sortMs: Int64) throws {
    let bucket = sortMs / NearDuplicateIndex.bucketMilliseconds
    let insert = try db.statement(
      "INSERT INTO near_dup (bucket, band, entryID) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?)"
    )
    for band in 0..<NearDuplicateIndex.bands {
      let index = Int32(band * 3)
      try insert.bind(index + 1, bucket)
      try insert.bind(index + 2, NearDuplicateIndex.bandKey(simhash, band: band))
      try insert.bind(index + 3, id)
    }
    try insert.execute()
  }

  private func unindexNearDuplicate(id: Int64, simhash: UInt64, sortMs: Int64) throws {
    let keys = NearDuplicateIndex.bandKeys(simhash)
    try db.run(
      "DELETE FROM near_dup WHERE bucket = ? AND band IN (?, ?, ?, ?) AND entryID = ?",
      [
        .integer(sortMs / NearDuplicateIndex.bucketMilliseconds), .integer(keys[0]),
        .integer(keys[1]), .integer(keys[2]), .integer(keys[3]), .integer(id),
      ])
  }

  /// The candidate query of `findNearDuplicate`: one index seek per (bucket, band), with `IN`
  /// lists on both key columns, never a range on the first (that would read every band of the
  /// buckets). Capped: a source repeating boilerplate text must not make every insert read
  /// thousands of candidates.
  static func nearDuplicateSQL(bucketCount: Int) -> String {
    let bucketMarks = Array(repeating: "?", count: max(1, bucketCount)).joined(separator: ", ")
    return """
      SELECT e.groupID, e.sourceID, e.simhash, e.tokenCount, e.normTitle
      FROM near_dup n JOIN entry e ON e.id = n.entryID
      WHERE n.bucket IN (\(bucketMarks)) AND n.band IN (?, ?, ?, ?)
        AND e.sourceID <> ? AND e.sortDate BETWEEN ? AND ?
      LIMIT \(candidateLimit)
      """
  }

  /// The group of the closest near-duplicate from another source within the window, if any
  /// (asked after the canonical URL found no copy).
  private func findNearDuplicate(_ p: PreparedEntry, sourceID: String, sortMs: Int64) throws
    -> Int64?
  {
    guard p.fingerprint.tokenCount > 0 else { return nil }
    let window = Int64(options.duplicateWindow * 1000)
    let buckets = NearDuplicateIndex.buckets(around: sortMs, window: window)
    let query = try db.statement(Self.nearDuplicateSQL(bucketCount: buckets.count))
    var index: Int32 = 1
    for bucket in buckets {
      try query.bind(index, bucket)
      index += 1
    }
    for band in 0..<NearDuplicateIndex.bands {
      try query.bind(index, NearDuplicateIndex.bandKey(p.fingerprint.simhash, band: band))
      index += 1
    }
    try query.bind(index, sourceID)
    try query.bind(index + 1, sortMs - window)
    try query.bind(index + 2, sortMs + window)
    var best: (distance: Int, group: Int64)?
    while try query.step() {
      // (The query already excludes this source's own entries.)
      let simhash = UInt64(bitPattern: query.int64(2))
      let d = StoryMatching.hamming(simhash, p.fingerprint.simhash)
      // Most band hits are chance collisions of 16 bits: reject them before splitting titles.
      if d > StoryMatching.maxDistanceLong { continue }
      if let best, best.distance <= d { continue }
      let candidate = StoryMatching.Fingerprint(
        titleTokens: query.string(4).split(separator: " ").map(String.init), simhash: simhash,
        tokenCount: query.int(3))
      guard StoryMatching.sameStory(p.fingerprint, candidate) else { continue }
      best = (d, query.int64(0))
    }
    query.reset()
    return best?.group
  }

  /// Removes an entry (retention), leaving tombstones for its identity under the current and
  /// every stronger key mode, so it is not resurrected even after a later re-key.
  mutating func remove(entryID: Int64, mode: Int, at: Double) throws {
    guard
      let row = try db.fetchOne(
        """
        SELECT sourceID, key, groupID, guid, link, canonicalURL, idHash, simhash, tokenCount,
          sortDate FROM entry WHERE id = ?
        """, [.integer(entryID)])
    else { return }
    let sourceID = row.string("sourceID")
    var keys: Set<String> = [row.string("key")]
    for m in mode...2 {
      keys.insert(
        PreparedEntry.key(
          mode: m, guid: row.optionalString("guid"), canonical: row.optionalString("canonicalURL"),
          link: row.optionalString("link"), idHash: row.string("idHash")))
    }
    for key in keys.sorted() {
      let inserted = try db.execute(
        "INSERT INTO tombstone (sourceID, key, removedAt) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [.text(sourceID), .text(key), .real(at)])
      if inserted > 0 { bump("tombstones") }
    }
    if row.int("tokenCount") > 0 {
      try unindexNearDuplicate(
        id: entryID, simhash: UInt64(bitPattern: row.int64("simhash")),
        sortMs: row.int64("sortDate"))
    }
    try db.run("DELETE FROM entry WHERE id = ?", [.integer(entryID)])
    try refreshGroup(row.int64("groupID"))
  }

  /// Adds a new entry to an existing group without re-reading its members: the entry becomes
  /// the preferred one only if it wins the order `refreshGroup` uses (higher source priority,
  /// then earlier first seen, then lower id) against the current preferred entry, and it can
  /// only add timeline facets, never remove any.
  private mutating func join(
    groupID: Int64, entryID: Int64, sourceID: String, language: String?, sortMs: Int64,
    firstSeen: Double
  ) throws {
    let g = try db.statement(
      """
      SELECT g.preferredEntryID, g.sortDate, g.memberCount, g.facets, s.priority, e.firstSeen
      FROM grp g JOIN entry e ON e.id = g.preferredEntryID JOIN source s ON s.id = e.sourceID
      WHERE g.id = ?
      """)
    try g.bind(1, groupID)
    guard try g.step() else {
      try refreshGroup(groupID)
      return
    }
    let oldPreferred = g.int64(0)
    let oldSort = g.int64(1)
    let memberCount = g.int(2)
    let oldFacets = Set(Self.decodeFacets(g.string(3)))
    let preferredPriority = g.int(4)
    let preferredFirstSeen = g.double(5)
    g.reset()
    let priority = try self.priority(of: sourceID)
    let wins =
      priority > preferredPriority
      || (priority == preferredPriority && firstSeen < preferredFirstSeen)
    let preferred = wins ? entryID : oldPreferred
    let newSort = wins ? sortMs : oldSort
    let facets = oldFacets.union(
      facetList(sourceID: sourceID, language: language, categories: try categories(of: sourceID)))
    if newSort != oldSort {
      try deleteFacets(oldFacets, sortMs: oldSort, groupID: groupID)
      try insertFacets(facets.sorted(), sortMs: newSort, groupID: groupID)
    } else if facets.count > oldFacets.count {
      try insertFacets(facets.subtracting(oldFacets).sorted(), sortMs: newSort, groupID: groupID)
    }
    try updateGroup(
      groupID, preferred: preferred, sortMs: newSort, memberCount: memberCount + 1,
      facets: facets.sorted())
    if memberCount == 1 { bump("mergedGroups") }
  }

  /// Recomputes a group after a member joined, left or changed: preferred entry (highest source
  /// priority, then earliest first seen), its sort date, member count and timeline facets.
  mutating func refreshGroup(_ groupID: Int64) throws {
    var members: [(id: Int64, sourceID: String, language: String?, sortDate: Int64)] = []
    try db.each(
      """
      SELECT e.id, e.sourceID, e.language, e.sortDate FROM entry e
      JOIN source s ON s.id = e.sourceID
      WHERE e.groupID = ? AND s.active = 1 AND e.filtered = 0
      ORDER BY s.priority DESC, e.firstSeen ASC, e.id ASC
      """, [.integer(groupID)]
    ) { members.append(($0.int64(0), $0.string(1), $0.optionalString(2), $0.int64(3))) }
    var old: (sortDate: Int64, memberCount: Int, facets: String)?
    try db.each(
      "SELECT sortDate, memberCount, facets FROM grp WHERE id = ?", [.integer(groupID)]
    ) { old = ($0.int64(0), $0.int(1), $0.string(2)) }
    let oldSort = old?.sortDate ?? 0
    let oldCount = old?.memberCount ?? 0
    let oldFacets = old.map { Self.decodeFacets($0.facets) } ?? []
    if members.isEmpty {
      try deleteFacets(oldFacets, sortMs: oldSort, groupID: groupID)
      if old != nil {
        try db.run("DELETE FROM grp WHERE id = ?", [.integer(groupID)])
        bump("groups", by: -1)
        if oldCount > 1 { bump("mergedGroups", by: -1) }
      }
      return
    }
    let preferred = members[0]
    let sortMs = preferred.sortDate
    var facetSet = Set<String>()
    for m in members {
      facetSet.formUnion(
        facetList(
          sourceID: m.sourceID, language: m.language, categories: try categories(of: m.sourceID)))
    }
    let facets = facetSet.sorted()
    if old == nil {
      // Its members all belonged to inactive sources (the row was removed) and one came back,
      // or a new entry joined such a group.
      try db.run(
        "INSERT INTO grp (id, preferredEntryID, sortDate, memberCount, facets) VALUES (?, ?, ?, ?, ?)",
        [
          .integer(groupID), .integer(preferred.id), .integer(sortMs), SQLValue(members.count),
          .text(Self.encodeFacets(facets)),
        ])
      try insertFacets(facets, sortMs: sortMs, groupID: groupID)
      bump("groups")
      if members.count > 1 { bump("mergedGroups") }
      return
    }
    if oldSort != sortMs || oldFacets != facets {
      try deleteFacets(oldFacets, sortMs: oldSort, groupID: groupID)
      try insertFacets(facets, sortMs: sortMs, groupID: groupID)
    }
    try updateGroup(
      groupID, preferred: preferred.id, sortMs: sortMs, memberCount: members.count,
      facets: facets)
    if oldCount <= 1 && members.count > 1 { bump("mergedGroups") }
    if oldCount > 1 && members.count <= 1 { bump("mergedGroups", by: -1) }
  }

  // MARK: counters

  mutating func bump(_ key: String, by delta: Int64 = 1) {
    deltas[key, default: 0] += delta
  }

  /// Writes the counters, in key order: on PostgreSQL every transaction then locks the `meta`
  /// rows it updates in one order, so two of them never deadlock on each other's counters.
  mutating func flushDeltas() throws {
    for (key, delta) in deltas.sorted(by: { $0.key < $1.key }) where delta != 0 {
      try db.run("UPDATE meta SET value = value + ? WHERE key = ?", [.integer(delta), .text(key)])
    }
    deltas = [:]
  }
}

/// `Ingest`'s constants (a generic type cannot hold static stored properties).
enum IngestConstants {
  static let facetSeparator: Character = "\u{1F}"
  static let candidateLimit = 256
  static let inListSize = 32
  static let inList = " (" + Array(repeating: "?", count: inListSize).joined(separator: ", ") + ")"
  static let facetInsertSQLs: [String] = (0..<16).map(makeFacetInsertSQL)

  static func makeFacetInsertSQL(count: Int) -> String {
    let values = Array(repeating: "(?, ?, ?)", count: count).joined(separator: ", ")
    return
      "INSERT INTO group_facet (facet, sortDate, groupID) VALUES \(values) ON CONFLICT DO NOTHING"
  }
}

/// Compiled filters by their stored spec, for the whole process: a transaction reads a source's
/// spec, and compiling its patterns once per spec (not per fetch) keeps ICU off the write path.
enum CompiledFilters {
  private static let cache = Mutex<[String: CompiledEntryFilter]>([:])

  /// Nil for a spec that does not decode or compile (the loader refuses those before they are
  /// stored; a store written by a newer version could still hold one): nothing is filtered.
  static func compiled(_ spec: String) -> CompiledEntryFilter? {
    if let hit = cache.withLock({ $0[spec] }) { return hit }
    guard
      let filter = try? JSONDecoder().decode(EntryFilter.self, from: Data(spec.utf8)),
      let compiled = filter.compiled()
    else { return nil }
    cache.withLock { if $0.count < 4096 { $0[spec] = compiled } }
    return compiled
  }
}
