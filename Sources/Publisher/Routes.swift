import Foundation

/// Which slice of the merged timeline a document shows.
public enum FeedScope: Sendable, Hashable {
  case all
  /// A sector slug from the config.
  case category(String)
  case source(String)
  /// Primary language subtag (`lt`, `en`).
  case language(String)

  /// The directory of a sub-feed (`categories`, `sources`, `languages`), nil for the merged feed.
  var directory: String? {
    switch self {
    case .all: return nil
    case .category: return "categories"
    case .source: return "sources"
    case .language: return "languages"
    }
  }

  var key: String? {
    switch self {
    case .all: return nil
    case .category(let k), .source(let k), .language(let k): return k
    }
  }
}

/// The published formats of a timeline.
public enum OutputFormat: String, Sendable, Hashable, CaseIterable {
  case atom, rss, json, html
}

/// A parsed request path: a timeline document or the OPML list of sources.
enum DocumentRoute: Hashable {
  case timeline(FeedScope, OutputFormat)
  /// RFC 5005 archive page `n` (1 = oldest) of a scope's Atom feed, at a plain file path
  /// (`/archive/feed/3.atom`, `/archive/categories/ict/3.atom`) so static servers serve it too.
  case archive(FeedScope, Int)
  case opml

  /// Maps a request path to a document, or nil when no such document can exist.
  init?(path: String) {
    switch path {
    case "/", "/index.html": self = .timeline(.all, .html)
    case "/feed.atom": self = .timeline(.all, .atom)
    case "/feed.rss": self = .timeline(.all, .rss)
    case "/feed.json": self = .timeline(.all, .json)
    case "/sources.opml": self = .opml
    default:
      if path.hasPrefix("/archive/") {
        guard let route = Self.archive(path) else { return nil }
        self = route
        return
      }
      let parts = path.split(separator: "/", omittingEmptySubsequences: false)
      guard parts.count == 3, parts[0].isEmpty else { return nil }
      let file = parts[2]
      guard let dot = file.lastIndex(of: ".") else { return nil }
      let key = String(file[..<dot])
      guard let format = OutputFormat(rawValue: String(file[file.index(after: dot)...])),
        DocumentRoute.isKey(key)
      else { return nil }
      switch parts[1] {
      case "categories": self = .timeline(.category(key), format)
      case "sources": self = .timeline(.source(key), format)
      case "languages": self = .timeline(.language(key.lowercased()), format)
      default: return nil
      }
    }
  }

  /// `/archive/feed/{n}.atom` or `/archive/{categories|sources|languages}/{key}/{n}.atom`.
  private static func archive(_ path: String) -> DocumentRoute? {
    let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    guard let file = parts.last, file.hasSuffix(".atom") else { return nil }
    let digits = file.dropLast(5)
    guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCIIDigit),
      digits.first != "0", let n = Int(digits)
    else { return nil }
    if parts.count == 4, parts[2] == "feed" { return .archive(.all, n) }
    guard parts.count == 5, isKey(parts[3]) else { return nil }
    switch parts[2] {
    case "categories": return .archive(.category(parts[3]), n)
    case "sources": return .archive(.source(parts[3]), n)
    case "languages": return .archive(.language(parts[3].lowercased()), n)
    default: return nil
    }
  }

  /// The path of archive page `n` of a scope's Atom feed.
  static func archivePath(_ scope: FeedScope, _ n: Int) -> String {
    switch scope {
    case .all: return "/archive/feed/\(n).atom"
    default: return "/archive/\(scope.directory!)/\(scope.key!)/\(n).atom"
    }
  }

  /// Slugs, source ids and language codes: `[A-Za-z0-9_-]{1,100}`.
  static func isKey(_ s: String) -> Bool {
    guard !s.isEmpty, s.utf8.count <= 100 else { return false }
    return s.utf8.allSatisfy {
      ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
        || $0 == 0x2D || $0 == 0x5F
    }
  }

  /// The canonical path of a timeline document (`/` for the merged HTML page).
  static func path(_ scope: FeedScope, _ format: OutputFormat) -> String {
    switch scope {
    case .all: return format == .html ? "/" : "/feed.\(format.rawValue)"
    default: return "/\(scope.directory!)/\(scope.key!).\(format.rawValue)"
    }
  }

  var path: String {
    switch self {
    case .opml: return "/sources.opml"
    case .timeline(let scope, let format): return DocumentRoute.path(scope, format)
    case .archive(let scope, let n): return DocumentRoute.archivePath(scope, n)
    }
  }
}

extension Publisher {
  /// The route pattern of a request path for metrics labels (`/categories/{slug}.{format}`),
  /// never the raw path (unbounded cardinality); nil when no document can live there.
  public nonisolated static func routePattern(for path: String) -> String? {
    guard let route = DocumentRoute(path: path) else { return nil }
    switch route {
    case .opml: return "/sources.opml"
    case .archive(let scope, _):
      switch scope {
      case .all: return "/archive/feed/{n}.atom"
      case .category: return "/archive/categories/{slug}/{n}.atom"
      case .source: return "/archive/sources/{id}/{n}.atom"
      case .language: return "/archive/languages/{code}/{n}.atom"
      }
    case .timeline(let scope, let format):
      switch scope {
      case .all: return DocumentRoute.path(.all, format)
      case .category: return "/categories/{slug}.\(format.rawValue)"
      case .source: return "/sources/{id}.\(format.rawValue)"
      case .language: return "/languages/{code}.\(format.rawValue)"
      }
    }
  }
}

extension Character {
  fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
