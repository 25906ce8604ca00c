import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

#if canImport(Glibc)
  import Glibc
#endif

/// Hummingbird's HTTP/1 channel with the limits of `ServerOptions`: a bounded request head
/// (NIO's decoder limits), Hummingbird's idle timeout, and `ConnectionGuard` in front of the
/// decoder for what Hummingbird has no option for — a deadline on incomplete request heads
/// (slowloris), a deadline on responses the client does not read, and a cap on open connections
/// that closes the excess at once instead of leaving it in the accept backlog.
func guardedHTTP1(_ options: ServerOptions, logger: Logger) -> HTTPServerBuilder {
  let limit = FileDescriptors.connectionLimit(wanted: options.maxConnections, logger: logger)
  let connections = ConnectionCount(limit: limit)
  let headTimeout = TimeAmount(options.requestHeadTimeout)
  let stallTimeout = TimeAmount(options.idleTimeout)
  let configuration = HTTP1Channel.Configuration(
    additionalChannelHandlers: [RequestProgressHandler()],
    idleTimeout: TimeAmount(options.idleTimeout),
    httpDecoderConfiguration: .init(
      maxHeaderFieldSize: options.maxRequestHeadBytes,
      maxHeaderListSize: options.maxRequestHeadBytes,
      maxHeaderFieldCount: options.maxHeaderFields))
  return HTTPServerBuilder { responder in
    GuardedHTTP1Channel(
      inner: HTTP1Channel(responder: responder, configuration: configuration),
      connections: connections, headTimeout: headTimeout, stallTimeout: stallTimeout)
  }
}

/// `HTTP1Channel` with a `ConnectionGuard` placed first in each connection's pipeline.
struct GuardedHTTP1Channel: ServerChildChannel {
  typealias Value = HTTP1Channel.Value
  let inner: HTTP1Channel
  let connections: ConnectionCount
  let headTimeout: TimeAmount
  let stallTimeout: TimeAmount

  func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
    let added = channel.eventLoop.makeCompletedFuture {
      try channel.pipeline.syncOperations.addHandler(
        ConnectionGuard(
          connections: connections, headTimeout: headTimeout, stallTimeout: stallTimeout),
        position: .first)
    }
    return added.flatMap { inner.setup(channel: channel, logger: logger) }
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
  /// The last part of a response was written.
  case responseEnded
}

/// First handler of every connection, on raw bytes:
/// - over the connection limit, closes the connection as soon as it is active;
/// - a request head must be complete within `headTimeout` of its first byte (of the connection
///   opening, for the first request), else the connection is closed: Hummingbird's idle timer
///   only counts decoded parts, so without this a client trickling a head byte by byte would be
///   cut off only by the (longer) idle timeout;
/// - a response the client does not read (the channel stays unwritable) for `stallTimeout`
///   closes the connection, so slow readers cannot pin responses forever.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer
  typealias OutboundIn = IOData
  typealias OutboundOut = IOData

  private let connections: ConnectionCount
  private let headTimeout: TimeAmount
  private let stallTimeout: TimeAmount
  private var activated = false
  private var counted = false
  /// A request head is expected (bytes of it may have arrived) and its deadline is running.
  private var headDeadline: Scheduled<Void>?
  /// Between a decoded head and the end of its response.
  private var inRequest = false
  /// Bytes arrived while a request was in progress (a pipelined or next head, or its body).
  private var bytesDuringRequest = false
  private var stall: Scheduled<Void>?

  init(connections: ConnectionCount, headTimeout: TimeAmount, stallTimeout: TimeAmount) {
    self.connections = connections
    self.headTimeout = headTimeout
    self.stallTimeout = stallTimeout
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
    startHeadDeadline(context)
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
    if inRequest {
      bytesDuringRequest = true
    } else if headDeadline == nil {
      startHeadDeadline(context)
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
      headDeadline?.cancel()
      headDeadline = nil
      inRequest = true
      bytesDuringRequest = false
    case .responseEnded:
      inRequest = false
      // Part of a next head may already sit in the decoder: its deadline starts now.
      if bytesDuringRequest { startHeadDeadline(context) }
      bytesDuringRequest = false
    }
    promise?.succeed()
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable {
      stall?.cancel()
      stall = nil
    } else if stall == nil {
      stall = context.eventLoop.assumeIsolated().scheduleTask(in: stallTimeout) {
        self.stall = nil
        if !context.channel.isWritable { context.close(promise: nil) }
      }
    }
    context.fireChannelWritabilityChanged()
  }

  private func startHeadDeadline(_ context: ChannelHandlerContext) {
    headDeadline?.cancel()
    headDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: headTimeout) {
      self.headDeadline = nil
      context.close(promise: nil)
    }
  }

  private func cancelTimers() {
    headDeadline?.cancel()
    headDeadline = nil
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
    if case .head = unwrapInboundIn(data) {
      context.triggerUserOutboundEvent(RequestProgress.headReceived, promise: nil)
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
