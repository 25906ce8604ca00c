import FeedModel
import FeedParser
import Foundation
import TOMLKit

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads the main config file and its drop-ins into validated `Settings`, or throws every problem
/// found (file, line, key, message) at once.
public enum ConfigLoader {
  /// The version put into the default User-Agent (`clusterwire/<version> (+<base_url>)`).
  public static let clusterwireVersion = "0.1.0"

  /// Month-name locales of `[source.date] locale`: every language whose month names the date
  /// parser knows (`DateNames.languages`), so what `discover` detects is always accepted.
  public static let dateLocales: Set<String> = Set(DateNames.languages)

  /// swift-log level names accepted by `[log] level`.
  public static let logLevels = [
    "trace", "debug", "info", "notice", "warning", "error", "critical",
  ]

  /// Where the loader reads its files from.
  public enum Files: Sendable {
    /// The file system (the daemon, `check-config`).
    case fileSystem
    /// Only these files, by absolute path (fuzzing, tests): `include` patterns match the keys,
    /// and nothing is read from disk.
    case memory([String: Data])
  }

  /// Loads `path` (the main file) and every file its `include` patterns match.
  public static func load(path: String) throws(ConfigError) -> Settings {
    try load(main: nil, path: path, files: .fileSystem)
  }

  /// Loads a main file whose bytes are `contents` (`path` names it in messages, and relative
  /// paths and `include` patterns are resolved against its directory); drop-ins come from `files`.
  public static func load(contents: Data, path: String, files: Files = .fileSystem)
    throws(ConfigError) -> Settings
  {
    try load(main: contents, path: path, files: files)
  }

  private static func load(main contents: Data?, path: String, files source: Files)
    throws(ConfigError) -> Settings
  {
    let collector = IssueCollector()
    let mainURL = URL(fileURLWithPath: path).standardizedFileURL
    let directory = mainURL.deletingLastPathComponent()
    let displayDirectory = (path as NSString).deletingLastPathComponent

    guard
      let (root, mainFile) = parse(
        url: mainURL, display: path, contents: contents, files: source, collector: collector)
    else {
      throw ConfigError(issues: collector.issues)
    }
    var files = [mainURL.path]
    let reader = TableReader(table: root, path: "", file: mainFile)

    let server = readServer(reader.subtable("server"))
    let store = readStore(reader.subtable("store"), directory: directory)
    let feed = readFeed(reader.subtable("feed"))
    let crawl = readCrawl(reader.subtable("crawl"), baseURL: server.baseURL)
    let log = readLog(reader.subtable("log"))
    let fleet = readFleet(reader.subtable("fleet"), store: store, crawl: crawl, file: mainFile)
    let websub = readWebSub(reader.subtable("websub"))

    var sources: [(SourceDefinition, FileContext, String)] = []
    sources += readSources(reader, crawl: crawl)

    // Drop-ins: each pattern relative to the main file's directory, matches sorted.
    var seen: Set<String> = [mainURL.path]
    var displayOrder = [path]
    for (index, pattern) in (reader.stringArray("include") ?? []).enumerated() {
      let key = "include[\(index)]"
      let matches = source.glob(pattern, relativeTo: directory)
      if matches.isEmpty && !pattern.contains(where: { "*?[".contains($0) }) {
        mainFile.report(key, "included file \"\(pattern)\" does not exist")
      }
      for match in matches {
        if match == mainURL.path {
          mainFile.report(key, "\"\(pattern)\" matches the main config file itself")
          continue
        }
        guard seen.insert(match).inserted else { continue }
        let prefix = directory.path.hasSuffix("/") ? directory.path : directory.path + "/"
        let display =
          !pattern.hasPrefix("/") && match.hasPrefix(prefix)
          ? join(displayDirectory, String(match.dropFirst(prefix.count))) : match
        displayOrder.append(display)
        guard
          let (table, file) = parse(
            url: URL(fileURLWithPath: match), display: display, contents: nil, files: source,
            collector: collector)
        else { continue }
        files.append(match)
        let dropIn = TableReader(table: table, path: "", file: file)
        for other in table.keys.sorted() where other != "source" {
          dropIn.markUsed(other)
          file.report(
            other,
            "a drop-in file may only contain [[source]] tables (\"\(other)\" belongs in the main file)"
          )
        }
        sources += readSources(dropIn, crawl: crawl)
        dropIn.finish()
      }
    }
    reader.finish()

    // Source ids are the store's keys: they must be unique across all files.
    var firstSeen: [String: (file: FileContext, path: String)] = [:]
    for (source, file, path) in sources {
      let idPath = "\(path).id"
      if let first = firstSeen[source.id] {
        let where1 =
          first.file.line(first.path).map { "\(first.file.display):\($0)" } ?? first.file.display
        file.report(idPath, "duplicate source id \"\(source.id)\" (first defined at \(where1))")
      } else {
        firstSeen[source.id] = (file, idPath)
      }
    }

    if !collector.issues.isEmpty {
      // Files in reading order, then lines: the order an admin fixes them in.
      let order = Dictionary(
        displayOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
      let sorted = collector.issues.enumerated().sorted { a, b in
        let fa = order[a.element.file] ?? 0
        let fb = order[b.element.file] ?? 0
        if fa != fb { return fa < fb }
        let la = a.element.line ?? 0
        let lb = b.element.line ?? 0
        return la != lb ? la < lb : a.offset < b.offset
      }.map(\.element)
      throw ConfigError(issues: sorted)
    }
    return Settings(
      server: server, store: store, feed: feed, crawl: crawl, log: log, fleet: fleet,
      websub: websub, sources: sources.map(\.0), files: files)
  }

  // MARK: - Files

  /// Reads and parses one file (`contents` when the caller already has its bytes).
  private static func parse(
    url: URL, display: String, contents: Data?, files: Files, collector: IssueCollector
  ) -> (TOMLTable, FileContext)? {
    let data: Data
    let read: Result<Data, Message> = contents.map { .success($0) } ?? files.read(url)
    switch read {
    case .success(let bytes): data = bytes
    case .failure(let reason):
      collector.issues.append(
        ConfigIssue(file: display, line: nil, key: nil, message: reason.text))
      return nil
    }
    guard let text = String(data: data, encoding: .utf8) else {
      collector.issues.append(
        ConfigIssue(file: display, line: nil, key: nil, message: "not valid UTF-8"))
      return nil
    }
    let locator = LineLocator(text: text)
    if let line = locator.invalidHeaderLine {
      collector.issues.append(
        ConfigIssue(
          file: display, line: line, key: nil,
          message: "TOML syntax error: a table header needs a key, e.g. [server] or [[source]]"))
      return nil
    }
    if let line = locator.braceInArrayLine {
      collector.issues.append(
        ConfigIssue(
          file: display, line: line, key: nil,
          message: "TOML syntax error: an array is closed with '}', expected a value or ']'"))
      return nil
    }
    let context = FileContext(
      display: display, directory: url.deletingLastPathComponent(), locator: locator,
      collector: collector)
    do {
      return (try TOMLTable(string: text), context)
    } catch let error as TOMLParseError {
      collector.issues.append(
        ConfigIssue(
          file: display, line: error.source.begin.line, key: nil,
          message: "TOML syntax error: \(error.description) (column \(error.source.begin.column))"))
    } catch {
      collector.issues.append(
        ConfigIssue(file: display, line: nil, key: nil, message: "TOML error: \(error)"))
    }
    return nil
  }

  private static func join(_ directory: String, _ name: String) -> String {
    directory.isEmpty ? name : (directory as NSString).appendingPathComponent(name)
  }

  /// Sorted, de-duplicated matches of a glob pattern (relative patterns against `directory`).
  static func glob(_ pattern: String, relativeTo directory: URL) -> [String] {
    let full = pattern.hasPrefix("/") ? pattern : directory.appendingPathComponent(pattern).path
    var result = glob_t()
    defer { globfree(&result) }
    guard Glibc.glob(full, 0, nil, &result) == 0 else { return [] }
    var paths: [String] = []
    for i in 0..<Int(result.gl_pathc) {
      if let p = result.gl_pathv[i] {
        paths.append(URL(fileURLWithPath: String(cString: p)).standardizedFileURL.path)
      }
    }
    return Array(Set(paths)).sorted()
  }

  // MARK: - Tables

  private static func readServer(_ t: TableReader?) -> Settings.Server {
    var host = "127.0.0.1"
    var port = 8080
    if let listen = t?.string("listen") {
      switch parseListen(listen) {
      case .success(let (h, p)): (host, port) = (h, p)
      case .failure(let message): t?.report("listen", message.text)
      }
    }
    let defaultHost = ["0.0.0.0", "::", ""].contains(host) ? "localhost" : host
    var baseURL = URL(
      string: "http://\(defaultHost.contains(":") ? "[\(defaultHost)]" : defaultHost):\(port)/")!
    if let raw = t?.string("base_url") {
      if let url = URL(string: raw), let scheme = url.scheme?.lowercased(),
        ["http", "https"].contains(scheme),
        let h = url.host, !h.isEmpty, url.query == nil, url.fragment == nil, !raw.contains(" ")
      {
        baseURL = url.absoluteString.hasSuffix("/") ? url : URL(string: url.absoluteString + "/")!
      } else {
        t?.report(
          "base_url",
          "invalid base URL \"\(raw)\" (an absolute http or https URL without query, e.g. https://news.example.org/)"
        )
      }
    }
    var server = Settings.Server(host: host, port: port, baseURL: baseURL)
    if let d = t?.duration("idle_timeout") { server.idleTimeout = d }
    if let d = t?.duration("request_head_timeout") { server.requestHeadTimeout = d }
    if let n = t?.int("max_connections", min: 1) { server.maxConnections = n }
    t?.finish()
    return server
  }

  struct Message: Error { let text: String }

  /// `127.0.0.1:8080`, `localhost:8080`, `[::1]:8080` → host (IPv6 without brackets) and port.
  static func parseListen(_ raw: String) -> Result<(String, Int), Message> {
    let hint = "(use host:port, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\")"
    let host: String
    let portText: String
    if raw.hasPrefix("[") {
      guard let close = raw.firstIndex(of: "]"), raw[raw.index(after: close)...].hasPrefix(":")
      else {
        return .failure(Message(text: "invalid listen address \"\(raw)\" \(hint)"))
      }
      host = String(raw[raw.index(after: raw.startIndex)..<close])
      portText = String(raw[raw.index(close, offsetBy: 2)...])
      var buffer = in6_addr()
      guard inet_pton(AF_INET6, host, &buffer) == 1 else {
        return .failure(
          Message(text: "invalid IPv6 address \"\(host)\" in listen address \"\(raw)\""))
      }
    } else {
      guard let colon = raw.lastIndex(of: ":") else {
        return .failure(Message(text: "invalid listen address \"\(raw)\": no port \(hint)"))
      }
      host = String(raw[..<colon])
      portText = String(raw[raw.index(after: colon)...])
      if host.contains(":") {
        return .failure(
          Message(
            text:
              "invalid listen address \"\(raw)\": IPv6 addresses need brackets, e.g. \"[::1]:8080\""
          ))
      }
      if host.isEmpty
        || !host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
        )
      {
        return .failure(
          Message(text: "invalid listen address \"\(raw)\": bad host \"\(host)\" \(hint)"))
      }
      if host.allSatisfy({ $0.isNumber || $0 == "." }) {
        var buffer = in_addr()
        guard inet_pton(AF_INET, host, &buffer) == 1 else {
          return .failure(
            Message(text: "invalid IPv4 address \"\(host)\" in listen address \"\(raw)\""))
        }
      }
    }
    guard let port = Int(portText), (1...65535).contains(port) else {
      return .failure(
        Message(text: "invalid port \"\(portText)\" in listen address \"\(raw)\" (1-65535)"))
    }
    return .success((host, port))
  }

  private static func readStore(_ t: TableReader?, directory: URL) -> Settings.Store {
    var store = Settings.Store(path: directory.appendingPathComponent("clusterwire.sqlite").path)
    func absolute(_ path: String) -> String {
      let expanded = (path as NSString).expandingTildeInPath
      return expanded.hasPrefix("/")
        ? URL(fileURLWithPath: expanded).standardizedFileURL.path
        : directory.appendingPathComponent(expanded).standardizedFileURL.path
    }
    let hasPath = t?.has("path") ?? false
    if let path = t?.string("path") {
      if path.trimmingCharacters(in: .whitespaces).isEmpty {
        t?.report("path", "must not be empty")
      } else {
        store.path = absolute(path)
      }
    }
    if let url = t?.string("url") {
      if url.trimmingCharacters(in: .whitespaces).isEmpty {
        t?.report("url", "must not be empty")
      } else if hasPath {
        t?.report(
          "url",
          "give either path (an SQLite file) or url (a PostgreSQL database shared by a fleet), not both"
        )
      } else if let problem = PostgresURL.problem(url) {
        t?.report("url", problem)
      } else {
        store.url = url
      }
    }
    if let file = t?.string("password_file") {
      if file.trimmingCharacters(in: .whitespaces).isEmpty {
        t?.report("password_file", "must not be empty")
      } else if !(t?.has("url") ?? false) {
        t?.report(
          "password_file", "password_file only applies to a PostgreSQL store (set url, not path)")
      } else if let url = store.url, PostgresURL.hasPassword(url) {
        t?.report(
          "password_file",
          "the url already carries a password: give it in one place (the URL or password_file)")
      } else {
        store.passwordFile = absolute(file)
      }
    }
    if let n = t?.int("max_entries", min: 1) { store.maxEntries = n }
    if let d = t?.duration("max_age") { store.maxAge = d }
    if let d = t?.duration("duplicate_window", allowZero: true) { store.duplicateWindow = d }
    if let d = t?.duration("removed_grace", allowZero: true) { store.removedGrace = d }
    if let d = t?.duration("sweep_interval") { store.sweepInterval = d }
    if let n = t?.int("commit_batch", min: 1) {
      if n > 1000 {
        t?.report("commit_batch", "must be at most 1000, found \(n)")
      } else {
        store.commitBatch = n
      }
    }
    if let d = t?.duration("commit_delay", allowZero: true) {
      // Every result of a batch waits for it: past a second, publication visibly lags.
      if d > 1 {
        t?.report(
          "commit_delay",
          "must be at most 1s (it delays publication), found \(ConfigUnits.formatDuration(d))")
      } else {
        store.commitDelay = d
      }
    }
    t?.finish()
    return store
  }

  private static func readFeed(_ t: TableReader?) -> Settings.FeedInfo {
    var feed = Settings.FeedInfo()
    if let title = t?.string("title") {
      if title.trimmingCharacters(in: .whitespaces).isEmpty {
        t?.report("title", "must not be empty")
      } else {
        feed.title = title
      }
    }
    feed.subtitle = t?.optionalString("subtitle")
    feed.author = t?.optionalString("author")
    if let n = t?.int("entries", min: 1) { feed.entries = n }
    if let language = t?.string("language") {
      if isLanguageTag(language) {
        feed.language = language
      } else {
        t?.report("language", badLanguage(language))
      }
    }
    t?.finish()
    return feed
  }

  private static func readCrawl(_ t: TableReader?, baseURL: URL) -> Settings.Crawl {
    var crawl = Settings.Crawl(
      userAgent: "clusterwire/\(clusterwireVersion) (+\(baseURL.absoluteString))")
    if let d = t?.duration("interval") { crawl.interval = d }
    if let d = t?.duration("timeout") { crawl.timeout = d }
    if let d = t?.duration("connect_timeout") { crawl.connectTimeout = d }
    if let n = t?.size("max_body") { crawl.maxBody = n }
    if let n = t?.int("per_host", min: 1) { crawl.perHost = n }
    if let n = t?.int("concurrency", min: 1) { crawl.concurrency = n }
    if let ua = t?.string("user_agent") {
      if let bad = userAgentProblem(ua) {
        t?.report("user_agent", bad)
      } else {
        crawl.userAgent = ua
      }
    }
    if let d = t?.duration("backoff_max") { crawl.backoffMax = d }
    t?.finish()
    return crawl
  }

  /// `[fleet]`. The lease TTL must outlast the longest fetch (timeout plus shutdown grace):
  /// checked when the store is shared or `lease_ttl` is given, reported on `lease_ttl`, or on
  /// `[crawl] timeout` when the default TTL is what it collides with.
  private static func readFleet(
    _ t: TableReader?, store: Settings.Store, crawl: Settings.Crawl, file: FileContext
  ) -> Settings.Fleet {
    var fleet = Settings.Fleet()
    t?.markUsed("lease_ttl")  // known even when absent, for the typo suggestions
    let leaseGiven = t?.has("lease_ttl") ?? false
    var leaseValid = true
    if leaseGiven {
      if let d = t?.duration("lease_ttl") { fleet.leaseTTL = d } else { leaseValid = false }
    }
    if let d = t?.duration("heartbeat") { fleet.heartbeat = d }
    if let id = t?.string("instance") {
      if isInstanceID(id) {
        fleet.instance = id
      } else {
        t?.report(
          "instance",
          "invalid instance id \"\(id)\" (1-100 characters from letters, digits, '.', '_' and '-')")
      }
    }
    t?.finish()
    let longest = crawl.timeout + crawl.shutdownGrace
    if leaseValid, store.isShared || leaseGiven, fleet.leaseTTL <= longest {
      let why =
        "a lease would expire while its fetch may still run (crawl timeout "
        + "\(ConfigUnits.formatDuration(crawl.timeout)) + shutdown grace "
        + "\(ConfigUnits.formatDuration(crawl.shutdownGrace))) and another instance would fetch "
        + "the source again"
      if leaseGiven {
        t?.report(
          "lease_ttl",
          "lease_ttl \(ConfigUnits.formatDuration(fleet.leaseTTL)) must exceed "
            + "\(ConfigUnits.formatDuration(longest)): \(why)")
      } else {
        file.report(
          "crawl.timeout",
          "the default [fleet] lease_ttl (\(ConfigUnits.formatDuration(fleet.leaseTTL))) must exceed "
            + "\(ConfigUnits.formatDuration(longest)): \(why); set [fleet] lease_ttl higher")
      }
    }
    return fleet
  }

  private static func readWebSub(_ t: TableReader?) -> Settings.WebSub {
    var w = Settings.WebSub()
    guard let t else { return w }
    // Known even when absent, for the typo suggestions.
    t.markUsed(
      "hub", "subscribe", "ping", "lease_min", "lease_default", "lease_max",
      "poll_while_subscribed", "retry_for", "delivery_timeout", "allow_private_callbacks",
      "max_subscriptions", "max_per_callback_host")
    if let b = t.bool("hub") { w.hub = b }
    if let b = t.bool("subscribe") { w.subscribe = b }
    if let list = t.stringArray("ping") {
      w.ping = []
      for (i, text) in list.enumerated() {
        if let url = URL(string: text), let scheme = url.scheme?.lowercased(),
          scheme == "http" || scheme == "https", url.host?.isEmpty == false, url.fragment == nil
        {
          w.ping.append(url)
        } else {
          t.file.report(
            t.keyPath("ping") + "[\(i)]",
            "invalid hub URL \"\(text)\" (an absolute http or https URL without a fragment)")
        }
      }
    }
    for (key, keyPath) in [
      ("lease_min", \Settings.WebSub.leaseMin), ("lease_default", \.leaseDefault),
      ("lease_max", \.leaseMax), ("poll_while_subscribed", \.pollWhileSubscribed),
      ("retry_for", \.retryFor), ("delivery_timeout", \.deliveryTimeout),
    ] as [(String, WritableKeyPath<Settings.WebSub, TimeInterval>)] {
      if let d = t.duration(key) { w[keyPath: keyPath] = d }
    }
    if w.leaseMin > w.leaseMax {
      t.report("lease_min", "lease_min must not exceed lease_max")
    } else if w.leaseDefault < w.leaseMin || w.leaseDefault > w.leaseMax {
      t.report("lease_default", "lease_default must lie between lease_min and lease_max")
    }
    if let b = t.bool("allow_private_callbacks") { w.allowPrivateCallbacks = b }
    if let n = t.int("max_subscriptions", min: 0) { w.maxSubscriptions = n }
    if let n = t.int("max_per_callback_host", min: 0) { w.maxPerCallbackHost = n }
    t.finish()
    return w
  }

  /// A fleet instance id: what a log line, a metric label and a database column take safely.
  static func isInstanceID(_ s: String) -> Bool {
    (1...100).contains(s.count)
      && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
  }

  private static func readLog(_ t: TableReader?) -> Settings.Log {
    var log = Settings.Log()
    if let level = t?.string("level") {
      if logLevels.contains(level.lowercased()) {
        log.level = level.lowercased()
      } else {
        t?.report(
          "level",
          "unknown log level \"\(level)\" (use one of \(logLevels.joined(separator: ", ")))")
      }
    }
    t?.finish()
    return log
  }

  static func userAgentProblem(_ ua: String) -> String? {
    if ua.trimmingCharacters(in: .whitespaces).isEmpty { return "must not be empty" }
    if ua.contains(where: {
      $0.isNewline || !($0.isASCII) || $0.asciiValue.map { $0 < 0x20 } == true
    }) {
      return "must be printable ASCII on one line (it is sent as an HTTP header)"
    }
    return nil
  }

  static func isLanguageTag(_ s: String) -> Bool {
    let parts = s.split(separator: "-", omittingEmptySubsequences: false)
    guard let first = parts.first, (2...3).contains(first.count),
      first.allSatisfy({ $0.isASCII && $0.isLetter })
    else { return false }
    return parts.dropFirst().allSatisfy {
      (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }
  }

  static func badLanguage(_ s: String) -> String {
    "invalid language tag \"\(s)\" (e.g. lt, en, en-GB)"
  }

  static func isSlug(_ s: String) -> Bool { Slug.isValid(s) }

  // MARK: - Sources

  /// Every `[[source]]` of one file, with the file and key path for later duplicate reports.
  private static func readSources(_ root: TableReader, crawl: Settings.Crawl) -> [(
    SourceDefinition, FileContext, String
  )] {
    guard root.has("source") else {
      root.markUsed("source")
      return []
    }
    root.markUsed("source")
    guard let value = root.table["source"], let array = value.array else {
      root.report(
        "source", "sources must be an array of tables: write each one as [[source]], not [source]")
      return []
    }
    var out: [(SourceDefinition, FileContext, String)] = []
    for (index, element) in array.enumerated() {
      let path = "source[\(index)]"
      guard let table = element.table else {
        root.file.report(path, "expected a table, found \(TableReader.describe(element.type))")
        continue
      }
      let reader = TableReader(table: table, path: path, file: root.file)
      if let source = readSource(reader, crawl: crawl) { out.append((source, root.file, path)) }
    }
    return out
  }

  private static func readSource(_ t: TableReader, crawl: Settings.Crawl) -> SourceDefinition? {
    var ok = true
    let id = t.requiredString("id")
    if let id, !isSlug(id) {
      t.report(
        "id", "invalid source id \"\(id)\" (use lower-case letters, digits and hyphens: [a-z0-9-]+)"
      )
      ok = false
    }
    var url: String?
    if let raw = t.requiredString("url") {
      switch resolveSourceURL(raw, directory: t.file.directory) {
      case .success(let resolved): url = resolved
      case .failure(let message): t.report("url", message.text)
      }
    }
    var kind = SourceKind.feed
    var kindKnown = true
    if let k = t.string("kind") {
      if let parsed = SourceKind(rawValue: k) {
        kind = parsed
      } else {
        t.report("kind", "unknown kind \"\(k)\" (use \"feed\" or \"html\")")
        ok = false
        kindKnown = false
      }
    }
    let title = t.optionalString("title")
    var categories: [String] = []
    if let list = t.stringArray("categories") {
      for (i, category) in list.enumerated() {
        if isSlug(category) {
          if !categories.contains(category) { categories.append(category) }
        } else {
          t.file.report(
            t.keyPath("categories") + "[\(i)]",
            "invalid category \"\(category)\" (categories are URL slugs: [a-z0-9-]+, e.g. \"agri-food\")"
          )
          ok = false
        }
      }
    }
    let priority = t.int("priority") ?? 0
    let interval = t.duration("interval") ?? crawl.interval
    let enabled = t.bool("enabled") ?? true
    let websub = t.bool("websub") ?? true
    var userAgent: String?
    if let ua = t.string("user_agent") {
      if let bad = userAgentProblem(ua) { t.report("user_agent", bad) } else { userAgent = ua }
    }
    var language: String?
    if let l = t.string("language") {
      if isLanguageTag(l) { language = l } else { t.report("language", badLanguage(l)) }
    }

    var selectors: HTMLSelectors?
    let select = t.subtable("select")
    let date = t.subtable("date")
    if kind == .html {
      if let select {
        selectors = readSelectors(select, date: date, language: language)
        if selectors == nil { ok = false }
      } else if t.has("select") {
        ok = false  // wrong type, already reported
      } else {
        t.report(
          "select",
          "html sources need a [source.select] table with item, title and link XPath expressions")
        ok = false
      }
    } else {
      for (key, sub) in [("select", select), ("date", date)] where sub != nil && kindKnown {
        t.report(
          key,
          "[source.\(key)] only applies to kind = \"html\" (this source is kind = \"\(kind.rawValue)\")"
        )
        sub?.markUsed(contentsOf: sub?.table.keys ?? [])
        ok = false
      }
    }
    var filter: EntryFilter?
    if let f = t.subtable("filter") {
      filter = readFilter(f)
      if filter == nil { ok = false }
    } else if t.has("filter") {
      ok = false  // wrong type, already reported
    }
    t.finish()
    guard ok, let id, let url else { return nil }
    return SourceDefinition(
      id: id, url: url, kind: kind, title: title, categories: categories, priority: priority,
      interval: interval, enabled: enabled, userAgent: userAgent, language: language,
      selectors: selectors, websub: websub, filter: filter)
  }

  /// `[source.filter]`: `block` and `keep`, lists of ICU regular expressions, each checked here
  /// so a typo in a pattern is an error on its line, not a filter that silently matches nothing.
  /// An empty table is no filter.
  private static func readFilter(_ f: TableReader) -> EntryFilter? {
    var ok = true
    func patterns(_ key: String) -> [String] {
      guard let list = f.stringArray(key) else {
        if f.has(key) { ok = false }
        return []
      }
      var out: [String] = []
      for (i, pattern) in list.enumerated() {
        if let problem = EntryFilter.patternError(pattern) {
          f.file.report(f.keyPath(key) + "[\(i)]", problem)
          ok = false
        } else if !out.contains(pattern) {
          out.append(pattern)
        }
      }
      return out
    }
    let filter = EntryFilter(block: patterns("block"), keep: patterns("keep"))
    f.finish()
    return ok ? filter : nil
  }

  private static func readSelectors(_ s: TableReader, date: TableReader?, language: String?)
    -> HTMLSelectors?
  {
    LibXML.bootstrap()
    var ok = true
    func xpath(_ key: String, required: Bool) -> String? {
      let value = required ? s.requiredString(key) : s.optionalString(key)
      guard let value else {
        if required { ok = false }
        return nil
      }
      if let problem = HTMLScraper.xpathError(value) {
        s.report(key, "invalid XPath \"\(value)\": \(problem)")
        ok = false
        return nil
      }
      return value
    }
    let item = xpath("item", required: true)
    let title = xpath("title", required: true)
    let link = xpath("link", required: true)
    let dateXPath = xpath("date", required: false)
    let summary = xpath("summary", required: false)
    let content = xpath("content", required: false)
    let author = xpath("author", required: false)
    let categories = xpath("categories", required: false)
    let id = xpath("id", required: false)
    s.finish()

    // Default month names: the source's language when supported, else Lithuanian.
    var locale =
      language.map { String($0.prefix { $0 != "-" }).lowercased() }.flatMap {
        dateLocales.contains($0) ? $0 : nil
      } ?? "lt"
    var format: String?
    var timeZone = "Europe/Vilnius"
    if let date {
      if let l = date.string("locale") {
        if dateLocales.contains(l.lowercased()) {
          locale = l.lowercased()
        } else {
          date.report(
            "locale",
            "unknown date locale \"\(l)\" (supported: \(dateLocales.sorted().joined(separator: ", ")))"
          )
          ok = false
        }
      }
      format = date.optionalString("format")
      for key in ["timezone", "time_zone"] {
        guard let tz = date.string(key) else { continue }
        if TimeZone(identifier: tz) != nil {
          timeZone = tz
        } else {
          date.report(
            key, "unknown time zone \"\(tz)\" (an IANA name such as \"Europe/Vilnius\" or \"UTC\")")
          ok = false
        }
      }
      date.finish()
    }
    guard ok, let item, let title, let link else { return nil }
    return HTMLSelectors(
      item: item, title: title, link: link, date: dateXPath, summary: summary, content: content,
      author: author,
      categories: categories, id: id, dateLocale: locale, dateFormat: format, timeZone: timeZone)
  }

  /// http(s) URLs are kept; `file:` URLs and bare paths become absolute `file:///…` URLs, relative
  /// ones resolved against the directory of the file declaring the source (so the bundled demo
  /// runs from any checkout).
  static func resolveSourceURL(_ raw: String, directory: URL) -> Result<String, Message> {
    let text = raw.trimmingCharacters(in: .whitespaces)
    if text.isEmpty { return .failure(Message(text: "must not be empty")) }
    let schemeEnd = text.firstIndex(of: ":")
    let scheme = schemeEnd.map { String(text[..<$0]) }
    if let scheme, let first = scheme.first, first.isASCII, first.isLetter,
      scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) })
    {
      let rest = String(text[text.index(after: schemeEnd!)...])
      if text.contains(where: { $0.isWhitespace }) {
        return .failure(
          Message(text: "invalid URL \"\(raw)\": contains whitespace (percent-encode it as %20)"))
      }
      switch scheme.lowercased() {
      case "http", "https":
        guard let url = URL(string: text), let host = url.host, !host.isEmpty else {
          return .failure(
            Message(text: "invalid URL \"\(raw)\" (expected e.g. https://example.org/feed/)"))
        }
        return .success(url.absoluteString)
      case "file":
        var path = rest
        if path.hasPrefix("//") {
          let afterSlashes = path.dropFirst(2)
          let authority = afterSlashes.prefix { $0 != "/" }
          guard authority.isEmpty || authority.lowercased() == "localhost" else {
            return .failure(
              Message(
                text:
                  "invalid file URL \"\(raw)\": remote host \"\(authority)\" (use file:///absolute/path or file:relative/path)"
              ))
          }
          path = String(afterSlashes.dropFirst(authority.count))
        }
        guard let decoded = path.removingPercentEncoding, !decoded.isEmpty else {
          return .failure(Message(text: "invalid file URL \"\(raw)\""))
        }
        return .success(fileURL(decoded, directory: directory))
      default:
        return .failure(
          Message(
            text: "unsupported URL scheme \"\(scheme)\" in \"\(raw)\" (use http, https or file)"))
      }
    }
    if text.hasPrefix("//") {
      return .failure(Message(text: "invalid URL \"\(raw)\": missing scheme (use https://…)"))
    }
    // A bare path. "klaster.lt/feed/" is far more likely a URL missing its scheme than a file.
    let resolved = fileURL(text, directory: directory)
    let firstComponent = text.split(separator: "/").first.map(String.init) ?? ""
    if !text.hasPrefix("/"), firstComponent.contains("."), firstComponent != ".",
      firstComponent != "..",
      let path = URL(string: resolved)?.path, !FileManager.default.fileExists(atPath: path)
    {
      return .failure(
        Message(
          text:
            "\"\(raw)\" is read as a local file that does not exist; did you mean \"https://\(text)\"?"
        ))
    }
    return .success(resolved)
  }

  private static func fileURL(_ path: String, directory: URL) -> String {
    let url =
      path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
    return url.standardizedFileURL.absoluteString
  }
}

extension TableReader {
  func markUsed(contentsOf keys: [String]) { for key in keys { markUsed(key) } }
}

extension ConfigLoader.Files {
  /// The bytes of `url`, or why there are none.
  func read(_ url: URL) -> Result<Data, ConfigLoader.Message> {
    switch self {
    case .fileSystem:
      do {
        return .success(try Data(contentsOf: url))
      } catch {
        let exists = FileManager.default.fileExists(atPath: url.path)
        return .failure(.init(text: exists ? "cannot read the file" : "no such file"))
      }
    case .memory(let files):
      guard let data = files[url.standardizedFileURL.path] else {
        return .failure(.init(text: "no such file"))
      }
      return .success(data)
    }
  }

  /// Sorted, de-duplicated matches of a glob pattern (relative patterns against `directory`).
  func glob(_ pattern: String, relativeTo directory: URL) -> [String] {
    switch self {
    case .fileSystem:
      return ConfigLoader.glob(pattern, relativeTo: directory)
    case .memory(let files):
      let full =
        pattern.hasPrefix("/") ? pattern : directory.appendingPathComponent(pattern).path
      let standardized = URL(fileURLWithPath: full).standardizedFileURL.path
      return files.keys.filter { fnmatch(standardized, $0, FNM_PATHNAME) == 0 }.sorted()
    }
  }
}
