import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Publisher
import WebSub

/// Where the HTTP server listens (`[server]` in the config) and the limits that make it fit for
/// the public internet: slow or idle clients are cut off, request heads are bounded, and the
/// number of connections is capped so that file descriptors and memory cannot run out.
public struct ServerOptions: Sendable, Hashable {
  public var host: String
  public var port: Int
  /// A connection with no request in progress for this long is closed (keep-alive idle), and so
  /// is one whose client stops reading a response for this long. Default 30 s.
  public var idleTimeout: Duration
  /// A request head must be complete this long after its first byte (or after the connection
  /// opened, for the first request): a slowloris client that sends a few bytes and then trickles
  /// the rest, or nothing, is closed then. Default 10 s.
  public var requestHeadTimeout: Duration
  /// Request line plus header fields, in bytes; a larger head is answered 400 and the connection
  /// closed. Default 16 KiB (NIO's own default, 80 KiB, is more than a feed reader needs).
  public var maxRequestHeadBytes: Int
  /// Header fields per request. Default 100.
  public var maxHeaderFields: Int
  /// Open connections at once; over it, a new connection is closed as soon as it is accepted.
  /// Default 10 000. Also bounded by the file-descriptor limit, which `makeServer` raises to the
  /// hard limit (see `FileDescriptors`).
  public var maxConnections: Int
  /// Budget for the wire forms of served documents (identity and gzip bytes plus an estimate of
  /// the headers built once per version). Default 32 MiB.
  public var bodyCacheBytes: Int
  /// The part of `bodyCacheBytes` that pages (`?before=`/`?after=`) may use; evicted first.
  /// Default 4 MiB.
  public var pagedBodyCacheBytes: Int

  public init(
    host: String = "127.0.0.1", port: Int = 8080, idleTimeout: Duration = .seconds(30),
    requestHeadTimeout: Duration = .seconds(10), maxRequestHeadBytes: Int = 16 * 1024,
    maxHeaderFields: Int = 100, maxConnections: Int = 10_000, bodyCacheBytes: Int = 32 << 20,
    pagedBodyCacheBytes: Int = 4 << 20
  ) {
    self.host = host
    self.port = port
    self.idleTimeout = idleTimeout
    self.requestHeadTimeout = requestHeadTimeout
    self.maxRequestHeadBytes = maxRequestHeadBytes
    self.maxHeaderFields = maxHeaderFields
    self.maxConnections = maxConnections
    self.bodyCacheBytes = bodyCacheBytes
    self.pagedBodyCacheBytes = pagedBodyCacheBytes
  }
}

/// The HTTP side of clusterwire as a swift-service-lifecycle `Service`: the publisher's cached
/// documents (ETag, Last-Modified, 304, gzip, HEAD), `/healthz`, `/readyz` and `/metrics`.
///
/// - Parameters:
///   - readiness: asked on every `/readyz`; not ready answers 503 with the reason.
///   - metrics: the Prometheus text exposition for `/metrics`.
///   - onRunning: called once with the bound port (useful with port 0).
///   - metricsFactory: where request counters go; nil uses the global `MetricsSystem` (tests
///     pass their own, since the global one can be bootstrapped only once per process).
public func makeServer(
  publisher: Publisher, options: ServerOptions, logger: Logger,
  readiness: @escaping @Sendable () async -> (ready: Bool, reason: String),
  metrics: @escaping @Sendable () async -> String,
  onRunning: (@Sendable (Int) async -> Void)? = nil,
  metricsFactory: (any MetricsFactory)? = nil,
  hub: (@Sendable (String) async -> (status: Int, body: String))? = nil,
  callback: (@Sendable (CallbackRequest) async -> CallbackAnswer)? = nil,
  callbackMaxBody: Int = 10 << 20
) -> some ApplicationProtocol {
  let counters = RequestCounters(factory: metricsFactory)
  let bodies = BodyCache(
    maxBytes: options.bodyCacheBytes, pagedBytes: options.pagedBodyCacheBytes, counters: counters)
  let responder = FeedResponder(
    publisher: publisher, logger: logger, readiness: readiness, metrics: metrics, hub: hub,
    callback: callback, callbackMaxBody: callbackMaxBody, counters: counters, bodies: bodies)
  return Application(
    responder: responder,
    server: guardedHTTP1(
      options, logger: logger, fastPath: CachedDocuments(publisher: publisher, bodies: bodies)),
    // A deeper accept queue than Hummingbird's 256: a burst of connections (or a slowloris
    // flood) must not make the kernel drop the SYNs of ordinary clients.
    configuration: ApplicationConfiguration(
      address: .hostname(options.host, port: options.port), serverName: nil, backlog: 1024),
    onServerRunning: { channel in
      await onRunning?(channel.localAddress?.port ?? options.port)
    },
    logger: logger)
}

/// Routes requests by hand: a handful of fixed paths and three sub-feed directories do not need a
/// trie, and owning the dispatch keeps HEAD, 404 and the metrics route label in one place.
struct FeedResponder: HTTPResponder {
  typealias Context = BasicRequestContext

  let publisher: Publisher
  let logger: Logger
  let readiness: @Sendable () async -> (ready: Bool, reason: String)
  let metrics: @Sendable () async -> String
  /// The WebSub hub's `POST /websub` (form body in, status and reason out); nil: no hub.
  var hub: (@Sendable (String) async -> (status: Int, body: String))?
  /// The WebSub subscriber's `/websub/callback/{source}/{token}`; nil: no subscriber.
  var callback: (@Sendable (CallbackRequest) async -> CallbackAnswer)?
  /// A pushed body is bounded like a fetched one (`[crawl] max_body`).
  var callbackMaxBody: Int = 10 << 20
  let counters: RequestCounters
  let bodies: BodyCache

  static let cacheControl = "public, max-age=300"
  /// A hub request is a handful of short form fields.
  static let maxHubRequestBytes = 64 * 1024

  func respond(to request: Request, context: Context) async throws -> Response {
    let path = request.uri.path
    if path == "/websub", let hub {
      let response = await hubRequest(request, hub: hub)
      counters.increment(route: path, status: Int(response.status.code))
      return Self.bodiless(response, for: request)
    }
    if path.hasPrefix(Self.callbackPrefix), let callback {
      let response = await callbackRequest(request, callback: callback)
      counters.increment(route: Self.callbackPrefix + "*", status: Int(response.status.code))
      return Self.bodiless(response, for: request)
    }
    let route: String
    var response: Response
    switch path {
    case "/healthz":
      route = path
      response = Self.text(.ok, "ok\n")
    case "/readyz":
      route = path
      let state = await readiness()
      response = Self.text(state.ready ? .ok : .serviceUnavailable, state.reason + "\n")
    case "/metrics":
      route = path
      response = Self.text(
        .ok, await metrics(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    default:
      route = Publisher.routePattern(for: path) ?? "unmatched"
      response = await document(request, path: path)
    }
    if request.method != .get && request.method != .head {
      response = Self.text(.methodNotAllowed, "method not allowed\n")
      response.headers[.allow] = "GET, HEAD"
    }
    counters.increment(route: route, status: Int(response.status.code))
    return Self.bodiless(response, for: request)
  }

  /// A response to HEAD keeps its headers (Content-Length of the representation) and loses its
  /// body — done here for every route, because the HTTP/1 encoder is not paired with the decoder
  /// (see `GuardedHTTP1Channel`) and so does not know which request a response answers. A new
  /// Response, because assigning `body` would reset Content-Length to 0.
  static func bodiless(_ response: Response, for request: Request) -> Response {
    guard request.method == .head else { return response }
    return Response(status: response.status, headers: response.headers, body: ResponseBody())
  }

  static let callbackPrefix = "/websub/callback/"

  /// The subscriber's callback: verification GETs and content POSTs (body ≤ `callbackMaxBody`,
  /// else 413 before anything is parsed).
  func callbackRequest(
    _ request: Request, callback: @Sendable (CallbackRequest) async -> CallbackAnswer
  ) async -> Response {
    let method: CallbackRequest.Method
    switch request.method {
    case .get: method = .get
    case .post: method = .post
    default: method = .other
    }
    var query: [String: String] = [:]
    if request.uri.query != nil {
      for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
    }
    var body = Data()
    if method == .post {
      var request = request
      do {
        let buffer = try await request.collectBody(upTo: callbackMaxBody)
        body = Data(buffer.readableBytesView)
      } catch {
        return Self.text(.contentTooLarge, "body over max_body (\(callbackMaxBody) bytes)\n")
      }
    }
    let signature = HTTPField.Name("X-Hub-Signature").flatMap { request.headers[$0] }
    let answer = await callback(
      CallbackRequest(
        method: method, rest: String(request.uri.path.dropFirst(Self.callbackPrefix.count)),
        query: query, signature: signature, contentType: request.headers[.contentType],
        body: body))
    var response = Self.text(HTTPResponse.Status(code: answer.status), answer.body)
    if let seconds = answer.retryAfter { response.headers[.retryAfter] = String(seconds) }
    if answer.status == 405 { response.headers[.allow] = "GET, POST" }
    return response
  }

  /// WebSub §5.1: a form-encoded POST; anything else is answered here, not by the hub.
  func hubRequest(
    _ request: Request, hub: @Sendable (String) async -> (status: Int, body: String)
  ) async -> Response {
    guard request.method == .post else {
      var response = Self.text(.methodNotAllowed, "POST a WebSub subscription request here\n")
      response.headers[.allow] = "POST"
      return response
    }
    let type = request.headers[.contentType]?.lowercased() ?? ""
    guard type.hasPrefix("application/x-www-form-urlencoded") else {
      return Self.text(
        .unsupportedMediaType, "send the request as application/x-www-form-urlencoded\n")
    }
    var request = request
    let body: ByteBuffer
    do {
      body = try await request.collectBody(upTo: Self.maxHubRequestBytes)
    } catch {
      return Self.text(.contentTooLarge, "request body over \(Self.maxHubRequestBytes) bytes\n")
    }
    let answer = await hub(String(buffer: body))
    return Self.text(HTTPResponse.Status(code: answer.status), answer.body + "\n")
  }

  static func text(
    _ status: HTTPResponse.Status, _ body: String, contentType: String = "text/plain; charset=utf-8"
  )
    -> Response
  {
    let buffer = ByteBuffer(string: body)
    return Response(
      status: status,
      headers: [
        .contentType: contentType, .contentLength: String(buffer.readableBytes),
        .cacheControl: "no-store",
      ],
      body: ResponseBody(byteBuffer: buffer))
  }

  func document(_ request: Request, path: String) async -> Response {
    var query: [String: String] = [:]
    if request.uri.query != nil {
      for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
    }
    // Unknown paths end here: nothing is cached for them, whatever a client invents.
    guard let key = Publisher.cacheKey(path: path, query: query) else {
      return Self.text(.notFound, "not found\n")
    }
    let doc: Document?
    do {
      // Usually served straight from the publisher's lock-protected copy, no actor hop.
      if let fresh = publisher.cachedDocument(path: path, query: query) {
        doc = fresh
      } else {
        doc = try await publisher.document(path: path, query: query)
      }
    } catch {
      logger.error("rendering \(path) failed: \(error)")
      return Self.text(.serviceUnavailable, "temporarily unavailable\n")
    }
    guard let doc else { return Self.text(.notFound, "not found\n") }

    let gzipOK = Conditional.acceptsGzip(request.headers)
    let bodies = self.bodies.get(doc, key: key)
    let useGzip = gzipOK && bodies.gzip != nil
    if Conditional.notModified(
      request.headers, etag: bodies.etagUTF8, gzipETag: bodies.gzipETagUTF8,
      lastModified: doc.lastModified)
    {
      return Response(
        status: .notModified,
        headers: useGzip ? bodies.notModifiedGzipHeaders : bodies.notModifiedHeaders,
        body: ResponseBody())
    }
    if useGzip, let gzip = bodies.gzip {
      return Response(
        status: .ok, headers: bodies.gzipHeaders, body: ResponseBody(byteBuffer: gzip))
    }
    return Response(
      status: .ok, headers: bodies.identityHeaders, body: ResponseBody(byteBuffer: bodies.identity))
  }
}

/// The wire forms of each rendered document — the identity bytes as a `ByteBuffer` and the gzip
/// bytes compressed once per version (not per request) — shared by every response of that
/// version, with its response heads serialised once too (the channel's fast path writes them as
/// they are). Keyed by the publisher's cache key (path plus page query), so a new version of a
/// document replaces its old one, and both sets of bytes are freed; bounded in bytes by a
/// `ByteLRU` whose expendable lane holds the pages.
final class BodyCache: @unchecked Sendable {
  /// Immutable once made, and a class: a look-up hands out one reference, not a copy of a dozen
  /// buffers and strings (each a retain and a release per request).
  final class Bodies: Sendable {
    let etag: String
    let contentType: String
    let identity: ByteBuffer
    let gzip: ByteBuffer?
    let gzipETag: String
    let lastModified: Date
    /// The two validators as bytes, for `If-None-Match` compared without building strings.
    let etagUTF8: [UInt8]
    let gzipETagUTF8: [UInt8]
    // Response headers built once per document version, not per request.
    let identityHeaders: HTTPFields
    let gzipHeaders: HTTPFields
    let notModifiedHeaders: HTTPFields
    let notModifiedGzipHeaders: HTTPFields
    /// The same four heads on the wire: status line and fields, without `Date` and the blank
    /// line that ends a head (both written per request by `CachedDocumentHandler`).
    let identityHead: ByteBuffer
    let gzipHead: ByteBuffer
    let notModifiedHead: ByteBuffer
    let notModifiedGzipHead: ByteBuffer
    /// `clusterwire_http_requests_total` of this document's route for 200 and 304, looked up
    /// once per version instead of per request (nil: no counters, as in unit tests).
    let okCounter: Counter?
    let notModifiedCounter: Counter?

    init(
      doc: Document, identity: ByteBuffer, gzip: ByteBuffer?, gzipETag: String,
      headers: (
        identity: HTTPFields, gzip: HTTPFields, notModified: HTTPFields, notModifiedGzip: HTTPFields
      ),
      counters: RequestCounters?
    ) {
      etag = doc.etag
      contentType = doc.contentType
      lastModified = doc.lastModified
      self.identity = identity
      self.gzip = gzip
      self.gzipETag = gzipETag
      etagUTF8 = Array(doc.etag.utf8)
      gzipETagUTF8 = Array(gzipETag.utf8)
      identityHeaders = headers.identity
      gzipHeaders = headers.gzip
      notModifiedHeaders = headers.notModified
      notModifiedGzipHeaders = headers.notModifiedGzip
      identityHead = Self.wire(.ok, headers.identity)
      gzipHead = Self.wire(.ok, headers.gzip)
      notModifiedHead = Self.wire(.notModified, headers.notModified)
      notModifiedGzipHead = Self.wire(.notModified, headers.notModifiedGzip)
      let route = Publisher.routePattern(for: doc.path) ?? "unmatched"
      okCounter = counters?.counter(route: route, status: 200)
      notModifiedCounter = counters?.counter(route: route, status: 304)
    }

    /// A head as NIO's HTTP/1 encoder writes it (always `HTTP/1.1`, fields in order, names as
    /// spelled), minus the `Date` field and the final CRLF.
    static func wire(_ status: HTTPResponse.Status, _ fields: HTTPFields) -> ByteBuffer {
      var out = ByteBuffer()
      out.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
      for field in fields {
        out.writeString(field.name.rawName)
        out.writeString(": ")
        out.writeString(field.value)
        out.writeString("\r\n")
      }
      return ByteBuffer(bytes: out.readableBytesView)
    }
  }
  private let lock = NSLock()
  private var lru: ByteLRU<String, Bodies>
  private let counters: RequestCounters?
  /// Estimated bytes of one entry besides its bodies: four header sets, their four wire forms,
  /// strings, the LRU node.
  static let overhead = 2048

  init(maxBytes: Int, pagedBytes: Int, counters: RequestCounters? = nil) {
    lru = ByteLRU(maxBytes: maxBytes, expendableBytes: pagedBytes)
    self.counters = counters
  }

  /// Bytes and entries held now (tests).
  var usage: (bytes: Int, entries: Int) { lock.withLock { (lru.totalBytes, lru.count) } }

  func get(_ doc: Document, key: String) -> Bodies {
    if let hit = lock.withLock({ lru.get(key) }), hit.etag == doc.etag,
      hit.contentType == doc.contentType
    {
      return hit
    }
    // Compressed outside the lock; two racing requests may both compress, one result is kept.
    let made = Self.make(doc, counters: counters)
    // Capacity, not readable bytes: what the buffers really hold on to.
    let cost =
      made.identity.capacity + (made.gzip?.capacity ?? 0) + key.utf8.count + Self.overhead
    lock.withLock {
      _ = lru.set(key, made, cost: cost, lane: key.contains("?") ? .expendable : .primary)
    }
    return made
  }

  /// The wire forms held for `key`, whatever version they are of (the caller compares the
  /// ETag with the publisher's current document).
  func peek(_ key: String) -> Bodies? { lock.withLock { lru.get(key) } }

  static func make(_ doc: Document, counters: RequestCounters? = nil) -> Bodies {
    let identity = ByteBuffer(bytes: doc.body)
    var gzip: ByteBuffer?
    if let pre = doc.gzipped {
      gzip = ByteBuffer(bytes: pre)
    } else if doc.body.count >= 256 {
      var input = identity
      if let out = try? input.compress(with: .gzip()), out.readableBytes < doc.body.count {
        // The compressor's buffer is sized for the worst case; keep only the bytes.
        gzip = ByteBuffer(bytes: out.readableBytesView)
      }
    }
    // A different representation needs a different strong validator (RFC 9110 8.8.3).
    let gzipETag = String(doc.etag.dropLast()) + "-gz\""
    let lastModified = HTTPDate.format(doc.lastModified)
    func validators(_ etag: String) -> HTTPFields {
      var fields: HTTPFields = [
        .eTag: etag, .lastModified: lastModified, .cacheControl: FeedResponder.cacheControl,
        .vary: "Accept-Encoding",
      ]
      // WebSub discovery (§4): hubs and self, on the 304 too.
      if let link = doc.linkHeader { fields[linkField] = link }
      return fields
    }
    var identityHeaders = validators(doc.etag)
    identityHeaders[.contentType] = doc.contentType
    identityHeaders[.contentLength] = String(identity.readableBytes)
    var gzipHeaders = validators(gzipETag)
    gzipHeaders[.contentType] = doc.contentType
    gzipHeaders[.contentEncoding] = "gzip"
    gzipHeaders[.contentLength] = String(gzip?.readableBytes ?? 0)
    return Bodies(
      doc: doc, identity: identity, gzip: gzip, gzipETag: gzipETag,
      headers: (identityHeaders, gzipHeaders, validators(doc.etag), validators(gzipETag)),
      counters: counters)
  }
}

let linkField = HTTPField.Name("Link")!

/// `clusterwire_http_requests_total{route,status}`, one counter per label pair, created once.
final class RequestCounters: @unchecked Sendable {
  private let lock = NSLock()
  private var counters: [String: Counter] = [:]
  private let factory: (any MetricsFactory)?

  init(factory: (any MetricsFactory)?) { self.factory = factory }

  func increment(route: String, status: Int) {
    counter(route: route, status: status).increment()
  }

  /// The counter of one label pair, made on first use.
  func counter(route: String, status: Int) -> Counter {
    let key = "\(route) \(status)"
    return lock.withLock {
      if let c = counters[key] { return c }
      let label = "clusterwire_http_requests_total"
      let dimensions = [("route", route), ("status", String(status))]
      let counter: Counter
      if let factory {
        counter = Counter(label: label, dimensions: dimensions, factory: factory)
      } else {
        counter = Counter(label: label, dimensions: dimensions)
      }
      counters[key] = counter
      return counter
    }
  }
}
