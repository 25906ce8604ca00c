import AsyncHTTPClient
import FeedModel
import FeedStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Publisher
import PublishingTestSupport
import Server
import TestSupport
import XCTest

/// The server through a real HTTP client on 127.0.0.1.
final class ServerTests: XCTestCase {
  static let base = URL(string: "https://news.example.org/")!
  static let t0 = Date(timeIntervalSince1970: 1_790_000_000)

  final class Ready: @unchecked Sendable {
    let lock = NSLock()
    var ready = true
    var reason = "ok"
  }

  struct Running {
    var port: Int
    var task: Task<Void, any Error>
    var client: HTTPClient
    var url: String { "http://127.0.0.1:\(port)" }
  }

  func makeStore() -> MemoryStore {
    let store = MemoryStore(sources: [
      SourceState(
        id: "ict", url: "https://ict.example.lt/feed/", title: "IT klasteris", categories: ["ict"],
        entryCount: 40),
      SourceState(
        id: "eccp", url: "https://eccp.example.eu/feed", title: "ECCP", categories: ["energy"]),
    ])
    // More than two pages: the current Atom document holds up to two (RFC 5005 archiving).
    for i in 0..<50 {
      store.add(
        sourceID: i % 2 == 0 ? "ict" : "eccp",
        entry: Entry(
          title: "Naujiena \(i)", link: "https://ict.example.lt/\(i)",
          summary: .html("<p>\(String(repeating: "Pakartotinis tekstas. ", count: 20))</p>")),
        sortDate: Self.t0.addingTimeInterval(Double(-i * 60)), language: "lt")
    }
    return store
  }

  func start(
    _ store: MemoryStore, ready: Ready = Ready(), metricsText: String = "# none\n",
    factory: CountingMetrics = CountingMetrics()
  ) async throws -> Running {
    let publisher = Publisher(
      store: store,
      options: PublisherOptions(
        baseURL: Self.base, title: "Naujienos", author: "Tinklas", entriesPerPage: 20,
        generatorVersion: "test"))
    let (port, task) = await runTestServer(
      publisher: publisher, options: ServerOptions(), label: "server-test",
      readiness: { ready.lock.withLock { (ready.ready, ready.reason) } },
      metrics: { metricsText }, metricsFactory: factory)
    return Running(port: port, task: task, client: HTTPClient(eventLoopGroupProvider: .singleton))
  }

  func stop(_ r: Running) async throws {
    try await r.client.shutdown()
    r.task.cancel()
    _ = try? await r.task.value
  }

  func get(
    _ r: Running, _ path: String, method: HTTPMethod = .GET, headers: [(String, String)] = []
  ) async throws -> (HTTPClientResponse, [UInt8]) {
    var req = HTTPClientRequest(url: r.url + path)
    req.method = method
    for (k, v) in headers { req.headers.add(name: k, value: v) }
    let resp = try await r.client.execute(req, timeout: .seconds(10))
    let body = try await resp.body.collect(upTo: 10 << 20)
    return (resp, Array(buffer: body))
  }

  func testDocumentsWithValidatorsConditionalRequestsAndHead() async throws {
    let r = try await start(makeStore())
    do {
      let (resp, body) = try await get(r, "/feed.atom")
      XCTAssertEqual(resp.status, .ok)
      XCTAssertEqual(
        resp.headers.first(name: "content-type"), "application/atom+xml; charset=utf-8")
      XCTAssertEqual(resp.headers.first(name: "cache-control"), "public, max-age=300")
      XCTAssertEqual(resp.headers.first(name: "vary"), "Accept-Encoding")
      XCTAssertNil(resp.headers.first(name: "content-encoding"))
      let etag = try XCTUnwrap(resp.headers.first(name: "etag"))
      XCTAssertTrue(etag.hasPrefix("\"") && !etag.hasPrefix("W/"))
      let lastModified = try XCTUnwrap(resp.headers.first(name: "last-modified"))
      XCTAssertTrue(lastModified.hasSuffix(" GMT"))
      XCTAssertEqual(resp.headers.first(name: "content-length"), String(body.count))
      XCTAssertTrue(
        String(decoding: body, as: UTF8.self).contains(
          "<feed xmlns=\"http://www.w3.org/2005/Atom\""))

      // Same bytes again, same validator.
      let (again, body2) = try await get(r, "/feed.atom")
      XCTAssertEqual(again.headers.first(name: "etag"), etag)
      XCTAssertEqual(body2, body)

      // If-None-Match → 304 with no body.
      let (nm, nmBody) = try await get(r, "/feed.atom", headers: [("If-None-Match", etag)])
      XCTAssertEqual(nm.status, .notModified)
      XCTAssertTrue(nmBody.isEmpty)
      XCTAssertEqual(nm.headers.first(name: "etag"), etag)
      let (nm2, _) = try await get(
        r, "/feed.atom", headers: [("If-None-Match", "\"other\", \(etag)")])
      XCTAssertEqual(nm2.status, .notModified)
      let (miss, _) = try await get(r, "/feed.atom", headers: [("If-None-Match", "\"other\"")])
      XCTAssertEqual(miss.status, .ok)

      // If-Modified-Since → 304 when not newer; 200 when older.
      let (ims, _) = try await get(r, "/feed.atom", headers: [("If-Modified-Since", lastModified)])
      XCTAssertEqual(ims.status, .notModified)
      let (old, _) = try await get(
        r, "/feed.atom", headers: [("If-Modified-Since", "Thu, 01 Jan 2015 00:00:00 GMT")])
      XCTAssertEqual(old.status, .ok)

      // HEAD: headers of the GET, no body.
      let (head, headBody) = try await get(r, "/feed.atom", method: .HEAD)
      XCTAssertEqual(head.status, .ok)
      XCTAssertTrue(headBody.isEmpty)
      XCTAssertEqual(head.headers.first(name: "etag"), etag)
      XCTAssertEqual(head.headers.first(name: "content-length"), String(body.count))

      // gzip when accepted: real gzip of the same bytes, its own validator.
      let (gz, gzBody) = try await get(
        r, "/feed.atom", headers: [("Accept-Encoding", "br, gzip;q=0.8")])
      XCTAssertEqual(gz.status, .ok)
      XCTAssertEqual(gz.headers.first(name: "content-encoding"), "gzip")
      XCTAssertEqual(Array(gzBody.prefix(2)), [0x1f, 0x8b])
      XCTAssertLessThan(gzBody.count, body.count)
      XCTAssertEqual(try gunzip(gzBody), body)
      let gzETag = try XCTUnwrap(gz.headers.first(name: "etag"))
      XCTAssertNotEqual(gzETag, etag)
      let (gz304, _) = try await get(
        r, "/feed.atom", headers: [("Accept-Encoding", "gzip"), ("If-None-Match", gzETag)])
      XCTAssertEqual(gz304.status, .notModified)
      let (refused, _) = try await get(
        r, "/feed.atom", headers: [("Accept-Encoding", "gzip;q=0, identity")])
      XCTAssertNil(refused.headers.first(name: "content-encoding"))
    } catch {
      try await stop(r)
      throw error
    }
    try await stop(r)
  }

  func testContentTypes404AndOperationalEndpoints() async throws {
    let ready = Ready()
    let r = try await start(makeStore(), ready: ready, metricsText: "clusterwire_up 1\n")
    do {
      let types = [
        "/": "text/html; charset=utf-8", "/feed.rss": "application/rss+xml; charset=utf-8",
        "/feed.json": "application/feed+json; charset=utf-8",
        "/sources.opml": "text/x-opml; charset=utf-8",
        "/categories/ict.atom": "application/atom+xml; charset=utf-8",
        "/sources/eccp.rss": "application/rss+xml; charset=utf-8",
        "/languages/lt.json": "application/feed+json; charset=utf-8",
      ]
      for (path, type) in types {
        let (resp, _) = try await get(r, path)
        XCTAssertEqual(resp.status, .ok, path)
        XCTAssertEqual(resp.headers.first(name: "content-type"), type, path)
      }
      for path in ["/nope", "/categories/nope.atom", "/feed.atom?before=bad", "/sources/ict.exe"] {
        let (resp, _) = try await get(r, path)
        XCTAssertEqual(resp.status, .notFound, path)
      }
      let (post, _) = try await get(r, "/feed.atom", method: .POST)
      XCTAssertEqual(post.status, .methodNotAllowed)

      let (health, hb) = try await get(r, "/healthz")
      XCTAssertEqual(health.status, .ok)
      XCTAssertEqual(String(decoding: hb, as: UTF8.self), "ok\n")
      let (readyResp, _) = try await get(r, "/readyz")
      XCTAssertEqual(readyResp.status, .ok)
      ready.lock.withLock {
        ready.ready = false
        ready.reason = "scheduler stalled for 900 s"
      }
      let (notReady, nb) = try await get(r, "/readyz")
      XCTAssertEqual(notReady.status, .serviceUnavailable)
      XCTAssertEqual(String(decoding: nb, as: UTF8.self), "scheduler stalled for 900 s\n")

      let (metrics, mb) = try await get(r, "/metrics")
      XCTAssertEqual(metrics.status, .ok)
      XCTAssertEqual(
        metrics.headers.first(name: "content-type"), "text/plain; version=0.0.4; charset=utf-8")
      XCTAssertEqual(String(decoding: mb, as: UTF8.self), "clusterwire_up 1\n")

      // Paging through HTTP: next link of the first page is served.
      let (_, first) = try await get(r, "/feed.atom")
      let text = String(decoding: first, as: UTF8.self)
      let next = try XCTUnwrap(
        text.range(of: "rel=\"next\" href=\"https://news.example.org/feed.atom?before=")
          .map { String(text[$0.upperBound...].prefix { $0 != "\"" }) })
      let (page2, body2) = try await get(r, "/feed.atom?before=\(next)")
      XCTAssertEqual(page2.status, .ok)
      XCTAssertTrue(String(decoding: body2, as: UTF8.self).contains("Naujiena 40"))
    } catch {
      try await stop(r)
      throw error
    }
    try await stop(r)
  }

  func testRequestMetricsByRouteAndStatus() async throws {
    let recorder = CountingMetrics()
    let r = try await start(makeStore(), factory: recorder)
    do {
      _ = try await get(r, "/categories/ict.atom")
      _ = try await get(r, "/categories/energy.atom")
      _ = try await get(r, "/categories/nope.atom")
      _ = try await get(r, "/random/path")
      XCTAssertGreaterThanOrEqual(recorder.value("/categories/{slug}.atom", "200"), 2)
      XCTAssertGreaterThanOrEqual(recorder.value("/categories/{slug}.atom", "404"), 1)
      XCTAssertGreaterThanOrEqual(recorder.value("unmatched", "404"), 1)
      XCTAssertFalse(recorder.routes().contains("/categories/ict.atom"), "raw paths are not labels")
    } catch {
      try await stop(r)
      throw error
    }
    try await stop(r)
  }

  func testDocumentChangesAfterStoreChange() async throws {
    let store = makeStore()
    let r = try await start(store)
    do {
      let (a, _) = try await get(r, "/feed.json")
      store.add(
        sourceID: "ict", entry: Entry(title: "Visai nauja", link: "https://ict.example.lt/new"),
        sortDate: Self.t0.addingTimeInterval(600))
      try await Task.sleep(for: .milliseconds(300))
      let (b, body) = try await get(r, "/feed.json")
      XCTAssertNotEqual(a.headers.first(name: "etag"), b.headers.first(name: "etag"))
      XCTAssertTrue(String(decoding: body, as: UTF8.self).contains("Visai nauja"))
      let (stale, _) = try await get(
        r, "/feed.json", headers: [("If-None-Match", a.headers.first(name: "etag")!)])
      XCTAssertEqual(stale.status, .ok)
    } catch {
      try await stop(r)
      throw error
    }
    try await stop(r)
  }

  func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let r = try TestSupport.run(URL(fileURLWithPath: "/bin/gzip"), ["-dc"], input: Data(bytes))
    XCTAssertEqual(r.status, 0)
    return Array(r.stdout)
  }
}
