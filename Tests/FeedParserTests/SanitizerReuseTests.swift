import FeedModel
import FeedParser
import Foundation
import TestSupport
import XCTest

/// Issue 17, "sanitise only what changed", in the parser: fragments are keyed by raw HTML, base
/// URL and policy version, a stored result is taken for a key it is given, and reusing every
/// stored result gives exactly the cold parse.
final class SanitizerReuseTests: XCTestCase {
  private let base = URL(string: "https://narys.example.lt/feed/")

  private func parse(
    _ data: Data, reuse: [SanitizerKey: String] = [:], policy: Int = HTMLSanitizer.policyVersion,
    base: URL? = URL(string: "https://narys.example.lt/feed/")
  ) throws -> ParsedFeed {
    try FeedParser.parse(
      data, baseURL: base,
      options: ParseOptions(reusableHTML: reuse, sanitizerPolicy: policy))
  }

  /// What a store would hand back after keeping `parsed`: every keyed fragment's value.
  private func stored(_ parsed: ParsedFeed) -> [SanitizerKey: String] {
    var map: [SanitizerKey: String] = [:]
    for e in parsed.feed.entries {
      for (key, html) in e.reusableHTML { map[key] = html }
    }
    return map
  }

  func testFragmentsThatNeedTheSanitiserAreKeyedAndPlainTextIsNot() throws {
    let parsed = try parse(ParallelSanitizeTests.busyFeed())
    let entries = parsed.feed.entries
    XCTAssertEqual(entries.count, 150)
    // Item 0: markup in the description; 1: content:encoded; 2: itunes:summary fallback;
    // 3: plain description and an HTML media:description; 4: escaped broken markup.
    XCTAssertNotNil(entries[0].sanitizerKeys?.summary)
    XCTAssertNil(entries[0].sanitizerKeys?.content)
    XCTAssertNotNil(entries[1].sanitizerKeys?.content)
    XCTAssertNotNil(entries[2].sanitizerKeys?.summary, "the itunes:summary fallback is keyed")
    XCTAssertNil(entries[3].sanitizerKeys?.summary, "plain text needs no sanitiser")
    XCTAssertNotNil(entries[3].sanitizerKeys?.media)
    XCTAssertEqual(entries[0].sanitizerKeys?.policy, HTMLSanitizer.policyVersion)
    XCTAssertEqual(parsed.reusedFragments, 0)
    XCTAssertEqual(parsed.sanitizedFragments, 150, "one fragment per item")
    // Keys are stable from one parse to the next, and distinct per fragment.
    let again = try parse(ParallelSanitizeTests.busyFeed())
    XCTAssertEqual(again.feed.entries.map(\.sanitizerKeys), entries.map(\.sanitizerKeys))
    let all = entries.compactMap(\.sanitizerKeys).flatMap { [$0.summary, $0.content, $0.media] }
      .compactMap { $0 }
    XCTAssertEqual(Set(all).count, all.count)
  }

  func testTheKeyCoversRawHTMLBaseAndPolicy() {
    let raw = #"<p>Apie <a href="/n/1">daugiau</a></p>"#
    let k = SanitizerKey(policy: 1, base: "https://a.example/", raw: raw)
    XCTAssertEqual(k, SanitizerKey(policy: 1, base: "https://a.example/", raw: raw))
    XCTAssertNotEqual(k, SanitizerKey(policy: 2, base: "https://a.example/", raw: raw))
    XCTAssertNotEqual(k, SanitizerKey(policy: 1, base: "https://b.example/", raw: raw))
    XCTAssertNotEqual(k, SanitizerKey(policy: 1, base: nil, raw: raw))
    XCTAssertNotEqual(k, SanitizerKey(policy: 1, base: "https://a.example/", raw: raw + " "))
    // Part boundaries count: moving bytes from the base into the HTML is another key.
    XCTAssertNotEqual(
      SanitizerKey(policy: 1, base: "https://a.example/x", raw: "<p>"),
      SanitizerKey(policy: 1, base: "https://a.example/", raw: "x<p>"))
    XCTAssertEqual(SanitizerKey(hex: k.hex), k)
    XCTAssertEqual(k.hex.count, 32)
    XCTAssertNil(SanitizerKey(hex: "xyz"))
  }

  func testAStoredResultIsTakenInsteadOfSanitising() throws {
    let data = ParallelSanitizeTests.busyFeed()
    let cold = try parse(data)
    let key = try XCTUnwrap(
      cold.feed.entries[5].sanitizerKeys?.summary.flatMap(SanitizerKey.init(hex:)))
    // A value the sanitiser could never produce from item 5's HTML proves it was not run.
    let warm = try parse(data, reuse: [key: "<p>iš saugyklos</p>"])
    XCTAssertEqual(warm.feed.entries[5].summary?.value, "<p>iš saugyklos</p>")
    XCTAssertEqual(warm.feed.entries[5].sanitizerKeys, cold.feed.entries[5].sanitizerKeys)
    XCTAssertEqual(warm.reusedFragments, 1)
    XCTAssertEqual(warm.sanitizedFragments, 149)
    XCTAssertEqual(warm.feed.entries[0], cold.feed.entries[0])
    // Against another base URL the same raw HTML is another key: nothing is reused.
    let moved = try parse(
      data, reuse: [key: "<p>iš saugyklos</p>"], base: URL(string: "https://kitas.example/"))
    XCTAssertEqual(moved.reusedFragments, 0)
    XCTAssertNotEqual(moved.feed.entries[5].summary?.value, "<p>iš saugyklos</p>")
  }

  func testReusingEverythingGivesTheColdParseOnEveryFixture() throws {
    let dir = TestSupport.fixture("FeedParserTests", "feeds")
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    XCTAssertGreaterThan(names.count, 20)
    var reusedTotal = 0
    for name in names + ["busy"] {
      let data =
        name == "busy"
        ? ParallelSanitizeTests.busyFeed() : try Data(contentsOf: dir.appendingPathComponent(name))
      guard let cold = try? parse(data) else { continue }
      let warm = try parse(data, reuse: stored(cold))
      XCTAssertEqual(warm.feed, cold.feed, name)
      XCTAssertEqual(warm.sanitizedFragments, 0, name)
      XCTAssertEqual(warm.reusedFragments, cold.sanitizedFragments, name)
      reusedTotal += warm.reusedFragments
    }
    XCTAssertGreaterThan(reusedTotal, 150)
  }

  func testAnOlderPolicyReusesNothing() throws {
    let data = ParallelSanitizeTests.busyFeed()
    let old = try parse(data, policy: HTMLSanitizer.policyVersion - 1)
    XCTAssertEqual(old.feed.entries[0].sanitizerKeys?.policy, HTMLSanitizer.policyVersion - 1)
    let now = try parse(data, reuse: stored(old))
    XCTAssertEqual(now.reusedFragments, 0, "keys of another policy never match")
    XCTAssertEqual(now.sanitizedFragments, 150)
    XCTAssertEqual(now.feed.entries[0].sanitizerKeys?.policy, HTMLSanitizer.policyVersion)
  }

  func testResanitisingStoredHTMLIsIdempotentAndMarksThePolicy() throws {
    let dir = TestSupport.fixture("FeedParserTests", "feeds")
    var checked = 0
    for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() + ["busy"] {
      let data =
        name == "busy"
        ? ParallelSanitizeTests.busyFeed() : try Data(contentsOf: dir.appendingPathComponent(name))
      guard let parsed = try? parse(data) else { continue }
      for e in parsed.feed.entries
      where [e.summary, e.content, e.media?.description].contains(where: { $0?.type == .html }) {
        // Sanitising the sanitiser's output again changes nothing: even with `all`, nothing to
        // rewrite. Under an older policy mark the same HTML comes back, marked current.
        XCTAssertNil(HTMLSanitizer.resanitized(e, all: true), name)
        var old = e
        old.sanitizerKeys = SanitizerKeys(policy: HTMLSanitizer.policyVersion - 1)
        let again = try XCTUnwrap(HTMLSanitizer.resanitized(old), name)
        XCTAssertEqual(again.summary, e.summary, name)
        XCTAssertEqual(again.content, e.content, name)
        XCTAssertEqual(again.media, e.media, name)
        XCTAssertEqual(again.sanitizerKeys, SanitizerKeys(policy: HTMLSanitizer.policyVersion))
        checked += 1
      }
    }
    XCTAssertGreaterThan(checked, 150)
    // Under the current policy already: nothing to do (unless asked for all).
    let current = Entry(
      summary: Text(type: .html, value: "<p>a</p>"),
      sanitizerKeys: SanitizerKeys(policy: HTMLSanitizer.policyVersion))
    XCTAssertNil(HTMLSanitizer.resanitized(current))
    XCTAssertNil(HTMLSanitizer.resanitized(Entry(summary: Text(type: .text, value: "<p>a"))))
    // HTML of an older policy (here: what an older sanitiser let through) is cleaned.
    let old = Entry(
      summary: Text(type: .html, value: #"<p onclick="x()">a<script>bad()</script></p>"#),
      sanitizerKeys: SanitizerKeys(policy: 0, summary: String(repeating: "0", count: 32)))
    let cleaned = try XCTUnwrap(HTMLSanitizer.resanitized(old))
    XCTAssertEqual(cleaned.summary?.value, "<p>a</p>")
    XCTAssertEqual(cleaned.sanitizerKeys, SanitizerKeys(policy: HTMLSanitizer.policyVersion))
  }
}
