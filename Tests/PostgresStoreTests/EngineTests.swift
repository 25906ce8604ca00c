import FeedStore
import Foundation
import Logging
import TestSupport
import XCTest

@testable import PostgresStore

/// A configuration for a new empty database on the test server.
func freshConfiguration(readConnections: Int = 2) throws -> PostgresStoreConfiguration {
  var c = try PostgresStoreConfiguration(url: TestPostgres.freshDatabase(), environment: [:])
  c.readConnections = readConnections
  return c
}

let testLogger: Logger = {
  var l = Logger(label: "test.postgres")
  l.logLevel = .error
  return l
}()

/// Collects what a change-notification stream yields, for waiting with a timeout.
final class TokenCollector: Sendable {
  let tokens = Locked<[Int64]>([])
  let ended = Locked(false)
  private let task = Locked<Task<Void, Never>?>(nil)

  init(_ stream: AsyncStream<Int64>) {
    let t = Task { [tokens, ended] in
      for await token in stream { tokens.withValue { $0.append(token) } }
      ended.withValue { $0 = true }
    }
    task.withValue { $0 = t }
  }

  /// Waits until `predicate` holds for the tokens so far (fails after `timeout` seconds).
  func wait(
    timeout: TimeInterval = 20, file: StaticString = #filePath, line: UInt = #line,
    _ predicate: ([Int64], Bool) -> Bool
  ) async {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if predicate(tokens.value, ended.value) { return }
      try? await Task.sleep(nanoseconds: 20_000_000)
    }
    XCTFail(
      "timed out; tokens so far: \(tokens.value), ended: \(ended.value)", file: file, line: line)
  }
}

/// The engine's connection seam, against a real server.
final class EngineTests: XCTestCase {
  func testResultValuesByPostgreSQLType() async throws {
    let engine = try PostgresEngine(try freshConfiguration(), logger: testLogger)
    let row = try await engine.read { pg in
      try pg.fetchOne(
        """
        SELECT 1::int2 AS a, 2::int4 AS b, 9007199254740993::int8 AS c, 1.5::float4 AS d,
          2.25::float8 AS e, 12::numeric AS f, 1.5::numeric AS g, SUM(x) AS h, 'ąž'::text AS i,
          'v'::varchar AS j, '\\xdeadbeef'::bytea AS k, true AS l, false AS m, NULL AS n,
          count(*) AS o
        FROM (VALUES (5::bigint), (7::bigint)) v(x)
        """)
    }
    await engine.close()
    let r = try XCTUnwrap(row)
    XCTAssertEqual(r["a"], .integer(1))
    XCTAssertEqual(r["b"], .integer(2))
    XCTAssertEqual(r["c"], .integer(9_007_199_254_740_993))
    XCTAssertEqual(r["d"], .real(1.5))
    XCTAssertEqual(r["e"], .real(2.25))
    XCTAssertEqual(r["f"], .integer(12))
    XCTAssertEqual(r["g"], .real(1.5))
    XCTAssertEqual(r["h"], .integer(12), "SUM of bigints is numeric, read as an integer")
    XCTAssertEqual(r["i"], .text("ąž"))
    XCTAssertEqual(r["j"], .text("v"))
    XCTAssertEqual(r["k"], .blob(Data([0xde, 0xad, 0xbe, 0xef])))
    XCTAssertEqual(r["l"], .integer(1))
    XCTAssertEqual(r["m"], .integer(0))
    XCTAssertEqual(r["n"], .null)
    XCTAssertEqual(r["O"], .integer(2), "column names are case-insensitive")
  }

  func testStatementsBindStepAndCountAffectedRows() async throws {
    let engine = try PostgresEngine(try freshConfiguration(), logger: testLogger)
    defer { Task { await engine.close() } }
    let (changed, rows, again) = try await engine.withWriterConnection { pg in
      try pg.execute(
        "CREATE TABLE t (id bigint PRIMARY KEY, name text, score double precision, raw bytea)")
      let insert = try pg.statement("INSERT INTO t (id, name, score, raw) VALUES (?, ?, ?, ?)")
      for i in 1...5 {
        try insert.bind(1, Int64(i))
        try insert.bind(2, i == 3 ? nil : "n'?\(i)")
        try insert.bind(3, Double(i) / 2)
        try insert.bind(4, Data([UInt8(i)]))
        try insert.execute()
        _ = try pg.statement("INSERT INTO t (id, name, score, raw) VALUES (?, ?, ?, ?)")
      }
      let changed = try pg.execute("UPDATE t SET score = score * 2 WHERE id > ?", [.integer(2)])
      let select = try pg.statement("SELECT id, name, score FROM t WHERE id >= ? ORDER BY id")
      try select.bind(1, 2)
      var rows: [String] = []
      while try select.step() {
        rows.append(
          "\(select.int64(0)) \(select.optionalString(1) ?? "nil") \(select.double(2)) "
            + "\(select.isNull(1))")
      }
      // The cached statement comes back reset and unbound.
      let again = try pg.statement("SELECT id, name, score FROM t WHERE id >= ? ORDER BY id")
      try again.bind(1, 5)
      var ids: [Int] = []
      while try again.step() { ids.append(again.int(0)) }
      return (changed, rows, ids)
    }
    XCTAssertEqual(changed, 3)
    XCTAssertEqual(
      rows, ["2 n'?2 1.0 false", "3 nil 3.0 true", "4 n'?4 4.0 false", "5 n'?5 5.0 false"])
    XCTAssertEqual(again, [5])
  }

  func testAFailedWriteRollsBackAndTheConnectionStaysUsable() async throws {
    let store = try await PostgresFeedStore.open(
      try freshConfiguration(), instanceID: "a", logger: testLogger)
    do {
      _ = try await store.engine.write { pg in
        try pg.execute("UPDATE meta SET value = 42 WHERE key = 'groups'")
        try pg.execute("SELECT no_such_column FROM meta")
      }
      XCTFail("expected an error")
    } catch {}
    let groups = try await store.engine.read { pg in
      try pg.fetchOne("SELECT value FROM meta WHERE key = 'groups'")?[0]
    }
    XCTAssertEqual(groups, .integer(0))
    try await store.close()
    do {
      try await store.ping()
      XCTFail("a closed store must throw")
    } catch FeedStoreError.closed {}
  }

  func testConcurrentOpensMigrateOnce() async throws {
    let configuration = try freshConfiguration()
    let stores = try await withThrowingTaskGroup(of: PostgresFeedStore.self) { group in
      for i in 0..<4 {
        group.addTask {
          try await PostgresFeedStore.open(configuration, instanceID: "i\(i)", logger: testLogger)
        }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    XCTAssertEqual(stores.count, 4)
    let (versions, tables, meta) = try await stores[0].engine.read { pg in
      (
        try pg.fetchAll("SELECT version FROM schema_version ORDER BY version").map {
          $0.int("version")
        },
        try pg.fetchAll(
          """
          SELECT table_name FROM information_schema.tables
          WHERE table_schema = current_schema() ORDER BY table_name
          """
        ).map { $0.string("table_name") },
        try pg.fetchAll("SELECT key, value FROM meta ORDER BY key").map {
          "\($0.string("key"))=\($0.int("value"))"
        }
      )
    }
    XCTAssertEqual(versions, [1, 2, 3])
    XCTAssertEqual(
      tables,
      [
        "archive_seal", "entry", "group_facet", "grp", "instance", "meta", "near_dup",
        "schema_version", "source", "tombstone", "websub_hub_subscription",
        "websub_push_subscription",
      ])
    XCTAssertEqual(
      meta, ["changeToken=1", "groups=0", "mergedGroups=0", "nextEntryID=1", "tombstones=0"])
    for store in stores { try await store.close() }
  }

  func testADatabaseFromANewerVersionIsRefused() async throws {
    let url = try TestPostgres.freshDatabase()
    let configuration = try PostgresStoreConfiguration(url: url, environment: [:])
    try await PostgresFeedStore.open(configuration, instanceID: "a", logger: testLogger).close()
    try TestPostgres.psql(url, "INSERT INTO schema_version VALUES (99, 0, 'future')")
    do {
      _ = try await PostgresFeedStore.open(configuration, instanceID: "a", logger: testLogger)
      XCTFail("a newer schema must be refused")
    } catch let error as PostgresStoreError {
      XCTAssertEqual(error, .newerSchema(found: 99, known: PostgresSchema.latestVersion))
      XCTAssertTrue("\(error)".contains("newer version of clusterwire"), "\(error)")
    }
  }

  func testPasswordAuthentication() async throws {
    let admin = try TestPostgres.requireAdminURL()
    let base = try PostgresStoreConfiguration(url: admin, environment: [:])
    let role = TestPostgres.passwordRole
    func whoAmI(_ c: PostgresStoreConfiguration) async throws -> String? {
      let engine = try PostgresEngine(c, logger: testLogger)
      do {
        let user = try await engine.read { try $0.fetchOne("SELECT current_user")?[0].string }
        await engine.close()
        return user
      } catch {
        await engine.close()
        throw error
      }
    }
    let url = "postgresql://\(role.user):\(role.password)@\(base.host):\(base.port)/postgres"
    let fromURL = try PostgresStoreConfiguration(url: url + "?sslmode=disable", environment: [:])
    let user = try await whoAmI(fromURL)
    XCTAssertEqual(user, role.user)

    let dir = try TestSupport.makeTempDirectory("pgpass")
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("pw").path
    try (role.password + "\n").write(toFile: file, atomically: true, encoding: .utf8)
    let bare = "postgresql://\(role.user)@\(base.host):\(base.port)/postgres?sslmode=disable"
    let fromFile = try PostgresStoreConfiguration(url: bare, passwordFile: file, environment: [:])
    let user2 = try await whoAmI(fromFile)
    XCTAssertEqual(user2, role.user)
    let fromEnv = try PostgresStoreConfiguration(
      url: bare, environment: ["PGPASSWORD": role.password])
    let user3 = try await whoAmI(fromEnv)
    XCTAssertEqual(user3, role.user)

    let wrong = try PostgresStoreConfiguration(url: bare, environment: ["PGPASSWORD": "nope"])
    do {
      _ = try await whoAmI(wrong)
      XCTFail("a wrong password must be refused")
    } catch {
      XCTAssertTrue(
        String(reflecting: error).contains("28P01") || "\(error)".contains("password"),
        "\(String(reflecting: error))")
    }
  }

  func testTLSModes() async throws {
    let admin = try TestPostgres.requireAdminURL()
    guard let ca = TestPostgres.caCertificate else {
      throw XCTSkip("the test server has no TLS (CLUSTERWIRE_TEST_POSTGRES_CA not set)")
    }
    let base = try PostgresStoreConfiguration(url: admin, environment: [:])
    func usesTLS(_ host: String, _ query: String) async throws -> Bool {
      let c = try PostgresStoreConfiguration(
        url: "postgresql://postgres@\(host):\(base.port)/postgres?\(query)", environment: [:])
      let engine = try PostgresEngine(c, logger: testLogger)
      do {
        let ssl = try await engine.read {
          try $0.fetchOne("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")?[0]
        }
        await engine.close()
        return ssl == .integer(1)
      } catch {
        await engine.close()
        throw error
      }
    }
    let disabled = try await usesTLS("127.0.0.1", "sslmode=disable")
    XCTAssertFalse(disabled)
    let preferred = try await usesTLS("127.0.0.1", "sslmode=prefer")
    XCTAssertTrue(preferred)
    let required = try await usesTLS("127.0.0.1", "sslmode=require")
    XCTAssertTrue(required)
    let verifiedCA = try await usesTLS("127.0.0.1", "sslmode=verify-ca&sslrootcert=\(ca)")
    XCTAssertTrue(verifiedCA)
    let verifiedName = try await usesTLS("localhost", "sslmode=verify-full&sslrootcert=\(ca)")
    XCTAssertTrue(verifiedName)
    let verifiedIP = try await usesTLS("127.0.0.1", "sslmode=verify-full&sslrootcert=\(ca)")
    XCTAssertTrue(verifiedIP)
    do {
      // The system's roots do not know the test CA.
      _ = try await usesTLS("localhost", "sslmode=verify-full")
      XCTFail("an unknown CA must be refused")
    } catch {}
  }

  func testChangeNotificationsCarryTokensFromAnotherInstance() async throws {
    let configuration = try freshConfiguration()
    let a = try await PostgresFeedStore.open(configuration, instanceID: "a", logger: testLogger)
    let b = try await PostgresFeedStore.open(configuration, instanceID: "b", logger: testLogger)
    let tokens = TokenCollector(a.changeNotifications())
    // The first token is the current one, once listening.
    await tokens.wait { t, _ in t == [1] }
    // A write that moves the token announces it; one that does not, stays silent.
    try await b.engine.write { try $0.execute("UPDATE meta SET value = 5 WHERE key = 'groups'") }
    try await b.engine.write {
      try $0.execute("UPDATE meta SET value = 7 WHERE key = 'changeToken'")
    }
    await tokens.wait { t, _ in t == [1, 7] }
    // A rolled-back write announces nothing.
    _ = try? await b.engine.write { pg in
      try pg.execute("UPDATE meta SET value = 8 WHERE key = 'changeToken'")
      throw FeedStoreError.corrupt("abort")
    }
    try await b.engine.write {
      try $0.execute("UPDATE meta SET value = 9 WHERE key = 'changeToken'")
    }
    await tokens.wait { t, _ in t == [1, 7, 9] }
    try await a.close()
    await tokens.wait { _, ended in ended }
    try await b.close()
  }

  /// A server of its own, stopped and started again: ping fails while it is down, the store's
  /// connections and its LISTEN come back by themselves once it is up.
  func testSurvivesADatabaseRestart() async throws {
    let cluster = try TestPostgres.Cluster()
    defer { cluster.stop() }
    let configuration = try PostgresStoreConfiguration(url: cluster.url, environment: [:])
    let store = try await PostgresFeedStore.open(
      configuration, instanceID: "a", logger: testLogger)
    let tokens = TokenCollector(store.changeNotifications())
    await tokens.wait { t, _ in t == [1] }
    try await store.ping()
    try cluster.halt()
    do {
      try await store.ping()
      XCTFail("ping must fail while the server is down")
    } catch {}
    try cluster.resume()
    try await store.ping()
    try await store.engine.write {
      try $0.execute("UPDATE meta SET value = 3 WHERE key = 'changeToken'")
    }
    // The LISTEN connection came back: it announces the token (by NOTIFY, or as the current
    // token when it reconnected after the write).
    await tokens.wait(timeout: 30) { t, _ in t.last == 3 }
    try await store.close()
  }
}
