import FeedModel
import Foundation
import TestSupport
import XCTest

@testable import FeedParser

/// Every hostile document must come back within a second, with a clear error or a safe result.
final class HostileTests: XCTestCase {
  override func setUp() {
    LibXML.bootstrap()
  }

  /// Parses and asserts it did not run away: an unguarded bomb takes tens of seconds and
  /// gigabytes here, a guarded one milliseconds, so 10 s is generous on two loaded cores and
  /// still catches a regression (the speed itself is measured in `cwbench`).
  func timed(
    _ data: Data, options: ParseOptions = ParseOptions(), file: StaticString = #filePath,
    line: UInt = #line
  )
    -> Result<ParsedFeed, FeedParserError>
  {
    let start = Date()
    let result: Result<ParsedFeed, FeedParserError>
    do {
      result = .success(try FeedParser.parse(data, options: options))
    } catch {
      result = .failure(error)
    }
    let elapsed = Date().timeIntervalSince(start)
    XCTAssertLessThan(elapsed, 10.0, "took \(elapsed) s", file: file, line: line)
    return result
  }

  func assertHostile(
    _ result: Result<ParsedFeed, FeedParserError>, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    guard case .failure(.hostile(let why)) = result else {
      return XCTFail("expected .hostile, got \(result)", file: file, line: line)
    }
    XCTAssertFalse(why.isEmpty, file: file, line: line)
  }

  func testBillionLaughs() {
    var dtd = "<!ENTITY lol \"lol\">"
    for i in 1...9 {
      let prev = i == 1 ? "lol" : "lol\(i - 1)"
      dtd += "<!ENTITY lol\(i) \"" + String(repeating: "&\(prev);", count: 10) + "\">"
    }
    let xml =
      "<?xml version=\"1.0\"?><!DOCTYPE rss [\(dtd)]><rss version=\"2.0\"><channel><title>&lol9;</title></channel></rss>"
    assertHostile(timed(Data(xml.utf8)))
  }

  func testQuadraticBlowup() {
    let big = String(repeating: "A", count: 100_000)
    let refs = String(repeating: "&a;", count: 20_000)
    let xml =
      "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"\(big)\">]><rss version=\"2.0\"><channel><title>\(refs)</title></channel></rss>"
    assertHostile(timed(Data(xml.utf8)))
  }

  func testMarkupEntitiesAreRefused() {
    let xml = """
      <!DOCTYPE rss [<!ENTITY m "<b>x</b>">]><rss version="2.0"><channel><title>&m;&m;</title></channel></rss>
      """
    assertHostile(timed(Data(xml.utf8)))
  }

  func testManySmallEntityReferencesHitTheTextCap() {
    // Under the per-entity size limit, but 1 KB × 200 000 references = 200 MB of text.
    let chunk = String(repeating: "B", count: 1000)
    let refs = String(repeating: "&b;", count: 200_000)
    let xml =
      "<!DOCTYPE rss [<!ENTITY b \"\(chunk)\">]><rss version=\"2.0\"><channel><title>\(refs)</title></channel></rss>"
    assertHostile(timed(Data(xml.utf8), options: ParseOptions(maxTextBytes: 8 << 20)))
  }

  func testXXEFileAndHTTPDoNotLeak() throws {
    let dir = try TestSupport.makeTempDirectory("cw-xxe")
    defer { try? FileManager.default.removeItem(at: dir) }
    let marker = "SECRET-MARKER-\(UUID().uuidString)"
    let secret = dir.appendingPathComponent("secret.txt")
    try marker.write(to: secret, atomically: true, encoding: .utf8)
    let variants = [
      "<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"\(secret.absoluteString)\">]><rss version=\"2.0\"><channel><title>&xxe;</title><item><title>x&xxe;</title></item></channel></rss>",
      "<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"\(secret.path)\">]><rss version=\"2.0\"><channel><title>&xxe;</title></channel></rss>",
      "<!DOCTYPE rss [<!ENTITY % p SYSTEM \"\(secret.absoluteString)\"> %p;]><rss version=\"2.0\"><channel><title>t</title></channel></rss>",
      "<!DOCTYPE rss SYSTEM \"\(secret.absoluteString)\"><rss version=\"2.0\"><channel><title>t</title></channel></rss>",
      "<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"http://127.0.0.1:9/evil.dtd\">]><rss version=\"2.0\"><channel><title>&xxe;</title></channel></rss>",
      "<!DOCTYPE rss SYSTEM \"http://127.0.0.1:9/evil.dtd\"><rss version=\"2.0\"><channel><title>t</title></channel></rss>",
    ]
    for xml in variants {
      let result = timed(Data(xml.utf8))
      switch result {
      case .success(let p):
        XCTAssertFalse("\(p.feed)".contains(marker), xml)
        XCTAssertFalse("\(p.diagnostics)".contains(marker), xml)
        XCTAssertEqual(p.format, .rss20)
      case .failure(let e):
        XCTAssertFalse("\(e)".contains(marker), xml)
      }
    }
  }

  func testMillionDeepNesting() {
    let depth = 1_000_000
    var xml = "<rss version=\"2.0\"><channel><title>deep</title><item><title>"
    xml += String(repeating: "<x>", count: depth)
    xml += String(repeating: "</x>", count: depth)
    xml += "</title></item></channel></rss>"
    let result = timed(Data(xml.utf8))
    switch result {
    case .success(let p):
      XCTAssertTrue(p.malformed)
      XCTAssertEqual(p.feed.title, "deep")
    case .failure(let e):
      XCTAssertNotEqual(e, .empty)
    }
    let plain = String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
    guard case .failure(.notAFeed) = timed(Data(plain.utf8)) else {
      return XCTFail("deep non-feed accepted")
    }
  }

  func testNULBytes() throws {
    var bytes = Array("<rss version=\"2.0\"><channel><title>a".utf8)
    bytes += [0, 0, 0]
    bytes += Array("b</title><item><title>i\u{0}</title></item></channel></rss>".utf8)
    guard case .success(let p) = timed(Data(bytes)) else { return XCTFail("NUL bytes rejected") }
    XCTAssertEqual(p.feed.title, "a\u{FFFD}\u{FFFD}\u{FFFD}b")
    XCTAssertEqual(p.feed.entries.count, 1)
    // A document of nothing but NULs.
    let zeros = timed(Data(repeating: 0, count: 100_000))
    guard case .failure = zeros else { return XCTFail("NULs parsed as a feed") }
  }

  func testTruncatedDocumentKeepsWhatWasThere() throws {
    let full = try FeedFixtures.data("wordpress-lt.xml")
    for cut in [full.count / 3, full.count / 2, full.count - 20] {
      let result = timed(full.prefix(cut))
      guard case .success(let p) = result else { return XCTFail("truncated at \(cut): \(result)") }
      XCTAssertTrue(p.malformed, "cut \(cut)")
      XCTAssertEqual(p.feed.title, "Žaliakalnio bendruomenė")
      XCTAssertNotNil(p.diagnostics.first?.line)
    }
    let result = timed(full.prefix(full.count - 20))
    if case .success(let p) = result { XCTAssertEqual(p.feed.entries.count, 2) }
    guard case .failure = timed(Data("<?xml version=\"1.0\"?><rs".utf8)) else {
      return XCTFail("half a tag accepted")
    }
  }

  func testSizeCapCheckedBeforeParsing() {
    let data = Data(repeating: 0x20, count: 2048)
    guard
      case .failure(.tooLarge(let size, let limit)) = timed(
        data, options: ParseOptions(maxBytes: 1024))
    else {
      return XCTFail("size cap not applied")
    }
    XCTAssertEqual(size, 2048)
    XCTAssertEqual(limit, 1024)
  }

  func testLargeTextBeyondCapIsRefused() {
    let xml =
      "<rss version=\"2.0\"><channel><title>" + String(repeating: "x", count: 1 << 20)
      + "</title></channel></rss>"
    assertHostile(timed(Data(xml.utf8), options: ParseOptions(maxTextBytes: 256 << 10)))
  }

  func testSmallInternalEntitiesAreNotHostile() throws {
    let xml =
      "<!DOCTYPE rss [<!ENTITY nbsp \"&#160;\"><!ENTITY copy \"&#169;\">]><rss version=\"2.0\"><channel><title>a&nbsp;b&copy;</title></channel></rss>"
    guard case .success(let p) = timed(Data(xml.utf8)) else { return XCTFail("nbsp refused") }
    XCTAssertEqual(p.feed.title, "a\u{a0}b©")
  }

  func testGarbageBytesDoNotCrash() {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<50 {
      let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
      _ = timed(Data([0x3C, 0x72, 0x73, 0x73, 0x3E] + bytes))
    }
  }
}
