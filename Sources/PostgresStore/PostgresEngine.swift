import FeedStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The PostgreSQL side of the store's engine seam: a few connections, each used by one
/// transaction at a time on a thread of the engine's own `NIOThreadPool` (the store's rules are
/// synchronous; PostgresNIO's futures are waited for there, never on an event loop or Swift's
/// cooperative pool).
///
/// - Reads run in `REPEATABLE READ READ ONLY` transactions on the reader connections: every
///   statement of one read sees the same snapshot, as on SQLite's WAL readers.
/// - Writes run on the writer connection in a transaction that first takes one fleet-wide
///   advisory lock (`pg_advisory_xact_lock(writeLockKey)`), so writes are serialised across every
///   instance sharing the database exactly as SQLite's single writer serialises them: the
///   de-duplication lookups, the id allocator and the counters in `meta` are read and written
///   with nobody else in between, and each statement (`READ COMMITTED`) sees every commit made
///   before the lock was granted. A write that moved `meta.changeToken` announces the new token
///   with `pg_notify` inside the transaction (delivered at commit, never for a rollback).
/// - A connection that broke (the server restarted, the network dropped) is closed and replaced
///   by a new one on its next use; a transaction whose `BEGIN` finds it broken is retried once on
///   the new connection, so a database restart costs the daemon the transactions that were in
///   flight, nothing more.
package final class PostgresEngine: Sendable {
  /// The advisory lock key of every write transaction ("clusterw" in ASCII).
  package static let writeLockKey: Int64 = 0x636c_7573_7465_7277
  /// Serialises lease claims fleet-wide (so `perHost` holds across instances).
  package static let claimLockKey: Int64 = 0x636c_7573_7465_7263
  /// Serialises schema migrations when several instances start at once.
  package static let migrationLockKey: Int64 = 0x636c_7573_7465_726d
  /// The NOTIFY channel that carries change tokens.
  package static let changeChannel = "clusterwire_change"

  package let configuration: PostgresStoreConfiguration
  let connectionConfiguration: PostgresConnection.Configuration
  let logger: Logger
  let threadPool: NIOThreadPool
  let eventLoopGroup: any EventLoopGroup
  let writers: SlotPool
  let readers: SlotPool
  /// Lease claims, heartbeats and releases: their own connection, so a claim never waits behind
  /// this instance's queue of crawl results.
  let fleet: SlotPool
  private let state = Locked(false)
  private let ids = Locked(0)

  package init(_ configuration: PostgresStoreConfiguration, logger: Logger) throws {
    self.configuration = configuration
    connectionConfiguration = try configuration.connectionConfiguration()
    self.logger = logger
    let readerCount = max(1, configuration.readConnections)
    writers = SlotPool(count: 1)
    readers = SlotPool(count: readerCount)
    fleet = SlotPool(count: 1)
    threadPool = NIOThreadPool(numberOfThreads: readerCount + 2)
    threadPool.start()
    eventLoopGroup = MultiThreadedEventLoopGroup.singleton
  }

  package var isClosed: Bool { state.value }

  private func checkOpen() throws {
    if state.value { throw FeedStoreError.closed }
  }

  /// One read-only snapshot transaction.
  @discardableResult
  package func read<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T)
    async throws -> T
  {
    try await transaction(readers, .read, body)
  }

  /// One write transaction under the fleet-wide write lock.
  @discardableResult
  package func write<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T)
    async throws -> T
  {
    try await transaction(writers, .write, body)
  }

  /// One transaction on the fleet connection, under `lockKey`'s advisory lock when given.
  @discardableResult
  package func fleetTransaction<T: Sendable>(
    lockKey: Int64? = nil, _ body: @escaping @Sendable (PGConnection) throws -> T
  ) async throws -> T {
    try await transaction(fleet, lockKey.map { .locked($0) } ?? .plain, body)
  }

  /// `body` on a writer connection outside any transaction (migrations, which take a session
  /// lock and commit step by step).
  package func withWriterConnection<T: Sendable>(
    _ body: @escaping @Sendable (PGConnection) throws -> T
  ) async throws -> T {
    try checkOpen()
    let slot = await writers.acquire()
    defer { writers.release(slot) }
    try checkOpen()
    return try await threadPool.runIfActive {
      let pg = try self.connection(slot)
      do {
        return try body(pg)
      } catch {
        if pg.connection.isClosed { slot.drop() }
        throw error
      }
    }
  }

  enum Kind {
    case read
    case write
    case locked(Int64)
    case plain
  }

  private func transaction<T: Sendable>(
    _ pool: SlotPool, _ kind: Kind, _ body: @escaping @Sendable (PGConnection) throws -> T
  ) async throws -> T {
    try checkOpen()
    let slot = await pool.acquire()
    defer { pool.release(slot) }
    try checkOpen()
    return try await threadPool.runIfActive { try self.run(slot, kind, body) }
  }

  /// The connection of `slot`, connecting when it has none or it broke.
  private func connection(_ slot: Slot) throws -> PGConnection {
    if let pg = slot.connection, !pg.connection.isClosed { return pg }
    slot.drop()
    let id = ids.withValue { v -> Int in
      v += 1
      return v
    }
    let connection: PostgresConnection
    do {
      connection = try PostgresConnection.connect(
        on: eventLoopGroup.next(), configuration: connectionConfiguration, id: id, logger: logger
      ).wait()
    } catch let error as PSQLError {
      throw PostgresStoreError.unexpected("cannot connect: " + PGConnection.describe(error))
    }
    let pg = PGConnection(connection, logger: logger)
    slot.connection = pg
    return pg
  }

  private func run<T>(_ slot: Slot, _ kind: Kind, _ body: (PGConnection) throws -> T) throws -> T {
    var pg = try connection(slot)
    let begin =
      switch kind {
      case .read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
      default: "BEGIN"
      }
    do {
      try pg.send(begin)
    } catch  where pg.connection.isClosed {
      // Broken while idle (e.g. the server restarted): once more on a new connection.
      slot.drop()
      pg = try connection(slot)
      try pg.send(begin)
    }
    do {
      var tokenBefore: Int64?
      switch kind {
      case .write:
        let row = try pg.send(
          "SELECT pg_advisory_xact_lock($1), (SELECT value FROM meta WHERE key = 'changeToken')",
          [.integer(Self.writeLockKey)])
        tokenBefore = row.values.first?[1].int64
      case .locked(let key):
        try pg.send("SELECT pg_advisory_xact_lock($1)", [.integer(key)])
      case .read, .plain:
        break
      }
      let result = try body(pg)
      if let tokenBefore {
        try pg.send(
          """
          SELECT pg_notify('\(Self.changeChannel)', value::text) FROM meta
          WHERE key = 'changeToken' AND value <> $1
          """, [.integer(tokenBefore)])
      }
      try pg.send("COMMIT")
      return result
    } catch {
      if pg.connection.isClosed {
        slot.drop()
      } else {
        do { try pg.send("ROLLBACK") } catch { slot.drop() }
      }
      throw error
    }
  }

  /// A new connection of its own (LISTEN, the copy's bulk transaction), async, owned by the caller.
  package func makeConnection() async throws -> PostgresConnection {
    let id = ids.withValue { v -> Int in
      v += 1
      return v
    }
    do {
      return try await PostgresConnection.connect(
        on: eventLoopGroup.next(), configuration: connectionConfiguration, id: id, logger: logger)
    } catch let error as PSQLError {
      throw PostgresStoreError.unexpected("cannot connect: " + PGConnection.describe(error))
    }
  }

  /// Waits for the transactions in flight, closes every connection and stops the threads.
  package func close() async {
    let wasClosed = state.withValue { closed -> Bool in
      let was = closed
      closed = true
      return was
    }
    if wasClosed { return }
    for pool in [writers, readers, fleet] {
      for slot in await pool.drain() {
        if let pg = slot.connection { try? await pg.connection.close() }
        slot.connection = nil
      }
    }
    try? await threadPool.shutdownGracefully()
  }
}

extension PostgresEngine: StoreEngine {
  package typealias Connection = PGConnection
}

/// One connection place of the pool; whoever acquired it has it alone.
final class Slot: @unchecked Sendable {
  var connection: PGConnection?

  func drop() {
    if let pg = connection { pg.connection.close().whenComplete { _ in } }
    connection = nil
  }
}

/// A fixed set of slots handed out one transaction at a time, waiters served in order.
final class SlotPool: @unchecked Sendable {
  private let lock = NSLock()
  private var free: [Slot]
  private var waiters: [CheckedContinuation<Slot, Never>] = []
  let all: [Slot]

  init(count: Int) {
    all = (0..<count).map { _ in Slot() }
    free = all
  }

  func acquire() async -> Slot {
    if let slot = lock.withLock({ free.popLast() }) { return slot }
    return await withCheckedContinuation { continuation in
      let slot: Slot? = lock.withLock {
        if let slot = free.popLast() { return slot }
        waiters.append(continuation)
        return nil
      }
      if let slot { continuation.resume(returning: slot) }
    }
  }

  func release(_ slot: Slot) {
    let waiter: CheckedContinuation<Slot, Never>? = lock.withLock {
      if !waiters.isEmpty { return waiters.removeFirst() }
      free.append(slot)
      return nil
    }
    waiter?.resume(returning: slot)
  }

  /// Every slot, once all are free (in-flight transactions finish first).
  func drain() async -> [Slot] {
    var slots: [Slot] = []
    for _ in all { slots.append(await acquire()) }
    return slots
  }
}

/// A value behind a lock (NIOLockedValueBox without the extra dependency).
final class Locked<Value: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: Value
  init(_ value: Value) { stored = value }
  var value: Value { lock.withLock { stored } }
  func withValue<T>(_ body: (inout Value) throws -> T) rethrows -> T {
    try lock.withLock { try body(&stored) }
  }
}
