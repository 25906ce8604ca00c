import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A real HTTP/1.1 server on 127.0.0.1 whose every response is scripted by the test: delays,
/// stalls mid-body, connection resets, endless bodies. It counts what it saw (requests, headers,
/// concurrency per host-key, bytes written) so tests can assert politeness from the server side.
final class ScriptedServer: @unchecked Sendable {
  struct Request: Sendable {
    var path: String
    var headers: [String: String]
    func header(_ name: String) -> String? { headers[name.lowercased()] }
  }

  enum Action: Sendable {
    /// A complete response after `delay` seconds.
    case respond(
      status: Int, headers: [(String, String)] = [], body: [UInt8] = [], delay: TimeInterval = 0)
    /// Head (declaring `declaredLength`) and `partial`, then silence until the client gives up.
    case stall(headers: [(String, String)], partial: [UInt8], declaredLength: Int)
    /// Head and `partial`, then a TCP reset (SO_LINGER 0).
    case resetAfter(partial: [UInt8])
    /// Chunked body of `chunk` repeated up to `maxBytes`, written as fast as the client reads.
    case endless(headers: [(String, String)], chunk: [UInt8], maxBytes: Int)
  }

  private let lock = NSLock()
  private var _requests: [Request] = []
  private var _active = 0
  private var _maxActive = 0
  private var _bytesStreamed = 0
  let script: @Sendable (Request) -> Action
  private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
  private var channel: Channel?
  private(set) var port = 0

  /// Serves HTTPS with this context when set.
  let tls: NIOSSLContext?

  init(tls: NIOSSLContext? = nil, _ script: @escaping @Sendable (Request) -> Action) {
    self.tls = tls
    self.script = script
  }

  func start() async throws {
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.backlog, value: 256)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          if let tls = self.tls {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
          }
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          try channel.pipeline.syncOperations.addHandler(ScriptHandler(server: self))
        }
      }
    let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
    self.channel = channel
    port = channel.localAddress?.port ?? 0
  }

  func stop() async {
    try? await channel?.close()
    try? await group.shutdownGracefully()
  }

  func url(_ path: String) -> String {
    "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)\(path)"
  }

  var requests: [Request] { lock.withLock { _requests } }
  var maxActive: Int { lock.withLock { _maxActive } }
  var bytesStreamed: Int { lock.withLock { _bytesStreamed } }
  func requests(to path: String) -> [Request] { requests.filter { $0.path == path } }
  func resetCounters() { lock.withLock { _maxActive = _active } }

  fileprivate func begin(_ request: Request) {
    lock.withLock {
      _requests.append(request)
      _active += 1
      _maxActive = max(_maxActive, _active)
    }
  }
  fileprivate func end() { lock.withLock { _active -= 1 } }
  fileprivate func streamed(_ n: Int) { lock.withLock { _bytesStreamed += n } }
}

private final class ScriptHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  let server: ScriptedServer
  var head: HTTPRequestHead?
  var open = false

  init(server: ScriptedServer) { self.server = server }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let h):
      head = h
    case .body:
      break
    case .end:
      guard let head else { return }
      var headers: [String: String] = [:]
      for (name, value) in head.headers { headers[name.lowercased()] = value }
      let request = ScriptedServer.Request(path: head.uri, headers: headers)
      server.begin(request)
      open = true
      perform(server.script(request), context: context)
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    finish()
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    finish()
    context.close(promise: nil)
  }

  private func finish() {
    if open {
      open = false
      server.end()
    }
  }

  private func responseHead(_ status: Int, _ headers: [(String, String)]) -> HTTPResponseHead {
    var h = HTTPHeaders()
    for (k, v) in headers { h.add(name: k, value: v) }
    return HTTPResponseHead(
      version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: h)
  }

  private func perform(_ action: ScriptedServer.Action, context: ChannelHandlerContext) {
    let loop = context.eventLoop.assumeIsolated()
    switch action {
    case .respond(let status, var headers, let body, let delay):
      if !headers.contains(where: { $0.0.lowercased() == "content-length" }) {
        headers.append(("Content-Length", "\(body.count)"))
      }
      let send = {
        context.write(self.wrapOutboundOut(.head(self.responseHead(status, headers))), promise: nil)
        if !body.isEmpty {
          context.write(
            self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
            promise: nil)
        }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
          self.finish()
        }
      }
      if delay > 0 {
        loop.scheduleTask(in: .milliseconds(Int64(delay * 1000))) { send() }
      } else {
        send()
      }
    case .stall(var headers, let partial, let declared):
      headers.append(("Content-Length", "\(declared)"))
      context.write(wrapOutboundOut(.head(responseHead(200, headers))), promise: nil)
      context.writeAndFlush(
        wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: partial)))),
        promise: nil)
    case .resetAfter(let partial):
      context.write(
        wrapOutboundOut(
          .head(responseHead(200, [("Content-Length", "\(partial.count * 10 + 100)")]))),
        promise: nil)
      context.writeAndFlush(
        wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: partial)))),
        promise: nil)
      loop.scheduleTask(in: .milliseconds(50)) {
        if let provider = context.channel as? SocketOptionProvider {
          provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
          }
        } else {
          context.close(promise: nil)
        }
      }
    case .endless(let headers, let chunk, let maxBytes):
      context.writeAndFlush(wrapOutboundOut(.head(responseHead(200, headers))), promise: nil)
      writeChunk(context: context, chunk: chunk, remaining: maxBytes)
    }
  }

  private func writeChunk(context: ChannelHandlerContext, chunk: [UInt8], remaining: Int) {
    guard remaining > 0, context.channel.isActive else {
      if remaining <= 0 {
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
          self.finish()
        }
      }
      return
    }
    let buffer = context.channel.allocator.buffer(bytes: chunk)
    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer)))).assumeIsolated()
      .whenComplete { result in
        if case .success = result {
          self.server.streamed(chunk.count)
          self.writeChunk(context: context, chunk: chunk, remaining: remaining - chunk.count)
        }
      }
  }
}
