import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The fleet benchmark (issue 14): the real `clusterwire` binary, 1, 2 and 3 instances on one
/// PostgreSQL database, and the SQLite single node, each crawling the same loopback origin of
/// `--sources` feeds spread over `--hosts` loopback addresses (127.0.1.1, 127.0.1.2, …: per-host
/// politeness has many hosts to spread over, as on a real network).
///
/// Each configuration starts from an empty store and runs two cycles:
///  1. cold: every source is new, every answer a 200 with about ten entries, all ingested;
///  2. mixed: conditional GETs; `--not-modified-ratio` of them 304, the rest a 200 whose feed has
///     one new entry at the top — the steady state of a real network.
/// The crawl interval (`--interval`) is shorter than a cycle, so the fleet is saturated and a
/// cycle's length is its throughput. The origin counts every request: a cycle ends when every
/// source has been requested once more; a request for a source less than an interval after the
/// previous one is a duplicate fetch (the lease protocol forbids it; must be 0). Database CPU is
/// utime+stime of the PostgreSQL server's processes (the postmaster, its live children, and the
/// children it reaped) from /proc, over the two cycles; the instances' CPU likewise.
struct FleetBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fleet-bench",
    abstract: "1…n clusterwire instances on one PostgreSQL store vs the SQLite single node.")

  @Option(help: "Source counts, comma-separated (one block of runs each).") var sources =
    "10000,50000"
  @Option(help: "Instance counts on PostgreSQL, comma-separated.") var instances = "1,2,3"
  @Option(help: "Loopback host names the sources are spread over (127.0.1.x…).") var hosts = 64
  @Option(help: "Share of conditional requests answered 304 in the mixed cycle.")
  var notModifiedRatio = 0.5
  @Option(help: "Crawl interval in seconds (keep it below a cycle's length).") var interval = 5
  @Option(help: "[crawl] concurrency of each instance.") var concurrency = 16
  @Option(help: "[crawl] per_host (fleet-wide in fleet mode).") var perHost = 4
  @Option(
    help:
      "Admin URL of the PostgreSQL server (a database is created per run and dropped); default $CLUSTERWIRE_BENCH_POSTGRES_URL or $CLUSTERWIRE_TEST_POSTGRES_URL."
  )
  var postgres: String?
  @Option(help: "The clusterwire binary (default: next to this cwbench).") var clusterwire: String?
  @Flag(help: "Skip the SQLite single node.") var noSqlite = false
  @Option(
    help:
      "Give up on a cycle after this many seconds (default: the larger of 1800 and 0.1 s per source, since a cold 50 000-source cycle takes ~2 200 s on 2 cores)."
  )
  var cycleTimeout: Int?
  @Option(help: "Keep the run directories (configs, logs) here instead of a temp dir.")
  var workdir: String?

  func run() async throws {
    let counts = try Self.list(sources, "--sources")
    let fleetSizes = try Self.list(instances, "--instances")
    guard hosts >= 1, hosts <= 250 * 250 else { throw ValidationError("--hosts: 1…62500") }
    let binary =
      clusterwire.map { URL(fileURLWithPath: $0) }
      ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
      .deletingLastPathComponent().appendingPathComponent("clusterwire")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
      throw ValidationError(
        "no clusterwire at \(binary.path) (swift build -c release --product clusterwire)")
    }
    let env = ProcessInfo.processInfo.environment
    let admin =
      postgres ?? env["CLUSTERWIRE_BENCH_POSTGRES_URL"] ?? env["CLUSTERWIRE_TEST_POSTGRES_URL"]
    if admin == nil && !fleetSizes.isEmpty {
      throw ValidationError(
        "no PostgreSQL server: give --postgres URL (or set CLUSTERWIRE_TEST_POSTGRES_URL)")
    }
    let root =
      workdir.map { URL(fileURLWithPath: $0) }
      ?? FileManager.default.temporaryDirectory.appendingPathComponent(
        "fleet-bench-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    defer { if workdir == nil { try? FileManager.default.removeItem(at: root) } }

    let server = admin.map { PostgresServer(admin: $0) }
    if let server { print("PostgreSQL: \(try server.describe())") }
    print(
      "clusterwire: \(binary.path); interval \(interval) s, concurrency \(concurrency), "
        + "per_host \(perHost), \(hosts) hosts, 304 share \(notModifiedRatio); "
        + "\(ProcessInfo.processInfo.activeProcessorCount) cores")
    var rows: [FleetRow] = []
    for n in counts {
      let origin = try BenchOrigin.start(
        sources: n, hosts: hosts, notModifiedRatio: notModifiedRatio, interval: Double(interval))
      defer { origin.stop() }
      print("origin: \(n) sources on \(hosts) hosts, port \(origin.port)")
      var plan: [(store: String, count: Int)] = noSqlite ? [] : [("sqlite", 1)]
      plan += fleetSizes.map { ("postgres", $0) }
      for (store, count) in plan {
        let dir = root.appendingPathComponent("\(n)-\(store)-\(count)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var database: PostgresServer.Database?
        if store == "postgres", let server { database = try server.createDatabase() }
        defer { database?.drop() }
        let row = try await measure(
          origin: origin, binary: binary, dir: dir, sources: n, instances: count,
          database: database, server: server)
        rows.append(row)
        print(row.progressLine)
        fflush(nil)
      }
    }
    print("")
    print(FleetRow.table(rows))
  }

  static func list(_ text: String, _ name: String) throws -> [Int] {
    let values = text.split(separator: ",").compactMap {
      Int($0.trimmingCharacters(in: .whitespaces))
    }
    guard values.allSatisfy({ $0 > 0 }) else { throw ValidationError("\(name): positive numbers") }
    return values
  }

  /// One configuration: start the instances, run the two cycles, stop, count.
  func measure(
    origin: BenchOrigin, binary: URL, dir: URL, sources n: Int, instances count: Int,
    database: PostgresServer.Database?, server: PostgresServer?
  ) async throws -> FleetRow {
    origin.reset()
    let storeLine: String
    let sqlitePath = dir.appendingPathComponent("store.sqlite").path
    if let database {
      storeLine = "url = \"\(database.url)\""
    } else {
      storeLine = "path = \"\(sqlitePath)\""
    }
    var sourceTables = ""
    sourceTables.reserveCapacity(n * 80)
    for i in 0..<n {
      sourceTables += "[[source]]\nid = \"s\(i)\"\nurl = \"\(origin.url(i))\"\n\n"
    }
    var daemons: [BenchDaemon] = []
    for k in 0..<count {
      let nodeDir = dir.appendingPathComponent("instance-\(k)")
      try FileManager.default.createDirectory(at: nodeDir, withIntermediateDirectories: true)
      let port = try Self.freePort()
      let fleet =
        database == nil
        ? ""
        : "[fleet]\ninstance = \"bench-\(k)\"\nlease_ttl = \"2m\"\nheartbeat = \"5s\"\n"
      let config = """
        [server]
        listen = "127.0.0.1:\(port)"
        base_url = "https://fleet.example.org/"
        [store]
        \(storeLine)
        [feed]
        title = "Fleet benchmark"
        [crawl]
        interval = "\(interval)s"
        timeout = "30s"
        per_host = \(perHost)
        concurrency = \(concurrency)
        [log]
        level = "warning"
        \(fleet)
        \(sourceTables)
        """
      let url = nodeDir.appendingPathComponent("clusterwire.toml")
      try config.write(to: url, atomically: true, encoding: .utf8)
      daemons.append(BenchDaemon(config: url, dir: nodeDir, port: port))
    }
    // The server's CPU only counts for the runs that use it.
    let dbBefore = database == nil ? nil : try server?.cpuSeconds()
    for d in daemons { try d.start(binary) }
    defer { for d in daemons { d.stop() } }

    let timeout = cycleTimeout ?? max(1800, n / 10)
    let deadline = Double(timeout)
    guard try await origin.waitForRound(1, timeout: deadline, alive: daemons) else {
      throw ValidationError("cold cycle did not finish in \(timeout) s; see \(dir.path)")
    }
    let cold = origin.snapshot()
    guard try await origin.waitForRound(2, timeout: deadline, alive: daemons) else {
      throw ValidationError("mixed cycle did not finish in \(timeout) s; see \(dir.path)")
    }
    let mixed = origin.snapshot()
    let dbAfter = database == nil ? nil : try server?.cpuSeconds()
    let daemonCPU = daemons.map { $0.cpuSeconds() }.reduce(0, +)
    for d in daemons { d.stop() }
    let delivered = origin.snapshot().newItems
    let stored = try Self.storedEntries(binary, config: daemons[0].config)
    var size: Int?
    if let database { size = try? database.totalRelationSize() }
    if database == nil {
      size = ["", "-wal"].compactMap {
        (try? FileManager.default.attributesOfItem(atPath: sqlitePath + $0))?[.size] as? Int
      }.reduce(0, +)
    }
    return FleetRow(
      sources: n, store: database == nil ? "sqlite" : "postgres", instances: count,
      coldSeconds: cold.at - cold.firstAt, coldFetches: cold.requests, coldItems: cold.newItems,
      mixedSeconds: mixed.at - cold.at, mixedFetches: mixed.requests - cold.requests,
      mixed304: mixed.notModified - cold.notModified, mixedItems: mixed.newItems - cold.newItems,
      databaseCPU: dbAfter.flatMap { a in dbBefore.map { a - $0 } },
      daemonCPU: daemonCPU, duplicates: mixed.duplicates, stored: stored, delivered: delivered,
      storeBytes: size, interval: Double(interval))
  }

  /// `clusterwire status`'s first number: the entries in the store.
  static func storedEntries(_ binary: URL, config: URL) throws -> Int? {
    let out = try runTool(binary, ["status", "--config", config.path])
    return out.split(separator: " ").first.flatMap { Int($0) }
  }

  static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
      }
    }
    guard ok else { throw ValidationError("no free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
  }
}

/// One line of the result table.
struct FleetRow {
  var sources: Int
  var store: String
  var instances: Int
  var coldSeconds: Double
  var coldFetches: Int
  var coldItems: Int
  var mixedSeconds: Double
  var mixedFetches: Int
  var mixed304: Int
  var mixedItems: Int
  var databaseCPU: Double?
  var daemonCPU: Double
  var duplicates: Int
  var stored: Int?
  var delivered: Int
  var storeBytes: Int?
  var interval: Double

  var coldFetchRate: Double { Double(coldFetches) / max(coldSeconds, 1e-9) }
  var mixedFetchRate: Double { Double(mixedFetches) / max(mixedSeconds, 1e-9) }
  var coldIngestRate: Double { Double(coldItems) / max(coldSeconds, 1e-9) }
  var mixedIngestRate: Double { Double(mixedItems) / max(mixedSeconds, 1e-9) }

  var progressLine: String {
    String(
      format: "%d sources, %@ ×%d: cold %.1f s, mixed %.1f s, %d duplicate fetches, stored %@/%d",
      sources, store, instances, coldSeconds, mixedSeconds, duplicates,
      stored.map(String.init) ?? "?", delivered)
  }

  static func table(_ rows: [FleetRow]) -> String {
    let header = [
      "sources", "store", "inst", "cold s", "cold fetch/s", "cold entries/s", "mixed s",
      "mixed fetch/s", "mixed entries/s", "304s", "db CPU s", "cw CPU s", "dup", "stored/served",
      "bytes/entry",
    ]
    var lines: [[String]] = [header]
    for r in rows {
      let perEntry = r.storeBytes.flatMap { b in r.stored.map { $0 > 0 ? b / $0 : 0 } }
      lines.append([
        "\(r.sources)", r.store, "\(r.instances)",
        String(format: "%.1f", r.coldSeconds) + (r.coldSeconds < r.interval * 1.2 ? "*" : ""),
        String(format: "%.0f", r.coldFetchRate), String(format: "%.0f", r.coldIngestRate),
        String(format: "%.1f", r.mixedSeconds) + (r.mixedSeconds < r.interval * 1.2 ? "*" : ""),
        String(format: "%.0f", r.mixedFetchRate),
        String(format: "%.0f", r.mixedIngestRate), "\(r.mixed304)",
        r.databaseCPU.map { String(format: "%.1f", $0) } ?? "-",
        String(format: "%.1f", r.daemonCPU), "\(r.duplicates)",
        "\(r.stored.map(String.init) ?? "?")/\(r.delivered)", perEntry.map(String.init) ?? "-",
      ])
    }
    let widths = header.indices.map { c in lines.map { $0[c].count }.max() ?? 0 }
    var out = lines.map { row in
      row.enumerated().map { c, cell in
        c < 2
          ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
          : String(repeating: " ", count: widths[c] - cell.count) + cell
      }.joined(separator: "  ")
    }.joined(separator: "\n")
    if rows.contains(where: {
      $0.coldSeconds < $0.interval * 1.2 || $0.mixedSeconds < $0.interval * 1.2
    }) {
      out +=
        "\n* within 20 % of the interval: paced by the schedule, not by throughput (use more sources)"
    }
    // The scaling factor from the smallest to the largest fleet, per source count.
    for n in Set(rows.map(\.sources)).sorted() {
      let fleet = rows.filter { $0.sources == n && $0.store == "postgres" }
      guard let small = fleet.min(by: { $0.instances < $1.instances }),
        let big = fleet.max(by: { $0.instances < $1.instances }), big.instances > small.instances
      else { continue }
      out += String(
        format:
          "\n%d sources: %d → %d instances: cold fetch/s ×%.2f, mixed fetch/s ×%.2f (ideal ×%d)",
        n, small.instances, big.instances, big.coldFetchRate / small.coldFetchRate,
        big.mixedFetchRate / small.mixedFetchRate, big.instances / small.instances)
      if let sqlite = rows.first(where: { $0.sources == n && $0.store == "sqlite" }) {
        out += String(
          format: "; SQLite single node = ×%.2f of 1 PostgreSQL instance (mixed fetch/s)",
          sqlite.mixedFetchRate / small.mixedFetchRate)
      }
    }
    return out
  }
}

/// A `clusterwire run` child with its output in files.
final class BenchDaemon {
  let config: URL
  let dir: URL
  let port: Int
  private var process: Process?

  init(config: URL, dir: URL, port: Int) {
    self.config = config
    self.dir = dir
    self.port = port
  }

  func start(_ binary: URL) throws {
    let p = Process()
    p.executableURL = binary
    p.arguments = ["run", "--config", config.path]
    let err = dir.appendingPathComponent("stderr.log")
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    p.standardError = try FileHandle(forWritingTo: err)
    p.standardOutput = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    try p.run()
    process = p
  }

  var isRunning: Bool { process?.isRunning ?? false }

  /// utime+stime of the daemon so far (all its threads), from /proc.
  func cpuSeconds() -> Double {
    guard let pid = process?.processIdentifier else { return 0 }
    return ProcStat.read(pid).map { $0.own } ?? 0
  }

  func stop() {
    guard let p = process, p.isRunning else { return }
    p.terminate()
    let deadline = Date().addingTimeInterval(30)
    while p.isRunning && Date() < deadline { usleep(50_000) }
    if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    p.waitUntilExit()
  }

  var stderrTail: String {
    let text = (try? String(contentsOf: dir.appendingPathComponent("stderr.log"), encoding: .utf8))
    return String((text ?? "").suffix(2000))
  }
}

/// `/proc/PID/stat`: CPU seconds of the process itself and of its reaped children.
struct ProcStat {
  var ppid: Int32
  var own: Double
  var children: Double

  static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

  static func read(_ pid: Int32) -> ProcStat? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = text.lastIndex(of: ")")
    else { return nil }
    // Fields after "(comm)": state ppid … utime(14) stime(15) cutime(16) cstime(17).
    let f = text[text.index(after: close)...].split(separator: " ")
    guard f.count > 15, let ppid = Int32(f[1]), let ut = Double(f[11]), let st = Double(f[12]),
      let cut = Double(f[13]), let cst = Double(f[14])
    else { return nil }
    return ProcStat(ppid: ppid, own: (ut + st) / ticks, children: (cut + cst) / ticks)
  }

  /// Every live process whose parent is `pid`.
  static func children(of pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { read($0)?.ppid == pid }
  }
}

/// The PostgreSQL server the fleet runs on, reached with `psql` as its admin.
struct PostgresServer {
  let admin: String

  static func psqlBinary() -> String {
    var dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(
      String.init)
    if let v = try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
      dirs += v.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
    }
    for d in dirs where FileManager.default.isExecutableFile(atPath: d + "/psql") {
      return d + "/psql"
    }
    return "psql"
  }

  func query(_ sql: String, url: String? = nil) throws -> String {
    try runTool(
      URL(fileURLWithPath: Self.psqlBinary()),
      ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url ?? admin, "-c", sql]
    ).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  func describe() throws -> String {
    let version = try query("SHOW server_version")
    let settings = try query(
      "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync','synchronous_commit','shared_buffers','max_connections')"
    )
    return "\(version), \(settings), postmaster pid \(try postmasterPID())"
  }

  /// The postmaster's pid, from `postmaster.pid` in the data directory.
  func postmasterPID() throws -> Int32 {
    let data = try query("SHOW data_directory")
    let text = try String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8)
    guard let first = text.split(separator: "\n").first, let pid = Int32(first) else {
      throw ValidationError("cannot read \(data)/postmaster.pid")
    }
    return pid
  }

  /// CPU seconds the server has used so far: the postmaster, its live children (backends,
  /// background workers) and the children it has reaped (backends of closed connections).
  func cpuSeconds() throws -> Double {
    let pid = try postmasterPID()
    guard let main = ProcStat.read(pid) else { throw ValidationError("no /proc/\(pid)") }
    let live = ProcStat.children(of: pid).compactMap { ProcStat.read($0)?.own }.reduce(0, +)
    return main.own + main.children + live
  }

  struct Database {
    let server: PostgresServer
    let name: String
    let url: String

    /// Tables with their indexes and TOAST, in bytes.
    func totalRelationSize() throws -> Int {
      let text = try server.query(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
        url: url)
      return Int(text) ?? 0
    }

    func drop() { _ = try? server.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
  }

  func createDatabase() throws -> Database {
    let name = "cwbench_\(UUID().uuidString.prefix(8).lowercased())"
    _ = try query("CREATE DATABASE \(name)")
    guard var parts = URLComponents(string: admin) else {
      throw ValidationError("not a URL: \(admin)")
    }
    parts.path = "/" + name
    return Database(server: self, name: name, url: parts.string ?? admin)
  }
}

/// Runs a tool to completion; its stdout, or an error with its stderr.
func runTool(_ tool: URL, _ args: [String]) throws -> String {
  let p = Process()
  p.executableURL = tool
  p.arguments = args
  let out = Pipe()
  let err = Pipe()
  p.standardOutput = out
  p.standardError = err
  p.standardInput = FileHandle.nullDevice
  try p.run()
  let data = out.fileHandleForReading.readDataToEndOfFile()
  let errData = err.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  guard p.terminationStatus == 0 else {
    throw ValidationError(
      "\(tool.lastPathComponent) \(args.joined(separator: " ").prefix(200)): "
        + String(decoding: errData, as: UTF8.self))
  }
  return String(decoding: data, as: UTF8.self)
}

/// The benchmark's origin: plain SwiftNIO on two threads of its own, listening on `hosts`
/// loopback addresses (one port). `/s/{i}.xml` is a ~10-entry RSS feed with a strong ETag per
/// generation; a conditional GET is a 304 for a deterministic share of the sources, else the
/// next generation (one new entry on top). Counts requests, 304s, entries handed out (all of a
/// first fetch, one per changed fetch) and duplicate fetches, per source and in total.
final class BenchOrigin: @unchecked Sendable {
  let port: Int
  let sources: Int
  let hosts: Int
  let notModifiedRatio: Double
  let interval: Double
  private let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
  private var channels: [Channel] = []
  private let lock = NSLock()
  private var last: [Double]
  private var counts: [Int32]
  private var requests = 0
  private var notModified = 0
  private var newItems = 0
  private var duplicates = 0
  private var firstAt: Double = 0
  static let itemsPerFeed = 10

  private init(sources: Int, hosts: Int, ratio: Double, interval: Double, port: Int) {
    self.sources = sources
    self.hosts = hosts
    self.notModifiedRatio = ratio
    self.interval = interval
    self.port = port
    last = Array(repeating: -1, count: sources)
    counts = Array(repeating: 0, count: sources)
  }

  /// The address of host `h` (0-based): 127.0.1.1, 127.0.1.2, … 127.0.1.250, 127.0.2.1, …
  static func address(_ h: Int) -> String { "127.0.\(1 + h / 250).\(1 + h % 250)" }

  func url(_ i: Int) -> String { "http://\(Self.address(i % hosts)):\(port)/s/\(i).xml" }

  static func start(sources: Int, hosts: Int, notModifiedRatio: Double, interval: Double) throws
    -> BenchOrigin
  {
    var lastError: Error?
    for _ in 0..<5 {
      let origin = BenchOrigin(
        sources: sources, hosts: hosts, ratio: notModifiedRatio, interval: interval,
        port: try FleetBench.freePort())
      do {
        try origin.bindAll()
        return origin
      } catch {
        lastError = error
        origin.stop()
      }
    }
    throw lastError ?? ValidationError("origin did not start")
  }

  private func bindAll() throws {
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.backlog, value: 1024)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          try channel.pipeline.syncOperations.addHandler(OriginHandler(origin: self))
        }
      }
    for h in 0..<hosts {
      channels.append(try bootstrap.bind(host: Self.address(h), port: port).wait())
    }
  }

  func stop() {
    for c in channels { try? c.close().wait() }
    try? group.syncShutdownGracefully()
  }

  func reset() {
    lock.withLock {
      for i in 0..<sources {
        last[i] = -1
        counts[i] = 0
      }
      requests = 0
      notModified = 0
      newItems = 0
      duplicates = 0
      firstAt = 0
    }
  }

  struct Snapshot {
    var at: Double
    var firstAt: Double
    var requests: Int
    var notModified: Int
    var newItems: Int
    var duplicates: Int
  }

  func snapshot() -> Snapshot {
    lock.withLock {
      Snapshot(
        at: Self.now(), firstAt: firstAt, requests: requests, notModified: notModified,
        newItems: newItems, duplicates: duplicates)
    }
  }

  static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

  /// Waits until every source has been requested at least `round` times.
  func waitForRound(_ round: Int32, timeout: Double, alive daemons: [BenchDaemon]) async throws
    -> Bool
  {
    let deadline = Self.now() + timeout
    var next = 0
    while Self.now() < deadline {
      next = lock.withLock {
        var i = next
        while i < sources && counts[i] >= round { i += 1 }
        return i
      }
      if next == sources { return true }
      if let dead = daemons.first(where: { !$0.isRunning }) {
        throw ValidationError("an instance exited:\n\(dead.stderrTail)")
      }
      try await Task.sleep(nanoseconds: 20_000_000)
    }
    return false
  }

  /// A request for source `i`: records it, then says what to answer.
  func answer(_ i: Int, ifNoneMatch: String?) -> (status: HTTPResponseStatus, generation: Int) {
    let now = Self.now()
    var generation = 0
    var status = HTTPResponseStatus.ok
    if let inm = ifNoneMatch, let k = FeedCatalog.generation(inm, index: i) {
      if FeedCatalog.unit(UInt64(i) &* 1_000_003 &+ UInt64(k)) < notModifiedRatio {
        status = .notModified
        generation = k
      } else {
        generation = k + 1
      }
    }
    lock.withLock {
      if firstAt == 0 { firstAt = now }
      requests += 1
      // A source asked for again sooner than its interval: two fetches where one was due. The
      // crawler's attempt time precedes the request's arrival by scheduling latency; 10 %.
      if last[i] >= 0 && now - last[i] < interval * 0.9 { duplicates += 1 }
      last[i] = now
      counts[i] += 1
      if status == .notModified {
        notModified += 1
      } else {
        newItems += generation == 0 ? Self.itemsPerFeed : 1
      }
    }
    return (status, generation)
  }

  /// About ten small entries, newest first; generation g's newest entry is number g + 9.
  func body(_ i: Int, generation: Int) -> [UInt8] {
    var out = """
      <?xml version="1.0" encoding="utf-8"?>
      <rss version="2.0"><channel><title>Source \(i)</title>
      <link>https://s\(i).example.org/</link><description>Benchmark feed \(i)</description>

      """
    for j in 0..<Self.itemsPerFeed {
      let id = generation + Self.itemsPerFeed - 1 - j
      var rng = UInt64(i) &* 0x1_0000_0001 &+ UInt64(id) &+ 1
      let title = FeedCatalog.words(&rng, bytes: 50)
      let text = FeedCatalog.words(&rng, bytes: 240)
      let minute = id % 60
      let hour = (id / 60) % 24
      out += """
        <item><title>\(title)</title><link>https://s\(i).example.org/news/\(id)</link>
        <guid>s\(i)-\(id)</guid>
        <pubDate>Mon, 01 Jun 2026 \(hour < 10 ? "0" : "")\(hour):\(minute < 10 ? "0" : "")\(minute):00 GMT</pubDate>
        <description>\(text)</description></item>

        """
    }
    out += "</channel></rss>\n"
    return Array(out.utf8)
  }
}

/// One connection of the origin: answers each request from `BenchOrigin`.
private final class OriginHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  let origin: BenchOrigin
  var head: HTTPRequestHead?

  init(origin: BenchOrigin) { self.origin = origin }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let h): head = h
    case .body: break
    case .end:
      guard let head else { return }
      self.head = nil
      respond(head, context: context)
    }
  }

  private func respond(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
    var headers = HTTPHeaders()
    var body: [UInt8] = []
    var status = HTTPResponseStatus.notFound
    let path = request.uri
    if path.hasPrefix("/s/"), path.hasSuffix(".xml"),
      let i = Int(path.dropFirst(3).dropLast(4)), (0..<origin.sources).contains(i)
    {
      let answer = origin.answer(i, ifNoneMatch: request.headers["If-None-Match"].first)
      status = answer.status
      headers.add(name: "ETag", value: FeedCatalog.etag(i, answer.generation))
      if status == .ok {
        body = origin.body(i, generation: answer.generation)
        headers.add(name: "Content-Type", value: "application/rss+xml; charset=utf-8")
      }
    }
    headers.add(name: "Content-Length", value: "\(body.count)")
    let keepAlive = request.isKeepAlive
    if !keepAlive { headers.add(name: "Connection", value: "close") }
    context.write(
      wrapOutboundOut(
        .head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
      promise: nil)
    if !body.isEmpty {
      context.write(
        wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
        promise: nil)
    }
    context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
      if !keepAlive { context.close(promise: nil) }
    }
  }
}
