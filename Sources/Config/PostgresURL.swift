import Foundation

/// The shape of a `[store] url` (`postgresql://user:password@host:port/database?sslmode=…`) as
/// far as Config can judge it without a database driver: scheme, host, port, database name.
/// What the options mean (`sslmode` and the like) is the PostgreSQL store's business; the daemon
/// and `check-config` ask it too.
public enum PostgresURL {
  /// The port PostgreSQL listens on unless told otherwise (shown when the URL names none).
  public static let defaultPort = 5432

  /// Why `raw` cannot be a PostgreSQL URL, or nil when its shape is right.
  public static func problem(_ raw: String) -> String? {
    let hint = "(use postgresql://user:password@host:port/database)"
    if raw.contains(where: { $0.isWhitespace }) {
      return "invalid PostgreSQL URL: contains whitespace \(hint)"
    }
    guard let parts = URLComponents(string: raw), let scheme = parts.scheme?.lowercased() else {
      return "invalid PostgreSQL URL \(hint)"
    }
    guard scheme == "postgresql" || scheme == "postgres" else {
      return "unsupported scheme \"\(parts.scheme ?? "")\" (use postgresql://…, or path for SQLite)"
    }
    guard let host = parts.host, !host.isEmpty else {
      return "invalid PostgreSQL URL: no host \(hint)"
    }
    if let port = parts.port, !(1...65535).contains(port) {
      return "invalid port \(port) in the PostgreSQL URL (1-65535)"
    }
    if parts.path.count <= 1 || parts.path.dropFirst().contains("/") {
      return "invalid PostgreSQL URL: no database name \(hint)"
    }
    if parts.fragment != nil { return "invalid PostgreSQL URL: a fragment (#…) is not allowed" }
    return nil
  }

  /// True when the URL carries a password (`user:password@` or `?password=`).
  public static func hasPassword(_ raw: String) -> Bool {
    guard let parts = URLComponents(string: raw) else { return false }
    if let p = parts.password, !p.isEmpty { return true }
    return parts.queryItems?.contains { $0.name == "password" } ?? false
  }

  /// The URL without its password, always with a port: `postgresql://user@host:5432/db`, plus
  /// the query's other parameters (`?sslmode=require`). For logs, `check-config` and `status`.
  public static func redacted(_ raw: String) -> String {
    guard var parts = URLComponents(string: raw), parts.host != nil else { return "(invalid URL)" }
    parts.password = nil
    if parts.port == nil { parts.port = defaultPort }
    if let items = parts.queryItems {
      let kept = items.filter { $0.name != "password" }
      parts.queryItems = kept.isEmpty ? nil : kept
    }
    return parts.string ?? "(invalid URL)"
  }
}
