import Foundation

/// What retention removed from one source in one pass.
public struct SourceRetention: Sendable, Hashable {
  public var sourceID: String
  /// First seen longer ago than `max_age` and no longer in the source's current document.
  public var byAge: Int
  /// Over `max_entries` (the oldest by date that are not in the current document).
  public var byCount: Int
  /// The source left the config (or was disabled) longer ago than the grace period.
  public var purged: Int
  public init(sourceID: String, byAge: Int = 0, byCount: Int = 0, purged: Int = 0) {
    self.sourceID = sourceID
    self.byAge = byAge
    self.byCount = byCount
    self.purged = purged
  }
  public var total: Int { byAge + byCount + purged }
}

/// What one retention sweep did (`FeedStore.sweep(at:)`).
public struct RetentionSweep: Sendable, Hashable {
  /// Only the sources that lost entries.
  public var sources: [SourceRetention]
  public var tombstonesPruned: Int
  public init(sources: [SourceRetention] = [], tombstonesPruned: Int = 0) {
    self.sources = sources
    self.tombstonesPruned = tombstonesPruned
  }
  public var removed: Int { sources.reduce(0) { $0 + $1.total } }
}

/// The retention rules, written once and applied both inside a changed-body ingest and by the
/// periodic sweep (so a source whose fetches all return 304, fail or are gone is kept exactly
/// as the config says too):
/// - `max_age` counts from when clusterwire first saw an entry, never from the date the story
///   claims (a member's 2020 archive is published, not dropped on arrival);
/// - an entry in the source's current document is never dropped (it would only come back on
///   the next fetch, as "new");
/// - `max_entries` keeps the newest by date, again never dropping the current document;
/// - a source that left the config is hidden at once and its rows purged after
///   `inactiveGrace`, so re-enabling it within that time re-announces nothing;
/// - tombstones (keys of removed entries, so a re-served old item is not resurrected) are kept
///   for `tombstoneLifetime`, the longest window that needs them.
package enum Retention {
  /// `source.currentIDs`: the current document's entry ids, packed little-endian.
  static func pack(_ ids: [Int64]) -> Data {
    var data = Data(capacity: ids.count * 8)
    for id in ids { withUnsafeBytes(of: id.littleEndian) { data.append(contentsOf: $0) } }
    return data
  }

  static func unpack(_ data: Data?) -> Set<Int64> {
    guard let data else { return [] }
    var ids = Set<Int64>()
    ids.reserveCapacity(data.count / 8)
    data.withUnsafeBytes { raw in
      var offset = 0
      while offset + 8 <= raw.count {
        ids.insert(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
        offset += 8
      }
    }
    return ids
  }

  /// How long a tombstone must outlive the entry it stands for: an entry dropped by age may be
  /// re-served by its source for up to `max_age` more; one purged with its source may come back
  /// when the source is re-enabled; near-duplicates look back `duplicate_window`.
  static func tombstoneLifetime(_ options: StoreOptions) -> TimeInterval {
    max(options.maxAge, options.inactiveGrace, options.duplicateWindow)
  }
}

extension Ingest {
  /// Applies `max_age` and `max_entries` to one source (`entryCount` entries stored now,
  /// `protected` the ids of its current document). Returns what was removed.
  mutating func applyRetention(
    sourceID: String, mode: Int, entryCount: Int, protected: Set<Int64>, at: Date
  ) throws -> SourceRetention {
    var result = SourceRetention(sourceID: sourceID)
    let atSeconds = at.timeIntervalSince1970
    var count = entryCount
    let cutoff = atSeconds - options.maxAge
    let old = try db.int64s(
      "SELECT id FROM entry WHERE sourceID = ? AND firstSeen < ?",
      [.text(sourceID), .real(cutoff)]
    ).filter { !protected.contains($0) }
    for id in old { try remove(entryID: id, mode: mode, at: atSeconds) }
    count -= old.count
    result.byAge = old.count
    if count > options.maxEntriesPerSource {
      var excess = count - options.maxEntriesPerSource
      var victims: [Int64] = []
      let candidates = try db.int64s(
        "SELECT id FROM entry WHERE sourceID = ? ORDER BY sortDate ASC, id ASC LIMIT ?",
        [.text(sourceID), SQLValue(excess + protected.count)])
      for id in candidates where excess > 0 && !protected.contains(id) {
        victims.append(id)
        excess -= 1
      }
      for id in victims { try remove(entryID: id, mode: mode, at: atSeconds) }
      result.byCount = victims.count
    }
    return result
  }

  /// Hides (or shows again) every group a source has entries in, after its `active` flag
  /// changed: a story whose preferred copy came from it falls back to the next active copy.
  mutating func refreshGroups(ofSources ids: [String]) throws {
    for id in ids {
      for groupID in try db.int64s(
        "SELECT DISTINCT groupID FROM entry WHERE sourceID = ?", [.text(id)])
      {
        try refreshGroup(groupID)
      }
    }
  }

  /// Ends a transaction that used the helpers directly (the migration): writes the counters.
  mutating func finish() throws {
    try flushDeltas()
  }

  /// One sweep over `sourceIDs` (every source, active or not, in batches): retention for each,
  /// the purge of sources inactive for longer than the grace period.
  mutating func sweep(sourceIDs: [String], at: Date) throws -> [SourceRetention] {
    var results: [SourceRetention] = []
    let graceCutoff = at.timeIntervalSince1970 - options.inactiveGrace
    for sourceID in sourceIDs {
      guard
        let row = try db.fetchOne(
          "SELECT keyMode, entryCount, currentIDs, active, inactiveSince FROM source WHERE id = ?",
          [.text(sourceID)])
      else { continue }
      let mode = row.int("keyMode")
      let count = row.int("entryCount")
      guard count > 0 else { continue }
      var result: SourceRetention
      let active = row.bool("active")
      if !active, let since = row.optionalDouble("inactiveSince"), since < graceCutoff {
        result = SourceRetention(sourceID: sourceID)
        let ids = try db.int64s(
          "SELECT id FROM entry WHERE sourceID = ?", [.text(sourceID)])
        for id in ids { try remove(entryID: id, mode: mode, at: at.timeIntervalSince1970) }
        result.purged = ids.count
      } else {
        result = try applyRetention(
          sourceID: sourceID, mode: mode, entryCount: count,
          protected: Retention.unpack(row.optionalData("currentIDs")), at: at)
      }
      guard result.total > 0 else { continue }
      try db.run(
        """
        UPDATE source SET entryCount = entryCount - ?, retentionDropped = retentionDropped + ?
        WHERE id = ?
        """, [SQLValue(result.total), SQLValue(result.total), .text(sourceID)])
      results.append(result)
    }
    if !results.isEmpty { bump("changeToken") }
    try flushDeltas()
    return results
  }

  /// Deletes tombstones older than their lifetime; returns how many.
  mutating func pruneTombstones(at: Date) throws -> Int {
    let cutoff = at.timeIntervalSince1970 - Retention.tombstoneLifetime(options)
    let pruned = try db.execute("DELETE FROM tombstone WHERE removedAt < ?", [.real(cutoff)])
    if pruned > 0 { bump("tombstones", by: -Int64(pruned)) }
    try flushDeltas()
    return pruned
  }
}
