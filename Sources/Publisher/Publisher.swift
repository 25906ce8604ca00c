import FeedModel
import FeedStore
import Foundation
import Metrics

#if canImport(Glibc)
  import Glibc
#endif

/// Renders the store into the published documents and caches their bytes. A feed document
/// (Atom, RSS, JSON Feed, OPML) is rendered at most once per store change
/// (`FeedStore.changeToken()`), never per request: the token is looked at no more than every
/// `checkInterval`, or at once after `invalidate()`. HTML pages carry the sources' health, which
/// changes without the token moving (a 304, a failure), so they are also re-rendered on the first
/// request after `healthRefresh`.
///
/// Memory does not depend on what clients ask for: documents and validators live in byte-bounded
/// LRU caches (`PublisherCacheLimits`), where pages (`?before=`/`?after=`) and known 404s are
/// evicted before the unpaged documents.
public actor Publisher {
  /// How stale a cached document may be when nobody called `invalidate()`.
  public static let checkInterval: Duration = .milliseconds(250)

  private let store: any FeedStore
  private var options: PublisherOptions
  private let healthRefresh: Duration
  private var inflight: [String: Task<Document?, any Error>] = [:]
  /// ETag and first-seen time of each key's bytes, kept across re-renders so an unchanged
  /// document keeps its Last-Modified.
  private var validators: ByteLRU<String, Validator>
  private var token: Int64?
  /// Bumped whenever cached output becomes invalid; renders started earlier are not cached.
  private var generation = 0
  private var lastCheck: ContinuousClock.Instant?
  private var mustCheck = true
  private var meta:
    (
      generation: Int, fetched: ContinuousClock.Instant, states: [SourceState],
      facets: StoreFacets
    )?
  /// Rendered documents (nil = a known 404) by canonical path + page query; request threads read
  /// it without a hop onto the actor.
  private nonisolated let cache: DocumentCache
  private nonisolated let renders: RenderCounter

  /// - Parameters:
  ///   - limits: the cache budgets (defaults: 32 MiB of documents, 4 MiB of it for pages and 404s).
  ///   - healthRefresh: how old an HTML page (whose health section changes without the store's
  ///     change token moving) may get before the next request re-renders it.
  ///   - metricsFactory: where `clusterwire_feed_renders_total` goes; nil uses the global
  ///     `MetricsSystem` (tests pass their own or read `feedRenders`).
  public init(
    store: any FeedStore, options: PublisherOptions, limits: PublisherCacheLimits = .init(),
    healthRefresh: Duration = .seconds(15), metricsFactory: (any MetricsFactory)? = nil
  ) {
    self.store = store
    self.options = options
    self.healthRefresh = healthRefresh
    self.cache = DocumentCache(limits: limits)
    self.validators = ByteLRU(
      maxBytes: limits.validatorBytes, expendableBytes: limits.validatorBytes / 2,
      maxCount: limits.maxValidators)
    self.renders = RenderCounter(factory: metricsFactory)
  }

  /// How many feed documents (Atom, RSS, JSON Feed, OPML; not HTML pages) were rendered since
  /// start: the number `clusterwire_feed_renders_total` counts. Stays put while the store's
  /// change token does not move, however often `invalidate()` is called.
  public nonisolated var feedRenders: Int { renders.value }

  /// Bytes and entries held by the document cache now (for tests and benchmarks).
  public nonisolated var cacheUsage: (bytes: Int, documents: Int) { cache.usage }

  /// The document for a request path and query (`before`/`after` select a page), or nil when
  /// no such document exists (unknown path, category, source, language or a malformed cursor).
  public func document(path: String, query: [String: String]) async throws -> Document? {
    guard let (route, pageQuery, key) = Self.resolve(path: path, query: query) else { return nil }
    try await refreshIfChanged()
    if let hit = cache.lookup(key) { return hit }
    if let running = inflight[key] { return try await running.value }
    let gen = generation
    let task = Task { try await self.render(route, pageQuery: pageQuery, key: key) }
    inflight[key] = task
    do {
      let doc = try await task.value
      if gen == generation {
        inflight[key] = nil
        // HTML pages show the sources' health, which moves without the change token.
        let expires = route.isHTML ? ContinuousClock.now + healthRefresh : nil
        cache.put(key, doc, expires: expires, expendable: pageQuery != nil || doc == nil)
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
    cache.expire()
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
    cache.clear()
    generation += 1
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
    if !mustCheck { cache.validate(until: now + Self.checkInterval) }
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
    return cache.fresh(key)
  }

  /// The ETag of the document cached under `key` (a canonical path, no query) when it is known
  /// to be current, as `cachedDocument(path:query:)` decides; nil means "ask
  /// `document(path:query:)`" (stale, not cached, or a known 404). The server's channel-level
  /// fast path calls it per request: one lock and one dictionary look-up, no path parsing, no
  /// copy of the document.
  public nonisolated func currentETag(forKey key: String) -> String? {
    cache.freshETag(key)
  }

  /// The key a request's document is cached under (canonical path plus page query), or nil when
  /// no document can exist there. The server keys its wire forms by it, so a re-rendered
  /// document replaces (and frees) its previous version there too.
  public nonisolated static func cacheKey(path: String, query: [String: String]) -> String? {
    resolve(path: path, query: query)?.2
  }

  /// Source states and facets of the current generation; `maxAge` (the HTML pages' health)
  /// fetches them again when older, since health changes without the change token moving.
  private func metadata(maxAge: Duration? = nil) async throws -> ([SourceState], StoreFacets) {
    if let meta, meta.generation == generation,
      maxAge.map({ ContinuousClock.now - meta.fetched < $0 }) ?? true
    {
      return (meta.states, meta.facets)
    }
    let gen = generation
    let fetched = ContinuousClock.now
    let states = try await store.sourceStates().filter(\.active)
    let facets = try await store.facets()
    if gen == generation { meta = (gen, fetched, states, facets) }
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
    let (states, facets) = try await metadata(maxAge: route.isHTML ? healthRefresh : nil)
    let sourcesByID = Dictionary(states.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    let bytes: [UInt8]
    let contentType: String
    // The URL the document names as its own (rel=self), repeated in its `Link` header.
    var selfURL = options.base + route.path.dropFirst()
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
        sources: sourcesByID,
        sortedSources: states, facets: facets, pageQuery: pageQuery)
      ctx.archive = archive
      selfURL = ctx.selfURL(format)
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
        sources: sourcesByID,
        sortedSources: states, facets: facets, pageQuery: nil)
      ctx.archive = ArchiveLinks(
        isArchive: true, selfURL: url(number),
        current: options.base + DocumentRoute.path(scope, .atom).dropFirst(),
        prevArchive: number > 1 ? url(number - 1) : nil,
        nextArchive: number < layout.pages.count ? url(number + 1) : nil)
      selfURL = ctx.selfURL(.atom)
      bytes = AtomRenderer.render(ctx)
      contentType = ContentTypes.atom
    }
    if !route.isHTML { renders.increment() }
    // The renderers reserve 64 KiB up front; a cached 3 KB page must not pin that much.
    let body = Self.compact(bytes)
    let etag = Hashing.etag(body)
    let lastModified: Date
    if let known = validators.get(key), known.etag == etag {
      lastModified = known.lastModified
    } else {
      // Whole seconds: HTTP dates carry no fraction, and If-Modified-Since compares them.
      lastModified = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
      validators.set(
        key, Validator(etag: etag, lastModified: lastModified),
        cost: key.utf8.count + etag.utf8.count + Validator.overhead,
        lane: pageQuery == nil ? .primary : .expendable)
    }
    return Document(
      path: route.path, contentType: contentType, body: body, etag: etag,
      lastModified: lastModified, linkHeader: options.linkHeader(selfURL: selfURL))
  }
}

extension Publisher {
  /// A copy of `bytes` with no spare capacity (a plain `Array(bytes)` would share the buffer).
  static func compact(_ bytes: [UInt8]) -> [UInt8] {
    guard bytes.capacity > bytes.count + bytes.count / 8 + 64 else { return bytes }
    return [UInt8](unsafeUninitializedCapacity: bytes.count) { out, n in
      _ = out.initialize(from: bytes)
      n = bytes.count
    }
  }
}

extension DocumentRoute {
  /// HTML pages carry the health section; every other document is a feed.
  fileprivate var isHTML: Bool {
    if case .timeline(_, .html) = self { return true }
    return false
  }
}

/// The budgets of the publisher's caches. Every cost counts the bytes held plus an estimate of
/// the per-entry overhead (key, path, content type, ETag, bookkeeping), so a flood of tiny entries
/// (404s for invented paths) is bounded too.
public struct PublisherCacheLimits: Sendable, Hashable {
  /// Rendered documents together (identity plus any pre-compressed bytes).
  public var documentBytes: Int
  /// The part of `documentBytes` that pages (`?before=`/`?after=`) and known 404s may use; they
  /// are evicted before any unpaged document.
  public var pagedDocumentBytes: Int
  /// Documents held, whatever their size.
  public var maxDocuments: Int
  /// Validators (ETag and first-seen time per key, kept across store changes).
  public var validatorBytes: Int
  public var maxValidators: Int

  public init(
    documentBytes: Int = 32 << 20, pagedDocumentBytes: Int = 4 << 20, maxDocuments: Int = 16_384,
    validatorBytes: Int = 2 << 20, maxValidators: Int = 16_384
  ) {
    self.documentBytes = documentBytes
    self.pagedDocumentBytes = pagedDocumentBytes
    self.maxDocuments = maxDocuments
    self.validatorBytes = validatorBytes
    self.maxValidators = maxValidators
  }

  /// Estimated bytes of one cached document besides its body: the `Document` struct and its
  /// strings, the key, the LRU node.
  static let documentOverhead = 512
}

/// ETag and first-seen time of one key's bytes.
struct Validator: Sendable {
  var etag: String
  var lastModified: Date
  /// Estimated bytes of one entry besides its key and ETag text.
  static let overhead = 96
}

/// The rendered documents, lock-protected so request threads read them without a hop onto the
/// actor, in a byte-bounded LRU. A whole-cache validity window (`validate(until:)`) says the
/// change token was checked recently; each entry may also expire on its own (HTML pages, for
/// their health section). Cleared when the store changes, which frees every old version.
final class DocumentCache: @unchecked Sendable {
  struct Entry {
    var doc: Document?
    var expires: ContinuousClock.Instant?
  }
  private let lock = NSLock()
  private var lru: ByteLRU<String, Entry>
  private var validUntil: ContinuousClock.Instant?

  init(limits: PublisherCacheLimits) {
    lru = ByteLRU(
      maxBytes: limits.documentBytes, expendableBytes: limits.pagedDocumentBytes,
      maxCount: limits.maxDocuments)
  }

  /// The fast path: a document known to be current (the change token was checked less than
  /// `checkInterval` ago and the entry has not expired); nil means "ask the actor", not 404.
  func fresh(_ key: String) -> Document? {
    lock.withLock {
      let now = ContinuousClock.now
      guard let until = validUntil, now < until, let entry = lru.get(key) else { return nil }
      if let expires = entry.expires, now >= expires { return nil }
      return entry.doc
    }
  }

  /// `fresh(key)?.etag` without copying the document out.
  func freshETag(_ key: String) -> String? {
    lock.withLock {
      let now = ContinuousClock.now
      guard let until = validUntil, now < until, let entry = lru.get(key) else { return nil }
      if let expires = entry.expires, now >= expires { return nil }
      return entry.doc?.etag
    }
  }

  /// The actor's look-up: `.some(nil)` is a cached 404; nil is a miss or an expired entry.
  func lookup(_ key: String) -> Document?? {
    lock.withLock {
      guard let entry = lru.get(key) else { return nil }
      if let expires = entry.expires, ContinuousClock.now >= expires { return nil }
      return .some(entry.doc)
    }
  }

  /// Stores (or replaces, releasing the old version) the document for `key`.
  func put(_ key: String, _ doc: Document?, expires: ContinuousClock.Instant?, expendable: Bool) {
    let cost =
      (doc?.body.capacity ?? 0) + (doc?.gzipped?.capacity ?? 0) + key.utf8.count
      + PublisherCacheLimits.documentOverhead
    lock.withLock {
      _ = lru.set(
        key, Entry(doc: doc, expires: expires), cost: cost,
        lane: expendable ? .expendable : .primary)
    }
  }

  var usage: (bytes: Int, documents: Int) { lock.withLock { (lru.totalBytes, lru.count) } }

  func clear() {
    lock.withLock {
      lru.removeAll()
      validUntil = nil
    }
  }

  func expire() { lock.withLock { validUntil = nil } }

  func validate(until: ContinuousClock.Instant) { lock.withLock { validUntil = until } }
}

/// Counts feed renders for `Publisher.feedRenders` and `clusterwire_feed_renders_total`.
final class RenderCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  private let counter: Counter

  init(factory: (any MetricsFactory)?) {
    let label = "clusterwire_feed_renders_total"
    if let factory {
      counter = Counter(label: label, dimensions: [], factory: factory)
    } else {
      counter = Counter(label: label)
    }
  }

  var value: Int { lock.withLock { count } }

  func increment() {
    lock.withLock { count += 1 }
    counter.increment()
  }
}
