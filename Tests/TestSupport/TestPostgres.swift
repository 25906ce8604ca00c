import Foundation

#if canImport(Glibc)
  import Glibc
#endif
#if canImport(XCTest)
  import XCTest
#endif

/// PostgreSQL for the tests (issue 14): `.ci/test` starts a throwaway cluster (`.ci/postgres`) and
/// passes its admin URL as `CLUSTERWIRE_TEST_POSTGRES_URL`. Each test takes a new empty database
/// of its own from it (`freshDatabase()`), dropped when the test process exits. Without the URL
/// the PostgreSQL tests skip with a message, except under CI (`CI` set), where they fail: a CI run
/// that silently tested nothing against PostgreSQL must not pass.
public enum TestPostgres {
  /// The admin URL (a superuser that may create databases), if a server was provided.
  public static var adminURL: String? {
    ProcessInfo.processInfo.environment["CLUSTERWIRE_TEST_POSTGRES_URL"].flatMap {
      $0.isEmpty ? nil : $0
    }
  }

  /// The CA certificate that signed the test server's TLS certificate (`.ci/postgres ca`).
  public static var caCertificate: String? {
    ProcessInfo.processInfo.environment["CLUSTERWIRE_TEST_POSTGRES_CA"].flatMap {
      $0.isEmpty ? nil : $0
    }
  }

  /// The role that must authenticate with a password (SCRAM) on the test server.
  public static let passwordRole = (user: "cwpass", password: "cwpass-secret")

  public struct Unavailable: Error, CustomStringConvertible {
    public var description: String
  }

  /// The admin URL, or the reason there is none: an `XCTSkip` locally, a plain error (a test
  /// failure) under CI.
  public static func requireAdminURL() throws -> String {
    if let adminURL { return adminURL }
    let why =
      "no PostgreSQL server: CLUSTERWIRE_TEST_POSTGRES_URL is not set (run the tests with .ci/test)"
    if ProcessInfo.processInfo.environment["CI"] != nil {
      throw Unavailable(description: why + " — required under CI")
    }
    #if canImport(XCTest)
      throw XCTSkip(why)
    #else
      throw Unavailable(description: why)
    #endif
  }

  /// The URL of a new, empty database on the test server (same credentials and parameters as
  /// the admin URL). Dropped, best effort, when the process exits.
  public static func freshDatabase() throws -> String {
    let admin = try requireAdminURL()
    let name = "cwtest_\(getpid())_\(counter.next())_\(UInt32.random(in: 0...UInt32.max))"
    try psql(admin, "CREATE DATABASE \(name)")
    created.append(name)
    return replacingDatabase(in: admin, with: name)
  }

  /// `url` with its database replaced by `name` (the query string kept).
  public static func replacingDatabase(in url: String, with name: String) -> String {
    let schemeEnd = url.range(of: "://")!.upperBound
    let queryStart = url[schemeEnd...].firstIndex(of: "?") ?? url.endIndex
    let authority = url[schemeEnd..<queryStart]
    let pathStart = authority.firstIndex(of: "/") ?? queryStart
    return String(url[..<pathStart]) + "/" + name + String(url[queryStart...])
  }

  /// Runs SQL through `psql` against `url` (failing on the first error), returning its
  /// unaligned, tuples-only output.
  @discardableResult
  public static func psql(_ url: String, _ sql: String) throws -> String {
    let result = try TestSupport.run(
      psqlBinary, [url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql])
    guard result.status == 0 else {
      throw Unavailable(description: "psql failed (\(result.status)): \(result.stderrString)")
    }
    return result.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static let psqlBinary: URL = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    var candidates = path.split(separator: ":").map { "\($0)/psql" }
    candidates += ["/usr/bin/psql", "/usr/local/bin/psql"]
    if let versions = try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
      candidates += versions.sorted().reversed().map { "/usr/lib/postgresql/\($0)/bin/psql" }
    }
    let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    return URL(fileURLWithPath: found ?? "/usr/bin/psql")
  }()

  private static let counter = Counter()
  private static let created = DatabaseList()

  final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
      lock.withLock {
        value += 1
        return value
      }
    }
  }

  /// The databases this process created; dropped by an `atexit` handler registered with the first.
  final class DatabaseList: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String] = []
    private var registered = false

    func append(_ name: String) {
      let register: Bool = lock.withLock {
        names.append(name)
        defer { registered = true }
        return !registered
      }
      if register { atexit { TestPostgres.dropCreated() } }
    }

    func drain() -> [String] {
      lock.withLock {
        defer { names.removeAll() }
        return names
      }
    }
  }

  static func dropCreated() {
    guard let admin = adminURL else { return }
    let names = created.drain()
    guard !names.isEmpty else { return }
    let sql = names.map { "DROP DATABASE IF EXISTS \($0) WITH (FORCE);" }.joined(separator: " ")
    _ = try? TestSupport.run(psqlBinary, [admin, "-X", "-q", "-c", sql], timeout: 30)
  }

  // MARK: a cluster of a test's own

  /// A throwaway cluster of its own (`.ci/postgres` in a separate directory), for tests that
  /// stop and restart the server. `stop()` removes it.
  public final class Cluster: @unchecked Sendable {
    public let directory: URL
    public let url: String
    private let environment: [String: String]

    /// Starts a new cluster on a free port (initdb and start take a few seconds).
    public init() throws {
      _ = try TestPostgres.requireAdminURL()
      directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("clusterwire-pg-test-\(UUID().uuidString.prefix(8))")
      var environment = ProcessInfo.processInfo.environment
      environment["CLUSTERWIRE_PG_DIR"] = directory.path
      environment["CLUSTERWIRE_PG_STATE"] = directory.path + ".state"
      environment["CLUSTERWIRE_PG_PORT"] = String(TestSupport.freePort())
      self.environment = environment
      let result = try Self.script(["start"], environment)
      guard result.status == 0 else {
        throw Unavailable(description: ".ci/postgres start failed: \(result.stderrString)")
      }
      url = result.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server, keeping its data (`resume()` starts it again).
    public func halt() throws { try run("halt") }
    public func resume() throws { try run("resume") }

    /// Stops the server and removes its directory.
    public func stop() {
      _ = try? Self.script(["stop"], environment)
    }

    private func run(_ command: String) throws {
      let result = try Self.script([command], environment)
      guard result.status == 0 else {
        throw Unavailable(description: ".ci/postgres \(command) failed: \(result.stderrString)")
      }
    }

    private static func script(_ arguments: [String], _ environment: [String: String]) throws
      -> TestSupport.ProcessResult
    {
      try TestSupport.run(
        TestSupport.packageRoot.appendingPathComponent(".ci/postgres"), arguments,
        environment: environment, timeout: 120)
    }
  }
}
