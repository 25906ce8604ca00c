import FeedModel
import Foundation

/// Limits applied to every untrusted document.
public struct ParseOptions: Sendable, Hashable {
  /// Checked before parsing starts.
  public var maxBytes: Int
  /// Total character data a document may deliver (defends against entity blow-ups).
  public var maxTextBytes: Int
  /// Threads that sanitise one document's entries (issue 17): the HTML sanitiser is most of the
  /// pipeline's time, and the entries are independent. 1 is the serial path; the output is the
  /// same whatever the number.
  public var sanitizeWorkers: Int
  /// Sanitised HTML already stored for this source, by the `SanitizerKey` of the raw HTML it
  /// came from (issue 17): a fragment whose key is here is not sanitised again. Empty for a
  /// first fetch; the crawler fills it from the store before parsing a changed document.
  public var reusableHTML: [SanitizerKey: String]
  /// The policy version written into the keys: `HTMLSanitizer.policyVersion` (tests set an
  /// older one to play a policy change).
  public var sanitizerPolicy: Int
  public init(
    maxBytes: Int = 16 << 20, maxTextBytes: Int = 64 << 20,
    sanitizeWorkers: Int = ProcessInfo.processInfo.activeProcessorCount,
    reusableHTML: [SanitizerKey: String] = [:], sanitizerPolicy: Int = HTMLSanitizer.policyVersion
  ) {
    self.maxBytes = maxBytes
    self.maxTextBytes = maxTextBytes
    self.sanitizeWorkers = max(1, sanitizeWorkers)
    self.reusableHTML = reusableHTML
    self.sanitizerPolicy = sanitizerPolicy
  }
}

/// Why a document yielded no feed at all (a merely malformed feed is not an error: see
/// `ParsedFeed.malformed`).
public enum FeedParserError: Error, Sendable, Hashable, CustomStringConvertible {
  case empty
  case tooLarge(size: Int, limit: Int)
  /// Well-formed (or recovered) but not a feed: e.g. "an HTML page, not a feed".
  case notAFeed(String)
  /// Refused as hostile: entity expansion bombs, oversized text.
  case hostile(String)
  /// Could not be read as XML or JSON at all.
  case unreadable(String)

  public var description: String {
    switch self {
    case .empty: return "empty document"
    case .tooLarge(let size, let limit):
      return "document is \(size) bytes, over the \(limit)-byte limit"
    case .notAFeed(let why): return "not a feed: \(why)"
    case .hostile(let why): return "refused: \(why)"
    case .unreadable(let why): return "unreadable: \(why)"
    }
  }
}

/// Bytes (+ HTTP content type, base URL) → a normalised `ParsedFeed`. The only entry point the
/// crawler and the CLI use for feeds.
public enum FeedParser {
  /// Detects the format from the content, decodes, parses, normalises dates and URLs and
  /// sanitises HTML. Throws only when there is no feed to be had; recoverable damage is reported
  /// in `ParsedFeed.malformed` / `diagnostics`.
  public static func parse(
    _ data: Data, contentType: String? = nil, baseURL: URL? = nil,
    options: ParseOptions = ParseOptions()
  ) throws(FeedParserError) -> ParsedFeed {
    try FeedPipeline.run(
      data, contentType: contentType, baseURL: baseURL, options: options, stages: .full)
  }
}
