import Config
import FeedStore
import Foundation
import Logging
import PostgresStore

/// What `copy-store` reports: per kind of row, how many the SQLite store had and how many the
/// PostgreSQL store has after the copy.
struct CopyStoreSummary: Sendable {
  struct Row: Sendable {
    var what: String
    var source: Int
    var copied: Int
  }
  var rows: [Row]
  var verified: Bool { rows.allSatisfy { $0.source == $0.copied } }
}

/// The daemon's side of the PostgreSQL store (issue 14), kept in one file: the only place
/// outside the store that names `PostgresStore`.
enum PostgresWiring {
  /// The store's configuration from `[store] url` and `password_file` (or `$PGPASSWORD`).
  static func configuration(url: String, passwordFile: String?) throws
    -> PostgresStoreConfiguration
  {
    try PostgresStoreConfiguration(
      url: url, passwordFile: passwordFile, environment: ProcessInfo.processInfo.environment)
  }

  /// Opens the shared store named by `[store] url` (password from `password_file`, the URL or
  /// `$PGPASSWORD`), running its migrations, as fleet instance `instanceID`.
  static func openPostgres(_ s: Settings, instanceID: String, logger: Logger) async throws
    -> any SharedFeedStore
  {
    let configuration = try configuration(
      url: s.store.url ?? "", passwordFile: s.store.passwordFile)
    return try await PostgresFeedStore.open(
      configuration, options: Wiring.storeOptions(s), instanceID: instanceID, logger: logger,
      version: clusterwireVersion)
  }

  /// What `check-config` asks beyond Config's own checks: does the PostgreSQL store accept the
  /// URL's options (`sslmode` and the like) and find its password? Nil when it does.
  static func configurationProblem(_ s: Settings) -> String? {
    do {
      _ = try configuration(url: s.store.url ?? "", passwordFile: s.store.passwordFile)
      return nil
    } catch {
      return "\(error)"
    }
  }

  /// Applies reloaded retention limits to a PostgreSQL store; false when `store` is none.
  static func updateOptions(_ store: any FeedStore, _ options: StoreOptions) -> Bool {
    guard let pg = store as? PostgresFeedStore else { return false }
    pg.updateOptions(options)
    return true
  }

  /// The fleet's instance-id rule (host, pid, random suffix), one for every command.
  static func defaultInstanceID() -> String { PostgresFeedStore.defaultInstanceID() }

  /// `copy-store`: every entry, id, duplicate group, tombstone and source state of the SQLite
  /// file at `sqlitePath` into the (empty) PostgreSQL store at `url`, then the counts of both.
  static func copy(
    fromSQLite sqlitePath: String, toURL url: String, passwordFile: String?, logger: Logger
  ) async throws -> CopyStoreSummary {
    let store = try await PostgresFeedStore.open(
      configuration(url: url, passwordFile: passwordFile), options: StoreOptions(),
      instanceID: "copy-\(defaultInstanceID())", logger: logger, version: clusterwireVersion)
    do {
      _ = try await store.copy(fromSQLite: sqlitePath)
      // The copy checked every table's row count inside its transaction; this compares what
      // each store itself reports, through the same API the daemon uses.
      let sqlite = try SQLiteFeedStore(path: sqlitePath)
      let before = try await sqlite.counts()
      try await sqlite.close()
      let after = try await store.counts()
      try await store.close()
      return CopyStoreSummary(rows: [
        .init(what: "sources", source: before.sources, copied: after.sources),
        .init(what: "entries", source: before.entries, copied: after.entries),
        .init(
          what: "duplicate groups", source: before.duplicateGroups, copied: after.duplicateGroups),
        .init(what: "merged groups", source: before.mergedGroups, copied: after.mergedGroups),
        .init(what: "tombstones", source: before.tombstones, copied: after.tombstones),
      ])
    } catch {
      try? await store.close()
      throw error
    }
  }
}
