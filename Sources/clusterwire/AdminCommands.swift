import ArgumentParser
import Config
import Crawler
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging
import Publisher
import WebSub

/// `clusterwire check-config PATH`: validate and summarise (exit 0 when valid, 1 otherwise).
struct CheckConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check-config",
    abstract: "Validate a config file (and its drop-ins) and summarise it.")

  @Argument(help: "The main config file.") var path: String?
  @Option(help: "The main config file (same as the argument).") var config: String?

  func validate() throws {
    if path == nil && config == nil { throw ValidationError("give the config file path") }
  }

  func run() throws {
    LibXML.bootstrap()
    let file = (config ?? path)!
    do {
      let settings = try ConfigLoader.load(path: file)
      if settings.store.isShared, let problem = PostgresWiring.configurationProblem(settings) {
        FileHandle.standardError.write(Data("\(file): store.url: \(problem)\n".utf8))
        throw ExitCode.failure
      }
      print(settings.summary())
    } catch {
      FileHandle.standardError.write(Data("\(error)\n".utf8))
      throw ExitCode.failure
    }
  }
}

/// `clusterwire status`: per-source health as the daemon recorded it; with a shared store also
/// who holds each source's lease and which instances are alive.
struct StatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract:
      "Show each source's health: state, last success, last error, next due, entries (and the fleet)."
  )

  @Option(help: "The main config file.") var config: String
  @Flag(help: "Print JSON (the same facts) instead of the table.") var json = false

  func run() async throws {
    LibXML.bootstrap()
    let settings = Wiring.loadSettings(config)
    let store = await Wiring.openAdminStore(settings, command: "status")
    let states = try await store.sourceStates()
    let counts = try await store.counts()
    var push: [String: PushSubscription] = [:]
    if let subscriptions = store as? any WebSubStore {
      for p in try await subscriptions.pushSubscriptions() { push[p.sourceID] = p }
    }
    var fleet: FleetStatus?
    if let shared = store as? any SharedFeedStore {
      fleet = FleetStatus(
        leases: try await shared.leases(), instances: try await shared.instances(),
        configHash: settings.configHash)
    }
    try await store.close()
    if json {
      FileHandle.standardOutput.write(
        try Self.json(states, counts: counts, fleet: fleet, push: push, now: Date()))
      print()
    } else {
      print(Self.render(states, counts: counts, now: Date(), fleet: fleet, push: push))
    }
  }

  /// What a shared store adds to `status`.
  struct FleetStatus {
    var leases: [String: SourceLease]
    var instances: [FleetInstance]
    /// The hash of the config `status` was given, to say which instances run another one.
    var configHash: String

    /// Config hash → instance ids, when the live instances do not all run the same config.
    var mismatch: [String: [String]]? {
      let byHash = Dictionary(grouping: instances, by: \.configHash).mapValues {
        $0.map(\.id).sorted()
      }
      return byHash.count > 1 ? byHash : nil
    }
  }

  static func stateWord(_ s: SourceState) -> String {
    if s.gone { return "gone" }
    if s.consecutiveFailures > 0 { return "failing×\(s.consecutiveFailures)" }
    return s.lastAttempt == nil ? "new" : "ok"
  }

  static func errorText(_ s: SourceState) -> String {
    var error = s.lastError ?? ""
    if s.gone {
      error +=
        (error.isEmpty ? "" : "; ")
        + "polling stopped: change any key of this source's table in the config and reload"
    }
    if let moved = s.movedTo {
      error = "moved permanently to \(moved)" + (error.isEmpty ? "" : "; \(error)")
    }
    return error
  }

  static func render(
    _ states: [SourceState], counts: StoreCounts, now: Date, fleet: FleetStatus? = nil,
    push: [String: PushSubscription] = [:]
  ) -> String {
    var out =
      "\(counts.entries) entries in \(counts.duplicateGroups) stories (\(counts.mergedGroups) seen in several sources), \(states.count) sources\n\n"
    var header = [
      "SOURCE", "STATE", "PUSH", "LAST SUCCESS", "NEXT DUE", "ENTRIES", "DROPPED", "FILTERED",
      "LAST ERROR",
    ]
    if fleet != nil { header.insert(contentsOf: ["HOLDER", "LAST HOLDER"], at: 2) }
    var rows: [[String]] = [header]
    for s in states {
      var row = [
        s.id, stateWord(s), WebSubSubscriber.describe(push[s.id], now: now),
        s.lastSuccess.map(rfc3339) ?? "never",
        s.gone ? "stopped" : (s.nextDue.map(rfc3339) ?? "soon"),
        String(s.entryCount), String(s.retentionDropped), String(s.filteredEntries), errorText(s),
      ]
      if let fleet {
        let lease = fleet.leases[s.id]
        row.insert(contentsOf: [lease?.owner ?? "—", lease?.lastHolder ?? "—"], at: 2)
      }
      rows.append(row)
    }
    out += table(rows)
    if let fleet {
      out +=
        "\nfleet: \(fleet.instances.count) live instance\(fleet.instances.count == 1 ? "" : "s")\n"
      var rows = [["INSTANCE", "HOST", "PID", "HEARTBEAT", "CONFIG", "VERSION"]]
      for i in fleet.instances {
        rows.append([
          i.id, i.hostname, String(i.pid),
          "\(max(0, Int(now.timeIntervalSince(i.heartbeat).rounded()))) s ago",
          String(i.configHash.prefix(12)) + (i.configHash == fleet.configHash ? "" : " (differs)"),
          i.version,
        ])
      }
      out += table(rows)
      if let mismatch = fleet.mismatch {
        out +=
          "\nWARNING: THE FLEET RUNS \(mismatch.count) DIFFERENT CONFIGURATIONS "
          + "(this config: \(fleet.configHash.prefix(12)))\n"
        for (hash, ids) in mismatch.sorted(by: { $0.key < $1.key }) {
          out += "  config \(hash.prefix(12)): \(ids.joined(separator: ", "))\n"
        }
        out += "  Give every instance the same configuration, then reload them.\n"
      }
    }
    return out
  }

  /// Left-aligned columns, two spaces apart; the last column is not padded.
  static func table(_ rows: [[String]]) -> String {
    guard let columns = rows.first?.count, columns > 0 else { return "" }
    let widths = (0..<columns - 1).map { col in rows.map { $0[col].count }.max() ?? 0 }
    var out = ""
    for row in rows {
      var line = ""
      for col in 0..<columns - 1 {
        line += row[col].padding(toLength: widths[col], withPad: " ", startingAt: 0) + "  "
      }
      line += row[columns - 1]
      out += line.trimmingCharacters(in: .whitespaces) + "\n"
    }
    return out
  }

  /// `status --json`: the table's facts with full values (dates in RFC 3339, hashes whole).
  struct StatusJSON: Encodable {
    struct Source: Encodable {
      var id: String
      var state: String
      var lastSuccess: Date?
      var nextDue: Date?
      var entries: Int
      var dropped: Int
      /// Stored entries the source's `[source.filter]` keeps out of what is published.
      var filtered: Int
      var lastError: String?
      /// WebSub: none, pending, verified until …, failing since …, unsubscribing.
      var push: String
      var pushHub: String?
      var pushLastError: String?
      var leaseHolder: String?
      var leaseUntil: Date?
      var lastHolder: String?
    }
    struct Instance: Encodable {
      var id: String
      var hostname: String
      var pid: Int
      var startedAt: Date
      var heartbeat: Date
      var heartbeatAgeSeconds: Int
      var configHash: String
      var sameConfig: Bool
      var version: String
    }
    struct Fleet: Encodable {
      var configHash: String
      var instances: [Instance]
      var configMismatch: Bool
      /// Config hash → instance ids, when they differ.
      var configurations: [String: [String]]?
    }
    var entries: Int
    var stories: Int
    var mergedStories: Int
    var sources: [Source]
    var fleet: Fleet?
  }

  static func json(
    _ states: [SourceState], counts: StoreCounts, fleet: FleetStatus?,
    push: [String: PushSubscription] = [:], now: Date
  ) throws -> Data {
    let sources = states.map { s in
      let lease = fleet?.leases[s.id]
      let error = errorText(s)
      return StatusJSON.Source(
        id: s.id, state: stateWord(s), lastSuccess: s.lastSuccess,
        nextDue: s.gone ? nil : s.nextDue, entries: s.entryCount, dropped: s.retentionDropped,
        filtered: s.filteredEntries, lastError: error.isEmpty ? nil : error,
        push: WebSubSubscriber.describe(push[s.id], now: now), pushHub: push[s.id]?.hub,
        pushLastError: push[s.id]?.lastError, leaseHolder: lease?.owner, leaseUntil: lease?.until,
        lastHolder: lease?.lastHolder)
    }
    let fleetJSON = fleet.map { f in
      StatusJSON.Fleet(
        configHash: f.configHash,
        instances: f.instances.map { i in
          StatusJSON.Instance(
            id: i.id, hostname: i.hostname, pid: i.pid, startedAt: i.startedAt,
            heartbeat: i.heartbeat,
            heartbeatAgeSeconds: max(0, Int(now.timeIntervalSince(i.heartbeat).rounded())),
            configHash: i.configHash, sameConfig: i.configHash == f.configHash, version: i.version)
        }, configMismatch: f.mismatch != nil, configurations: f.mismatch)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try encoder.encode(
      StatusJSON(
        entries: counts.entries, stories: counts.duplicateGroups,
        mergedStories: counts.mergedGroups, sources: sources, fleet: fleetJSON))
  }
}

/// `clusterwire copy-store --from PATH --to URL`: moves an SQLite store into an empty
/// PostgreSQL one (every entry, id, duplicate group, tombstone and source state), then compares
/// the counts. Exit 0 when they match, 2 when the copy finished but the counts differ, 1 when
/// it could not run.
struct CopyStoreCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "copy-store",
    abstract: "Copy an SQLite store into a PostgreSQL database and verify the counts.")

  @Option(help: "The SQLite store file to copy (it is only read).") var from: String
  @Option(help: "The PostgreSQL store: postgresql://user[:password]@host[:port]/database.")
  var to: String
  @Option(
    name: .customLong("password-file"),
    help: "A file holding the database password (else the URL's, else $PGPASSWORD).")
  var passwordFile: String?
  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    if let problem = PostgresURL.problem(to) { throw ValidationError("--to: \(problem)") }
    if passwordFile != nil, PostgresURL.hasPassword(to) {
      throw ValidationError(
        "--to already carries a password: give it in one place (the URL or --password-file)")
    }
  }

  func run() async throws {
    JournalLogHandler.bootstrap(level: logging.level.flatMap(Logger.Level.init(rawValue:)) ?? .info)
    let logger = Logger(label: "clusterwire")
    let source = URL(fileURLWithPath: from).standardizedFileURL.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory),
      !isDirectory.boolValue
    else {
      fail("copy-store: no SQLite store at \(from)")
    }
    let passwordPath = passwordFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
    if let passwordPath, !FileManager.default.isReadableFile(atPath: passwordPath) {
      fail("copy-store: cannot read the password file \(passwordPath)")
    }
    let target = PostgresURL.redacted(to)
    print("copying \(source) to \(target)…")
    let summary: CopyStoreSummary
    do {
      summary = try await PostgresWiring.copy(
        fromSQLite: source, toURL: to, passwordFile: passwordPath, logger: logger)
    } catch {
      fail("copy-store: \(error)")
    }
    var rows = [["", "SQLITE", "POSTGRESQL", ""]]
    for row in summary.rows {
      rows.append([
        row.what, String(row.source), String(row.copied),
        row.source == row.copied ? "ok" : "DIFFERS",
      ])
    }
    print(StatusCommand.table(rows), terminator: "")
    if summary.verified {
      print("copied and verified: \(target) holds everything \(source) held")
    } else {
      fail("copy-store: the counts differ after the copy (see above); do not switch over", code: 2)
    }
  }
}

/// `clusterwire export`: every published document written atomically, for nginx-served sites.
struct ExportCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write every published document (same paths as HTTP) into a directory.")

  @Option(help: "The main config file.") var config: String
  @Option(help: "The output directory.") var out: String

  func run() async throws {
    LibXML.bootstrap()
    let settings = Wiring.loadSettings(config)
    let store = await Wiring.openAdminStore(settings, command: "export")
    let publisher = Publisher(store: store, options: Wiring.publisherOptions(settings))
    let count = try await publisher.export(to: URL(fileURLWithPath: out, isDirectory: true))
    try await store.close()
    print("wrote \(count) documents to \(out)")
  }
}

/// `clusterwire try-source ID`: fetch one configured source and show what it would produce,
/// without touching the store, so an admin can get selectors right before reloading.
struct TrySourceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "try-source",
    abstract: "Fetch one configured source and print the entries it would produce.")

  @Argument(help: "The source id.") var id: String
  @Option(help: "The main config file.") var config: String

  func run() async throws {
    LibXML.bootstrap()
    let settings = Wiring.loadSettings(config)
    guard let source = settings.sources.first(where: { $0.id == id }) else {
      fail("no source '\(id)' in \(config)")
    }
    let client = Wiring.makeHTTPClient(settings)
    let logger = Logger(label: "clusterwire")
    let preview = await Crawler.preview(
      source, options: Wiring.crawlerOptions(settings), httpClient: client, logger: logger)
    try await client.shutdown()
    switch preview {
    case .failure(let message):
      fail("\(id): \(message)")
    case .success(let parsed, let warnings):
      for w in warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
      let filter = source.filter.flatMap { $0.isEmpty ? nil : $0.compiled() }
      PreviewPrinter.write(
        PreviewPrinter.lines(id: id, parsed: parsed, filter: filter), to: .standardOutput)
      FileHandle.standardOutput.write(try ParseOutput(parsed, warnings: warnings).jsonData())
      print()
    }
  }
}

/// `clusterwire resanitize`: after an upgrade that bumps the sanitiser's policy version, runs
/// the current sanitiser over every stored entry's HTML produced under an older one (issue 17).
/// Entries still in their source's feed would be re-sanitised on their next fetch anyway; this
/// reaches the rest. Safe while the daemon runs (one write transaction per source).
struct ResanitizeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resanitize",
    abstract: "Re-sanitise stored entry HTML produced under an older sanitiser policy.")

  @Option(help: "The main config file.") var config: String
  @Flag(help: "Every entry with HTML, whatever policy produced it.") var all = false

  func run() async throws {
    LibXML.bootstrap()
    let settings = Wiring.loadSettings(config)
    let store = await Wiring.openAdminStore(settings, command: "resanitize")
    let all = self.all
    let (seen, rewritten) = try await store.rewriteEntries {
      HTMLSanitizer.resanitized($0, all: all)
    }
    try await store.close()
    print(
      "\(seen) stored entries read, \(rewritten) rewritten under sanitiser policy "
        + "\(HTMLSanitizer.policyVersion)")
  }
}
