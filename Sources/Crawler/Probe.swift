import AsyncHTTPClient
import FeedModel
import FeedParser
import Foundation
import NetworkGuard

/// One document as `clusterwire discover` fetched it.
public struct Probed: Sendable, Hashable {
  /// Final HTTP status (200 for files).
  public var status: Int
  /// The body of a 200; nil for other statuses (their bodies are not read).
  public var body: Data?
  public var contentType: String?
  /// The URL the body came from, after redirects.
  public var finalURL: URL
  /// Where consecutive permanent redirects from the requested URL lead.
  public var movedTo: String?

  public init(
    status: Int, body: Data?, contentType: String?, finalURL: URL, movedTo: String? = nil
  ) {
    self.status = status
    self.body = body
    self.contentType = contentType
    self.finalURL = finalURL
    self.movedTo = movedTo
  }
}

/// A probe that produced no response; `message` is shown to the admin as is.
public struct ProbeError: Error, Sendable, Hashable, CustomStringConvertible {
  public var message: String
  public var status: Int?

  public init(message: String, status: Int? = nil) {
    self.message = message
    self.status = status
  }

  public var description: String { message }
}

/// Fetches for feed discovery with the crawler's own fetcher, so `discover` sees a site exactly
/// as the crawler will: the same body cap, timeouts, user agent, redirect handling and
/// private-network guard.
public enum Probe {
  /// Fetches `url`. `origin` nil means the admin wrote `url` (never refused, like a configured
  /// source); otherwise `url` was found in a document from `origin` (a `<link>`, a well-known
  /// path, a news link) and is guarded like a redirect hop from `origin`: it may lead into a
  /// private network only when `origin` is itself inside one. `kind` chooses the `Accept`
  /// header (`feed` or `html`).
  public static func probe(
    _ url: URL, origin: URL? = nil, kind: SourceKind = .feed, options: CrawlerOptions,
    httpClient: HTTPClient, policy: NetworkPolicy = NetworkPolicy()
  ) async -> Result<Probed, ProbeError> {
    if origin != nil, !["http", "https"].contains(url.scheme?.lowercased() ?? "") {
      return .failure(ProbeError(message: "found in a page: only http and https URLs are fetched"))
    }
    let fetcher = Fetcher(client: httpClient, options: options, policy: policy)
    do {
      let raw = try await fetcher.fetch(
        url: url, kind: kind.rawValue, userAgent: nil, conditions: .init(), origin: origin)
      return .success(
        Probed(
          status: raw.status, body: raw.body, contentType: raw.headers.first(name: "Content-Type"),
          finalURL: raw.finalURL, movedTo: raw.movedTo))
    } catch {
      return .failure(ProbeError(message: error.message, status: error.status))
    }
  }

  /// What `source` would produce from a document already fetched (the crawler's parse, with the
  /// warnings `Crawler.preview` shows), so `discover` previews a candidate without fetching it
  /// a second time.
  public static func preview(_ source: SourceDefinition, fetched: Probed, options: CrawlerOptions)
    -> SourcePreview
  {
    LibXML.bootstrap()
    guard fetched.status == 200, let body = fetched.body else {
      return .failure("HTTP \(fetched.status)")
    }
    return Crawler.previewParse(
      source, body: body, contentType: fetched.contentType, finalURL: fetched.finalURL,
      options: options)
  }
}

extension Crawler {
  /// The crawler's parse plus, for feeds, the parser's diagnostics as warnings: what
  /// `try-source` and `discover` show.
  static func previewParse(
    _ source: SourceDefinition, body: Data, contentType: String?, finalURL: URL,
    options: CrawlerOptions
  ) -> SourcePreview {
    let result = parse(
      source, body: body, contentType: contentType, finalURL: finalURL, options: options)
    if case .success(let parsed, var warnings) = result, source.kind == .feed {
      for d in parsed.diagnostics where !parsed.malformed || d != parsed.diagnostics.first {
        warnings.append((d.line.map { "line \($0): " } ?? "") + d.message)
      }
      return .success(parsed, warnings)
    }
    return result
  }
}
