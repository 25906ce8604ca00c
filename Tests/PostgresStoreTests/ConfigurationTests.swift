import Foundation
import TestSupport
import XCTest

@testable import PostgresStore

final class ConfigurationTests: XCTestCase {
  private func parse(
    _ url: String, passwordFile: String? = nil, environment: [String: String] = [:]
  ) throws -> PostgresStoreConfiguration {
    try PostgresStoreConfiguration(url: url, passwordFile: passwordFile, environment: environment)
  }

  private func assertInvalid(
    _ url: String, mentions fragment: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertThrowsError(try parse(url), file: file, line: line) { error in
      guard case PostgresStoreError.invalidURL(let why) = error else {
        return XCTFail("expected invalidURL, got \(error)", file: file, line: line)
      }
      XCTAssertTrue(why.contains(fragment), "'\(why)' lacks '\(fragment)'", file: file, line: line)
      XCTAssertFalse("\(error)".contains("s3cret"), "the password leaked: \(error)")
    }
  }

  func testFullURL() throws {
    let c = try parse(
      "postgresql://feeds:s3cret@db.example.lt:6543/clusterwire?sslmode=verify-full&sslrootcert=/etc/ca.pem"
    )
    XCTAssertEqual(c.host, "db.example.lt")
    XCTAssertEqual(c.port, 6543)
    XCTAssertEqual(c.user, "feeds")
    XCTAssertEqual(c.password, "s3cret")
    XCTAssertEqual(c.database, "clusterwire")
    XCTAssertEqual(c.sslMode, .verifyFull)
    XCTAssertEqual(c.sslRootCert, "/etc/ca.pem")
  }

  func testDefaultsAndShortScheme() throws {
    let c = try parse("postgres://feeds@localhost")
    XCTAssertEqual(c.port, 5432)
    XCTAssertEqual(c.database, "feeds", "the database defaults to the user name, as in libpq")
    XCTAssertEqual(c.sslMode, .prefer, "libpq's default")
    XCTAssertNil(c.password)
    let upper = try parse("PostgreSQL://u@h/d")
    XCTAssertEqual(upper.host, "h")
  }

  func testPercentDecodingOfEveryPart() throws {
    let c = try parse("postgresql://us%40er:p%3Ass%2Fw%40rd%20x@h%2Dost:5432/my%20db")
    XCTAssertEqual(c.user, "us@er")
    XCTAssertEqual(c.password, "p:ss/w@rd x")
    XCTAssertEqual(c.host, "h-ost")
    XCTAssertEqual(c.database, "my db")
    // An unencoded '@' in the password: the last '@' ends the user info.
    let raw = try parse("postgresql://u:a@b@host/db")
    XCTAssertEqual(raw.password, "a@b")
    XCTAssertEqual(raw.host, "host")
    assertInvalid("postgresql://u@host/d%zz", mentions: "percent-encoding")
  }

  func testIPv6Hosts() throws {
    let c = try parse("postgresql://u@[::1]:5433/db")
    XCTAssertEqual(c.host, "::1")
    XCTAssertEqual(c.port, 5433)
    let noPort = try parse("postgresql://u@[2001:db8::7]/db")
    XCTAssertEqual(noPort.host, "2001:db8::7")
    XCTAssertEqual(noPort.port, 5432)
    XCTAssertEqual(noPort.description, "postgresql://u@[2001:db8::7]:5432/db?sslmode=prefer")
    assertInvalid("postgresql://u@[::1/db", mentions: "IPv6")
  }

  func testEverySSLMode() throws {
    for mode in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
      let c = try parse("postgresql://u@h/d?sslmode=\(mode)")
      XCTAssertEqual(c.sslMode.rawValue, mode)
    }
    assertInvalid("postgresql://u@h/d?sslmode=allow-ish", mentions: "sslmode 'allow-ish'")
  }

  func testUnknownParametersAndBadPortsAreErrors() {
    assertInvalid(
      "postgresql://u:s3cret@h/d?ssl_mode=require", mentions: "unknown parameter 'ssl_mode'")
    assertInvalid("postgresql://u@h:0/d", mentions: "port '0'")
    assertInvalid("postgresql://u@h:99999/d", mentions: "port '99999'")
    assertInvalid("postgresql://u@h:abc/d", mentions: "port 'abc'")
    assertInvalid("mysql://u:s3cret@h/d", mentions: "does not start with postgresql://")
    assertInvalid("postgresql://u:s3cret@/d", mentions: "names no host")
    assertInvalid("postgresql://u@h/d?connect_timeout=-1", mentions: "connect_timeout")
  }

  func testPasswordSources() throws {
    let dir = try TestSupport.makeTempDirectory("pgconfig")
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("password").path
    try "from-file\nsecond line\n".write(toFile: file, atomically: true, encoding: .utf8)
    let env = ["PGPASSWORD": "from-env"]
    // The URL wins, then the file, then the environment.
    XCTAssertEqual(
      try parse("postgresql://u:from-url@h/d", passwordFile: file, environment: env).password,
      "from-url")
    XCTAssertEqual(
      try parse("postgresql://u@h/d", passwordFile: file, environment: env).password, "from-file")
    XCTAssertEqual(try parse("postgresql://u@h/d", environment: env).password, "from-env")
    XCTAssertNil(try parse("postgresql://u@h/d").password)
    // CRLF and no trailing newline.
    try "crlf\r\n".write(toFile: file, atomically: true, encoding: .utf8)
    XCTAssertEqual(try parse("postgresql://u@h/d", passwordFile: file).password, "crlf")
    try "bare".write(toFile: file, atomically: true, encoding: .utf8)
    XCTAssertEqual(try parse("postgresql://u@h/d", passwordFile: file).password, "bare")
    XCTAssertThrowsError(try parse("postgresql://u@h/d", passwordFile: dir.path + "/missing")) {
      XCTAssertEqual($0 as? PostgresStoreError, .passwordFile("cannot read \(dir.path)/missing"))
    }
  }

  func testDescriptionNeverShowsThePassword() throws {
    let c = try parse("postgresql://feeds:s3cret@db:5432/cw?sslmode=require")
    XCTAssertEqual(c.description, "postgresql://feeds@db:5432/cw?sslmode=require")
    XCTAssertFalse("\(c)".contains("s3cret"))
    XCTAssertFalse(String(reflecting: c.description).contains("s3cret"))
    XCTAssertEqual(
      PostgresStoreConfiguration.redacted("postgresql://feeds:s3cret@db/cw"),
      "postgresql://feeds:***@db/cw")
  }

  func testVerifyModesNeedAReadableRootCertificate() throws {
    let c = try parse("postgresql://u@h/d?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem")
    XCTAssertThrowsError(try c.connectionConfiguration()) { error in
      XCTAssertTrue("\(error)".contains("/nonexistent/ca.pem"), "\(error)")
    }
  }
}

final class PlaceholderTests: XCTestCase {
  func testNumbersPlaceholdersInOrder() {
    let (sql, count) = Placeholders.translate("SELECT * FROM t WHERE a = ? AND b IN (?, ?)")
    XCTAssertEqual(sql, "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)")
    XCTAssertEqual(count, 3)
    XCTAssertEqual(Placeholders.translate("SELECT 1").count, 0)
    XCTAssertEqual(Placeholders.translate("?").sql, "$1")
    XCTAssertEqual(
      Placeholders.translate(String(repeating: "?,", count: 12)).sql.split(separator: ",").last,
      "$12")
  }

  func testSkipsLiteralsIdentifiersAndComments() {
    let cases: [(String, String)] = [
      ("SELECT '?' , ?", "SELECT '?' , $1"),
      ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"),
      ("SELECT \"odd?name\" FROM t WHERE x = ?", "SELECT \"odd?name\" FROM t WHERE x = $1"),
      ("SELECT \"a\"\"?\" , ?", "SELECT \"a\"\"?\" , $1"),
      ("SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"),
      ("SELECT /* ? */ ?", "SELECT /* ? */ $1"),
      ("SELECT $$ ? $$, ?", "SELECT $$ ? $$, $1"),
      ("SELECT $tag$ it's ? $tag$, ?", "SELECT $tag$ it's ? $tag$, $1"),
      ("SELECT $1, 'x'", "SELECT $1, 'x'"),
      ("SELECT 'unterminated ?", "SELECT 'unterminated ?"),
      ("SELECT 'ą?ž', ?", "SELECT 'ą?ž', $1"),
    ]
    for (input, expected) in cases {
      XCTAssertEqual(Placeholders.translate(input).sql, expected, input)
    }
    XCTAssertEqual(Placeholders.translate("SELECT '?', \"?\", ? /* ? */").count, 1)
  }
}
