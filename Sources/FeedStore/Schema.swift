import Foundation
import GRDB

/// The versioned schema. Migrations are append-only: a released one is never edited, a change is
/// a new migration, so every existing database upgrades in order on open.
///
/// Layout and why:
/// - `source`: configuration + crawl state + feed metadata, one row per source id.
/// - `entry`: one row per stored entry, small columns first and the bulky text last (v2).
///   `(sourceID, key)` is the identity within a source; `atomID` is the published id (unique,
///   fixed at insert); `canonicalURL` finds copies of a story from other sources by an index
///   lookup; `(sourceID, sortDate)` serves retention.
/// - `near_dup` (v2): the four 16-bit SimHash bands of every entry, time-bucketed (see
///   `NearDuplicateIndex`), to find near-duplicates from other sources. v1 had them as indexed
///   columns `b0…b3` of `entry`.
/// - `grp`: one row per duplicate group (id = the id of its first entry, never reused); the
///   preferred entry and its `sortDate`.
/// - `group_facet`: the timeline index. One row per (facet, group): facet `""` is the whole
///   timeline, `s:<source>`, `c:<category>`, `l:<language>` the filtered ones, each listing the
///   group if ANY member matches. Keyed `(facet, sortDate, groupID)` so every timeline page,
///   filtered or not, is a single index range scan from the cursor.
/// - `tombstone`: identity keys of removed entries, so a re-served old item is not resurrected.
/// - `meta`: counters (change token, id allocator, totals) so status queries never count rows.
/// - `websub_hub_subscription`, `websub_push_subscription` (v5): WebSub's subscriptions, the
///   hub's and ours (see `WebSubStore`).
enum Schema {
  /// `entry`'s small columns, in their order, as v2 and v6 rebuild the table (the bulky text
  /// after them). Frozen: a later rebuild that changes them writes its own list.
  static let entrySmallColumns = """
    id, sourceID, key, groupID, sortDate, firstSeen, contentUpdated, language, simhash,
    tokenCount, normTitle, canonicalURL, idHash, contentHash, fullHash, atomID, guid, link,
    title, published, updated, entryLanguage, summaryType, contentType
    """

  /// `entry`'s indexes since v2, recreated by each rebuild of the table (v2, v6).
  static let entryIndexes = """
    CREATE UNIQUE INDEX entry_key ON entry(sourceID, key);
    CREATE UNIQUE INDEX entry_atom ON entry(atomID);
    CREATE INDEX entry_source_sort ON entry(sourceID, sortDate);
    CREATE INDEX entry_group ON entry(groupID);
    CREATE INDEX entry_canon ON entry(canonicalURL) WHERE canonicalURL IS NOT NULL;
    """

  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1-initial") { db in
      try db.execute(
        sql: """
          CREATE TABLE source (
            id TEXT PRIMARY KEY NOT NULL,
            url TEXT NOT NULL,
            kind TEXT NOT NULL,
            title TEXT,
            categories TEXT NOT NULL DEFAULT '[]',
            priority INTEGER NOT NULL DEFAULT 0,
            language TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            etag TEXT, lastModified TEXT, bodyHash TEXT,
            lastAttempt REAL, lastSuccess REAL, httpStatus INTEGER,
            consecutiveFailures INTEGER NOT NULL DEFAULT 0,
            lastError TEXT, failingSince REAL, nextDue REAL, movedTo TEXT,
            gone INTEGER NOT NULL DEFAULT 0,
            feedID TEXT, feedTitle TEXT, feedLink TEXT, feedUpdated REAL, feedIcon TEXT,
            feedRights TEXT, feedAuthor TEXT, feedLanguage TEXT,
            keyMode INTEGER NOT NULL DEFAULT 0,
            entryCount INTEGER NOT NULL DEFAULT 0
          );
          CREATE TABLE grp (
            id INTEGER PRIMARY KEY,
            preferredEntryID INTEGER NOT NULL,
            sortDate INTEGER NOT NULL,
            memberCount INTEGER NOT NULL,
            facets TEXT NOT NULL
          );
          CREATE TABLE entry (
            id INTEGER PRIMARY KEY,
            sourceID TEXT NOT NULL REFERENCES source(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            atomID TEXT NOT NULL,
            groupID INTEGER NOT NULL,
            guid TEXT, title TEXT, link TEXT, published REAL, updated REAL,
            summaryType INTEGER, summary TEXT, contentType INTEGER, content TEXT,
            entryLanguage TEXT, extra BLOB,
            language TEXT,
            canonicalURL TEXT,
            normTitle TEXT NOT NULL,
            simhash INTEGER NOT NULL, tokenCount INTEGER NOT NULL,
            b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,
            idHash TEXT NOT NULL, contentHash TEXT NOT NULL, fullHash TEXT NOT NULL,
            firstSeen REAL NOT NULL, contentUpdated REAL NOT NULL,
            sortDate INTEGER NOT NULL
          );
          CREATE UNIQUE INDEX entry_key ON entry(sourceID, key);
          CREATE UNIQUE INDEX entry_atom ON entry(atomID);
          CREATE INDEX entry_source_sort ON entry(sourceID, sortDate);
          CREATE INDEX entry_group ON entry(groupID);
          CREATE INDEX entry_canon ON entry(canonicalURL) WHERE canonicalURL IS NOT NULL;
          CREATE INDEX entry_b0 ON entry(b0, sortDate);
          CREATE INDEX entry_b1 ON entry(b1, sortDate);
          CREATE INDEX entry_b2 ON entry(b2, sortDate);
          CREATE INDEX entry_b3 ON entry(b3, sortDate);
          CREATE TABLE group_facet (
            facet TEXT NOT NULL,
            sortDate INTEGER NOT NULL,
            groupID INTEGER NOT NULL,
            PRIMARY KEY (facet, sortDate, groupID)
          ) WITHOUT ROWID;
          CREATE TABLE tombstone (
            sourceID TEXT NOT NULL,
            key TEXT NOT NULL,
            removedAt REAL NOT NULL,
            PRIMARY KEY (sourceID, key)
          ) WITHOUT ROWID;
          CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
          INSERT INTO meta(key, value) VALUES
            ('changeToken', 1), ('nextEntryID', 1), ('groups', 0), ('mergedGroups', 0),
            ('tombstones', 0);
          """)
    }
    migrator.registerMigration("v2-near-duplicate-table") { db in
      // Ingest speed, measured (`cwbench store-bench`): the v1 band indexes `b0…b3 (band,
      // sortDate)` put every new entry at four random places, so each transaction rewrote most
      // of their pages into the WAL; and the columns ingest reads (normTitle, hashes, sortDate…)
      // sat after `content`, so reading them walked the row's overflow pages. v2 rebuilds
      // `entry` with the small columns first and the bulky text last, and moves the bands into
      // `near_dup`, keyed time-first so recent entries land in a few adjacent pages.
      let small = Self.entrySmallColumns
      try db.execute(
        sql: """
          CREATE TABLE entry_v2 (
            id INTEGER PRIMARY KEY,
            sourceID TEXT NOT NULL REFERENCES source(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            groupID INTEGER NOT NULL,
            sortDate INTEGER NOT NULL,
            firstSeen REAL NOT NULL,
            contentUpdated REAL NOT NULL,
            language TEXT,
            simhash INTEGER NOT NULL,
            tokenCount INTEGER NOT NULL,
            normTitle TEXT NOT NULL,
            canonicalURL TEXT,
            idHash TEXT NOT NULL, contentHash TEXT NOT NULL, fullHash TEXT NOT NULL,
            atomID TEXT NOT NULL,
            guid TEXT, link TEXT, title TEXT, published REAL, updated REAL, entryLanguage TEXT,
            summaryType INTEGER, contentType INTEGER,
            extra BLOB, summary TEXT, content TEXT
          );
          INSERT INTO entry_v2 (\(small), extra, summary, content)
            SELECT \(small), extra, summary, content FROM entry;
          DROP TABLE entry;
          ALTER TABLE entry_v2 RENAME TO entry;
          \(Self.entryIndexes)
          CREATE TABLE near_dup (
            bucket INTEGER NOT NULL,
            band INTEGER NOT NULL,
            entryID INTEGER NOT NULL,
            PRIMARY KEY (bucket, band, entryID)
          ) WITHOUT ROWID;
          """)
      for band in 0..<NearDuplicateIndex.bands {
        try db.execute(
          sql: """
            INSERT INTO near_dup (bucket, band, entryID)
            SELECT sortDate / ?, (? << 16) | ((simhash >> ?) & 65535), id FROM entry
            WHERE tokenCount > 0
            """,
          arguments: [NearDuplicateIndex.bucketMilliseconds, band, band * 16])
      }
    }
    migrator.registerMigration("v3-retention-lifecycle-archives") { db in
      // Retention counts from first seen and never drops what the source's current document
      // still carries (`currentIDs`, the entry ids of the last parsed document); a source that
      // leaves the config is hidden at once and purged after a grace period (`inactiveSince`);
      // `configHash` notices any change of a source's table (it clears 410 Gone);
      // `retentionDropped` counts what retention removed, for `status` and `/metrics`;
      // `archive_seal` fixes the boundaries of RFC 5005 archive pages so they stay stable.
      try db.execute(
        sql: """
          ALTER TABLE source ADD COLUMN currentIDs BLOB;
          ALTER TABLE source ADD COLUMN retentionDropped INTEGER NOT NULL DEFAULT 0;
          ALTER TABLE source ADD COLUMN configHash TEXT;
          ALTER TABLE source ADD COLUMN inactiveSince REAL;
          CREATE TABLE archive_seal (
            facet TEXT NOT NULL,
            page INTEGER NOT NULL,
            sortDate INTEGER NOT NULL,
            groupID INTEGER NOT NULL,
            PRIMARY KEY (facet, page)
          ) WITHOUT ROWID;
          """)
      // The current document of each source is not known yet: forget the body validators so
      // the next fetch is a full one that records it (until then nothing of that source is protected).
      try db.execute(sql: "UPDATE source SET etag = NULL, lastModified = NULL, bodyHash = NULL")
      // Sources already inactive are now hidden from every document: their groups fall back to
      // the copies from active sources.
      let now = Date().timeIntervalSince1970
      try db.execute(
        sql: "UPDATE source SET inactiveSince = ? WHERE active = 0", arguments: [now])
      var ingest = Ingest(db: SQLiteConnection(db), options: StoreOptions())
      try ingest.refreshGroups(
        ofSources: try String.fetchAll(
          db, sql: "SELECT id FROM source WHERE active = 0"))
      try ingest.finish()
    }
    migrator.registerMigration("v4-feed-head") { db in
      // The fetched feed's whole head (`FeedHead`: subtitle, links, authors, contributors,
      // categories, logo, generator… besides what the feed* columns hold), so an entry's
      // `atom:source` can be built from all of it. Written when a changed body is parsed; the
      // feed* columns stay. The body validators are forgotten so that the next fetch of every
      // source is a full one that records its head (until then `atom:source` uses the feed*
      // columns).
      try db.execute(
        sql: """
          ALTER TABLE source ADD COLUMN feedHead BLOB;
          UPDATE source SET etag = NULL, lastModified = NULL, bodyHash = NULL;
          """)
    }
    migrator.registerMigration("v5-websub") { db in
      // WebSub (issue 15, `WebSubStore`). `websub_hub_subscription`: the hub's subscribers, one
      // row per (topic, callback), live while `expires` is after now; `callback_host` serves the
      // per-host bound, `expires` the live reads, the total and the expiry sweep;
      // `delivered_etag` is the compare-and-set that lets one instance deliver each version.
      // `websub_push_subscription`: our subscription at a source's hub, one per source, with no
      // foreign key (the daemon unsubscribes a removed source before it deletes the row).
      // Lower-case snake_case names, so PostgreSQL's folding of identifiers changes nothing.
      try db.execute(
        sql: """
          CREATE TABLE websub_hub_subscription (
            topic TEXT NOT NULL,
            callback TEXT NOT NULL,
            callback_host TEXT NOT NULL,
            secret TEXT,
            lease_seconds INTEGER NOT NULL,
            expires REAL NOT NULL,
            created REAL NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            failing_since REAL,
            delivered_etag TEXT,
            last_delivery REAL,
            PRIMARY KEY (topic, callback)
          ) WITHOUT ROWID;
          CREATE INDEX websub_hub_subscription_host
            ON websub_hub_subscription(callback_host, expires);
          CREATE INDEX websub_hub_subscription_expires ON websub_hub_subscription(expires);
          CREATE TABLE websub_push_subscription (
            source_id TEXT PRIMARY KEY NOT NULL,
            hub TEXT NOT NULL,
            topic TEXT NOT NULL,
            token TEXT NOT NULL,
            secret TEXT NOT NULL,
            state TEXT NOT NULL,
            requested REAL NOT NULL,
            lease_seconds INTEGER,
            expires REAL,
            failing_since REAL,
            last_error TEXT,
            last_push REAL
          );
          """)
    }
    migrator.registerMigration("v6-entry-filter") { db in
      // `[source.filter]` (issue 16): `entry.filtered` marks entries the source's filter refuses
      // (stored, never published: they belong to no group's timeline rows); `source.filterSpec`
      // is the filter they were judged by (JSON), so a reload that changes it re-judges the
      // stored entries; `source.filteredCount` is how many of them are filtered now. Ingest
      // reads `filtered` with every looked-up entry, so it goes among the small columns, before
      // the bulky text (v2's reason): `entry` is rebuilt once, not altered.
      let small = Self.entrySmallColumns
      try db.execute(
        sql: """
          CREATE TABLE entry_v6 (
            id INTEGER PRIMARY KEY,
            sourceID TEXT NOT NULL REFERENCES source(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            groupID INTEGER NOT NULL,
            sortDate INTEGER NOT NULL,
            firstSeen REAL NOT NULL,
            contentUpdated REAL NOT NULL,
            language TEXT,
            simhash INTEGER NOT NULL,
            tokenCount INTEGER NOT NULL,
            normTitle TEXT NOT NULL,
            canonicalURL TEXT,
            idHash TEXT NOT NULL, contentHash TEXT NOT NULL, fullHash TEXT NOT NULL,
            atomID TEXT NOT NULL,
            guid TEXT, link TEXT, title TEXT, published REAL, updated REAL, entryLanguage TEXT,
            summaryType INTEGER, contentType INTEGER,
            filtered INTEGER NOT NULL DEFAULT 0,
            extra BLOB, summary TEXT, content TEXT
          );
          INSERT INTO entry_v6 (\(small), extra, summary, content)
            SELECT \(small), extra, summary, content FROM entry;
          DROP TABLE entry;
          ALTER TABLE entry_v6 RENAME TO entry;
          \(Self.entryIndexes)
          ALTER TABLE source ADD COLUMN filterSpec TEXT;
          ALTER TABLE source ADD COLUMN filteredCount INTEGER NOT NULL DEFAULT 0;
          """)
    }
    return migrator
  }
}

/// Where the near-duplicate candidates of an entry are found: `near_dup` holds one row per
/// (SimHash band, entry), keyed `(bucket, band, entryID)` where `bucket` is the entry's sort
/// date in weeks. Two copies of a story within the matching window share a band (when they
/// are close) and sit in the same or an adjacent bucket, so a lookup is one index seek per
/// (bucket, band) pair; and new entries, being recent, are inserted into the few pages of the
/// newest buckets instead of all over the index.
enum NearDuplicateIndex {
  static let bands = 4
  static let bucketMilliseconds: Int64 = 14 * 86_400_000

  /// The four `near_dup.band` values of a SimHash: band number in the high bits, its 16 bits
  /// in the low ones.
  static func bandKeys(_ simhash: UInt64) -> [Int64] {
    (0..<bands).map { bandKey(simhash, band: $0) }
  }

  /// The `near_dup.band` value of one band of a SimHash.
  @inline(__always) static func bandKey(_ simhash: UInt64, band: Int) -> Int64 {
    Int64(band) << 16 | Int64((simhash >> (UInt64(band) * 16)) & 0xFFFF)
  }

  /// The buckets holding every sort date within `window` milliseconds of `sortMs`.
  static func buckets(around sortMs: Int64, window: Int64) -> ClosedRange<Int64> {
    (sortMs - window) / bucketMilliseconds...(sortMs + window) / bucketMilliseconds
  }
}
