import FeedModel
import FeedStore
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL `FeedStore`, shared by a fleet of clusterwire instances (issue 14).
///
/// Every store rule (identity, de-duplication, retention, tombstones, timeline, paging) is
/// FeedStore's own, run through `StoreCore` on a `PostgresEngine`; this type adds what only a
/// shared store has: the hosts of sources, leases, heartbeats, change notifications, and the
/// copy of a SQLite store (`copy(fromSQLite:)`).
public final class PostgresFeedStore: SharedFeedStore {
  public let instanceID: String
  public let configuration: PostgresStoreConfiguration
  let engine: PostgresEngine
  /// The store's rules over this database; every `FeedStore` requirement delegates to it.
  package let core: StoreCore<PostgresEngine>
  let logger: Logger
  /// Reported in heartbeats (`status` compares the fleet's versions).
  let version: String
  let startedAt: Date
  private let currentOptions: Locked<StoreOptions>
  private let listeners = Locked<[ObjectIdentifier: Listener]>([:])

  /// Retention and matching limits; a config reload changes them (`updateOptions`).
  public var options: StoreOptions { currentOptions.value }

  /// New limits from a reloaded config; the next transaction uses them.
  public func updateOptions(_ options: StoreOptions) {
    currentOptions.withValue { $0 = options }
  }

  private init(
    configuration: PostgresStoreConfiguration, engine: PostgresEngine, options: StoreOptions,
    instanceID: String, logger: Logger, version: String
  ) {
    self.configuration = configuration
    self.engine = engine
    self.instanceID = instanceID
    self.logger = logger
    self.version = version
    self.startedAt = Date()
    let box = Locked(options)
    currentOptions = box
    core = StoreCore(engine: engine, options: { box.value })
  }

  /// Connects, migrates the schema (safe when several instances start together) and returns
  /// the store. Throws when the server cannot be reached, the credentials are refused or the
  /// database was written by a newer clusterwire.
  public static func open(
    _ configuration: PostgresStoreConfiguration, options: StoreOptions = StoreOptions(),
    instanceID: String, logger: Logger = Logger(label: "clusterwire.store.postgres"),
    version: String = ""
  ) async throws -> PostgresFeedStore {
    let engine = try PostgresEngine(configuration, logger: logger)
    do {
      try await PostgresSchema.migrate(engine)
    } catch {
      await engine.close()
      throw error
    }
    return PostgresFeedStore(
      configuration: configuration, engine: engine, options: options, instanceID: instanceID,
      logger: logger, version: version)
  }

  /// A default instance id: host name, pid and a random suffix (unique even for two instances
  /// on one host restarted with the same pid).
  public static func defaultInstanceID() -> String {
    let host = ProcessInfo.processInfo.hostName
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(suffix)"
  }

  // MARK: FeedStore

  /// `StoreCore`'s sync and, in the same transaction, the hosts of the sources
  /// (`SourceDefinition.hostKey`), which the claims count per-host leases by.
  public func syncSources(_ definitions: [SourceDefinition]) async throws {
    let hosts = definitions.map { ($0.id, $0.hostKey) }
    try await core.syncSources(definitions) { pg in
      for start in stride(from: 0, to: hosts.count, by: 1000) {
        let batch = hosts[start..<min(start + 1000, hosts.count)]
        var values: [String] = []
        var arguments: [SQLValue] = []
        for (i, (id, host)) in batch.enumerated() {
          values.append("($\(2 * i + 1), $\(2 * i + 2))")
          arguments += [.text(id), SQLValue(host)]
        }
        try pg.send(
          """
          UPDATE source SET host = v.host FROM (VALUES \(values.joined(separator: ", ")))
            AS v(id, host)
          WHERE source.id = v.id AND source.host IS DISTINCT FROM v.host
          """, arguments)
      }
    }
  }

  public func sourceState(id: String) async throws -> SourceState? {
    try await core.sourceState(id: id)
  }

  public func sourceStates() async throws -> [SourceState] {
    try await core.sourceStates()
  }

  /// `StoreCore`'s record; in the same transaction, this instance's lease of the source is
  /// released, so the committed fetch is never repeated within its interval and a crash before
  /// the commit leaves the lease to expire (and the source to be fetched again).
  @discardableResult
  public func record(_ outcome: FetchOutcome, feed: Feed?) async throws -> IngestReport {
    let owner = instanceID
    return try await core.record(outcome, feed: feed) { pg, outcome in
      try pg.execute(
        "UPDATE source SET leaseOwner = NULL, leaseUntil = NULL WHERE id = ? AND leaseOwner = ?",
        [.text(outcome.sourceID), .text(owner)])
    }
  }

  public func timeline(_ query: TimelineQuery) async throws -> TimelinePage {
    try await core.timeline(query)
  }

  public func archives(_ query: TimelineQuery, pageSize: Int) async throws -> ArchiveLayout {
    try await core.archives(query, pageSize: pageSize)
  }

  public func counts() async throws -> StoreCounts {
    try await core.counts()
  }

  public func facets() async throws -> StoreFacets {
    try await core.facets()
  }

  public func changeToken() async throws -> Int64 {
    try await core.changeToken()
  }

  @discardableResult
  public func sweep(at: Date) async throws -> RetentionSweep {
    try await core.sweep(at: at)
  }

  // MARK: extras (as SQLiteFeedStore's)

  /// A stored entry by the id its source gave it (Atom `id` / RSS `guid`), or nil.
  public func entry(sourceID: String, originalID: String) async throws -> StoredEntry? {
    try await core.entry(sourceID: sourceID, originalID: originalID)
  }

  /// The source's entries, newest first (by sort date).
  public func entries(sourceID: String, limit: Int = 100) async throws -> [StoredEntry] {
    try await core.entries(sourceID: sourceID, limit: limit)
  }

  /// The identity-key strategy of a source (see `SQLiteFeedStore.keyMode`).
  public func keyMode(sourceID: String) async throws -> Int? {
    try await core.keyMode(sourceID: sourceID)
  }

  // MARK: fleet

  /// See `SharedFeedStore.claimDue`. One transaction under the fleet-wide claim lock: count the
  /// live leases per host, read the due, unleased, active, not-gone sources oldest due first
  /// (never-fetched first) from the `source_due` index, pick up to `limit` of them without
  /// passing `perHost` on any host (sources without a host, `file://`, are not limited, as in the
  /// crawler), and lease the picked rows. Rows that a crawl result is being written to right now
  /// are skipped (`SKIP LOCKED`), not waited for.
  ///
  /// Three short statements instead of one: the candidates are bounded (`candidateBound`) and
  /// hosts already at `perHost` are left out of them, so a claim reads and locks only a few
  /// rows however many sources are due; the landed single statement locked and ranked every due
  /// row (9 ms a claim at 2 000 sources, most of the database's time, growing with the table).
  public func claimDue(now: Date, limit: Int, perHost: Int, leaseTTL: TimeInterval) async throws
    -> [String]
  {
    guard limit > 0, perHost > 0 else { return [] }
    let owner = instanceID
    let nowValue = now.timeIntervalSince1970
    let until = nowValue + leaseTTL
    let bound = Self.candidateBound(limit: limit)
    return try await engine.fleetTransaction(lockKey: PostgresEngine.claimLockKey) { pg in
      var busy: [String: Int] = [:]
      for row in try pg.send(
        """
        SELECT host, count(*) FROM source
        WHERE leaseOwner IS NOT NULL AND leaseUntil > $1 AND host IS NOT NULL
        GROUP BY host
        """, [.real(nowValue)]
      ).values {
        if let host = row[0].string { busy[host] = Int(row[1].int64 ?? 0) }
      }
      let full = busy.filter { $0.value >= perHost }.keys.sorted()
      let fullList = full.indices.map { "$\($0 + 3)" }.joined(separator: ", ")
      let candidates = try pg.send(
        """
        SELECT id, host FROM source
        WHERE active = 1 AND gone = 0 AND (nextDue IS NULL OR nextDue <= $1)
          AND (leaseOwner IS NULL OR leaseUntil IS NULL OR leaseUntil <= $1)
          \(full.isEmpty ? "" : "AND (host IS NULL OR host NOT IN (\(fullList)))")
        ORDER BY nextDue NULLS FIRST, id
        LIMIT $2
        """, [.real(nowValue), .integer(Int64(bound))] + full.map { .text($0) }
      ).values
      var picked: [String] = []
      for row in candidates where picked.count < limit {
        guard let id = row[0].string else { continue }
        if let host = row[1].string {
          let n = busy[host, default: 0]
          guard n < perHost else { continue }
          busy[host] = n + 1
        }
        picked.append(id)
      }
      guard !picked.isEmpty else { return [] }
      let list = picked.indices.map { "$\($0 + 4)" }.joined(separator: ", ")
      let leased = try pg.send(
        """
        UPDATE source SET leaseOwner = $1, leaseUntil = $2, lastHolder = $1
        WHERE id IN (
          SELECT id FROM source
          WHERE id IN (\(list)) AND active = 1 AND gone = 0
            AND (nextDue IS NULL OR nextDue <= $3)
            AND (leaseOwner IS NULL OR leaseUntil IS NULL OR leaseUntil <= $3)
          FOR UPDATE SKIP LOCKED)
        RETURNING id
        """, [.text(owner), .real(until), .real(nowValue)] + picked.map { .text($0) }
      ).values
      let got = Set(leased.compactMap { $0[0].string })
      return picked.filter { got.contains($0) }
    }
  }

  /// How many due sources one claim reads: enough that per-host limits rarely leave a claim
  /// short of `limit`, few enough that a claim stays a short index range scan.
  static func candidateBound(limit: Int) -> Int { max(64, limit * 8) }

  /// See `SharedFeedStore.release`: gives back this instance's leases of `sourceIDs`.
  public func release(sourceIDs: [String]) async throws {
    guard !sourceIDs.isEmpty else { return }
    let owner = instanceID
    try await engine.fleetTransaction { pg in
      for start in stride(from: 0, to: sourceIDs.count, by: 500) {
        let batch = sourceIDs[start..<min(start + 500, sourceIDs.count)]
        let list = (2..<(batch.count + 2)).map { "$\($0)" }.joined(separator: ", ")
        try pg.send(
          """
          UPDATE source SET leaseOwner = NULL, leaseUntil = NULL
          WHERE leaseOwner = $1 AND id IN (\(list))
          """, [.text(owner)] + batch.map { .text($0) })
      }
    }
  }

  /// See `SharedFeedStore.heartbeat`.
  public func heartbeat(configHash: String, now: Date, expireAfter: TimeInterval) async throws {
    let values: [SQLValue] = [
      .text(instanceID), .text(ProcessInfo.processInfo.hostName),
      .integer(Int64(ProcessInfo.processInfo.processIdentifier)),
      .real(startedAt.timeIntervalSince1970), .real(now.timeIntervalSince1970),
      .text(configHash), .text(version),
    ]
    try await engine.fleetTransaction { pg in
      try pg.send(
        """
        INSERT INTO instance (id, hostname, pid, startedAt, heartbeat, configHash, version)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname, pid = EXCLUDED.pid,
          heartbeat = EXCLUDED.heartbeat, configHash = EXCLUDED.configHash,
          version = EXCLUDED.version
        """, values)
      try pg.send(
        "DELETE FROM instance WHERE heartbeat < $1 AND id <> $2",
        [.real(now.timeIntervalSince1970 - expireAfter), .text(self.instanceID)])
    }
  }

  /// See `SharedFeedStore.instances`.
  public func instances() async throws -> [FleetInstance] {
    try await engine.read { pg in
      try pg.send(
        """
        SELECT id, hostname, pid, startedAt, heartbeat, configHash, version FROM instance
        ORDER BY heartbeat DESC, id
        """
      ).values.map { v in
        FleetInstance(
          id: v[0].string ?? "", hostname: v[1].string ?? "", pid: Int(v[2].int64 ?? 0),
          startedAt: Date(timeIntervalSince1970: v[3].double ?? 0),
          heartbeat: Date(timeIntervalSince1970: v[4].double ?? 0),
          configHash: v[5].string ?? "", version: v[6].string ?? "")
      }
    }
  }

  /// See `SharedFeedStore.leases`: an expired lease has no owner.
  public func leases() async throws -> [String: SourceLease] {
    let now = Date().timeIntervalSince1970
    return try await engine.read { pg in
      var leases: [String: SourceLease] = [:]
      for v in try pg.send("SELECT id, leaseOwner, leaseUntil, lastHolder FROM source").values {
        let until = v[2].double
        let live = until.map { $0 > now } ?? false
        leases[v[0].string ?? ""] = SourceLease(
          owner: live ? v[1].string : nil,
          until: live ? until.map { Date(timeIntervalSince1970: $0) } : nil,
          lastHolder: v[3].string)
      }
      return leases
    }
  }

  /// See `SharedFeedStore.changeNotifications`. Each stream has a LISTEN connection of its own;
  /// whenever it is (re)established the stream first yields the token current then, so a change
  /// committed while it was down is never missed. Reconnects with backoff (0.1 s doubling to
  /// 5 s); ends when the store closes or the consumer stops.
  public func changeNotifications() -> AsyncStream<Int64> {
    let (stream, continuation) = AsyncStream<Int64>.makeStream(
      bufferingPolicy: .bufferingNewest(256))
    if engine.isClosed {
      continuation.finish()
      return stream
    }
    let listener = Listener()
    let key = ObjectIdentifier(listener)
    listeners.withValue { $0[key] = listener }
    let engine = self.engine
    let logger = self.logger
    let task = Task {
      await listener.run(engine: engine, logger: logger, continuation: continuation)
      continuation.finish()
    }
    listener.task.withValue { $0 = task }
    continuation.onTermination = { [weak self] _ in
      listener.stop()
      self?.listeners.withValue { _ = $0.removeValue(forKey: key) }
    }
    return stream
  }

  /// See `SharedFeedStore.ping`.
  /// See `SharedFeedStore.ping`: a connection of its own and `SELECT 1`, answered within
  /// `pingTimeout` or thrown. It never waits for the store's pooled connections or threads, so a
  /// readiness probe answers even while every pooled connection is busy or stuck on a server
  /// that went away.
  public func ping() async throws {
    if engine.isClosed { throw FeedStoreError.closed }
    let engine = self.engine
    let logger = self.logger
    try await Self.withDeadline(seconds: Self.pingTimeout) {
      let connection = try await engine.makeConnection()
      do {
        try await connection.query("SELECT 1", logger: logger)
      } catch {
        try? await connection.close()
        throw PostgresStoreError.unexpected(String(reflecting: error))
      }
      try await connection.close()
    }
  }

  /// How long `ping` waits for the database.
  static let pingTimeout: Double = 5

  /// `body`'s result, or an error once `seconds` have passed; `body` is left to finish (or fail)
  /// on its own, so a call that ignores cancellation cannot hold the caller.
  static func withDeadline(
    seconds: Double, _ body: @escaping @Sendable () async throws -> Void
  ) async throws {
    let once = Locked(false)
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
      @Sendable func finish(_ result: Result<Void, Error>) {
        let first = once.withValue { done -> Bool in
          defer { done = true }
          return !done
        }
        if first { continuation.resume(with: result) }
      }
      let work = Task {
        do {
          try await body()
          finish(.success(()))
        } catch {
          finish(.failure(error))
        }
      }
      Task {
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        finish(
          .failure(
            PostgresStoreError.unexpected("the database did not answer within \(Int(seconds)) s")))
        work.cancel()
      }
    }
  }

  /// Stops the listeners, waits for the transactions in flight and closes every connection;
  /// further calls throw `FeedStoreError.closed`.
  public func close() async throws {
    for listener in listeners.withValue({ l -> [Listener] in
      defer { l.removeAll() }
      return Array(l.values)
    }) {
      listener.stop()
    }
    await engine.close()
  }
}

/// One `changeNotifications()` stream's LISTEN loop and its current connection (closed by `stop`,
/// which ends a wait for notifications at once).
final class Listener: Sendable {
  let task = Locked<Task<Void, Never>?>(nil)
  private let connection = Locked<PostgresConnection?>(nil)
  private let stopped = Locked(false)

  func stop() {
    stopped.withValue { $0 = true }
    task.value?.cancel()
    connection.value?.close().whenComplete { _ in }
  }

  func run(
    engine: PostgresEngine, logger: Logger, continuation: AsyncStream<Int64>.Continuation
  ) async {
    var delay = 0.1
    while !stopped.value, !Task.isCancelled, !engine.isClosed {
      do {
        let connection = try await engine.makeConnection()
        self.connection.withValue { $0 = connection }
        if stopped.value {
          try? await connection.close()
          return
        }
        do {
          try await connection.listen(on: PostgresEngine.changeChannel) { notifications in
            let rows = try await connection.query(
              "SELECT value FROM meta WHERE key = 'changeToken'", logger: logger)
            for try await token in rows.decode(Int64.self) { continuation.yield(token) }
            delay = 0.1
            for try await notification in notifications {
              if let token = Int64(notification.payload) { continuation.yield(token) }
            }
          }
        } catch {
          if !stopped.value {
            logger.warning("change notifications interrupted: \(error); reconnecting")
          }
        }
        try? await connection.close()
      } catch {
        if !stopped.value {
          logger.warning("change notifications: cannot connect: \(error); retrying")
        }
      }
      if stopped.value || Task.isCancelled { return }
      try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
      delay = min(delay * 2, 5)
    }
  }
}
