import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL
import NetworkGuard

/// What the network (or the file system) said about one source, before any parsing.
struct RawFetch: Sendable {
  /// Final HTTP status (200 for files).
  var status: Int
  var headers: HTTPHeaders
  /// The body of a 200 (nil for 304 and for error statuses, whose bodies are not read).
  var body: Data?
  /// The URL the body came from, after redirects: the base for relative links.
  var finalURL: URL
  /// Where consecutive permanent redirects (301/308) from the configured URL lead.
  var movedTo: String?
}

/// A fetch that produced no usable response; `message` is shown to the admin as is.
struct FetchError: Error, Sendable {
  var message: String
  var status: Int?
  var movedTo: String?
  /// No connection was made (refused, unreachable, connect timeout): another address may work.
  var connectFailed = false
}

/// Conditional GET with manual redirects and a streaming size cap; plain reads for `file://`.
/// Redirect hops go through `policy` (`RedirectGuard`): a public server's redirect into a
/// private network is refused before it is requested.
struct Fetcher: Sendable {
  let client: HTTPClient
  let options: CrawlerOptions
  let policy: NetworkPolicy
  /// The configuration of the short-lived clients that carry pinned hops: the daemon's client
  /// configuration, which `HTTPClient` does not expose.
  let hopConfiguration: HTTPClient.Configuration

  init(
    client: HTTPClient, options: CrawlerOptions, policy: NetworkPolicy = NetworkPolicy(),
    hopConfiguration: HTTPClient.Configuration? = nil
  ) {
    self.client = client
    self.options = options
    self.policy = policy
    self.hopConfiguration = hopConfiguration ?? options.httpClientConfiguration()
  }

  /// Validators and identity of the previous successful fetch.
  struct Conditions: Sendable {
    var etag: String?
    var lastModified: String?
  }

  /// One fetch under one deadline (`options.timeout`) that covers redirects AND the body:
  /// AsyncHTTPClient's own deadline ends when the response head arrives, so a server that stalls
  /// mid-body is cut off here.
  ///
  /// `origin`: set when `url` was found in a document fetched from `origin` (feed discovery)
  /// rather than written by the admin; the first request is then guarded like a redirect hop
  /// from `origin`.
  func fetch(
    url: URL, kind: String, userAgent: String?, conditions: Conditions, origin: URL? = nil
  ) async throws(FetchError) -> RawFetch {
    let timeout = options.timeout
    let result = await withTaskGroup(of: Result<RawFetch, FetchError>?.self) { group in
      group.addTask {
        do throws(FetchError) {
          return .success(
            try await self.fetchUnbounded(
              url: url, kind: kind, userAgent: userAgent, conditions: conditions, origin: origin))
        } catch {
          return .failure(error)
        }
      }
      group.addTask {
        try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9))
        return nil
      }
      let first = await group.next() ?? nil
      group.cancelAll()
      return first
    }
    switch result {
    case .success(let raw): return raw
    case .failure(let error): throw error
    case nil:
      if Task.isCancelled { throw FetchError(message: "cancelled") }
      throw FetchError(message: "timed out after \(formatSeconds(timeout))")
    }
  }

  private func fetchUnbounded(
    url: URL, kind: String, userAgent: String?, conditions: Conditions, origin: URL?
  ) async throws(FetchError) -> RawFetch {
    if url.isFileURL {
      return try readFile(url)
    }
    let deadline = NIODeadline.now() + .milliseconds(Int64(options.timeout * 1000))
    var current = url
    var visited: Set<String> = [url.absoluteString]
    var movedTo: String?
    var permanentSoFar = true
    var hops = 0
    var previousStatus: Int?
    var chain = RedirectGuard(policy: policy)
    while true {
      guard let scheme = current.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
        throw FetchError(
          message: "unsupported URL scheme in \(current.absoluteString)", movedTo: movedTo)
      }
      // Every hop is resolved and checked before it is requested, then connected to the
      // addresses that were checked (see `RedirectGuard`).
      let plan: RedirectGuard.Plan
      if hops == 0, let origin {
        await chain.start(origin)
        do {
          plan = try await chain.follow(current)
        } catch {
          let reason = error.message.replacingOccurrences(of: "redirect to ", with: "")
          throw FetchError(message: "found in a page: " + reason)
        }
      } else if hops == 0 {
        await chain.start(current)
        plan = .direct
      } else {
        do {
          plan = try await chain.follow(current)
        } catch {
          throw FetchError(message: error.message, status: previousStatus, movedTo: movedTo)
        }
      }
      var request = HTTPClientRequest(url: current.absoluteString)
      request.method = .GET
      request.headers.add(name: "User-Agent", value: userAgent ?? options.userAgent)
      request.headers.add(name: "Accept", value: Self.accept(kind: kind))
      if let etag = conditions.etag { request.headers.add(name: "If-None-Match", value: etag) }
      if let lm = conditions.lastModified {
        request.headers.add(name: "If-Modified-Since", value: lm)
      }
      let response = try await exchange(request, plan: plan, deadline: deadline, movedTo: movedTo)
      let status = response.status
      if [301, 302, 303, 307, 308].contains(status) {
        guard let location = response.headers.first(name: "Location"),
          let target = URL(
            string: location.trimmingCharacters(in: .whitespaces), relativeTo: current)?
            .absoluteURL
        else {
          throw FetchError(
            message: "HTTP \(status) without a usable Location", status: status, movedTo: movedTo)
        }
        if status == 301 || status == 308 {
          if permanentSoFar { movedTo = target.absoluteString }
        } else {
          permanentSoFar = false
        }
        hops += 1
        if hops > options.maxRedirects {
          throw FetchError(
            message: "too many redirects (more than \(options.maxRedirects))", status: status,
            movedTo: movedTo)
        }
        if !visited.insert(target.absoluteString).inserted {
          throw FetchError(
            message: "redirect loop at \(target.absoluteString)", status: status, movedTo: movedTo)
        }
        previousStatus = status
        current = target
        continue
      }
      return RawFetch(
        status: status, headers: response.headers, body: response.body, finalURL: current,
        movedTo: movedTo)
    }
  }

  /// One response: its status and headers, and the body of a 200 (error and redirect bodies are
  /// not read: the connection is closed by dropping the response).
  private struct Exchange: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: Data?
  }

  /// Sends `request` over the connection `plan` asks for. A pinned hop goes through a
  /// short-lived client (on the crawler's event loops) whose `dnsOverride` maps the host to one
  /// checked address, so its connection cannot go anywhere else while Host, SNI and certificate
  /// checks keep the name; redirects are rare, so the lost connection reuse does not matter.
  /// A connection failure moves on to the next checked address, as a client's own fallback
  /// would. The 200's body is read before that client is shut down.
  private func exchange(
    _ request: HTTPClientRequest, plan: RedirectGuard.Plan, deadline: NIODeadline,
    movedTo: String?
  ) async throws(FetchError) -> Exchange {
    guard case .pinned(let host, let addresses) = plan else {
      return try await exchange(request, on: client, deadline: deadline, movedTo: movedTo)
    }
    var lastFailure: FetchError?
    for address in addresses.prefix(4) {
      var configuration = hopConfiguration
      // Keyed by the host as the URL spells it (what the client looks up), and lowercased.
      configuration.dnsOverride[host] = address.description
      configuration.dnsOverride[host.lowercased()] = address.description
      let pinned = HTTPClient(eventLoopGroup: client.eventLoopGroup, configuration: configuration)
      let result: Result<Exchange, FetchError>
      do throws(FetchError) {
        result = .success(
          try await exchange(request, on: pinned, deadline: deadline, movedTo: movedTo))
      } catch {
        result = .failure(error)
      }
      try? await pinned.shutdown()
      switch result {
      case .success(let exchange):
        return exchange
      case .failure(let failure) where failure.connectFailed && !Task.isCancelled:
        lastFailure = failure
      case .failure(let failure):
        throw failure
      }
    }
    throw lastFailure ?? FetchError(message: "could not connect to \(host)", movedTo: movedTo)
  }

  private func exchange(
    _ request: HTTPClientRequest, on client: HTTPClient, deadline: NIODeadline, movedTo: String?
  ) async throws(FetchError) -> Exchange {
    let response: HTTPClientResponse
    do {
      response = try await client.execute(request, deadline: deadline)
    } catch {
      throw FetchError(
        message: describe(error), movedTo: movedTo, connectFailed: Self.isConnectFailure(error))
    }
    let status = Int(response.status.code)
    guard status == 200 else {
      return Exchange(status: status, headers: response.headers, body: nil)
    }
    let body = try await readBody(response, movedTo: movedTo)
    return Exchange(status: 200, headers: response.headers, body: body)
  }

  /// Whether `error` means no connection was made at all (so another address may be tried).
  static func isConnectFailure(_ error: any Error) -> Bool {
    if let e = error as? HTTPClientError { return e == .connectTimeout }
    if error is NIOConnectionError { return true }
    if case ChannelError.connectTimeout = error { return true }
    if let e = error as? IOError {
      return [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, EADDRNOTAVAIL].contains(
        e.errnoCode)
    }
    return false
  }

  /// Streams the body, giving up as soon as it passes `maxBody` (or the declared length does).
  private func readBody(_ response: HTTPClientResponse, movedTo: String?) async throws(FetchError)
    -> Data
  {
    let limit = options.maxBody
    let tooLarge = FetchError(
      message: "body over \(formatBytes(limit)) limit", status: 200, movedTo: movedTo)
    let encoded = response.headers.first(name: "Content-Encoding").map { $0 != "identity" } ?? false
    if !encoded, let declared = response.headers.first(name: "Content-Length").flatMap(Int.init),
      declared > limit
    {
      throw tooLarge
    }
    var data = Data()
    if let declared = response.headers.first(name: "Content-Length").flatMap(Int.init) {
      data.reserveCapacity(min(declared, limit))
    }
    do {
      for try await chunk in response.body {
        if data.count + chunk.readableBytes > limit { throw tooLarge }
        data.append(contentsOf: chunk.readableBytesView)
      }
    } catch let error as FetchError {
      throw error
    } catch {
      if let d = error as? NIOHTTPDecompression.DecompressionError, d == .limit {
        throw tooLarge
      }
      throw FetchError(message: describe(error), status: 200, movedTo: movedTo)
    }
    return data
  }

  private func readFile(_ url: URL) throws(FetchError) -> RawFetch {
    let path = url.path
    let attributes: [FileAttributeKey: Any]
    do {
      attributes = try FileManager.default.attributesOfItem(atPath: path)
    } catch {
      throw FetchError(message: "cannot read \(path): no such file or not readable")
    }
    if let size = attributes[.size] as? Int, size > options.maxBody {
      throw FetchError(message: "body over \(formatBytes(options.maxBody)) limit")
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw FetchError(message: "cannot read \(path): permission denied")
    }
    defer { try? handle.close() }
    let data: Data
    do {
      // Read one byte past the cap so a file that grew since the stat is still refused.
      data = try handle.read(upToCount: options.maxBody + 1) ?? Data()
    } catch {
      throw FetchError(message: "cannot read \(path): \(error.localizedDescription)")
    }
    if data.count > options.maxBody {
      throw FetchError(message: "body over \(formatBytes(options.maxBody)) limit")
    }
    return RawFetch(status: 200, headers: [:], body: data, finalURL: url, movedTo: nil)
  }

  static func accept(kind: String) -> String {
    if kind == "html" {
      return "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
    }
    return "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
      + "application/feed+json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, "
      + "application/json;q=0.5, text/html;q=0.2, */*;q=0.1"
  }

  /// The reason token of a BoringSSL error stack (`CERTIFICATE_VERIFY_FAILED`,
  /// `WRONG_VERSION_NUMBER`…), without the library's source paths that its description carries.
  static func boringSSLReason(_ error: BoringSSLError) -> String {
    let text = "\(error)"
    guard let range = text.range(of: "OPENSSL_internal:") else { return text }
    return String(text[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
  }

  /// Turns transport errors into the short reasons an admin reads in `status`.
  func describe(_ error: any Error) -> String {
    if let e = error as? HTTPClientError {
      switch e {
      case .deadlineExceeded, .cancelled:
        return "timed out after \(formatSeconds(options.timeout))"
      case .readTimeout:
        return "timed out: no data for \(formatSeconds(options.timeout))"
      case .connectTimeout:
        return "connect timed out after \(formatSeconds(options.connectTimeout))"
      case .remoteConnectionClosed:
        return "connection closed by the server before the response was complete"
      case .tlsHandshakeTimeout:
        return "TLS handshake timed out"
      case .invalidURL, .emptyHost, .emptyScheme:
        return "invalid URL"
      default:
        return "HTTP client error: \(e)"
      }
    }
    if let e = error as? IOError {
      switch e.errnoCode {
      case ECONNRESET: return "connection reset"
      case ECONNREFUSED: return "connection refused"
      case EPIPE: return "connection reset"
      case ETIMEDOUT: return "connection timed out"
      case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
      default: return "I/O error: \(e.description)"
      }
    }
    if let e = error as? NIOConnectionError {
      if e.dnsAError != nil || e.dnsAAAAError != nil, e.connectionErrors.isEmpty {
        return "could not resolve host \(e.host)"
      }
      if let first = e.connectionErrors.first { return describe(first.error) }
      return "could not connect to \(e.host)"
    }
    if error is ChannelError {
      if case ChannelError.connectTimeout = error {
        return "connect timed out after \(formatSeconds(options.connectTimeout))"
      }
      return "connection error: \(error)"
    }
    if error is NIOHTTPDecompression.DecompressionError
      || error is NIOHTTPDecompression.ExtraDecompressionError
    {
      return "broken compressed body: \(error)"
    }
    if error is HTTPParserError {
      return "invalid HTTP response: \(error)"
    }
    if let e = error as? NIOSSLError {
      switch e {
      case .handshakeFailed(let inner):
        let reason = Self.boringSSLReason(inner)
        if reason == "CERTIFICATE_VERIFY_FAILED" {
          return "TLS certificate not trusted: not signed by a known authority, expired, or not"
            + " yet valid"
        }
        let words = reason.lowercased().replacingOccurrences(of: "_", with: " ")
        return "TLS handshake failed (\(words))"
      case .uncleanShutdown:
        return "TLS connection closed without a proper shutdown"
      default:
        return "TLS error: \(e)"
      }
    }
    if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
      // Its description ends with what was looked for: "…: Couldn't find <host> in certificate
      // from peer".
      let detail = e.description.components(separatedBy: ": ").dropFirst().joined(separator: ": ")
      return "TLS certificate is for another host" + (detail.isEmpty ? "" : " (\(detail))")
    }
    if error is CancellationError {
      return "cancelled"
    }
    return String(describing: error)
  }
}
