import FeedModel
import FeedStore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Renders the store into the published documents and caches their bytes. A document is
/// rendered at most once per store change (`FeedStore.changeToken()`), never per request: the
/// token is looked at no more than every `checkInterval`, or at once after `invalidate()`.
public actor Publisher {
  /// How stale a cached document may be when nobody called `invalidate()`.
  public static let checkInterval: Duration = .milliseconds(250)
  /// Bounds the cache against crawlers walking arbitrary `?before=` cursors.
  static let maxCachedDocuments = 2048

  private let store: any FeedStore
  private var options: PublisherOptions
  /// Rendered documents (nil = a known 404) by canonical path + page query.
  private var cache: [String: Document?] = [:]
  private var inflight: [String: Task<Document?, any Error>] = [:]
  /// ETag and first-seen time of each key's bytes, kept across re-renders so an unchanged
  /// document keeps its Last-Modified.
  private var validators: [String: (etag: String, lastModified: Date)] = [:]
  private var token: Int64?
  /// Bumped whenever cached output becomes invalid; renders started earlier are not cached.
  private var generation = 0
  private var lastCheck: ContinuousClock.Instant?
  private var mustCheck = true
  private var meta: (generation: Int, states: [SourceState], facets: StoreFacets)?
  private nonisolated let fast = FastCache()

  public init(store: any FeedStore, options: PublisherOptions) {
    self.store = store
    self.options = options
  }

  /// The document for a request path and query (`before`/`after` select a page), or nil when
  /// no such document exists (unknown path, category, source, language or a malformed cursor).
  public func document(path: String, query: [String: String]) async throws -> Document? {
    guard let (route, pageQuery, key) = Self.resolve(path: path, query: query) else { return nil }
    try await refreshIfChanged()
    if let hit = cache[key] { return hit }
    if let running = inflight[key] { return try await running.value }
    let gen = generation
    let task = Task { try await self.render(route, pageQuery: pageQuery, key: key) }
    inflight[key] = task
    do {
      let doc = try await task.value
      if gen == generation {
        inflight[key] = nil
        if cache.count >= Self.maxCachedDocuments { cache.removeAll(keepingCapacity: true) }
        cache[key] = doc
        if let doc { fast.put(key, doc) }
      }
      return doc
    } catch {
      if gen == generation { inflight[key] = nil }
      throw error
    }
  }

  /// Called by the daemon after each crawl commit: the next request looks at the change token
  /// at once instead of waiting for `checkInterval`.
  public func invalidate() {
    mustCheck = true
    fast.expire()
  }

  /// Config reload: new titles, base URL or page size re-render everything.
  public func updateOptions(_ options: PublisherOptions) {
    guard options != self.options else { return }
    self.options = options
    dropCache()
  }

  /// Every document that exists for the current store, without paging queries (for export).
  public func allDocumentPaths() async throws -> [String] {
    try await refreshIfChanged()
    let (states, facets) = try await metadata()
    var paths = ["/", "/feed.atom", "/feed.rss", "/feed.json", "/sources.opml"]
    let categories = Set(facets.categories + states.flatMap(\.categories)).filter(
      DocumentRoute.isKey
    ).sorted()
    let scopes: [FeedScope] =
      categories.map { .category($0) }
      + states.map(\.id).filter(DocumentRoute.isKey).map { .source($0) }
      + facets.languages.filter(DocumentRoute.isKey).map { .language($0.lowercased()) }
    for scope in [.all] + scopes {
      if scope != .all {
        for format in OutputFormat.allCases { paths.append(DocumentRoute.path(scope, format)) }
      }
      // Every archive page too: a static copy must reach everything a client can.
      guard let query = Self.scopeQuery(scope, states: states, facets: facets, options: options)
      else { continue }
      let layout = try await store.archives(query, pageSize: options.entriesPerPage)
      for page in layout.pages { paths.append(DocumentRoute.archivePath(scope, page.number)) }
    }
    return paths
  }

  /// Writes every document under `directory` with the same paths as over HTTP (`/` becomes
  /// `index.html`), archive pages included, each atomically and durably: a temporary file in the
  /// same directory, fsync, rename(2), then fsync of the directory — a web server never serves a
  /// half-written file and a crash never leaves an empty one. Files an earlier export wrote that
  /// no longer belong (listed in `.clusterwire-export`) are removed; nothing else in the
  /// directory is touched. Returns the number of documents written.
  public func export(to directory: URL) async throws -> Int {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let manifestURL = directory.appendingPathComponent(Self.exportManifest)
    let previous = Set(
      ((try? String(contentsOf: manifestURL, encoding: .utf8)) ?? "").split(separator: "\n").map(
        String.init))
    var written: [String] = []
    for path in try await allDocumentPaths() {
      guard let doc = try await document(path: path, query: [:]) else { continue }
      let relative = path == "/" ? "index.html" : String(path.dropFirst())
      try Self.writeDurably(doc.body, to: directory.appendingPathComponent(relative))
      written.append(relative)
    }
    let current = Set(written)
    for stale in previous.subtracting(current) where Self.isExportedName(stale) {
      try? FileManager.default.removeItem(at: directory.appendingPathComponent(stale))
    }
    try Self.writeDurably(
      Array(written.sorted().joined(separator: "\n").utf8), to: manifestURL)
    return written.count
  }

  /// Lists what the last export wrote, so the next one removes only its own stale files.
  static let exportManifest = ".clusterwire-export"

  /// A relative path an export could have written (no `..`, no absolute path): the manifest is
  /// a file in a directory others may write to, never a list of arbitrary paths to delete.
  static func isExportedName(_ relative: String) -> Bool {
    guard !relative.isEmpty, !relative.hasPrefix("/") else { return false }
    let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
    return !parts.contains { $0.isEmpty || $0 == "." || $0 == ".." }
      && (DocumentRoute(path: "/" + relative) != nil || relative == "index.html")
  }

  /// Temp file in the target's directory, write, fsync, rename, fsync the directory.
  static func writeDurably(_ bytes: [UInt8], to target: URL) throws {
    let dir = target.deletingLastPathComponent()
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let temp = dir.appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString).tmp")
    func fail(_ what: String) -> Error {
      let err = errno
      try? FileManager.default.removeItem(at: temp)
      return CocoaError(
        .fileWriteUnknown,
        userInfo: [NSFilePathErrorKey: target.path, "errno": err, "step": what])
    }
    let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw fail("open") }
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
      if n < 0 {
        if errno == EINTR { continue }
        close(fd)
        throw fail("write")
      }
      offset += n
    }
    if fsync(fd) != 0 {
      close(fd)
      throw fail("fsync")
    }
    close(fd)
    if rename(temp.path, target.path) != 0 { throw fail("rename") }
    let dirFD = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dirFD >= 0 {
      _ = fsync(dirFD)
      close(dirFD)
    }
  }

  // MARK: internals

  private func dropCache() {
    fast.clear()
    generation += 1
    cache.removeAll()
    inflight.removeAll()
    meta = nil
  }

  private func refreshIfChanged() async throws {
    let now = ContinuousClock.now
    if !mustCheck, let last = lastCheck, now - last < Self.checkInterval { return }
    mustCheck = false
    lastCheck = now
    let current: Int64
    do {
      current = try await store.changeToken()
    } catch {
      mustCheck = true
      throw error
    }
    if current != token {
      token = current
      dropCache()
    }
    if !mustCheck { fast.validate(until: now + Self.checkInterval) }
  }

  /// Route, page query and cache key of a request, or nil when no document can exist there.
  private static func resolve(path: String, query: [String: String]) -> (
    DocumentRoute, (name: String, token: String)?, String
  )? {
    guard let route = DocumentRoute(path: path) else { return nil }
    var pageQuery: (name: String, token: String)?
    if case .timeline = route {
      if let b = query["before"] {
        guard let c = TimelineCursor(token: b) else { return nil }
        pageQuery = ("before", c.token)
      } else if let a = query["after"] {
        guard let c = TimelineCursor(token: a) else { return nil }
        pageQuery = ("after", c.token)
      }
    }
    return (route, pageQuery, route.path + (pageQuery.map { "?\($0.name)=\($0.token)" } ?? ""))
  }

  /// The cached document without a hop onto the actor, when it is known to be current (the
  /// change token was checked less than `checkInterval` ago and nothing called `invalidate()`).
  /// nil means "ask `document(path:query:)`", not 404. The server tries this first per request.
  public nonisolated func cachedDocument(path: String, query: [String: String]) -> Document? {
    guard let (_, _, key) = Self.resolve(path: path, query: query) else { return nil }
    return fast.get(key)
  }

  private func metadata() async throws -> ([SourceState], StoreFacets) {
    if let meta, meta.generation == generation { return (meta.states, meta.facets) }
    let gen = generation
    let states = try await store.sourceStates().filter(\.active)
    let facets = try await store.facets()
    if gen == generation { meta = (gen, states, facets) }
    return (states, facets)
  }

  /// The store query of a scope, or nil when no such category, source or language exists.
  private static func scopeQuery(
    _ scope: FeedScope, states: [SourceState], facets: StoreFacets, options: PublisherOptions
  ) -> TimelineQuery? {
    var query = TimelineQuery(limit: max(1, options.entriesPerPage))
    switch scope {
    case .all: break
    case .category(let slug):
      guard
        facets.categories.contains(slug) || states.contains(where: { $0.categories.contains(slug) })
      else { return nil }
      query.category = slug
    case .source(let id):
      guard states.contains(where: { $0.id == id }) else { return nil }
      query.sourceID = id
    case .language(let code):
      guard facets.languages.contains(where: { $0.lowercased() == code }) else { return nil }
      query.language = code
    }
    return query
  }

  private func render(
    _ route: DocumentRoute, pageQuery: (name: String, token: String)?, key: String
  )
    async throws -> Document?
  {
    let (states, facets) = try await metadata()
    let bytes: [UInt8]
    let contentType: String
    switch route {
    case .opml:
      bytes = OPMLRenderer.render(options: options, sources: states)
      contentType = ContentTypes.opml
    case .timeline(let scope, let format):
      guard var query = Self.scopeQuery(scope, states: states, facets: facets, options: options)
      else { return nil }
      var archive: ArchiveLinks?
      if let pageQuery {
        let cursor = TimelineCursor(token: pageQuery.token)
        if pageQuery.name == "before" { query.before = cursor } else { query.after = cursor }
      } else if format == .atom {
        // The current document of an RFC 5005 archived feed: every row after the last
        // sealed archive page.
        let layout = try await store.archives(query, pageSize: options.entriesPerPage)
        query = layout.currentQuery(query, pageSize: options.entriesPerPage)
        archive = ArchiveLinks(
          isArchive: false, selfURL: options.base + route.path.dropFirst(),
          current: options.base + route.path.dropFirst(),
          prevArchive: layout.pages.last.map {
            options.base + DocumentRoute.archivePath(scope, $0.number).dropFirst()
          }, nextArchive: nil)
      }
      let page = try await store.timeline(query)
      var ctx = TimelineContext(
        options: options, scope: scope, page: page,
        sources: Dictionary(states.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
        sortedSources: states, facets: facets, pageQuery: pageQuery)
      ctx.archive = archive
      switch format {
      case .atom:
        bytes = AtomRenderer.render(ctx)
        contentType = ContentTypes.atom
      case .rss:
        bytes = RSSRenderer.render(ctx)
        contentType = ContentTypes.rss
      case .json:
        bytes = JSONRenderer.render(ctx)
        contentType = ContentTypes.json
      case .html:
        bytes = HTMLRenderer.render(ctx)
        contentType = ContentTypes.html
      }
    case .archive(let scope, let number):
      guard
        let scopeQuery = Self.scopeQuery(scope, states: states, facets: facets, options: options)
      else { return nil }
      let layout = try await store.archives(scopeQuery, pageSize: options.entriesPerPage)
      guard number >= 1, number <= layout.pages.count else { return nil }
      let page = try await store.timeline(layout.pages[number - 1].query(scopeQuery))
      func url(_ n: Int) -> String {
        options.base + DocumentRoute.archivePath(scope, n).dropFirst()
      }
      var ctx = TimelineContext(
        options: options, scope: scope,
        page: TimelinePage(items: page.items),
        sources: Dictionary(states.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
        sortedSources: states, facets: facets, pageQuery: nil)
      ctx.archive = ArchiveLinks(
        isArchive: true, selfURL: url(number),
        current: options.base + DocumentRoute.path(scope, .atom).dropFirst(),
        prevArchive: number > 1 ? url(number - 1) : nil,
        nextArchive: number < layout.pages.count ? url(number + 1) : nil)
      bytes = AtomRenderer.render(ctx)
      contentType = ContentTypes.atom
    }
    let etag = Hashing.etag(bytes)
    let lastModified: Date
    if let known = validators[key], known.etag == etag {
      lastModified = known.lastModified
    } else {
      // Whole seconds: HTTP dates carry no fraction, and If-Modified-Since compares them.
      lastModified = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
      validators[key] = (etag, lastModified)
    }
    return Document(
      path: route.path, contentType: contentType, body: bytes, etag: etag,
      lastModified: lastModified)
  }
}

/// A lock-protected copy of the rendered documents that request threads read without a hop
/// onto the actor. Valid only until the next change-token check is due; cleared with the cache.
final class FastCache: @unchecked Sendable {
  private let lock = NSLock()
  private var docs: [String: Document] = [:]
  private var validUntil: ContinuousClock.Instant?

  func get(_ key: String) -> Document? {
    lock.withLock {
      guard let until = validUntil, ContinuousClock.now < until else { return nil }
      return docs[key]
    }
  }

  func put(_ key: String, _ doc: Document) {
    lock.withLock {
      if docs.count >= Publisher.maxCachedDocuments { docs.removeAll(keepingCapacity: true) }
      docs[key] = doc
    }
  }

  func clear() {
    lock.withLock {
      docs.removeAll()
      validUntil = nil
    }
  }

  func expire() { lock.withLock { validUntil = nil } }

  func validate(until: ContinuousClock.Instant) { lock.withLock { validUntil = until } }
}
