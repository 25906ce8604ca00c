import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

#if canImport(Glibc)
  import Glibc
#endif

/// Hummingbird's HTTP/1 channel with the limits of `ServerOptions`: a bounded request head
/// (NIO's decoder limits), and `ConnectionGuard` in front of the decoder for what Hummingbird has
/// no option for — a deadline on incomplete request heads (slowloris), a deadline on responses the
/// client does not read, the keep-alive idle timeout, and a cap on open connections that closes
/// the excess at once instead of leaving it in the accept backlog. With `fastPath`, requests for
/// cached documents are answered on the event loop (`CachedDocumentHandler`).
func guardedHTTP1(
  _ options: ServerOptions, logger: Logger, fastPath: CachedDocuments? = nil
) -> HTTPServerBuilder {
  let limit = FileDescriptors.connectionLimit(wanted: options.maxConnections, logger: logger)
  let connections = ConnectionCount(limit: limit)
  let timeouts = ConnectionGuard.Timeouts(
    head: TimeAmount(options.requestHeadTimeout), stall: TimeAmount(options.idleTimeout),
    idle: TimeAmount(options.idleTimeout))
  let decoderLimits: NIOHTTPDecoderLimitConfiguration = {
    var limits = NIOHTTPDecoderLimitConfiguration()
    limits.maxHeaderFieldSize = options.maxRequestHeadBytes
    limits.maxHeaderListSize = options.maxRequestHeadBytes
    limits.maxHeaderFieldCount = options.maxHeaderFields
    return limits
  }()
  return HTTPServerBuilder { responder in
    GuardedHTTP1Channel(
      inner: HTTP1Channel(responder: responder), connections: connections, timeouts: timeouts,
      decoderLimits: decoderLimits, fastPath: fastPath)
  }
}

/// `HTTP1Channel`'s pipeline, built here: a `ConnectionGuard` first, then NIO's HTTP/1 encoder
/// and decoder, the HTTP-types codec, `RequestProgressHandler`, the optional fast path, and
/// Hummingbird's connection-state handler without an idle timeout (the guard keeps it: a request
/// answered by the fast path never reaches Hummingbird, whose idle clock would otherwise close a
/// busy connection). Requests are handled by `HTTP1Channel.handle` as before.
///
/// The encoder is not paired with the decoder (`configureHTTPServerPipeline` would pair them so
/// that the encoder drops bodies of HEAD responses): the pairing queues one method per decoded
/// head and pops one per encoded head, which the fast path's heads bypass. `FeedResponder` sends
/// HEAD responses without a body itself.
struct GuardedHTTP1Channel: ServerChildChannel {
  typealias Value = HTTP1Channel.Value
  let inner: HTTP1Channel
  let connections: ConnectionCount
  let timeouts: ConnectionGuard.Timeouts
  let decoderLimits: NIOHTTPDecoderLimitConfiguration
  let fastPath: CachedDocuments?

  func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
    channel.eventLoop.makeCompletedFuture {
      let pipeline = channel.pipeline.syncOperations
      try pipeline.addHandler(
        ConnectionGuard(connections: connections, timeouts: timeouts), position: .first)
      try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
      try pipeline.addHandler(
        ByteToMessageHandler(
          HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: decoderLimits)))
      try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
      try pipeline.addHandler(RequestProgressHandler())
      if let fastPath { try pipeline.addHandler(CachedDocumentHandler(documents: fastPath)) }
      try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
      return try NIOAsyncChannel(
        wrappingChannelSynchronously: channel,
        configuration: .init(isOutboundHalfClosureEnabled: true))
    }
  }

  func handle(value: Value, logger: Logger) async {
    await inner.handle(value: value, logger: logger)
  }
}

/// Open connections, shared by every connection's `ConnectionGuard`.
final class ConnectionCount: @unchecked Sendable {
  let limit: Int
  private let lock = NSLock()
  private var open = 0

  init(limit: Int) { self.limit = limit }

  /// Counts a new connection in, or refuses it when `limit` are open.
  func admit() -> Bool {
    lock.withLock {
      guard open < limit else { return false }
      open += 1
      return true
    }
  }

  func release() { lock.withLock { open -= 1 } }

  var current: Int { lock.withLock { open } }
}

/// Sent outward by `RequestProgressHandler` (which sees decoded HTTP parts) to the
/// `ConnectionGuard` (which sees raw bytes and owns the timers).
enum RequestProgress {
  /// A complete request head was decoded.
  case headReceived
  /// The request's end was decoded (its body, if any, is complete).
  case requestEnded
  /// The last part of a response was written.
  case responseEnded
}

/// First handler of every connection, on raw bytes:
/// - over the connection limit, closes the connection as soon as it is active;
/// - a request head must be complete within `head` of its first byte (of the connection
///   opening, for the first request), else the connection is closed: an idle clock only counts
///   decoded parts, so without this a client trickling a head byte by byte would be cut off only
///   by the (longer) idle timeout;
/// - keep-alive idle: a connection with nothing read and no response finished for `idle` is
///   closed, unless a fully read request is still being answered (Hummingbird's rule, kept here
///   because requests answered by `CachedDocumentHandler` never reach Hummingbird);
/// - a response the client does not read (the channel stays unwritable) for `stall` closes the
///   connection, so slow readers cannot pin responses forever.
///
/// The head and idle deadlines are timestamps checked by one timer each, which re-arms itself
/// for the current deadline when it fires early, instead of a timer scheduled and cancelled per
/// request (two allocations and two heap operations each time, on every keep-alive request).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer
  typealias OutboundIn = IOData
  typealias OutboundOut = IOData

  struct Timeouts: Sendable {
    var head: TimeAmount
    var stall: TimeAmount
    var idle: TimeAmount
  }

  private let connections: ConnectionCount
  private let timeouts: Timeouts
  private var activated = false
  private var counted = false
  /// When the awaited request head started (its first byte, or the connection opening); nil
  /// while no head is awaited with bytes pending.
  private var headStarted: NIODeadline?
  private var headTimer: Scheduled<Void>?
  /// Between a decoded head and the end of its response.
  private var inRequest = false
  /// The request in progress has been read to its end (only its response is outstanding).
  private var requestRead = false
  /// Bytes arrived while a request was in progress (a pipelined or next head, or its body).
  private var bytesDuringRequest = false
  /// The last byte read or response finished.
  private var lastActivity = NIODeadline.now()
  private var idleTimer: Scheduled<Void>?
  private var stall: Scheduled<Void>?

  init(connections: ConnectionCount, timeouts: Timeouts) {
    self.connections = connections
    self.timeouts = timeouts
  }

  func handlerAdded(context: ChannelHandlerContext) {
    if context.channel.isActive { activate(context) }
  }

  func channelActive(context: ChannelHandlerContext) {
    guard activate(context) else { return }
    context.fireChannelActive()
  }

  /// Counts the connection in and starts the first head's deadline; false when it is over the
  /// limit (then it is being closed).
  @discardableResult
  private func activate(_ context: ChannelHandlerContext) -> Bool {
    if activated { return counted }
    activated = true
    guard connections.admit() else {
      context.close(promise: nil)
      return false
    }
    counted = true
    let now = NIODeadline.now()
    lastActivity = now
    awaitHead(context, since: now)
    armIdle(context, at: now + timeouts.idle)
    return true
  }

  func channelInactive(context: ChannelHandlerContext) {
    cancelTimers()
    if counted {
      counted = false
      connections.release()
    }
    context.fireChannelInactive()
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    cancelTimers()
    if counted {
      counted = false
      connections.release()
    }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let now = NIODeadline.now()
    lastActivity = now
    if inRequest {
      bytesDuringRequest = true
    } else if headStarted == nil {
      awaitHead(context, since: now)
    }
    context.fireChannelRead(data)
  }

  func triggerUserOutboundEvent(
    context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?
  ) {
    guard let progress = event as? RequestProgress else {
      context.triggerUserOutboundEvent(event, promise: promise)
      return
    }
    switch progress {
    case .headReceived:
      headStarted = nil
      inRequest = true
      requestRead = false
      bytesDuringRequest = false
    case .requestEnded:
      if inRequest { requestRead = true }
    case .responseEnded:
      inRequest = false
      requestRead = false
      let now = NIODeadline.now()
      lastActivity = now
      // Part of a next head may already sit in the decoder: its deadline starts now.
      if bytesDuringRequest { awaitHead(context, since: now) }
      bytesDuringRequest = false
    }
    promise?.succeed()
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable {
      stall?.cancel()
      stall = nil
    } else if stall == nil {
      stall = context.eventLoop.assumeIsolated().scheduleTask(in: timeouts.stall) {
        self.stall = nil
        if !context.channel.isWritable { context.close(promise: nil) }
      }
    }
    context.fireChannelWritabilityChanged()
  }

  /// A head is awaited from `since` on; its deadline is `since + head`.
  private func awaitHead(_ context: ChannelHandlerContext, since: NIODeadline) {
    headStarted = since
    if headTimer == nil { armHead(context, at: since + timeouts.head) }
  }

  private func armHead(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
    headTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
      self.headTimer = nil
      // No head awaited now: the next one arms the timer again.
      guard let started = self.headStarted else { return }
      let due = started + self.timeouts.head
      if NIODeadline.now() >= due {
        context.close(promise: nil)
      } else {
        self.armHead(context, at: due)
      }
    }
  }

  private func armIdle(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
    idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
      self.idleTimer = nil
      let now = NIODeadline.now()
      if self.inRequest && self.requestRead {
        // Answering a request the client has sent in full: not idle.
        self.armIdle(context, at: now + self.timeouts.idle)
        return
      }
      let due = self.lastActivity + self.timeouts.idle
      if now >= due {
        context.close(promise: nil)
      } else {
        self.armIdle(context, at: due)
      }
    }
  }

  private func cancelTimers() {
    headTimer?.cancel()
    headTimer = nil
    idleTimer?.cancel()
    idleTimer = nil
    stall?.cancel()
    stall = nil
  }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}

/// Behind the HTTP decoder: tells the `ConnectionGuard` when a request head is complete and when
/// its response has been written.
final class RequestProgressHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPRequestPart
  typealias InboundOut = HTTPRequestPart
  typealias OutboundIn = HTTPResponsePart
  typealias OutboundOut = HTTPResponsePart

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head: context.triggerUserOutboundEvent(RequestProgress.headReceived, promise: nil)
    case .end: context.triggerUserOutboundEvent(RequestProgress.requestEnded, promise: nil)
    case .body: break
    }
    context.fireChannelRead(data)
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    let isEnd: Bool
    if case .end = unwrapOutboundIn(data) { isEnd = true } else { isEnd = false }
    context.write(data, promise: promise)
    if isEnd { context.triggerUserOutboundEvent(RequestProgress.responseEnded, promise: nil) }
  }
}

@available(*, unavailable)
extension RequestProgressHandler: Sendable {}

/// The process's open-file limit: every connection is a file descriptor, and running out of them
/// stops the accept loop for everyone (NIO backs off accepting), so the soft limit is raised to
/// the hard one and the connection cap kept below it, with room for the store, the crawler's
/// connections and the log files.
enum FileDescriptors {
  /// Descriptors kept free for everything that is not an inbound connection.
  static let reserve = 512

  /// `wanted`, or less when even the raised limit cannot hold that many connections.
  static func connectionLimit(wanted: Int, logger: Logger) -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return wanted }
    let needed = rlim_t(max(0, wanted) + reserve)
    if limit.rlim_cur < needed && limit.rlim_cur < limit.rlim_max {
      var raised = limit
      raised.rlim_cur = min(needed, limit.rlim_max)
      if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    let available = Int(clamping: limit.rlim_cur) - reserve
    guard available < wanted else { return wanted }
    let capped = max(64, available)
    logger.warning(
      "the open-file limit bounds the connections below the configured maximum",
      metadata: [
        "max_connections": "\(wanted)", "effective": "\(capped)",
        "nofile": "\(limit.rlim_cur)",
      ])
    return capped
  }
}
