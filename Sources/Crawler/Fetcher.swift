import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL

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
}

/// Conditional GET with manual redirects and a streaming size cap; plain reads for `file://`.
struct Fetcher: Sendable {
  let client: HTTPClient
  let options: CrawlerOptions

  /// Validators and identity of the previous successful fetch.
  struct Conditions: Sendable {
    var etag: String?
    var lastModified: String?
  }

  /// One fetch under one deadline (`options.timeout`) that covers redirects AND the body:
  /// AsyncHTTPClient's own deadline ends when the response head arrives, so a server that stalls
  /// mid-body is cut off here.
  func fetch(
    url: URL, kind: String, userAgent: String?, conditions: Conditions
  ) async throws(FetchError) -> RawFetch {
    let timeout = options.timeout
    let result = await withTaskGroup(of: Result<RawFetch, FetchError>?.self) { group in
      group.addTask {
        do throws(FetchError) {
          return .success(
            try await self.fetchUnbounded(
              url: url, kind: kind, userAgent: userAgent, conditions: conditions))
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
    url: URL, kind: String, userAgent: String?, conditions: Conditions
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
    while true {
      guard let scheme = current.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
        throw FetchError(
          message: "unsupported URL scheme in \(current.absoluteString)", movedTo: movedTo)
      }
      var request = HTTPClientRequest(url: current.absoluteString)
      request.method = .GET
      request.headers.add(name: "User-Agent", value: userAgent ?? options.userAgent)
      request.headers.add(name: "Accept", value: Self.accept(kind: kind))
      if let etag = conditions.etag { request.headers.add(name: "If-None-Match", value: etag) }
      if let lm = conditions.lastModified {
        request.headers.add(name: "If-Modified-Since", value: lm)
      }
      let response: HTTPClientResponse
      do {
        response = try await client.execute(request, deadline: deadline)
      } catch {
        throw FetchError(message: describe(error), movedTo: movedTo)
      }
      let status = Int(response.status.code)
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
        current = target
        continue
      }
      guard status == 200 else {
        // Error bodies are not read: the connection is closed by dropping the response.
        return RawFetch(
          status: status, headers: response.headers, body: nil, finalURL: current, movedTo: movedTo)
      }
      let body = try await readBody(response, movedTo: movedTo)
      return RawFetch(
        status: 200, headers: response.headers, body: body, finalURL: current, movedTo: movedTo)
    }
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
