import Foundation
import FuzzChecks
import XCTest

/// Replays the committed seed corpus and every fuzzer finding (`Tests/Fuzz/regressions/<target>/`)
/// through the fuzz targets' own invariant checks, so `swift test` keeps both honest.
final class FuzzRegressionTests: XCTestCase {
  static let fuzzDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()

  override class func setUp() {
    super.setUp()
    FuzzChecks.setUp()
  }

  /// Every input under `Tests/Fuzz/<kind>/<target>/` passes `target`'s checks; returns how many ran.
  @discardableResult
  func replay(
    _ kind: String, _ target: FuzzTarget, file: StaticString = #filePath, line: UInt = #line
  ) -> Int {
    let dir = Self.fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(
      target.rawValue)
    let inputs = FuzzInputs.files(under: dir)
    for input in inputs {
      do {
        try FuzzChecks.check(target, try Data(contentsOf: input))
      } catch {
        XCTFail(
          "\(kind)/\(target.rawValue)/\(input.lastPathComponent): \(error)", file: file, line: line)
      }
    }
    return inputs.count
  }

  // One test per target over Tests/Fuzz/regressions/<target>/: every crash, leak or invariant
  // failure the fuzzers found, kept as the input that showed it (see README.md there).

  func testParserRegressions() { XCTAssertGreaterThan(replay("regressions", .parser), 0) }
  func testParserContentTypeRegressions() {
    XCTAssertGreaterThan(replay("regressions", .parserCT), 0)
  }
  func testSanitizerRegressions() { replay("regressions", .sanitizer) }
  func testScraperRegressions() { XCTAssertGreaterThan(replay("regressions", .scraper), 0) }
  func testDateRegressions() { XCTAssertGreaterThan(replay("regressions", .date), 0) }
  func testConfigRegressions() { XCTAssertGreaterThan(replay("regressions", .config), 0) }
  func testOPMLRegressions() { replay("regressions", .opml) }
  func testListingRegressions() { replay("regressions", .listing) }

  /// The checks themselves catch what they claim to (an oracle that passes everything is no test).
  func testChecksRejectUnsafeOutput() {
    XCTAssertNotNil(FuzzChecks.htmlViolation("<a href=\"java&#9;script:alert(1)\">x</a>"))
    XCTAssertNotNil(FuzzChecks.htmlViolation("<p onclick=\"x()\">x</p>"))
    XCTAssertNotNil(FuzzChecks.htmlViolation("<img src=\"data:text/html,x\">"))
    XCTAssertNotNil(FuzzChecks.htmlViolation("<svg></svg>"))
    XCTAssertNotNil(FuzzChecks.htmlViolation("a\u{12}b"))
    XCTAssertNil(FuzzChecks.htmlViolation("<p>Sveiki <a href=\"https://klaster.lt/\">x</a></p>"))
    XCTAssertNil(FuzzChecks.htmlViolation("<img src=\"data:image/png;base64,iVBO\" alt=\"a\"/>"))
  }

  func testSeedCorpusPassesEveryTarget() {
    for target in FuzzTarget.allCases {
      XCTAssertGreaterThan(replay("corpus", target), 0, "no seeds for \(target.rawValue)")
    }
  }
}
