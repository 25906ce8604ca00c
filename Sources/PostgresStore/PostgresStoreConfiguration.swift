import Foundation
import NIOSSL
import PostgresNIO

/// Where the shared store lives and how to reach it: the config's
/// `[store] url = "postgresql://user:password@host:port/database?sslmode=…"`, parsed once at
/// start-up so that a mistake is a config error with a clear message, not a failed connection
/// later. The password may come from the URL, a `password_file` or `$PGPASSWORD` (in that
/// order), so that it need not sit in a config file that is shared or checked in.
public struct PostgresStoreConfiguration: Sendable, Hashable, CustomStringConvertible {
  /// libpq's `sslmode` values that PostgresNIO can honour.
  public enum SSLMode: String, Sendable, Hashable, CaseIterable {
    /// Plain TCP.
    case disable
    /// TLS when the server offers it, else plain (libpq's default).
    case prefer
    /// TLS without checking the certificate (encryption against passive eavesdropping only).
    case require
    /// TLS, the certificate chain checked against `sslrootcert` (or the system's roots).
    case verifyCA = "verify-ca"
    /// As `verify-ca`, and the certificate must name the host.
    case verifyFull = "verify-full"
  }

  public var host: String
  public var port: Int
  public var user: String
  public var password: String?
  public var database: String
  public var sslMode: SSLMode
  /// PEM file of the certificate authorities trusted for `verify-ca` / `verify-full`.
  public var sslRootCert: String?
  /// Reported to the server (`pg_stat_activity.application_name`).
  public var applicationName: String
  /// Seconds to wait for a connection before giving up.
  public var connectTimeout: TimeInterval
  /// Connections that serve reads (timeline pages, counts, status); writes use one more.
  public var readConnections: Int

  public init(
    host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
    sslMode: SSLMode = .prefer, sslRootCert: String? = nil,
    applicationName: String = "clusterwire", connectTimeout: TimeInterval = 10,
    readConnections: Int = 2
  ) {
    self.host = host
    self.port = port
    self.user = user
    self.password = password
    self.database = database
    self.sslMode = sslMode
    self.sslRootCert = sslRootCert
    self.applicationName = applicationName
    self.connectTimeout = connectTimeout
    self.readConnections = readConnections
  }

  /// Parses a `postgresql://` (or `postgres://`) URL. Components are percent-decoded; the port
  /// defaults to 5432 and the database to the user name; an IPv6 host is written in brackets.
  /// Query parameters: `sslmode`, `sslrootcert`, `application_name`, `connect_timeout`; any
  /// other is an error (a typo such as `ssl_mode` must not silently mean "no TLS").
  ///
  /// Without a password in the URL, the first line of `passwordFile` is used, else
  /// `environment["PGPASSWORD"]`.
  public init(
    url: String, passwordFile: String? = nil,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws {
    let lower = url.lowercased()
    guard let scheme = ["postgresql://", "postgres://"].first(where: { lower.hasPrefix($0) })
    else {
      throw PostgresStoreError.invalidURL(
        "'\(Self.redacted(url))' does not start with postgresql:// or postgres://")
    }
    var rest = Substring(url.dropFirst(scheme.count))
    var query = Substring("")
    if let q = rest.firstIndex(of: "?") {
      query = rest[rest.index(after: q)...]
      rest = rest[..<q]
    }
    if let hash = query.firstIndex(of: "#") { query = query[..<hash] }
    var path = Substring("")
    if let slash = rest.firstIndex(of: "/") {
      path = rest[rest.index(after: slash)...]
      rest = rest[..<slash]
    }
    var user: String?
    var password: String?
    // The host part never contains '@'; a password may (percent-encoded or not).
    if let at = rest.lastIndex(of: "@") {
      let info = rest[..<at]
      rest = rest[rest.index(after: at)...]
      if let colon = info.firstIndex(of: ":") {
        user = try Self.decode(info[..<colon], "user")
        password = try Self.decode(info[info.index(after: colon)...], "password")
      } else {
        user = try Self.decode(info, "user")
      }
    }
    var host: String
    var port = 5432
    if rest.hasPrefix("[") {
      guard let close = rest.firstIndex(of: "]") else {
        throw PostgresStoreError.invalidURL("unterminated IPv6 address in '\(Self.redacted(url))'")
      }
      host = String(rest[rest.index(after: rest.startIndex)..<close])
      let after = rest[rest.index(after: close)...]
      if !after.isEmpty {
        guard after.hasPrefix(":") else {
          throw PostgresStoreError.invalidURL("unexpected '\(after)' after the IPv6 address")
        }
        port = try Self.port(after.dropFirst())
      }
    } else if let colon = rest.lastIndex(of: ":") {
      host = try Self.decode(rest[..<colon], "host")
      port = try Self.port(rest[rest.index(after: colon)...])
    } else {
      host = try Self.decode(rest, "host")
    }
    guard !host.isEmpty else {
      throw PostgresStoreError.invalidURL(
        "'\(Self.redacted(url))' names no host (Unix sockets are not supported)")
    }
    let resolvedUser =
      (user?.isEmpty == false ? user : nil) ?? environment["PGUSER"] ?? environment["USER"]
      ?? "postgres"
    var database = try Self.decode(path, "database")
    if database.isEmpty { database = resolvedUser }

    var sslMode = SSLMode.prefer
    var sslRootCert: String?
    var applicationName = "clusterwire"
    var connectTimeout: TimeInterval = 10
    for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let name = try Self.decode(parts[0], "parameter name")
      let value = parts.count > 1 ? try Self.decode(parts[1], "parameter \(name)") : ""
      switch name {
      case "sslmode":
        guard let mode = SSLMode(rawValue: value) else {
          throw PostgresStoreError.invalidURL(
            "sslmode '\(value)' is not one of "
              + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        sslMode = mode
      case "sslrootcert":
        sslRootCert = value
      case "application_name":
        applicationName = value
      case "connect_timeout":
        guard let seconds = TimeInterval(value), seconds > 0 else {
          throw PostgresStoreError.invalidURL("connect_timeout '\(value)' is not a positive number")
        }
        connectTimeout = seconds
      default:
        throw PostgresStoreError.invalidURL(
          "unknown parameter '\(name)' (known: sslmode, sslrootcert, application_name, "
            + "connect_timeout)")
      }
    }
    if password == nil, let passwordFile {
      guard let contents = FileManager.default.contents(atPath: passwordFile) else {
        throw PostgresStoreError.passwordFile("cannot read \(passwordFile)")
      }
      let text = String(decoding: contents, as: UTF8.self)
      var line = Substring(text)
      if let newline = line.firstIndex(where: \.isNewline) {
        line = line[..<newline]
      }
      password = String(line)
    }
    if password == nil { password = environment["PGPASSWORD"] }
    self.init(
      host: host, port: port, user: resolvedUser, password: password, database: database,
      sslMode: sslMode, sslRootCert: sslRootCert, applicationName: applicationName,
      connectTimeout: connectTimeout)
  }

  /// The URL without its password, for logs and `status`.
  public var description: String {
    let hostPart = host.contains(":") ? "[\(host)]" : host
    var text = "postgresql://\(Self.encode(user))@\(hostPart):\(port)/\(Self.encode(database))"
    text += "?sslmode=\(sslMode.rawValue)"
    if let sslRootCert { text += "&sslrootcert=\(Self.encode(sslRootCert))" }
    return text
  }

  /// PostgresNIO's connection settings, TLS included (building an `NIOSSLContext` reads
  /// `sslrootcert`, so a missing file fails here, at open).
  func connectionConfiguration() throws -> PostgresConnection.Configuration {
    let tls: PostgresConnection.Configuration.TLS
    switch sslMode {
    case .disable:
      tls = .disable
    case .prefer, .require:
      var config = TLSConfiguration.makeClientConfiguration()
      config.certificateVerification = .none
      let context = try NIOSSLContext(configuration: config)
      tls = sslMode == .prefer ? .prefer(context) : .require(context)
    case .verifyCA, .verifyFull:
      var config = TLSConfiguration.makeClientConfiguration()
      config.certificateVerification =
        sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
      if let sslRootCert {
        guard FileManager.default.isReadableFile(atPath: sslRootCert) else {
          throw PostgresStoreError.invalidURL("sslrootcert \(sslRootCert) cannot be read")
        }
        config.trustRoots = .file(sslRootCert)
      }
      tls = .require(try NIOSSLContext(configuration: config))
    }
    var configuration = PostgresConnection.Configuration(
      host: host, port: port, username: user, password: password, database: database, tls: tls)
    configuration.options.connectTimeout = .milliseconds(Int64(connectTimeout * 1000))
    configuration.options.additionalStartupParameters = [("application_name", applicationName)]
    // verify-full checks the certificate against `host`: PostgresNIO sends it as the TLS server
    // name (NIOSSL then verifies it), or, for an IP literal (not allowed in SNI), NIOSSL
    // verifies the peer's address against the certificate's IP entries.
    return configuration
  }

  // MARK: helpers

  private static func decode(_ text: Substring, _ what: String) throws -> String {
    guard let decoded = String(text).removingPercentEncoding else {
      throw PostgresStoreError.invalidURL("bad percent-encoding in the \(what)")
    }
    return decoded
  }

  private static func encode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
  }

  private static func port(_ text: Substring) throws -> Int {
    guard let port = Int(text), (1...65535).contains(port) else {
      throw PostgresStoreError.invalidURL("port '\(text)' is not a number from 1 to 65535")
    }
    return port
  }

  /// `url` with anything between `://…:` and `@` replaced, for error messages.
  static func redacted(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://"),
      let at = url[schemeEnd.upperBound...].lastIndex(of: "@"),
      let colon = url[schemeEnd.upperBound..<at].firstIndex(of: ":")
    else { return url }
    return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
  }
}

/// Errors of the PostgreSQL store that are not the store protocol's own.
public enum PostgresStoreError: Error, Sendable, CustomStringConvertible, Equatable {
  /// The store URL cannot be used (the message says why; it never contains the password).
  case invalidURL(String)
  case passwordFile(String)
  /// The database was migrated by a newer clusterwire than this one.
  case newerSchema(found: Int, known: Int)
  /// `copy(fromSQLite:)` refuses a target that already holds data.
  case targetNotEmpty(String)
  /// `copy(fromSQLite:)` counted different rows in the target than it read.
  case copyMismatch(String)
  /// The server answered something the store cannot read.
  case unexpected(String)

  public var description: String {
    switch self {
    case .invalidURL(let why): return "invalid PostgreSQL store URL: \(why)"
    case .passwordFile(let why): return "password_file: \(why)"
    case .newerSchema(let found, let known):
      return
        "the PostgreSQL store was written by a newer version of clusterwire (schema version "
        + "\(found), this version knows up to \(known)); upgrade this instance"
    case .targetNotEmpty(let why): return "copy-store: the target is not empty (\(why))"
    case .copyMismatch(let why): return "copy-store: verification failed: \(why)"
    case .unexpected(let why): return "PostgreSQL store: \(why)"
    }
  }
}
