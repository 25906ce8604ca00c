import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Publisher

#if canImport(Glibc)
  import Glibc
#endif

/// What the channel's fast path needs: the publisher (is a cached document still current?) and
/// the server's wire forms of its documents.
struct CachedDocuments: Sendable {
  let publisher: Publisher
  let bodies: BodyCache

  /// The wire forms of the current version of the document at `path` (a cache key: canonical,
  /// no query), or nil when the publisher's copy is stale or missing or the server has not made
  /// its wire forms yet (then Hummingbird's path answers, and makes them).
  func current(_ path: String) -> BodyCache.Bodies? {
    guard let bodies = bodies.peek(path),
      let etag = publisher.currentETag(forKey: path), etag == bodies.etag
    else { return nil }
    return bodies
  }
}

/// `Date: …\r\n\r\n` of the current second (the field Hummingbird adds to every response, and
/// the blank line ending the head), made once a second per connection.
struct DateLine {
  private var second = -1
  private var line = ByteBuffer()

  mutating func current() -> ByteBuffer {
    let now = time(nil)
    if now != second {
      second = now
      var made = ByteBuffer()
      made.writeString(
        "Date: \(HTTPDate.format(Date(timeIntervalSince1970: TimeInterval(now))))\r\n\r\n")
      line = made
    }
    return line
  }
}

/// Answers `GET`/`HEAD` of a published document on the event loop, before the request reaches
/// Hummingbird, when everything needed is already cached: the publisher's document is current
/// (`Publisher.currentETag(forKey:)`) and the server holds its wire forms (`BodyCache`) under the
/// request path. The response is the pre-serialised head of that version, a `Date` field and the
/// shared body buffer, written straight to the socket end of the pipeline; so a request costs
/// no task, no `Request`/`Response`, no header conversion and no encoding.
///
/// Everything else goes on to Hummingbird untouched: other methods, a query (pages), any
/// `Connection` field, a path that is not a cache key (`/index.html`), a document not cached or
/// stale, a channel that is not writable (the slow path waits for the client), and every request
/// that arrives while a request given to Hummingbird has not been answered (responses stay in
/// request order when a client pipelines). Both paths share the rules: `Conditional` decides 304
/// and gzip, the heads are the ones `FeedResponder` sends, the metrics are the same counters.
///
/// Sits behind `RequestProgressHandler` (the connection guard still sees every head and every
/// response end) and before Hummingbird's connection-state handler.
final class CachedDocumentHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPRequestPart
  typealias InboundOut = HTTPRequestPart
  typealias OutboundIn = HTTPResponsePart
  typealias OutboundOut = HTTPResponsePart

  private let documents: CachedDocuments
  /// The connection guard's context: writes made on it go to the socket, past the HTTP encoder
  /// (which would otherwise re-encode a head per request).
  private var wire: ChannelHandlerContext?
  /// Heads passed to Hummingbird whose response has not ended yet.
  private var slowInFlight = 0
  /// The rest of a request answered here (its body parts and end) is dropped.
  private var swallowing = false
  private var needsFlush = false
  private var date = DateLine()

  init(documents: CachedDocuments) { self.documents = documents }

  func handlerAdded(context: ChannelHandlerContext) {
    wire = try? context.pipeline.syncOperations.context(handlerType: ConnectionGuard.self)
  }

  func handlerRemoved(context: ChannelHandlerContext) { wire = nil }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      if slowInFlight == 0, let wire, context.channel.isWritable, answer(head, wire: wire) {
        swallowing = true
        needsFlush = true
        // The guard's bookkeeping (head deadlines, idle) sees this response end like any other.
        context.triggerUserOutboundEvent(RequestProgress.responseEnded, promise: nil)
        return
      }
      swallowing = false
      slowInFlight += 1
      context.fireChannelRead(data)
    case .body:
      if !swallowing { context.fireChannelRead(data) }
    case .end:
      if swallowing {
        swallowing = false
      } else {
        context.fireChannelRead(data)
      }
    }
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    // One flush per read, however many pipelined requests it held.
    if needsFlush, let wire {
      needsFlush = false
      wire.flush()
    }
    context.fireChannelReadComplete()
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    if case .end = unwrapOutboundIn(data) { slowInFlight = max(0, slowInFlight - 1) }
    context.write(data, promise: promise)
  }

  /// Writes the response when the request can be answered from the caches; false otherwise
  /// (nothing written).
  private func answer(_ head: HTTPRequest, wire: ChannelHandlerContext) -> Bool {
    let isHead: Bool
    switch head.method {
    case .get: isHead = false
    case .head: isHead = true
    default: return false
    }
    guard let path = head.path, !path.utf8.contains(UInt8(ascii: "?")),
      head.headerFields[fields: .connection].isEmpty, let bodies = documents.current(path)
    else { return false }
    let fields = head.headerFields
    let gzip = bodies.gzip != nil && Conditional.acceptsGzip(fields)
    let notModified = Conditional.notModified(
      fields, etag: bodies.etagUTF8, gzipETag: bodies.gzipETagUTF8,
      lastModified: bodies.lastModified)
    let head: ByteBuffer
    var body: ByteBuffer?
    if notModified {
      head = gzip ? bodies.notModifiedGzipHead : bodies.notModifiedHead
      bodies.notModifiedCounter?.increment()
    } else {
      head = gzip ? bodies.gzipHead : bodies.identityHead
      body = gzip ? bodies.gzip : bodies.identity
      bodies.okCounter?.increment()
    }
    // Head, `Date` line and body as three buffers of one `writev`; flushed once per read.
    wire.write(NIOAny(IOData.byteBuffer(head)), promise: nil)
    wire.write(NIOAny(IOData.byteBuffer(date.current())), promise: nil)
    if !isHead, let body { wire.write(NIOAny(IOData.byteBuffer(body)), promise: nil) }
    return true
  }
}

@available(*, unavailable)
extension CachedDocumentHandler: Sendable {}

/// Conditional GET and content negotiation over the bytes of the field values NIO's decoder
/// produced, shared by the fast path and `FeedResponder`: no strings are built for the common
/// requests (none, one `If-None-Match`, one `Accept-Encoding`).
enum Conditional {
  /// RFC 9110 13.1.2/13.1.3: any `If-None-Match` decides (a listed tag of either encoding, weak
  /// comparison, or `*`); only without one does `If-Modified-Since` count.
  static func notModified(
    _ fields: HTTPFields, etag: [UInt8], gzipETag: [UInt8], lastModified: Date
  ) -> Bool {
    var sawNoneMatch = false
    for field in fields where field.name == .ifNoneMatch {
      sawNoneMatch = true
      let hit = field.withUnsafeBytesOfValue {
        noneMatchHits($0, etag: etag, gzipETag: gzipETag)
      }
      if hit { return true }
    }
    if sawNoneMatch { return false }
    if let ims = fields[.ifModifiedSince], let since = HTTPDate.parse(ims) {
      return lastModified <= since
    }
    return false
  }

  /// One `If-None-Match` value: comma-separated tags, each trimmed of spaces and tabs, `W/`
  /// dropped (weak comparison).
  static func noneMatchHits(
    _ value: UnsafeBufferPointer<UInt8>, etag: [UInt8], gzipETag: [UInt8]
  ) -> Bool {
    var start = 0
    while start < value.count {
      var end = start
      while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
      var (s, e) = trimmed(value, start, end)
      if e - s == 1, value[s] == UInt8(ascii: "*") { return true }
      if e - s >= 2, value[s] == UInt8(ascii: "W"), value[s + 1] == UInt8(ascii: "/") { s += 2 }
      if equals(value, s, e, etag) || equals(value, s, e, gzipETag) { return true }
      start = end + 1
    }
    return false
  }

  /// Every `Accept-Encoding` field, in order, as one list (what a comma-joined header is).
  static func acceptsGzip(_ fields: HTTPFields) -> Bool {
    var star: Bool?
    for field in fields where field.name == .acceptEncoding {
      let verdict = field.withUnsafeBytesOfValue { scanAcceptEncoding($0) }
      if let gzip = verdict.gzip { return gzip }
      if let s = verdict.star { star = s }
    }
    return star ?? false
  }

  /// The first `gzip`/`x-gzip` entry's verdict (q > 0) and the last `*` entry's, if any; codings
  /// compared case-insensitively, a missing or unreadable `q` counts as 1.
  private static func scanAcceptEncoding(_ value: UnsafeBufferPointer<UInt8>) -> (
    gzip: Bool?, star: Bool?
  ) {
    var star: Bool?
    var start = 0
    while start < value.count {
      var end = start
      while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
      // Parameters of this entry, separated by ';' (empty pieces ignored); the first is the coding.
      var coding: (Int, Int)?
      var q = 1.0
      var p = start
      while p < end {
        var pe = p
        while pe < end, value[pe] != UInt8(ascii: ";") { pe += 1 }
        if pe > p {
          let (s, e) = trimmed(value, p, pe)
          if coding == nil {
            coding = (s, e)
          } else if e - s >= 2, value[s] | 0x20 == UInt8(ascii: "q"),
            value[s + 1] == UInt8(ascii: "=")
          {
            let number = String(
              decoding: UnsafeBufferPointer(rebasing: value[(s + 2)..<e]), as: UTF8.self)
            q = Double(number) ?? 1
          }
        }
        p = pe + 1
      }
      if let (s, e) = coding {
        if equalsLowercased(value, s, e, "gzip") || equalsLowercased(value, s, e, "x-gzip") {
          return (q > 0, star)
        }
        if e - s == 1, value[s] == UInt8(ascii: "*") { star = q > 0 }
      }
      start = end + 1
    }
    return (nil, star)
  }

  private static func trimmed(_ v: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> (Int, Int) {
    var s = s
    var e = e
    while s < e, v[s] == 0x20 || v[s] == 0x09 { s += 1 }
    while e > s, v[e - 1] == 0x20 || v[e - 1] == 0x09 { e -= 1 }
    return (s, e)
  }

  private static func equals(_ v: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ t: [UInt8])
    -> Bool
  {
    guard e - s == t.count else { return false }
    for i in 0..<t.count where v[s + i] != t[i] { return false }
    return true
  }

  private static func equalsLowercased(
    _ v: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ t: StaticString
  ) -> Bool {
    guard e - s == t.utf8CodeUnitCount else { return false }
    let u = t.utf8Start
    for i in 0..<(e - s) {
      var c = v[s + i]
      if c >= UInt8(ascii: "A"), c <= UInt8(ascii: "Z") { c |= 0x20 }
      if c != u[i] { return false }
    }
    return true
  }
}
