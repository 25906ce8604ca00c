import FeedModel
import FeedStore
import Foundation
import HTTPTypes
import Logging
import Publisher
import PublishingTestSupport
import TestSupport
import XCTest

@testable import Server

/// The channel-level fast path (`CachedDocumentHandler`) against the Hummingbird path it
/// short-cuts: same status, fields (but `Date`) and bytes for every variant, responses in
/// request order when pipelined, fresh documents after a store change, counters, keep-alive.
final class FastPathTests: XCTestCase {
  static let t0 = Date(timeIntervalSince1970: 1_790_000_000)

  func makeStore() -> MemoryStore {
    let store = MemoryStore(sources: [
      SourceState(
        id: "ict", url: "https://ict.example.lt/feed/", title: "IT klasteris", categories: ["ict"])
    ])
    for i in 0..<30 {
      store.add(
        sourceID: "ict",
        entry: Entry(
          title: "Naujiena \(i)", link: "https://ict.example.lt/\(i)",
          summary: .html("<p>\(String(repeating: "Tekstas apie klasterį. ", count: 10))</p>")),
        sortDate: Self.t0.addingTimeInterval(Double(-i * 60)), language: "lt")
    }
    return store
  }

  func start(
    _ store: MemoryStore, options: ServerOptions = ServerOptions(),
    metrics: CountingMetrics = CountingMetrics()
  ) async throws -> (port: Int, task: Task<Void, any Error>, publisher: Publisher) {
    let publisher = Publisher(
      store: store,
      options: PublisherOptions(
        baseURL: URL(string: "https://news.example.org/")!, title: "Naujienos", author: "Tinklas",
        entriesPerPage: 20, generatorVersion: "test", hubs: [URL(string: "https://hub.example/")!]))
    let (port, task) = await runTestServer(
      publisher: publisher, options: options, label: "fast-path-test",
      metrics: { "# metrics\n" }, metricsFactory: metrics)
    return (port, task, publisher)
  }

  /// Every variant answered by the fast path equals Hummingbird's answer, but for `Date`: a
  /// `Connection` field sends the same request down Hummingbird's path, on the same connection
  /// and on another one.
  func testFastAnswersEqualHummingbirdsForEveryVariant() async throws {
    let (port, task, _) = try await start(makeStore())
    defer { task.cancel() }
    let c = try XCTUnwrap(RawConnection(port: port))
    let other = try XCTUnwrap(RawConnection(port: port))
    let first = try XCTUnwrap(c.get("/feed.atom"))
    XCTAssertEqual(first.status, 200)
    let etag = try XCTUnwrap(first.headers["etag"])
    let gzipETag = String(etag.dropLast()) + "-gz\""
    let variants: [[String: String]] = [
      [:],
      ["If-None-Match": etag],
      ["If-None-Match": "W/\(etag)"],
      ["If-None-Match": "\"other\", \t\(gzipETag) "],
      ["If-None-Match": "*"],
      ["If-None-Match": "\"other\""],
      ["Accept-Encoding": "gzip, br"],
      ["Accept-Encoding": "gzip;q=0"],
      ["accept-encoding": "deflate, *"],
      ["Accept-Encoding": "gzip", "If-None-Match": gzipETag],
      ["If-Modified-Since": try XCTUnwrap(first.headers["last-modified"])],
      ["If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"],
      ["If-Modified-Since": "not a date"],
    ]
    for extra in variants {
      var slowHeaders = extra
      slowHeaders["Connection"] = "keep-alive"
      let slow = try XCTUnwrap(c.get("/feed.atom", headers: slowHeaders), "\(extra)")
      for (name, conn) in [("same", c), ("other", other)] {
        let fast = try XCTUnwrap(conn.get("/feed.atom", headers: extra), "\(name) \(extra)")
        XCTAssertEqual(fast.status, slow.status, "\(name) \(extra)")
        XCTAssertEqual(
          fast.headers.filter { $0.key != "date" }, slow.headers.filter { $0.key != "date" },
          "\(name) \(extra)")
        XCTAssertNotNil(fast.headers["date"])
        XCTAssertEqual(fast.body, slow.body, "\(name) \(extra)")
      }
    }
    XCTAssertEqual(other.get("/feed.atom", headers: ["If-None-Match": etag])?.status, 304)
    XCTAssertNotNil(
      other.get("/feed.atom", headers: ["Accept-Encoding": "gzip"])?.headers["content-encoding"])
    // Requests the fast path passes on (a page, another route, a method) or answers with a body
    // to drop (`Content-Length: 0`), on a new connection each: every one is answered and the
    // connection keeps working.
    for request in [
      "GET /feed.atom?before=1-1 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /feed.atom HTTP/1.0\r\nHost: x\r\n\r\n",
      "POST /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab",
      "GET /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
      "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
      let c = try XCTUnwrap(RawConnection(port: port))
      XCTAssertTrue(c.send(request))
      let r = try XCTUnwrap(c.readResponse(), request)
      XCTAssertTrue([200, 405].contains(r.status), "\(request): \(r.status)")
      // The connection still works afterwards (HTTP/1.0 without keep-alive ends the connection).
      if !request.contains("HTTP/1.0") {
        XCTAssertEqual(c.get("/feed.atom")?.status, 200, request)
      }
    }
  }

  /// HEAD: the GET's head (Content-Length of the representation), no body; the next response on
  /// the connection follows at once.
  func testHeadHasTheHeadersAndNoBody() async throws {
    let (port, task, _) = try await start(makeStore())
    defer { task.cancel() }
    let c = try XCTUnwrap(RawConnection(port: port))
    let get = try XCTUnwrap(c.get("/feed.atom"))
    _ = c.get("/feed.atom")
    XCTAssertTrue(
      c.send(
        "HEAD /feed.atom HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
    _ = c.closedByPeer(within: 1)
    let text = c.received
    let heads = text.components(separatedBy: "\r\n\r\n")
    XCTAssertTrue(heads[0].hasPrefix("HTTP/1.1 200 OK"), text)
    XCTAssertTrue(
      heads[0].lowercased().contains("content-length: \(get.body.count)"), heads[0])
    XCTAssertTrue(heads[1].hasPrefix("HTTP/1.1 200 OK"), "no body after the HEAD response: \(text)")
    XCTAssertTrue(heads[1].contains("text/plain"), heads[1])
  }

  /// Pipelined requests mixing both paths are answered in request order.
  func testPipelinedResponsesStayInOrder() async throws {
    let (port, task, _) = try await start(makeStore())
    defer { task.cancel() }
    let c = try XCTUnwrap(RawConnection(port: port))
    _ = c.get("/feed.atom")
    var burst = ""
    let paths = ["/healthz", "/feed.atom", "/metrics", "/feed.atom", "/feed.atom", "/nope"]
    for p in paths { burst += "GET \(p) HTTP/1.1\r\nHost: x\r\n\r\n" }
    XCTAssertTrue(c.send(burst))
    var statuses: [Int] = []
    var types: [String] = []
    for _ in paths {
      let r = try XCTUnwrap(c.readResponse())
      statuses.append(r.status)
      types.append(r.headers["content-type"] ?? "")
    }
    XCTAssertEqual(statuses, [200, 200, 200, 200, 200, 404])
    XCTAssertEqual(
      types.map { $0.hasPrefix("application/atom+xml") }, [false, true, false, true, true, false])
  }

  /// A store change (with `invalidate()`, as the daemon does after a commit) is served at once;
  /// the fast path never answers with the old version.
  func testAStoreChangeIsServedAtOnce() async throws {
    let store = makeStore()
    let (port, task, publisher) = try await start(store)
    defer { task.cancel() }
    let c = try XCTUnwrap(RawConnection(port: port))
    let before = try XCTUnwrap(c.get("/feed.atom")?.headers["etag"])
    XCTAssertEqual(c.get("/feed.atom")?.headers["etag"], before)
    store.add(
      sourceID: "ict", entry: Entry(title: "Nauja žinia", link: "https://ict.example.lt/new"),
      sortDate: Self.t0.addingTimeInterval(60))
    await publisher.invalidate()
    let after = try XCTUnwrap(c.get("/feed.atom"))
    XCTAssertNotEqual(after.headers["etag"], before)
    XCTAssertTrue(String(decoding: after.body, as: UTF8.self).contains("Nauja žinia"))
    XCTAssertEqual(c.get("/feed.atom", headers: ["If-None-Match": before])?.status, 200)
  }

  /// Requests answered on the event loop count in `clusterwire_http_requests_total` as before.
  func testFastAnswersAreCounted() async throws {
    let metrics = CountingMetrics()
    let (port, task, _) = try await start(makeStore(), metrics: metrics)
    defer { task.cancel() }
    let c = try XCTUnwrap(RawConnection(port: port))
    let etag = try XCTUnwrap(c.get("/feed.atom")?.headers["etag"])
    for _ in 0..<5 { _ = c.get("/feed.atom") }
    for _ in 0..<3 { _ = c.get("/feed.atom", headers: ["If-None-Match": etag]) }
    XCTAssertEqual(metrics.value("/feed.atom", "200"), 6)
    XCTAssertEqual(metrics.value("/feed.atom", "304"), 3)
  }

  /// A connection kept busy by fast answers is not idle: it outlives the idle timeout, and is
  /// closed once it really is idle.
  func testBusyKeepAliveOutlivesTheIdleTimeout() async throws {
    let (port, task, _) = try await start(
      makeStore(), options: ServerOptions(idleTimeout: .seconds(1), requestHeadTimeout: .seconds(1))
    )
    defer { task.cancel() }
    let c = try XCTUnwrap(RawConnection(port: port))
    let start = Date()
    while Date().timeIntervalSince(start) < 2.5 {
      XCTAssertEqual(c.get("/feed.atom")?.status, 200)
      try await Task.sleep(for: .milliseconds(150))
    }
    XCTAssertTrue(c.closedByPeer(within: 4), "closed after a second of real idleness")
  }

  // MARK: the byte-level rules

  func testAcceptEncodingRules() {
    let cases: [(String?, Bool)] = [
      (nil, false), ("", false), ("gzip", true), ("GZip", true), ("x-gzip", true),
      ("gzip;q=0", false), ("gzip; q=0.0", false), ("gzip;Q=0", false), ("gzip;q=0.5", true),
      ("gzip;q=abc", true), ("deflate", false), ("*", true), ("*;q=0", false),
      ("deflate, *;q=0.1", true), ("br, gzip;q=0, *", false), ("identity, *;q=1, *;q=0", false),
      (" ,  gzip ", true), (";q=1, gzip", true), ("gzipx", false), ("; gzip", true),
      ("deflate ; gzip", false),
    ]
    for (header, expected) in cases {
      var fields = HTTPFields()
      if let header { fields[.acceptEncoding] = header }
      XCTAssertEqual(Conditional.acceptsGzip(fields), expected, "\(header ?? "nil")")
    }
    // Two fields read as one list.
    var two = HTTPFields()
    two.append(HTTPField(name: .acceptEncoding, value: "br, *;q=0"))
    two.append(HTTPField(name: .acceptEncoding, value: "gzip"))
    XCTAssertTrue(Conditional.acceptsGzip(two))
  }

  func testIfNoneMatchRules() {
    let tag = Array("\"abc-1\"".utf8)
    let gz = Array("\"abc-1-gz\"".utf8)
    func hit(_ value: String) -> Bool {
      var value = value
      return value.withUTF8 { Conditional.noneMatchHits($0, etag: tag, gzipETag: gz) }
    }
    XCTAssertTrue(hit("\"abc-1\""))
    XCTAssertTrue(hit("W/\"abc-1\""))
    XCTAssertTrue(hit("\"x\", \"abc-1-gz\""))
    XCTAssertTrue(hit(" * "))
    XCTAssertTrue(hit("\"x\",,\t\"abc-1\"\t"))
    XCTAssertFalse(hit("\"abc-1"))
    XCTAssertFalse(hit("\"abc-12\""))
    XCTAssertFalse(hit("w/\"abc-1\""))
    XCTAssertFalse(hit(""))
    var fields = HTTPFields()
    fields[.ifNoneMatch] = "\"x\""
    fields[.ifModifiedSince] = "Sat, 01 Jan 2100 00:00:00 GMT"
    XCTAssertFalse(
      Conditional.notModified(fields, etag: tag, gzipETag: gz, lastModified: Self.t0),
      "If-None-Match wins over If-Modified-Since")
    fields[.ifNoneMatch] = nil
    XCTAssertTrue(Conditional.notModified(fields, etag: tag, gzipETag: gz, lastModified: Self.t0))
  }
}
