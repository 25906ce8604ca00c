import FeedModel
import FeedParser
import Foundation
import TestSupport
import XCTest

@testable import Crawler

/// Limits that agree: the parser's caps follow `max_body`, so a body the fetch accepted is never
/// refused later by the parser with another limit, and a body over `max_body` fails with the
/// fetch's message.
final class BodyLimitTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  /// An RSS document of at least `size` bytes: two items, padded with comments (64 KiB each,
  /// well under libxml2's per-comment limit).
  private func paddedFeed(size: Int) -> [UInt8] {
    let base = rssFeed(2, prefix: "big")
    let comment = "<!--" + String(repeating: "x", count: 64 << 10) + "-->\n"
    let count = max(0, size - base.utf8.count) / comment.utf8.count + 1
    let padding = String(repeating: comment, count: count)
    let text = base.replacingOccurrences(of: "</channel>", with: padding + "</channel>")
    return Array(text.utf8)
  }

  func testEffectiveParseOptionsFollowMaxBody() {
    let defaults = ParseOptions()
    var options = CrawlerOptions.test(maxBody: 40 << 20)
    XCTAssertEqual(options.effectiveParseOptions.maxBytes, 40 << 20)
    XCTAssertEqual(
      options.effectiveParseOptions.maxTextBytes, 160 << 20,
      "the text cap keeps its default ratio to the byte cap")
    options.maxBody = 1 << 20
    XCTAssertEqual(options.effectiveParseOptions.maxBytes, 1 << 20)
    XCTAssertEqual(
      options.effectiveParseOptions.maxTextBytes, defaults.maxTextBytes,
      "a small max_body does not tighten the text cap below the tested default")
    options.maxBody = Int.max
    XCTAssertEqual(options.effectiveParseOptions.maxTextBytes, Int.max, "no overflow")
  }

  /// `max_body` larger than the parser's old default cap: a body between the two parses end to
  /// end (over HTTP and from a file); a body over `max_body` fails with the fetch's message,
  /// whether it declares its length or streams.
  func testLargerMaxBodyParsesEndToEnd() async throws {
    let parserDefault = ParseOptions().maxBytes
    let maxBody = parserDefault + (4 << 20)
    let big = paddedFeed(size: parserDefault + (1 << 20))
    XCTAssertGreaterThan(big.count, parserDefault)
    XCTAssertLessThan(big.count, maxBody)
    let over = paddedFeed(size: maxBody + 1)
    XCTAssertGreaterThan(over.count, maxBody)
    let chunk = [UInt8](repeating: UInt8(ascii: " "), count: 256 << 10)
    let h = try await Harness(options: .test(timeout: 60, maxBody: maxBody)) { req in
      switch req.path {
      case "/big": return .respond(status: 200, headers: [rssType], body: big)
      case "/over": return .respond(status: 200, headers: [rssType], body: over)
      default: return .endless(headers: [rssType], chunk: chunk, maxBytes: maxBody + (1 << 20))
      }
    }
    addTeardownBlock { await h.shutdown() }
    let dir = try TestSupport.makeTempDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("big.xml")
    try Data(big).write(to: file)
    try await h.crawler.setSources([
      h.source("big", "/big"), h.source("over", "/over"), h.source("stream", "/stream"),
      SourceDefinition(id: "file", url: file.absoluteString),
    ])
    let report = await h.crawler.crawlOnce()
    XCTAssertNil(h.state("big").lastError)
    XCTAssertNil(h.state("file").lastError)
    XCTAssertEqual(report.fetched, 2)
    XCTAssertEqual(h.store.entries["big"]?.count, 2)
    XCTAssertEqual(h.store.entries["file"]?.count, 2)
    XCTAssertEqual(report.failed, 2)
    XCTAssertEqual(h.state("over").lastError, "body over 20 MiB limit")
    XCTAssertEqual(h.state("stream").lastError, "body over 20 MiB limit")
  }
}
