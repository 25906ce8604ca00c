import FeedStore
import Foundation

/// The PostgreSQL schema, versioned in `schema_version` (one row per applied migration).
/// Migrations are append-only, like SQLite's: a released one is never edited.
///
/// Version 1 is the SQLite store's final schema (Sources/FeedStore/Schema.swift after its v4) with
/// the same tables, column names (unquoted, so PostgreSQL folds them to lower case and the
/// shared SQL finds them either way), indexes and `meta` rows; INTEGER is `bigint`, REAL
/// `double precision`, BLOB `bytea`, booleans stay integers 0/1. Text columns compare bytewise
/// (`COLLATE "C"`), as SQLite's do, so every `ORDER BY` of text gives the same order on both
/// backends whatever the database's locale (and prefix ranges use the index). Besides, the fleet's
/// state: `source.host` (`SourceDefinition.hostKey`), the lease columns, and `instance`.
package enum PostgresSchema {
  /// Each migration's statements, in order; `migrations[i]` brings version `i` to `i + 1`.
  package static let migrations: [[String]] = [version1, version2, version3]

  package static var latestVersion: Int { migrations.count }

  static let version1: [String] = [
    """
    CREATE TABLE source (
      id text COLLATE "C" PRIMARY KEY,
      url text COLLATE "C" NOT NULL,
      kind text COLLATE "C" NOT NULL,
      title text COLLATE "C",
      categories text COLLATE "C" NOT NULL DEFAULT '[]',
      priority bigint NOT NULL DEFAULT 0,
      language text COLLATE "C",
      active bigint NOT NULL DEFAULT 1,
      etag text COLLATE "C", lastModified text COLLATE "C", bodyHash text COLLATE "C",
      lastAttempt double precision, lastSuccess double precision, httpStatus bigint,
      consecutiveFailures bigint NOT NULL DEFAULT 0,
      lastError text COLLATE "C", failingSince double precision, nextDue double precision,
      movedTo text COLLATE "C",
      gone bigint NOT NULL DEFAULT 0,
      feedID text COLLATE "C", feedTitle text COLLATE "C", feedLink text COLLATE "C",
      feedUpdated double precision, feedIcon text COLLATE "C", feedRights text COLLATE "C",
      feedAuthor text COLLATE "C", feedLanguage text COLLATE "C",
      keyMode bigint NOT NULL DEFAULT 0,
      entryCount bigint NOT NULL DEFAULT 0,
      currentIDs bytea,
      retentionDropped bigint NOT NULL DEFAULT 0,
      configHash text COLLATE "C",
      inactiveSince double precision,
      feedHead bytea,
      host text COLLATE "C",
      leaseOwner text COLLATE "C",
      leaseUntil double precision,
      lastHolder text COLLATE "C"
    )
    """,
    """
    CREATE TABLE grp (
      id bigint PRIMARY KEY,
      preferredEntryID bigint NOT NULL,
      sortDate bigint NOT NULL,
      memberCount bigint NOT NULL,
      facets text COLLATE "C" NOT NULL
    )
    """,
    """
    CREATE TABLE entry (
      id bigint PRIMARY KEY,
      sourceID text COLLATE "C" NOT NULL REFERENCES source(id) ON DELETE CASCADE,
      key text COLLATE "C" NOT NULL,
      groupID bigint NOT NULL,
      sortDate bigint NOT NULL,
      firstSeen double precision NOT NULL,
      contentUpdated double precision NOT NULL,
      language text COLLATE "C",
      simhash bigint NOT NULL,
      tokenCount bigint NOT NULL,
      normTitle text COLLATE "C" NOT NULL,
      canonicalURL text COLLATE "C",
      idHash text COLLATE "C" NOT NULL, contentHash text COLLATE "C" NOT NULL,
      fullHash text COLLATE "C" NOT NULL,
      atomID text COLLATE "C" NOT NULL,
      guid text COLLATE "C", link text COLLATE "C", title text COLLATE "C",
      published double precision, updated double precision, entryLanguage text COLLATE "C",
      summaryType bigint, contentType bigint,
      extra bytea, summary text COLLATE "C", content text COLLATE "C"
    )
    """,
    "CREATE UNIQUE INDEX entry_key ON entry(sourceID, key)",
    "CREATE UNIQUE INDEX entry_atom ON entry(atomID)",
    "CREATE INDEX entry_source_sort ON entry(sourceID, sortDate)",
    "CREATE INDEX entry_group ON entry(groupID)",
    "CREATE INDEX entry_canon ON entry(canonicalURL) WHERE canonicalURL IS NOT NULL",
    """
    CREATE TABLE near_dup (
      bucket bigint NOT NULL,
      band bigint NOT NULL,
      entryID bigint NOT NULL,
      PRIMARY KEY (bucket, band, entryID)
    )
    """,
    """
    CREATE TABLE group_facet (
      facet text COLLATE "C" NOT NULL,
      sortDate bigint NOT NULL,
      groupID bigint NOT NULL,
      PRIMARY KEY (facet, sortDate, groupID)
    )
    """,
    """
    CREATE TABLE tombstone (
      sourceID text COLLATE "C" NOT NULL,
      key text COLLATE "C" NOT NULL,
      removedAt double precision NOT NULL,
      PRIMARY KEY (sourceID, key)
    )
    """,
    "CREATE TABLE meta (key text COLLATE \"C\" PRIMARY KEY, value bigint NOT NULL)",
    """
    INSERT INTO meta(key, value) VALUES
      ('changeToken', 1), ('nextEntryID', 1), ('groups', 0), ('mergedGroups', 0),
      ('tombstones', 0)
    """,
    """
    CREATE TABLE archive_seal (
      facet text COLLATE "C" NOT NULL,
      page bigint NOT NULL,
      sortDate bigint NOT NULL,
      groupID bigint NOT NULL,
      PRIMARY KEY (facet, page)
    )
    """,
    // The fleet: which due sources are claimable (oldest due first), and the live leases per host.
    """
    CREATE INDEX source_due ON source(nextDue NULLS FIRST, id)
      WHERE active = 1 AND gone = 0
    """,
    "CREATE INDEX source_lease ON source(host, leaseUntil) WHERE leaseOwner IS NOT NULL",
    """
    CREATE TABLE instance (
      id text COLLATE "C" PRIMARY KEY,
      hostname text COLLATE "C",
      pid bigint,
      startedAt double precision,
      heartbeat double precision,
      configHash text COLLATE "C",
      version text COLLATE "C"
    )
    """,
  ]

  /// WebSub (issue 15): SQLite's v5-websub, the same tables, columns and indexes.
  static let version2: [String] = [
    """
    CREATE TABLE websub_hub_subscription (
      topic text COLLATE "C" NOT NULL,
      callback text COLLATE "C" NOT NULL,
      callback_host text COLLATE "C" NOT NULL,
      secret text COLLATE "C",
      lease_seconds bigint NOT NULL,
      expires double precision NOT NULL,
      created double precision NOT NULL,
      failures bigint NOT NULL DEFAULT 0,
      failing_since double precision,
      delivered_etag text COLLATE "C",
      last_delivery double precision,
      PRIMARY KEY (topic, callback)
    )
    """,
    """
    CREATE INDEX websub_hub_subscription_host
      ON websub_hub_subscription(callback_host, expires)
    """,
    "CREATE INDEX websub_hub_subscription_expires ON websub_hub_subscription(expires)",
    """
    CREATE TABLE websub_push_subscription (
      source_id text COLLATE "C" PRIMARY KEY,
      hub text COLLATE "C" NOT NULL,
      topic text COLLATE "C" NOT NULL,
      token text COLLATE "C" NOT NULL,
      secret text COLLATE "C" NOT NULL,
      state text COLLATE "C" NOT NULL,
      requested double precision NOT NULL,
      lease_seconds bigint,
      expires double precision,
      failing_since double precision,
      last_error text COLLATE "C",
      last_push double precision
    )
    """,
  ]

  /// Entry filters (issue 16): SQLite's v6-entry-filter.
  static let version3: [String] = [
    "ALTER TABLE entry ADD COLUMN filtered bigint NOT NULL DEFAULT 0",
    "ALTER TABLE source ADD COLUMN filterSpec text COLLATE \"C\"",
    "ALTER TABLE source ADD COLUMN filteredCount bigint NOT NULL DEFAULT 0",
  ]

  /// Brings the database to `latestVersion`, each migration in its own transaction, under a
  /// session advisory lock so that instances starting together migrate one after the other (the
  /// later ones find the work done). Throws `newerSchema` for a database migrated by a newer
  /// clusterwire, before touching anything.
  package static func migrate(_ engine: PostgresEngine) async throws {
    try await engine.withWriterConnection { pg in
      try pg.send("SELECT pg_advisory_lock($1)", [.integer(PostgresEngine.migrationLockKey)])
      defer {
        _ = try? pg.send(
          "SELECT pg_advisory_unlock($1)", [.integer(PostgresEngine.migrationLockKey)])
      }
      try pg.send(
        """
        CREATE TABLE IF NOT EXISTS schema_version (
          version bigint PRIMARY KEY,
          appliedAt double precision NOT NULL,
          application text
        )
        """)
      let current =
        try pg.send("SELECT CAST(COALESCE(MAX(version), 0) AS bigint) FROM schema_version")
        .values.first?[0].int64 ?? 0
      if current > latestVersion {
        throw PostgresStoreError.newerSchema(found: Int(current), known: latestVersion)
      }
      for version in Int(current)..<latestVersion {
        try pg.send("BEGIN")
        do {
          for statement in migrations[version] { try pg.send(statement) }
          try pg.send(
            "INSERT INTO schema_version (version, appliedAt, application) VALUES ($1, $2, $3)",
            [
              .integer(Int64(version + 1)), .real(Date().timeIntervalSince1970),
              .text("clusterwire"),
            ])
          try pg.send("COMMIT")
        } catch {
          _ = try? pg.send("ROLLBACK")
          throw error
        }
      }
    }
  }

  /// The store's tables, in an order that satisfies the foreign key (copy, verification).
  package static let tables = [
    "source", "grp", "entry", "near_dup", "group_facet", "tombstone", "meta", "archive_seal",
    "websub_hub_subscription", "websub_push_subscription",
  ]
}
