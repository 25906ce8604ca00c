import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NetworkGuard

/// Requests to URLs from the internet (the hub's to callbacks, the subscriber's to hubs): checked by the private-network
/// guard first (unless the admin allows private callbacks) and then sent to the addresses that
/// were checked, so a second DNS answer cannot redirect them (DNS rebinding). Redirects are
/// never followed: a callback that answers 3xx has not accepted.
struct Outbound: Sendable {
  let client: HTTPClient
  let policy: NetworkPolicy
  let allowPrivate: Bool
  let timeout: TimeInterval
  let userAgent: String
  /// Bytes of a response body read at most (a challenge echo is 64).
  static let maxResponseBytes = 4096

  struct Reply: Sendable {
    var status: Int
    var body: String
  }

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  func send(
    _ url: URL, method: HTTPMethod, headers: [(String, String)] = [], body: [UInt8]? = nil
  ) async throws -> Reply {
    var pinned: (host: String, addresses: [IPAddress])?
    if !allowPrivate {
      switch await policy.vet(url) {
      case .refused(let reason):
        throw Failure(description: "refused by the private-network guard: \(reason)")
      case .allowed(let destination):
        if destination.needsPinning { pinned = (destination.host, destination.addresses) }
      }
    }
    var request = HTTPClientRequest(url: url.absoluteString)
    request.method = method
    request.headers.add(name: "User-Agent", value: userAgent)
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body {
      request.headers.add(name: "Content-Length", value: String(body.count))
      request.body = .bytes(ByteBuffer(bytes: body))
    }
    let deadline = NIODeadline.now() + .milliseconds(Int64(timeout * 1000))
    guard let pinned else { return try await exchange(request, on: client, deadline: deadline) }
    var configuration = HTTPClient.Configuration()
    configuration.redirectConfiguration = .disallow
    configuration.dnsOverride[pinned.host] = pinned.addresses.first?.description
    configuration.dnsOverride[pinned.host.lowercased()] = pinned.addresses.first?.description
    let one = HTTPClient(eventLoopGroup: client.eventLoopGroup, configuration: configuration)
    do {
      let reply = try await exchange(request, on: one, deadline: deadline)
      try? await one.shutdown()
      return reply
    } catch {
      try? await one.shutdown()
      throw error
    }
  }

  private func exchange(_ request: HTTPClientRequest, on client: HTTPClient, deadline: NIODeadline)
    async throws -> Reply
  {
    let response = try await client.execute(request, deadline: deadline)
    var collected = ByteBuffer()
    for try await var chunk in response.body {
      let room = Self.maxResponseBytes - collected.readableBytes
      if room <= 0 { break }
      if chunk.readableBytes > room { chunk = chunk.getSlice(at: chunk.readerIndex, length: room)! }
      collected.writeBuffer(&chunk)
    }
    return Reply(status: Int(response.status.code), body: String(buffer: collected))
  }
}
