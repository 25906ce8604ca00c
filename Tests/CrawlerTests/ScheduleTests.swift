import FeedModel
import Foundation
import XCTest

@testable import Crawler

final class ScheduleTests: XCTestCase {
  func testBackoffDoublesFromTheIntervalAndCaps() {
    let cap: TimeInterval = 86_400
    XCTAssertEqual(
      Schedule.backoff(interval: 1800, failures: 1, cap: cap, jitter: 0.5), 1800, accuracy: 0.001)
    XCTAssertEqual(
      Schedule.backoff(interval: 1800, failures: 2, cap: cap, jitter: 0.5), 3600, accuracy: 0.001)
    XCTAssertEqual(
      Schedule.backoff(interval: 1800, failures: 4, cap: cap, jitter: 0.5), 14_400, accuracy: 0.001)
    // 1800 · 2^5 = 57 600; 2^6 would pass the cap.
    XCTAssertEqual(
      Schedule.backoff(interval: 1800, failures: 6, cap: cap, jitter: 0.5), 57_600, accuracy: 0.001)
    XCTAssertEqual(
      Schedule.backoff(interval: 1800, failures: 7, cap: cap, jitter: 0.5), cap * 1.0,
      accuracy: 0.001)
    // Retries forever without overflow.
    XCTAssertEqual(Schedule.backoff(interval: 1800, failures: 10_000, cap: cap, jitter: 0.5), cap)
    // Zero failures is treated as the first.
    XCTAssertEqual(
      Schedule.backoff(interval: 600, failures: 0, cap: cap, jitter: 0.5), 600, accuracy: 0.001)
  }

  func testBackoffJitterIsTenPercentAndNeverPassesTheCap() {
    XCTAssertEqual(
      Schedule.backoff(interval: 1000, failures: 2, cap: 86_400, jitter: 0), 1800, accuracy: 0.001)
    XCTAssertEqual(
      Schedule.backoff(interval: 1000, failures: 2, cap: 86_400, jitter: 1), 2200, accuracy: 0.001)
    for _ in 0..<100 {
      let d = Schedule.backoff(
        interval: 1000, failures: 30, cap: 5000, jitter: Double.random(in: 0..<1))
      XCTAssertLessThanOrEqual(d, 5000)
      XCTAssertGreaterThanOrEqual(d, 4500)
    }
  }

  func testNextDueHonoursHintsAndRetryAfter() {
    let now = Date(timeIntervalSince1970: 1_000_000)
    func due(
      _ r: Schedule.FetchResultKind, failures: Int = 0, hint: TimeInterval? = nil,
      retry: TimeInterval? = nil
    )
      -> TimeInterval
    {
      Schedule.nextDue(
        now: now, result: r, interval: 600, failures: failures, hint: hint, retryAfter: retry,
        cap: 86_400, jitter: 0.5
      ).timeIntervalSince(now)
    }
    XCTAssertEqual(due(.success), 600)
    XCTAssertEqual(
      due(.success, hint: 60), 600, "a shorter hint never polls sooner than the interval")
    XCTAssertEqual(due(.success, hint: 3600), 3600, "never earlier than the server's hint")
    XCTAssertEqual(due(.success, hint: 10 * 86_400), 86_400, "hints are capped")
    XCTAssertEqual(due(.failure, failures: 3), 2400, accuracy: 0.001)
    XCTAssertEqual(due(.failure, failures: 1, retry: 7200), 7200)
    XCTAssertEqual(due(.failure, failures: 3, retry: 10), 2400, accuracy: 0.001)
    XCTAssertEqual(
      Schedule.nextDue(
        now: now, result: .gone, interval: 600, failures: 1, hint: nil, retryAfter: nil,
        cap: 86_400,
        jitter: 0), .distantFuture)
  }

  func testStartupSpreadIsDeterministicAndBounded() {
    // A handful of sources all start within a few seconds.
    for id in ["a", "b", "klaster-lt", "x-y-z"] {
      let d = Schedule.startupDelay(id: id, count: 4, interval: 1800)
      XCTAssertGreaterThanOrEqual(d, 0)
      XCTAssertLessThan(d, 2.0)
      XCTAssertEqual(d, Schedule.startupDelay(id: id, count: 4, interval: 1800))
    }
    // Many sources spread over the interval, never beyond it, and not all at once.
    let delays = (0..<10_000).map {
      Schedule.startupDelay(id: "s\($0)", count: 10_000, interval: 1800)
    }
    XCTAssertLessThan(delays.max()!, 1800)
    XCTAssertLessThan(
      delays.filter { $0 < 18 }.count, 300, "about 1 % in the first 1 % of the window")
    XCTAssertGreaterThan(delays.filter { $0 > 900 }.count, 4000)
    XCTAssertEqual(Schedule.startupDelay(id: "only", count: 0, interval: 1800), 0)
  }

  func testRetryAfterForms() {
    let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT
    XCTAssertEqual(ServerHints.retryAfter("120", now: now), 120)
    XCTAssertEqual(ServerHints.retryAfter(" 0 ", now: now), 0)
    XCTAssertEqual(ServerHints.retryAfter("Sun, 06 Nov 1994 09:49:37 GMT", now: now), 3600)
    XCTAssertEqual(
      ServerHints.retryAfter("Sun, 06 Nov 1994 07:49:37 GMT", now: now), 0, "past dates mean now")
    XCTAssertNil(ServerHints.retryAfter("soon", now: now))
  }

  func testHTTPDates() {
    let expected = Date(timeIntervalSince1970: 784_111_777)
    XCTAssertEqual(ServerHints.httpDate("Sun, 06 Nov 1994 08:49:37 GMT"), expected)
    XCTAssertEqual(ServerHints.httpDate("Sunday, 06-Nov-94 08:49:37 GMT"), expected)
    XCTAssertEqual(ServerHints.httpDate("Sun Nov  6 08:49:37 1994"), expected)
    XCTAssertEqual(
      ServerHints.httpDate("Thu, 29 Feb 2024 23:59:59 GMT"),
      Date(timeIntervalSince1970: 1_709_251_199))
    XCTAssertNil(ServerHints.httpDate("Sun, 06 Foo 1994 08:49:37 GMT"))
    XCTAssertNil(ServerHints.httpDate("yesterday"))
  }

  func testCacheHints() {
    XCTAssertEqual(ServerHints.maxAge(cacheControl: "public, max-age=3600"), 3600)
    XCTAssertEqual(ServerHints.maxAge(cacheControl: "max-age=\"60\""), 60)
    XCTAssertNil(ServerHints.maxAge(cacheControl: "no-cache, max-age=3600"))
    XCTAssertNil(ServerHints.maxAge(cacheControl: "private"))
    let now = Date(timeIntervalSince1970: 784_111_777)
    XCTAssertEqual(ServerHints.expires("Sun, 06 Nov 1994 10:49:37 GMT", now: now), 7200)
    XCTAssertNil(ServerHints.expires("0", now: now))
    XCTAssertNil(ServerHints.expires("Sun, 06 Nov 1994 07:49:37 GMT", now: now))
  }

  func testXXH64KnownVectors() {
    func h(_ s: String) -> UInt64 { BodyHash.hash64(s) }
    XCTAssertEqual(h(""), 0xEF46_DB37_51D8_E999)
    XCTAssertEqual(h("abc"), 0x44BC_2CF5_AD77_0999)
    XCTAssertEqual(h("Nobody inspects the spammish repetition"), 0xFBCE_A83C_8A37_8BF1)
    XCTAssertEqual(BodyHash.hex(Data("abc".utf8)), "xxh64:44bc2cf5ad770999")
    XCTAssertNotEqual(BodyHash.hex(Data("abd".utf8)), BodyHash.hex(Data("abc".utf8)))
  }

  func testHostQueuesRoundRobinRespectsAvailability() {
    let defs = [
      "http://a.example/1", "http://a.example/2", "http://a.example/3", "http://b.example/1",
      "file:///tmp/x.xml",
    ].enumerated().map { SourceDefinition(id: "s\($0.offset)", url: $0.element) }
    var q = HostQueues(defs)
    var busy: [String: Int] = [:]
    var order: [String] = []
    while let (host, d) = q.pop(where: { h in h == nil || busy[h!, default: 0] < 1 }) {
      if let host { busy[host, default: 0] += 1 }
      order.append(d.id)
    }
    // One per host while each host is busy; the file source has no host limit.
    XCTAssertEqual(Set(order), ["s0", "s3", "s4"])
    busy = [:]
    while let (_, d) = q.pop(where: { _ in true }) { order.append(d.id) }
    XCTAssertEqual(order.count, 5)
    XCTAssertTrue(q.isEmpty)
  }

  func testErrorMessagesFormatLimits() {
    XCTAssertEqual(formatBytes(10 << 20), "10 MiB")
    XCTAssertEqual(formatBytes(512 << 10), "512 KiB")
    XCTAssertEqual(formatBytes(1000), "1000 bytes")
    XCTAssertEqual(formatSeconds(30), "30 s")
    XCTAssertEqual(formatSeconds(0.25), "250 ms")
  }
}
