import Foundation

/// When two feed addresses are the same feed: scheme and host compared case-insensitively (they
/// are case-insensitive), a trailing slash ignored. The one rule for OPML duplicates and for
/// "this feed is already configured" (`discover --config`, `import-opml --config`).
public enum FeedAddress {
  /// `url` with its scheme and host lower-cased (what is written into a drop-in).
  public static func normalised(_ url: String) -> String {
    guard var parts = URLComponents(string: url) else { return url }
    parts.scheme = parts.scheme?.lowercased()
    parts.host = parts.host?.lowercased()
    return parts.string ?? url
  }

  /// Equal for addresses of the same feed.
  public static func key(_ url: String) -> String {
    let trimmed = url.trimmingCharacters(in: .whitespaces)
    guard var parts = URLComponents(string: trimmed) else { return trimmed }
    parts.scheme = parts.scheme?.lowercased()
    parts.host = parts.host?.lowercased()
    if parts.path.count > 1 && parts.path.hasSuffix("/") { parts.path.removeLast() }
    if parts.path == "/" { parts.path = "" }
    return parts.string ?? trimmed
  }
}
