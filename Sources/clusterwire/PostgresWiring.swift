import Config
import FeedStore
import Foundation
import Logging

// ┌──────────────────────────────────────────────────────────────────────────────────────────┐
// │ INTEGRATOR: the only place that touches Sources/PostgresStore. Until the pg branch is    │
// │ merged every function here throws `PostgresNotBuilt`; fill in the three bodies marked    │
// │ FILL IN (and `import PostgresStore`), nothing else in the daemon needs to change.        │
// └──────────────────────────────────────────────────────────────────────────────────────────┘

/// Thrown by the PostgreSQL wiring while the PostgreSQL store is not part of the build.
struct PostgresNotBuilt: Error, CustomStringConvertible {
  var description: String { "PostgreSQL support not built yet" }
}

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

/// The daemon's side of the PostgreSQL store (issue 14), kept in one file.
enum PostgresWiring {
  /// Opens the shared store named by `[store] url` (password from `password_file`, the URL or
  /// `$PGPASSWORD`), running its migrations, as fleet instance `instanceID`.
  static func openPostgres(_ s: Settings, instanceID: String, logger: Logger) async throws
    -> any SharedFeedStore
  {
    // FILL IN:
    //   let configuration = try PostgresStoreConfiguration(
    //     url: s.store.url!, passwordFile: s.store.passwordFile,
    //     environment: ProcessInfo.processInfo.environment)
    //   return try await PostgresFeedStore.open(
    //     configuration, options: Wiring.storeOptions(s), instanceID: instanceID, logger: logger)
    _ = (s, instanceID, logger)
    throw PostgresNotBuilt()
  }

  /// What `check-config` asks beyond Config's own checks: does the PostgreSQL store accept the
  /// URL's options (`sslmode` and the like) and find its password? Nil when it does.
  static func configurationProblem(_ s: Settings) -> String? {
    // FILL IN:
    //   do {
    //     _ = try PostgresStoreConfiguration(
    //       url: s.store.url!, passwordFile: s.store.passwordFile,
    //       environment: ProcessInfo.processInfo.environment)
    //     return nil
    //   } catch { return "\(error)" }
    _ = s
    return nil
  }

  /// Applies reloaded retention limits to a PostgreSQL store; false when `store` is none.
  static func updateOptions(_ store: any FeedStore, _ options: StoreOptions) -> Bool {
    // FILL IN:
    //   guard let pg = store as? PostgresFeedStore else { return false }
    //   pg.updateOptions(options)   // (add `await` if it is async, and make this async)
    //   return true
    _ = (store, options)
    return false
  }

  /// `copy-store`: every entry, id, duplicate group, tombstone and source state of the SQLite
  /// file at `sqlitePath` into the (empty) PostgreSQL store at `url`, then the counts of both.
  static func copy(
    fromSQLite sqlitePath: String, toURL url: String, passwordFile: String?, logger: Logger
  ) async throws -> CopyStoreSummary {
    // FILL IN:
    //   let configuration = try PostgresStoreConfiguration(
    //     url: url, passwordFile: passwordFile, environment: ProcessInfo.processInfo.environment)
    //   let store = try await PostgresFeedStore.open(
    //     configuration, options: StoreOptions(), instanceID: Wiring.defaultInstanceID(),
    //     logger: logger)
    //   let report = try await store.copy(fromSQLite: sqlitePath)
    //   try await store.close()
    //   return CopyStoreSummary(rows: <one Row per count in `report`>)
    _ = (sqlitePath, url, passwordFile, logger)
    throw PostgresNotBuilt()
  }
}
