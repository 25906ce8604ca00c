import FeedModel
import Foundation
import GRDB

/// The parts of an `Entry` that have no column of their own, stored as one JSON blob.
struct EntryExtra: Codable, Equatable {
  var links: [Link]?
  var authors: [Person]?
  var contributors: [Person]?
  var categories: [Category]?
  var enclosures: [Enclosure]?
  var source: EntrySource?

  init(_ e: Entry) {
    links = e.links.isEmpty ? nil : e.links
    authors = e.authors.isEmpty ? nil : e.authors
    contributors = e.contributors.isEmpty ? nil : e.contributors
    categories = e.categories.isEmpty ? nil : e.categories
    enclosures = e.enclosures.isEmpty ? nil : e.enclosures
    source = e.source
  }

  var isEmpty: Bool {
    links == nil && authors == nil && contributors == nil && categories == nil
      && enclosures == nil && source == nil
  }
}

/// Everything derived from one incoming entry before it touches the database.
struct PreparedEntry {
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
  var language: String?

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

/// One write transaction's worth of work: source sync, or one crawl result.
struct Ingest {
  let db: Database
  let options: StoreOptions
  private var categoriesCache: [String: [String]] = [:]
  private var deltas: [String: Int64] = [:]
  private let encoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    e.dateEncodingStrategy = .millisecondsSince1970
    return e
  }()

  init(db: Database, options: StoreOptions) {
    self.db = db
    self.options = options
  }

  static let facetSeparator: Character = "\u{1F}"
  /// Near-duplicate candidates read per SimHash band (see `duplicateGroup`).
  static let candidatesPerBand = 64

  // MARK: sources

  mutating func syncSources(_ definitions: [SourceDefinition]) throws {
    var existing: [String: Row] = [:]
    for row in try Row.fetchAll(
      db, sql: "SELECT id, url, kind, title, categories, priority, language, active FROM source")
    {
      existing[row["id"]] = row
    }
    var changed = false
    var refreshFacets: Set<String> = []
    var refreshPreference: Set<String> = []
    var configured: Set<String> = []
    for def in definitions {
      configured.insert(def.id)
      let categories = String(decoding: try encoder.encode(def.categories), as: UTF8.self)
      let active = def.enabled
      if let row = existing[def.id] {
        let oldURL: String = row["url"]
        let oldCategories: String = row["categories"]
        let oldPriority: Int = row["priority"]
        let same =
          oldURL == def.url && (row["kind"] as String) == def.kind.rawValue
          && (row["title"] as String?) == def.title && oldCategories == categories
          && oldPriority == def.priority && (row["language"] as String?) == def.language
          && (row["active"] as Bool) == active
        if same { continue }
        changed = true
        try db.execute(
          sql: """
            UPDATE source SET url = ?, kind = ?, title = ?, categories = ?, priority = ?,
              language = ?, active = ? WHERE id = ?
            """,
          arguments: [
            def.url, def.kind.rawValue, def.title, categories, def.priority, def.language, active,
            def.id,
          ])
        if oldURL != def.url {
          // Validators and redirect/gone state belong to the old URL.
          try db.execute(
            sql: """
              UPDATE source SET etag = NULL, lastModified = NULL, bodyHash = NULL, movedTo = NULL,
                gone = 0 WHERE id = ?
              """, arguments: [def.id])
        }
        if oldCategories != categories { refreshFacets.insert(def.id) }
        if oldPriority != def.priority { refreshPreference.insert(def.id) }
      } else {
        changed = true
        try db.execute(
          sql: """
            INSERT INTO source (id, url, kind, title, categories, priority, language, active)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
          arguments: [
            def.id, def.url, def.kind.rawValue, def.title, categories, def.priority, def.language,
            active,
          ])
      }
    }
    for (id, row) in existing where !configured.contains(id) && (row["active"] as Bool) {
      changed = true
      try db.execute(sql: "UPDATE source SET active = 0 WHERE id = ?", arguments: [id])
    }
    categoriesCache = [:]
    for id in refreshFacets.union(refreshPreference) {
      let sql =
        refreshFacets.contains(id)
        ? "SELECT DISTINCT groupID FROM entry WHERE sourceID = ?"
        : """
        SELECT DISTINCT e.groupID FROM entry e JOIN grp g ON g.id = e.groupID
        WHERE e.sourceID = ? AND g.memberCount > 1
        """
      for groupID in try Int64.fetchAll(db, sql: sql, arguments: [id]) {
        try refreshGroup(groupID)
      }
    }
    if changed { bump("changeToken") }
    try flushDeltas()
  }

  private mutating func categories(of sourceID: String) throws -> [String] {
    if let cached = categoriesCache[sourceID] { return cached }
    let json =
      try String.fetchOne(
        db, sql: "SELECT categories FROM source WHERE id = ?", arguments: [sourceID]) ?? "[]"
    let categories = (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    categoriesCache[sourceID] = categories
    return categories
  }

  // MARK: record

  mutating func record(_ outcome: FetchOutcome, feed: Feed?) throws -> IngestReport {
    guard
      let row = try Row.fetchOne(
        db,
        sql: """
          SELECT etag, lastModified, bodyHash, consecutiveFailures, failingSince, lastSuccess,
            gone, language, keyMode, entryCount FROM source WHERE id = ?
          """, arguments: [outcome.sourceID])
    else { throw FeedStoreError.unknownSource(outcome.sourceID) }
    let at = outcome.attemptedAt.timeIntervalSince1970
    var etag: String? = row["etag"]
    var lastModified: String? = row["lastModified"]
    var bodyHash: String? = row["bodyHash"]
    var failures: Int = row["consecutiveFailures"]
    var failingSince: Double? = row["failingSince"]
    var lastSuccess: Double? = row["lastSuccess"]
    var gone: Bool = row["gone"]
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
    try db.execute(
      sql: """
        UPDATE source SET etag = ?, lastModified = ?, bodyHash = ?, lastAttempt = ?,
          lastSuccess = ?, httpStatus = ?, consecutiveFailures = ?, lastError = ?,
          failingSince = ?, nextDue = ?, movedTo = ?, gone = ? WHERE id = ?
        """,
      arguments: [
        etag, lastModified, bodyHash, at, lastSuccess, outcome.httpStatus, failures, lastError,
        failingSince, outcome.nextDue.timeIntervalSince1970, outcome.movedTo, gone,
        outcome.sourceID,
      ])
    var report = IngestReport()
    if let feed {
      let author = feed.authors.first.flatMap { $0.name ?? $0.email }
      try db.execute(
        sql: """
          UPDATE source SET feedID = ?, feedTitle = ?, feedLink = ?, feedUpdated = ?, feedIcon = ?,
            feedRights = ?, feedAuthor = ?, feedLanguage = ? WHERE id = ?
          """,
        arguments: [
          feed.id, feed.title, feed.link, feed.updated?.timeIntervalSince1970,
          feed.icon ?? feed.logo, feed.rights, author, feed.language, outcome.sourceID,
        ])
      report = try ingestEntries(
        feed, sourceID: outcome.sourceID, mode: row["keyMode"], entryCount: row["entryCount"],
        sourceLanguage: row["language"], at: outcome.attemptedAt)
    }
    bump("changeToken")
    try flushDeltas()
    return report
  }

  // MARK: entries

  private struct ExistingRow {
    var id: Int64
    var groupID: Int64
    var normTitle: String
    var canonical: String?
    var contentHash: String
    var fullHash: String
    var contentUpdated: Double
    var language: String?
    var updated: Double?
  }

  private func prepare(_ entry: Entry, defaultLanguage: String?) throws -> PreparedEntry {
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
    let content = FieldHash.of(entry.content?.value)
    let linkHash = FieldHash.of(canonical ?? link)
    let idHash = FieldHash.combine([
      FieldHash.of(normTitle), FieldHash.of(date), entry.content != nil ? content : summary,
    ])
    let contentHash = FieldHash.combine([title, summary, content, linkHash])

    let extraValue = EntryExtra(entry)
    let extra = extraValue.isEmpty ? nil : try encoder.encode(extraValue)
    let fullHash = FieldHash.combine([
      title, summary, content, linkHash, FieldHash.of(guid), FieldHash.of(link),
      FieldHash.of(entry.published.map { String(milliseconds($0)) }),
      FieldHash.of(entry.updated.map { String(milliseconds($0)) }),
      FieldHash.of(entry.summary?.type.rawValue), FieldHash.of(entry.content?.type.rawValue),
      FieldHash.of(entry.language),
      FieldHash.of(extra.map { String(decoding: $0, as: UTF8.self) }),
    ])
    return PreparedEntry(
      entry: entry, guid: guid, link: link, canonical: canonical, fingerprint: fingerprint,
      normTitle: normTitle, idHash: idHash, contentHash: contentHash, fullHash: fullHash,
      extra: extra,
      language: primaryLanguage(entry.language ?? defaultLanguage))
  }

  private mutating func ingestEntries(
    _ feed: Feed, sourceID: String, mode initialMode: Int, entryCount initialCount: Int,
    sourceLanguage: String?, at: Date
  ) throws -> IngestReport {
    var report = IngestReport()
    let prepared = try feed.entries.map {
      try prepare($0, defaultLanguage: feed.language ?? sourceLanguage)
    }
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
      existing = try keys.map { try lookup(sourceID: sourceID, key: $0) }
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

    var count = initialCount
    var seen = Set<String>()
    let hasTombstones =
      try Int.fetchOne(
        db, sql: "SELECT 1 FROM tombstone WHERE sourceID = ? LIMIT 1", arguments: [sourceID]) != nil
    let atSeconds = at.timeIntervalSince1970
    for i in prepared.indices {
      let p = prepared[i]
      let key = keys[i]
      if !seen.insert(key).inserted {
        report.unchanged += 1
        continue
      }
      if let ex = existing[i] {
        if ex.fullHash == p.fullHash {
          report.unchanged += 1
          continue
        }
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
        try update(id: ex.id, p, contentUpdated: contentUpdated)
        if ex.language != p.language { try refreshGroup(ex.groupID) }
        continue
      }
      if hasTombstones, try isTombstoned(sourceID: sourceID, key: key) {
        report.suppressed += 1
        continue
      }
      let joined = try insert(p, key: key, mode: mode, sourceID: sourceID, at: at)
      if joined { report.joinedGroups += 1 }
      report.inserted += 1
      count += 1
    }

    // Retention: age first, then count.
    let cutoff = milliseconds(at.addingTimeInterval(-options.maxAge))
    let old = try Int64.fetchAll(
      db, sql: "SELECT id FROM entry WHERE sourceID = ? AND sortDate < ?",
      arguments: [sourceID, cutoff])
    for id in old { try remove(entryID: id, mode: mode, at: atSeconds) }
    count -= old.count
    report.expired += old.count
    if count > options.maxEntriesPerSource {
      let excess = try Int64.fetchAll(
        db,
        sql: "SELECT id FROM entry WHERE sourceID = ? ORDER BY sortDate ASC, id ASC LIMIT ?",
        arguments: [sourceID, count - options.maxEntriesPerSource])
      for id in excess { try remove(entryID: id, mode: mode, at: atSeconds) }
      count -= excess.count
      report.expired += excess.count
    }
    if count != initialCount {
      try db.execute(
        sql: "UPDATE source SET entryCount = ? WHERE id = ?", arguments: [count, sourceID])
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

  private func lookup(sourceID: String, key: String) throws -> ExistingRow? {
    let stmt = try db.cachedStatement(
      sql: """
        SELECT id, groupID, normTitle, canonicalURL, contentHash, fullHash, contentUpdated, language,
          updated FROM entry WHERE sourceID = ? AND key = ?
        """)
    guard let row = try Row.fetchOne(stmt, arguments: [sourceID, key]) else { return nil }
    return ExistingRow(
      id: row[0], groupID: row[1], normTitle: row[2], canonical: row[3], contentHash: row[4],
      fullHash: row[5], contentUpdated: row[6], language: row[7], updated: row[8])
  }

  private func isTombstoned(sourceID: String, key: String) throws -> Bool {
    let stmt = try db.cachedStatement(
      sql: "SELECT 1 FROM tombstone WHERE sourceID = ? AND key = ?")
    return try Int.fetchOne(stmt, arguments: [sourceID, key]) != nil
  }

  /// Re-keys a source's stored entries after its key mode was raised. A row whose new key is
  /// already taken keeps its old one: nothing is duplicated and nothing is lost.
  private func migrateKeys(sourceID: String, to mode: Int) throws {
    let rows = try Row.fetchAll(
      db, sql: "SELECT id, key, guid, link, canonicalURL, idHash FROM entry WHERE sourceID = ?",
      arguments: [sourceID])
    for row in rows {
      let newKey = PreparedEntry.key(
        mode: mode, guid: row["guid"], canonical: row["canonicalURL"], link: row["link"],
        idHash: row["idHash"])
      if newKey != (row["key"] as String) {
        try db.execute(
          sql: "UPDATE OR IGNORE entry SET key = ? WHERE id = ?", arguments: [newKey, row["id"]])
      }
    }
    try db.execute(sql: "UPDATE source SET keyMode = ? WHERE id = ?", arguments: [mode, sourceID])
  }

  /// Entry ids come from a persisted counter (read once per transaction, written back at the
  /// end) so an id, and the group id derived from it, is never reused after a deletion.
  private var nextID: Int64?

  private mutating func allocateID() throws -> Int64 {
    if nextID == nil {
      guard
        let value = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'nextEntryID'")
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

  /// Inserts a new entry; returns whether it joined another source's duplicate group.
  private mutating func insert(
    _ p: PreparedEntry, key: String, mode: Int, sourceID: String, at: Date
  ) throws -> Bool {
    let id = try allocateID()
    var sortDate = p.entry.published ?? p.entry.updated ?? at
    if sortDate > at { sortDate = at }  // a future date would pin the story on top
    let sortMs = milliseconds(sortDate)

    var atomID = "urn:clusterwire:\(sourceID):\(SHA256.hex(key).prefix(32))"
    if mode == 0, let guid = p.guid, isAbsoluteURI(guid) { atomID = guid }
    let atomTaken = try db.cachedStatement(sql: "SELECT 1 FROM entry WHERE atomID = ?")
    if try Int.fetchOne(atomTaken, arguments: [atomID]) != nil {
      // Another source published the same id (syndicated copy) or a key came back after a
      // re-key: derive a unique one from this source and entry.
      atomID = "urn:clusterwire:\(sourceID):\(SHA256.hex(key + "\u{1}\(id)").prefix(32))"
    }

    let existingGroup = try findGroup(p, sourceID: sourceID, sortMs: sortMs)
    let groupID = existingGroup ?? id
    if existingGroup == nil {
      let facets = facetList(
        sourceID: sourceID, language: p.language, categories: try categories(of: sourceID))
      try db.cachedStatement(
        sql:
          "INSERT INTO grp (id, preferredEntryID, sortDate, memberCount, facets) VALUES (?, ?, ?, 1, ?)"
      ).execute(arguments: [id, id, sortMs, facets.joined(separator: String(Self.facetSeparator))])
      let facetInsert = try db.cachedStatement(
        sql: "INSERT OR IGNORE INTO group_facet (facet, sortDate, groupID) VALUES (?, ?, ?)")
      for f in facets { try facetInsert.execute(arguments: [f, sortMs, id]) }
      bump("groups")
    }
    let bands: [Int64] = p.fingerprint.tokenCount == 0 ? [-1, -1, -1, -1] : p.fingerprint.bands
    let e = p.entry
    try db.cachedStatement(
      sql: """
        INSERT INTO entry (id, sourceID, key, atomID, groupID, guid, title, link, published, updated,
          summaryType, summary, contentType, content, entryLanguage, extra, language, canonicalURL,
          normTitle, simhash, tokenCount, b0, b1, b2, b3, idHash, contentHash, fullHash, firstSeen,
          contentUpdated, sortDate)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
          ?, ?, ?)
        """
    ).execute(
      arguments: [
        id, sourceID, key, atomID, groupID, p.guid, e.title, e.link,
        e.published?.timeIntervalSince1970, e.updated?.timeIntervalSince1970,
        e.summary.map { $0.type == .html ? 1 : 0 }, e.summary?.value,
        e.content.map { $0.type == .html ? 1 : 0 }, e.content?.value, e.language, p.extra,
        p.language, p.canonical, p.normTitle, Int64(bitPattern: p.fingerprint.simhash),
        p.fingerprint.tokenCount, bands[0], bands[1], bands[2], bands[3], p.idHash,
        p.contentHash, p.fullHash, at.timeIntervalSince1970,
        (e.updated ?? e.published ?? at).timeIntervalSince1970, sortMs,
      ])
    if let existingGroup {
      try refreshGroup(existingGroup)
      return true
    }
    return false
  }

  private func update(id: Int64, _ p: PreparedEntry, contentUpdated: Double) throws {
    let e = p.entry
    let bands: [Int64] = p.fingerprint.tokenCount == 0 ? [-1, -1, -1, -1] : p.fingerprint.bands
    try db.cachedStatement(
      sql: """
        UPDATE entry SET guid = ?, title = ?, link = ?, published = ?, updated = ?, summaryType = ?,
          summary = ?, contentType = ?, content = ?, entryLanguage = ?, extra = ?, language = ?,
          normTitle = ?, simhash = ?, tokenCount = ?, b0 = ?, b1 = ?, b2 = ?, b3 = ?,
          contentHash = ?, fullHash = ?, contentUpdated = ?
        WHERE id = ?
        """
    ).execute(
      arguments: [
        p.guid, e.title, e.link, e.published?.timeIntervalSince1970,
        e.updated?.timeIntervalSince1970, e.summary.map { $0.type == .html ? 1 : 0 },
        e.summary?.value, e.content.map { $0.type == .html ? 1 : 0 }, e.content?.value,
        e.language, p.extra, p.language, p.normTitle, Int64(bitPattern: p.fingerprint.simhash),
        p.fingerprint.tokenCount, bands[0], bands[1], bands[2], bands[3], p.contentHash,
        p.fullHash, contentUpdated, id,
      ])
  }

  /// The duplicate group a new entry belongs to: another source's entry with the same
  /// canonical URL, else the closest near-duplicate within the window, else none.
  private func findGroup(_ p: PreparedEntry, sourceID: String, sortMs: Int64) throws -> Int64? {
    if let canonical = p.canonical {
      let stmt = try db.cachedStatement(
        sql: "SELECT groupID FROM entry WHERE canonicalURL = ? AND sourceID <> ? LIMIT 1")
      if let g = try Int64.fetchOne(stmt, arguments: [canonical, sourceID]) { return g }
    }
    guard p.fingerprint.tokenCount > 0 else { return nil }
    let window = Int64(options.duplicateWindow * 1000)
    let lo = sortMs - window
    let hi = sortMs + window
    // Each band lookup is an index range scan, capped: a source that repeats boilerplate text
    // (many entries sharing a band) must not make every insert read thousands of candidates.
    let perBand = "sourceID <> ? AND sortDate BETWEEN ? AND ? LIMIT \(Self.candidatesPerBand)"
    let columns = "groupID, sourceID, simhash, tokenCount, normTitle"
    let stmt = try db.cachedStatement(
      sql: """
        SELECT * FROM (SELECT \(columns) FROM entry WHERE b0 = ? AND \(perBand))
        UNION ALL SELECT * FROM (SELECT \(columns) FROM entry WHERE b1 = ? AND \(perBand))
        UNION ALL SELECT * FROM (SELECT \(columns) FROM entry WHERE b2 = ? AND \(perBand))
        UNION ALL SELECT * FROM (SELECT \(columns) FROM entry WHERE b3 = ? AND \(perBand))
        """)
    let b = p.fingerprint.bands
    let rows = try Row.fetchAll(
      stmt,
      arguments: [
        b[0], sourceID, lo, hi, b[1], sourceID, lo, hi, b[2], sourceID, lo, hi, b[3], sourceID, lo,
        hi,
      ])
    var best: (distance: Int, group: Int64)?
    for row in rows {
      let other: String = row[1]
      if other == sourceID { continue }
      let simhash = UInt64(bitPattern: row[2] as Int64)
      let normTitle: String = row[4]
      let candidate = StoryMatching.Fingerprint(
        titleTokens: normTitle.split(separator: " ").map(String.init), simhash: simhash,
        tokenCount: row[3])
      guard StoryMatching.sameStory(p.fingerprint, candidate) else { continue }
      let d = StoryMatching.hamming(simhash, p.fingerprint.simhash)
      if best == nil || d < best!.distance { best = (d, row[0]) }
    }
    return best?.group
  }

  /// Removes an entry (retention), leaving tombstones for its identity under the current and
  /// every stronger key mode, so it is not resurrected even after a later re-key.
  private mutating func remove(entryID: Int64, mode: Int, at: Double) throws {
    guard
      let row = try Row.fetchOne(
        db,
        sql:
          "SELECT sourceID, key, groupID, guid, link, canonicalURL, idHash FROM entry WHERE id = ?",
        arguments: [entryID])
    else { return }
    let sourceID: String = row["sourceID"]
    var keys: Set<String> = [row["key"]]
    for m in mode...2 {
      keys.insert(
        PreparedEntry.key(
          mode: m, guid: row["guid"], canonical: row["canonicalURL"], link: row["link"],
          idHash: row["idHash"]))
    }
    let stmt = try db.cachedStatement(
      sql: "INSERT OR IGNORE INTO tombstone (sourceID, key, removedAt) VALUES (?, ?, ?)")
    for key in keys {
      try stmt.execute(arguments: [sourceID, key, at])
      if db.changesCount > 0 { bump("tombstones") }
    }
    try db.cachedStatement(sql: "DELETE FROM entry WHERE id = ?").execute(arguments: [entryID])
    try refreshGroup(row["groupID"])
  }

  /// Recomputes a group after a member joined, left or changed: preferred entry (highest source
  /// priority, then earliest first seen), its sort date, member count and timeline facets.
  mutating func refreshGroup(_ groupID: Int64) throws {
    let members = try Row.fetchAll(
      db.cachedStatement(
        sql: """
          SELECT e.id, e.sourceID, e.language, e.sortDate FROM entry e
          JOIN source s ON s.id = e.sourceID
          WHERE e.groupID = ? ORDER BY s.priority DESC, e.firstSeen ASC, e.id ASC
          """), arguments: [groupID])
    let old = try Row.fetchOne(
      db.cachedStatement(
        sql: "SELECT preferredEntryID, sortDate, memberCount, facets FROM grp WHERE id = ?"),
      arguments: [groupID])
    let oldSort: Int64 = old?["sortDate"] ?? 0
    let oldCount: Int = old?["memberCount"] ?? 0
    let oldFacets: [String] =
      (old?["facets"] as String?).map {
        $0.split(separator: Self.facetSeparator, omittingEmptySubsequences: false).map(
          String.init)
      } ?? []
    let deleteFacet = try db.cachedStatement(
      sql: "DELETE FROM group_facet WHERE facet = ? AND sortDate = ? AND groupID = ?")
    if members.isEmpty {
      for f in oldFacets { try deleteFacet.execute(arguments: [f, oldSort, groupID]) }
      if old != nil {
        try db.execute(sql: "DELETE FROM grp WHERE id = ?", arguments: [groupID])
        bump("groups", by: -1)
        if oldCount > 1 { bump("mergedGroups", by: -1) }
      }
      return
    }
    let preferred = members[0]
    let sortMs: Int64 = preferred["sortDate"]
    var facetSet = Set<String>()
    for m in members {
      let sid: String = m["sourceID"]
      facetSet.formUnion(
        facetList(sourceID: sid, language: m["language"], categories: try categories(of: sid)))
    }
    let facets = facetSet.sorted()
    let joined = facets.joined(separator: String(Self.facetSeparator))
    if oldSort != sortMs || oldFacets != facets {
      for f in oldFacets { try deleteFacet.execute(arguments: [f, oldSort, groupID]) }
      let insertFacet = try db.cachedStatement(
        sql: "INSERT OR IGNORE INTO group_facet (facet, sortDate, groupID) VALUES (?, ?, ?)")
      for f in facets { try insertFacet.execute(arguments: [f, sortMs, groupID]) }
    }
    try db.cachedStatement(
      sql:
        "UPDATE grp SET preferredEntryID = ?, sortDate = ?, memberCount = ?, facets = ? WHERE id = ?"
    ).execute(arguments: [preferred["id"], sortMs, members.count, joined, groupID])
    if oldCount <= 1 && members.count > 1 { bump("mergedGroups") }
    if oldCount > 1 && members.count <= 1 { bump("mergedGroups", by: -1) }
  }

  // MARK: counters

  private mutating func bump(_ key: String, by delta: Int64 = 1) {
    deltas[key, default: 0] += delta
  }

  private mutating func flushDeltas() throws {
    let stmt = try db.cachedStatement(sql: "UPDATE meta SET value = value + ? WHERE key = ?")
    for (key, delta) in deltas where delta != 0 { try stmt.execute(arguments: [delta, key]) }
    deltas = [:]
  }
}
